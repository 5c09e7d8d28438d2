"""Full builds, incremental updates and reconciliation: walk -> parse -> chunk -> store -> lexical.

The pipeline streams: the walk yields entries one directory at a time, files are read, parsed
and chunked in worker processes in small batches with a bounded number of batches in flight,
and results are written in chunked store transactions (one per batch of files). Nothing holds
the whole repository in memory.

Change detection (reconcile) compares size and mtime with the store first; files whose
stat differs are read and hashed, and only those whose content hash changed are re-parsed
and rewritten (a touched-but-unchanged file costs one read).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
import logging
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.core import CRASH_REASON, WorkerPool, trim_heap
from indexer.discover import (
    FileEntry,
    IgnoreCache,
    SkippedFile,
    WalkOptions,
    content_skip_reason,
    decode_text,
    is_path_ignored,
    read_file,
    walk,
)
from indexer.lexical import LexicalDoc, ident_body, tokenize_for_index
from indexer.parse import FileRecord

if TYPE_CHECKING:
    from indexer.build.static import StaticJob
    from indexer.core import Chunk, ParsedFile
    from indexer.disk import RepoIndex
    from indexer.store.db import SkipRow

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int | None, str], None]  # (done, total or None, message)
StopFn = Callable[[], bool]  # polled between batches; True asks the run to stop


class IndexingStopped(Exception):
    """A run was asked to stop (`should_stop`); what it wrote so far is consistent."""

_BATCH_FILES = 64  # files per worker task
_WRITE_FILES = 512  # files per store transaction
_INLINE_LIMIT = 48  # below this many changed files, skip the process pool
_BULK_FILES = _WRITE_FILES  # from this many changed files on, the store writes in bulk mode


@dataclass(frozen=True, slots=True)
class IndexOptions:
    walk: WalkOptions = field(default_factory=WalkOptions)
    workers: int = 0  # 0 = os.cpu_count()
    chunk_max_tokens: int = 384


@dataclass(slots=True)
class IndexStats:
    files: int = 0  # indexable files seen
    indexed: int = 0  # (re)written this run
    unchanged: int = 0
    deleted: int = 0
    symbols: int = 0
    chunks: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    generation: int = 0
    lexical_committed_at: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files, "indexed": self.indexed, "unchanged": self.unchanged,
            "deleted": self.deleted, "symbols": self.symbols, "chunks": self.chunks,
            "skipped": dict(sorted(self.skipped.items())), "seconds": round(self.seconds, 3),
            "generation": self.generation,
        }


# -- worker side ------------------------------------------------------------------------------


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _chunk_source(path: str, data: bytes, opts: IndexOptions) -> tuple[
        str | None, ParsedFile | None, str, list[Chunk]]:
    """Parse and chunk one file's bytes: (language, parse result, text, chunks)."""
    from indexer.chunk import chunk_file
    from indexer.languages import language_for_path
    from indexer.parse import parse_source

    language = language_for_path(path)
    text = decode_text(data)
    # parsed from the text's UTF-8, not the file's bytes where they differ (UTF-16, a BOM,
    # bytes that are not UTF-8 replaced), so that the parse's lines and byte offsets are the
    # chunker's; a UTF-16 file given as it is parsed as nothing
    source = data if data.isascii() else text.encode("utf-8", "surrogatepass")
    parsed = parse_source(source, language) if language else None
    try:
        chunks = chunk_file(path, text, language, parsed, max_tokens=opts.chunk_max_tokens)
    except RecursionError:  # pathologically nested symbols: keep them, chunk by lines
        log.warning("%s nests too deeply for AST chunks; using line windows", path)
        chunks = chunk_file(path, text, language, None, max_tokens=opts.chunk_max_tokens)
    return language, parsed, text, chunks


def read_checked(entry: FileEntry, opts: IndexOptions) -> bytes | SkippedFile:
    """A file's bytes, or why the real run would skip it (unreadable, size, content rules)."""
    data = read_file(entry, opts.walk)
    if isinstance(data, SkippedFile):
        return data
    return content_skip_reason(entry.path, data, opts.walk) or data


