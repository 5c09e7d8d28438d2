"""Lexical compaction cost against a full `sextant index --no-embed` of the same corpus.

    python -m evals.bench_compaction [--corpus moby] [--rounds 2] [--edit-share 0.05]

Each round, alternating the two on the same machine minutes:
1. a full `sextant index --no-embed` (no static tier) into a new directory: a subprocess,
   its CPU seconds from RUSAGE_CHILDREN (the CLI and its parse workers), and its wall time;
2. on that index, `--edit-share` of the files get a line appended and are re-indexed
   (not measured), which leaves deleted documents in the lexical index; then the
   compaction (`RepoIndex.compact_lexical`: the store's chunks written into a new tantivy
   index beside the old one, and the swap), its CPU from `time.process_time` (every thread
   of this process, tantivy's included) plus the rebuild's own process where it has one
   (`rebuild_process_cpu_s`, from RUSAGE_CHILDREN once it has ended; `REBUILD_APART_FROM`
   in `indexer/disk/repo.py`), and wall time. The edits are undone after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.bench_index import extract

REPO = Path(__file__).resolve().parent.parent


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def full_index(root: Path, index_dir: Path) -> dict[str, float]:
    before = _children_cpu()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mcp_server.cli", "index", str(root), "--no-embed",
                    "--no-static", "--index-dir", str(index_dir), "--json"], cwd=REPO,
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return {"cpu_s": round(_children_cpu() - before, 2),
            "wall_s": round(time.perf_counter() - started, 2)}


def compaction(root: Path, index_dir: Path, share: float, seed: int) -> dict[str, float]:
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex

    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        paths = [r[0] for r in index.store.query("SELECT path FROM files ORDER BY path")]
        edited = random.Random(seed).sample(paths, max(1, int(share * len(paths))))
        saved = {p: (root / p).read_bytes() for p in edited}
        for p in edited:
            (root / p).write_bytes(saved[p] + b"\n// edited\n")
        index_repository(index)
        deleted, docs = index.lexical.deleted_docs(), index.lexical.num_docs()
        children = _children_cpu()
        cpu, started = time.process_time(), time.perf_counter()
        assert index.compact_lexical()
        own, apart = time.process_time() - cpu, _children_cpu() - children
        out = {"cpu_s": round(own + apart, 2), "own_cpu_s": round(own, 2),
               "rebuild_process_cpu_s": round(apart, 2),
               "wall_s": round(time.perf_counter() - started, 2),
               "edited_files": len(edited), "deleted_docs": deleted, "docs": docs}
        assert index.lexical.deleted_docs() == 0 and index.lexical.num_docs() == docs
    for p, data in saved.items():
        (root / p).write_bytes(data)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="moby")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--edit-share", type=float, default=0.05)
    args = parser.parse_args()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sextant-compaction-") as tmp:
        root = extract(args.corpus, Path(tmp) / "src")
        for n in range(args.rounds):
            index_dir = Path(tmp) / f"idx-{n}"
            full = full_index(root, index_dir)
            compact = compaction(root, index_dir, args.edit_share, seed=n)
            rounds.append({"full_index": full, "compaction": compact,
                           "cpu_ratio": round(compact["cpu_s"] / full["cpu_s"], 3)})
            shutil.rmtree(index_dir)
    print(json.dumps({"corpus": args.corpus, "machine": platform.machine(),
                      "cpus": os.cpu_count(), "load_average": os.getloadavg(),
                      "rounds": rounds}, indent=2))


if __name__ == "__main__":
    main()
