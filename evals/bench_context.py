"""Does one answer hold the code a change needed? get_context against two baselines.

For commits sampled from a repository's history, the task is the commit message (subject and
body), asked of the parent's tree. Two sets (`--set`):

- `commits` (`evals.sets.commits`): any eligible commit (1-4 modified non-test source files,
  a subject of 3+ words), whatever its message's length, among the last 800 commits;
- `issues` (`evals.sets.issues`): the same files rule, but only fixes described at length
  (subject + body of at least 25 words: prose, pasted code, tracebacks, the kind of text an
  agent is handed), among the last 3,000 commits since fewer qualify.

The gold is every changed hunk of those files, as old-side line ranges in the parent (a
pure insertion: the line it follows). At each budget (cl100k tokens) three
answers are compared, in the same run over the same index:

- `get_context`: `tools.get_context` with `max_tokens` = the budget; a line is held when an
  item's text holds it (a body, a signature's lines; one-line items hold none);
- `search`: `search_code` (k=50) with `max_tokens` = the budget; a line is held when a
  result's snippet shows it (snippets are cut to fit the budget);
- `bm25-files`: whole files ranked by plain BM25 (`evals.baselines.file_units`) and
  concatenated as plain text until the budget is spent (the last one cut).

Per system and budget: `hunks` = share of tasks whose every hunk is held entirely,
`hunk_share` = mean share of hunks held, `files` = share of tasks whose every gold file
appears (held lines, or named by an item), `tokens` = mean answer size. The tool answers
are counted as their structured JSON (what `max_tokens` bounds); bm25-files as plain text.

The index is lexical (BM25 and symbols) unless `--static` attaches the static tier or
`--model` the model tier (every chunk embedded before each task: a server's state once its
background embedding is done; each in an index directory of its own).

    SEXTANT_SHARED_DIR=../shared python -m evals.bench_context --repos requests,gin -n 20 \
        [--set issues] [--systems get_context] [--static] [--model]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals import baselines
from evals.sets import commits as commit_set
from evals.sets import issues as issue_set
from indexer.core import count_tokens
from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from tools.get_context import get_context
from tools.history import Commit, git
from tools.search import search_code

MIRRORS = Path(os.environ.get("SEXTANT_EVAL_MIRRORS", "/work/.mirror"))
HISTORY = {"flask": "pallets+flask", "werkzeug": "pallets+werkzeug", "click": "pallets+click",
           "requests": "psf+requests", "gin": "gin-gonic+gin", "echo": "labstack+echo"}
BUDGETS = (4000, 8000, 16000)
SYSTEMS = ("get_context", "search", "bm25-files")
SETS = ("commits", "issues")
WINDOWS = {"commits": 800, "issues": 3000}  # the last commits sampled from, by set
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", re.MULTILINE)
_MORE = re.compile(r"^\.\.\. \(\d+ more lines\)$")
log = logging.getLogger("evals.bench_context")

Held = dict[str, set[int]]  # path -> lines held


@dataclass(frozen=True, slots=True)
class Task:
    commit: Commit
    text: str
    hunks: list[tuple[str, int, int]]  # path, first, last (parent's lines)


def hunks(git_dir: Path, commit: Commit) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for path in commit.files:
        diff = git(git_dir, "diff", "-U0", "--no-renames", commit.parent, commit.sha, "--", path)
        for m in _HUNK.finditer(diff):
            start, count = int(m.group(1)), int(m.group(2) or "1")
            out.append((path, max(start, 1), max(start, 1) + max(count, 1) - 1))
    return out


def task_of(git_dir: Path, commit: Commit, kind: str = "commits") -> Task:
    if kind == "issues":  # the set's own text: subject + body, trailers removed
        return Task(commit, commit.subject, hunks(git_dir, commit))
    message = git(git_dir, "log", "-1", "--format=%B", commit.sha).strip()
    message = "\n".join(ln for ln in message.splitlines()
                        if not ln.lower().startswith(("signed-off-by:", "co-authored-by:")))
    return Task(commit, message[:4000] or commit.subject, hunks(git_dir, commit))


# -- the three answers ------------------------------------------------------------------------


def held_by_context(live: LiveIndex, task: str, budget: int) -> tuple[Held, set[str], int]:
    result = get_context(live, task, budget)
    held: Held = defaultdict(set)
    named = set()
    for item in result.items:
        if item.kind == "directory":
            continue
        named.add(item.path)
        if item.detail in ("body", "signature") and item.start_line > 0:
            shown = item.text.count("\n") + 1 if item.detail == "body" else (
                item.end_line - item.start_line + 1)
            held[item.path].update(range(item.start_line, item.start_line + shown))
    return held, named, result.tokens


def held_by_search(live: LiveIndex, task: str, budget: int) -> tuple[Held, set[str], int]:
    result = search_code(live, task, k=50, max_tokens=budget)
    held: Held = defaultdict(set)
    for hit in result.results:
        lines = [ln for ln in hit.snippet.splitlines() if not _MORE.match(ln)]
        last = min(hit.end_line, hit.start_line + max(len(lines), 1) - 1)
        held[hit.path].update(range(hit.start_line, last + 1))
    return held, set(held), count_tokens(result.model_dump_json())


def held_by_bm25_files(root: Path, files: baselines.UnitIndex, task: str,
                       budget: int) -> tuple[Held, set[str], int]:
    held: Held = defaultdict(set)
    used = 0
    for span in files.search(task, 50):
        lines = (root / span.path).read_text(encoding="utf-8", errors="replace").splitlines()
        header = count_tokens(f"### {span.path}\n")
        cost = header + count_tokens("\n".join(lines))
        if used + cost > budget:
            lines = _fit_lines(lines, budget - used - header)
            cost = header + count_tokens("\n".join(lines))
        if lines:
            held[span.path].update(range(1, len(lines) + 1))
            used += cost
        if used >= budget - 20:
            break
    return held, set(held), used


def _fit_lines(lines: list[str], room: int) -> list[str]:
    lo, hi = 0, len(lines)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if count_tokens("\n".join(lines[:mid])) <= room:
            lo = mid
        else:
            hi = mid - 1
    return lines[:lo]


# -- scoring ----------------------------------------------------------------------------------


def score(task: Task, held: Held, named: set[str]) -> dict[str, float]:
    inside = [all(line in held.get(p, ()) for line in range(a, b + 1)) for p, a, b in task.hunks]
    return {"hunks": float(bool(inside) and all(inside)),
            "hunk_share": sum(inside) / len(inside) if inside else 0.0,
            "files": float(all(p in named for p in task.commit.files))}


@dataclass(frozen=True, slots=True)
class Run:
    """What one benchmark run asks: which set, how many tasks, which systems and budgets."""

    kind: str = "commits"
    n: int = 20
    seed: int = 7
    window: int = WINDOWS["commits"]
    budgets: tuple[int, ...] = BUDGETS
    systems: tuple[str, ...] = SYSTEMS
    static: bool = False  # the static tier attached
    model: bool = False  # the model tier attached, every chunk embedded before each task


def sample(git_dir: Path, run: Run) -> list[Commit]:
    """The run's commits, oldest first."""
    if run.kind == "issues":
        return issue_set.sample(git_dir, run.n, run.seed, run.window)
    return commit_set.sample(git_dir, run.n, run.seed, run.window)