@dataclass(frozen=True, slots=True)
class UnchangedFile:
    """A file whose stat changed but whose content is the one indexed (`entry.known_hash`):
    not parsed, chunked or embedded; the writer records its new stat."""

    path: str
    size: int
    mtime_ns: int


Processed = FileRecord | SkippedFile | UnchangedFile


def process_file(entry: FileEntry, opts: IndexOptions) -> Processed:
    """Read, classify, parse and chunk one file (only read and hash it when its content is
    the one indexed). Never raises for a bad file."""
    data = read_checked(entry, opts)
    if isinstance(data, SkippedFile):
        return data
    digest = content_hash(data)
    if digest == entry.known_hash:
        return UnchangedFile(entry.path, entry.size, entry.mtime_ns)
    try:
        language, parsed, text, chunks = _chunk_source(entry.path, data, opts)
    except Exception as exc:  # noqa: BLE001 - one bad file must never abort the run
        log.warning("failed to index %s: %s", entry.path, exc)
        return SkippedFile(entry.path, "parse_error", f"{type(exc).__name__}: {exc}")
    return FileRecord(
        path=entry.path, language=language, size=entry.size, mtime_ns=entry.mtime_ns,
        content_hash=digest, lines=text.count("\n") + (0 if text.endswith("\n") else 1),
        parsed=parsed, chunks=chunks,
        chunk_hashes=[text_hash(c.header + "\n" + c.text) for c in chunks],
        lexical=(tokenize_for_index(entry.path),
                 [(tokenize_for_index(c.symbol or ""), tokenize_for_index(c.header),
                   ident_body(c.text, keep=language is None)) for c in chunks]),
    )


SampledFile = tuple[str, int | None, list[str]]  # path, chunks (None: skipped), texts


def chunk_sample(entries: list[FileEntry], opts: IndexOptions, texts_per_file: int = 0,
                 ) -> list[SampledFile]:
    """For a dry run, one result per entry: its path, how many chunks the real run would
    make of it (None when the real run would skip it) and up to `texts_per_file` of the
    texts it would embed."""
    out: list[SampledFile] = []
    with gc_paused():
        for entry in entries:
            data = read_checked(entry, opts)
            chunks = None if isinstance(data, SkippedFile) else _chunks_or_none(entry, data, opts)
            if chunks is None:
                out.append((entry.path, None, []))
                continue
            texts = [f"{c.header}\n{c.text}" if c.header else c.text  # as embedded
                     for c in chunks[:texts_per_file]]
            out.append((entry.path, len(chunks), texts))
    return out


def _chunks_or_none(entry: FileEntry, data: bytes, opts: IndexOptions) -> list[Chunk] | None:
    try:
        return _chunk_source(entry.path, data, opts)[3]
    except Exception:  # noqa: BLE001 - the real run skips it (parse_error)
        return None


def process_batch(entries: list[FileEntry], opts: IndexOptions,
                  static: StaticJob | None = None) -> list[Processed]:
    """Process a batch of files (in a worker); with `static`, give the records their static
    vectors too (`indexer.build.static`)."""
    with gc_paused():
        results = [process_file(e, opts) for e in entries]
        if static is not None:
            from indexer.build.static import embed_records

            embed_records([r for r in results if isinstance(r, FileRecord)], static)
        return results


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block. Parsing a batch and writing a build
    allocate millions of objects (nodes, tuples, unpickled records) and make next to no
    cycles: reference counting frees them, and the collector's passes over them cost moby's
    build ~0.2 CPU s in the indexing process and more in the workers."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def warm_worker(static: StaticJob | None = None) -> None:
    """Import what `process_file` needs and load the cl100k tables (~0.3 s of a fresh worker)
    and the static tier `static` names, submitted while the main process still walks the
    tree."""
    import indexer.chunk.chunker
    import indexer.parse.treesitter  # noqa: F401
    from indexer.core import encoding

    encoding()
    if static is not None:
        from indexer.build.static import warm_static

        warm_static(static)


# -- orchestration ----------------------------------------------------------------------------
# Worker processes import this module (for process_batch) but none of the store, graph or
# vector modules, whose imports (duckdb, numpy) cost each worker ~0.3 s of CPU.


