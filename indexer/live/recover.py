"""Run-time recovery of a damaged store: a query failed on a block the check on open did
not read (`indexer.store.integrity`). The store is closed, moved aside with its derived
indexes removed, reopened empty and rebuilt from the working tree; the vectors come back
from the embedding cache, which lives in its own file. Answers say `fresh: false` until the
rebuild is done (the caller marks a reconcile pending first); tool calls meanwhile may fail
(the old connection is closed under them).

A damaged lexical index (a search failed in tantivy: `LexicalCorrupt`) is rebuilt from the
store, which is whole; lexical searches fail until the new one is swapped in.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from indexer.build import IndexOptions, index_repository
from indexer.disk import RepoIndex, set_aside_damaged
from indexer.live.pending import PendingPaths

if TYPE_CHECKING:
    from indexer.embed import Embedder
    from indexer.vectors import VectorIndex

log = logging.getLogger(__name__)


class Rebuilt(Protocol):
    """What a rebuild needs of a live index (`indexer.live.LiveIndex` provides it)."""

    index: RepoIndex
    pending: PendingPaths
    write_lock: threading.RLock
    vectors: VectorIndex | None
    embedder: Embedder | None

    @property
    def index_options(self) -> IndexOptions: ...

    @property
    def stopping(self) -> bool: ...

    def notify_changed(self) -> None: ...

    def embed_missing(self, paths: list[str] | None = None) -> int: ...


def rebuild_damaged(live: Rebuilt, error: BaseException) -> None:
    """Replace `live`'s damaged store by a rebuilt one (runs in its own thread)."""
    with live.write_lock:
        old = live.index
        workers, old.workers = old.workers, None
        old.close()
        set_aside_damaged(old.paths, error)
        fresh = RepoIndex(old.paths)
        fresh.workers = workers
        live.index, live.vectors = fresh, None
        stats = index_repository(fresh, live.index_options, should_stop=lambda: live.stopping)
    log.info("damaged store rebuilt: %s", stats.as_dict())
    batch = live.pending.take(timeout=0)
    if batch is not None:
        live.pending.done(batch)
    live.notify_changed()
    if live.embedder is not None and not live.stopping:
        from indexer.live.embedding import open_vectors

        vectors = open_vectors(fresh, live.embedder, lambda: live.stopping)
        if not live.stopping:
            live.vectors = vectors
            live.embed_missing()


def repair_lexical(live: Rebuilt, error: BaseException) -> None:
    """Rebuild `live`'s damaged lexical index from the store (runs in its own thread;
    writers wait for it, so that the new index is current when it is swapped in)."""
    with live.write_lock:
        live.index.repair_lexical(error, lambda: live.stopping)
