"""The reference rows of a store as numpy columns, for the in-memory graph tables.

Why: moby has 149k references. As Python tuples, indexed by name, by path, by directory and
by scope (dicts of lists, sets and dicts), they were millions of small objects, and every
index update reloaded them, leaving holes in the heap. Here each row is four int32 values
(line, and kind, scope and name as ids into sorted string tables; a path's rows are one
range), read
with `fetchnumpy` (no Python object per row), in (path, line, start byte) order; a path's
rows are one slice, a name's rows an index slice in the same order. What the dict tables
answered (names a file uses and a scope of each, names used in a scope, files of a
directory using a name) is derived from a path's slice when asked.
"""

from __future__ import annotations

import posixpath
import sys
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from indexer.core import duckdb
from indexer.core.arrays import distinct, updated_values

# path, line, kind, scope, name, qualifier (`indexer.core.Reference`)
Ref = tuple[str, int, str, "str | None", str, "str | None"]

# Each string column as its rank among the column's distinct values, numbered once per
# distinct value and joined back (a dense_rank() window per column sorted all 149k rows of
# moby four times: 188 ms of CPU a load, 59 ms this way, the same ids)
_ROWS = """
WITH r AS (SELECT f.path, r.line, r.kind, r.scope, r.name, r.start_byte, r.qualifier
           FROM refs r JOIN files f USING (file_id)),
P AS (SELECT path, (row_number() OVER (ORDER BY path) - 1)::INTEGER AS id
      FROM (SELECT DISTINCT path FROM r)),
K AS (SELECT kind, (row_number() OVER (ORDER BY kind NULLS LAST) - 1)::INTEGER AS id
      FROM (SELECT DISTINCT kind FROM r)),
S AS (SELECT scope, (row_number() OVER (ORDER BY scope) - 1)::INTEGER AS id
      FROM (SELECT DISTINCT scope FROM r WHERE scope IS NOT NULL)),
N AS (SELECT name, (row_number() OVER (ORDER BY name NULLS LAST) - 1)::INTEGER AS id
      FROM (SELECT DISTINCT name FROM r)),
Q AS (SELECT qualifier, (row_number() OVER (ORDER BY qualifier) - 1)::INTEGER AS id
      FROM (SELECT DISTINCT qualifier FROM r WHERE qualifier IS NOT NULL))
SELECT P.id AS p, r.line::INTEGER AS line, K.id AS k, coalesce(S.id, -1)::INTEGER AS s,
       N.id AS n, coalesce(Q.id, -1)::INTEGER AS q
FROM r JOIN P USING (path) JOIN K ON r.kind IS NOT DISTINCT FROM K.kind
     LEFT JOIN S USING (scope) JOIN N ON r.name IS NOT DISTINCT FROM N.name
     LEFT JOIN Q USING (qualifier)
ORDER BY p, r.line, r.start_byte
"""
_VOCAB = {
    "paths": "SELECT DISTINCT f.path FROM refs r JOIN files f USING (file_id) ORDER BY 1",
    # over the same join as `_ROWS`, whose ranks index these lists: a reference without
    # its file row would otherwise shift every id after its value
    "kinds": "SELECT DISTINCT r.kind FROM refs r JOIN files f USING (file_id) ORDER BY 1",
    "scopes": "SELECT DISTINCT r.scope FROM refs r JOIN files f USING (file_id) "
              "WHERE r.scope IS NOT NULL ORDER BY 1",
    "names": "SELECT DISTINCT r.name FROM refs r JOIN files f USING (file_id) ORDER BY 1",
    "quals": "SELECT DISTINCT r.qualifier FROM refs r JOIN files f USING (file_id) "
             "WHERE r.qualifier IS NOT NULL ORDER BY 1",
}


