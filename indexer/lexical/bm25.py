"""BM25 lexical index over chunks, on tantivy, with identifier-aware tokens.

Text is tokenized in Python before it reaches tantivy: identifiers are split at camelCase,
snake_case, kebab-case and digit boundaries, and the whole identifier is kept too
(`getUserName` -> `get user name getusername`, `get_user_name` -> the same), so a query for
"user name" and one for `getUserName` both match. tantivy then only lower-cases and splits on
spaces (its `default` tokenizer sees nothing but `[a-z0-9]` runs).

Fields are scored separately and boosted at query time: the chunk's symbol name weighs most,
then the context header (scope, signature), the path, and the body.

The index records the store generation it reflects in `lexical.json`, written after each
commit; an index behind the store, or one that cannot be opened, is rebuilt from the store.
tantivy opens a segment's files lazily, field by field, on the first search that needs them:
so an open reads every field's term dictionary and positions once (`_check_fields`), and a
read that fails on the files later raises `LexicalCorrupt`, which the owner answers with a
rebuild from the store (`RepoIndex.repair_lexical`).

Compaction: tantivy counts a deleted document in its BM25 statistics (document count,
document frequencies, field lengths: `Searcher::total_num_docs` sums `max_doc`) until a
merge drops it, and tantivy-py 0.27 can neither merge on request nor report live statistics.
So an index that took updates ranks differently from a fresh one of the same chunks.
`deleted_docs` reads the count from tantivy's `meta.json`; `rebuild` writes every chunk into
a new index beside this one (`lexical.next`) and swaps it in (`lexical` -> `lexical.old`,
`lexical.next` -> `lexical`); `finish_swap`, on open, completes or undoes a swap a crash
interrupted, so the index is always one of the two, whole.
"""

from __future__ import annotations

import functools
import glob
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.core import TextCache, atomic_write_bytes, fsync_path, on_settle

if TYPE_CHECKING:  # imported where used: parse workers import this module for its tokens
    import tantivy

log = logging.getLogger(__name__)

WORD_RE = re.compile(r"[A-Za-z0-9_]+")
_TOKEN = re.compile(r"[a-z0-9]+")  # what a query term may be (the parser sees nothing else)
_LETTER_PART = r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+"  # HTTPServer -> HTTP, Server
PARTS_RE = re.compile(_LETTER_PART + r"|[0-9]+")  # an identifier's parts: Int32s -> Int, 32, s
NUMBERED_PARTS_RE = re.compile(rf"(?:{_LETTER_PART})[0-9]*|[0-9]+")  # Int32s -> Int32, s

FIELD_BOOSTS = {"name": 4.0, "header": 1.5, "path": 2.0, "body": 1.0, "body_words": 0.5}
_PY_FIELDS = ("name", "header", "path")  # short: tokenized in Python, identifier-aware
# The body is long. Its identifier parts (field `body`) are the matches of a regex (no
# look-ahead, so `HTTPServer` splits as `https erver`; the whole word still matches through
# `body_words`), lower-cased: the `ident` tokenizer, which parses queries on that field.
# Documents are written with those parts already split (`ident_body`, in the parse workers)
# through an index handle whose `ident` only splits at spaces: tantivy's regex engine
# (a PikeVM) spent ~1.1 CPU s on moby's bodies, the split in Python 0.35 s, same tokens.
# Whole alphanumeric words (`body_words`) come from tantivy's default tokenizer.
_IDENT_PATTERN = r"[A-Z]?[a-z]+|[A-Z]+|[0-9]+"
_IDENT = re.compile(_IDENT_PATTERN.encode())
# bytes -> itself for ASCII letters and digits, else a space: the regex matches nothing else,
# so its matches are those within each run of these bytes
_RUN_BYTES = bytes(b if chr(b).isascii() and chr(b).isalnum() else 32 for b in range(256))
_RUNS_MAX = 1 << 17  # cached runs per process (cleared when full)
# tantivy flushes a segment when its heap fills; 16 MiB made more segments to merge and cost
# ~12% more CPU on moby's build, at the same peak RSS
_HEAP = 32 * 1024 * 1024
_LONG_TOKEN = 40  # tantivy's default tokenizer drops words this long
_GENERATION_FILE = "lexical.json"
_STAGED, _OLD = ".next", ".old"  # a rebuild's siblings of the index directory
_STOP_EVERY = 4096  # documents between two checks of a rebuild's `should_stop`
_APART_BATCH = 512  # documents a rebuild in a process of its own sends at a time
_APART_JOIN_S = 60.0  # how long its end may take once told (it commits, then exits)


