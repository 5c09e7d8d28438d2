"""The CLI's one-line progress bar: counts, rate (items/s) and time left, on stderr.

`render` builds the line from plain numbers (no terminal needed, so it is unit-tested);
`Progress` draws it on a terminal only, at most `MAX_HZ` times a second, and only when the
line differs from the one on screen. Each phase (the `message`: "indexing", "embedding")
has its own rate, measured from the first report of that phase.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30  # characters of the bar itself
MAX_HZ = 10


def _duration(seconds: float) -> str:
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f}s"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s // 60 % 60:02d}m"


def _rate(per_s: float) -> str:
    return f"{per_s:.1f}/s" if per_s < 10 else f"{per_s:.0f}/s"


def render(done: int, total: int | None, message: str, elapsed: float, start: int = 0) -> str:
    """The progress line for `done` of `total` items (None: unknown) after `elapsed` seconds
    of a phase that began at `start` items. No rate or ETA until some items were counted."""
    line = f"{message:10}"
    if total:
        filled = min(WIDTH, WIDTH * done // total)
        line += f" [{'#' * filled}{'-' * (WIDTH - filled)}] {done}/{total}"
    else:
        line += f" {done}"
    counted = done - start
    if counted <= 0 or elapsed <= 0:
        return line
    per_s = counted / elapsed
    line += f"  {_rate(per_s)}"
    if total and done < total:
        line += f"  ETA {_duration((total - done) / per_s)}"
    elif total:
        line += f"  in {_duration(elapsed)}"
    return line


class Progress:
    """Progress callback `(done, total, message)`: a redrawn line on `stream` when it is a
    terminal, silent otherwise. A finished phase (done >= total) ends its line."""

    def __init__(self, stream: TextIO | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.clock = clock
        self._phase: str | None = None
        self._started = 0.0
        self._start_count = 0
        self._drawn_at = float("-inf")
        self._line = ""
        self._finished: tuple[str, int, int | None] | None = None  # the last line ended

    def __call__(self, done: int, total: int | None, message: str) -> None:
        if not self.tty or (message, done, total) == self._finished:
            return
        now = self.clock()
        if message != self._phase:
            self._new_phase(message, done, now)
        finished = bool(total) and done >= (total or 0)
        if not finished and now - self._drawn_at < 1 / MAX_HZ:
            return
        line = render(done, total, message, now - self._started, self._start_count)
        if line == self._line:
            return
        pad = " " * max(0, len(self._line) - len(line))  # erase the rest of a longer line
        self.stream.write(f"\r{line}{pad}")
        self._line, self._drawn_at = line, now
        if finished:
            self.stream.write("\n")
            self._phase, self._line = None, ""
            self._finished = (message, done, total)
        self.stream.flush()

    def _new_phase(self, message: str, done: int, now: float) -> None:
        if self._line:  # an unfinished line of the previous phase stays visible
            self.stream.write("\n")
        self._phase, self._started, self._start_count = message, now, done
        self._line, self._drawn_at = "", float("-inf")
