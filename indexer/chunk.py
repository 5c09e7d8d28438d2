"""Chunking: split one file into retrievable, non-overlapping units with a context header.

Code (a `ParsedFile` is given): each top-level symbol is a unit, and the code between symbols
(package clauses, imports, constants, statements) becomes `block` units. Comment or decorator
lines directly above a symbol belong to it. A unit that fits `max_tokens` is one chunk; a
larger unit with nested definitions (a class) is split into its head (signature, docstring,
fields up to the first nested definition) and one unit per child, recursively; a larger unit
without children is cut into line windows, preferring blank lines and lines at the body's
outer indentation, never mid-line (except a single line longer than the budget, which is
cut at UTF-8 character boundaries). Windows of a symbol keep its qualname. Consecutive small
units (under `min_tokens`) in the same scope merge into one `block` chunk up to `max_tokens`.

Text (no `ParsedFile`, structure from `indexer.chunk_text`): Markdown splits at ATX headings outside code fences, reStructuredText
at underlined section titles, YAML/TOML/INI at top-level keys or tables; everything else is
cut into line windows. The header is the path plus the heading trail (`Guide > Install`).

Token estimation: exact cl100k counting costs about as much as tree-sitter parsing itself
(moby's 80 MB of Go: 6.3 s to encode vs 6.7 s to parse), so code chunks are sized and
reported with an estimate: a linear function of byte-class counts (letters, digits, blanks,
newlines, everything else), counted with `bytes.count` over one `bytes.translate` of the file,
so no range is ever copied. The weights are a least-squares fit on 41k segments of Go,
Python, TypeScript, Markdown, YAML and JSON, scaled up 20%. On moby's chunks the true count
is 0.81x the estimate at the median, 0.94x at p90, 1.09x at p99: 1.3% of code chunks exceed
`max_tokens`, mostly by under 10% (worst: generated hex tables, 1.7x). Text files are few,
and adversarial text (symbols, CJK) is common there, so text chunks are counted exactly and
cut again when over: `max_tokens` is guaranteed for text and holds for code up to the
estimate's error. `Chunk.tokens` is therefore exact for text and estimated for code.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from dataclasses import dataclass, field, replace
from itertools import accumulate

from indexer.chunk_text import (
    TOML_TABLE,
    YAML_KEY,
    clip,
    comment_marker,
    key_marks,
    markdown_marks,
    rst_marks,
    text_format,
)
from indexer.model import Chunk, ParsedFile, Symbol
from indexer.tokens import count_tokens_lines

_SIG_CHARS = 90
_PATH_CHARS = 80
_MAX_NAMES = 12
_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123)) + b"_"
_DIGITS = bytes(range(48, 58))
_BLANKS = b" \t\r\f\v"
_ATTACHED = (b"//", b"#", b"/*", b"*", b"--", b"@", b";;")
_SPLIT_KINDS_EXCLUDED = frozenset({"field", "variable", "constant", "macro"})



def _class_map() -> bytes:
    table = bytearray(b"P" * 256)
    for chars, cls in ((_LETTERS, b"L"), (_DIGITS, b"D"), (_BLANKS, b"S")):
        for byte in chars:
            table[byte] = cls[0]
    table[ord("\n")] = ord("N")
    return bytes(table)


_CLASS_MAP = _class_map()


def estimate_tokens(data: bytes) -> int:
    """A cheap cl100k token estimate (see the module docstring for its accuracy)."""
    classes = data.translate(_CLASS_MAP)
    return _estimate(classes, 0, len(classes))


def _estimate(classes: bytes, start: int, end: int, newlines: int = -1) -> int:
    """Estimate for bytes [start, end) given their byte-class string (and their number of
    newlines when the caller knows it)."""
    count = classes.count
    letters, digits, blanks = (
        count(b"L", start, end),
        count(b"D", start, end),
        count(b"S", start, end),
    )
    if newlines < 0:
        newlines = count(b"N", start, end)
    other = end - start - letters - digits - blanks - newlines  # punctuation and non-ASCII
    raw = 0.224 * letters + 1.58 * digits + 0.073 * blanks + 1.53 * newlines + 0.72 * other
    return math.ceil(raw)


@dataclass(slots=True)
class _Piece:
    start: int  # 0-based first line
    end: int  # 0-based line after the last
    kind: str
    est: int
    scope: tuple[str, ...] = ()  # enclosing signatures (code) or heading trail (text)
    symbol: str | None = None
    sig: str | None = None  # signature line of the unit, or the merged names
    names: list[str] = field(default_factory=list)
    byte_span: tuple[int, int] | None = None  # set only for pieces of one overlong line
    whole: bool = True  # a whole unit, block or section (not a head or window): may merge


class _Ctx:
    """One file's bytes, line table and settings."""

    def __init__(self, path: str, text: str, language: str | None, max_tokens: int) -> None:
        self.path = path
        self.data = text.encode("utf-8", "surrogatepass")
        self.size = len(self.data)
        parts = self.data.split(b"\n")
        self.nlines = len(parts)
        self.starts = [0, *accumulate(map((1).__add__, map(len, parts)))]
        self.max_tokens = max_tokens
        self.marker = comment_marker(language)
        self.classes = self.data.translate(_CLASS_MAP)
        self.path_tokens = estimate_tokens(path[-_PATH_CHARS:].encode("utf-8", "replace")) + 2
        self.header_cap = self.path_tokens + math.ceil(3 * _SIG_CHARS / 2.5) + 4  # any header

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], min(self.starts[end] - 1, self.size)

    def raw(self, start: int, end: int) -> bytes:
        s, e = self.span(start, end)
        return self.data[s:e]

    def est(self, start: int, end: int) -> int:
        first, last = self.span(start, end)
        if end <= start:
            return _estimate(self.classes, first, last)
        # lines [start, end) without the last newline hold exactly end - start - 1 newlines
        return _estimate(self.classes, first, last, end - start - 1)

    def est_bytes(self, start: int, end: int) -> int:
        return _estimate(self.classes, start, end)

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def blank(self, line: int) -> bool:
        return not self.data[self.starts[line] : self.starts[line + 1] - 1].strip()

    def trim(self, start: int, end: int) -> tuple[int, int]:
        while start < end and self.blank(start):
            start += 1
        while end > start and self.blank(end - 1):
            end -= 1
        return start, end


