"""Retrieval metrics over ranked lists.

A query has a set of gold items; a system returns a ranked list. `first_rank` is the 1-based
rank of the first relevant result (None when none is found). Definitions, per query, then
averaged over queries:

- MRR@10: 1/first_rank when first_rank <= 10, else 0.
- Recall@k: share of the gold items found in the first k results.
- Acc@k: 1 when at least one gold item is in the first k results, else 0 (hit rate).
- All@k: 1 when every gold item is in the first k results, else 0 (issue -> files: the
  files a fix changed are all shown).

Ranked lists of files are de-duplicated (first occurrence wins) before they are scored, so a
system that returns three chunks of one file spends one rank on it, not three.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
G = TypeVar("G")

KS = (1, 3, 5, 10)


@dataclass(frozen=True, slots=True)
class Span:
    """A line range in a file: 1-based, inclusive."""

    path: str
    start: int
    end: int

    @property
    def lines(self) -> int:
        return self.end - self.start + 1


def covers(hit: Span, gold: Span) -> bool:
    """Whether `hit` shows the gold function: same file, and either most of the hit lies
    inside the function (a chunk or window of it) or the hit contains the function's first
    line and is at most twice its size (a small enclosing unit)."""
    if hit.path != gold.path or hit.end < gold.start or gold.end < hit.start:
        return False
    inside = min(hit.end, gold.end) - max(hit.start, gold.start) + 1
    if inside * 2 >= hit.lines:
        return True
    return hit.start <= gold.start <= hit.end and hit.lines <= 2 * gold.lines


def unique_paths(spans: Iterable[Span]) -> list[str]:
    return list(dict.fromkeys(s.path for s in spans))


@dataclass(slots=True)
class QueryScore:
    """One query's outcome: the rank of the first hit and which gold items each rank found."""

    first_rank: int | None
    found_at: list[int] = field(default_factory=list)  # rank at which each gold item was found
    gold: int = 1


def score_ranked(ranked: Sequence[T], gold: Sequence[G],
                 relevant: Callable[[T, G], bool]) -> QueryScore:
    """Score one ranked list against its gold items."""
    found: dict[int, int] = {}
    for rank, item in enumerate(ranked, start=1):
        for gi, g in enumerate(gold):
            if gi not in found and relevant(item, g):
                found[gi] = rank
    first = min(found.values()) if found else None
    return QueryScore(first_rank=first, found_at=sorted(found.values()), gold=len(gold))


def summarize(scores: Sequence[QueryScore], ks: Sequence[int] = KS) -> dict[str, float]:
    """MRR@10, Recall@k and Acc@k averaged over `scores` (an empty list gives zeros)."""
    n = len(scores) or 1
    out = {"MRR@10": sum(1.0 / s.first_rank for s in scores
                         if s.first_rank is not None and s.first_rank <= 10) / n}
    for k in ks:
        out[f"R@{k}"] = sum(sum(1 for r in s.found_at if r <= k) / max(1, s.gold)
                            for s in scores) / n
        out[f"Acc@{k}"] = sum(1 for s in scores
                              if s.first_rank is not None and s.first_rank <= k) / n
        out[f"All@{k}"] = sum(1 for s in scores
                              if len([r for r in s.found_at if r <= k]) >= s.gold) / n
    out["n"] = float(len(scores))
    return {key: round(v, 4) for key, v in out.items()}
