"""The texts of chunks read lately, by chunk id (`Store.chunk_texts`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence


class RecentTexts:
    """chunk id -> text, the least recently read out first past `max_chars` characters;
    thread-safe. A chunk id names one text for good: a file written again gets new chunk ids
    (a sequence, `Store.write_files`), so a kept text is never another version's."""

    def __init__(self, max_chars: int) -> None:
        self._texts: OrderedDict[int, str] = OrderedDict()
        self._chars = 0
        self._max_chars = max_chars
        self._lock = threading.Lock()

    @property
    def chars(self) -> int:
        return self._chars

    def get_many(self, ids: Sequence[int]) -> dict[int, str]:
        with self._lock:
            out: dict[int, str] = {}
            for i in ids:
                text = self._texts.get(i)
                if text is not None:
                    self._texts.move_to_end(i)
                    out[i] = text
            return out

    def put_many(self, items: Iterable[tuple[int, str]]) -> None:
        with self._lock:
            for i, text in items:
                if text is None or i in self._texts or len(text) > self._max_chars:
                    continue
                self._texts[i] = text
                self._chars += len(text)
            while self._chars > self._max_chars:
                _, text = self._texts.popitem(last=False)
                self._chars -= len(text)

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()
            self._chars = 0