@dataclass(slots=True)
class RefColumns:
    """Reference rows as columns, in (path, line, start byte) order (see the module doc)."""

    paths: list[str]
    kinds: list[str]
    scopes: list[str]
    names: list[str]
    path_id: dict[str, int]
    name_id: dict[str, int]
    line: np.ndarray  # int32 per row
    kind: np.ndarray  # int32 per row: index into kinds
    scope: np.ndarray  # int32 per row: index into scopes, -1 for none
    name: np.ndarray  # int32 per row: index into names
    path_start: np.ndarray  # per path id, its first row; one more entry: the row count
    by_name: np.ndarray  # row numbers ordered by name, then by row
    name_start: np.ndarray  # per name id, its first place in by_name; then the row count
    scope_id: dict[str, int]
    pair_name: np.ndarray  # the distinct (path, name) pairs' names, by path then name
    pair_start: np.ndarray  # per path id, its first pair; then the pair count
    dir_paths: dict[str, list[int]]  # directory -> its files' path ids (files with refs)
    quals: list[str]  # the qualifiers (`indexer.core.Reference.qualifier`)
    qual_id: dict[str, int]
    qual: np.ndarray  # int32 per row: index into quals, -1 for none

    def _rows(self, rows: np.ndarray | slice) -> list[Ref]:
        line, kind = self.line[rows].tolist(), self.kind[rows].tolist()
        scope, name = self.scope[rows].tolist(), self.name[rows].tolist()
        qual, quals = self.qual[rows].tolist(), self.quals
        path = self._path_of(rows)
        return [
            (p, ln, self.kinds[k], None if s < 0 else self.scopes[s], self.names[n],
             None if q < 0 else quals[q])
            for p, ln, k, s, n, q in zip(path, line, kind, scope, name, qual, strict=True)
        ]

    def _path_of(self, rows: np.ndarray | slice) -> list[str]:
        index = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
        pid = np.searchsorted(self.path_start, index, side="right") - 1
        return [self.paths[p] for p in pid.tolist()]

    def _slice(self, path: str) -> slice | None:
        pid = self.path_id.get(path)
        if pid is None:
            return None
        return slice(int(self.path_start[pid]), int(self.path_start[pid + 1]))

    def by_path(self, path: str) -> list[Ref]:
        """The references in `path`, in (line, start byte) order."""
        rows = self._slice(path)
        return [] if rows is None else self._rows(rows)

    def in_lines(self, path: str, first: int, last: int) -> list[Ref]:
        """The references in `path` on lines `first` to `last`, in (line, start byte) order."""
        rows = self._slice(path)
        if rows is None:
            return []
        lines = self.line[rows]
        lo = rows.start + int(np.searchsorted(lines, first, side="left"))
        hi = rows.start + int(np.searchsorted(lines, last, side="right"))
        return self._rows(slice(lo, hi))

    def named(self, name: str, limit: int) -> list[Ref]:
        """The first `limit` references to `name`, in (path, line, start byte) order."""
        nid = self.name_id.get(name)
        if nid is None:
            return []
        start, end = int(self.name_start[nid]), int(self.name_start[nid + 1])
        return self._rows(self.by_name[start:min(end, start + limit)])

    def sites(self, path: str, names: Collection[str] | None = None,
              ) -> dict[tuple[str, str | None], str | None]:
        """The (name, qualifier) pairs `path` uses (of `names`, when given), in order of
        first use, each with its first scope (None when every such use is at top level)."""
        rows = self._slice(path)
        if rows is None:
            return {}
        out: dict[tuple[str, str | None], str | None] = {}
        quals, scopes, all_names = self.quals, self.scopes, self.names
        for s, n, q in zip(self.scope[rows].tolist(), self.name[rows].tolist(),
                           self.qual[rows].tolist(), strict=True):
            name = all_names[n]
            if names is not None and name not in names:
                continue
            key = (name, None if q < 0 else quals[q])
            if key not in out:
                out[key] = None if s < 0 else scopes[s]
            elif out[key] is None and s >= 0:
                out[key] = scopes[s]
        return out

    def used_names(self, path: str) -> set[str]:
        """The names `path` uses."""
        pid = self.path_id.get(path)
        if pid is None:
            return set()
        pairs = self.pair_name[int(self.pair_start[pid]):int(self.pair_start[pid + 1])]
        return {self.names[n] for n in pairs.tolist()}

    def scope_names(self, path: str, scope: str) -> frozenset[str]:
        """The names used inside `scope` (exactly that scope) in `path`."""
        rows, sid = self._slice(path), self.scope_id.get(scope)
        if rows is None or sid is None:
            return frozenset()
        names = self.name[rows][self.scope[rows] == sid]
        return frozenset(self.names[n] for n in names.tolist())

    def users(self, paths: Iterable[str], names: Iterable[str]) -> dict[str, set[str]]:
        """Of `paths`, the ones using any of `names`, each with those it uses."""
        ids = np.array(sorted({self.name_id[n] for n in names if n in self.name_id}),
                       dtype=np.int32)
        pids = sorted({self.path_id[p] for p in paths if p in self.path_id})
        if not len(ids) or not pids:
            return {}
        bounds = zip(self.pair_start[pids].tolist(), self.pair_start[np.add(pids, 1)].tolist(),
                     strict=True)
        index = np.concatenate([np.arange(a, b) for a, b in bounds])
        hits = index[np.isin(self.pair_name[index], ids)]
        owners = np.searchsorted(self.pair_start, hits, side="right") - 1
        out: dict[str, set[str]] = {}
        for p, n in zip(owners.tolist(), self.pair_name[hits].tolist(), strict=True):
            out.setdefault(self.paths[p], set()).add(self.names[n])
        return out

    def dir_users(self, directory: str, names: set[str]) -> dict[str, set[str]]:
        """The files of `directory` using any of `names`, with the ones each uses."""
        pids = self.dir_paths.get(directory, ())
        return self.users([self.paths[p] for p in pids], names)


