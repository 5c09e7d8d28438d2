"""DuckDB metadata store: the source of truth for files, symbols, references, imports, chunks
and the embedding cache.

One process writes (the indexer or the server that owns the index); readers in that process
use one cursor per thread (`Store.reader()`, inside `Store.reading()`: a server recycles the
connection when it settles, never under a read). Every committed write bumps the store
*generation*; derived indexes (lexical, vectors) record the generation they reflect and are
replayed or rebuilt when behind.

Bulk writes go through columns DuckDB scans directly (`INSERT ... SELECT * FROM batch`, the
batch a dict of NumPy arrays), never row-by-row `executemany`, and in chunked transactions:
one transaction per batch of files, so a batch is atomic per file set and a crash loses at
most the batch in flight. NumPy, not pyarrow: pyarrow's import alone added ~37 MB to the
indexing process's resident memory. NumPy itself is imported on the first write, not with the
store: a read-only CLI query never needs it (70 ms of its start).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from indexer.core import RWLock, duckdb
from indexer.parse import FileRecord
from indexer.store.integrity import (
    attach_cache,
    check_marker,
    looks_damaged,
    verify_tables,
    write_marker,
)
from indexer.store.texts import RecentTexts

if TYPE_CHECKING:
    import numpy as np

__all__ = ["FileRecord", "Store", "StoreCorrupt", "StoreError"]

log = logging.getLogger(__name__)

# 2: refs.qualifier (what a call site says before the name). A store of an older schema
# this one migrates (`_MIGRATIONS`) is brought up to date when opened for writing; the
# extraction rules' version moved with it, so every file is read again once and its
# references get what the new columns hold (`indexer.build.pipeline.EXTRACTION_RULES`).
# 3: symbols.returns (the type a function says it returns).
SCHEMA_VERSION = 3
MEMORY_LIMIT = "128MB"  # 32 MB ran out of memory on graph queries
# While a long build writes batch after batch: a smaller buffer pool and one thread keep the
# indexing process's peak resident memory down (moby: ~290 -> ~230 MB with the heap trim in
# indexer.build.pipeline); inserts need neither (evals/bench_index.py).
BULK_MEMORY_LIMIT = "64MB"
# the limit set for a moment to make DuckDB drop the pages it cached (`Store.release_pages`)
RELEASE_MEMORY_LIMIT = "2MB"
# DuckDB's allocator (jemalloc) keeps the pages a large query freed (sorting every chunk's
# text for a lexical compaction, the in-memory tables' reloads) until it allocates again;
# its background threads give them back to the system within seconds (moby, in one
# process: two compactions left the anonymous memory 117 MB above its start without them,
# 31-80 MB with them; docs/benchmarks.md "Serving memory").
RETURN_FREED_MEMORY = {"allocator_background_threads": True}
BULK_THREADS = 1
_THREADS = 2
_T = TypeVar("_T")
# pauses before the retries of a read that ran out of DuckDB memory (`Store.query`)
_MEMORY_RETRY_PAUSES = (0.05, 0.3, 1.5)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS file_ids START 1;
CREATE SEQUENCE IF NOT EXISTS chunk_ids START 1;
CREATE TABLE IF NOT EXISTS files (
    file_id BIGINT PRIMARY KEY, path VARCHAR UNIQUE NOT NULL, language VARCHAR,
    size BIGINT, mtime_ns BIGINT, content_hash VARCHAR, lines INTEGER,
    generation BIGINT, parse_error VARCHAR, indexed_at DOUBLE);
-- a file skipped for its content (binary, generated, ...) keeps the stat it was read with
CREATE TABLE IF NOT EXISTS skipped (path VARCHAR PRIMARY KEY, reason VARCHAR, detail VARCHAR);
ALTER TABLE skipped ADD COLUMN IF NOT EXISTS size BIGINT;
ALTER TABLE skipped ADD COLUMN IF NOT EXISTS mtime_ns BIGINT;
CREATE TABLE IF NOT EXISTS symbols (
    file_id BIGINT, name VARCHAR, qualname VARCHAR, kind VARCHAR, signature VARCHAR,
    doc VARCHAR, parent VARCHAR, start_line INTEGER, end_line INTEGER,
    start_byte BIGINT, end_byte BIGINT, bases VARCHAR[], returns VARCHAR);
CREATE TABLE IF NOT EXISTS refs (
    file_id BIGINT, name VARCHAR, kind VARCHAR, line INTEGER, start_byte BIGINT, scope VARCHAR,
    qualifier VARCHAR);
CREATE TABLE IF NOT EXISTS imports (
    file_id BIGINT, module VARCHAR, line INTEGER, names VARCHAR[], level INTEGER);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id BIGINT PRIMARY KEY, file_id BIGINT, start_line INTEGER, end_line INTEGER,
    start_byte BIGINT, end_byte BIGINT, symbol VARCHAR, kind VARCHAR, header VARCHAR,
    text VARCHAR, tokens INTEGER, text_hash VARCHAR);
-- the code graph (indexer.graph), rebuilt with every index update
CREATE TABLE IF NOT EXISTS file_edges (
    src_path VARCHAR, dst_path VARCHAR, dst_kind VARCHAR, module VARCHAR, line INTEGER);
CREATE TABLE IF NOT EXISTS graph_files (file_id BIGINT, path VARCHAR);
CREATE TABLE IF NOT EXISTS file_rank (path VARCHAR, rank DOUBLE, importers INTEGER);
-- directory summaries (indexer.summaries), keyed by subtree hash
CREATE TABLE IF NOT EXISTS dir_summaries (
    path VARCHAR, subtree_hash VARCHAR, summary VARCHAR, llm_summary VARCHAR, built_at DOUBLE,
    PRIMARY KEY (path, subtree_hash));
"""
# The embedding cache lives in its own database file, attached to the store's connection as
# `cache` (indexer.store.integrity): a damaged store is moved aside and rebuilt, and takes no
# vectors along (they cost hours of CPU on a large repository; the rest is re-derived in
# minutes).
CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache.embeddings (
    model_id VARCHAR, text_hash VARCHAR, vector BLOB, PRIMARY KEY (model_id, text_hash));
