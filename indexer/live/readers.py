"""The tool calls reading a live index now, for the watcher's rest between batches.

Under a steady stream of edits the applier rests after each batch as long as the batch
took (at most `_PAUSE_MAX_S`, `indexer.live.watcher`), so that re-indexing takes at most
about half the time and the calls queued behind it get the rest (moby, 50 clients, 5 edits
a second: docs/benchmarks.md "Load"). With no call waiting for the CPU the rest gives way
to nobody and only delays the next edit: an agent that writes two files and then asks with
`wait_fresh`, or polls a search until its edit shows, waited a whole rest (flask: ~200 ms
of the ~420 ms from a write to its search, docs/benchmarks.md "Freshness"). So the rest
lasts only while calls contend: two or more reading at once within the last `CROWDED_S`
(1 s). Under the load test's 50 clients a rest that ended when no call was reading at that
instant, or when fewer than two had been for 0.1 s, cost its p95 10-20%: its calls leave
such gaps between them (docs/benchmarks.md "Load")."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

CROWDED_S = 1.0  # calls contended this recently: the applier keeps resting
_POLL_S = 0.1  # the longest a resting applier sleeps before it looks at the stop event


class Readers:
    """A count of tool calls reading now (thread-safe), and when two or more last did."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._reading = 0
        self._crowded_at = float("-inf")  # the last moment two or more calls were reading

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Around a tool call's reads (not its wait for freshness: that waits for the
        applier, which must not rest for it)."""
        with self._cond:
            self._reading += 1
            if self._reading > 1:
                self._crowded_at = time.monotonic()
        try:
            yield
        finally:
            with self._cond:
                if self._reading > 1:
                    self._crowded_at = time.monotonic()
                self._reading -= 1
                if self._reading == 1:  # no longer contended: a resting applier looks
                    self._cond.notify_all()  # (not at every call's end: it would take the GIL)

    @property
    def count(self) -> int:
        with self._cond:
            return self._reading

    def rest(self, seconds: float, stop: threading.Event) -> None:
        """Wait at most `seconds`: less once calls have not contended for `CROWDED_S` (at
        once if they have not), or when `stop` is set."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                calm = self._crowded_at + CROWDED_S
                if now >= deadline or (self._reading < 2 and now >= calm):
                    return
                wait = deadline - now if self._reading > 1 else min(deadline, calm) - now
                self._cond.wait(min(wait, _POLL_S))
