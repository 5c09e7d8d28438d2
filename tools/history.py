"""A repository's own history as retrieval questions: commit subject -> the files it changed.

Used by `sextant eval` (tools.selfeval) and by the eval sets (evals/sets/commits.py).
Commits are sampled (seeded) from the history: not merges, changing 1-4 non-test source
files, all of them modified (an added file cannot be found in the parent tree).
"""

from __future__ import annotations

import random
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_NOT_SOURCE = re.compile(
    r"(^|/)(tests?|testing|testdata|fixtures?|docs?|examples?|benchmarks?|vendor|scripts?)(/|$)"
    r"|(^|/)test_[^/]*$|(^|/)conftest\.py$|_test\.go$")
SOURCE_EXTS = (".py", ".go", ".js", ".ts", ".tsx", ".rs", ".java")


def is_source(path: str) -> bool:
    """A non-test, non-doc, non-example source file."""
    return path.endswith(SOURCE_EXTS) and not _NOT_SOURCE.search(path)


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


def git(git_dir: Path, *args: str) -> str:
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
    log = git(git_dir, "log", "--no-merges", "--no-renames", f"-n{window}", "--name-status",
               "--format=%x1e%H%x1f%P%x1f%s", rev)
    eligible = parse_log(log)  # newest first
    picked = set(random.Random(seed).sample(range(len(eligible)), min(n, len(eligible))))
    return [eligible[i] for i in sorted(picked, reverse=True)]
