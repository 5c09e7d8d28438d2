"""Freshness of an answer: whether the files it was computed from changed since indexed."""

from __future__ import annotations

from collections.abc import Iterable

from indexer.live import LiveIndex
from tools.models import Freshness


def freshness(live: LiveIndex, paths: Iterable[str] | None = None) -> Freshness:
    """Freshness for an answer touching `paths` (every pending file when None)."""
    pending = live.pending_under(paths)
    fresh = not pending and not live.reconciling  # a reconcile's paths are unknown: all stale
    return Freshness(fresh=fresh, pending_files=pending[:20], generation=live.generation)
