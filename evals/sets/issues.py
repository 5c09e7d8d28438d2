"""Issue -> files: the long text of a fix (pull-request or commit body) -> the files it changed.

Issue trackers are not in git, but squash-merged pull requests and hand-written fix commits
carry their description in the commit message: the subject plus a body of prose, pasted
code, tracebacks and review notes, i.e. the kind of long text an agent is handed. Sampled
(seeded) commits: not merges, not bots or release chores, a body of at least `MIN_BODY_WORDS`
words once trailers (Signed-off-by, Co-authored-by, ...) are removed, changing 1-4 non-test
source files, all modified. Query = subject + body (at most 4,000 characters, the MCP
tool's limit), gold = those files, searched in the **parent** tree (the harness replays the
history oldest-first as for commit -> files).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from evals.sets import Query
from tools.history import MAX_GOLD, Commit, git, is_source
from tools.retrieval_metrics import Span

MIN_BODY_WORDS = 25
MAX_CHARS = 4000
_TRAILER = re.compile(r"^(signed-off-by|co-authored-by|reviewed-by|acked-by|cc|see-also|"
                      r"change-id)\s*:", re.IGNORECASE)
_SKIP = re.compile(r"^(merge|release|bump|version|prepare|revert)\b|dependabot|pre-commit-ci",
                   re.IGNORECASE)
_PR_SUFFIX = re.compile(r"\s*\((#\d+|gh-\d+)\)\s*$")


def _text(message: str) -> str | None:
    """Subject + body without trailers, or None when the body is too short."""
    lines = message.strip().splitlines()
    if not lines or _SKIP.search(message):
        return None
    body = [ln for ln in lines[1:] if not _TRAILER.match(ln.strip())]
    if len(" ".join(body).split()) < MIN_BODY_WORDS:
        return None
    subject = _PR_SUFFIX.sub("", lines[0]).strip()
    return "\n".join([subject, *body]).strip()[:MAX_CHARS]


def parse(log: str) -> list[Commit]:
    """Eligible commits of `git log --name-status --format=%x1e%H%x1f%P%x1f%B%x1d` output."""
    out: list[Commit] = []
    for record in log.split("\x1e")[1:]:
        head, _, names = record.partition("\x1d")
        sha, parents, message = head.split("\x1f", 2)
        if len(parents.split()) != 1:
            continue
        changes = [ln.split("\t") for ln in names.splitlines() if "\t" in ln]
        source = [c for c in changes if is_source(c[-1])]
        if not 1 <= len(source) <= MAX_GOLD or any(c[0] != "M" for c in source):
            continue
        text = _text(message)
        if text is not None:
            out.append(Commit(sha, parents.strip(), text, tuple(c[-1] for c in source)))
    return out


def sample(git_dir: Path, n: int, seed: int, window: int = 3000) -> list[Commit]:
    """`n` eligible commits among the last `window`, oldest first."""
    log = git(git_dir, "log", "--no-merges", "--no-renames", f"-n{window}", "--name-status",
              "--format=%x1e%H%x1f%P%x1f%B%x1d")
    eligible = parse(log)  # newest first
    picked = set(random.Random(seed).sample(range(len(eligible)), min(n, len(eligible))))
    return [eligible[i] for i in sorted(picked, reverse=True)]


def to_query(commit: Commit, name: str) -> Query:
    return Query(f"{name}:{commit.sha[:10]}", commit.subject,
                 [Span(p, 1, 1) for p in commit.files], {"level": "file"})