def chunk_file(
    path: str,
    text: str,
    language: str | None,
    parsed: ParsedFile | None,
    *,
    max_tokens: int = 384,
    min_tokens: int = 48,
) -> list[Chunk]:
    """Chunks of one file in file order; [] for an empty or blank file."""
    if not text.strip():
        return []
    ctx = _Ctx(path, text, language, max_tokens)
    if parsed is not None:
        pieces = _layout(ctx, _nest(parsed.symbols), 0, ctx.nlines, ())
        return [_finish(ctx, p, exact=False) for p in _merge(ctx, pieces, min_tokens, True)]
    fmt = text_format(path, language)
    pieces = _merge(ctx, _sections(ctx, fmt), min_tokens, False)
    return [c for p in pieces for c in _finish_exact(ctx, p)]


# ---------------------------------------------------------------- code


@dataclass(slots=True)
class _Node:
    sym: Symbol
    children: list[_Node] = field(default_factory=list)


def _nest(symbols: list[Symbol]) -> list[_Node]:
    """Symbols as a tree by line containment (robust to duplicate qualnames)."""
    roots: list[_Node] = []
    stack: list[_Node] = []
    for sym in sorted(symbols, key=lambda s: (s.start_line, -s.end_line, s.start_byte)):
        node = _Node(sym)
        while stack and stack[-1].sym.end_line < sym.end_line:
            stack.pop()
        if stack and stack[-1].sym.start_line <= sym.start_line:
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)
    return roots


def _units(nodes: list[_Node], lo: int, hi: int) -> list[tuple[int, int, list[_Node]]]:
    """Line ranges of `nodes` within [lo, hi); nodes sharing a line become one unit."""
    units: list[tuple[int, int, list[_Node]]] = []
    last_end = -1
    for node in nodes:
        start, end = max(node.sym.start_line - 1, lo), min(node.sym.end_line, hi)
        if end <= start:
            continue
        if start < last_end:
            prev = units[-1]
            prev[2].append(node)
            if end > last_end:
                units[-1] = (prev[0], end, prev[2])
                last_end = end
        else:
            units.append((start, end, [node]))
            last_end = end
    return units


def _attach_start(ctx: _Ctx, start: int, floor: int) -> int:
    """Move `start` up over adjacent comment/decorator lines (not past `floor`)."""
    data, starts = ctx.data, ctx.starts
    while start > floor and data[starts[start - 1] : starts[start]].lstrip().startswith(_ATTACHED):
        start -= 1
    return start


