"""A session's working set (the hot tier): what one MCP session has already been sent.

`get_context` records every line range it sends in full (a body or a signature) with a hash
of the text sent; a later answer in the same session refers to a range it would send again
("already sent: path:10-40") instead of repeating it, unless the text changed since (the
file was edited) or the caller asks to resend. Bounded: the least recently used ranges are
forgotten first, so a long session sends them again rather than growing without limit.

The protocol layer keeps one `WorkingSet` per MCP session; tools only read and record.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_RANGES = 512


@dataclass(frozen=True, slots=True)
class SentRange:
    path: str
    start_line: int
    end_line: int
    digest: str

    @property
    def label(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()


class WorkingSet:
    """Line ranges one session received, least recently used first; thread-safe."""

    def __init__(self, max_ranges: int = MAX_RANGES) -> None:
        self.max_ranges = max_ranges
        self._sent: OrderedDict[tuple[str, int, int], SentRange] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sent)

    def __getstate__(self) -> tuple[int, list[SentRange]]:
        """A copy travels (pickled, e.g. to a Ray actor) without the lock."""
        with self._lock:
            return self.max_ranges, list(self._sent.values())

    def __setstate__(self, state: tuple[int, list[SentRange]]) -> None:
        self.max_ranges, ranges = state
        self._sent = OrderedDict(((r.path, r.start_line, r.end_line), r) for r in ranges)
        self._lock = threading.Lock()

    def snapshot(self) -> WorkingSet:
        """An independent copy: what a shard reads while the caller keeps recording."""
        copy = WorkingSet.__new__(WorkingSet)
        copy.__setstate__(self.__getstate__())
        return copy

    def record(self, path: str, start_line: int, end_line: int, text: str) -> None:
        """Remember that `text` (lines start..end of `path`) was sent in full."""
        key = (path, start_line, end_line)
        with self._lock:
            self._sent.pop(key, None)
            self._sent[key] = SentRange(path, start_line, end_line, text_digest(text))
            while len(self._sent) > self.max_ranges:
                self._sent.popitem(last=False)

    def containing(self, path: str, start_line: int, end_line: int) -> list[SentRange]:
        """Sent ranges of `path` that contain lines start..end, most recently used first (the
        caller checks `digest` against the file's current text of the range)."""
        with self._lock:
            found = [r for r in reversed(self._sent.values()) if r.path == path
                     and r.start_line <= start_line and end_line <= r.end_line]
        return found

    def overlapping(self, path: str, start_line: int, end_line: int) -> list[SentRange]:
        """Sent ranges of `path` sharing a line with start..end."""
        with self._lock:
            return [r for r in self._sent.values() if r.path == path
                    and r.start_line <= end_line and start_line <= r.end_line]

    def touch(self, sent: SentRange) -> None:
        key = (sent.path, sent.start_line, sent.end_line)
        with self._lock:
            if key in self._sent:
                self._sent.move_to_end(key)