@functools.lru_cache(maxsize=1 << 17)
def _split_word(word: str) -> str:
    """Space-joined tokens of one identifier (cached: code repeats its identifiers)."""
    parts = PARTS_RE.findall(word)
    if len(parts) <= 1:
        return parts[0].lower() if parts else ""
    lowered = [p.lower() for p in parts]
    return " ".join(lowered) + " " + "".join(lowered)


def tokenize_for_index(text: str) -> str:
    """`text` as space-separated lower-case tokens: identifier parts plus whole identifiers."""
    return " ".join(map(_split_word, WORD_RE.findall(text)))


class _RunParts(dict[bytes, str]):
    """ASCII letter/digit run -> its `_IDENT_PATTERN` matches, lower-cased, space-joined."""

    def __missing__(self, run: bytes) -> str:
        parts = _IDENT.findall(run)  # they cover the run: every letter or digit matches
        value = (b" ".join(parts) if len(parts) > 1 else run).lower().decode("ascii")
        if len(self) >= _RUNS_MAX:
            self.clear()
        self[run] = value
        return value


_run_parts = _RunParts()
_bodies: TextCache[str] = TextCache(1 << 22)  # whole bodies `keep`s asked for


def release_token_caches() -> None:
    """Forget the cached tokens of identifiers, runs and bodies. A lexical rebuild (each
    compaction) tokenizes every chunk and fills them (moby's 39k chunks: 54k words and 50k
    runs, 20 MB in one process); a process that goes on serving needs them again only for
    the next write, whose own words refill them."""
    _split_word.cache_clear()
    _run_parts.clear()
    _bodies.clear()


on_settle(release_token_caches)  # filled to their bounds by a compaction's rebuild


def ident_body(text: str, *, keep: bool = False) -> str:
    """The tokens tantivy's `ident` tokenizer makes of `text`, in order, space-joined.
    `keep` remembers the result for a repeat of `text` (text files repeat whole sections:
    moby's API definitions, version after version; code seldom does)."""
    out = _bodies.get(text) if keep else None
    if out is None:
        runs = text.encode("utf-8", "surrogatepass").translate(_RUN_BYTES).split()
        out = " ".join(map(_run_parts.__getitem__, runs))
        if keep:
            _bodies.put(text, out)
    return out


def identifier_tokens(text: str) -> list[str]:
    """Lower-case tokens of `text`: identifier parts plus each whole multi-part identifier."""
    return tokenize_for_index(text).split()


@dataclass(frozen=True, slots=True)
class LexicalDoc:
    chunk_id: int
    path: str
    language: str
    name: str
    header: str
    body: str
    # tokenize_for_index of (name, header, path) when already computed (by the worker)
    tokens: tuple[str, str, str] | None = None
    body_tokens: str | None = None  # ident_body(body) when already computed


def _schema() -> tantivy.Schema:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("chunk_id", stored=True, indexed=True, fast=True)
    sb.add_text_field("path_raw", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("language", stored=False, tokenizer_name="raw", index_option="basic")
    for name in _PY_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="default", index_option="freq")
    sb.add_text_field("body", stored=False, tokenizer_name="ident", index_option="freq")
    sb.add_text_field("body_words", stored=False, tokenizer_name="default", index_option="freq")
    return sb.build()


def _register(index: tantivy.Index, *, split: bool = False) -> tantivy.Index:
    """Register `ident` on `index`: the regex tokenizer, or with `split` (the writing handle,
    fed `ident_body` text) a split at spaces, which yields the same tokens."""
    import tantivy

    if split:
        analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    else:
        analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_IDENT_PATTERN)).filter(
            tantivy.Filter.lowercase()).build()
    index.register_tokenizer("ident", analyzer)
    return index