def _layout(
    ctx: _Ctx, nodes: list[_Node], lo: int, hi: int, scope: tuple[str, ...]
) -> list[_Piece]:
    """Pieces covering lines [lo, hi) with `nodes` as the units."""
    pieces: list[_Piece] = []
    cursor = lo
    for start, end, group in _units(nodes, lo, hi):
        start = _attach_start(ctx, start, cursor)
        _gap(ctx, pieces, cursor, start, scope)
        if len(group) == 1:
            pieces.extend(_unit(ctx, group[0], start, end, scope))
        else:
            names = [n.sym.name for n in group]
            est = ctx.est(start, end)
            pieces.extend(_fit(ctx, _Piece(start, end, "block", est, scope, names=names)))
        cursor = end
    _gap(ctx, pieces, cursor, hi, scope)
    return pieces


def _gap(ctx: _Ctx, pieces: list[_Piece], lo: int, hi: int, scope: tuple[str, ...]) -> None:
    """Code between units: a block, or glued to the previous piece when only punctuation."""
    lo, hi = ctx.trim(lo, hi)
    if lo >= hi:
        return
    est = ctx.est(lo, hi)
    first, last = ctx.span(lo, hi)
    trivial = last - first <= 24 and not ctx.data[first:last].translate(None, b" \t\r\n})];,")
    if trivial and pieces and pieces[-1].byte_span is None:
        pieces[-1].end, pieces[-1].est = hi, pieces[-1].est + est
        return
    pieces.extend(_fit(ctx, _Piece(lo, hi, "block", est, scope)))


def _unit(ctx: _Ctx, node: _Node, start: int, end: int, scope: tuple[str, ...]) -> list[_Piece]:
    sym = node.sym
    piece = _Piece(start, end, sym.kind, ctx.est(start, end), scope, sym.qualname, sym.signature)
    if piece.est + ctx.header_cap <= ctx.max_tokens or _fits(ctx, piece):
        return [piece]
    children = [c for c in node.children if c.sym.kind not in _SPLIT_KINDS_EXCLUDED]
    units = _units(children, start + 1, end)
    if not units:
        return _fit(ctx, piece)
    head_end = _attach_start(ctx, units[0][0], start + 1)
    head_lo, head_hi = ctx.trim(start, head_end)
    head = replace(piece, start=head_lo, end=head_hi, est=ctx.est(head_lo, head_hi), whole=False)
    inner = (*scope, sym.signature)
    return [*_fit(ctx, head), *_layout(ctx, children, head_end, end, inner)]


def _fit(ctx: _Ctx, piece: _Piece) -> list[_Piece]:
    """`piece` itself when it fits, else its line windows."""
    budget = max(1, ctx.max_tokens - _header_est(ctx, piece))
    if piece.est <= budget:
        return [piece]
    out: list[_Piece] = []
    for lo, hi in _window_ranges(ctx, piece.start, piece.end, budget):
        if hi - lo == 1 and ctx.est(lo, hi) > budget:
            out.extend(_split_line(ctx, piece, lo, budget))
        else:
            out.append(replace(piece, start=lo, end=hi, est=ctx.est(lo, hi), whole=False))
    return out


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" \t"))


@functools.cache
def _cut_pattern(base: int) -> re.Pattern[bytes]:
    """A newline followed by a blank line or a statement at indentation <= `base`."""
    return re.compile(rb"\n(?:[ \t]*(?=\r?\n)|[ \t]{0,%d}[^\s})\]])" % base)


def _base_indent(ctx: _Ctx, lo: int, hi: int) -> int:
    for i in range(lo + 1, min(hi, lo + 8)):
        line = ctx.raw(i, i + 1)
        if line.strip():
            return _indent(line)
    return 0