_POSITIONS: list[int] = []  # 0, 1, 2, ...: the int objects every generation's positions are
_POSITIONS_LOCK = threading.Lock()


def positions(items: list[str]) -> dict[str, int]:
    """item -> its position in `items`. The ints are made once for the process, not again
    for every generation: a live index reads the references after every batch of edits,
    and moby's ~26k new position ints a time (10k names, 14k scopes, 2k paths), made among
    the batch's garbage, kept pages of it from being given back (see
    `indexer.store.same_rows`)."""
    with _POSITIONS_LOCK:
        if len(_POSITIONS) < len(items):
            _POSITIONS.extend(range(len(_POSITIONS), len(items)))
    return dict(zip(items, _POSITIONS))


def read_refs(cur: duckdb.DuckDBPyConnection) -> RefColumns:
    """Every reference row as columns, read on `cur` (a snapshot's)."""
    vocab = {k: [sys.intern(str(r[0])) for r in cur.execute(sql).fetchall()]
             for k, sql in _VOCAB.items()}
    cols = _columns(cur)
    paths, kinds, scopes, names, quals = (
        _Vocab(vocab[k], positions(vocab[k]), None)
        for k in ("paths", "kinds", "scopes", "names", "quals"))
    return _assemble((paths, kinds, scopes, names, quals), cols)


# the references of some files, in the order `_ROWS` gives every file's
_FILE_ROWS = """
SELECT f.path, r.line::INTEGER, r.kind, r.scope, r.name, r.qualifier
FROM refs r JOIN files f USING (file_id) WHERE r.file_id IN (SELECT unnest(?))
ORDER BY f.path, r.line, r.start_byte
"""


def update_refs(cur: duckdb.DuckDBPyConnection, last: RefColumns, changed: Collection[str],
                file_ids: Mapping[str, int]) -> RefColumns:
    """`last` with the rows of the `changed` paths read again on `cur` (those in `file_ids`,
    by their file id; the others gone): the columns a whole read gives, without one.

    Why: every batch of edits reloaded all of moby's 149k references (the vocabularies'
    four scans and the ranked rows: ~110 ms of CPU a batch, the largest part of the graph
    tables' reload) to change a few files' rows."""
    ids = [file_ids[p] for p in sorted(changed) if p in file_ids]
    rows = cur.execute(_FILE_ROWS, [ids]).fetchall() if ids else []
    row_path = np.repeat(np.arange(len(last.paths), dtype=np.int32), np.diff(last.path_start))
    gone = [last.path_id[p] for p in changed if p in last.path_id]
    keep = ~np.isin(row_path, np.array(gone, dtype=np.int32)) if gone else slice(None)
    kept_path, kept_kind = row_path[keep], last.kind[keep]
    kept_scope, kept_name = last.scope[keep], last.name[keep]
    kept_qual = last.qual[keep]
    paths = _vocab(last.paths, last.path_id, kept_path, (r[0] for r in rows))
    kinds = _vocab(last.kinds, positions(last.kinds), kept_kind, (str(r[2]) for r in rows))
    scopes = _vocab(last.scopes, last.scope_id, kept_scope[kept_scope >= 0],
                    (r[3] for r in rows if r[3] is not None))
    names = _vocab(last.names, last.name_id, kept_name, (str(r[4]) for r in rows))
    quals = _vocab(last.quals, last.qual_id, kept_qual[kept_qual >= 0],
                   (r[5] for r in rows if r[5] is not None))
    p_at, k_at, s_at, n_at, q_at = paths.at, kinds.at, scopes.at, names.at, quals.at
    fresh = np.array([(p_at[p], line, k_at[str(k)], -1 if s is None else s_at[s], n_at[str(n)],
                       -1 if q is None else q_at[q])
                      for p, line, k, s, n, q in rows], dtype=np.int32).reshape(-1, 6)
    path_of = np.concatenate([paths.ids(kept_path), fresh[:, 0]])
    order = np.argsort(path_of, kind="stable")  # the kept rows keep their order; the new
    # ones come in theirs, after the kept rows of the paths before theirs

    def column(kept: np.ndarray, i: int) -> np.ndarray:
        return np.ascontiguousarray(np.concatenate([kept, fresh[:, i]])[order], dtype=np.int32)

    cols = {"p": path_of[order], "line": column(last.line[keep], 1),
            "k": column(kinds.ids(kept_kind), 2), "s": column(_optional(scopes, kept_scope), 3),
            "n": column(names.ids(kept_name), 4), "q": column(_optional(quals, kept_qual), 5)}
    return _assemble((paths, kinds, scopes, names, quals), cols,
                     last.dir_paths if paths.same else None)


