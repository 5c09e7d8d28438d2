"""Stage 3 of get_context: pack ranked units into one token budget, hierarchically.

Each unit has up to three renderings: its body (the source lines), its signature with the
first lines of its docstring, and one line (path, kind, name). Directories have only their
line. Units are taken best first at the richest rendering they are allowed (`max_detail`:
bodies for what the search found, signatures for most graph neighbours) that is cheap
enough: a body may take at most `BODY_SHARE` of what is left (a whole file `FILE_SHARE`, a
signature `SIGNATURE_SHARE`) and at most `MAX_BODIES` are sent, so a smaller budget turns
bodies into signatures first, then signatures into lines, and only then drops units (the
last listed as left out first). Directory lines are reserved first (they are few and short).

What is left at the end widens the bodies, best first: the few lines on each side of a body
(a decorator, the blank line where new code goes) or the whole short gap to the next thing
sent from the same file.

Nothing is sent twice: a unit whose lines overlap something already in the answer is sent
at a leaner rendering that does not overlap, or not at all when it lies inside a body
already sent. A unit this session received before, unchanged since, is referred to
("already sent: path:lines") unless `resend`. Everything counted here is the answer's JSON
(structured content, as `json.dumps` writes it); the text rendering is shorter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.core import count_tokens
from tools.context_models import ContextItem, ContextResult, LeftOut
from tools.models import Freshness
from tools.schema import BaseModel
from tools.source import read_lines
from tools.working_set import WorkingSet, text_digest

BODY_SHARE = 0.65
FILE_SHARE = 0.95  # a whole file's body may take this share of what is left
SIGNATURE_SHARE = 0.2
MAX_BODIES = 24
DOC_LINES = 3
LEFT_OUT_SHOWN = 10
LEFT_OUT_RESERVE = 450  # tokens kept for the left-out list and the envelope's counts
DIRECTORY_SHARE = 0.06
MAX_BODY_LINES = 160  # a longer definition is sent as the chunk that matched, or its signature
MARGIN_LINES = 2  # a body also holds this many lines on each side (decorators, blank lines)
GAP_LINES = 8  # a gap this short between a body and the next thing sent is filled


@dataclass(slots=True)
class Unit:
    """A candidate piece of context: a definition (or chunk), a file or a directory."""

    path: str
    start: int
    end: int
    kind: str
    symbol: str | None
    signature: str
    doc: str
    score: float
    reasons: list[str] = field(default_factory=list)
    max_detail: str = "body"  # body, signature or line
    head: int = 0  # the line its signature starts at, below its doc comment (0: `start`)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.start, self.end)


@dataclass(slots=True)
class _Packing:
    budget: int
    used: int = 0
    bodies: int = 0
    items: list[ContextItem] = field(default_factory=list)
    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    left_out: list[LeftOut] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    shown: int = LEFT_OUT_SHOWN  # left-out entries listed
    signatures: dict[int, Unit] = field(default_factory=dict)  # item index -> its unit

    def overlaps(self, path: str, start: int, end: int) -> bool:
        return any(a <= end and start <= b for a, b in self.ranges.get(path, ()))

    def inside(self, path: str, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.ranges.get(path, ()))

    def add(self, item: ContextItem, cost: int) -> None:
        self.items.append(item)
        self.used += cost
        if item.start_line > 0:
            self.ranges.setdefault(item.path, []).append((item.start_line, item.end_line))


def json_tokens(model: BaseModel) -> int:
    """Tokens of `model` as `json.dumps` writes it (spaces after separators, non-ASCII
    escaped): no less than the compact JSON the SDK sends as structured content."""
    return count_tokens(json.dumps(model.model_dump(mode="json")))


def item_cost(item: ContextItem) -> int:
    return json_tokens(item) + 1


class Source:
    """File lines, read once per answer (`lines`: those the earlier stages read, path ->
    lines), and the repository's name its items carry."""

    def __init__(self, root: Path, repo: str | None = None,
                 lines: dict[str, list[str]] | None = None) -> None:
        self.root = root
        self.repo = repo
        self._lines = lines if lines is not None else {}

    def lines(self, path: str, start: int, end: int) -> str:
        return "\n".join(self._file(path)[start - 1:end])

    def count(self, path: str) -> int:
        return len(self._file(path))

    def _file(self, path: str) -> list[str]:
        if path not in self._lines:
            self._lines[path] = read_lines(self.root, path)
        return self._lines[path]


