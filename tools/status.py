"""index_status: what is indexed, what was skipped and why, and how fresh it is."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from indexer.discover import FileEntry, walk
from indexer.live import LiveIndex
from indexer.store import GenerationCache, Store
from tools.models import IndexStatus, TierCoverage
from tools.ranking_weights import public_detail
from tools.search import repository_weights
from tools.vendored import vendored


def changed_since_indexed(ctx: LiveIndex) -> int:
    """Files whose size or mtime differ from the index, plus files added or deleted since,
    counted by a walk of the tree that started after the call (`_SharedWalk`)."""
    with _SHARED_LOCK:
        shared = _SHARED.get(ctx)
        if shared is None:
            shared = _SHARED[ctx] = _SharedWalk()
    return shared.count(lambda: _count_changed(ctx))


class _SharedWalk:
    """Calls that arrive while a walk runs share the next one.

    Why: a server that does not watch walks the whole tree for each `index_status` (moby:
    ~50 ms of Python holding the GIL); 50 clients made it about half of the server's samples
    (docs/benchmarks.md). A walk that started before a call might miss an edit made just
    before it, so no call takes one: the calls waiting behind a running walk share the walk
    that starts after it, which started after each of them arrived."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._started = 0  # walks started so far
        self._done = 0  # the number of the last walk that finished, and its count
        self._count = 0
        self._running = False

    def count(self, walk: Callable[[], int]) -> int:
        with self._cond:
            needed = self._started + 1  # the first walk to start after this call
            while self._done < needed:
                if not self._running:
                    self._running, self._started = True, self._started + 1
                    number = self._started
                    break
                self._cond.wait()
            else:
                return self._count
        try:
            result = walk()
        except BaseException:
            with self._cond:
                self._running = False
                self._cond.notify_all()  # a waiter starts its own
            raise
        with self._cond:
            self._running, self._done, self._count = False, number, result
            self._cond.notify_all()
        return result


_SHARED: weakref.WeakKeyDictionary[LiveIndex, _SharedWalk] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def _count_changed(ctx: LiveIndex) -> int:
    """A file reading skipped (binary, generated, ...) is not indexed, and is no change
    while its stat is the one it was read with."""
    store = ctx.index.store
    known = store.file_states()
    skipped = store.skipped_states()
    seen = 0
    changed = 0
    for item in walk(ctx.root, ctx.index_options.walk):  # the limits it was built with
        if not isinstance(item, FileEntry):
            continue
        state = known.get(item.path)
        if state is None:
            if skipped.get(item.path) != (item.size, item.mtime_ns):
                changed += 1
            continue
        seen += 1
        if state[0] != item.size or state[1] != item.mtime_ns:
            changed += 1
    return changed + len(known) - seen


def tier_coverage(ctx: LiveIndex, chunks: int | None = None) -> TierCoverage:
    """Both semantic tiers' counts, and the model tier's honest state (`chunks`: see
    `LiveIndex.coverage`)."""
    cov = ctx.coverage(chunks)
    return TierCoverage(chunks=cov.chunks, static=cov.static, model=cov.model,
                        model_state=ctx.model_state(cov))


@dataclass(frozen=True, slots=True)
class _Counts:
    files: int
    symbols: int
    chunks: int
    languages: dict[str, int]
    last_indexed_at: float | None


def _counts(store: Store, _key: object) -> _Counts:
    with store.snapshot() as cur:  # one generation's counts
        files, symbols, chunks, last = cur.execute(
            "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM symbols), "
            "(SELECT count(*) FROM chunks), (SELECT max(indexed_at) FROM files)").fetchall()[0]
        languages = dict(cur.execute(
            "SELECT coalesce(language, 'text'), count(*) FROM files GROUP BY 1 "
            "ORDER BY 2 DESC, 1").fetchall())
    return _Counts(files, symbols, chunks, languages, last)


# what the index holds changes only with its generation (3 queries a call before; the
# skipped paths are recorded without a new generation, so they are read on every call)
_COUNTS: GenerationCache[_Counts] = GenerationCache(_counts)


def index_status(ctx: LiveIndex) -> IndexStatus:
    store = ctx.index.store
    counts = _COUNTS.get(store)
    files, symbols, chunks = counts.files, counts.symbols, counts.chunks
    languages, last = dict(counts.languages), counts.last_indexed_at
    skipped = dict(store.query("SELECT reason, count(*) FROM skipped GROUP BY 1 ORDER BY 2 DESC, 1"))
    coverage = tier_coverage(ctx, chunks)  # the count read with the others
    rate = ctx.embedding.rate() if coverage.model_state == "running" else None
    eta = ctx.embedding.eta_s()
    deleted = ctx.lexical.deleted_docs()  # tantivy's meta.json, read once
    return IndexStatus(
        repo=ctx.name, root=str(ctx.root), index_dir=str(ctx.index.paths.dir),
        generation=store.generation,
        files=files, symbols=symbols, chunks=chunks, languages=languages, skipped=skipped,
        embedded_chunks=coverage.model,
        embedding_model=ctx.embedder.model_id if ctx.embedder is not None else None,
        embedding_state=coverage.model_state, static_chunks=coverage.static,
        static_model=ctx.static.model_id if ctx.static is not None else None,
        coverage=coverage, embedding_rate=None if rate is None else round(rate, 2),
        embedding_eta_s=None if eta is None else round(eta, 1), watching=ctx.watching,
        pending_files=len(ctx.pending_paths()), last_indexed_at=last,
        lexical_deleted_docs=deleted, lexical_compaction=ctx.compactor.state(deleted),
        changed_since_indexed=None if ctx.watching else changed_since_indexed(ctx),
        metrics=dict(ctx.metrics), vendored=vendored(store),
        ranking_weights=public_detail(repository_weights(ctx)),
        query_map=ctx.query_map.describe() if ctx.query_map is not None else {},
        history=ctx.history.describe() if ctx.history is not None else {})
