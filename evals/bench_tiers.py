"""What the static tier costs a full index: `sextant index --no-embed` with the static tier
(the default) against `--no-static`, alternating, in fresh processes, same tree.

    python -m evals.bench_tiers [--corpus moby] [--pairs 2] [--baseline DIR] [--out results.json]

`--baseline DIR` (another checkout, e.g. of main) adds a third run per pair: the static
tier indexed by that checkout's code, so a change to the static tier's cost is measured
against the old code in the same minutes.

Each run indexes into a fresh index directory (the static table itself is distilled once
beforehand and cached, as it is for a user after the first run). Reports wall seconds and CPU
seconds (the index process and its parse workers; and the index process's own, the
writer's) per run, their ratios per pair, and the static vectors written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO.parent / "shared")) / "corpora"


def _extract(corpus: str, dest: Path) -> Path:
    archive = next(CORPORA.glob(f"{corpus}-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir())


# `sextant index`, then the CPU seconds of the index process itself (the writer: without its
# parse workers) on stderr's last line
_CLI = ("import resource, sys\n"
        "from mcp_server.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "own = resource.getrusage(resource.RUSAGE_SELF)\n"
        "sys.stderr.write(f'\\nwriter_cpu_s {own.ru_utime + own.ru_stime}\\n')\n"
        "sys.exit(code)\n")


def _index(root: Path, index_dir: Path, static: bool, code: Path = REPO) -> dict[str, float]:
    args = [sys.executable, "-c", _CLI, "index", str(root), "--index-dir",
            str(index_dir), "--no-embed", "--json", "--static" if static else "--no-static"]
    env = {**os.environ, "PYTHONPATH": str(code)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, cwd=code, env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = json.loads(done.stdout)
    writer = float(done.stderr.strip().splitlines()[-1].split()[-1])
    return {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2),
            "writer_cpu_s": round(writer, 2), "chunks": out["chunks"],
            "static_vectors": out.get("static", {}).get("vectors", 0)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="moby")
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--baseline", type=Path, default=None, help="another checkout to compare")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = _extract(args.corpus, Path(tmp) / "tree")
        from indexer.embed import load_static_embedder

        load_static_embedder()  # distilled once and cached, as after a user's first run
        pairs = []
        for i in range(args.pairs):
            plain = _index(root, Path(tmp) / f"plain{i}", static=False)
            static = _index(root, Path(tmp) / f"static{i}", static=True)
            pair = {"no_static": plain, "static": static,
                    "ratio": round(static["seconds"] / plain["seconds"], 3),
                    "cpu_ratio": round(static["cpu_s"] / plain["cpu_s"], 3)}
            if args.baseline:
                old = _index(root, Path(tmp) / f"old{i}", static=True, code=args.baseline)
                pair |= {"baseline_static": old,
                         "baseline_cpu_ratio": round(old["cpu_s"] / plain["cpu_s"], 3)}
            pairs.append(pair)
            sys.stderr.write(f"pair {i}: {json.dumps(pairs[-1])}\n")
    result = {"corpus": args.corpus, "pairs": pairs, "load": os.getloadavg()}
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
