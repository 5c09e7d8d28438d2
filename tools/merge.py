"""Merging the answers of several repositories (a workspace, or cluster shards) into one.

Scores are not comparable across indexes (BM25 statistics, graph priors and embedding
coverage differ per repository), so results are merged by rank, as reciprocal-rank fusion
does: every repository's first result comes before any repository's second, and results of
equal rank are ordered by their score relative to their own repository's best (then by
repository name, so the order is deterministic). Symbols are ordered by how the name
matched first (exact before qualified, inherited, fuzzy), dependencies by depth first.

Each repository answers within the caller's `max_tokens`; the merged answer is fitted into
it again (`tools.budget`), counting what it drops as omitted. Every item carries `repo`;
repositories that did not answer are listed in `missing_repos` (a partial answer).
This module knows no index: it merges tool results only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from tools import budget
from tools.errors import ToolError
from tools.models import (
    DependencyNode,
    DependencyResult,
    DirSummary,
    Freshness,
    IndexStatus,
    MissingRepo,
    Omitted,
    RepoFreshness,
    SearchHit,
    SearchResult,
    SummaryResult,
    SymbolInfo,
    SymbolResult,
    WorkspaceStatus,
)
from tools.schema import BaseModel

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)

RRF_K = 60  # reciprocal-rank constant: 1 / (RRF_K + rank)
MATCH_ORDER = {"exact": 0, "qualified": 1, "inherited": 2, "fuzzy": 3}
_ITEMS = {"SearchResult": "results", "SymbolResult": "symbols", "SummaryResult": "summaries",
          "ContextResult": "items"}


def tag_repo(result: R, repo: str) -> R:
    """`result` with `repo` set on every item it lists (and on a status)."""
    if isinstance(result, IndexStatus):
        return result.model_copy(update={"repo": repo})
    if isinstance(result, DependencyResult):
        return result.model_copy(update={
            "nodes": [n.model_copy(update={"repo": repo}) for n in result.nodes],
            "edges": [e.model_copy(update={"repo": repo}) for e in result.edges]})
    field = _ITEMS.get(type(result).__name__)
    if field is None:
        return result
    items = [item.model_copy(update={"repo": repo}) for item in getattr(result, field)]
    return result.model_copy(update={field: items})


def rank_merge(ranked: Mapping[str, Sequence[T]], score: Callable[[T], float],
               group: Callable[[T], int] = lambda _: 0) -> list[T]:
    """Items of every repository in one order: by `group` (lower first), then reciprocal
    rank within the repository, then score relative to the repository's best, then name."""
    keyed: list[tuple[int, float, float, str, int, T]] = []
    for repo, items in ranked.items():
        top = max((abs(score(i)) for i in items), default=0.0) or 1.0
        for rank, item in enumerate(items):
            keyed.append((group(item), -1.0 / (RRF_K + rank + 1), -score(item) / top, repo,
                          rank, item))
    keyed.sort(key=lambda k: k[:5])
    return [k[5] for k in keyed]


def merge_freshness(parts: Mapping[str, Freshness]) -> Freshness:
    repos = [RepoFreshness(repo=name, fresh=f.fresh, pending_files=f.pending_files,
                           generation=f.generation) for name, f in sorted(parts.items())]
    pending = [p for r in repos for p in r.pending_files][:20]
    return Freshness(fresh=all(r.fresh for r in repos), pending_files=pending,
                     generation=max((r.generation for r in repos), default=0), repos=repos)


def _missing(missing: Mapping[str, str]) -> list[MissingRepo]:
    return [MissingRepo(repo=name, reason=why) for name, why in sorted(missing.items())]


def _omitted(parts: Sequence[SearchResult | SymbolResult | DependencyResult | SummaryResult],
             dropped: int, hint: str) -> Omitted | None:
    count = dropped + sum(p.omitted.count for p in parts if p.omitted is not None)
    return Omitted(count=count, hint=hint) if count else None


def _same(item: T) -> T:
    return item


def merge_search(parts: Mapping[str, SearchResult], k: int, max_tokens: int,
                 missing: Mapping[str, str] | None = None) -> SearchResult:
    """The top `k` of every repository's search answer, merged by rank."""
    tagged = {name: tag_repo(p, name) for name, p in parts.items()}
    hits = rank_merge({n: p.results for n, p in tagged.items()}, lambda h: h.score)[:k]
    results = list(tagged.values())
    share = (sum(p.embedded_share for p in results) / len(results)) if results else 0.0

    def build(kept: list[SearchHit], dropped: int, degraded: bool) -> SearchResult:
        return SearchResult(
            results=kept, took_ms=max((p.took_ms for p in results), default=0.0),
            truncated=degraded or dropped > 0 or any(p.truncated for p in results),
            mode=results[0].mode if results else "hybrid", embedded_share=round(share, 4),
            omitted=_omitted(results, dropped, "raise max_tokens, lower k, or pass repo"),
            freshness=merge_freshness({n: p.freshness for n, p in tagged.items()}),
            missing_repos=_missing(missing or {}))

    return budget.fit_answer(hits, [_same], max_tokens, build)


