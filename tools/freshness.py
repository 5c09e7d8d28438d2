"""Freshness of an answer: whether the files it was computed from changed since indexed."""

from __future__ import annotations

from collections.abc import Iterable

from indexer.live import LiveIndex
from tools.models import Freshness


def freshness(live: LiveIndex, paths: Iterable[str] | None = None,
              summaries: bool = False) -> Freshness:
    """Freshness for an answer touching `paths` (every pending file when None): stale where
    one of them is pending, changed on disk since it was indexed (its stat; the watcher may
    not have reported it yet, or no watcher runs), or while the index catches up with the
    working tree (a reconcile, the one on start included); with `summaries` (an answer made
    of directory summaries), files indexed whose summaries are not refreshed yet count as
    pending too (`LiveIndex.unsummarized`)."""
    wanted = None if paths is None else list(paths)
    pending = live.pending_under(wanted)
    if wanted:  # changed on disk, whether or not a watcher has reported it yet
        pending = sorted({*pending, *live.changed_on_disk(wanted)})
    # a reconcile's paths are unknown, and so are those of the changes made before the
    # server started, until its reconcile on start has run: all stale
    reconciling = live.reconciling or live.catching_up
    if summaries:
        pending = sorted({*pending, *live.unsummarized_under(wanted)})
        reconciling = reconciling or live.unsummarized.reconciling
    fresh = not pending and not reconciling
    return Freshness(fresh=fresh, pending_files=pending[:20], generation=live.generation)
