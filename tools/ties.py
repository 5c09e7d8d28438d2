"""Equal scores in an order that does not depend on how the index was built.

A retriever cuts its list at a limit and orders equal scores by something internal: tantivy
by document address (segment, then position in it), the vector indexes by row or key. Both
differ between a fresh index and one that took updates (documents were written in another
order; chunk ids are new), and equal scores are common in code (copied functions, repeated
boilerplate, short chunks that match one word once). So each retriever's list is fetched
until every hit tied with the last one kept is in (`complete_ties`), and equal scores are
ordered by where the chunk is (`by_location`: path, first line, last line).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Hits = list[tuple[int, float]]  # (chunk id, score), best first
Location = tuple[str, int, int]  # path, start line, end line

TIE_ROOM = 8  # hits fetched beyond the limit, so that a tie at the cut-off shows
TIE_CAP = 512  # at most this many beyond the limit: a word in every file ties thousands


def complete_ties(fetch: Callable[[int], Hits], limit: int) -> Hits:
    """`fetch(n)`'s best hits: at least the best `limit`, and every hit scoring the same as
    the `limit`-th (fetching more while the last fetched one still ties with it), up to
    `TIE_CAP` beyond the limit: past that, which of the tied hits are kept may differ between
    a fresh and an updated index (a query retrieves again at most log2(TIE_CAP / TIE_ROOM)
    times, not once per doubling up to every match)."""
    if limit <= 0:
        return []
    n = limit + TIE_ROOM
    while True:
        hits = fetch(n)
        if len(hits) < n or hits[-1][1] != hits[limit - 1][1] or n >= limit + TIE_CAP:
            return hits
        n = min(2 * n, limit + TIE_CAP)


def by_location(hits: Sequence[tuple[int, float]], limit: int,
                where: Callable[[int], Location]) -> list[int]:
    """The best `limit` chunk ids of `hits`, equal scores ordered by `where(chunk id)`."""
    ordered = sorted(hits, key=lambda h: (-h[1], where(h[0])))
    return [cid for cid, _ in ordered[:limit]]
