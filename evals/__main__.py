"""`python -m evals`: retrieval-quality evaluation of Sextant against baselines.

Default run (`make eval`): docstring -> function on flask, requests (Python) and gin (Go),
and commit -> files on the histories of the same three projects, each with Sextant
(hybrid and lexical, through the MCP tool) and the baselines of `evals.baselines`. Work
directories persist under --work, so a second run re-uses trees, indexes and embeddings.
The report (markdown) goes to stdout; --json writes the numbers to a file. `--sets types`
asks for documented types instead of functions (docstring -> type, `evals.sets.docstrings`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import io
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from evals.harness import Outcome, evaluate, session
from evals.report import as_json, render_table
from evals.sets import Query, docstrings
from evals.sets import commits as commit_set
from evals.sets import issues as issue_set

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO_ROOT.parent / "shared"))
MIRRORS = Path(os.environ.get("SEXTANT_EVAL_MIRRORS", "/work/.mirror"))
HISTORY = {"flask": "pallets+flask", "requests": "psf+requests", "gin": "gin-gonic+gin",
           "werkzeug": "pallets+werkzeug", "click": "pallets+click", "echo": "labstack+echo",
           "fiber": "gofiber+fiber", "cobra": "spf13+cobra",
           # held-out too, added in the forty-ninth session and read once (docs/evals.md)
           "httpx": "encode+httpx", "mux": "gorilla+mux"}
LANGUAGES = {"flask": ("python",), "requests": ("python",), "gin": ("go",), "werkzeug": ("python",),
             "click": ("python",), "moby-client": ("go",), "echo": ("go",), "fiber": ("go",),
             "cobra": ("go",), "httpx": ("python",), "mux": ("go",)}
SUBTREES = {"moby-client": ("moby", "client")}  # docstring sets over part of a corpus
SET_OF_KIND = {"function": "docstrings", "type": "types"}  # what a docstring set asks for
# constants are chosen on these
TUNING = frozenset({"flask", "werkzeug", "click", "moby-client", "echo", "fiber", "cobra"})
log = logging.getLogger("evals")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sextant-evals"
    p = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n")[0])
    p.add_argument("--sets", default="docstrings,commits,issues")
    p.add_argument("--repos", default="flask,requests,gin")
    p.add_argument("-n", "--docstrings", type=int, default=100, help="queries per repository")
    p.add_argument("--commits", type=int, default=30, help="commits per repository")
    p.add_argument("--window", type=int, default=800, help="recent commits sampled from")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-dense", action="store_true", help="skip the model tier everywhere")
    p.add_argument("--no-static", action="store_true", help=(
        "skip the static tier (default: on; with the model tier too, the report adds "
        "sextant-static and sextant-model rows: each tier alone)"))
    p.add_argument("--dense-sets", default="docstrings,types,commits", help=(
        "sets that embed their trees (default: all but issues; commits embeds the chunks "
        "each step of history changes, from the embedding cache when their text was seen "
        "before)"))
    p.add_argument("--fit", type=int, default=0, metavar="N", help=(
        "commits set: also fit the fusion weights (`sextant eval --fit`) on N commits before "
        "the oldest sampled one, at its parent, and report them as sextant-fitted"))
    p.add_argument("--issues", type=int, default=30, help="issue texts per repository")
    p.add_argument("--systems", default=None, help="comma-separated subset of the systems")
    p.add_argument("--work", type=Path, default=cache)
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    return p.parse_args(argv)


def dense(args: argparse.Namespace, set_name: str) -> bool:
    return not args.no_dense and set_name in args.dense_sets.split(",")


def extract(name: str, work: Path) -> Path | None:
    archives = sorted((SHARED / "corpora").glob(f"{name}-*.tar.gz"))
    if not archives:
        return checkout(name, work)
    dest = work / "corpora" / archives[0].name.removesuffix(".tar.gz")
    if not dest.exists():
        with tarfile.open(archives[0]) as tar:
            tar.extractall(dest, filter="data")
    entries = [p for p in dest.iterdir() if p.is_dir()]
    return entries[0] if len(entries) == 1 else dest


def mirror_head(name: str) -> tuple[Path, str] | None:
    """The mirror of a repository without a corpus archive and the commit its docstring set
    is written out from (HEAD), None when there is an archive or no mirror."""
    git_dir = MIRRORS / HISTORY.get(name, name) / "repo"
    if any((SHARED / "corpora").glob(f"{name}-*.tar.gz")) or not git_dir.is_dir():
        return None
    head = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return git_dir, head


def checkout(name: str, work: Path) -> Path | None:
    """A repository without a corpus archive (werkzeug, click, echo, fiber, cobra: tuning
    only) as its mirror's HEAD tree, exported once with `git archive`."""
    mirror = mirror_head(name)
    if mirror is None:
        return None
    git_dir, head = mirror
    dest = work / "corpora" / f"{name}-{head[:12]}"
    if not dest.exists():
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", head],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(partial, filter="data")
        partial.rename(dest)
    return dest


@dataclass(frozen=True, slots=True)
class DocstringSet:
    """A docstring set built (or re-used) in its work directory: the corpus it came from, the
    stripped tree and its index under `base`, and the queries."""

    corpus: str
    base: Path
    queries: list[Query]
    # the mirror and commit the tree came from (its history is the user's history there);
    # None for a corpus archive, which has none
    history: tuple[Path, str] | None = None


