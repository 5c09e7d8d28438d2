"""Indexing benchmark: Sextant's full index (no embeddings) vs raw tree-sitter parsing.

    python -m evals.bench_index [--corpus moby] [--out results.json]

Both runs see the same files (what the walk admits and a grammar exists for) and the same
number of worker processes; the baseline reads each file and parses it with tree-sitter,
nothing else. Reports files/s, symbols/s, MB/s, the wall-time ratio, the CPU seconds of the
indexing process and of its workers (with their ratio: on a shared machine CPU time moves
less than wall time), and peak RSS of the indexing process and of its largest worker
(ru_maxrss), each measured in a fresh subprocess so the figures don't mix.
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
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def extract(corpus: str, dest: Path) -> Path:
    archive = next((SHARED / "corpora").glob(f"{corpus}-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir())


def _parse_batch(paths: list[tuple[str, str]]) -> int:
    from indexer.parse import raw_parse

    n = 0
    for path, lang in paths:
        with open(path, "rb") as fh:
            raw_parse(fh.read(), lang)
        n += 1
    return n


def baseline(root: str, workers: int) -> dict[str, float]:
    """Walk, then read + raw tree-sitter parse of every parseable file."""
    from indexer.discover import FileEntry, walk
    from indexer.languages import language_for_path

    started = time.perf_counter()
    items = [(str(e.abs_path), lang) for e in walk(Path(root))
             if isinstance(e, FileEntry) and (lang := language_for_path(e.path))]
    batches = [items[i:i + 64] for i in range(0, len(items), 64)]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        parsed = sum(pool.map(_parse_batch, batches))
    return {"seconds": time.perf_counter() - started, "files": parsed}


def sextant(root: str, index_dir: str, workers: int) -> dict[str, float]:
    from indexer.build import IndexOptions, index_repository
    from indexer.disk import IndexPaths, RepoIndex

    started = time.perf_counter()
    with RepoIndex(IndexPaths.for_repo(Path(root), Path(index_dir))) as index:
        stats = index_repository(index, IndexOptions(workers=workers))
    seconds = time.perf_counter() - started
    size = sum(f.stat().st_size for f in Path(index_dir).rglob("*") if f.is_file())
    return {"seconds": seconds, "files": stats.indexed, "symbols": stats.symbols,
            "chunks": stats.chunks, "index_bytes": size,
            "skipped": sum(stats.skipped.values())}


def _child(mode: str, root: str, index_dir: str, workers: int) -> None:
    result = baseline(root, workers) if mode == "baseline" else sextant(root, index_dir, workers)
    own, workers = (resource.getrusage(who) for who in
                    (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    result["cpu_self_s"] = round(own.ru_utime + own.ru_stime, 2)
    result["cpu_workers_s"] = round(workers.ru_utime + workers.ru_stime, 2)
    result["rss_self_mb"] = own.ru_maxrss / 1024
    result["rss_worker_mb"] = workers.ru_maxrss / 1024
    result["load_avg"] = round(os.getloadavg()[0], 2)
    sys.stdout.write(json.dumps(result) + "\n")


def run_child(mode: str, root: Path, index_dir: Path, workers: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "evals.bench_index", "--child", mode, str(root), str(index_dir),
         str(workers)], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", default="moby")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, root, index_dir, workers = args.child
        _child(mode, root, index_dir, int(workers))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = extract(args.corpus, Path(tmp) / "src")
        total_bytes = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        base = run_child("baseline", root, Path(tmp) / "unused", args.workers)
        ours = run_child("sextant", root, Path(tmp) / "index", args.workers)
    report = {
        "corpus": args.corpus, "workers": args.workers, "date": time.strftime("%Y-%m-%d"),
        "baseline": base, "sextant": ours,
        "ratio_wall": round(ours["seconds"] / base["seconds"], 2),
        "ratio_cpu": round((ours["cpu_self_s"] + ours["cpu_workers_s"])
                           / (base["cpu_self_s"] + base["cpu_workers_s"]), 2),
        "files_per_s": round(ours["files"] / ours["seconds"], 1),
        "symbols_per_s": round(ours["symbols"] / ours["seconds"], 1),
        "mb_per_s": round(total_bytes / 1e6 / ours["seconds"], 2),
        "peak_rss_mb": round(max(ours["rss_self_mb"], ours["rss_worker_mb"]), 1),
    }
    text = json.dumps(report, indent=2)
    sys.stdout.write(text + "\n")
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
