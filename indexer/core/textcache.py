"""A per-process memo keyed by whole texts, bounded by the characters it holds."""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class TextCache(Generic[V]):
    """text -> value, emptied when the texts kept would exceed `max_chars` characters.

    For work repeated on identical texts (moby's API definitions repeat whole sections,
    version after version) in long-lived worker processes, with memory bounded."""

    __slots__ = ("_chars", "_max_chars", "_values")

    def __init__(self, max_chars: int) -> None:
        self._values: dict[str, V] = {}
        self._chars = 0
        self._max_chars = max_chars

    @property
    def chars(self) -> int:
        """Characters of the texts kept now (at most `max_chars`)."""
        return self._chars

    def clear(self) -> None:
        self._values.clear()
        self._chars = 0

    def get(self, text: str) -> V | None:
        return self._values.get(text)

    def put(self, text: str, value: V) -> None:
        if self._chars + len(text) > self._max_chars:
            self.clear()
        self._values[text] = value
        self._chars += len(text)