"""

# a skipped path: (path, reason, detail, size, mtime_ns); the stat only where the file was
# read (a walk's skip is decided by the path and its stat alone, and made again each walk)
SkipRow = tuple[str, str, str, int | None, int | None]

# schema version -> the statements that bring a store of that version to the next one
_MIGRATIONS = {1: "ALTER TABLE refs ADD COLUMN IF NOT EXISTS qualifier VARCHAR",
               2: "ALTER TABLE symbols ADD COLUMN IF NOT EXISTS returns VARCHAR"}
_FILE_TABLES = ("symbols", "refs", "imports", "chunks")
CHUNK_TEXT_CHARS = 1 << 20  # characters of chunk texts a store keeps for `chunk_texts`
# meta: the generation that last wrote the code graph's edges and rank (`indexer.graph.build`);
# readers keep what they read of them while it stays (graph and search tables)
EDGES_GENERATION = "edges_generation"


def readable_schema(version: str | None) -> bool:
    """Whether a store of schema `version` opens here: this version, or one it migrates."""
    return version is not None and version.isdigit() and (
        int(version) == SCHEMA_VERSION or int(version) in _MIGRATIONS)


class StoreError(Exception):
    """The store cannot be opened or written; the message says what to do."""


class StoreCorrupt(StoreError):
    """The database file is damaged (not locked by another process): rebuild it."""


@contextmanager
def atomic(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction on `con`: committed when the block ends, rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class Store:
    """The DuckDB database of one index directory."""

    def __init__(self, path: Path, *, read_only: bool = False,
                 cache_path: Path | None = None) -> None:
        self.path = path
        self.cache_path = cache_path or path.with_name(path.stem + "-embeddings.duckdb")
        self.read_only = read_only
        clean = read_only or check_marker(path)  # before DuckDB touches the file
        self._con = self._connect()
        self._write_lock = threading.RLock()
        self._gate = RWLock()  # reads in flight against the connection's recycling
        self._epoch = 0  # connections opened since this one (`recycle`)
        self._closed = False  # by `close`: not opened again
        # queries retried after running out of memory, one at a time (reentrant: a tool call
        # retried whole may retry a query of its own inside)
        self._memory_retry = threading.RLock()
        self._local = threading.local()
        # meta values read back from DuckDB (~0.5 ms a query; search reads the generation
        # on every call). Every meta write goes through this object (DuckDB admits one
        # writer), which clears the cache and bumps the epoch, so a read that raced a write
        # is never kept.
        self._meta_cache: dict[str, str | None] = {}
        self._meta_epoch = 0
        self._meta_lock = threading.Lock()
        self._loads_promised = 0  # writers that will load the in-memory tables themselves
        self._texts = RecentTexts(CHUNK_TEXT_CHARS)  # `chunk_texts`
        if not read_only:
            try:
                self._con.execute(_SCHEMA)
                self._init_meta()
                if not clean:
                    verify_tables(self._con, "main")
            except duckdb.Error as exc:  # a damaged file often opens, then fails on first read
                self._con.close()  # else DuckDB's per-path instance cache keeps serving it
                raise StoreCorrupt(f"index database {path} is not readable: {exc}") from exc
        try:
            attach_cache(self._con, self.cache_path, CACHE_SCHEMA, read_only=read_only)
            if not read_only:
                self._migrate_cache()
        except BaseException:
            self._con.close()
            raise

    def _migrate_cache(self) -> None:
        """Move the vectors of a store that kept them in its own `embeddings` table (before
        the separate cache file) into the cache; idempotent if interrupted."""
        # fetchall, not fetchone: a half-read result blocks the next statement on `_con`
        rows = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'embeddings'").fetchall()
        if not rows[0][0]:
            return
        try:
            self._con.execute("INSERT OR IGNORE INTO cache.embeddings "
                              "SELECT * FROM main.embeddings")
        except duckdb.Error as exc:
            self._con.close()
            raise StoreCorrupt(f"index database {self.path} is not readable: {exc}") from exc
        moved = self._con.execute("SELECT count(*) FROM cache.embeddings").fetchall()[0][0]
        log.info("moved the embedding cache (%s vectors) into %s", moved, self.cache_path)
        self._con.execute("DROP TABLE main.embeddings")

    # -- lifecycle -------------------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        path = self.path
        try:
            # Bounded memory: DuckDB would otherwise cache up to 80% of RAM.
            return duckdb.connect(str(path), read_only=self.read_only, config={
                "memory_limit": MEMORY_LIMIT, "threads": _THREADS,
                "preserve_insertion_order": False, **RETURN_FREED_MEMORY})
        except duckdb.Error as exc:  # damage in the first blocks fails the connect itself
            if not isinstance(exc, duckdb.IOException) and not looks_damaged(exc):
                raise
            if looks_damaged(exc) or not re.search(r"\block", str(exc).lower()):
                raise StoreCorrupt(f"index database {path} is not readable: {exc}") from exc
            raise StoreError(
                f"cannot open index database {path}: {exc}. If another Sextant process owns this "
                "index, stop it or talk to it (`sextant status` shows the owner)."
            ) from exc

    def recycle(self) -> bool:
        """Close DuckDB's connection and open it again, if no read is in (False, and nothing
        done, otherwise): the database then lets go of what its reads and writes built up
        that lowering its memory limit (`release_pages`) does not give back (moby, one
        process, 20 batches of 5 edits: the handles of every block read, -4 to -5 MB). A
        server does it when it settles. Every thread's cursor is replaced on its next read;
        reads that start meanwhile wait for it (25 ms on moby); writers wait on the lock."""
        if self.read_only:
            return False
        with self._write_lock, self._gate.write_if_free() as free:
            if self._closed or not free:
                return False
            self._con.close()  # and every cursor made from it
            self._reconnect()
            if self._closed:  # `close` came while it opened (a server stopping past its join)
                self._con.close()
        return True

    def _reconnect(self) -> None:
        """Open the connection `recycle` closed (the file is this process's own: a failure
        here is a disk's; tried three times before it is raised)."""
        for pause in (0.05, 0.5, None):
            con = None
            try:
                con = self._connect()
                attach_cache(con, self.cache_path, CACHE_SCHEMA, read_only=False)
            except (duckdb.Error, StoreError, OSError):
                if con is not None:
                    con.close()
                if pause is None:
                    raise
                log.warning("opening the index database again failed; retrying", exc_info=True)
                time.sleep(pause)
            else:
                self._con = con
                self._epoch += 1
                return

    def _init_meta(self) -> None:
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
            self.set_meta("generation", "0")
            return
        if not readable_schema(version):
            raise StoreError(
                f"index schema {version} is not {SCHEMA_VERSION}; delete {self.path.parent} "
                "and re-run `sextant index`"
            )
        for step in range(int(version), SCHEMA_VERSION):
            with atomic(self._con) as con:
                con.execute(_MIGRATIONS[step])
                con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                            [str(step + 1)])
            self._meta_changed()
            log.info("index schema %s migrated to %s", step, step + 1)

    def close(self) -> None:
        self._closed = True
        self._con.close()
        if not self.read_only:
            write_marker(self.path)
            write_marker(self.cache_path)

    def checkpoint(self) -> None:
        """Fold the write-ahead logs into the database files, the store's and the attached
        embedding cache's (a copy of the files is then whole)."""
        with self._write_lock:
            names = [r[0] for r in self._con.execute(
                "SELECT database_name FROM duckdb_databases() WHERE NOT internal").fetchall()]
            for name in names:
                self._con.execute(f'CHECKPOINT "{name}"')

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB cursors are not shared across threads).
        Use it inside `reading()`, or under the write lock, where the connection is not
        recycled under it."""
        local = self._local
        cur = getattr(local, "cursor", None)
        if cur is None or local.epoch != self._epoch:
            cur = self._con.cursor()
            local.cursor, local.epoch = cur, self._epoch
        return cur

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The calling thread's cursor (`reader`) for the reads of this block: the
        connection is not recycled while one is in (`recycle`)."""
        with self._gate.read():
            yield self.reader()

    def _fetch_all(self, sql: str, params: Sequence[Any] | None) -> list[tuple[Any, ...]]:
        with self.reading() as cur:
            return cur.execute(sql, params or []).fetchall()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """All rows of `sql`. A query that finds DuckDB's memory limit taken by the queries
        of other threads (50 HTTP clients on moby: a `get_symbol` scan beside seven other
        tool calls and a watcher batch) is tried again, one such retry at a time, after a
        pause that lets the others finish, rather than failing the call."""
        return self.retry_out_of_memory(lambda: self._fetch_all(sql, params), sql)

    def retry_out_of_memory(self, run: Callable[[], _T], what: str) -> _T:
        """`run()`, tried again after DuckDB's out-of-memory error (see `query`): a query,
        or a whole read-only tool call whose queries run on cursors of their own (`what`
        names it in the log)."""
        pauses = iter(_MEMORY_RETRY_PAUSES)
        retry: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()  # 1st: beside the others
        while True:
            try:
                with retry:
                    return run()
            except duckdb.OutOfMemoryException:
                pause = next(pauses, None)
                if pause is None:
                    raise
                log.debug("out of DuckDB memory; retrying alone: %s", what[:80])
                time.sleep(pause)
                retry = self._memory_retry

    def stream(self, sql: str, params: Sequence[Any] | None = None,
               batch: int = 8192) -> Iterator[tuple[Any, ...]]:
        """The rows of `sql`, `batch` at a time: a large result is never all Python objects
        at once (the in-memory tables keep a fraction of what they read; loading them from
        one `fetchall` left the freed rows as holes in the heap). Read it to the end: a
        half-read result holds this thread's cursor. Its own cursor, so a query run while
        it is read does not cut it short."""
        with self._gate.read():
            cur = self._con.cursor()
            try:  # out of memory before the first row (another thread's query, a release
                # of the store's pages): tried again as `query` does
                self.retry_out_of_memory(lambda: cur.execute(sql, params or []), sql)
                while rows := cur.fetchmany(batch):
                    yield from rows
            finally:
                cur.close()

    @contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own in a read transaction: the queries run on it all see the same
        generation, whatever is written meanwhile (tables read in several queries whose
        rows refer to each other by position)."""
        with self._gate.read():
            cur = self._con.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
            except BaseException:
                cur.close()
                raise
            try:
                yield cur
            finally:
                try:
                    cur.execute("ROLLBACK")
                finally:
                    cur.close()

    def query_one(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        # fetchall, not fetchone: a half-read result would block register() on this cursor
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction; commits and bumps the generation on success. The body
        writes no meta row (`set_meta` does, on its own)."""
        committed: str | None = None
        try:
            with self._write_lock, atomic(self._con) as con:
                yield con
                bumped = str(generation_of(con) + 1)
                con.execute("UPDATE meta SET value=? WHERE key='generation'", [bumped])
            committed = bumped
        finally:
            self._meta_changed(None if committed is None else {"generation": committed})

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Lower DuckDB's memory limit and threads for a run of large writes; restored after."""
        with self._write_lock:
            self._con.execute(f"SET memory_limit='{BULK_MEMORY_LIMIT}'")
            self._con.execute(f"SET threads={BULK_THREADS}")
        try:
            yield
        finally:
            with self._write_lock:
                self._con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")
                self._con.execute(f"SET threads={_THREADS}")

    @contextmanager
    def loads_promised(self) -> Iterator[None]:
        """While this is held, a writer promises to load the in-memory tables of the
        generation it writes (`GenerationCache.get(..., wait=True)`), so readers keep the
        last ones instead of loading them on a tool call (see `GenerationCache`)."""
        with self._meta_lock:
            self._loads_promised += 1
        try:
            yield
        finally:
            with self._meta_lock:
                self._loads_promised -= 1

    @property
    def loading_promised(self) -> bool:
        return self._loads_promised > 0

    def release_pages(self) -> None:
        """Give back the pages DuckDB cached for the reads and writes since the store opened
        (it keeps blocks until its memory limit needs them: on moby, 20-30 MB after a run of
        edits, in a serving process that reads on). A checkpoint first writes what the
        writes since the last one hold in memory to the file (pinned until then: ~10 MB on
        moby after a run of edits); lowering the limit for a moment then evicts the pages,
        and the allocator returns the memory within seconds. A read that needs memory in
        that moment is retried (`query`, and `stream` before its first row); writers wait
        for it (the write lock). The chunk texts kept for `chunk_texts` go too."""
        self._texts.clear()
        with self._write_lock:
            try:
                self._con.execute("CHECKPOINT")
            except duckdb.Error as exc:  # another transaction open: the next settle's does
                log.debug("DuckDB did not checkpoint: %s", exc)
            try:
                self._con.execute(f"SET memory_limit='{RELEASE_MEMORY_LIMIT}'")
            except duckdb.Error as exc:  # pinned pages above it: what could go is gone
                log.debug("DuckDB kept pages above %s: %s", RELEASE_MEMORY_LIMIT, exc)
            finally:
                self._con.execute(f"SET memory_limit='{MEMORY_LIMIT}'")

    # -- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        try:
            return self._meta_cache[key]
        except KeyError:
            pass
        epoch = self._meta_epoch
        row = self.query_one("SELECT value FROM meta WHERE key=?", [key])
        value = None if row is None else str(row[0])
        with self._meta_lock:
            if epoch == self._meta_epoch:
                self._meta_cache[key] = value
        return value

    def set_meta(self, key: str, value: str) -> None:
        written = False
        try:
            with self._write_lock:
                self._con.execute(
                    "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                    "value=excluded.value", [key, value])
                written = True
        finally:
            self._meta_changed({key: value} if written else None)

    def _meta_changed(self, written: dict[str, str] | None = None) -> None:
        """After a write of meta: `written`, the only rows it changed, with their values,
        replace theirs in the cache and the others stay; None forgets them all (forgetting
        all after every write made the first calls after a batch of edits read the keys
        again, a query each). Reads that began before it do not cache what they read (the
        epoch)."""
        with self._meta_lock:
            self._meta_epoch += 1
            if written is None:
                self._meta_cache.clear()
            else:
                self._meta_cache.update(written)

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation") or 0)

    # -- files -----------------------------------------------------------------------------

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, content_hash) for every indexed file."""
        rows = self.query("SELECT path, size, mtime_ns, content_hash FROM files")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def write_files(
        self, records: Sequence[FileRecord], delete_paths: Sequence[str] = ()
    ) -> tuple[list[int], list[int]]:
        """Delete every row of `delete_paths` and insert `records`, atomically.

        `delete_paths` must name every record that replaces an indexed file (and any file to
        drop). Returns (new chunk ids in record order, chunk ids that were removed)."""
        with self.transaction() as con:
            removed = self._delete_paths(con, delete_paths)
            if not records:
                return [], removed
            gen = generation_of(con) + 1
            n = len(records)
            file_ids = [r[0] for r in con.execute(
                "SELECT nextval('file_ids') FROM range(?)", [n]).fetchall()]
            n_chunks = sum(r.n_chunks for r in records)
            chunk_ids = [r[0] for r in con.execute(
                "SELECT nextval('chunk_ids') FROM range(?)", [n_chunks]).fetchall()]
            tables = _batch_columns(records, file_ids, chunk_ids, gen)
            for name, table in tables.items():
                con.register("_batch", table)
                con.execute(f"INSERT INTO {name} SELECT * FROM _batch")
                con.unregister("_batch")
            return chunk_ids, removed

    def _delete_paths(self, con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> list[int]:
        if not paths:
            return []
        con.register("_paths", {"path": text_column(paths)})
        ids = "SELECT file_id FROM files WHERE path IN (SELECT path FROM _paths)"
        removed = [r[0] for r in con.execute(
            f"SELECT chunk_id FROM chunks WHERE file_id IN ({ids})").fetchall()]
        for table in _FILE_TABLES:
            con.execute(f"DELETE FROM {table} WHERE file_id IN ({ids})")
        con.execute("DELETE FROM files WHERE path IN (SELECT path FROM _paths)")
        con.execute("DELETE FROM skipped WHERE path IN (SELECT path FROM _paths)")
        con.unregister("_paths")
        return removed

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new stat for a file whose content did not change."""
        with self._write_lock:
            self._con.execute("UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                              [size, mtime_ns, path])

    def count_chunks(self) -> int:
        row = self.query_one("SELECT count(*) FROM chunks")
        return int(row[0]) if row else 0

    def chunk_texts(self, ids: Sequence[int]) -> dict[int, str]:
        """chunk id -> text, for those of `ids` the store has (search reads the text of each
        hit it shows). The texts read lately are kept (`RecentTexts`, `CHUNK_TEXT_CHARS`
        characters at most, emptied by `release_pages`): the same hits come back in later
        searches, and each read was a scan of the chunks (~1.3 ms on moby, more when calls
        run side by side)."""
        found = self._texts.get_many(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            rows = self.query("SELECT chunk_id, text FROM chunks "
                              "WHERE list_contains(?, chunk_id)", [missing])
            self._texts.put_many(rows)
            found.update((r[0], r[1]) for r in rows)
        return found

    def chunk_ids_for_paths(self, paths: Sequence[str]) -> list[int]:
        if not paths:
            return []
        with self.reading() as cur:
            cur.register("_q", {"path": text_column(paths)})
            rows = cur.execute(
                "SELECT c.chunk_id FROM chunks c JOIN files f USING (file_id) "
                "WHERE f.path IN (SELECT path FROM _q)").fetchall()
            cur.unregister("_q")
        return [r[0] for r in rows]

    def replace_skipped(self, skipped: Sequence[SkipRow], *, full: bool) -> None:
        """Record skipped paths; `full` replaces the whole table (after a complete walk). A
        full list equal to the stored one writes nothing (a refresh with no change)."""
        if full and sorted(self.query("SELECT path, reason, detail, size, mtime_ns FROM skipped"),
                           key=_skip_key) == sorted((tuple(s) for s in skipped), key=_skip_key):
            return
        with self._write_lock, atomic(self._con) as con:
            if full:
                con.execute("DELETE FROM skipped")
            if skipped:
                table = {name: text_column([s[i] for s in skipped])
                         for i, name in enumerate(("path", "reason", "detail", "size", "mtime_ns"))}
                con.register("_sk", table)
                con.execute("DELETE FROM skipped WHERE path IN (SELECT path FROM _sk)")
                con.execute("INSERT INTO skipped (path, reason, detail, size, mtime_ns) "
                            "SELECT path, reason, detail, size::BIGINT, mtime_ns::BIGINT FROM _sk")
                con.unregister("_sk")

    def skipped_states(self) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of the files skipped for what reading them found (their
        content, an unreadable file, a parser crash), as they were when read."""
        rows = self.query("SELECT path, size, mtime_ns FROM skipped WHERE size IS NOT NULL "
                          "AND mtime_ns IS NOT NULL")
        return {r[0]: (r[1], r[2]) for r in rows}

    # -- embeddings cache ------------------------------------------------------------------

    def cached_vectors(self, model_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
        if not hashes:
            return {}
        with self.reading() as cur:
            cur.register("_h", {"h": text_column(hashes)})
            rows = cur.execute(
                "SELECT text_hash, vector FROM cache.embeddings WHERE model_id=? "
                "AND text_hash IN (SELECT h FROM _h)", [model_id]).fetchall()
            cur.unregister("_h")
        return {r[0]: r[1] for r in rows}

    def put_vectors(self, model_id: str, items: Sequence[tuple[str, bytes]]) -> None:
        if not items:
            return
        table = {"model_id": text_column([model_id] * len(items)),
                 "text_hash": text_column([i[0] for i in items]),
                 "vector": text_column([i[1] for i in items])}
        with self._write_lock:
            self._con.register("_v", table)
            self._con.execute("INSERT OR IGNORE INTO cache.embeddings SELECT * FROM _v")
            self._con.unregister("_v")


_FILE_COLS = ("file_id", "path", "language", "size", "mtime_ns", "content_hash", "lines",
              "generation", "parse_error", "indexed_at")
_SYMBOL_COLS = ("file_id", "name", "qualname", "kind", "signature", "doc", "parent",
                "start_line", "end_line", "start_byte", "end_byte", "bases", "returns")
_REF_COLS = ("file_id", "name", "kind", "line", "start_byte", "scope", "qualifier")
_IMPORT_COLS = ("file_id", "module", "line", "names", "level")
_CHUNK_COLS = ("chunk_id", "file_id", "start_line", "end_line", "start_byte", "end_byte",
               "symbol", "kind", "header", "text", "tokens", "text_hash")
_I32, _I64 = "int32", "int64"
# Numeric columns; every other column is VARCHAR (or a VARCHAR[] of tuples/lists, or BLOB)
_TYPES: dict[str, dict[str, str]] = {
    "files": {"file_id": _I64, "size": _I64, "mtime_ns": _I64, "lines": _I32,
              "generation": _I64, "indexed_at": "float64"},
    "symbols": {"file_id": _I64, "start_line": _I32, "end_line": _I32, "start_byte": _I64,
                "end_byte": _I64},
    "refs": {"file_id": _I64, "line": _I32, "start_byte": _I64},
    "imports": {"file_id": _I64, "line": _I32, "level": _I32},
    "chunks": {"chunk_id": _I64, "file_id": _I64, "start_line": _I32, "end_line": _I32,
               "start_byte": _I64, "end_byte": _I64, "tokens": _I32},
}

Batch = dict[str, "np.ndarray"]


def _skip_key(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(v) for v in row)  # sizes may be None: compared as text


def text_column(values: Sequence[Any]) -> np.ndarray:
    """An object array DuckDB scans as VARCHAR (str), BLOB (bytes) or a list type."""
    import numpy as np  # on first use: see the module docstring

    return np.fromiter(values, dtype=object, count=len(values))  # no broadcasting of tuples


def _batch_columns(
    records: Sequence[FileRecord], file_ids: list[int], chunk_ids: list[int], gen: int
) -> dict[str, Batch]:
    """Column-wise batches (NumPy arrays) for one write, in each table's column order."""
    now = time.time()
    files: list[list[Any]] = [[] for _ in _FILE_COLS]
    syms: list[list[Any]] = [[] for _ in _SYMBOL_COLS]
    refs: list[list[Any]] = [[] for _ in _REF_COLS]
    imps: list[list[Any]] = [[] for _ in _IMPORT_COLS]
    chunks: list[list[Any]] = [[] for _ in _CHUNK_COLS]
    chunks[0] = chunk_ids

    def extend(columns: list[list[Any]], fid: int, parts: Sequence[Sequence[Any]]) -> None:
        columns[0] += [fid] * len(parts[0])
        for col, part in zip(columns[1:], parts, strict=False):
            col += part

    for fid, rec in zip(file_ids, records, strict=True):
        packed = rec.packed_parsed()
        row = (fid, rec.path, rec.language, rec.size, rec.mtime_ns, rec.content_hash,
               rec.lines, gen, packed[1] if packed else None, now)
        for col, value in zip(files, row, strict=True):
            col.append(value)
        if packed is not None:
            extend(syms, fid, packed[2])
            extend(refs, fid, packed[3])
            extend(imps, fid, packed[4])
        parts = rec.chunk_rows()
        if len(parts[0]) != len(rec.chunk_hashes):
            raise ValueError(f"{rec.path}: {len(parts[0])} chunks but "
                             f"{len(rec.chunk_hashes)} hashes")
        chunks[1] += [fid] * len(parts[0])
        for col, part in zip(chunks[2:], parts, strict=False):
            col += part
        chunks[-1] += rec.chunk_hashes
    if len(chunk_ids) != len(chunks[1]):
        raise ValueError("chunk ids do not match the chunks")
    return {
        "files": _table("files", _FILE_COLS, files),
        "symbols": _table("symbols", _SYMBOL_COLS, syms),
        "refs": _table("refs", _REF_COLS, refs),
        "imports": _table("imports", _IMPORT_COLS, imps),
        "chunks": _table("chunks", _CHUNK_COLS, chunks),
    }


def generation_of(con: duckdb.DuckDBPyConnection) -> int:
    """The store's generation as `con` sees it (a reader's statement, a transaction)."""
    row = con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    if row is None:
        raise StoreCorrupt("the store has no generation row")
    return int(row[0])


def _table(name: str, cols: tuple[str, ...], columns: Sequence[Sequence[Any]]) -> Batch:
    import numpy as np  # on first use: see the module docstring

    types = _TYPES[name]
    return {col: np.array(vals, dtype=types[col]) if col in types else text_column(vals)
            for col, vals in zip(cols, columns, strict=True)}


V = TypeVar("V")


class GenerationCache(Generic[V]):
    """A value derived from a store, rebuilt when the store or its graph changes.

    Keyed by the Store object (weakly: a closed index drops its value) and by
    (store generation, graph generation); concurrent first uses after a change load once.
    While one thread loads the value of a newer generation, other readers get the last one
    loaded at once instead of waiting (a load takes seconds on a large repository; a live
    index loads it in its writing thread after each update and keeps the changed paths
    pending, so not fresh, until the load is done). Only the first load is waited for.
    While a writer holds `Store.loads_promised` (from before its write until it has loaded
    the new values), readers keep the last value instead of loading the next themselves:
    between a write's commit and its writer's load, a tool call found the lock free and paid
    the load (moby, 50 clients and 5 edits a second: the graph tables' reload was half in
    tool calls, docs/benchmarks.md).
    """

    def __init__(self, load: Callable[[Store, tuple[int, str | None]], V]) -> None:
        self._load = load
        self._values: weakref.WeakKeyDictionary[Store, tuple[tuple[int, str | None], V]] = (
            weakref.WeakKeyDictionary())
        self._locks: weakref.WeakKeyDictionary[Store, threading.Lock] = (
            weakref.WeakKeyDictionary())  # one per store: stores of one process load apart
        self._locks_lock = threading.Lock()

    def _lock_of(self, store: Store) -> threading.Lock:
        with self._locks_lock:
            lock = self._locks.get(store)
            if lock is None:
                lock = self._locks[store] = threading.Lock()
            return lock

    def last(self, store: Store) -> V | None:
        """The value loaded last for `store`, of whatever generation (None before the first):
        a load may reuse what did not change."""
        cached = self._values.get(store)
        return None if cached is None else cached[1]

    def get(self, store: Store, *, wait: bool = False) -> V:
        """The value of the store's current generation; a reader gets the last one at once
        while another thread loads a newer one, unless `wait` (the writer that just changed
        the store, which must not mark its paths fresh before the new value is in)."""
        key = (store.generation, store.get_meta("graph_generation"))
        cached = self._values.get(store)
        if cached is not None and (cached[0] == key or not wait and store.loading_promised):
            return cached[1]  # current, or the writer that changed it loads the next one
        lock = self._lock_of(store)
        if not lock.acquire(blocking=cached is None or wait):
            assert cached is not None
            return cached[1]  # another thread is loading a newer one
        try:
            cached = self._values.get(store)
            if cached is None or cached[0] != key:
                cached = (key, self._load(store, key))
                self._values[store] = cached
            return cached[1]
        finally:
            lock.release()


_H = TypeVar("_H", bound=Hashable)
_V = TypeVar("_V")


def same_rows(groups: Iterable[Iterable[_H]]) -> dict[_H, _H]:
    """Each row of `groups` (from the value `GenerationCache.last` returned) keyed by
    itself: a load swaps an equal new row for it.

    A reload after an edit builds the next generation while readers still use the last, so
    both live at once; without the swap every row of the new one is a fresh object, placed
    in fresh pymalloc arenas, and once the last generation is dropped its rows leave those
    arenas and the old ones partly used, never returned to the system. With it a row read
    again is freed at once (its memory reused by the next) and the unchanged rows stay
    where they were (moby, one process, 30 batches of edits: docs/benchmarks.md, "Serving
    memory")."""
    return {row: row for rows in groups for row in rows}


def keep_equal(table: dict[_H, _V], last: Mapping[_H, _V]) -> None:
    """Each value of `table` equal to `last`'s under its key becomes `last`'s object (the
    values' side of `same_rows`: a float or a set read again for every generation)."""
    for key, value in table.items():
        kept = last.get(key)
        if kept is not None and kept == value:
            table[key] = kept