def _build_graph(index: RepoIndex) -> None:
    if index.store.get_meta("graph_generation") == str(index.store.generation):
        return  # nothing written since the graph was built (a refresh with no change)
    from indexer.graph import build_graph

    build_graph(index)


def _batched(items: Iterable[FileEntry], size: int) -> Iterator[list[FileEntry]]:
    batch: list[FileEntry] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _crashed(entry: FileEntry) -> SkippedFile:
    return SkippedFile(entry.path, CRASH_REASON, "the parser crashed on this file")


def _run_batches(
    index: RepoIndex, entries: Sequence[FileEntry], opts: IndexOptions,
    run_pool: WorkerPool | None = None,
) -> Iterator[list[Processed]]:
    """Process entries in worker processes (the index's pool, else `run_pool` or one for this
    run, closed at the end), yielding results batch by batch, in order. Small jobs without a
    pool run in-process."""
    pool = index.workers or run_pool
    if pool is None and len(entries) <= _INLINE_LIMIT:
        for batch in _batched(entries, _BATCH_FILES):
            yield process_batch(batch, opts)
        return
    own = index.workers is None
    pool = pool or WorkerPool(opts.workers)
    try:
        yield from pool.map_batches(
            functools.partial(process_batch, opts=opts, static=static_job(index)),
            _batched(entries, _BATCH_FILES), _crashed)
    finally:
        if own:
            pool.close()


def _lexical_docs(records: Sequence[FileRecord], chunk_ids: Sequence[int]) -> Iterator[LexicalDoc]:
    ids = iter(chunk_ids)
    for rec in records:
        language = rec.language or "text"
        cols = rec.chunk_rows()  # Chunk field order: symbol 4, header 6, text 7
        symbols, headers, texts = cols[4], cols[6], cols[7]
        lexical = rec.lexical
        if lexical is None:
            lexical = (tokenize_for_index(rec.path),
                       [(tokenize_for_index(s or ""), tokenize_for_index(h), ident_body(t))
                        for s, h, t in zip(symbols, headers, texts, strict=True)])
        path_tokens, tokens = lexical
        for symbol, header, text, (name_tokens, header_tokens, body_tokens) in zip(
                symbols, headers, texts, tokens, strict=True):
            yield LexicalDoc(chunk_id=next(ids), path=rec.path, language=language,
                             name=symbol or "", header=header, body=text,
                             tokens=(name_tokens, header_tokens, path_tokens),
                             body_tokens=body_tokens)


_LEXICAL_COMMIT_S = 5.0  # during a long build, make new chunks searchable this often


def _trim_heap() -> None:
    """A written batch frees some 10-20 MB of record strings that glibc would otherwise keep
    resident (moby: peak RSS -25 MB)."""
    trim_heap()


def _write(index: RepoIndex, records: list[FileRecord], deleted: list[str],
           known: dict[str, tuple[int, int, str]], stats: IndexStats, *, final: bool,
           defer_commit: bool = False) -> int | None:
    """Write one batch to the store and the lexical index. With `final` and `defer_commit`,
    the lexical commit is left to the caller: returns the generation it must record."""
    replaced = [r.path for r in records if r.path in known] + deleted
    chunk_ids, removed = index.store.write_files(records, replaced)
    if index.vectors is not None and removed:
        index.vectors.remove(removed)
    if index.static is not None:
        _write_static(index, records, chunk_ids, removed)
    gen = index.store.generation
    now = time.monotonic()
    commit = final or now - stats.lexical_committed_at >= _LEXICAL_COMMIT_S
    if commit:
        stats.lexical_committed_at = now
    deferred = final and defer_commit
    index.lexical.update(_lexical_docs(records, chunk_ids), replaced, gen,
                         commit=commit and not deferred)
    stats.indexed += len(records)
    stats.symbols += sum(r.n_symbols for r in records)
    stats.chunks += sum(r.n_chunks for r in records)
    return gen if deferred else None


def static_job(index: RepoIndex) -> StaticJob | None:
    """What the parse workers need to compute the attached static tier's vectors, or None
    (no static tier, or one another process cannot load)."""
    if index.static is None:
        return None
    from indexer.build.static import StaticJob
    from indexer.embed import worker_spec

    spec = worker_spec(index.static.embedder)
    return StaticJob(spec, index.static.model_id) if spec is not None else None