def _optional(vocab: _Vocab, kept: np.ndarray) -> np.ndarray:
    """The new ids of a column whose rows may hold none (-1)."""
    return kept if vocab.same else np.where(kept >= 0, vocab.ids(np.maximum(kept, 0)), -1)


@dataclass(slots=True)
class _Vocab:
    """A column's sorted distinct values, their positions, and the last ones' new ids."""

    values: list[str]
    at: dict[str, int]
    remap: np.ndarray | None  # old id -> new id (-1: gone); None: the same values

    @property
    def same(self) -> bool:
        return self.remap is None

    def ids(self, old: np.ndarray) -> np.ndarray:
        return old if self.remap is None else self.remap[old]


def _vocab(last: list[str], last_at: dict[str, int], used: np.ndarray,
           added: Iterable[str]) -> _Vocab:
    """A column's values after an update (`updated_values`), their positions made once for
    the process (`positions`)."""
    values, at, remap = updated_values(last, used, map(sys.intern, added), last_at.get,
                                       positions)
    return _Vocab(values, last_at if at is None else at, remap)


def _assemble(vocab: tuple[_Vocab, _Vocab, _Vocab, _Vocab, _Vocab],
              cols: dict[str, np.ndarray],
              dir_paths: dict[str, list[int]] | None = None) -> RefColumns:
    """The columns and their indexes from the rows (`cols` as `_columns` names them) in
    (path, line, start byte) order, with the paths', kinds', scopes', names' and
    qualifiers' values (`dir_paths`: the last columns', when the paths are theirs)."""
    paths, kinds, scopes, names, quals = vocab
    path_of, name = cols["p"], cols["n"]
    n_paths, n_names = len(paths.values), len(names.values)
    path_start = np.searchsorted(path_of, np.arange(n_paths + 1)).astype(np.int64)
    by_name = np.argsort(name, kind="stable").astype(np.int32)
    name_start = np.searchsorted(name[by_name], np.arange(n_names + 1))
    pairs = distinct(path_of.astype(np.int64) * n_names + name)
    pair_path, pair_name = np.divmod(pairs, max(n_names, 1))
    if dir_paths is None:
        by_dir: dict[str, list[int]] = defaultdict(list)
        for pid, path in enumerate(paths.values):
            by_dir[posixpath.dirname(path)].append(pid)
        dir_paths = dict(by_dir)
    return RefColumns(
        paths.values, kinds.values, scopes.values, names.values, paths.at, names.at,
        cols["line"], cols["k"], cols["s"], name, path_start, by_name,
        name_start.astype(np.int64), scopes.at,
        pair_name.astype(np.int32),
        np.searchsorted(pair_path, np.arange(n_paths + 1)).astype(np.int64),
        dir_paths, quals.values, quals.at, cols["q"],
    )


def _columns(cur: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    got = cur.execute(_ROWS).fetchnumpy()
    return {k: np.ascontiguousarray(np.asarray(v), dtype=np.int32) for k, v in got.items()}