def _start_fresh(tree: Path, paths: IndexPaths) -> None:
    """Remove what an earlier run left (the tree, the index) but the embedding cache: a run
    that started from the last run's index got a task or two different from a fresh one
    (docs/benchmarks.md, twelfth session), and the cache only saves the model's time."""
    kept = paths.dir.parent / "embeddings.kept.duckdb"
    if paths.embeddings.exists():
        paths.embeddings.replace(kept)
    shutil.rmtree(tree, ignore_errors=True)
    shutil.rmtree(paths.dir, ignore_errors=True)
    if kept.exists():
        paths.dir.mkdir(parents=True, exist_ok=True)
        kept.replace(paths.embeddings)


def run_repo(name: str, run: Run, work: Path) -> list[dict[str, Any]]:
    git_dir = MIRRORS / HISTORY.get(name, name) / "repo"
    commits = sample(git_dir, run)
    tree, rows = work / name / "tree", []
    paths = IndexPaths.for_repo(tree, work / name / "index")
    _start_fresh(tree, paths)
    commit_set.materialize(git_dir, commits[0].parent, tree)
    index = RepoIndex(paths)
    live = LiveIndex(index, LiveOptions(static=run.static, name=name))  # not "tree"
    if run.static and not live.attach_static():
        raise SystemExit("--static: the static tier could not be loaded")
    if run.model:
        live.attach_model()
    try:
        previous = commits[0]
        for commit in commits:
            if commit is not previous:
                commit_set.advance(git_dir, previous.parent, commit.parent, tree)
            previous = commit
            settle(live)
            if run.model:
                _embed_missing(live)
            task = task_of(git_dir, commit, run.kind)
            if task.hunks:
                rows += _answers(name, live, tree, baselines.file_units(index), task, run)
    finally:
        index.close()
    return rows


