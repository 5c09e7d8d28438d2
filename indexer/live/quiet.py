"""Settling once the live index has been quiet a while: no write and no read for
`SETTLE_AFTER_S` seconds.

A run of edits leaves DuckDB's pages and the heap's free pages behind, and so does a burst of
tool calls (their reads fill DuckDB's buffer pool: 20 MB on moby after 50 clients' calls,
docs/benchmarks.md "Serving memory"). `LiveIndex.settle` gives them back; it runs once per
quiet spell, never under load (it lowers DuckDB's memory limit for a moment, which would
make concurrent reads retry)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

SETTLE_AFTER_S = 5.0  # quiet time after the last write or read before the live index settles
_POLL_S = 1.0  # the longest a waiting thread sleeps before it looks at the stop event again


class QuietTimer:
    """Runs `action` once, `after_s` after the last `touch()` (each touch pushes it back), in
    the thread that calls `run` (until `stop` is set)."""

    def __init__(self, action: Callable[[], None], stop: threading.Event,
                 after_s: float | None = None) -> None:
        self.after_s = SETTLE_AFTER_S if after_s is None else after_s
        self._action = action
        self._stop = stop
        self._cond = threading.Condition()
        self._last: float | None = None  # the last activity the action has not followed yet
        self._busy = 0  # `busy` spans running now

    def touch(self) -> None:
        """Something was written or read now."""
        with self._cond:
            self._last = time.monotonic()
            self._cond.notify()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Around work that is not quiet however long it takes (a watcher batch: writing,
        loading the tables, embedding): the action does not run meanwhile, and the end
        counts as a touch. A touch at the end alone let a batch longer than `after_s` be
        taken for a quiet spell, and the settle then waited for the batch's write lock."""
        with self._cond:
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._last = time.monotonic()
                self._cond.notify()

    def wake(self) -> None:
        """Make `run` look at the stop event now."""
        with self._cond:
            self._cond.notify_all()

    def run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                if self._last is None or self._busy:
                    self._cond.wait(_POLL_S)
                    continue
                remaining = self._last + self.after_s - time.monotonic()
                if remaining > 0:
                    self._cond.wait(min(remaining, _POLL_S))
                    continue
                self._last = None
            try:
                self._action()
            except Exception:  # an optimisation: never stop the thread for it
                log.exception("settling after a quiet while failed")
