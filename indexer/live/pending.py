"""The set of paths seen changing but not yet reflected by the index.

A path is pending from the moment its event is seen until the store, the lexical index and
(when the model tier is on) the vectors reflect it. The watcher's listener adds, its
applier takes a snapshot, applies it and forgets exactly what it applied (a path changed
again meanwhile stays pending); tools wait on it, bounded, for freshness.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass


def overlaps(path: str, scope: str) -> bool:
    """True when `path` and `scope` name the same file or one lies under the other
    (`scope` "" or "." is the whole repository)."""
    if scope in ("", "."):
        return True
    scope = scope.rstrip("/")
    return path == scope or path.startswith(scope + "/") or scope.startswith(path + "/")


@dataclass(frozen=True, slots=True)
class Batch:
    paths: dict[str, int]  # path -> sequence number of its latest event
    reconcile: int  # sequence number of the reconcile request, 0 if none


class PendingPaths:
    """Paths seen changing but not yet applied to the index (thread-safe, callable)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paths: dict[str, int] = {}
        self._reconcile = 0
        self._seq = 0

    def __call__(self) -> set[str]:
        with self._cond:
            return set(self._paths)

    @property
    def reconciling(self) -> bool:
        with self._cond:
            return self._reconcile != 0

    def add(self, paths: Iterable[str], reconcile: bool = False) -> None:
        with self._cond:
            self._seq += 1
            for p in paths:
                self._paths[p] = self._seq
            if reconcile:
                self._reconcile = self._seq
            self._cond.notify_all()

    def take(self, timeout: float) -> Batch | None:
        """A snapshot of the pending work, waiting up to `timeout` s for some."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._paths or self._reconcile, timeout):
                return None
            return Batch(dict(self._paths), self._reconcile)

    def done(self, batch: Batch) -> None:
        """Forget what `batch` applied, keeping entries that changed again meanwhile."""
        with self._cond:
            for p, seq in batch.paths.items():
                if self._paths.get(p) == seq:
                    del self._paths[p]
            if self._reconcile == batch.reconcile:
                self._reconcile = 0
            self._cond.notify_all()

    def under(self, paths: Iterable[str] | None) -> list[str]:
        """Pending paths equal to or under any of `paths` (every pending path when None),
        sorted."""
        pending = self()
        if paths is None:
            return sorted(pending)
        wanted = list(paths)
        return sorted(p for p in pending if any(overlaps(p, q) for q in wanted))

    def wait_fresh(self, paths: set[str] | None, timeout: float) -> bool:
        """Wait until none of `paths` (every path when None) is pending; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy(paths), timeout)

    def _busy(self, paths: set[str] | None) -> bool:
        if self._reconcile:
            return True
        if paths is None:
            return bool(self._paths)
        return any(overlaps(p, q) for p in self._paths for q in paths)


class RecentPaths:
    """The last `limit` paths the watcher applied (files the user edited), newest last."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._paths: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, paths: Iterable[str]) -> None:
        with self._lock:
            for p in paths:
                self._paths.pop(p, None)
                self._paths[p] = None
            while len(self._paths) > self.limit:
                self._paths.pop(next(iter(self._paths)))

    def latest(self, limit: int) -> list[str]:
        with self._lock:
            return list(reversed(self._paths))[:limit]