def settle(live: LiveIndex) -> None:
    """Bring the index up to the tree and rank as a fresh index of it would: a server
    compacts the lexical index once writes are quiet for 2 s (docs/live-index.md), and until
    then BM25 counts the documents the update deleted. Without it, a task's answer depended
    on the tasks before it (flask `cabda59353`: every hunk fresh, none after the previous
    task's tree)."""
    live.refresh()
    live.index.compact_lexical()


def _embed_missing(live: LiveIndex) -> None:
    """Every chunk of this tree gets its model vector before the task is asked, and the
    query map is fitted when due (the state a server reaches once background embedding is
    done; texts seen before come from the embedding cache)."""
    if live.vectors is None or live.embedder is None:
        raise SystemExit("--model: the model tier could not be loaded")
    live.embed_pending()
    if live.embedding.state != "complete":
        raise SystemExit(f"--model: embedding ended {live.embedding.state}")


def _answers(name: str, live: LiveIndex, tree: Path, files: baselines.UnitIndex, task: Task,
             run: Run) -> list[dict[str, Any]]:
    systems: dict[str, Callable[[int], tuple[Held, set[str], int]]] = {
        "get_context": lambda b: held_by_context(live, task.text, b),
        "search": lambda b: held_by_search(live, task.text, b),
        "bm25-files": lambda b: held_by_bm25_files(tree, files, task.text, b),
    }
    rows = []
    for budget in run.budgets:
        for system, answer in systems.items():
            if system not in run.systems:
                continue
            started = time.perf_counter()
            held, named, tokens = answer(budget)
            rows.append({"repo": name, "commit": task.commit.sha[:10], "system": system,
                         "budget": budget, "tokens": tokens,
                         "seconds": time.perf_counter() - started,
                         **score(task, held, named)})
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[f"{r['system']}@{r['budget']}"].append(r)
    return {k: {m: round(sum(r[m] for r in g) / len(g), 3)
                for m in ("hunks", "hunk_share", "files", "tokens", "seconds")} | {"n": len(g)}
            for k, g in sorted(groups.items())}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    p = argparse.ArgumentParser(prog="python -m evals.bench_context")
    p.add_argument("--repos", default="requests,gin")
    p.add_argument("--set", dest="kind", choices=SETS, default="commits",
                   help="commits: any message; issues: fixes described at length")
    p.add_argument("-n", type=int, default=20, help="commits per repository")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--window", type=int, default=None,
                   help="sample among the last N commits (commits: 800, issues: 3000)")
    p.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--work", type=Path, default=Path("/tmp/sextant-bench-context"))
    p.add_argument("--static", action="store_true", help=(
        "attach the static tier (default: lexical only); its own index directory"))
    p.add_argument("--model", action="store_true", help=(
        "attach the model tier and embed every chunk before each task (a server's state once "
        "background embedding is done); its own index directory"))
    args = p.parse_args(argv)
    systems = tuple(args.systems.split(","))
    if unknown := set(systems) - set(SYSTEMS):
        p.error(f"unknown systems: {sorted(unknown)}")
    run = Run(args.kind, args.n, args.seed, args.window or WINDOWS[args.kind],
              tuple(int(b) for b in args.budgets.split(",")), systems, args.static,
              args.model)
    rows: list[dict[str, Any]] = []
    for name in args.repos.split(","):
        started = time.perf_counter()
        tiers = ("-static" if run.static else "") + ("-model" if run.model else "")
        rows += run_repo(name, run, args.work / (run.kind + tiers))
        log.info("%s: %.1f s", name, time.perf_counter() - started)
    report: dict[str, Any] = {"set": run.kind, "window": run.window, "all": summarize(rows)}
    for name in args.repos.split(","):
        report[name] = summarize([r for r in rows if r["repo"] == name])
    json.dump({"summary": report, "rows": rows}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
