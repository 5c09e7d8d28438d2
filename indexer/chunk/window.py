"""Line windows: cutting a unit that is over the token budget into consecutive pieces.

Windows end before a blank line or a statement at the body's outer indentation where one is
near, else at any line, never mid-line, except a single line longer than the budget, which
is cut at UTF-8 character boundaries. Window sizes are balanced so no runt is left at the end.
"""

from __future__ import annotations

import functools
import math
import re

from indexer.chunk.context import Ctx, Piece, header_est


def _replace(piece: Piece, start: int, end: int, est: int,
             byte_span: tuple[int, int] | None = None) -> Piece:
    """`piece` with another range (a part: it never merges); dataclasses.replace is 5x slower."""
    return Piece(start, end, piece.kind, est, piece.scope, piece.symbol, piece.sig,
                 piece.names, byte_span, False)


def fit(ctx: Ctx, piece: Piece) -> list[Piece]:
    """`piece` itself when it fits, else its line windows."""
    budget = max(1, ctx.max_tokens - header_est(ctx, piece))
    if piece.est <= budget:
        return [piece]
    out: list[Piece] = []
    for lo, hi in window_ranges(ctx, piece.start, piece.end, budget):
        if hi - lo == 1 and ctx.est(lo, hi) > budget:
            out.extend(_split_line(ctx, piece, lo, budget))
        else:
            out.append(_replace(piece, lo, hi, ctx.est(lo, hi)))
    return out


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" \t"))


@functools.cache
def _cut_pattern(base: int) -> re.Pattern[bytes]:
    """A newline followed by a blank line or a statement at indentation <= `base`."""
    return re.compile(rb"\n(?:[ \t]*(?=\r?\n)|[ \t]{0,%d}[^\s})\]])" % base)


def _base_indent(ctx: Ctx, lo: int, hi: int) -> int:
    for i in range(lo + 1, min(hi, lo + 8)):
        line = ctx.raw(i, i + 1)
        if line.strip():
            return _indent(line)
    return 0


def window_ranges(ctx: Ctx, lo: int, hi: int, budget: int) -> list[tuple[int, int]]:
    """Consecutive line ranges of at most `budget` estimated tokens, cut before a blank line
    or a statement at the body's outer indentation where one is near, else at any line."""
    first, last = ctx.span(lo, hi)
    total = max(ctx.est(lo, hi), 1)  # = est_bytes(first, last), usually known already
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


def _cut_line(ctx: Ctx, pattern: re.Pattern[bytes], start: int, hi: int, reach: int) -> int:
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


def _split_line(ctx: Ctx, piece: Piece, line: int, budget: int) -> list[Piece]:
    """Cut one overlong line at UTF-8 character boundaries into pieces under `budget`."""
    return split_span(ctx, piece, *ctx.span(line, line + 1), budget)


def char_start(data: bytes, pos: int, floor: int) -> int:
    while pos > floor and (data[pos] & 0xC0) == 0x80:
        pos -= 1
    return pos


def split_span(ctx: Ctx, piece: Piece, start: int, end: int, budget: int) -> list[Piece]:
    """Consecutive byte pieces of [start, end) of at most `budget` estimated tokens each."""
    data, out = ctx.data, []
    while start < end:
        cut = min(end, start + 3 * budget)
        while cut - start > 4 and ctx.est_bytes(start, cut) > budget:
            cut = start + (cut - start) * 3 // 4
        if cut < end:
            cut = char_start(data, cut, start)
        if cut <= start:  # one whole character always goes, whatever the budget
            cut = start + 1
            while cut < end and (data[cut] & 0xC0) == 0x80:
                cut += 1
        first, last = ctx.line_of(start), ctx.line_of(cut - 1)
        est = ctx.est_bytes(start, cut)
        span = (start, cut)
        out.append(_replace(piece, first, last + 1, est, span))
        start = cut
    return out