def _window_ranges(ctx: _Ctx, lo: int, hi: int, budget: int) -> list[tuple[int, int]]:
    """Consecutive line ranges of at most `budget` estimated tokens, cut before a blank line
    or a statement at the body's outer indentation where one is near, else at any line."""
    first, last = ctx.span(lo, hi)
    total = max(ctx.est_bytes(first, last), 1)
    per_byte = total / max(last - first, 1)
    target = min(budget, total / math.ceil(total / budget) * 1.3)  # balanced windows
    pattern = _cut_pattern(_base_indent(ctx, lo, hi))
    out: list[tuple[int, int]] = []
    start = lo
    while start < hi:
        s_byte = ctx.starts[start]
        reach = s_byte + int(target / per_byte)
        cut = _cut_line(ctx, pattern, start, hi, reach)
        while cut > start + 1 and ctx.est(start, cut) > budget:
            reach = s_byte + (reach - s_byte) * 3 // 4
            cut = _cut_line(ctx, pattern, start, hi, reach)
        out.append((start, cut))
        start = cut
    if len(out) > 1 and ctx.est(out[-2][0], hi) <= budget:  # no runt window at the end
        out[-2:] = [(out[-2][0], hi)]
    trimmed = (ctx.trim(a, b) for a, b in out)
    return [(a, b) for a, b in trimmed if a < b]