def _write_static(index: RepoIndex, records: Sequence[FileRecord], chunk_ids: Sequence[int],
                  removed: Sequence[int]) -> None:
    """Give the batch's new chunks their static vectors (the static tier is attached): the
    ones a worker computed are copied in, the others embedded here."""
    static = index.static
    assert static is not None
    static.remove(removed)
    ids = iter(chunk_ids)
    done: list[tuple[list[int], bytes]] = []
    todo_ids: list[int] = []
    headers: list[str] = []
    texts: list[str] = []
    hashes: list[str] = []
    for rec in records:
        rec_ids = list(itertools.islice(ids, rec.n_chunks))
        if not rec_ids:
            continue
        if rec.static is not None and rec.static[0] == static.model_id:
            done.append((rec_ids, rec.static[1]))
            continue
        cols = rec.chunk_rows()  # Chunk field order: header 6, text 7
        todo_ids.extend(rec_ids)
        headers.extend(cols[6])
        texts.extend(cols[7])
        hashes.extend(rec.chunk_hashes)
    if done:
        static.add_vectors([i for rec_ids, _ in done for i in rec_ids],
                           b"".join(vecs for _, vecs in done))
    static.add(todo_ids, headers, texts, hashes)


@contextlib.contextmanager
def _lexical_commit(index: RepoIndex, generation: int | None) -> Iterator[None]:
    """Commit the lexical index at `generation` in a thread while the block runs (tantivy
    releases the GIL: the commit and the graph build overlap), and wait for it at the end."""
    if generation is None:
        yield
        return
    failure: list[BaseException] = []

    def commit() -> None:
        try:
            index.lexical.update((), (), generation, commit=True)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=commit, name="sextant-lexical-commit")
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failure:
        raise failure[0]


_WALK_META = "walk_options"  # the size limit and secrets choice of the last build
# The version of the rules that turn a file into symbols, references and chunks (the language
# queries, extraction, chunking). An index built with other rules has every file read again
# once (their embeddings come from the cache): after an upgrade, unchanged files get what the
# new rules find too. Bump it with any change that moves tests/fixtures/corpus_golden.json or
# what a file's symbols carry. 2: Go's grouped variables; bundlers' annotations are no doc;
# a line that only closes brackets stays with the chunk before it. 3: every name of a
# declaration with several (`onCommit, onRollback []func() error`, `const X, Y = 1, 2`).
# 4: Rust doc comments of several `///` lines are kept whole.
# 5: a file is parsed from its decoded text (UTF-16 files had no symbols; a BOM or bytes that
# are not UTF-8 moved byte offsets).
# 6: a call's qualifier (`Gitignore::new`, `helpers.url_for`, a bare `url_for`) with its
# reference (Python, Go, Rust; the store's schema 2). 7: JavaScript's and TypeScript's too
# (`this.render`, `super.mount`, a bare `render`); a Go method's receiver is `self.`, a
# typed parameter its type (`(gin.Context).`). 8: what a function says it returns
# (`Symbol.returns`, the store's schema 3), and a variable assigned a call's value written
# with the function called (`(=gin.New).`). 9: a Python instance's attribute a method
# assigns a value of a known type (`self.app = app` with `app: Flask`) is a name of that type
# in the class's methods (`self.app.run()` is a `(Flask).` call); a field of a field
# (`c.engine.trees.Get()`); a Python import alias written out (`r.Map()` after
# `import werkzeug.routing as r` is a `werkzeug.routing.` call).
EXTRACTION_RULES = "9"
_RULES_META = "extraction_rules"


def saved_walk_options(index: RepoIndex, base: WalkOptions | None = None) -> WalkOptions:
    """`base` (default: the defaults) with the file-size limit and the secrets choice the
    index was last built with, so that a refresh does not drop what the user asked for."""
    base = base or WalkOptions()
    try:
        saved = json.loads(index.store.get_meta(_WALK_META) or "{}")
        return replace(base, max_file_bytes=int(saved.get("max_file_bytes", base.max_file_bytes)),
                       index_secrets=bool(saved.get("index_secrets", base.index_secrets)))
    except (ValueError, TypeError, AttributeError):
        return base


