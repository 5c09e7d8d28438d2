"""Freshness of an answer: whether the files it was computed from changed since indexed."""

from __future__ import annotations

from collections.abc import Iterable

from indexer.live import LiveIndex
from tools.models import Freshness


def freshness(live: LiveIndex, paths: Iterable[str] | None = None,
              summaries: bool = False) -> Freshness:
    """Freshness for an answer touching `paths` (every pending file when None); with
    `summaries` (an answer made of directory summaries), files indexed whose summaries are
    not refreshed yet count as pending too (`LiveIndex.unsummarized`)."""
    wanted = None if paths is None else list(paths)
    pending = live.pending_under(wanted)
    reconciling = live.reconciling  # a reconcile's paths are unknown: all stale
    if summaries:
        pending = sorted({*pending, *live.unsummarized_under(wanted)})
        reconciling = reconciling or live.unsummarized.reconciling
    fresh = not pending and not reconciling
    return Freshness(fresh=fresh, pending_files=pending[:20], generation=live.generation)
