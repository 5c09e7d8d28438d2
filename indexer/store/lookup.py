"""In-memory lookup tables behind search_code, rebuilt when the index changes.

Ranking needs, for every candidate chunk, its file, lines, symbol and kind; for every
identifier in a query, the chunks defining it; and for every candidate file, its import-
graph centrality. Point lookups in DuckDB cost milliseconds each, so these tables are read
once per store generation (and graph generation) into dictionaries: on moby (3k files,
38k chunks, 26k symbols) that takes ~0.1-0.2 s and ~20 MB, after which a query touches
DuckDB only to read the text of the hits it returns. The price is memory proportional to
the number of chunks and one reload after each index update.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from sys import intern

import duckdb

from indexer.store.db import GenerationCache, Store

ChunkMeta = tuple[int, int, int, str | None, str]  # file_id, start, end, symbol, kind
SymbolRow = tuple[int, str, str, str, int]  # file_id, name, qualname, kind, start_line
MemberRow = tuple[str, str, int, int]  # qualname, kind, start_line, end_line


@dataclass(slots=True)
class SearchTables:
    key: tuple[int, str | None]
    chunks: dict[int, ChunkMeta]
    files: dict[int, tuple[str, str | None]]  # file_id -> (path, language)
    file_chunks: dict[int, list[tuple[int, int, int]]]  # file_id -> sorted (start, end, id)
    symbols: dict[str, list[SymbolRow]]  # lower-cased name -> definitions
    members: dict[int, list[MemberRow]]  # file_id -> definitions by (start, -end)
    names: list[str]  # sorted lower-cased names, for prefix lookups
    rank: dict[str, float]  # path -> PageRank / max PageRank
    importers: dict[str, set[str]]  # path -> paths of files importing it
    paths: frozenset[str] = frozenset()  # every indexed file

    def chunk_at(self, file_id: int, line: int) -> int | None:
        """The chunk of `file_id` that contains `line` (the narrowest one)."""
        best: tuple[int, int] | None = None
        for start, end, cid in self.file_chunks.get(file_id, ()):
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


def _load(store: Store, key: tuple[int, str | None]) -> SearchTables:
    chunks: dict[int, ChunkMeta] = {}
    file_chunks: dict[int, list[tuple[int, int, int]]] = {}
    for cid, fid, start, end, symbol, kind in store.stream(
            "SELECT chunk_id, file_id, start_line, end_line, symbol, kind FROM chunks "
            "ORDER BY file_id, start_line"):
        chunks[cid] = (fid, start, end, None if symbol is None else intern(symbol), intern(kind))
        file_chunks.setdefault(fid, []).append((start, end, cid))
    files = {r[0]: (r[1], r[2]) for r in store.query("SELECT file_id, path, language FROM files")}
    symbols: dict[str, list[SymbolRow]] = {}
    members: dict[int, list[MemberRow]] = {}
    for fid, name, qual, kind, line, end in store.stream(
            "SELECT file_id, name, qualname, kind, start_line, end_line FROM symbols "
            "ORDER BY file_id, start_line, end_line DESC"):
        name, qual, kind = intern(name), intern(qual), intern(kind)
        symbols.setdefault(name.lower(), []).append((fid, name, qual, kind, line))
        members.setdefault(fid, []).append((qual, kind, line, end))
    rank, importers = _graph(store)
    return SearchTables(key, chunks, files, file_chunks, symbols, members, sorted(symbols),
                        rank, importers, frozenset(p for p, _ in files.values()))


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
