"""Turning file events into index updates, for the watcher (`indexer.watcher`).

`expand_event` maps one changed path to the repository files it stands for: a directory
that appeared expands to the indexable files under it, one that vanished (deleted or moved
away) to every indexed path under it; ignored paths that were never indexed are dropped,
ignored paths that are indexed are kept (they must be removed). `apply_batch` applies a set
of paths with `update_paths`, or runs a full reconcile (`index_repository`), then embeds the
chunks that have no vector yet (the embedding cache makes unchanged text free).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.ignore import IgnoreCache
from indexer.pipeline import IndexOptions, IndexStats, index_repository, update_paths
from indexer.repo_index import RepoIndex
from indexer.walk import WalkOptions, is_path_ignored

if TYPE_CHECKING:
    from tools.context import ToolContext

log = logging.getLogger(__name__)

EXPAND_LIMIT = 501  # stop expanding a new directory past this many files (mass change)
_GIT_TRIGGERS = frozenset({".git/HEAD", ".git/info/exclude"})


def is_reconcile_trigger(rel: str) -> bool:
    """A `.git` path whose change calls for a full reconcile (branch switch, excludes)."""
    return rel in _GIT_TRIGGERS


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


def expand_event(index: RepoIndex, rel: str, opts: WalkOptions, cache: IgnoreCache) -> set[str]:
    """The file paths one event on `rel` may have changed (see the module docstring)."""
    if rel.startswith(".git/"):
        return set()
    known = known_under(index, rel)
    try:
        mode = os.lstat(index.root / rel).st_mode
    except OSError:
        return known
    if stat.S_ISDIR(mode):
        if is_path_ignored(index.root, rel, opts, cache) is not None:
            return known
        return known | files_under(index.root, rel, opts, cache)
    if is_path_ignored(index.root, rel, opts, cache) is None:
        known.add(rel)
    return known


def stale_paths(index: RepoIndex, paths: Iterable[str]) -> list[str]:
    """Of `paths`, the files whose stat on disk differs from the index (or that vanished)."""
    out: list[str] = []
    for rel in paths:
        row = index.store.query_one("SELECT size, mtime_ns FROM files WHERE path=?", [rel])
        try:
            st = os.stat(index.root / rel)
        except OSError:
            if row is not None:
                out.append(rel)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if row is None:
            if is_path_ignored(index.root, rel) is None:
                out.append(rel)
        elif (row[0], row[1]) != (st.st_size, st.st_mtime_ns):
            out.append(rel)
    return out


def apply_batch(ctx: ToolContext, paths: list[str], reconcile: bool, opts: IndexOptions,
                cache: IgnoreCache, lock: AbstractContextManager[object] | None = None) -> IndexStats:
    """Apply changed `paths` (or reconcile everything) holding `lock` (the writers' turn),
    then embed what the change added."""
    index = ctx.index
    with lock or nullcontext():
        if reconcile:
            cache.invalidate_all()
            stats = index_repository(index, opts)
        else:
            stats = update_paths(index, paths, opts, cache)
    log.debug("applied %d paths (reconcile=%s): %s", len(paths), reconcile, stats.as_dict())
    embed_new_chunks(ctx, None if reconcile else paths)
    return stats


def embed_new_chunks(ctx: ToolContext, paths: list[str] | None) -> int:
    """Embed the chunks of `paths` (every chunk when None) that have no vector yet."""
    from indexer.embedding import embed_chunks, pending_chunks

    vectors, embedder = ctx.vectors, ctx.embedder
    if vectors is None or embedder is None:
        return 0
    if paths is None:
        ids = pending_chunks(ctx.index, vectors)
    else:
        ids = [i for i in ctx.index.store.chunk_ids_for_paths(paths) if not vectors.contains(i)]
    for start in range(0, len(ids), 256):
        embed_chunks(ctx.index, vectors, embedder, ids[start:start + 256], ctx.embed_lock)
    return len(ids)
