"""Worker processes for reading, parsing and chunking, with crash isolation.

Grammars are native code, and a hostile file can crash one (fuzzing found a tree-sitter-bash
input that segfaults it). Files are therefore processed in worker processes: when a worker
dies, the pool is replaced, the batch it held is retried once in the fresh pool, and if it
dies again its files are processed one per process, so the file that crashes the parser is
found, recorded as skipped (`parse_crash`) and never retried in a loop, while every other
file is indexed.

A `WorkerPool` is long-lived in the server (watcher updates reuse warm workers); the CLI
makes one per run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # imported when a pool first starts: a refresh with nothing to parse (a CLI
    # search on an unchanged tree) never needs them (~25 ms of its start)
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

E = TypeVar("E")
R = TypeVar("R")

CRASH_REASON = "parse_crash"


def _broken_pool() -> type[BaseException]:
    """concurrent.futures' BrokenProcessPool (an `except` clause evaluates this only when an
    exception passes through it)."""
    from concurrent.futures.process import BrokenProcessPool

    return BrokenProcessPool


_PARENT_POLL_S = 1.0  # how often a worker looks whether its parent is still there


def exit_with_parent(parent: int) -> None:
    """In a worker: exit once `parent`, the process that started the pool, is gone. A server
    killed with SIGKILL left its workers blocked on the task queue for ever (each holds that
    queue's write end too, so no end of file comes), ~100 MB each."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="sextant-parent-watch", daemon=True).start()


class WorkerPool:
    """A restartable pool of spawn-started worker processes."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                             initializer=exit_with_parent,
                                             initargs=(os.getpid(),))
        return self._pool

    def _reset(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None

    def warm(self, fn: Callable[[], object]) -> None:
        """Start the worker processes now, each running `fn` (imports, tables) unwaited."""
        try:
            executor = self._executor()
            for _ in range(self.workers):
                executor.submit(fn)
        except _broken_pool():  # a dead pool is replaced when the work is submitted
            self._reset()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def map_batches(
        self,
        fn: Callable[[list[E]], list[R]],
        batches: Iterable[list[E]],
        on_crash: Callable[[E], R],
    ) -> Iterator[list[R]]:
        """`fn(batch)` for each batch, in order, with a bounded number in flight."""
        window: list[tuple[list[E], Future[list[R]]]] = []
        for batch in batches:
            window.append((batch, self._submit(fn, batch)))
            if len(window) >= self.workers * 3:
                yield self._result(fn, *window.pop(0), on_crash)
        for batch, fut in window:
            yield self._result(fn, batch, fut, on_crash)

    def _submit(self, fn: Callable[[list[E]], list[R]], batch: list[E]) -> Future[list[R]]:
        try:
            return self._executor().submit(fn, batch)
        except _broken_pool():
            self._reset()
            return self._executor().submit(fn, batch)

    def _result(self, fn: Callable[[list[E]], list[R]], batch: list[E], fut: Future[list[R]],
                on_crash: Callable[[E], R]) -> list[R]:
        try:
            return fut.result()
        except _broken_pool():
            log.warning("a worker process died; retrying its batch of %d files", len(batch))
            self._reset()
        try:
            return self._executor().submit(fn, batch).result()
        except _broken_pool():
            self._reset()
            return [self._isolated(fn, item, on_crash) for item in batch]

    def _isolated(self, fn: Callable[[list[E]], list[R]], item: E,
                  on_crash: Callable[[E], R]) -> R:
        """Run one item in a process of its own; a crash there names the culprit."""
        try:
            return self._executor().submit(fn, [item]).result()[0]
        except _broken_pool():
            self._reset()
            result = on_crash(item)
            log.error("the parser crashed on %s; skipping it", getattr(item, "path", item))
            return result
