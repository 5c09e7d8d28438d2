"""A lock for many readers or one writer (the vector index's searches and edits; a store's
reads and the recycling of its connection)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RWLock:
    """Many readers or one writer; writers wait for readers to drain."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            self._release_write()

    @contextmanager
    def write_if_free(self) -> Iterator[bool]:
        """`write` at once or not at all: True while held; False, holding nothing, when a
        reader or a writer is in (work that may be skipped rather than wait for readers)."""
        with self._cond:
            free = not self._writing and self._readers == 0
            if free:
                self._writing = True
        if not free:
            yield False
            return
        try:
            yield True
        finally:
            self._release_write()

    def _release_write(self) -> None:
        with self._cond:
            self._writing = False
            self._cond.notify_all()
