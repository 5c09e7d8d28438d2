"""CLI start: `sextant search` on an indexed repository against `sextant --help`.

    python -m evals.bench_cli_start REPO [--runs 10] [--baseline-tree DIR]

Alternates the two commands (and, with --baseline-tree, the same two from another checkout
of Sextant, e.g. main, so old and new run in the same minutes), `--runs` times each, each a
fresh `python -m mcp_server.cli` process; reports wall and CPU (user + system of the child)
per command: mean and median, in seconds. REPO must already be indexed (`sextant index`);
`search` runs with --no-refresh so that only start-up and the query are timed;
`search+refresh` is the command as a user types it (the index is brought up to date first:
a walk and a stat of every file).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent


def _run(tree: Path, args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mcp_server.cli", *args], cwd=tree, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(tree)})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument("--query", default="register url rule")
    args = parser.parse_args()
    trees = {"new": TREE, **({"baseline": args.baseline_tree} if args.baseline_tree else {})}
    search = ["search", "--repo", str(args.repo.resolve()), args.query]
    commands = {"help": ["--help"],
                "search": [*search[:3], "--no-refresh", *search[3:]],
                "search+refresh": search}  # what a user types: the index checked first
    samples: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.runs):
        for tag, tree in trees.items():
            for name, argv in commands.items():
                samples.setdefault(f"{tag} {name}", []).append(_run(tree, argv))
    for key, values in samples.items():
        walls, cpus = [v[0] for v in values], [v[1] for v in values]
        print(json.dumps({"run": key, "n": len(values),
                          "wall_mean": round(statistics.mean(walls), 3),
                          "wall_median": round(statistics.median(walls), 3),
                          "cpu_mean": round(statistics.mean(cpus), 3),
                          "cpu_median": round(statistics.median(cpus), 3)}))


if __name__ == "__main__":
    main()
