"""In-memory lookup tables behind search_code, rebuilt when the index changes.

Ranking needs, for every candidate chunk, its file, lines, symbol and kind; for every
identifier in a query, the chunks defining it; and for every candidate file, its import-
graph centrality. Point lookups in DuckDB cost milliseconds each, so these tables are read
once per store generation (and graph generation) into typed columns (the chunks, the
symbols) and dictionaries (files, graph priors), after which a query touches DuckDB only to
read the text of the hits it returns. `get_symbol` and `expand_dependencies` read their
definitions (signatures and docstrings too) here: scans of the symbols table cost them
3-15 ms a call on moby. The price is memory proportional to the number of chunks and
symbols (on moby, 3k files, 38k chunks, 26k symbols: 11.3 MB traced, 2.6 MB of it the
signatures and docstrings; docs/benchmarks.md) and one reload after each index update.
"""

from __future__ import annotations

import bisect
import operator
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from sys import intern
from typing import Any, TypeVar

from indexer.core import duckdb
from indexer.store.db import GenerationCache, Store

ChunkMeta = tuple[int, int, int, str | None, str]  # file_id, start, end, symbol, kind
SymbolRow = tuple[int, str, str, str, int]  # file_id, name, qualname, kind, start_line
MemberRow = tuple[str, str, int, int]  # qualname, kind, start_line, end_line
# name, qualname, kind, path, start line, end line, language, signature, doc, bases (None)
Definition = tuple[str, str, str, str, int, int, str | None, str, str, None]
_OUTLINE_RANK = {"class": 0, "interface": 0, "struct": 0, "trait": 0, "enum": 0,
                 "function": 1, "method": 1}
_K = TypeVar("_K", str, int)
_R = TypeVar("_R")


_CHUNKS = """
SELECT chunk_id, file_id::BIGINT AS file_id, start_line::INTEGER AS start_line,
       end_line::INTEGER AS end_line,
       (CASE WHEN symbol IS NULL THEN -1
             ELSE dense_rank() OVER (ORDER BY symbol NULLS LAST) - 1 END)::INTEGER AS symbol,
       (dense_rank() OVER (ORDER BY kind) - 1)::INTEGER AS kind
FROM chunks ORDER BY chunk_id
"""
# positions (in chunk id order) of the chunks ordered by file, start line and chunk id
_BY_FILE = """
SELECT list(pos ORDER BY file_id, start_line, chunk_id) FROM (
  SELECT (row_number() OVER (ORDER BY chunk_id) - 1)::INTEGER AS pos, file_id, start_line,
         chunk_id FROM chunks)
"""


class ChunkTable(Mapping[int, ChunkMeta]):
    """chunk id -> (file id, start line, end line, symbol, kind), held as typed columns
    (stdlib `array`: a dict of tuples, rebuilt after every index update, left holes in the
    heap; moby has 38k chunks) sorted by chunk id, with each file's chunks by start line.
    No numpy: a CLI search loads this table on every run, and importing numpy would cost
    it more than the table does."""

    def __init__(self, columns: Sequence[Sequence[int] | None], symbols: list[str],
                 kinds: list[str]) -> None:
        """`columns`: chunk ids, file ids, start and end lines, symbol indexes (-1: none),
        kind indexes, all in chunk id order; then the positions of the chunks ordered by
        (file, start line, chunk id). A None column is empty (a store without chunks)."""
        ids, files, starts, ends, symbols_at, kinds_at, by_file = (c or () for c in columns)
        self._ids, self._file = array("q", ids), array("q", files)
        self._start, self._end = array("i", starts), array("i", ends)
        self._symbol, self._kind = array("i", symbols_at), array("i", kinds_at)
        self._symbols, self._kinds = symbols, kinds
        self._by_file = array("i", by_file)
        self._files = array("q", map(self._file.__getitem__, self._by_file))

    def _find(self, chunk_id: int) -> int | None:
        i = bisect.bisect_left(self._ids, chunk_id)
        return i if i < len(self._ids) and self._ids[i] == chunk_id else None

    def __getitem__(self, chunk_id: int) -> ChunkMeta:
        i = self._find(chunk_id)
        if i is None:
            raise KeyError(chunk_id)
        s = self._symbol[i]
        return (self._file[i], self._start[i], self._end[i],
                None if s < 0 else self._symbols[s], self._kinds[self._kind[i]])

    def __contains__(self, chunk_id: object) -> bool:
        try:
            return self._find(operator.index(chunk_id)) is not None  # type: ignore[arg-type]
        except TypeError:
            return False

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def of_file(self, file_id: int) -> list[tuple[int, int, int]]:
        """(start, end, chunk id) of the chunks of `file_id`, by start line."""
        lo = bisect.bisect_left(self._files, file_id)
        hi = bisect.bisect_right(self._files, file_id, lo)
        return [(self._start[i], self._end[i], self._ids[i]) for i in self._by_file[lo:hi]]


