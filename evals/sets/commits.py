"""Commit -> files: the commit's subject is the query, the files it changed are the gold.

Commits are sampled (seeded) from a repository's history: not merges, changing 1-4
non-test source files, all of them modified (an added file cannot be found in the parent
tree). Each is evaluated against its parent's tree, which `materialize` writes into a fixed
directory, then `advance` moves from parent to parent, so one index follows the history
incrementally (oldest sampled commit first).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from evals.metrics import Span
from evals.sets import Query, is_source

MAX_GOLD = 4
_SKIP_SUBJECT = re.compile(
    r"^(merge|release|bump|version|prepare|revert|update (changes|changelog|readme|docs?))\b"
    r"|\b(typo|lint|format(ting)?|pre-commit|mypy|flake8|ruff|black)\b", re.IGNORECASE)
_PR_SUFFIX = re.compile(r"\s*\((#\d+|gh-\d+)\)\s*$")


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parent: str
    subject: str
    files: tuple[str, ...]  # gold: modified non-test source files


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                           capture_output=True, text=True).stdout


def parse_log(text: str) -> list[Commit]:
    """Parse `git log --name-status --format=%x1e%H%x1f%P%x1f%s` output."""
    out: list[Commit] = []
    for record in text.split("\x1e")[1:]:
        head, _, body = record.partition("\n")
        sha, parents, subject = head.split("\x1f", 2)
        if len(parents.split()) != 1:
            continue
        changes = [ln.split("\t") for ln in body.splitlines() if "\t" in ln]
        source = [c for c in changes if is_source(c[-1])]
        if not 1 <= len(source) <= MAX_GOLD or any(c[0] != "M" for c in source):
            continue
        subject = _PR_SUFFIX.sub("", subject).strip()
        if len(subject.split()) < 3 or _SKIP_SUBJECT.search(subject):
            continue
        out.append(Commit(sha, parents.strip(), subject, tuple(c[-1] for c in source)))
    return out


def sample(git_dir: Path, n: int, seed: int, window: int = 1500, rev: str = "HEAD") -> list[Commit]:
    """`n` eligible commits among the last `window` of `rev`, oldest first."""
    log = _git(git_dir, "log", "--no-merges", "--no-renames", f"-n{window}", "--name-status",
               "--format=%x1e%H%x1f%P%x1f%s", rev)
    eligible = parse_log(log)  # newest first
    picked = set(random.Random(seed).sample(range(len(eligible)), min(n, len(eligible))))
    return [eligible[i] for i in sorted(picked, reverse=True)]


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
    diff = _git(git_dir, "diff", "--no-renames", "--name-status", "-z", old, new)
    fields = diff.split("\0")
    changed: list[str] = []
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        target = dest / path
        if status == "D" or target.is_symlink():
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
