"""The repository's recent history: each commit's subject and the files it changed.

A question like "fix the timeout in the proxy middleware" often reads like the subject of
an earlier commit, and the files that commit changed are likely the files to look at now.
`CommitLog` reads the last `LIMIT` commits (no merges) of the git repository holding the
indexed root, with `git log`, and keeps for each the subject's words and the files it
changed, by their paths relative to the root at the revision read (a file renamed since is
followed by its last two path parts when exactly one file at that revision ends so; one
deleted since is dropped). `similar` ranks the commits whose subject is closest to a
query's words (BM25 over subjects). Search turns that into a prior on files
(`tools.search_history`).

The log is read on first use and again when the revision (HEAD by default) moves, checked
at most every `CHECK_S` seconds; a root outside a git work tree, a missing `git` or a
failing `git` leaves the log empty (`error` says why) and search as it was. Nothing here
writes to the repository: git runs read-only commands (`rev-parse`, `ls-tree`, `log`) with
optional locks off, the file-system monitor off and no external diff or text conversion
(programs a repository's configuration could name), and its output is only read.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.core.fsutil import atomic_write_bytes
from indexer.discover.places import LOW_VALUE_PATH, TEST_PATH
from indexer.languages import language_for_path
from indexer.lexical.bm25 import identifier_tokens
from indexer.lexical.memory import MemoryBM25

log = logging.getLogger(__name__)

LIMIT = 2000  # commits read: recent enough to name today's files, enough to cover most
MAX_FILES = 8  # a commit changing more files says little about any one of them
CHECK_S = 5.0  # the revision is looked up again at most this often
_GIT_TIMEOUT_S = 60.0
_CACHE_FORMAT = 1
HISTORY_CACHE = "history.json"  # the log read last, in the index directory
_K1, _B = 1.2, 0.75
HISTORY_ENV = "SEXTANT_HISTORY"  # 0/off/false/no: search reads no git history (default: on)


def history_from_env() -> bool:
    """Whether search reads the repository's history: unless `$SEXTANT_HISTORY` says 0,
    off, false or no."""
    return os.environ.get(HISTORY_ENV, "").strip().lower() not in ("0", "off", "false", "no")


def code_file(path: str) -> bool:
    """A file a commit is remembered by: code (a language Sextant parses), not a test, doc,
    example, benchmark or vendored copy (`indexer.discover.places`: they change along with
    the code they follow)."""
    return (language_for_path(path) is not None and not TEST_PATH.search(path)
            and not LOW_VALUE_PATH.search(path))


@dataclass(frozen=True, slots=True)
class PastCommit:
    sha: str
    subject: str
    files: tuple[str, ...]  # relative to the indexed root, as named at the revision read


def _git(args: Sequence[str], cwd: Path, git_dir: Path | None) -> str:
    head = ["git", *((f"--git-dir={git_dir}",) if git_dir is not None else ()),
            "-c", "core.quotepath=off", "-c", "core.fsmonitor=false"]
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    done = subprocess.run([*head, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=_GIT_TIMEOUT_S, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        last = message[-1] if message else f"git {args[0]} failed"
        # "fatal: not a git repository (or any of the parent directories): .git" -> the
        # reason alone, as `sextant status` shows it
        raise OSError(last.removeprefix("fatal: ").split(" (or any", 1)[0])
    return done.stdout.decode("utf-8", "replace")


def parse(text: str, prefix: str, tree: Collection[str]) -> list[PastCommit]:
    """Commits of `git log --name-only --format=%x1e%H%x1f%s%x1f`, their files relative to
    the root (`prefix`: the root's path inside the repository) and renamed to what `tree`
    (the files at the revision read, relative to the root) holds."""
    by_tail: dict[str, list[str]] = defaultdict(list)
    for path in tree:
        by_tail["/".join(path.rsplit("/", 2)[-2:])].append(path)
    out: list[PastCommit] = []
    for record in text.split("\x1e")[1:]:
        sha, subject, names = (record.split("\x1f", 2) + ["", ""])[:3]
        files: list[str] = []
        for name in names.splitlines():
            name = name.strip()
            if not name.startswith(prefix):
                continue
            path = name[len(prefix):]
            if path not in tree:
                renamed = by_tail.get("/".join(path.rsplit("/", 2)[-2:]), [])
                if len(renamed) != 1:
                    continue
                path = renamed[0]
            files.append(path)
        if subject.strip() and files:
            out.append(PastCommit(sha, subject.strip(), tuple(dict.fromkeys(files))))
    return out


@dataclass(frozen=True, slots=True)
class _Remembered:
    """The commits remembered at one revision, and BM25 over their subjects' tokens."""

    commits: Sequence[PastCommit]
    subjects: MemoryBM25

    @classmethod
    def of(cls, commits: Sequence[PastCommit]) -> _Remembered:
        return cls(commits, MemoryBM25([[t for t in identifier_tokens(c.subject) if len(t) > 1]
                                        for c in commits]))


class CommitLog:
    """The last `limit` commits of the repository holding `root` (see the module docstring).
    `git_dir` and `rev` read another repository's history for the tree at `root` (the eval
    harness replays a bare mirror's commits into a plain directory); `keep(path)` says
    which changed files a commit is remembered by (a commit left with none, or with more
    than `MAX_FILES`, is not remembered); `cache`: a file keeping the log read at a
    revision (in the index directory)."""

    def __init__(self, root: Path, *, git_dir: Path | None = None, rev: str = "HEAD",
                 limit: int = LIMIT, keep: Callable[[str], bool] = code_file,
                 cache: Path | None = None) -> None:
        self.root = root
        self.cache = cache
        self.git_dir = git_dir
        self.rev = rev
        self.limit = limit
        self._keep = keep
        self._lock = threading.Lock()
        self._head: str | None = None
        self._checked = -math.inf
        self._remembered = _Remembered.of(())
        self.error: str | None = None  # why there is no history, when there is none

    def size(self) -> int:
        """The commits remembered (the log read first when it is due)."""
        return len(self._current().commits)

    def similar(self, terms: Collection[str], k: int, least: int = 1
                ) -> list[tuple[float, PastCommit]]:
        """The `k` commits whose subjects best match `terms` (at least `least` of them),
        best first, with their scores."""
        if not terms:
            return []
        now = self._current()
        return [(score, now.commits[i]) for i, score in now.subjects.ranked(terms, k, least)]

    def _current(self) -> _Remembered:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= CHECK_S:
                self._checked = now
                self._refresh()
            return self._remembered

    def _refresh(self) -> None:
        try:
            head = _git(["rev-parse", "--verify", "--quiet", f"{self.rev}^{{commit}}"],
                        self.root, self.git_dir).strip()
            if head == self._head:
                return
            started = time.perf_counter()
            parsed = self._cached(head)
            if parsed is None:
                parsed = self._read(head)
                self._save(head, parsed)
        except (OSError, subprocess.SubprocessError) as exc:
            if self.error is None:
                log.debug("no history for %s: %s", self.root, exc)
            self.error = str(exc) or type(exc).__name__
            self._head = None
            self._remembered = _Remembered.of(())
            return
        commits = []
        for commit in parsed:
            files = tuple(f for f in commit.files if self._keep(f))
            if 0 < len(files) <= MAX_FILES:
                commits.append(PastCommit(commit.sha, commit.subject, files))
        self._remembered = _Remembered.of(commits)
        self._head, self.error = head, None
        log.debug("history of %s at %s: %d commits in %.0f ms", self.root, head[:12],
                  len(commits), 1000 * (time.perf_counter() - started))

    def _read(self, head: str) -> list[PastCommit]:
        prefix = "" if self.git_dir is not None else _git(
            ["rev-parse", "--show-prefix"], self.root, None).strip()
        tree = {p[len(prefix):] for p in _git(
            ["ls-tree", "-r", "--name-only", "--full-tree", head], self.root,
            self.git_dir).splitlines() if p.startswith(prefix)}
        text = _git(["log", "--no-merges", "--no-renames", "--no-ext-diff", "--no-textconv",
                     f"-n{self.limit}", "--name-only",
                     "--format=%x1e%H%x1f%s%x1f", head], self.root, self.git_dir)
        return parse(text, prefix, tree)

    def _key(self, head: str) -> dict[str, object]:
        return {"format": _CACHE_FORMAT, "head": head, "limit": self.limit,
                "root": str(self.root), "git_dir": str(self.git_dir)}

    def _cached(self, head: str) -> list[PastCommit] | None:
        """The log read at `head` before (a one-shot search then costs one `git
        rev-parse`), None when there is none or it is of another revision or unreadable."""
        if self.cache is None:
            return None
        try:
            data = json.loads(self.cache.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("key") != self._key(head):
                return None  # not an object (`[]`): garbage, like text that is not JSON
            return [PastCommit(sha, subject, tuple(files))
                    for sha, subject, files in data["commits"]]
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def _save(self, head: str, parsed: list[PastCommit]) -> None:
        if self.cache is None:
            return
        data = {"key": self._key(head),
                "commits": [[c.sha, c.subject, list(c.files)] for c in parsed]}
        try:
            atomic_write_bytes(self.cache, json.dumps(data).encode())
        except OSError as exc:  # a read-only index directory: read git each time
            log.debug("history cache %s not written: %s", self.cache, exc)

    def describe(self) -> dict[str, str | int]:
        """What `index_status` says of it: the commits remembered and the revision read, or
        why there is no history."""
        remembered = self._current()
        if self._head is None:
            return {"commits": 0, "error": self.error or "not read"}
        return {"commits": len(remembered.commits), "head": self._head}