class LexicalIndex:
    """A tantivy index in `directory`, one document per chunk.

    Two handles on the directory: `_index` parses queries and searches (its `ident` is the
    regex), `_windex` writes (its `ident` splits at spaces: bodies arrive split)."""

    def __init__(self, directory: Path) -> None:
        import tantivy

        self.directory = directory
        self._lock = threading.Lock()
        finish_swap(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index = self._open_checked()
        if index is None:  # damaged: its handle and the failure's traceback are gone
            shutil.rmtree(_set_aside(directory), ignore_errors=True)
            directory.mkdir(parents=True)
            index = _register(tantivy.Index(_schema(), path=str(directory)))
            _write_generation(directory, -1)
        self._index = index
        self._windex: tantivy.Index | None = None
        self._writer: tantivy.IndexWriter | None = None
        self._uncommitted = False  # documents added or deleted since the last commit

    # -- generation ------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return _read_generation(self.directory)

    # -- writing ---------------------------------------------------------------------------

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            if self._windex is None:
                import tantivy

                self._windex = _register(
                    tantivy.Index(_schema(), path=str(self.directory), reuse=True), split=True)
            self._writer = self._windex.writer(heap_size=_HEAP, num_threads=1)
        return self._writer

    def update(self, docs: Iterable[LexicalDoc], deleted_paths: Sequence[str],
               generation: int, *, commit: bool = True) -> None:
        """Delete every document of `deleted_paths`, add `docs`; with `commit`, make them
        searchable and record `generation`. Uncommitted work is invisible and, after a crash,
        lost: the recorded generation then lags the store's, which triggers a rebuild.
        Deleted documents stay in the ranking statistics until `rebuild`."""
        with self._lock:
            writer = self._get_writer()
            for path in deleted_paths:
                writer.delete_documents_by_term("path_raw", path)
            for d in docs:
                writer.add_document(_document(d))
                self._uncommitted = True
            self._uncommitted |= bool(deleted_paths)
            if commit:
                writer.commit()
                self._uncommitted = False
                _write_generation(self.directory, generation)
                self._index.reload()

    def release_writer(self) -> bool:
        """Close the writer between writes (the next write opens it again, in milliseconds;
        closing waits for its merges): it keeps an indexing thread and what its segment
        writing allocated (moby, one process, 10 batches of 5 edits: 12 MB stayed until the
        writer closed). False, and
        nothing closed, while added or deleted documents wait for a commit (closing would
        drop them) or when no writer is open."""
        with self._lock:
            if self._writer is None or self._uncommitted:
                return False
            self._close_writer()
            return True

    def rebuild(self, docs: Iterable[LexicalDoc], generation: int, *,
                swap_if: Callable[[], bool] | None = None,
                should_stop: Callable[[], bool] | None = None, apart: bool = False) -> bool:
        """Replace the index with one of exactly `docs`, recorded at `generation`: written
        beside this one while this one serves, then swapped in, under the lock, if
        `swap_if()` still holds (the caller's check that `docs` are current). False, and the
        new index discarded, when it does not or `should_stop()` turns true while writing.
        A crash at any moment leaves this index or the new one (see `finish_swap`).
        `apart` tokenizes and writes in a process of its own (`_write_fresh_apart`)."""
        staged = _sibling(self.directory, _STAGED)
        write = _write_fresh_apart if apart else _write_fresh
        try:
            if not write(staged, docs, generation, should_stop):
                return False
            with self._lock:
                if swap_if is not None and not swap_if():
                    return False
                self._close_writer()
                _swap(self.directory, staged)
                self._index = self._open_reader()
            return True
        finally:
            shutil.rmtree(staged, ignore_errors=True)

    def _open_checked(self) -> tantivy.Index | None:
        """The index opened and every field read (`_check_fields`), or None, logged, when
        tantivy fails on what it reads."""
        try:
            index = self._open_reader()
            _check_fields(index)
            return index
        except BaseException as exc:
            if not _damage(exc):
                raise
            log.warning("lexical index at %s is unreadable (%s); rebuilding it",
                        self.directory, exc)
            return None

    def _open_reader(self) -> tantivy.Index:
        import tantivy

        return _register(tantivy.Index(_schema(), path=str(self.directory), reuse=True))

    def release_pages(self) -> int:
        """Take the pages that searches read of the segment files tantivy maps out of this
        process (`indexer.core.release_file_mappings`: clean pages, read again on the next
        search); the bytes advised. Soon after a commit tantivy's reader may open the new
        segments again on its own, reading a few pages of each file."""
        from indexer.core import release_file_mappings

        return release_file_mappings(self.directory)

    def deleted_docs(self) -> int:
        """Documents deleted but still in the ranking statistics (tantivy's committed
        `meta.json`: each segment's deletes, until a merge drops them or `rebuild`)."""
        try:
            meta = json.loads((self.directory / "meta.json").read_text())
            return sum(int((seg.get("deletes") or {}).get("num_deleted_docs", 0))
                       for seg in meta.get("segments", ()))
        except (OSError, ValueError, TypeError, AttributeError):
            return 0

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None
        self._windex = None
        self._uncommitted = False

    def close(self) -> None:
        with self._lock:
            self._close_writer()

    # -- reading ---------------------------------------------------------------------------

    def search(self, query: str | Sequence[str | tuple[str, float]],
               limit: int) -> list[tuple[int, float]]:
        """(chunk_id, bm25 score) of the best `limit` chunks for a free-text query, or for
        tokens already made (as `identifier_tokens` makes them; anything else is dropped),
        each plain or as (token, weight): its score is multiplied by the weight."""
        if isinstance(query, str):
            terms = list(dict.fromkeys(identifier_tokens(query)))
        else:
            terms = [_weighted(t) for t in query]
            terms = [t for t in terms if t]
        if not terms or limit <= 0:
            return []
        try:
            q = self._parse(terms)
        except ValueError:  # a term the `ident` tokenizer splits into a phrase (a commit hash
            terms = [t for t in terms if self._parses(t)]  # like cfa3cb76...), and phrases
            if not terms:  # need positions, which are not indexed: such terms are dropped
                return []
            q = self._parse(terms)
        with self._reading():
            searcher = self._index.searcher()
            hits = searcher.search(q, limit).hits
            ids = searcher.fast_field_values("chunk_id", [address for _, address in hits])
        return [(int(cid), float(score)) for (score, _), cid in zip(hits, ids, strict=True)
                if cid is not None]

    def _parse(self, terms: Sequence[str]) -> tantivy.Query:
        return self._index.parse_query(
            " ".join(terms), default_field_names=list(FIELD_BOOSTS), field_boosts=FIELD_BOOSTS)

    def _parses(self, term: str) -> bool:
        try:
            self._parse([term])
        except ValueError:
            return False
        return True

    def known(self, terms: Sequence[str]) -> list[str]:
        """The `terms` that occur in some document (in any field)."""
        terms = [t for t in terms if _TOKEN.fullmatch(t)]
        if not terms:
            return []
        with self._reading():
            searcher = self._index.searcher()
            return [t for t in terms if any(searcher.doc_freq(f, t) for f in FIELD_BOOSTS)]

    def num_docs(self) -> int:
        with self._reading():
            return int(self._index.searcher().num_docs)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Reads of the index's files: tantivy failing on them means damage."""
        try:
            yield
        except BaseException as exc:
            if not _damage(exc):
                raise
            raise LexicalCorrupt(f"the lexical index at {self.directory} is damaged "
                                 f"({type(exc).__name__}: {exc})") from exc


class LexicalCorrupt(RuntimeError):
    """tantivy failed reading the index's files (damaged on disk): rebuild it from the store
    (`RepoIndex.repair_lexical`; `mark_stale` has the next open do it)."""


def _damage(exc: BaseException) -> bool:
    """Whether tantivy failed on what it read: its errors are ValueErrors ("Data corrupted",
    "An IO error occurred"), and bytes it asserts on panic in Rust (pyo3's PanicException,
    a BaseException that cannot be imported by name)."""
    return isinstance(exc, ValueError) or type(exc).__name__ == "PanicException"


def _check_fields(index: tantivy.Index) -> None:
    """Open every indexed field's term dictionary, postings and positions in every segment
    (a `doc_freq` does; milliseconds): tantivy opens them on first use, so a segment file
    damaged or deleted there (`.term`, `.pos`) fails every search but not the open."""
    searcher = index.searcher()
    for field in ("path_raw", "language", *FIELD_BOOSTS):
        searcher.doc_freq(field, "a")


def _document(d: LexicalDoc) -> tantivy.Document:
    """The tantivy document of `d` (tokens computed here unless the worker did)."""
    import tantivy

    name, header, path = d.tokens or (tokenize_for_index(d.name), tokenize_for_index(d.header),
                                      tokenize_for_index(d.path))
    body = d.body_tokens if d.body_tokens is not None else ident_body(d.body)
    return tantivy.Document(
        chunk_id=d.chunk_id, path_raw=d.path, language=d.language, name=name, header=header,
        path=path, body=body, body_words=d.body)


def _read_generation(directory: Path) -> int:
    try:
        return int(json.loads((directory / _GENERATION_FILE).read_text())["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def _write_generation(directory: Path, generation: int) -> None:
    atomic_write_bytes(directory / _GENERATION_FILE, json.dumps({"generation": generation}).encode())


def mark_stale(directory: Path) -> None:
    """Record no generation for the index in `directory` (found damaged): the next open
    rebuilds it from the store (`RepoIndex.sync_lexical`), should this process not."""
    if directory.is_dir():
        _write_generation(directory, -1)


def _sibling(directory: Path, suffix: str) -> Path:
    return directory.with_name(directory.name + suffix)


def _write_fresh(staged: Path, docs: Iterable[LexicalDoc], generation: int,
                 should_stop: Callable[[], bool] | None) -> bool:
    """A new index of `docs` in `staged`, committed, then stamped with `generation` (the
    stamp marks it whole). False when `should_stop()` turned true first."""
    import tantivy

    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    writer = _register(tantivy.Index(_schema(), path=str(staged)), split=True).writer(
        heap_size=_HEAP, num_threads=1)
    stop = should_stop or (lambda: False)
    for n, d in enumerate(docs, 1):
        writer.add_document(_document(d))
        if n % _STOP_EVERY == 0 and stop():
            break
    if stop():  # checked once more before the commit, the longest step
        writer.rollback()
        writer.wait_merging_threads()
        return False
    writer.commit()
    writer.wait_merging_threads()  # the writer's lock file goes with it
    _write_generation(staged, generation)
    fsync_path(staged)
    return True


class LexicalRebuildError(RuntimeError):
    """A rebuild's own process failed or ended before it committed."""


def _write_fresh_apart(staged: Path, docs: Iterable[LexicalDoc], generation: int,
                       should_stop: Callable[[], bool] | None) -> bool:
    """`_write_fresh` in a spawn-started process of its own, `docs` sent to it in batches.

    A serving process that rebuilt in itself (each compaction after edits) tokenized every
    chunk there: moby's 39k filled its token caches with ~20 MB of words and runs, and the
    Python objects of the rebuild left partly used arenas that the allocator cannot give
    back (pymalloc frees an arena only when all of it is free): 8-9 MB more after a run
    of edits in the serving benchmark (docs/benchmarks.md). Here the server only reads the rows and sends them on; the child's
    memory goes with it. `should_stop()` is checked between batches and ends the child.
    """
    from indexer.core.workers import spawning

    with spawning():
        return _write_in_child(staged, docs, generation, should_stop or (lambda: False))


def _write_in_child(staged: Path, docs: Iterable[LexicalDoc], generation: int,
                    stop: Callable[[], bool]) -> bool:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_fresh_child, args=(str(staged), generation, theirs, os.getpid()),
                        name="sextant-lexical-rebuild", daemon=True)
    child.start()
    theirs.close()
    committed = False
    try:
        batch: list[LexicalDoc] = []
        for d in docs:
            batch.append(d)
            if len(batch) >= _APART_BATCH:
                ours.send(batch)
                batch = []
                if stop():
                    return False
        ours.send(batch)
        if stop():
            return False
        ours.send(None)  # the end: commit
        outcome = ours.recv()  # the child's True, or its error's text
        if outcome is not True:
            raise LexicalRebuildError(f"the lexical rebuild's process failed: {outcome}")
        committed = True
        return True
    except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
        raise LexicalRebuildError(f"the lexical rebuild's process ended early ({exc!r})") from exc
    finally:
        ours.close()
        if committed:  # it exits once it has said so
            child.join(_APART_JOIN_S)
        if child.is_alive():  # stopped (a server shutting down waits for no commit) or failed
            child.kill()
        child.join()


def _fresh_child(staged: str, generation: int, conn: Any, parent: int) -> None:
    """The body of `_write_fresh_apart`'s process: documents in batches until None, then
    the commit; sends True, or the text of what failed."""
    from indexer.core.workers import exit_with_parent

    os.dup2(2, 1)  # under stdio, the stdout it inherited is the MCP protocol's: never write there
    exit_with_parent(parent)

    def docs() -> Iterator[LexicalDoc]:
        while (batch := conn.recv()) is not None:
            yield from batch

    try:
        done = _write_fresh(Path(staged), docs(), generation, None)
    except EOFError:  # the server stopped the rebuild (or is gone): nothing to report
        return
    except Exception as exc:  # noqa: BLE001 - reported to the server, which raises it
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send(done)


def _set_aside(directory: Path) -> Path:
    """Rename `directory` to a sibling of its own (`lexical.old`, or `lexical.old-<n>` while
    an earlier one cannot be removed) and return it. Removing the index in place could fail:
    a handle tantivy still closes (its reader's threads) may write a file into it meanwhile,
    and a directory that is not empty is not removed (`OSError: Directory not empty`)."""
    aside = _sibling(directory, _OLD)
    shutil.rmtree(aside, ignore_errors=True)
    if aside.exists():
        aside = _sibling(directory, f"{_OLD}-{os.getpid()}-{time.monotonic_ns()}")
    directory.rename(aside)
    return aside


def _swap(directory: Path, staged: Path) -> None:
    """Put `staged` where `directory` is. Two renames: a crash between them leaves no
    `directory` and a whole `staged`, which `finish_swap` moves in on the next open."""
    aside = _set_aside(directory) if directory.exists() else None
    staged.rename(directory)
    fsync_path(directory.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def finish_swap(directory: Path) -> None:
    """Complete or undo a `rebuild` a crash interrupted: with `directory` gone, the new
    index if it was whole (stamped), else the old one; then remove what is left over."""
    staged, old = _sibling(directory, _STAGED), _sibling(directory, _OLD)
    if not directory.exists():
        if (staged / _GENERATION_FILE).exists():
            staged.rename(directory)
        elif old.exists():
            old.rename(directory)
    asides = directory.parent.glob(glob.escape(directory.name + _OLD) + "-*")  # `_set_aside`
    for leftover in (staged, old, *asides):
        if leftover.exists():
            log.info("removing %s, left by an interrupted lexical rebuild", leftover)
            shutil.rmtree(leftover, ignore_errors=True)


def _weighted(term: str | tuple[str, float]) -> str:
    """A query term for the parser: a token, boosted when a weight other than 1 is given;
    '' for anything that is not a token (the parser never sees query syntax)."""
    token, weight = (term, 1.0) if isinstance(term, str) else term
    if not _TOKEN.fullmatch(token) or not weight > 0:
        return ""
    if len(token) >= _LONG_TOKEN and not token.isalpha() and not token.isdigit():
        return ""  # a hash: the parser would make a phrase of its parts (no positions)
    return token if weight == 1.0 else f"{token}^{weight:.4f}"