class _Texts:
    """Strings as one UTF-8 buffer and their end offsets (moby's 26k signatures and docs:
    2.2 MB of text, twice that as str objects). An empty or missing text reads as ""."""

    __slots__ = ("_buf", "_ends")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._ends = array("I")

    def append(self, text: str | None) -> None:
        if text:
            self._buf += text.encode()
        self._ends.append(len(self._buf))

    def __getitem__(self, j: int) -> str:
        return self._buf[self._ends[j - 1] if j else 0:self._ends[j]].decode()


class _SymbolRows:
    """The symbols' rows as columns, in (file, start line, end line descending) order."""

    __slots__ = ("doc", "end", "file", "kind", "kinds", "name", "qual", "sig", "start", "top")

    def __init__(self) -> None:
        self.file, self.start, self.end = array("q"), array("i"), array("i")
        self.name: list[str] = []  # interned: one copy of each name
        self.qual: list[str] = []
        self.kind = array("b")
        self.kinds: list[str] = []
        self.sig, self.doc = _Texts(), _Texts()  # signature, docstring
        self.top = array("b")  # 1: a definition with no parent

    def add(self, row: tuple[Any, ...], kind_ids: dict[str, int]) -> None:
        """Append a row (file id, name, qualname, kind, start, end, signature, doc, whether
        it has no parent), in the order above."""
        fid, name, qual, kind, start, end, sig, doc, top = row
        k = kind_ids.get(kind)
        if k is None:
            k = kind_ids[kind] = len(self.kinds)
            self.kinds.append(kind)
        self.file.append(fid)
        self.name.append(intern(name))
        self.qual.append(intern(qual))
        self.kind.append(k)
        self.start.append(start)
        self.end.append(end)
        self.sig.append(sig)
        self.doc.append(doc)
        self.top.append(top)


