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

Text (no `ParsedFile`, structure from `indexer.chunk.text`): Markdown splits at ATX headings
outside code fences, reStructuredText at underlined section titles, YAML/TOML/INI at
top-level keys or tables; everything else is cut into line windows. The header is the path plus the heading trail (`Guide > Install`).

Modules: `indexer.chunk.context` (the file context and the token estimate; `Chunk.tokens` is
exact for text and estimated for code, see there), `indexer.chunk.window` (line windows and
cuts of overlong units), `indexer.chunk.text` (text-file structure).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from indexer.chunk.context import PATH_CHARS, SIG_CHARS, Ctx, Piece, estimate_tokens, header_est
from indexer.chunk.text import (
    TOML_TABLE,
    YAML_KEY,
    clip,
    key_marks,
    markdown_marks,
    rst_marks,
    text_format,
)
from indexer.chunk.window import char_start, fit, split_span, window_ranges
from indexer.core import Chunk, ParsedFile, Symbol, count_tokens_after, count_tokens_lines

__all__ = ["chunk_file", "estimate_tokens"]

_MAX_NAMES = 12
# the lines right above a definition that its chunk starts at: comments, attributes, decorators
ATTACHED = ("//", "#", "/*", "*", "--", "@", ";;")
_ATTACHED = tuple(m.encode() for m in ATTACHED)
_SPLIT_KINDS_EXCLUDED = frozenset({"field", "variable", "constant", "macro"})


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
    ctx = Ctx(path, text, language, max_tokens)
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


def _attach_start(ctx: Ctx, start: int, floor: int) -> int:
    """Move `start` up over adjacent comment/decorator lines (not past `floor`)."""
    data, starts = ctx.data, ctx.starts
    while start > floor and data[starts[start - 1] : starts[start]].lstrip().startswith(_ATTACHED):
        start -= 1
    return start


def _layout(
    ctx: Ctx, nodes: list[_Node], lo: int, hi: int, scope: tuple[str, ...]
) -> list[Piece]:
    """Pieces covering lines [lo, hi) with `nodes` as the units."""
    pieces: list[Piece] = []
    cursor = lo
    for start, end, group in _units(nodes, lo, hi):
        start = _attach_start(ctx, start, cursor)
        _gap(ctx, pieces, cursor, start, scope)
        if len(group) == 1:
            pieces.extend(_unit(ctx, group[0], start, end, scope))
        else:
            names = [n.sym.name for n in group]
            est = ctx.est(start, end)
            pieces.extend(fit(ctx, Piece(start, end, "block", est, scope, names=names)))
        cursor = end
    _gap(ctx, pieces, cursor, hi, scope)
    return pieces


def _gap(ctx: Ctx, pieces: list[Piece], lo: int, hi: int, scope: tuple[str, ...]) -> None:
    """Code between units: a block; the lines it starts with that only close brackets (the
    `)` of Go's `const ( ... )`, a `});`) are glued to the previous piece instead."""
    lo, hi = ctx.trim(lo, hi)
    if lo >= hi:
        return
    if pieces and pieces[-1].byte_span is None:
        closed = line = lo
        while line < hi and (ctx.blank(line) or _closes(ctx, line)):
            line += 1
            closed = line if not ctx.blank(line - 1) else closed
        if closed > lo:
            pieces[-1].end, pieces[-1].est = closed, pieces[-1].est + ctx.est(lo, closed)
            lo, hi = ctx.trim(closed, hi)
            if lo >= hi:
                return
    pieces.extend(fit(ctx, Piece(lo, hi, "block", ctx.est(lo, hi), scope)))


def _closes(ctx: Ctx, line: int) -> bool:
    """Whether `line` only closes brackets (at most 24 bytes of `)`, `}`, `]`, `;`, `,`)."""
    first, last = ctx.span(line, line + 1)
    return last - first <= 24 and not ctx.data[first:last].translate(None, b" \t\r\n})];,")


def _unit(ctx: Ctx, node: _Node, start: int, end: int, scope: tuple[str, ...]) -> list[Piece]:
    sym = node.sym
    piece = Piece(start, end, sym.kind, ctx.est(start, end), scope, sym.qualname, sym.signature)
    if piece.est + ctx.header_cap <= ctx.max_tokens or _fits(ctx, piece):
        return [piece]
    children = [c for c in node.children if c.sym.kind not in _SPLIT_KINDS_EXCLUDED]
    units = _units(children, start + 1, end)
    if not units:
        return fit(ctx, piece)
    head_end = _attach_start(ctx, units[0][0], start + 1)
    head_lo, head_hi = ctx.trim(start, head_end)
    head = replace(piece, start=head_lo, end=head_hi, est=ctx.est(head_lo, head_hi), whole=False)
    inner = (*scope, sym.signature)
    return [*fit(ctx, head), *_layout(ctx, children, head_end, end, inner)]


