"""Raw file events -> the repository paths whose index entries they may change.

The watcher's listener calls `resolve` once per batch of events: this is the one place
where a watcher event meets the ignore rules. A directory that appeared expands to the
indexable files under it; one that vanished (deleted or moved away) to every indexed path
under it; ignored paths that were never indexed are dropped; indexed paths that the rules
now exclude are returned as `removed`. The applier then applies the verdicts as they are
(`indexer.build.apply_resolved`), without checking the rules again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.discover import IgnoreCache, WalkOptions, is_path_ignored
from indexer.disk import RepoIndex
from indexer.store import loaded_search_tables

EXPAND_LIMIT = 501  # stop expanding a new directory past this many files (mass change)
_GIT_TRIGGERS = frozenset({".git/HEAD", ".git/info/exclude"})


def is_reconcile_trigger(rel: str) -> bool:
    """A `.git` path whose change calls for a full reconcile (branch switch, excludes)."""
    return rel in _GIT_TRIGGERS


@dataclass(slots=True)
class Resolved:
    paths: set[str] = field(default_factory=set)  # to (re)index, or delete when gone
    removed: set[str] = field(default_factory=set)  # indexed, now excluded: delete

    def all(self) -> set[str]:
        return self.paths | self.removed


def known_under(index: RepoIndex, rel: str) -> set[str]:
    """Indexed paths equal to `rel` or under the directory `rel`."""
    rows = index.store.query(
        "SELECT path FROM files WHERE path = ? OR starts_with(path, ?)", [rel, rel + "/"])
    return {r[0] for r in rows}


def files_under(root: Path, rel: str, opts: WalkOptions, cache: IgnoreCache,
                limit: int = EXPAND_LIMIT) -> set[str]:
    """Files under directory `rel` that the ignore rules let through (at most `limit`)."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root / rel):
        base = os.path.relpath(dirpath, root).replace(os.sep, "/")
        dirnames[:] = [d for d in dirnames
                       if is_path_ignored(root, f"{base}/{d}", opts, cache) is None]
        for name in filenames:
            path = f"{base}/{name}"
            if is_path_ignored(root, path, opts, cache) is None:
                out.add(path)
                if len(out) >= limit:
                    return out
    return out


def resolve(index: RepoIndex, rels: Iterable[str], opts: WalkOptions,
            cache: IgnoreCache) -> Resolved:
    """What the events on `rels` may have changed (see the module docstring)."""
    out = Resolved()
    for rel in rels:
        if rel.startswith(".git/"):
            continue
        known = known_under(index, rel)
        try:
            mode = os.lstat(index.root / rel).st_mode
        except OSError:
            out.paths |= known  # gone: its indexed paths are deleted
            continue
        if is_path_ignored(index.root, rel, opts, cache) is not None:
            out.removed |= known
        elif stat.S_ISDIR(mode):
            out.paths |= known | files_under(index.root, rel, opts, cache)
        else:
            out.paths |= known | {rel}
    out.paths -= out.removed
    return out


def _on_disk(root: Path, rel: str) -> tuple[int, int] | None:
    """(size, mtime_ns) of a file now, None when it is gone or unreadable."""
    try:
        st = os.stat(root / rel)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def changed_since_indexed(index: RepoIndex, paths: Iterable[str]) -> list[str]:
    """Of `paths`, the indexed files whose stat on disk differs from the index now, or that
    vanished (paths not indexed, directories among them, are left out): what an answer
    built from them may show wrongly, whether or not a watcher has reported it yet.

    Compared with the stats of the search tables loaded last (no query per answer: a DuckDB
    query cost 1-2.5 ms against search's 3-7 on moby; never loaded for this); a file that
    differs there, or that they do not hold (a later generation's, a directory, a command
    line call that loaded none), is read from the store, which also holds the stats of
    files whose content did not change (`Store.touch_file`)."""
    tables = loaded_search_tables(index.store)
    suspects = [rel for rel in set(paths) if tables is None
                or (fid := tables.file_ids.get(rel)) is None
                or tables.stats.get(fid) != _on_disk(index.root, rel)]
    if not suspects:
        return []
    rows = index.store.query("SELECT path, size, mtime_ns FROM files "
                             "WHERE path IN (SELECT unnest(?))", [suspects])
    return sorted(rel for rel, size, mtime_ns in rows
                  if (size, mtime_ns) != _on_disk(index.root, rel))


def stale_paths(index: RepoIndex, paths: Iterable[str], opts: WalkOptions,
                cache: IgnoreCache) -> list[str]:
    """Of `paths`, the indexed files changed on disk or gone (`changed_since_indexed`), and
    the regular files not indexed that the rules let in (new ones)."""
    wanted = sorted(set(paths))
    indexed = {str(p) for (p,) in index.store.query(
        "SELECT path FROM files WHERE path IN (SELECT unnest(?))", [wanted])}
    out = changed_since_indexed(index, indexed)
    for rel in wanted:
        if rel in indexed:
            continue
        try:
            regular = stat.S_ISREG(os.stat(index.root / rel).st_mode)
        except OSError:
            continue
        if regular and is_path_ignored(index.root, rel, opts, cache) is None:
            out.append(rel)
    return out