class _Grouped(Mapping[_K, list[_R]]):
    """Rows under sorted keys: the rows of the i-th key are `order[starts[i]:starts[i + 1]]`,
    made into tuples (`_row`) when asked."""

    def __init__(self, rows: _SymbolRows, keyed: Sequence[_K], order: Sequence[int]) -> None:
        """`keyed[n]`: the key of row `order[n]`, in key order."""
        self._rows = rows
        self._keys: list[_K] = []
        starts = array("i")
        for n, key in enumerate(keyed):
            if not self._keys or key != self._keys[-1]:
                self._keys.append(key)
                starts.append(n)
        starts.append(len(keyed))
        self._order, self._starts = order, starts

    def _row(self, j: int) -> _R:
        raise NotImplementedError

    @property
    def columns(self) -> _SymbolRows:
        return self._rows

    def positions(self, key: _K) -> Sequence[int]:
        """The rows of `key` as positions in `columns` (none for an unknown key)."""
        i = bisect.bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            return ()
        return self._order[self._starts[i]:self._starts[i + 1]]

    def __getitem__(self, key: _K) -> list[_R]:
        at = self.positions(key)
        if not at:
            raise KeyError(key)
        return [self._row(j) for j in at]

    def __contains__(self, key: object) -> bool:
        keys: list[Any] = self._keys
        try:
            i = bisect.bisect_left(keys, key)
        except TypeError:  # a key of another type
            return False
        return i < len(keys) and bool(keys[i] == key)

    def __iter__(self) -> Iterator[_K]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class SymbolTable(_Grouped[str, SymbolRow]):
    """lower-cased name -> its definitions (file id, name, qualname, kind, start line), in
    file and line order; the keys sorted in `names` (prefix lookups: `SearchTables.with_prefix`).
    Columns, not a dict of tuples: moby's 26k symbols were 52k tuples in lists, rebuilt
    after every index update (docs/benchmarks.md "Serving memory")."""

    def __init__(self, rows: _SymbolRows) -> None:
        lowered = [n.lower() for n in rows.name]
        order = sorted(range(len(lowered)), key=lowered.__getitem__)  # stable: file order
        super().__init__(rows, [lowered[j] for j in order], array("i", order))

    @property
    def names(self) -> list[str]:
        return self._keys

    def _row(self, j: int) -> SymbolRow:
        r = self._rows
        return (r.file[j], r.name[j], r.qual[j], r.kinds[r.kind[j]], r.start[j])


class MemberTable(_Grouped[int, MemberRow]):
    """file id -> its definitions (qualname, kind, start line, end line) by start line, then
    widest first, over the same columns as `SymbolTable`."""

    def __init__(self, rows: _SymbolRows) -> None:
        super().__init__(rows, rows.file, range(len(rows.file)))  # the rows are in file order

    def _row(self, j: int) -> MemberRow:
        r = self._rows
        return (r.qual[j], r.kinds[r.kind[j]], r.start[j], r.end[j])


@dataclass(slots=True)
class SearchTables:
    key: tuple[int, str | None]
    chunks: ChunkTable
    files: dict[int, tuple[str, str | None]]  # file_id -> (path, language)
    symbols: SymbolTable  # lower-cased name -> definitions
    members: MemberTable  # file_id -> definitions by (start, -end)
    names: list[str]  # sorted lower-cased names, for prefix lookups
    rank: dict[str, float]  # path -> PageRank / max PageRank
    importers: dict[str, set[str]]  # path -> paths of files importing it
    file_ids: dict[str, int]  # path -> file_id, every indexed file

    def chunk_at(self, file_id: int, line: int) -> int | None:
        """The chunk of `file_id` that contains `line` (the narrowest one)."""
        best: tuple[int, int] | None = None
        for start, end, cid in self.chunks.of_file(file_id):
            if start <= line <= end and (best is None or end - start < best[0]):
                best = (end - start, cid)
        return best[1] if best else None

    def location(self, chunk_id: int) -> tuple[str, int, int]:
        """(path, start line, end line) of a chunk: the same in every build of the same files,
        unlike its id. A chunk unknown here (written after these tables) sorts last."""
        chunk = self.chunks.get(chunk_id)
        if chunk is None:
            return ("\uffff", 0, 0)
        return (self.files.get(chunk[0], ("\uffff", None))[0], chunk[1], chunk[2])

    def definitions(self, name: str, *, qualified: bool = True) -> list[Definition]:
        """The definitions named `name` (`qualified`: whose qualified name is `name` or ends
        with "." + `name`, e.g. `Daemon.Start` for `Start`; else whose own name is `name`),
        in file and line order. A qualified name ends with its own name, which may hold
        dots itself: each dotted tail of `name` is looked up."""
        cols = self.symbols.columns
        parts = name.split(".")
        tails = [".".join(parts[i:]).lower() for i in range(len(parts))] if qualified else [
            name.lower()]
        at = sorted({j for tail in dict.fromkeys(tails) for j in self.symbols.positions(tail)})
        suffix = "." + name
        out: list[Definition] = []
        for j in at:
            if qualified and not (cols.qual[j] == name or cols.qual[j].endswith(suffix)):
                continue
            if not qualified and cols.name[j] != name:
                continue
            path, language = self.files.get(cols.file[j], ("", None))
            out.append((cols.name[j], cols.qual[j], cols.kinds[cols.kind[j]], path,
                        cols.start[j], cols.end[j], language, cols.sig[j], cols.doc[j], None))
        return out

    def outline(self, file_id: int) -> list[tuple[int, str, str]]:
        """(kind rank, signature, docstring) of a file's definitions that are not nested in
        another, methods included, by kind rank (types 0, functions 1, others 2) then line."""
        cols = self.members.columns
        found = [(_OUTLINE_RANK.get(cols.kinds[cols.kind[j]], 2), cols.start[j], j)
                 for j in self.members.positions(file_id)
                 if cols.top[j] or cols.kinds[cols.kind[j]] == "method"]
        found.sort(key=lambda f: f[:2])  # stable: the same line keeps the widest first
        return [(rank, cols.sig[j], cols.doc[j]) for rank, _, j in found]

    def with_prefix(self, prefix: str, limit: int = 200) -> list[str]:
        lo = bisect.bisect_left(self.names, prefix)
        out: list[str] = []
        for name in self.names[lo:lo + limit]:
            if not name.startswith(prefix):
                break
            out.append(name)
        return out


