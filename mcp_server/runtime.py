"""Sessions of one served repository, sharing its live index.

The live index (`indexer.live.LiveIndex`) owns the index, its freshness and its background
work. `Runtime` is the protocol layer's side of it: the first session to acquire it opens
and starts the live index, the last to release it closes it, and it holds the process's
metrics. stdio and any number of HTTP sessions of one process share one runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from indexer.discover import WalkOptions
from indexer.live import LiveIndex, LiveOptions
from mcp_server.metrics import Metrics
from mcp_server.settings import Settings
from tools.redact import redact
from tools.summary import summarize_dir
from tools.warm import warm_reads

R = TypeVar("R")

WAIT_FRESH_S = 10.0  # how long `wait_fresh` waits for just-edited files to be indexed
# tools whose answers are the stored directory summaries: `wait_fresh` waits for their
# refresh too, which follows a batch's paths becoming searchable (`LiveIndex.unsummarized`)
SUMMARY_TOOLS: frozenset[Callable[..., object]] = frozenset({summarize_dir})


def live_options(settings: Settings) -> LiveOptions:
    return LiveOptions(
        walk=WalkOptions(max_file_bytes=settings.max_file_bytes,
                         index_secrets=settings.index_secrets),
        watch=settings.watch, embed=settings.embed, static=settings.static,
        model=settings.model,
        gpu_layers=settings.gpu_layers, debounce_ms=settings.debounce_ms, name=settings.repo,
        warm=warm_reads)


def read_tool(live: LiveIndex, fn: Callable[..., R], *args: object, wait_fresh: bool = False,
              fresh_paths: Iterable[str] | None = None, **kwargs: object) -> R:
    """One read tool call on `live`, as every server runs it (one repository, a workspace,
    a Ray shard): redacted; run again whole when DuckDB's memory was taken by other calls
    (reads on cursors of their own, as summarize_dir's, are not retried query by query);
    counted while it reads (the watcher's applier rests between batches only then,
    `indexer.live.readers`); and the live index settles once the calls stop
    (`indexer.live.quiet`)."""
    try:
        if wait_fresh:
            live.wait_fresh(fresh_paths, WAIT_FRESH_S, summaries=fn in SUMMARY_TOOLS)
        with live.readers.reading():
            return redact(live.store.retry_out_of_memory(
                lambda: fn(live, *args, **kwargs), fn.__name__))
    finally:
        live.note_read()


class Runtime:
    """`live`: a live index the caller owns (opened, started and closed by the caller, e.g.
    an eval harness that decides when the index changes); by default the runtime opens its
    own on the first acquire and closes it on the last release."""

    def __init__(self, settings: Settings, live: LiveIndex | None = None) -> None:
        self.settings = settings
        self.live: LiveIndex | None = live
        self._owned = live is None
        self.metrics = Metrics()
        self.sessions = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.ready = live.ready if live is not None else threading.Event()  # reconciled
        self.reindex_idle = threading.Event()  # cleared while a reindex tool call runs
        self.reindex_idle.set()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """`listener()` runs after every index update of this runtime's live index."""
        with self._lock:
            self._listeners.append(listener)
            if self.live is not None:
                self.live.add_listener(listener)

    def acquire(self) -> LiveIndex:
        with self._lock:
            if self.live is None:
                live = LiveIndex.open(self.settings.root, self.settings.index_dir,
                                      live_options(self.settings), self.ready)
                for listener in self._listeners:
                    live.add_listener(listener)
                self.live = live  # before start: its background work may set `ready` at once
                try:
                    live.start()
                except BaseException:
                    self.live = None
                    live.close()
                    raise
            self.sessions += 1
            return self.live

    def shutting_down(self) -> None:
        """A stop signal arrived: the owned live index starts no new work from now on (it is
        closed by the last release, after the sessions end). Safe from a signal handler."""
        live = self.live
        if live is not None and self._owned:
            live.request_stop()

    def release(self) -> None:
        with self._lock:
            self.sessions -= 1
            if self.sessions == 0 and self.live is not None and self._owned:
                live, self.live = self.live, None
                live.close()