def pack(source: Source, task: str, units: list[Unit], budget: int, freshness: Freshness,
         working: WorkingSet | None = None, resend: bool = False) -> ContextResult:
    """Stage 3 (see the module docstring): the units' lines come from `source`, and every
    item carries its `repo`."""
    repo = source.repo
    state = _Packing(budget=budget)

    def build() -> ContextResult:
        return ContextResult(task=task[:200], items=state.items,
                             left_out=state.left_out[:state.shown],
                             left_out_count=len(state.left_out), already_sent=state.sent,
                             tokens=0, truncated=bool(state.left_out), freshness=freshness)

    envelope = json_tokens(build()) + min(LEFT_OUT_RESERVE, budget // 10)
    room = max(0, budget - envelope)
    dirs = [u for u in units if u.kind == "directory"]
    code = [u for u in units if u.kind != "directory"]
    dir_items = [_line_item(u, repo) for u in dirs]
    dir_room = min(int(room * DIRECTORY_SHARE), sum(item_cost(i) for i in dir_items))
    state.budget = room - dir_room
    for u in code:
        _place(state, u, source, working if not resend else None)
    _drop_file_lines(state)
    _upgrade(state, source, working if not resend else None)
    _widen(state, source)
    state.budget = room
    for item in dir_items:
        if state.used + item_cost(item) <= state.budget:
            state.add(item, item_cost(item))
    return _finish(state, build, budget, working)


def _finish(state: _Packing, build: Callable[[], ContextResult], budget: int,
            working: WorkingSet | None) -> ContextResult:
    result = build()
    tokens = json_tokens(result)
    # 3: the digits of `tokens`. What goes first: left-out entries beyond two, then items
    # (the last code first, each listed as left out; directory lines once one code item is
    # left), then the last two entries one by one, and only then the best item: the
    # smallest budget still holds one where it fits.
    while tokens + 3 > budget and (state.items or state.shown):
        if state.shown > 2 or (state.shown and len(state.items) <= 1):
            state.shown -= 2 if state.shown > 2 else 1
        else:
            code = [i for i, it in enumerate(state.items) if it.kind != "directory"]
            if len(code) <= 1 and len(state.items) > len(code):
                state.items.pop(max(set(range(len(state.items))) - set(code)))
            else:
                dropped = state.items.pop(code[-1] if code else -1)
                state.left_out.insert(0, _left_out(dropped.path, dropped.start_line,
                                                   dropped.end_line, dropped.symbol))
        result = build()
        tokens = json_tokens(result)
    if working is not None:
        for item in state.items:
            if item.detail in ("body", "signature"):
                working.record(item.path, item.start_line, item.end_line, item.text)
    result = result.model_copy(update={"tokens": tokens})
    return result.model_copy(update={"tokens": json_tokens(result)})


def _renderings(u: Unit, source: Source) -> list[ContextItem]:
    reason = ", ".join(u.reasons[:3])

    def item(start: int, end: int, detail: str, text: str) -> ContextItem:
        return ContextItem(path=u.path, start_line=start, end_line=end, kind=u.kind,
                           symbol=u.symbol, reason=reason, detail=detail, text=text,
                           repo=source.repo)

    out: list[ContextItem] = []
    if u.max_detail == "body":
        out.append(item(u.start, u.end, "body", source.lines(u.path, u.start, u.end)))
    if u.max_detail in ("body", "signature") and u.signature:
        sig_lines = u.signature.count("\n") + 1
        doc = "\n".join(u.doc.strip().splitlines()[:DOC_LINES])
        head = u.head or u.start
        out.append(item(head, min(u.end, head + sig_lines - 1), "signature",
                        u.signature + (f"\n{doc}" if doc else "")))
    if u.kind != "module" or u.signature:  # a file's top has no line to stand for it: when
        out.append(_line_item(u, source.repo))  # its lines do not fit, it is left out
    return out


def _line_item(u: Unit, repo: str | None = None) -> ContextItem:
    if u.kind in ("directory", "file", "module"):  # no lines of its own: a description
        why = ", ".join(u.reasons[:2])  # the text when there is no other (said once)
        return ContextItem(path=u.path, start_line=0, end_line=0, kind=u.kind,
                           detail="line", text=u.signature or why,
                           reason=why if u.signature else "", repo=repo)
    first = (u.signature.splitlines() or [""])[0][:160]
    text = first or (f"{u.kind} {u.symbol}" if u.symbol else u.kind)
    head = u.head or u.start
    return ContextItem(path=u.path, start_line=head, end_line=head, kind=u.kind,
                       symbol=u.symbol, detail="line", text=text,
                       reason=", ".join(u.reasons[:2]), repo=repo)


def _already_sent(working: WorkingSet | None, item: ContextItem, source: Source) -> str | None:
    """The label of a range this session received that holds `item`, unchanged since."""
    if working is None:
        return None
    for r in working.containing(item.path, item.start_line, item.end_line):
        if r.digest == text_digest(source.lines(r.path, r.start_line, r.end_line)):
            working.touch(r)
            return r.label
    return None


def _repeats(working: WorkingSet | None, item: ContextItem, source: Source) -> bool:
    """Whether `item` holds lines this session received, unchanged since."""
    if working is None:
        return False
    return any(r.digest == text_digest(source.lines(r.path, r.start_line, r.end_line))
               for r in working.overlapping(item.path, item.start_line, item.end_line))


def _affordable(state: _Packing, item: ContextItem, cost: int) -> bool:
    """Whether `item` fits, and is lean enough for what is left (see the module docstring)."""
    left = state.budget - state.used
    if item.detail == "body":
        share = FILE_SHARE if item.kind == "file" else BODY_SHARE
        return cost <= share * left and state.bodies < MAX_BODIES
    if item.detail == "signature":
        return cost <= SIGNATURE_SHARE * left
    return cost <= left


def _place(state: _Packing, u: Unit, source: Source, working: WorkingSet | None) -> None:
    """Put `u` into the answer at the richest rendering that fits, or list it as left out."""
    if state.inside(u.path, u.start, u.end):
        return  # a body already sent holds it
    for level, item in enumerate(_renderings(u, source)):
        if state.overlaps(item.path, item.start_line, item.end_line):
            continue
        sent = _already_sent(working, item, source) if item.detail != "line" else None
        if sent is not None:
            if sent not in state.sent:
                state.sent.append(sent)
            state.ranges.setdefault(item.path, []).append((item.start_line, item.end_line))
            return
        if item.detail == "body" and _repeats(working, item, source):
            continue  # a body holding code sent before: its signature instead
        cost = item_cost(item)
        if _affordable(state, item, cost):
            if item.detail == "signature":
                state.signatures[len(state.items)] = u
            state.add(item, cost)
            state.bodies += item.detail == "body"
            if level > 0 and u.max_detail != "line":
                state.left_out.append(_left_out(u.path, u.start, u.end, u.symbol))
            return
    state.left_out.append(_left_out(u.path, u.start, u.end, u.symbol))


def _drop_file_lines(state: _Packing) -> None:
    """A file's line ("imports x.py") says less than its code: where the answer holds code of
    that file, the line goes and what it cost is spent on the rest."""
    kept: list[ContextItem] = []
    moved: dict[int, int] = {}
    for n, item in enumerate(state.items):
        if item.kind == "file" and item.detail == "line" and item.path in state.ranges:
            state.used -= item_cost(item)
            continue
        moved[n] = len(kept)
        kept.append(item)
    state.items = kept
    state.signatures = {moved[n]: u for n, u in state.signatures.items()}


def _upgrade(state: _Packing, source: Source, working: WorkingSet | None) -> None:
    """Spend what the first pass left: signatures become bodies, best first, where the
    body fits, is not too long, and overlaps nothing else in the answer."""
    for n, u in sorted(state.signatures.items()):
        if u.end - u.start >= MAX_BODY_LINES:
            continue
        old = state.items[n]
        body = ContextItem(**(old.model_dump() | {"start_line": u.start, "end_line": u.end,
                                                  "detail": "body",
                                                  "text": source.lines(u.path, u.start, u.end)}))
        extra = item_cost(body) - item_cost(old)
        others = [r for r in state.ranges.get(u.path, []) if r != (old.start_line, old.end_line)]
        if (extra > state.budget - state.used or _repeats(working, body, source)
                or any(a <= u.end and u.start <= b for a, b in others)):
            continue
        state.items[n] = body
        state.used += extra
        state.ranges[u.path] = [*others, (u.start, u.end)]
        state.left_out = [lo for lo in state.left_out
                          if (lo.path, lo.start_line, lo.end_line) != (u.path, u.start, u.end)]


def _widen(state: _Packing, source: Source) -> None:
    """Spend what is left on the lines around each body, best first: `MARGIN_LINES` on each
    side (a decorator, the blank line where new code goes), or the whole gap up to the next
    thing sent from the file when it is at most `GAP_LINES` long. Nothing sent overlaps."""
    for n, item in enumerate(state.items):
        if item.detail != "body" or item.start_line <= 0:
            continue
        span = (item.start_line, item.end_line)
        others = [r for r in state.ranges.get(item.path, []) if r != span]
        before = max((b for a, b in others if b < span[0]), default=0)
        after = min((a for a, b in others if a > span[1]), default=source.count(item.path) + 1)
        start = before + 1 if span[0] - before - 1 <= GAP_LINES else span[0] - MARGIN_LINES
        end = after - 1 if after - span[1] - 1 <= GAP_LINES else span[1] + MARGIN_LINES
        start, end = min(start, span[0]), max(end, span[1])  # never narrower (a shrunk file)
        if (start, end) == span:
            continue
        wide = item.model_copy(update={"start_line": start, "end_line": end,
                                       "text": source.lines(item.path, start, end)})
        extra = item_cost(wide) - item_cost(item)
        if extra > state.budget - state.used:
            continue
        state.items[n] = wide
        state.used += extra
        state.ranges[item.path] = [*others, (start, end)]


def _left_out(path: str, start: int, end: int, symbol: str | None) -> LeftOut:
    fetch = (f"get_symbol(name={symbol!r}, path={path!r})" if symbol
             else f"read {path} lines {start}-{end}")
    return LeftOut(path=path, start_line=start, end_line=end, symbol=symbol, fetch=fetch)