def merge_symbols(parts: Mapping[str, SymbolResult], name: str, max_tokens: int,
                  missing: Mapping[str, str] | None = None) -> SymbolResult:
    """Definitions from every repository: exact matches first, then by rank."""
    tagged = {n: tag_repo(p, n) for n, p in parts.items()}
    symbols = rank_merge({n: p.symbols for n, p in tagged.items()}, lambda _: 0.0,
                         lambda s: MATCH_ORDER.get(s.match, len(MATCH_ORDER)))
    results = list(tagged.values())
    note = "; ".join(f"{n}: {p.note}" for n, p in tagged.items() if p.note) or None

    def build(kept: list[SymbolInfo], dropped: int, degraded: bool) -> SymbolResult:
        return SymbolResult(
            query=name, symbols=kept,
            truncated=degraded or dropped > 0 or any(p.truncated for p in results),
            omitted=_omitted(results, dropped, "raise max_tokens, or pass repo or path"),
            note=note,
            freshness=merge_freshness({n: p.freshness for n, p in tagged.items()}),
            missing_repos=_missing(missing or {}))

    return budget.fit_answer(symbols, [_same], max_tokens, build)


def merge_dependencies(parts: Mapping[str, DependencyResult], target: str, direction: str,
                       depth: int, max_tokens: int,
                       missing: Mapping[str, str] | None = None) -> DependencyResult:
    """The neighbourhoods found in every repository where the target resolved."""
    if not parts and not missing:
        raise ToolError(f"no repository has a file or symbol {target!r}: check the name")
    tagged = {n: tag_repo(p, n) for n, p in sorted(parts.items())}
    nodes = rank_merge({n: p.nodes for n, p in tagged.items()}, lambda d: d.score,
                       lambda d: d.depth)
    results = list(tagged.values())
    resolved = results[0].resolved if len(results) == 1 else "; ".join(
        f"{n}: {p.resolved}" for n, p in tagged.items())
    edges = [e for p in results for e in p.edges]

    def build(kept: list[DependencyNode], dropped: int, degraded: bool) -> DependencyResult:
        ids = {(n.repo, n.id) for n in kept}
        return DependencyResult(
            target=target, resolved=resolved, direction=direction, depth=depth, nodes=kept,
            edges=[e for e in edges if (e.repo, e.source) in ids and (e.repo, e.target) in ids],
            truncated=degraded or dropped > 0 or any(p.truncated for p in results),
            omitted=_omitted(results, dropped, "raise max_tokens, lower depth, or pass repo"),
            freshness=merge_freshness({n: p.freshness for n, p in tagged.items()}),
            missing_repos=_missing(missing or {}))

    return budget.fit_answer(nodes, [_same], max_tokens, build, items_share=0.8)


def merge_summaries(parts: Mapping[str, SummaryResult], path: str, max_tokens: int,
                    missing: Mapping[str, str] | None = None) -> SummaryResult:
    """Every repository's summaries of `path`, repository by repository."""
    if not parts and not missing:
        raise ToolError(f"no repository has a directory {path!r}: check the path, or pass repo")
    tagged = {n: tag_repo(p, n) for n, p in sorted(parts.items())}
    summaries = [s for p in tagged.values() for s in p.summaries]
    results = list(tagged.values())

    def build(kept: list[DirSummary], dropped: int, degraded: bool) -> SummaryResult:
        return SummaryResult(
            path=path, summaries=kept,
            truncated=degraded or dropped > 0 or any(p.truncated for p in results),
            omitted=_omitted(results, dropped, "raise max_tokens, lower depth, or pass repo"),
            freshness=merge_freshness({n: p.freshness for n, p in tagged.items()}),
            missing_repos=_missing(missing or {}))

    return budget.fit_answer(summaries, [_same], max_tokens, build)


def merge_status(parts: Mapping[str, IndexStatus],
                 missing: Mapping[str, str] | None = None) -> WorkspaceStatus:
    return WorkspaceStatus(repos=[tag_repo(p, n) for n, p in sorted(parts.items())],
                           missing_repos=_missing(missing or {}))
