"""`FileRecord`: what a parse worker learned about one file, on its way to the store.

Kept apart from `indexer.store.db` so that parse workers, which build and pickle records, never
import duckdb.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from indexer.core import Chunk, Import, ParsedFile, Reference, Symbol

_SYMBOL_ATTRS = operator.attrgetter(
    "name", "qualname", "kind", "signature", "doc", "parent", "start_line", "end_line",
    "start_byte", "end_byte", "bases", "returns")
_REF_ATTRS = operator.attrgetter("name", "kind", "line", "start_byte", "scope", "qualifier")
_IMPORT_ATTRS = operator.attrgetter("module", "line", "names", "level")
_CHUNK_ATTRS = operator.attrgetter(
    "start_line", "end_line", "start_byte", "end_byte", "symbol", "kind", "header", "text",
    "tokens")


class FileRecord:
    """Everything the pipeline learned about one file, ready to be written.

    A record crosses from a worker process to the writer by pickling. Its symbols, references,
    imports and chunks travel as plain tuples (in the field order of the store's tables), and
    the writer builds its Arrow columns from those tuples directly: unpickling some 200k
    frozen dataclass instances cost the writer process about a second of moby's build.
    `parsed` and `chunks` are rebuilt from the tuples only when asked for.
    `lexical` holds the chunks' tokens for the lexical index (path, then (name, header,
    body identifier parts) per chunk), computed in the worker; None means compute them when
    needed. `static` holds the chunks' static vectors when a worker computed them: the
    static tier's model id and the float16 rows, one per chunk, as bytes (parse workers do
    not need numpy to carry them).
    """

    __slots__ = (
        "_chunk_rows",
        "_chunks",
        "_packed",
        "_parsed",
        "chunk_hashes",
        "content_hash",
        "language",
        "lexical",
        "lines",
        "mtime_ns",
        "path",
        "size",
        "static",
    )

    # one parameter per field: a record's constructor, on the pickling hot path
    def __init__(self, path: str, language: str | None, size: int, mtime_ns: int,  # noqa: PLR0913
                 content_hash: str, lines: int, parsed: ParsedFile | None, chunks: list[Chunk],
                 chunk_hashes: list[str],
                 lexical: tuple[str, list[tuple[str, str, str]]] | None = None) -> None:
        self.path = path
        self.language = language
        self.size = size
        self.mtime_ns = mtime_ns
        self.content_hash = content_hash
        self.lines = lines
        self.chunk_hashes = chunk_hashes
        self.lexical = lexical
        self.static: tuple[str, bytes] | None = None
        self._parsed = parsed
        self._chunks: list[Chunk] | None = chunks
        self._packed: tuple[Any, ...] | None = None
        self._chunk_rows: list[tuple[Any, ...]] | None = None

    def __repr__(self) -> str:
        return f"FileRecord(path={self.path!r}, language={self.language!r}, size={self.size})"

    # -- packed form (pickling) ------------------------------------------------------------

    def packed_parsed(self) -> tuple[Any, ...] | None:
        """(language, error, symbol columns, reference columns, import columns), or None;
        each table's columns in field order (the store's, without file_id)."""
        if self._packed is None and self._parsed is not None:
            p = self._parsed
            self._packed = (p.language, p.error, _transpose(map(_SYMBOL_ATTRS, p.symbols), 12),
                            _transpose(map(_REF_ATTRS, p.references), 6),
                            _transpose(map(_IMPORT_ATTRS, p.imports), 4))
        return self._packed

    def chunk_rows(self) -> list[tuple[Any, ...]]:
        """The chunks as columns, in `Chunk` field order."""
        if self._chunk_rows is None:
            self._chunk_rows = _transpose(map(_CHUNK_ATTRS, self._chunks or ()), 9)
        return self._chunk_rows

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpack_record, (self.path, self.language, self.size, self.mtime_ns,
                                 self.content_hash, self.lines, self.packed_parsed(),
                                 self.chunk_rows(), self.chunk_hashes, self.lexical,
                                 self.static))

    # -- object form -----------------------------------------------------------------------

    @property
    def parsed(self) -> ParsedFile | None:
        if self._parsed is None and self._packed is not None:
            lang, error, syms, refs, imps = self._packed
            self._parsed = ParsedFile(
                lang, [Symbol(*r) for r in zip(*syms)], [Reference(*r) for r in zip(*refs)],
                [Import(*r) for r in zip(*imps)], error)
        return self._parsed

    @property
    def chunks(self) -> list[Chunk]:
        if self._chunks is None:
            self._chunks = [Chunk(*r) for r in zip(*self._chunk_rows or ())]
        return self._chunks

    @property
    def n_chunks(self) -> int:
        if self._chunks is not None:
            return len(self._chunks)
        return len(self._chunk_rows[0]) if self._chunk_rows else 0

    @property
    def n_symbols(self) -> int:
        packed = self.packed_parsed()
        return len(packed[2][0]) if packed is not None else 0


def _transpose(rows: Iterable[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    """Rows as `width` column tuples (empty tuples when there are no rows)."""
    return list(zip(*rows, strict=True)) or [() for _ in range(width)]


def _unpack_record(path: str, language: str | None, size: int, mtime_ns: int,  # noqa: PLR0913
                   content_hash: str, lines: int, packed: tuple[Any, ...] | None,
                   chunk_rows: list[tuple[Any, ...]] | None, chunk_hashes: list[str],
                   lexical: tuple[str, list[tuple[str, str, str]]] | None,
                   static: tuple[str, bytes] | None = None) -> FileRecord:
    rec = FileRecord(path, language, size, mtime_ns, content_hash, lines, None, None,  # type: ignore[arg-type]
                     chunk_hashes, lexical)
    rec.static = static
    rec._packed = packed
    rec._chunk_rows = chunk_rows
    return rec
