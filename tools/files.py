"""File-level answers: which files a question or an issue is about.

`search_code(..., granularity="file")` ranks files instead of chunks. A file's score is the
evidence of its ranked chunks (each already carrying its retrievers' fused score, symbol
matches, path priors and import-graph position), best first and decayed:
`s1 + d s2 + d^2 s3 + ...` over at most `MAX_EVIDENCE` distinct definitions, so a file
where several definitions match outranks one with a single lucky chunk, while one strong
match still beats many weak ones. Windows of one definition count once.

Then a one-step walk over the import graph (`walk`): each of the first `WALK_FROM` files
passes `WALK` times its score, split evenly, to the files it imports and the files that
import it (the module defining what a hit uses; its callers), so a file the answer depends
on can enter the list without sharing a word with the question. Off (`WALK = 0`): it helped
the tuning histories and hurt the held-out ones (docs/evals.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

DECAY = 0.5  # weight of a file's i-th best chunk: DECAY ** i
MAX_EVIDENCE = 5  # chunks counted per file
SHOWN_EVIDENCE = 3  # listed in the file's snippet
WALK = 0.0  # share of a top file's score passed to its neighbours: off, see docs/evals.md
WALK_FROM = 10  # top files the walk starts from


@dataclass(frozen=True, slots=True)
class Evidence:
    """One ranked chunk of a file."""

    chunk_id: int
    path: str
    score: float
    start_line: int
    end_line: int
    symbol: str | None
    kind: str


@dataclass(slots=True)
class RankedFile:
    path: str
    score: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)
    matched_by: set[str] = field(default_factory=set)


def rank_files(chunks: Iterable[tuple[Evidence, Iterable[str]]], decay: float = DECAY,
               limit: int = MAX_EVIDENCE) -> list[RankedFile]:
    """Files by the decayed sum of their chunks' scores; `chunks` come best first, each with
    the retrievers that matched it."""
    files: dict[str, RankedFile] = {}
    seen: set[tuple[str, str]] = set()
    for ev, matched_by in chunks:
        if ev.symbol:
            if (ev.path, ev.symbol) in seen:
                continue  # another window of the same definition
            seen.add((ev.path, ev.symbol))
        f = files.setdefault(ev.path, RankedFile(ev.path))
        if len(f.evidence) >= limit:
            continue
        f.score += ev.score * decay ** len(f.evidence)
        f.evidence.append(ev)
        f.matched_by.update(matched_by)
    return sorted(files.values(), key=lambda f: (-f.score, f.path))


def evidence_lines(f: RankedFile, shown: int = SHOWN_EVIDENCE) -> str:
    """What matched in the file, one line per chunk: `L12-40 function send`."""
    return "\n".join(f"L{e.start_line}-{e.end_line} {e.kind} {e.symbol or ''}".rstrip()
                     for e in f.evidence[:shown])


def walk(files: list[RankedFile], importers: Mapping[str, set[str]],
         prior: Callable[[str], float], share: float = WALK,
         top: int = WALK_FROM) -> list[RankedFile]:
    """`files` re-ranked after one step over import edges from the first `top` of them;
    neighbours that had no evidence join with the score they received, times `prior` of
    their path (tests and vendored code gain less)."""
    if share <= 0 or not files:
        return files
    imports: dict[str, set[str]] = {}
    for dst, srcs in importers.items():
        for src in srcs:
            imports.setdefault(src, set()).add(dst)
    by_path = {f.path: f for f in files}
    gains: dict[str, float] = {}
    for f in files[:top]:
        near = (imports.get(f.path, set()) | importers.get(f.path, set())) - {f.path}
        for n in near:
            gains[n] = gains.get(n, 0.0) + share * f.score / len(near) * prior(n)
    for path, gain in gains.items():
        if gain <= 0:
            continue  # not a file (a Go package directory), or a prior of 0
        by_path.setdefault(path, RankedFile(path, matched_by={"graph"})).score += gain
    return sorted(by_path.values(), key=lambda f: (-f.score, f.path))
