"""One repository's index: its directory layout, the store and the derived indexes.

Layout (the format version is part of the path, so an incompatible Sextant never misreads
an index; it builds its own beside it):

    REPO/.sextant/            .gitignore containing `*`
    REPO/.sextant/v1/store.duckdb    metadata, the source of truth
    REPO/.sextant/v1/embeddings.duckdb  the embedding cache (kept when a damaged store is not)
    REPO/.sextant/v1/lexical/        tantivy BM25 index (+ lexical.json: generation)
    REPO/.sextant/v1/vectors.usearch usearch vectors (+ .json sidecar: generation, model)
    REPO/.sextant/v1/static.npz      the static tier's vectors (+ sidecar; static.model)
    REPO/.sextant/v1/server.json     the live server owning this index (pid, port), if any
    REPO/.sextant/v1/weights.json    fusion weights fitted by `sextant eval --fit`, if any

Another index directory (`--index-dir`, SEXTANT_INDEX_DIR) gets the same `.gitignore` only
when it is new, empty or already an index: a folder that holds anything else is not Sextant's
to hide from git. Inside the repository such a folder, or the root itself, is refused
(`IndexDirError`): the index would be indexed, or hide the user's files.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.lexical import LexicalDoc, LexicalIndex
from indexer.store import Store, StoreCorrupt, move_aside

if TYPE_CHECKING:  # usearch costs the indexing process ~15 MB; only embedding needs it
    import duckdb

    from indexer.core import WorkerPool
    from indexer.disk.static import StaticTier
    from indexer.embed import Embedder
    from indexer.vectors import VectorIndex

log = logging.getLogger(__name__)

FORMAT_VERSION = "v1"
# `compact_lexical(bounded=True)` (a read command's refresh) rebuilds only an index this
# small (moby's 38,534 chunks took 3.2-3.5 CPU s), or one with this share of its documents
# deleted; `sextant index` and a server compact whatever the size
COMPACT_ALWAYS_BELOW = 5_000
COMPACT_SHARE = 0.1
# A lexical rebuild of this many documents or more tokenizes and writes in a process of its
# own (`LexicalIndex.rebuild`'s `apart`): what it allocates would stay in a serving process's
# heap (moby, 39k chunks: 8-9 MB less after a run of edits, docs/benchmarks.md); a small
# one is not worth a process.
REBUILD_APART_FROM = 5_000


_IGNORE_ALL = "*\n"  # the index directory's .gitignore


class IndexDirError(ValueError):
    """An index directory that would mix the index with the repository's own files."""


@dataclass(frozen=True, slots=True)
class IndexPaths:
    root: Path
    base: Path  # the `.sextant` directory (or --index-dir)

    @classmethod
    def for_repo(cls, root: Path, index_dir: Path | None = None) -> IndexPaths:
        root = root.resolve()
        env = os.environ.get("SEXTANT_INDEX_DIR")
        base = index_dir or (Path(env) if env else root / ".sextant")
        return cls(root=root, base=base.resolve())

    @property
    def dir(self) -> Path:
        return self.base / FORMAT_VERSION

    @property
    def store(self) -> Path:
        return self.dir / "store.duckdb"

    @property
    def embeddings(self) -> Path:
        return self.dir / "embeddings.duckdb"

    @property
    def lexical(self) -> Path:
        return self.dir / "lexical"

    @property
    def vectors(self) -> Path:
        return self.dir / "vectors.usearch"

    @property
    def static_vectors(self) -> Path:
        return self.dir / "static.npz"

    @property
    def server_file(self) -> Path:
        return self.dir / "server.json"

    def exists(self) -> bool:
        return self.store.exists()

    def check(self) -> None:
        """Raise IndexDirError for the repository root, or a folder inside the repository
        that holds files other than an index."""
        if self.base == self.root:
            what = "is the repository itself"
        elif (self.base != self.root / ".sextant" and self.base.is_relative_to(self.root)
              and not _holds_only_an_index(self.base)):  # the default is always the index's
            what = "is a folder of the repository with other files in it"
        else:
            return
        raise IndexDirError(
            f"the index directory {self.base} {what}: give --index-dir (or SEXTANT_INDEX_DIR) "
            f"a new or empty folder, or leave it out (the default is {self.root / '.sextant'})")

    def ensure(self) -> None:
        """Create the index directory; one that holds nothing else ignores itself."""
        self.check()
        own = _holds_only_an_index(self.base)  # before this writes into it
        self.dir.mkdir(parents=True, exist_ok=True)
        ignore = self.base / ".gitignore"
        if own and not ignore.exists():
            ignore.write_text(_IGNORE_ALL)