def docstring_set(name: str, work: Path, n: int, seed: int,
                  kind: str = "function") -> DocstringSet | None:
    """`name`'s docstring set of `n` queries (seed `seed`) under `work`; None when its corpus
    is missing (`evals.headroom` reads the same sets)."""
    corpus, subtree = SUBTREES.get(name, (name, ""))
    source = extract(corpus, work)
    if source is not None and subtree:
        source = source / subtree
    if source is None:
        log.warning("corpus %s not found under %s/corpora: skipped", name, SHARED)
        return None
    base = work / SET_OF_KIND[kind] / f"{name}-s{seed}-n{n}"
    queries = docstrings.build(source, base / "tree", n, seed, name,
                               LANGUAGES.get(name, ("python", "go")), kind)
    return DocstringSet(corpus, base, queries, None if subtree else mirror_head(corpus))


async def run_docstrings(name: str, args: argparse.Namespace,
                         kind: str = "function") -> Outcome | None:
    built = docstring_set(name, args.work, args.docstrings, args.seed, kind)
    if built is None:
        return None
    outcome = Outcome()
    async with session(built.base / "tree", built.base / "index", dense(args, SET_OF_KIND[kind]),
                       not args.no_static, built.corpus, built.history) as s:
        await evaluate(s, built.queries, outcome,
                       args.systems.split(",") if args.systems else None)
    return outcome


async def run_commits(name: str, args: argparse.Namespace) -> Outcome | None:
    git_dir = MIRRORS / HISTORY.get(name, name) / "repo"
    if not git_dir.is_dir():
        log.warning("no history for %s at %s: skipped", name, git_dir)
        return None
    commits = commit_set.sample(git_dir, args.commits, args.seed, args.window)
    return await replay_or_skip(git_dir, commits, args.work / "commits" / name, name, args,
                                "commits")


async def run_issues(name: str, args: argparse.Namespace) -> Outcome | None:
    git_dir = MIRRORS / HISTORY.get(name, name) / "repo"
    if not git_dir.is_dir():
        log.warning("no history for %s at %s: skipped", name, git_dir)
        return None
    commits = issue_set.sample(git_dir, args.issues, args.seed)
    return await replay_or_skip(git_dir, commits, args.work / "issues" / name, name, args,
                                "issues")


async def replay_or_skip(git_dir: Path, commits: list[commit_set.Commit], base: Path, name: str,
                         args: argparse.Namespace, set_name: str) -> Outcome | None:
    """`replay`, or None with a warning when the history cannot be read (the repository is
    left out of the set, not half of it scored)."""
    try:
        return await replay(git_dir, commits, base, name, args, set_name)
    except commit_set.HistoryError as exc:
        log.warning("%s/%s skipped: %s", set_name, name, exc)
        return None


async def replay(git_dir: Path, commits: list[commit_set.Commit], base: Path, name: str,
                 args: argparse.Namespace, set_name: str) -> Outcome:
    """Evaluate each commit's query at its parent, following the history oldest-first."""
    systems = args.systems.split(",") if args.systems else None
    outcome = Outcome()
    commit_set.materialize(git_dir, commits[0].parent, base / "tree")
    async with session(base / "tree", base / "index", dense(args, set_name),
                       not args.no_static, name) as s:
        s.use_history(git_dir, commits[0].parent)
        if args.fit and set_name == "commits":
            report = s.fit(git_dir, commits[0].parent, args.fit, args.seed)
            log.info("%s: fitted weights %s", name, json.dumps(report))
        for previous, commit in zip([commits[0], *commits], commits, strict=False):
            if previous.parent != commit.parent:
                commit_set.advance(git_dir, previous.parent, commit.parent, base / "tree")
                s.refresh()
            s.use_history(git_dir, commit.parent)
            await evaluate(s, [commit_set.to_query(commit, name)], outcome, systems)
    return outcome


async def main_async(args: argparse.Namespace) -> dict[str, Outcome]:
    runners = {"docstrings": run_docstrings, "types": functools.partial(run_docstrings, kind="type"),
               "commits": run_commits, "issues": run_issues}
    results: dict[str, Outcome] = {}
    for set_name in args.sets.split(","):
        pooled, held_out = Outcome(), Outcome()
        for repo in args.repos.split(","):
            started = time.perf_counter()
            outcome = await runners[set_name](repo, args)
            if outcome is None:
                continue
            log.info("%s/%s: %.1f s", set_name, repo, time.perf_counter() - started)
            results[f"{set_name}/{repo}"] = outcome
            pooled.extend(outcome)
            if repo not in TUNING:
                held_out.extend(outcome)
        results[f"{set_name}/all"] = pooled
        results[f"{set_name}/held-out"] = held_out
    return results


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = asyncio.run(main_async(args))
    header = (f"# Sextant retrieval eval {datetime.date.today()} on {platform.node()} "
              f"({os.cpu_count()} CPUs), seed {args.seed}, "
              f"dense={'off' if args.no_dense else args.dense_sets}")
    print(header + "\n")
    for name, outcome in results.items():
        print(render_table(name, outcome))
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"header": header, "args": {
            k: str(v) for k, v in vars(args).items()}, "results": as_json(results)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
