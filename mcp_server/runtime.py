"""The long-lived resources of one served repository and their background work.

`Runtime` owns the index (store + lexical), the vector index, the embedder and one
background thread that reconciles the index with the working tree on start, embeds what
is missing, then follows file changes (watcher). Tools read through `Runtime.ctx` from
worker threads at any time: search works from the first second, on whatever is indexed.

The runtime is shared by every MCP session of the process (stdio, or many HTTP clients):
sessions acquire it and the last release stops it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from indexer.pipeline import (
    IndexOptions,
    IndexStats,
    ProgressFn,
    StopFn,
    index_repository,
    saved_walk_options,
)
from indexer.repo_index import RepoIndex
from indexer.walk import WalkOptions
from indexer.workers import WorkerPool
from mcp_server.metrics import Metrics
from mcp_server.settings import Settings
from tools.context import EmbeddingState, ToolContext

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._users = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch_thread: threading.Thread | None = None
        self.ctx: ToolContext | None = None
        self._options: IndexOptions | None = None  # settled once the index is open
        self.ready = threading.Event()  # set after the first reconcile
        self.changed_listeners: list[Callable[[], None]] = []  # run after each index update
        # Held by whoever writes the index (reconcile, reindex tool, watcher batches), so
        # writers take turns; readers (tools) never take it.
        self.index_lock = threading.RLock()
        self.metrics = Metrics()
        self.reindex_idle = threading.Event()  # cleared while a reindex tool call runs
        self.reindex_idle.set()

    @property
    def options(self) -> IndexOptions:
        """The flags given to this server, else what the index was last built with (a
        `sextant index --index-secrets --max-file-bytes N` stays as it was built)."""
        if self._options is None:
            if self.ctx is None:
                return IndexOptions(walk=self._flags())
            saved = saved_walk_options(self.ctx.index)
            flags = self._flags()
            self._options = IndexOptions(walk=replace(
                flags, index_secrets=flags.index_secrets or saved.index_secrets,
                max_file_bytes=(saved.max_file_bytes if flags.max_file_bytes ==
                                WalkOptions().max_file_bytes else flags.max_file_bytes)))
        return self._options

    def _flags(self) -> WalkOptions:
        return WalkOptions(max_file_bytes=self.settings.max_file_bytes,
                           index_secrets=self.settings.index_secrets)

    def acquire(self) -> ToolContext:
        with self._lock:
            if self._users == 0:
                self._start()
            self._users += 1
            assert self.ctx is not None
            return self.ctx

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._shutdown()

    # -- start / stop ----------------------------------------------------------------------

    def _start(self) -> None:
        index = RepoIndex.open(self.settings.root, self.settings.index_dir)
        index.workers = WorkerPool()  # a grammar crash kills a worker, never the server
        self.ctx = ToolContext(index=index, embedding=EmbeddingState())
        self._stop.clear()
        self._watch_thread = None
        if self.settings.watch:  # listen before reconciling, so no edit falls in between
            self._watch_thread = threading.Thread(target=self._watch, args=(self.ctx,),
                                                  name="sextant-watch", daemon=True)
            self._watch_thread.start()
        self._thread = threading.Thread(target=self._background, name="sextant-index",
                                        daemon=True)
        self._thread.start()

    def _shutdown(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._watch_thread):
            if thread is not None:
                thread.join(timeout=30)
        if self.ctx is not None:
            if self.ctx.vectors is not None:
                self.ctx.vectors.save(self.ctx.index.store.generation)
            self.ctx.index.close()
        self.ctx = None
        self.ready.clear()

    # -- background work -------------------------------------------------------------------

    def _background(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        from indexer.tokens import encoding

        encoding()  # load the BPE table now, not on the first tool call (~0.5 s)
        try:
            with self.index_lock:
                stats = index_repository(ctx.index, self.options)
            log.info("index reconciled: %s", stats.as_dict())
        except Exception:  # top level of a thread: log, keep serving
            log.exception("reconciling the index failed; serving what is indexed")
        self.ready.set()
        self._warm(ctx)
        self.notify_changed()
        if self.settings.embed and not self._stop.is_set():
            self._embed(ctx)

    def _warm(self, ctx: ToolContext) -> None:
        """Load the graph's in-memory tables now, not on the first tool call (~0.5 s on a
        repository of 3k files)."""
        try:
            from indexer.graph_tables import graph_tables

            graph_tables(ctx.index.store)
        except Exception:  # an optimisation: the tools load them on demand
            log.exception("preloading the graph tables failed")

    def _embed(self, ctx: ToolContext) -> None:
        try:
            from indexer.embedding import attach_embeddings, embed_pending

            attach_embeddings(ctx, self.settings.model, self.settings.gpu_layers)
            embed_pending(ctx, self._stop)
        except Exception as exc:
            log.exception("embedding failed; search continues lexically")
            ctx.embedding.state = "failed"
            ctx.embedding.error = str(exc)

    def _watch(self, ctx: ToolContext) -> None:
        try:
            from indexer.watcher import watch_repository

            ctx.watching = True
            watch_repository(self, ctx, self._stop)
        except Exception:  # top level of a thread
            log.exception("the file watcher stopped; the index will not follow edits")
        finally:
            ctx.watching = False

    def reindex(self, progress: ProgressFn | None = None,
                should_stop: StopFn | None = None) -> IndexStats:
        """Bring the index in line with the working tree now (the `reindex` tool).

        Runs in the caller's thread, taking turns with other writers; raises
        `indexer.pipeline.IndexingStopped` when `should_stop` turns true between batches."""
        ctx = self.ctx
        if ctx is None:
            raise RuntimeError("the runtime is not started")
        try:
            with self.index_lock:
                stats = index_repository(ctx.index, self.options, progress, should_stop)
        finally:
            self.notify_changed()
        if ctx.embedder is not None and ctx.vectors is not None:
            self._embed_new(ctx, should_stop)
        return stats

    def _embed_new(self, ctx: ToolContext, should_stop: StopFn | None) -> None:
        from indexer.embedding import embed_pending

        # A running background pass embeds from its own list; leave new chunks to the next.
        if ctx.embedding.state == "running" or self._stop.is_set():
            return
        if should_stop is None or not should_stop():
            embed_pending(ctx, self._stop)

    def notify_changed(self) -> None:
        for listener in list(self.changed_listeners):
            try:
                listener()
            except Exception:  # a listener must not break indexing
                log.exception("index-changed listener failed")


def repo_root(path: str | None) -> Path:
    return Path(path or ".").resolve()
