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
signatures and docstrings; docs/benchmarks.md) and an update after each index update
(the rows of the files it changed: `build_search_tables`).
"""

from __future__ import annotations

import bisect
import operator
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from sys import intern
from typing import Any, Protocol, TypeVar

from indexer.core import duckdb
from indexer.store.db import EDGES_GENERATION, GenerationCache, Store, keep_equal, same_rows

ChunkMeta = tuple[int, int, int, str | None, str]  # file_id, start, end, symbol, kind
SymbolRow = tuple[int, str, str, str, int]  # file_id, name, qualname, kind, start_line
MemberRow = tuple[str, str, int, int]  # qualname, kind, start_line, end_line
# name, qualname, kind, path, start line, end line, language, signature, doc, bases (None)
Definition = tuple[str, str, str, str, int, int, str | None, str, str, None]
_OUTLINE_RANK = {"class": 0, "interface": 0, "struct": 0, "trait": 0, "enum": 0,
                 "function": 1, "method": 1}
_K = TypeVar("_K", str, int)
_R = TypeVar("_R")
_D = TypeVar("_D", bound="Derived")


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
    No numpy to read it: a CLI search loads this table on every run, and importing numpy
    would cost it more than the table does. Its update after a batch of edits (`updated`,
    a live index's, in a server that has numpy loaded) uses numpy: in Python loops it was
    most of the search tables' reload."""

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

    def updated(self, gone: Sequence[int], rows: Sequence[tuple[Any, ...]]) -> ChunkTable | None:
        """This table without the chunks of the files `gone` and with `rows` (chunk id, file
        id, start, end, symbol, kind), the chunks of files written since, appended. None
        when they do not all come after every chunk kept (ids only grow: a file written
        again has a new file id and new chunk ids), which a read of everything handles.
        A symbol or kind name no chunk uses any more stays in the name lists until the next
        whole read (one string each; an edit mostly keeps the names it had)."""
        import numpy as np  # a server's update only (see the class docstring)

        by_file = np.frombuffer(self._by_file, dtype=np.int32)
        keep = np.ones(len(self._ids), dtype=bool)
        for fid in gone:
            lo = bisect.bisect_left(self._files, fid)
            keep[by_file[lo:bisect.bisect_right(self._files, fid, lo)]] = False
        kept_files = np.frombuffer(self._file, dtype=np.int64)[keep]
        rows = sorted(rows)
        if rows and ((len(kept_files) and min(r[1] for r in rows) <= kept_files.max())
                     or (len(self._ids) and rows[0][0] <= self._ids[-1])):
            return None
        symbols, kinds = list(self._symbols), list(self._kinds)
        symbol_at = {name: i for i, name in enumerate(symbols)}
        kind_at = {name: i for i, name in enumerate(kinds)}

        def number(value: str, at: dict[str, int], names: list[str]) -> int:
            i = at.get(value)
            if i is None:
                i = at[value] = len(names)
                names.append(intern(value))
            return i

        new_symbols = [-1 if r[4] is None else number(r[4], symbol_at, symbols) for r in rows]
        new_kinds = [number(r[5], kind_at, kinds) for r in rows]
        position = np.cumsum(keep, dtype=np.int64)  # a kept row's new position, plus one
        n = int(position[-1]) if len(position) else 0
        added = sorted(range(n, n + len(rows)),
                       key=lambda j: (rows[j - n][1], rows[j - n][2], rows[j - n][0]))
        order = np.concatenate([position[by_file[keep[by_file]]] - 1,
                                np.asarray(added, dtype=np.int64)])

        def column(code: str, old: array[int], new: Any) -> array[int]:
            kept = np.frombuffer(old, dtype=np.int64 if code == "q" else np.int32)[keep]
            out = array(code, kept.tobytes())
            out.extend(array(code, new))
            return out

        table = ChunkTable.__new__(ChunkTable)
        table._ids = column("q", self._ids, (r[0] for r in rows))
        table._file = column("q", self._file, (r[1] for r in rows))
        table._start = column("i", self._start, (r[2] for r in rows))
        table._end = column("i", self._end, (r[3] for r in rows))
        table._symbol = column("i", self._symbol, new_symbols)
        table._kind = column("i", self._kind, new_kinds)
        table._symbols, table._kinds = symbols, kinds
        table._by_file = array("i", order.astype(np.int32).tobytes())
        table._files = array("q", np.frombuffer(table._file, dtype=np.int64)[order].tobytes())
        return table

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

    def extend(self, other: _Texts, lo: int, hi: int) -> None:
        """Append `other`'s texts `lo` to `hi` - 1."""
        if hi <= lo:
            return
        import numpy as np  # a server's update only (see `ChunkTable`)

        start = other._ends[lo - 1] if lo else 0
        shift = len(self._buf) - start
        self._buf += other._buf[start:other._ends[hi - 1]]
        ends = np.frombuffer(other._ends, dtype=np.uint32)[lo:hi].astype(np.int64) + shift
        self._ends.frombytes(ends.astype(np.uint32).tobytes())


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

    def updated(self, gone: Sequence[int], rows: Sequence[tuple[Any, ...]]
                ) -> tuple[_SymbolRows, list[tuple[int, int]]] | None:
        """A copy without the rows of the files `gone` and with `rows` (as `add` takes them,
        in order) appended, and the ranges of this one's rows it left out; None when those
        rows' files do not come after every file kept (the rows' order is by file)."""
        cut = []
        for fid in sorted(gone):
            lo = bisect.bisect_left(self.file, fid)
            cut.append((lo, bisect.bisect_right(self.file, fid, lo)))
        out = _SymbolRows()
        out.kinds = list(self.kinds)
        at = 0
        for lo, hi in [*cut, (len(self.file), len(self.file))]:
            out._extend(self, at, lo)
            at = max(at, hi)
        if rows and len(out.file) and rows[0][0] <= out.file[-1]:
            return None
        kind_ids = {kind: i for i, kind in enumerate(out.kinds)}
        for row in rows:
            out.add(row, kind_ids)
        return out, cut

    def _extend(self, other: _SymbolRows, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        self.file += other.file[lo:hi]
        self.start += other.start[lo:hi]
        self.end += other.end[lo:hi]
        self.name += other.name[lo:hi]
        self.qual += other.qual[lo:hi]
        self.kind += other.kind[lo:hi]
        self.sig.extend(other.sig, lo, hi)
        self.doc.extend(other.doc, lo, hi)
        self.top += other.top[lo:hi]

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

    @classmethod
    def _of(cls, rows: _SymbolRows, keys: list[_K], order: Sequence[int],
            starts: array[int]) -> Any:
        """A table over `rows` with its keys, order and starts given (see `__init__`)."""
        table = cls.__new__(cls)
        table._rows, table._keys, table._order, table._starts = rows, keys, order, starts
        return table

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


class Derived(Protocol):
    """What a layer above derives from a symbol table's rows (`SymbolTable.derived`), brought
    along to the next generation's table by `updated` instead of derived again."""

    def updated(self, old: _SymbolRows, new: _SymbolRows,
                cut: Sequence[tuple[int, int]]) -> Derived | None:
        """This for `new`: `old` without its rows in the ranges `cut`, then rows of its own
        (`_SymbolRows.updated`); None to derive it again when asked."""


class SymbolTable(_Grouped[str, SymbolRow]):
    """lower-cased name -> its definitions (file id, name, qualname, kind, start line), in
    file and line order; the keys sorted in `names` (prefix lookups: `SearchTables.with_prefix`).
    Columns, not a dict of tuples: moby's 26k symbols were 52k tuples in lists, rebuilt
    after every index update (docs/benchmarks.md "Serving memory").

    `derived`: what the tools derive from the rows (the name words' index of
    `tools.search_names`), by a key of their own; it lives as long as the table, and the
    next generation's table brings it along (each `Derived.updated`): `updated` with the
    rows it changed, a table read whole (`last`) with all of them."""

    derived: dict[str, Derived]

    def __init__(self, rows: _SymbolRows, last: SymbolTable | None = None) -> None:
        """`last`: the last generation's table, whose key strings the equal keys become
        (not 15k new ones on moby, made after every batch among its garbage, where they
        kept half-empty pages alive; not interned either: that table of the interpreter's
        grew by 1-2 MB for them)."""
        same = same_rows([] if last is None else [last.names])
        lowered = [same.get(key, key) for key in (n.lower() for n in rows.name)]
        order = sorted(range(len(lowered)), key=lowered.__getitem__)  # stable: file order
        super().__init__(rows, [lowered[j] for j in order], array("i", order))
        # what was derived from the last table, derived again here, in the loader's thread,
        # not on the next query
        self.derived = {} if last is None else last._carried(rows, [(0, len(last._rows.file))])

    def derive(self, key: str, kind: type[_D], build: Callable[[_SymbolRows], _D]) -> _D:
        """What a layer above derives from these rows under `key` (`derived`): the one
        carried or built before, else `build(columns)`, kept."""
        found = self.derived.get(key)
        if not isinstance(found, kind):
            found = build(self._rows)
            self.derived[key] = found
        return found

    def updated(self, rows: _SymbolRows, cut: Sequence[tuple[int, int]]) -> SymbolTable:
        """The table over `rows`: this table's rows without the ranges `cut`, in their order,
        then rows of their own (`_SymbolRows.updated`); what `SymbolTable(rows, self)` makes,
        with the new rows' names lower-cased and sorted in, not all of them again (moby:
        26k names sorted after every batch of edits)."""
        import numpy as np  # a server's update only (see `ChunkTable`)

        from indexer.core.arrays import kept_rows, updated_values

        old = len(self._rows.file)
        keep = kept_rows(old, cut)
        row_key = np.empty(old, dtype=np.int32)  # each old row's key, as its index
        sizes: np.ndarray = np.diff(np.asarray(self._starts, dtype=np.int64))
        row_key[np.asarray(self._order, dtype=np.int32)] = np.repeat(
            np.arange(len(self._keys), dtype=np.int32), sizes)
        kept_key = row_key[keep]
        added = [n.lower() for n in rows.name[len(kept_key):]]
        keys, at, remap = updated_values(self._keys, kept_key, added, self._find_key)
        if remap is not None:
            kept_key = remap[kept_key]
        added_key = np.array([bisect.bisect_left(keys, k) if at is None else at[k]
                              for k in added], dtype=np.int32)
        rank = np.concatenate([kept_key, added_key])
        order = np.argsort(rank, kind="stable").astype(np.int32)
        starts = np.searchsorted(rank[order], np.arange(len(keys) + 1)).astype(np.int32)
        table: SymbolTable = SymbolTable._of(rows, keys, array("i", order.tobytes()),
                                             array("i", starts.tobytes()))
        table.derived = self._carried(rows, cut)
        return table

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (`evals.retrievals` keeps tables) without `derived`, which is derived again
        where it is wanted, and read back with none (a pickle made before `derived` too)."""
        return {k: v for k, v in self.__dict__.items() if k != "derived"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.derived = {}

    def _carried(self, rows: _SymbolRows, cut: Sequence[tuple[int, int]]) -> dict[str, Derived]:
        """`derived` brought to `rows` (see `updated`)."""
        out = {}
        for name, derived in list(self.derived.items()):  # (a query may add one meanwhile)
            carried = derived.updated(self._rows, rows, cut)
            if carried is not None:
                out[name] = carried
        return out

    def _find_key(self, key: str) -> int | None:
        i = bisect.bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else None

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

    @classmethod
    def over(cls, rows: _SymbolRows) -> MemberTable:
        """`MemberTable(rows)` with numpy: a server's update (see `ChunkTable`)."""
        import numpy as np

        files = np.asarray(rows.file, dtype=np.int64)
        first = np.flatnonzero(np.concatenate([[True], files[1:] != files[:-1]])) if len(
            files) else np.zeros(0, dtype=np.int64)
        starts = array("i", first.astype(np.int32).tobytes())
        starts.append(len(files))
        table: MemberTable = cls._of(rows, files[first].tolist(), range(len(files)), starts)
        return table

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
    edges_mark: str | None = None  # meta `edges_generation` when rank and importers were read
    # file_id -> (size, mtime_ns) as indexed: an answer's files are checked against the disk
    # with it (`indexer.live.events.changed_since_indexed`), no query per answer
    stats: dict[int, tuple[int, int]] = field(default_factory=dict)

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

    def texts(self, path: str, qualname: str, start: int, end: int) -> tuple[str, str] | None:
        """(signature, docstring) of the definition `qualname` of `path` on lines `start`
        to `end`; None where these tables hold no such definition (another generation's)."""
        file_id = self.file_ids.get(path)
        if file_id is None:
            return None
        cols = self.members.columns
        for j in self.members.positions(file_id):
            if cols.start[j] == start and cols.end[j] == end and cols.qual[j] == qualname:
                return cols.sig[j], cols.doc[j]
        return None

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


def loaded_search_tables(store: Store) -> SearchTables | None:
    """The tables this process loaded last for `store`, whatever its generation now, or None
    (a command line call that has not searched): for a check that must not load them."""
    return _CACHE.last(store)


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


_SYMBOLS = ("SELECT file_id, name, qualname, kind, start_line, end_line, signature, doc, "
            "parent IS NULL FROM symbols {where} ORDER BY file_id, start_line, end_line DESC")
UPDATE_AT_MOST = 0.1  # of the files: a batch that wrote more reads the tables whole


def _load(store: Store, key: tuple[int, str | None]) -> SearchTables:
    return build_search_tables(store, key, _CACHE.last(store))


def build_search_tables(store: Store, key: tuple[int, str | None],
                        last: SearchTables | None) -> SearchTables:
    """The tables of `store`'s generation: `last` (the tables loaded last) without the files
    no longer indexed and with the files written since, when those are at most
    `UPDATE_AT_MOST` of them; else read whole. Reading moby's 38k chunks and 26k symbols
    after every batch of edits cost 0.18 s of CPU, most of it holding the GIL (DuckDB makes
    the rows' Python objects with it held): a stall of every tool call beside it."""
    with store.snapshot() as cur:  # the files and their rows of one generation
        read = cur.execute("SELECT file_id, path, language, size, mtime_ns FROM files").fetchall()
        files = {fid: (intern(path), None if language is None else intern(language))
                 for fid, path, language, _, _ in read}
        stats = {fid: (size, mtime_ns) for fid, _, _, size, mtime_ns in read}
        if last is not None:  # see `_graph`
            keep_equal(files, last.files)
        found = None if last is None else _updated(cur, last, files)
    previous = None if last is None else last.symbols
    if found is None:
        chunks = _load_chunks(store)
        rows = _SymbolRows()
        kind_ids: dict[str, int] = {}
        for row in store.stream(_SYMBOLS.format(where="")):
            rows.add(row, kind_ids)
        symbols, members = SymbolTable(rows, previous), MemberTable(rows)
    elif last is not None and found[0] is last.chunks:
        chunks, symbols, members = last.chunks, last.symbols, last.members  # no file changed
    else:
        chunks, rows, cut = found
        symbols = SymbolTable(rows) if previous is None else previous.updated(rows, cut)
        members = MemberTable.over(rows)
    rank, importers, mark = _graph(store, last)
    return SearchTables(key, chunks, files, symbols, members, symbols.names,
                        rank, importers, {p: fid for fid, (p, _) in files.items()}, mark,
                        stats)


def _updated(cur: duckdb.DuckDBPyConnection, last: SearchTables,
             files: dict[int, tuple[str, str | None]]
             ) -> tuple[ChunkTable, _SymbolRows, list[tuple[int, int]]] | None:
    """`last`'s chunks and symbol rows brought to `files` (see `_load`), None to read whole."""
    gone = [fid for fid in last.files if fid not in files]
    new = [fid for fid in files if fid not in last.files]
    paths = {last.files[fid][0] for fid in gone} | {files[fid][0] for fid in new}
    if len(paths) > UPDATE_AT_MOST * max(len(files), 1):
        return None
    if not gone and not new:
        return last.chunks, last.members.columns, []
    where = "WHERE file_id IN (SELECT unnest(?))"
    rows = cur.execute("SELECT chunk_id, file_id, start_line, end_line, symbol, kind FROM chunks "
                       + where, [new]).fetchall() if new else []
    chunks = last.chunks.updated(gone, rows)
    if chunks is None:
        return None
    rows = cur.execute(_SYMBOLS.format(where=where), [new]).fetchall() if new else []
    symbol_rows = last.members.columns.updated(gone, rows)
    return None if symbol_rows is None else (chunks, *symbol_rows)


def _graph(store: Store, last: SearchTables | None = None,
           ) -> tuple[dict[str, float], dict[str, set[str]], str | None]:
    """File PageRank (normalised to the maximum) and importers, empty before a graph build,
    and the edges' mark they were read at: `last`'s own while no write of the edges and rank
    came between (meta `edges_generation`, `indexer.graph.build`).

    What did not change since `last` is `last`'s objects (`keep_equal`), the paths
    interned: a generation's tables live until the next one, and a live index loads one
    after every batch of edits, among that batch's garbage; what it makes anew lands in
    pages the garbage leaves almost empty and keeps them from being given back (moby: a
    server held 7 MB more of Python's memory after 30 s of edits, in pages a few hundred
    of a generation's objects kept)."""
    mark = store.get_meta(EDGES_GENERATION)
    if last is not None and mark is not None and last.edges_mark == mark:
        return last.rank, last.importers, mark
    try:
        ranks = store.query("SELECT path, rank FROM file_rank")
        edges = store.query("SELECT DISTINCT src_path, dst_path FROM file_edges "
                            "WHERE dst_kind = 'file' AND src_path <> dst_path")
    except duckdb.Error:
        return {}, {}, None
    top = max((r for _, r in ranks), default=0.0) or 1.0
    importers: dict[str, set[str]] = {}
    for src, dst in edges:
        importers.setdefault(intern(dst), set()).add(intern(src))
    rank = {intern(p): (r or 0.0) / top for p, r in ranks}
    if last is not None:
        keep_equal(rank, last.rank)
        keep_equal(importers, last.importers)
    return rank, importers, mark


_CACHE: GenerationCache[SearchTables] = GenerationCache(_load)
