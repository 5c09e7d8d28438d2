"""What reading the repository's history costs a file answer (`indexer.commits`).

    python -m evals.bench_history REPO [--runs 20]

REPO: a git work tree, indexed here first (`sextant index --no-embed`, lexical). Reports
(milliseconds, medians):
- `git read`: the log read from git (`rev-parse`, `ls-tree`, `log` of the last 2,000
  commits), what the first search after HEAD moves pays;
- `cached read`: the same log from the index directory's cache, what a one-shot
  `sextant search` pays while HEAD stays;
- `file answer, off` / `on`: `search_code(granularity="file")` in one process, the two
  alternated query by query (the history's per-query cost: a BM25 over subjects, and a
  `git rev-parse` at most every 5 s);
- the commits remembered.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from indexer.build import index_repository
from indexer.commits import HISTORY_CACHE, CommitLog
from indexer.disk import RepoIndex
from indexer.live import LiveIndex, LiveOptions
from tools.search import search_code

QUERIES = ("fix the session cookie when the app is behind a proxy",
           "json provider sorts keys", "blueprint url prefix with a trailing slash",
           "async view support", "template auto reload in debug mode",
           "send_file with an etag", "config from a toml file", "test client follows redirects",
           "cli loads the dotenv file", "error handler for a blueprint")


def _ms(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def run(root: Path, runs: int) -> dict[str, object]:
    """Index `root` (a git work tree) and measure (see the module docstring)."""
    index = RepoIndex.open(root)
    try:
        index_repository(index)
        cache = index.paths.dir / HISTORY_CACHE

        def cold() -> None:
            cache.unlink(missing_ok=True)
            CommitLog(root, cache=cache).size()

        git_read = _ms(cold, max(3, runs // 4))
        cached = _ms(lambda: CommitLog(root, cache=cache).size(), runs)
        off = LiveIndex(index, LiveOptions(history=False))
        on = LiveIndex(index, LiveOptions(history=True))
        for live in (off, on):  # warm: tables, and the history's first read
            search_code(live, QUERIES[0], granularity="file", mode="lexical")
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(runs):
            for query in QUERIES:
                for name, live in (("off", off), ("on", on)):
                    started = time.perf_counter()
                    search_code(live, query, granularity="file", mode="lexical")
                    times[name].append(1000 * (time.perf_counter() - started))
        assert on.history is not None
        off_ms, on_ms = statistics.median(times["off"]), statistics.median(times["on"])
        return {"repo": root.name, "commits remembered": on.history.size(),
                "git read ms": round(git_read, 1), "cached read ms": round(cached, 1),
                "file answer ms, off": round(off_ms, 2), "file answer ms, on": round(on_ms, 2),
                "on / off": round(on_ms / off_ms, 3), "queries": len(times["on"])}
    finally:
        index.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m evals.bench_history", description=__doc__)
    p.add_argument("repo", type=Path)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    print(json.dumps(run(args.repo.resolve(), args.runs), indent=1))


if __name__ == "__main__":
    main()
