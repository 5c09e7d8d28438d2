"""Lexical compaction in the background, once writes are quiet.

tantivy counts deleted documents in its BM25 statistics until a merge drops them, so after
edits, deletions or a branch switch the lexical index ranks differently from a fresh build
of the same files (`indexer.lexical`). `RepoIndex.compact_lexical` rebuilds it from the
store beside the serving one and swaps it in. A server runs that here, in its own thread:
`QUIET_S` after the last write (longer after a slow compaction: `COST_FACTOR`), when
nothing is pending, and only while the index holds deleted documents. The rebuild takes no
lock that readers or writers wait on; a write that lands meanwhile makes it give up (the
store's generation moved) and try again after the next quiet spell, so under a steady
stream of edits it waits for the stream to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.disk import RepoIndex

log = logging.getLogger(__name__)

QUIET_S = 2.0  # seconds without a write before a compaction starts
# ... and at least this many times the last compaction's duration: under steady edits moby's
# writes leave 2-4 s gaps, and a full rebuild (1.6 s) ran in most of them, a fifth of the
# CPU the server spent on the edits, for statistics the next write made stale again
COST_FACTOR = 8.0


class Compactor:
    """Runs lexical compactions of `index()` (see the module docstring). `busy()` is true
    while writes are pending or running; `stop` ends the thread."""

    def __init__(self, index: Callable[[], RepoIndex], busy: Callable[[], bool],
                 stop: threading.Event, quiet_s: float = QUIET_S,
                 after: Callable[[], None] | None = None,
                 damaged: Callable[[BaseException], bool] | None = None) -> None:
        self.last_duration_s = 0.0  # of the last compaction, done or abandoned
        self._index = index
        # told of a failure; True when it was damage it has set about repairing
        self._damaged = damaged
        self._after = after  # run after each compaction (what it read and sorted is garbage)
        self._busy = busy
        self._stop = stop
        self.quiet_s = quiet_s
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._last_change = time.monotonic()
        self.running = False
        self.compactions = 0  # completed since start

    def changed(self) -> None:
        """The index was written (or the live index is stopping): look again."""
        with self._cond:
            self._last_change = time.monotonic()
            self._cond.notify_all()
        self._wake.set()

    def state(self, deleted_docs: int) -> str:
        """`running`, `pending` (deleted documents wait for a quiet spell) or `none`, given
        the lexical index's count of deleted documents (`deleted_docs()`)."""
        if self.running:
            return "running"
        return "pending" if deleted_docs else "none"

    def run(self) -> None:
        """The thread's body: compact after each quiet spell that follows a write."""
        self._wake.set()  # an index opened with deleted documents is compacted too
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            try:  # a damaged lexical index fails the count: the thread must outlive it
                due = self._settled() and self._index().lexical.deleted_docs()
            except Exception as exc:
                if not self._repairing(exc):
                    log.exception("the lexical index could not be read before a compaction")
                continue
            if due:
                self._compact()

    def _repairing(self, exc: Exception) -> bool:
        """True when `exc` is damage now handed over for repair (a damaged lexical index was
        only logged here, at every settle, and never rebuilt)."""
        if self._damaged is not None and self._damaged(exc):
            log.warning("lexical compaction found the index damaged (%s); rebuilding it", exc)
            return True
        return False

    def quiet_needed_s(self) -> float:
        """How long writes must have been quiet before a compaction: `quiet_s`, and at
        least `COST_FACTOR` times the last compaction's duration (so compactions take at
        most about a ninth of the time while writes keep coming)."""
        return max(self.quiet_s, COST_FACTOR * self.last_duration_s)

    def _settled(self) -> bool:
        """Wait until `quiet_needed_s()` have passed since the last write and nothing is
        pending; False when stopping."""
        while not self._stop.is_set():
            quiet = self.quiet_needed_s()
            left = self._last_change + quiet - time.monotonic()
            if left <= 0 and not self._busy():
                return True
            self._stop.wait(left if left > 0 else quiet)
        return False

    def _compact(self) -> None:
        self.running = True
        retry = False
        compacted = False
        started = time.monotonic()
        try:
            compacted = self._index().compact_lexical(self._stop.is_set)
            if compacted:
                self.compactions += 1
            else:  # a write came in meanwhile: again after the next quiet spell
                retry = not self._stop.is_set()
        except Exception as exc:  # top of a thread: the index serves as it is; the next write
            if not self._repairing(exc):  # retries
                log.exception("lexical compaction failed; ranking statistics keep deleted "
                              "documents")
        finally:
            self.last_duration_s = time.monotonic() - started
            self.running = False
        with self._cond:
            self._cond.notify_all()
        if retry:
            self._wake.set()
        elif compacted and self._after is not None and not self._stop.is_set():
            try:
                self._after()
            except Exception:  # an optimisation: the index serves as it is
                log.exception("settling after the lexical compaction failed")

    def wait(self, timeout_s: float) -> bool:
        """Block until nothing is pending and the lexical index holds no deleted document
        (it ranks as a fresh build would), at most `timeout_s`; True when so."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._busy() or self._index().lexical.deleted_docs():
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(left)
        return True
