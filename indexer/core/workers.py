"""Worker processes for reading, parsing and chunking, with crash isolation.

Grammars are native code, and a hostile file can crash one (fuzzing found a tree-sitter-bash
input that segfaults it). Files are therefore processed in worker processes: when a worker
dies, the pool is replaced, the batch it held is retried once in the fresh pool, and if it
dies again its files are processed one per process, so the file that crashes the parser is
found, recorded as skipped (`parse_crash`) and never retried in a loop, while every other
file is indexed.

A `WorkerPool` is long-lived in the server (the watcher's updates reuse warm workers until
the live index settles: each worker holds 65-90 MB on moby, and a cold one costs a
one-file batch ~0.2 s); the CLI makes one per run. Once no pool is open and no child is
alive, `stop_resource_tracker` ends the process multiprocessing starts beside the first
pool (~12 MB, otherwise kept for the parent's life).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

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


_users_lock = threading.Lock()  # guards `_users` and the resource tracker's stop
_users = 0  # executors started and not shut down, and children running, in this process


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """Around a spawn-started child's life, from before its start to after its join: the
    resource tracker is not stopped meanwhile (the child holds the tracker's pipe, and a
    stop would wait for the child's end)."""
    global _users
    with _users_lock:
        _users += 1
    try:
        yield
    finally:
        with _users_lock:
            _users -= 1


def stop_resource_tracker() -> bool:
    """End multiprocessing's resource tracker, the process it starts beside the first pool or
    spawned child and keeps for the parent's life (~12 MB), once no pool of this module is
    open, no child is `spawning` and no child of multiprocessing is alive (the semaphores
    it tracks are then gone: stopped earlier, it would unlink live ones). The next pool or
    child starts it again. True if it was running and stopped."""
    tracker_module = sys.modules.get("multiprocessing.resource_tracker")
    tracker = getattr(tracker_module, "_resource_tracker", None)
    if tracker is None or getattr(tracker, "_fd", None) is None:
        return False
    import multiprocessing

    with _users_lock:
        if _users or multiprocessing.active_children():
            return False
        tracker._stop()
        return True


def _start_worker(parent: int) -> None:
    """A worker's first step: its stdout is its stderr (under stdio, the stdout a worker
    inherits is the MCP protocol's, and a grammar or library that printed there would
    break it), and it exits with its parent (`exit_with_parent`)."""
    try:
        os.dup2(2, 1)
    except OSError:  # no stderr to write to: nothing to protect stdout from
        pass
    exit_with_parent(parent)


class WorkerPool:
    """A restartable pool of spawn-started worker processes."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    @property
    def running(self) -> bool:
        """True while the pool's executor is started (its workers start as work comes)."""
        return self._pool is not None

    def _executor(self) -> ProcessPoolExecutor:
        global _users
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            with _users_lock:
                if self._pool is None:  # another thread may have started it meanwhile
                    self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                                     initializer=_start_worker,
                                                     initargs=(os.getpid(),))
                    _users += 1
        return self._pool

    def _shutdown(self, *, wait: bool) -> None:
        global _users
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
            with _users_lock:
                _users -= 1

    def _reset(self) -> None:
        self._shutdown(wait=False)

    def warm(self, fn: Callable[[], object]) -> None:
        """Start the worker processes now, each running `fn` (imports, tables) unwaited."""
        try:
            executor = self._executor()
            for _ in range(self.workers):
                executor.submit(fn)
        except _broken_pool():  # a dead pool is replaced when the work is submitted
            self._reset()

    def close(self) -> None:
        """Shut the workers down (waiting for them); the next work starts new ones."""
        self._shutdown(wait=True)

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """`fn(*args)` in a worker, waited for; a pool whose worker died is replaced and the
        call made once more (a second death raises concurrent.futures' BrokenProcessPool)."""
        try:
            return self._executor().submit(fn, *args).result()
        except _broken_pool():
            log.warning("a worker process died; calling %s again in a new one",
                        getattr(fn, "__name__", fn))
            self._reset()
        return self._executor().submit(fn, *args).result()

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
