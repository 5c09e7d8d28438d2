"""Commit -> files: the commit's subject is the query, the files it changed are the gold.

Commits are sampled (seeded) from a repository's history: not merges, changing 1-4
non-test source files, all of them modified (an added file cannot be found in the parent
tree). Each is evaluated against its parent's tree, which `materialize` writes into a fixed
directory, then `advance` moves from parent to parent, so one index follows the history
incrementally (oldest sampled commit first). A tree git cannot write out (a mirror that lacks
one of its objects) raises `HistoryError`, naming the revision and git's message.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from evals.sets import Query
from tools.history import Commit, git, is_source, parse_log, sample
from tools.retrieval_metrics import Span

__all__ = ["Commit", "HistoryError", "advance", "is_source", "materialize", "parse_log", "sample",
           "to_query"]


class HistoryError(RuntimeError):
    """A revision's tree could not be read from the repository."""


def _extract(git_dir: Path, rev: str, dest: Path, paths: list[str] | None = None) -> None:
    """Write `rev`'s tree (or only `paths` of it) into `dest`."""
    got = subprocess.run(["git", f"--git-dir={git_dir}", "archive", rev,
                          *(["--", *paths] if paths else [])], capture_output=True, check=False)
    if got.returncode != 0:
        message = got.stderr.decode("utf-8", "replace").strip().splitlines()
        raise HistoryError(f"git cannot write out {rev[:12]} of {git_dir}: "
                           f"{message[-1] if message else f'exit {got.returncode}'}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=got.stdout, check=True)


def materialize(git_dir: Path, rev: str, dest: Path) -> None:
    """Make `dest` hold exactly the tree of `rev` (files not in it are removed)."""
    if dest.exists():
        for child in dest.iterdir():
            if child.name == ".sextant":
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    dest.mkdir(parents=True, exist_ok=True)
    _extract(git_dir, rev, dest)


def advance(git_dir: Path, old: str, new: str, dest: Path) -> None:
    """Turn `dest`, which holds the tree of `old`, into the tree of `new`, touching only the
    files that differ (unchanged files keep their mtime, so re-indexing is incremental)."""
    diff = git(git_dir, "diff", "--no-renames", "--name-status", "-z", old, new)
    fields = diff.split("\0")
    changed: list[str] = []
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        target = dest / path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)  # a submodule (an empty directory in the archive) removed
        elif status == "D" or target.is_symlink():
            target.unlink(missing_ok=True)
        if status != "D":
            changed.append(path)
    for start in range(0, len(changed), 200):
        _extract(git_dir, new, dest, changed[start:start + 200])


def to_query(commit: Commit, name: str) -> Query:
    return Query(f"{name}:{commit.sha[:10]}", commit.subject,
                 [Span(p, 1, 1) for p in commit.files], {"level": "file"})