def _cut_line(ctx: _Ctx, pattern: re.Pattern[bytes], start: int, hi: int, reach: int) -> int:
    """The line (in (start, hi]) to end a window that starts at `start` and fits `reach`."""
    s_byte = ctx.starts[start]
    if reach >= ctx.starts[hi] - 1:
        return hi
    pos = -1
    for m in pattern.finditer(ctx.data, s_byte + (reach - s_byte) // 2, reach):
        pos = m.start()
    if pos < 0:
        pos = ctx.data.rfind(b"\n", s_byte, reach)
    if pos < 0:
        return start + 1  # the first line alone is over the budget
    return min(max(ctx.line_of(pos + 1), start + 1), hi)


def _split_line(ctx: _Ctx, piece: _Piece, line: int, budget: int) -> list[_Piece]:
    """Cut one overlong line at UTF-8 character boundaries into pieces under `budget`."""
    return _split_span(ctx, piece, *ctx.span(line, line + 1), budget)


def _char_start(data: bytes, pos: int, floor: int) -> int:
    while pos > floor and (data[pos] & 0xC0) == 0x80:
        pos -= 1
    return pos


def _split_span(ctx: _Ctx, piece: _Piece, start: int, end: int, budget: int) -> list[_Piece]:
    """Consecutive byte pieces of [start, end) of at most `budget` estimated tokens each."""
    data, out = ctx.data, []
    while start < end:
        cut = min(end, start + 3 * budget)
        while cut - start > 4 and ctx.est_bytes(start, cut) > budget:
            cut = start + (cut - start) * 3 // 4
        if cut < end:
            cut = _char_start(data, cut, start)
        if cut <= start:  # one whole character always goes, whatever the budget
            cut = start + 1
            while cut < end and (data[cut] & 0xC0) == 0x80:
                cut += 1
        first, last = ctx.line_of(start), ctx.line_of(cut - 1)
        est = ctx.est_bytes(start, cut)
        span = (start, cut)
        out.append(replace(piece, start=first, end=last + 1, est=est, byte_span=span, whole=False))
        start = cut
    return out


# ---------------------------------------------------------------- merging and output


def _merge(ctx: _Ctx, pieces: list[_Piece], min_tokens: int, code: bool) -> list[_Piece]:
    """Merge runs of small adjacent pieces (same scope for code) up to the budget."""
    out: list[_Piece] = []
    open_group = False
    for piece in pieces:
        small = piece.est < min_tokens and piece.whole
        prev = out[-1] if out else None
        if prev is not None and open_group and small and (not code or prev.scope == piece.scope):
            merged = _combine(prev, piece, code)
            if merged.est + ctx.header_cap <= ctx.max_tokens or _fits(ctx, merged):
                out[-1] = merged
                continue
        out.append(piece)
        open_group = small
    return out


def _combine(a: _Piece, b: _Piece, code: bool) -> _Piece:
    names = a.names or ([a.symbol.rsplit(".", 1)[-1]] if a.symbol else [])
    if len(names) < _MAX_NAMES:  # the header shows only the first few anyway
        names = names + (b.names or ([b.symbol.rsplit(".", 1)[-1]] if b.symbol else []))
    scope = a.scope if code else _common_prefix(a.scope, b.scope)
    kind = "block" if code else "section"
    return _Piece(a.start, b.end, kind, a.est + b.est, scope, names=names)


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _header(ctx: _Ctx, piece: _Piece) -> str:
    path = ctx.path if len(ctx.path) <= _PATH_CHARS else "..." + ctx.path[-_PATH_CHARS + 3 :]
    if ctx.marker is None:
        lines = [path]
        if piece.scope:
            lines.append(clip(" > ".join(piece.scope), _SIG_CHARS * 2))
        return "\n".join(lines)
    m = ctx.marker
    lines = [f"{m} {path}"]
    if piece.scope:
        lines.append(f"{m} {clip(piece.scope[-1], _SIG_CHARS)}")
    label = piece.sig if piece.sig else ", ".join(piece.names)
    if label:
        lines.append(f"{m} {'  ' if piece.scope else ''}{clip(label, _SIG_CHARS)}")
    return "\n".join(lines)


def _fits(ctx: _Ctx, piece: _Piece) -> bool:
    return piece.est + _header_est(ctx, piece) <= ctx.max_tokens


def _header_est(ctx: _Ctx, piece: _Piece) -> int:
    """A conservative estimate of the header's tokens without building it (~2.5 chars a token)."""
    label = len(piece.sig) if piece.sig else (_SIG_CHARS if piece.names else 0)
    scope = len(piece.scope[-1]) if ctx.marker and piece.scope else len(" > ".join(piece.scope))
    chars = min(label, _SIG_CHARS) + min(scope, 2 * _SIG_CHARS)
    return ctx.path_tokens + math.ceil(chars / 2.5) + 4


def _finish(ctx: _Ctx, piece: _Piece, *, exact: bool) -> Chunk:
    start, end = piece.byte_span or ctx.span(piece.start, piece.end)
    text = ctx.data[start:end].decode("utf-8", "replace")
    header = _header(ctx, piece)
    if exact:
        tokens = count_tokens_lines(header + "\n" + text)
    else:
        tokens = piece.est + _header_est(ctx, piece)
    return Chunk(
        start_line=piece.start + 1,
        end_line=piece.end,
        start_byte=start,
        end_byte=end,
        symbol=piece.symbol,
        kind=piece.kind,
        header=header,
        text=text,
        tokens=tokens,
    )


def _finish_exact(ctx: _Ctx, piece: _Piece) -> list[Chunk]:
    """Text chunks are counted exactly; one over the limit is cut again with a smaller budget."""
    chunk = _finish(ctx, piece, exact=True)
    start, end = piece.byte_span or ctx.span(piece.start, piece.end)
    if chunk.tokens <= ctx.max_tokens or end - start <= 4:
        return [chunk]
    body = max(1, ctx.max_tokens - (chunk.tokens - count_tokens_lines(chunk.text)))
    budget = max(1, min(piece.est, body) * body // chunk.tokens * 3 // 4)
    subs: list[_Piece] = []
    if piece.byte_span is None and piece.end - piece.start > 1:
        ranges = _window_ranges(ctx, piece.start, piece.end, budget)
        if len(ranges) <= 1:
            mid = (piece.start + piece.end) // 2
            ranges = [ctx.trim(piece.start, mid), ctx.trim(mid, piece.end)]
        subs = [replace(piece, start=a, end=b, est=ctx.est(a, b)) for a, b in ranges if a < b]
    if len(subs) <= 1:
        subs = _split_span(ctx, piece, start, end, budget)
    if len(subs) <= 1:
        mid = _char_start(ctx.data, (start + end) // 2, start + 1)
        subs = _split_span(ctx, piece, start, mid, body) + _split_span(ctx, piece, mid, end, body)
    return [c for s in subs for c in _finish_exact(ctx, s)]


# ---------------------------------------------------------------- text


def _sections(ctx: _Ctx, fmt: str) -> list[_Piece]:
    """Sections (start line, trail) of a text file, each fitted to the budget."""
    if fmt == "markdown":
        marks = markdown_marks(ctx)
    elif fmt == "rst":
        marks = rst_marks(ctx)
    elif fmt in ("yaml", "toml", "ini"):
        marks = key_marks(ctx, YAML_KEY if fmt == "yaml" else TOML_TABLE)
    else:
        marks = []
    if not marks or marks[0][0] != 0:
        marks.insert(0, (0, ()))
    kind = "window" if fmt in ("text", "json") else "section"
    pieces: list[_Piece] = []
    for (start, trail), nxt in zip(marks, [*marks[1:], (ctx.nlines, ())], strict=True):
        lo, hi = ctx.trim(start, nxt[0])
        if lo < hi:
            pieces.extend(_fit(ctx, _Piece(lo, hi, kind, ctx.est(lo, hi), trail)))
    return pieces