def index_repository(
    index: RepoIndex, opts: IndexOptions | None = None, progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> IndexStats:
    """Bring the index in line with the working tree (a full build on an empty index).

    Raises IndexingStopped when `should_stop` turns true between batches."""
    opts = opts or IndexOptions()
    started = time.perf_counter()
    stats = IndexStats()
    known = index.store.file_states()
    rules_moved = index.store.get_meta(_RULES_META) != EXTRACTION_RULES
    if known and rules_moved:  # every file is read again: no size, time or hash matches
        log.warning("the index was built by another version's extraction rules: reading every "
                    "file again, once")
        known = {path: (-1, -1, "") for path in known}
    changed: list[FileEntry] = []
    skipped: list[SkipRow] = []
    seen: set[str] = set()
    run_pool: WorkerPool | None = None
    try:
        for item in walk(index.root, opts.walk):
            if isinstance(item, SkippedFile):
                skipped.append((item.path, str(item.reason), item.detail, None, None))
                continue
            seen.add(item.path)
            state = known.get(item.path)
            if state is not None and state[0] == item.size and state[1] == item.mtime_ns:
                stats.unchanged += 1
            else:
                changed.append(item)
                if len(changed) == _INLINE_LIMIT + 1:  # workers start while the walk goes on
                    pool = index.workers
                    if pool is None:
                        pool = run_pool = WorkerPool(opts.workers)
                    pool.warm(functools.partial(warm_worker, static_job(index)))
        deleted = sorted(set(known) - seen)
        walk_skips = len(skipped)
        _apply(_Run(index, opts, stats, known, skipped, progress, should_stop, run_pool),
               changed, deleted, full=True)
        # files the content rules skip (binary, generated, ...) are no indexable files
        stats.files = len(seen) - (len(skipped) - walk_skips)
    finally:
        if run_pool is not None:
            run_pool.close()
    stats.skipped.update(s[1] for s in skipped)
    stats.deleted = len(deleted)
    walk_meta = json.dumps({"max_file_bytes": opts.walk.max_file_bytes,
                            "index_secrets": opts.walk.index_secrets})
    if index.store.get_meta(_WALK_META) != walk_meta:  # a refresh with no change writes nothing
        index.store.set_meta(_WALK_META, walk_meta)
    if rules_moved:
        index.store.set_meta(_RULES_META, EXTRACTION_RULES)
    index.save_static()
    stats.generation = index.store.generation
    stats.seconds = time.perf_counter() - started
    return stats


def stat_entry(root: Path, rel: str, opts: WalkOptions, cache: IgnoreCache | None = None,
               *, checked: bool = False) -> FileEntry | SkippedFile | None:
    """The walk's verdict on one path: an entry, a skip, or None when it is gone or a dir.
    `checked`: the path rules were applied already (the watcher resolves events once)."""
    skip = None if checked else is_path_ignored(root, rel, opts, cache)
    if skip is not None:
        return skip
    abs_path = root / rel
    try:
        st = abs_path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_size > opts.max_file_bytes:
        return SkippedFile(rel, "too_large", f"{st.st_size} bytes")
    return FileEntry(path=rel, abs_path=abs_path, size=st.st_size, mtime_ns=st.st_mtime_ns)


def update_paths(
    index: RepoIndex, rel_paths: Iterable[str], opts: IndexOptions | None = None,
    cache: IgnoreCache | None = None,
) -> IndexStats:
    """Incrementally re-index the given paths (created, modified or deleted)."""
    return _update(index, rel_paths, set(), opts or IndexOptions(), cache, checked=False)


def apply_resolved(index: RepoIndex, rel_paths: Iterable[str], removed: set[str],
                   opts: IndexOptions) -> IndexStats:
    """Apply paths the watcher already resolved against the path rules: `removed` are
    deleted from the index, the others re-indexed (or deleted when gone)."""
    return _update(index, [*rel_paths, *removed], removed, opts, None, checked=True)


def _update(index: RepoIndex, rel_paths: Iterable[str], removed: set[str], opts: IndexOptions,
            cache: IgnoreCache | None, *, checked: bool) -> IndexStats:
    started = time.perf_counter()
    stats = IndexStats()
    known = index.store.file_states()
    changed: list[FileEntry] = []
    deleted: list[str] = []
    skipped: list[SkipRow] = []
    for rel in sorted(set(rel_paths)):
        item = None if rel in removed else stat_entry(index.root, rel, opts.walk, cache,
                                                       checked=checked)
        if item is None or isinstance(item, SkippedFile):
            if isinstance(item, SkippedFile):
                skipped.append((item.path, str(item.reason), item.detail, None, None))
            if rel in known:
                deleted.append(rel)
            continue
        changed.append(item)
    stats.files = len(changed)
    _apply(_Run(index, opts, stats, known, skipped), changed, deleted, full=False)
    stats.deleted = len(deleted)
    stats.generation = index.store.generation
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass(slots=True)
class _Run:
    """What one indexing run works with: the index, the options, the stats it fills in, the
    files' states before the run, the skipped files found so far, and its callbacks."""

    index: RepoIndex
    opts: IndexOptions
    stats: IndexStats
    known: dict[str, tuple[int, int, str]]
    skipped: list[SkipRow]
    progress: ProgressFn | None = None
    should_stop: StopFn | None = None
    run_pool: WorkerPool | None = None


def _apply(run: _Run, changed: list[FileEntry], deleted: list[str], *, full: bool) -> None:
    """Process and write the changed files, then the skipped table (all of it when `full`)
    and the import graph. A bulk run writes with DuckDB's bulk settings (the graph build gets
    the usual ones back) and commits the lexical index while the graph is built."""
    # the first lexical commit comes _LEXICAL_COMMIT_S into the run, not with the first batch
    # (a commit costs moby's build ~0.3 s of CPU and its peak resident memory ~50 MB)
    index = run.index
    run.stats.lexical_committed_at = time.monotonic()
    bulk = len(changed) >= _BULK_FILES
    with gc_paused() if bulk else contextlib.nullcontext():
        with index.store.bulk_load() if bulk else contextlib.nullcontext():
            due = _apply_batches(run, changed, deleted, bulk=bulk)
        with _lexical_commit(index, due):
            index.store.replace_skipped(run.skipped, full=full)
            _build_graph(index)


def _apply_batches(run: _Run, changed: list[FileEntry], deleted: list[str], *,
                   bulk: bool) -> int | None:
    index, known, stats, skipped = run.index, run.known, run.stats, run.skipped
    progress, should_stop = run.progress, run.should_stop
    pending: list[FileRecord] = []
    pending_deleted = list(deleted)
    done = 0
    due = None
    entries = [replace(e, known_hash=known[e.path][2]) if e.path in known else e
               for e in changed]  # the workers only hash what is unchanged inside
    for results in _run_batches(index, entries, run.opts, run.run_pool):
        for entry, res in zip(entries[done:done + len(results)], results, strict=True):
            if isinstance(res, SkippedFile):
                # with the stat it was read with: `index_status` counts it changed only when
                # that stat changes
                skipped.append((res.path, str(res.reason), res.detail, entry.size,
                                entry.mtime_ns))
                if res.path in known:
                    pending_deleted.append(res.path)
            elif isinstance(res, UnchangedFile) or (
                    res.path in known and known[res.path][2] == res.content_hash):
                index.store.touch_file(res.path, res.size, res.mtime_ns)
                stats.unchanged += 1
            else:
                pending.append(res)
        done += len(results)
        if progress:
            progress(done, len(changed), "indexing")
        if len(pending) >= _WRITE_FILES:
            _write(index, pending, pending_deleted, known, stats, final=False)
            pending, pending_deleted = [], []
            if bulk:
                _trim_heap()
        if should_stop is not None and should_stop():
            _write(index, pending, pending_deleted, known, stats, final=True)
            raise IndexingStopped(f"stopped after {done} of {len(changed)} changed files")
    if pending or pending_deleted or stats.indexed:
        due = _write(index, pending, pending_deleted, known, stats, final=True,
                     defer_commit=bulk)
    if bulk:
        pending.clear()
        _trim_heap()
    return due