def _holds_only_an_index(base: Path) -> bool:
    """`base` is absent or empty, or already an index directory (its `.gitignore`, or the
    index format's folder)."""
    try:
        if next(base.iterdir(), None) is None:
            return True
    except FileNotFoundError:
        return True
    except OSError:  # not a directory, not readable: creating the index fails on its own
        return False
    ignore = base / ".gitignore"
    try:
        if ignore.is_file() and ignore.read_text(errors="replace") == _IGNORE_ALL:
            return True
    except OSError:
        pass
    # a store, or the format's folder left by a crash between creating it and the store
    return (base / FORMAT_VERSION).is_dir()


class RepoIndex:
    """Store + lexical index of one repository, opened for writing by this process."""

    def __init__(self, paths: IndexPaths) -> None:
        self.paths = paths
        paths.ensure()
        self.store = _open_store(paths)
        self.lexical = LexicalIndex(paths.lexical)
        self.vectors: VectorIndex | None = None  # attached once an embedder is known
        self.static: StaticTier | None = None  # the static tier, when attached
        self.workers: WorkerPool | None = None  # parse workers; the server keeps one warm
        self.sync_lexical()

    @classmethod
    def open(cls, root: Path, index_dir: Path | None = None) -> RepoIndex:
        return cls(IndexPaths.for_repo(root, index_dir))

    @property
    def root(self) -> Path:
        return self.paths.root

    def sync_lexical(self) -> bool:
        """Rebuild the lexical index from the store when it is not at the store's generation
        (a crash between a store commit and the lexical commit), or when it holds another
        number of documents than the store has chunks (every commit makes them equal): its
        files were damaged, e.g. tantivy opens a directory that lost `meta.json` as a new,
        empty index under the old stamp. True if it was rebuilt."""
        generation = self.store.generation
        if self.lexical.generation == generation:
            docs, chunks = self.lexical.num_docs(), self.store.count_chunks()
            if docs == chunks:
                return False
            log.warning("lexical index holds %d documents, the store %d chunks; rebuilding it",
                        docs, chunks)
        elif generation > 0:
            log.warning("lexical index is at generation %s, the store at %s; rebuilding it",
                        self.lexical.generation, generation)
        return self.rebuild_lexical()

    def repair_lexical(self, error: BaseException,
                       should_stop: Callable[[], bool] | None = None) -> bool:
        """Rebuild the lexical index, which a read found damaged (`LexicalCorrupt`), from
        the store; marked stale first, so that the next open rebuilds it should this stop
        first. The caller keeps writers out (the rebuild is then current when it is done).
        True if it was rebuilt."""
        from indexer.lexical import mark_stale

        log.warning("%s; rebuilding it from the store", error)
        mark_stale(self.paths.lexical)
        return self.rebuild_lexical(should_stop)

    def rebuild_lexical(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """Write the lexical index afresh from the store's chunks and swap it in, if the store
        is still at the generation read when the swap comes (else False: the new index is
        discarded). Ranks exactly as a fresh build: no deleted document left in its
        statistics. The current index serves meanwhile; a crash keeps one of the two."""
        with _chunk_snapshot(self.store) as (generation, docs):
            def current() -> bool:
                return self.store.generation == generation

            def stale() -> bool:  # a write made the new index out of date: give up early
                return not current() or (should_stop is not None and should_stop())

            apart = self.store.count_chunks() >= REBUILD_APART_FROM  # what it will write
            return self.lexical.rebuild(docs, generation, swap_if=current, should_stop=stale,
                                        apart=apart)

    def compact_lexical(self, should_stop: Callable[[], bool] | None = None, *,
                        bounded: bool = False) -> bool:
        """Rebuild the lexical index when it holds deleted documents (`rebuild_lexical`);
        with `bounded`, only when that is cheap or they are many (`COMPACT_ALWAYS_BELOW`,
        `COMPACT_SHARE`). True if it did."""
        deleted = self.lexical.deleted_docs()
        if not deleted:
            return False
        live = self.lexical.num_docs()
        if bounded and live > COMPACT_ALWAYS_BELOW and deleted < COMPACT_SHARE * live:
            return False
        started = time.perf_counter()
        done = self.rebuild_lexical(should_stop)
        log.info("lexical compaction (%d deleted documents) %s in %.2f s", deleted,
                 "done" if done else "abandoned", time.perf_counter() - started)
        return done

    def attach_static(self, embedder: Embedder) -> StaticTier:
        """Open the static tier's vectors for `embedder` (in line with the store); from now
        on every write of the pipeline gives new chunks their static vectors too."""
        from indexer.disk.static import StaticTier

        self.static = StaticTier.open(self.paths.static_vectors, embedder, self.store)
        return self.static

    def save_static(self) -> None:
        """Persist the static vectors when they changed (at the store's generation)."""
        if self.static is not None and (self.static.dirty or
                                        self.static.vectors.generation != self.store.generation):
            self.static.save(self.store.generation)

    def close(self) -> None:
        try:
            self.save_static()
        except OSError:  # derived and checked on open: a failed save costs a re-embed
            log.exception("saving the static vectors failed")
        if self.workers is not None:
            self.workers.close()
        self.lexical.close()
        self.store.close()

    def __enter__(self) -> RepoIndex:  # noqa: PYI034 - final in practice
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _chunk_snapshot(store: Store) -> Iterator[tuple[int, Iterator[LexicalDoc]]]:
    """(generation, every chunk as a lexical document) read in one transaction of a cursor
    of its own: writes committed meanwhile are not seen, so the two agree."""
    with store.reading() as shared:
        cur = shared.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            row = cur.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
            generation = int(row[0]) if row is not None else 0
            yield generation, _lexical_docs(cur)
            cur.execute("COMMIT")
        finally:
            cur.close()


def _lexical_docs(cur: duckdb.DuckDBPyConnection) -> Iterator[LexicalDoc]:
    cur.execute("SELECT c.chunk_id, f.path, f.language, c.symbol, c.header, c.text "
                "FROM chunks c JOIN files f USING (file_id) ORDER BY c.chunk_id")
    while rows := cur.fetchmany(2048):
        for cid, path, language, symbol, header, text in rows:
            yield LexicalDoc(chunk_id=cid, path=path, language=language or "text",
                             name=symbol or "", header=header, body=text)


def _open_store(paths: IndexPaths) -> Store:
    """Open the store; a damaged one is moved aside (logged) and a fresh one created.

    The derived indexes go with it: their generations and chunk ids refer to the old
    store, and a new store counting from 0 could reach the same generation. So they go
    too when the store is missing (deleted) beside them. The embedding cache, a file of
    its own keyed by model and text, stays."""
    if not paths.store.exists() and _derived(paths):
        log.warning("index store %s is missing; removing the indexes made from the old one "
                    "and rebuilding", paths.store)
        _remove_derived(paths)
    try:
        return Store(paths.store, cache_path=paths.embeddings)
    except StoreCorrupt as exc:
        set_aside_damaged(paths, exc)
        return Store(paths.store, cache_path=paths.embeddings)


def set_aside_damaged(paths: IndexPaths, error: BaseException) -> Path:
    """Move a damaged store (closed) aside with its derived indexes removed, so that the
    next open starts empty and rebuilds; the embedding cache stays. Returns where it went."""
    aside = move_aside(paths.store)
    log.error("index store %s cannot be read (%s); moved it to %s and rebuilding",
              paths.store, error, aside)
    _remove_derived(paths)
    return aside


def _derived(paths: IndexPaths) -> list[Path]:
    """The files and directories of the indexes derived from the store (not the cache)."""
    found = list(paths.dir.glob(paths.lexical.name + "*"))  # with a rebuild's siblings
    for vectors in (paths.vectors, paths.static_vectors):
        found += [*paths.dir.glob(vectors.name + "*"), vectors.with_suffix(".model")]
    return [path for path in found if path.exists()]


def _remove_derived(paths: IndexPaths) -> None:
    for path in _derived(paths):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