# ---------------------------------------------------------------- merging and output


def _merge(ctx: Ctx, pieces: list[Piece], min_tokens: int, code: bool) -> list[Piece]:
    """Merge runs of small adjacent pieces (same scope for code) up to the budget."""
    out: list[Piece] = []
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


def _combine(a: Piece, b: Piece, code: bool) -> Piece:
    names = a.names or ([a.symbol.rsplit(".", 1)[-1]] if a.symbol else [])
    if len(names) < _MAX_NAMES:  # the header shows only the first few anyway
        names = names + (b.names or ([b.symbol.rsplit(".", 1)[-1]] if b.symbol else []))
    scope = a.scope if code else _common_prefix(a.scope, b.scope)
    kind = "block" if code else "section"
    return Piece(a.start, b.end, kind, a.est + b.est, scope, names=names)


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _header(ctx: Ctx, piece: Piece) -> str:
    path = ctx.path if len(ctx.path) <= PATH_CHARS else "..." + ctx.path[-PATH_CHARS + 3 :]
    if ctx.marker is None:
        lines = [path]
        if piece.scope:
            lines.append(clip(" > ".join(piece.scope), SIG_CHARS * 2))
        return "\n".join(lines)
    m = ctx.marker
    lines = [f"{m} {path}"]
    if piece.scope:
        lines.append(f"{m} {clip(piece.scope[-1], SIG_CHARS)}")
    label = piece.sig if piece.sig else ", ".join(piece.names)
    if label:
        lines.append(f"{m} {'  ' if piece.scope else ''}{clip(label, SIG_CHARS)}")
    return "\n".join(lines)


def _fits(ctx: Ctx, piece: Piece) -> bool:
    return piece.est + header_est(ctx, piece) <= ctx.max_tokens


def _finish(ctx: Ctx, piece: Piece, *, exact: bool) -> Chunk:
    start, end = piece.byte_span or ctx.span(piece.start, piece.end)
    text = ctx.data[start:end].decode("utf-8", "replace")
    header = _header(ctx, piece)
    if exact:
        tokens = count_tokens_after(header, text)
    else:
        tokens = piece.est + header_est(ctx, piece)
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


def _finish_exact(ctx: Ctx, piece: Piece) -> list[Chunk]:
    """Text chunks are counted exactly; one over the limit is cut again with a smaller budget."""
    chunk = _finish(ctx, piece, exact=True)
    start, end = piece.byte_span or ctx.span(piece.start, piece.end)
    if chunk.tokens <= ctx.max_tokens or end - start <= 4:
        return [chunk]
    body = max(1, ctx.max_tokens - (chunk.tokens - count_tokens_lines(chunk.text)))
    budget = max(1, min(piece.est, body) * body // chunk.tokens * 3 // 4)
    subs: list[Piece] = []
    if piece.byte_span is None and piece.end - piece.start > 1:
        ranges = window_ranges(ctx, piece.start, piece.end, budget)
        if len(ranges) <= 1:
            mid = (piece.start + piece.end) // 2
            ranges = [ctx.trim(piece.start, mid), ctx.trim(mid, piece.end)]
        subs = [replace(piece, start=a, end=b, est=ctx.est(a, b)) for a, b in ranges if a < b]
    if len(subs) <= 1:
        subs = split_span(ctx, piece, start, end, budget)
    if len(subs) <= 1:
        mid = char_start(ctx.data, (start + end) // 2, start + 1)
        subs = split_span(ctx, piece, start, mid, body) + split_span(ctx, piece, mid, end, body)
    return [c for s in subs for c in _finish_exact(ctx, s)]


# ---------------------------------------------------------------- text


def _sections(ctx: Ctx, fmt: str) -> list[Piece]:
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
    pieces: list[Piece] = []
    for (start, trail), nxt in zip(marks, [*marks[1:], (ctx.nlines, ())], strict=True):
        lo, hi = ctx.trim(start, nxt[0])
        if lo < hi:
            pieces.extend(fit(ctx, Piece(lo, hi, kind, ctx.est(lo, hi), trail)))
    return pieces


