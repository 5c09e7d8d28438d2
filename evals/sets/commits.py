"""Commit -> files: the commit's subject is the query, the files it changed are the gold.

Commits are sampled (seeded) from a repository's history: not merges, changing 1-4
non-test source files, all of them modified (an added file cannot be found in the parent
tree). Each is evaluated against its parent's tree, which `materialize` writes into a fixed
directory, then `advance` moves from parent to parent, so one index follows the history
incrementally (oldest sampled commit first).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from evals.sets import Query
from tools.history import Commit, git, is_source, parse_log, sample
from tools.retrieval_metrics import Span

__all__ = ["Commit", "advance", "is_source", "materialize", "parse_log", "sample", "to_query"]

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
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", rev],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


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
        archive = subprocess.run(
            ["git", f"--git-dir={git_dir}", "archive", new, "--", *changed[start:start + 200]],
            check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def to_query(commit: Commit, name: str) -> Query:
    return Query(f"{name}:{commit.sha[:10]}", commit.subject,
                 [Span(p, 1, 1) for p in commit.files], {"level": "file"})