def search_tables(store: Store, *, wait: bool = False) -> SearchTables:
    """The tables for `store`'s current generation (loaded on first use after a change;
    `wait`: see `GenerationCache.get`)."""
    return _CACHE.get(store, wait=wait)


def _load_chunks(store: Store) -> ChunkTable:
    with store.snapshot() as cur:
        symbols = [intern(r[0]) for r in cur.execute(
            "SELECT DISTINCT symbol FROM chunks WHERE symbol IS NOT NULL ORDER BY 1").fetchall()]
        kinds = [intern(r[0]) for r in cur.execute(
            "SELECT DISTINCT kind FROM chunks ORDER BY 1").fetchall()]
        columns: list[Sequence[int] | None] = [
            *zip(*cur.execute(_CHUNKS).fetchall(), strict=True)] or [None] * 6
        by_file = (cur.execute(_BY_FILE).fetchone() or (None,))[0]
    return ChunkTable([*columns, by_file], symbols, kinds)


def _load(store: Store, key: tuple[int, str | None]) -> SearchTables:
    chunks = _load_chunks(store)
    files = {r[0]: (r[1], r[2]) for r in store.query("SELECT file_id, path, language FROM files")}
    rows = _SymbolRows()
    kind_ids: dict[str, int] = {}
    for row in store.stream(
            "SELECT file_id, name, qualname, kind, start_line, end_line, signature, doc, "
            "parent IS NULL FROM symbols ORDER BY file_id, start_line, end_line DESC"):
        rows.add(row, kind_ids)
    symbols = SymbolTable(rows)
    rank, importers = _graph(store)
    return SearchTables(key, chunks, files, symbols, MemberTable(rows), symbols.names,
                        rank, importers, {p: fid for fid, (p, _) in files.items()})


def _graph(store: Store) -> tuple[dict[str, float], dict[str, set[str]]]:
    """File PageRank (normalised to the maximum) and importers; empty before a graph build."""
    try:
        ranks = store.query("SELECT path, rank FROM file_rank")
        edges = store.query("SELECT DISTINCT src_path, dst_path FROM file_edges "
                            "WHERE dst_kind = 'file' AND src_path <> dst_path")
    except duckdb.Error:
        return {}, {}
    top = max((r for _, r in ranks), default=0.0) or 1.0
    importers: dict[str, set[str]] = {}
    for src, dst in edges:
        importers.setdefault(dst, set()).add(src)
    return {p: (r or 0.0) / top for p, r in ranks}, importers


_CACHE: GenerationCache[SearchTables] = GenerationCache(_load)
