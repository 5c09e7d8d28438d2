"""get_context across repositories (a workspace, or cluster shards): one budget, two stages.

1. **Where the budget goes** (`context_shares`): every repository's search hits for the
   task, merged by rank as `search_code` merges them (`tools.merge.rank_merge`: scores are
   not comparable across indexes). A repository's share of the budget is proportional to
   how many of the top N merged hits (N as get_context's own search takes) are its own:
   the budget follows the answer the workspace's `search_code` would give. A repository
   with no hit there gets nothing; when a share would fall below `MIN_SHARE` tokens, the
   repositories with the fewest hits are dropped until every share is at least that (their
   best hit is listed as left out, with the call that fetches their part). Relevance
   across repositories is not judged (see docs/design.md): `repo` gives one repository the
   whole budget.
2. **Each chosen repository assembles its part** (the caller runs `get_context` there with
   `max_tokens` = its share and a read-only copy of the session's working set of that
   repository), then `merge_context` joins the parts: code items by rank (every part's first
   item before any part's second; directories last), left-out code likewise (first 10, each
   naming its `repo`), already-sent ranges prefixed with their repository. The shares leave
   `reserve(n)` tokens for what the merged envelope adds (freshness per repository,
   `missing_repos`); should the joined answer still exceed `max_tokens`, the least relevant
   code items are dropped into `left_out` until it fits. Different repositories never
   overlap, and each part sends nothing twice, so the answer holds nothing twice.

Pure functions over tool results: the caller (`mcp_server.workspace`) does the fan-out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tools.context_models import ContextItem, ContextResult, LeftOut
from tools.context_pack import LEFT_OUT_SHOWN, json_tokens
from tools.merge import merge_freshness, rank_merge, tag_repo
from tools.models import Freshness, MissingRepo, SearchHit

MIN_SHARE = 1000  # tokens: below this a repository's part holds little more than a body


def reserve(repos: int) -> int:
    """Tokens kept back from the shares for what merging adds to the envelope."""
    return 60 + 40 * repos


def context_shares(hits: Mapping[str, Sequence[SearchHit]], top: int,
                   max_tokens: int) -> dict[str, int]:
    """Each chosen repository's share of `max_tokens`, largest first (see the module
    docstring); empty when no repository found anything."""
    tagged = {r: [h.model_copy(update={"repo": r}) for h in hs] for r, hs in hits.items()}
    weight: dict[str, int] = {}
    first: dict[str, int] = {}  # merged rank of each repository's best hit
    for rank, h in enumerate(rank_merge(tagged, lambda h: h.score)[:top]):
        assert h.repo is not None
        weight[h.repo] = weight.get(h.repo, 0) + 1
        first.setdefault(h.repo, rank)
    chosen = sorted(weight, key=lambda r: (-weight[r], first[r]))

    def split() -> dict[str, int]:
        room = max(0, max_tokens - reserve(len(chosen)))
        total = sum(weight[r] for r in chosen)
        return {r: int(room * weight[r] / total) for r in chosen}

    shares = split()
    while len(chosen) > 1 and shares[chosen[-1]] < MIN_SHARE:
        chosen.pop()
        shares = split()
    return shares


def skipped_repos(hits: Mapping[str, Sequence[SearchHit]], shares: Mapping[str, int],
                  task: str) -> list[LeftOut]:
    """The best hit of each repository that found something but got no share."""
    out: list[LeftOut] = []
    for repo, found in sorted(hits.items()):
        if repo not in shares and found:
            h = found[0]
            out.append(LeftOut(path=h.path, start_line=h.start_line, end_line=h.end_line,
                               symbol=h.symbol, repo=repo,
                               fetch=f"get_context(task={task[:60]!r}, repo={repo!r})"))
    return out


def merge_context(parts: Mapping[str, ContextResult], task: str, max_tokens: int, *,
                  freshness: Mapping[str, Freshness],
                  missing: Mapping[str, str] | None = None,
                  skipped: Sequence[LeftOut] = ()) -> ContextResult:
    """One answer from every repository's part (see the module docstring). `freshness`:
    every repository that answered (a repository with no share still counts)."""
    tagged = {n: tag_repo(p, n) for n, p in sorted(parts.items())}
    items = rank_merge({n: p.items for n, p in tagged.items()}, lambda _: 0.0,
                       lambda i: i.kind == "directory")
    left = [*skipped, *rank_merge({n: [_named(lo, n) for lo in p.left_out]
                                   for n, p in tagged.items()}, lambda _: 0.0)]
    counted = len(skipped) + sum(p.left_out_count for p in tagged.values())
    sent = [f"{n}:{label}" for n, p in tagged.items() for label in p.already_sent]
    truncated = any(p.truncated for p in tagged.values())
    fresh = merge_freshness(freshness)
    gone = [MissingRepo(repo=n, reason=why) for n, why in sorted((missing or {}).items())]
    shown, dropped = LEFT_OUT_SHOWN, 0

    def build() -> ContextResult:
        return ContextResult(
            task=task[:200], items=items, left_out=left[:shown],
            left_out_count=counted + dropped, already_sent=sent, tokens=0,
            truncated=truncated or counted + dropped > 0, freshness=fresh, missing_repos=gone)

    result = build()
    while json_tokens(result) + 3 > max_tokens and (items or shown):  # 3: digits of tokens
        if shown > 2 or not items:
            shown = max(0, shown - 2)
        else:
            lost = _pop_least(items)
            dropped += 1
            left.insert(0, LeftOut(path=lost.path, start_line=lost.start_line,
                                   end_line=lost.end_line, symbol=lost.symbol, repo=lost.repo,
                                   fetch=_fetch(lost)))
        result = build()
    result = result.model_copy(update={"tokens": json_tokens(result)})
    return result.model_copy(update={"tokens": json_tokens(result)})


def _named(lo: LeftOut, repo: str) -> LeftOut:
    fetch = lo.fetch[:-1] + f", repo={repo!r})" if lo.fetch.endswith(")") else lo.fetch
    return lo.model_copy(update={"repo": repo, "fetch": fetch})


def _fetch(item: ContextItem) -> str:
    if item.symbol:
        return f"get_symbol(name={item.symbol!r}, path={item.path!r}, repo={item.repo!r})"
    return f"read {item.path} lines {item.start_line}-{item.end_line}"


def _pop_least(items: list[ContextItem]) -> ContextItem:
    """Remove and return the least relevant code item (a directory line if none is left)."""
    code = [i for i, it in enumerate(items) if it.kind != "directory"]
    return items.pop(code[-1] if code else -1)


def record_sent(result: ContextResult, record: Callable[[str, ContextItem], None]) -> None:
    """`record(repo, item)` for every item sent in full (a body or a signature)."""
    for item in result.items:
        if item.detail in ("body", "signature") and item.repo is not None:
            record(item.repo, item)
