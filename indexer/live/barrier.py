"""Read-your-writes for a watched tree: a tool call waits until the watcher has seen every
change made before it.

`wait_fresh` waits for the paths the watcher has reported. A file written a moment before
the call (an agent writes a new module, then asks `get_symbol` for what it defines) is not
reported yet: the OS has queued its event, but the watcher reads its events in batches
that close after a quiet step, tens of milliseconds later. The paths a call names can be
compared with the index by their stat; a call that names none (a search, a symbol) cannot
know which files to look at.

The barrier closes that gap without a walk of the tree. It writes a file of its own in a
folder of the index directory that the watcher watches (inside the repository, as the
default `.sextant` is, it is part of the tree's watch; elsewhere the listener watches it
too, through the same OS queue): the OS queues the file's event after the events of every
write that finished before it, so once the listener sees that file, it has seen everything
written before the call, and the changes of its batch are pending before the barrier is
released (`Watcher.listen_loop`). Each call writes the next file, numbered (a file seen
passes every call waiting for it or an earlier one; each new file removes the one before,
so one is left).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

PREFIX = "watch-barrier-"
LOST_S = 30.0  # a barrier not seen for this long is written again (a watcher restarted)


class WatchBarrier:
    """One watched tree's barrier (thread-safe). The listener `arm`s it once its watch
    runs, passes every path of a batch through `note`, calls `release` once the batch's
    changes are pending, and `disarm`s it when the watch stops."""

    def __init__(self, folder: Path, root: Path) -> None:
        self.folder = folder
        # watched with the tree when inside it; else the listener watches it as well
        self.inside = folder.resolve().is_relative_to(root.resolve())
        self._cond = threading.Condition()
        self._armed = False
        self._written = 0  # the number of the last barrier file written
        self._written_at = 0.0
        self._done = 0  # every barrier up to this number has been seen
        self._seen = 0  # the highest number noted in the listener's current batch

    # -- the listener's side -------------------------------------------------------------------

    def arm(self) -> None:
        with self._cond:
            if not self._armed:
                self._armed = True
                self._cond.notify_all()

    def disarm(self) -> None:
        """The watch stopped: a barrier written now might never be seen."""
        with self._cond:
            self._armed = False
            self._written_at = 0.0  # whatever is on its way is written again once armed
            self._cond.notify_all()

    def owns(self, path: str) -> bool:
        """True when `path` is a barrier file (no change of the repository)."""
        name = os.path.basename(path)
        return name.startswith(PREFIX) and self._here(os.path.dirname(path))

    def note(self, path: str) -> bool:
        """`owns(path)`; a barrier file's number counts as seen once the batch is
        released."""
        if not self.owns(path):
            return False
        try:
            number = int(os.path.basename(path)[len(PREFIX):])
        except ValueError:
            return True
        with self._cond:
            self._seen = max(self._seen, number)
        return True

    def _here(self, folder: str) -> bool:
        """Whether `folder` is the barrier's (as the watcher spells it: through a link, or
        not); asked only of files named like a barrier."""
        try:
            return os.path.samefile(folder, self.folder)
        except OSError:
            return False

    def release(self) -> None:
        """The batch the listener just handled is pending: its barriers are passed."""
        with self._cond:
            if self._seen > self._done:
                self._done = self._seen
                self._cond.notify_all()

    # -- a caller's side ---------------------------------------------------------------------

    def pass_through(self, timeout_s: float) -> bool | None:
        """Wait until the listener has seen every change made before this call: True;
        False when `timeout_s` passed first; None when the barrier file could not be
        written (the caller then waits for the changes reported)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            needed = self._written + 1  # the first barrier written after this call
            while self._done < needed:
                now = time.monotonic()
                if self._armed and (self._written < needed
                                    or now - self._written_at > LOST_S):
                    if not self._write(self._written + 1):
                        return None
                    continue
                if now >= deadline:
                    return False
                self._cond.wait(min(deadline - now, LOST_S))
            return True

    def _write(self, number: int) -> bool:
        """Write barrier file `number` and remove the one before (under the lock)."""
        try:
            (self.folder / f"{PREFIX}{number}").write_bytes(b"")
        except OSError:
            return False
        self._remove(self._written)
        self._written, self._written_at = number, time.monotonic()
        return True

    def _remove(self, number: int) -> None:
        if number:
            try:
                (self.folder / f"{PREFIX}{number}").unlink()
            except OSError:
                pass

    def close(self) -> None:
        """Remove the last barrier file."""
        with self._cond:
            self._remove(self._written)
            self._armed = False
            self._cond.notify_all()
