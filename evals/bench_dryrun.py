"""Dry run against the real run, per corpus: skip counts, files, chunks and time.

    python -m evals.bench_dryrun [flask requests gin ripgrep vue-core moby]

Each corpus is extracted from ../shared/corpora, then `dry_run` and a real build without
embeddings (`index_repository`, into a temporary index dir) run on it. One JSON line per
corpus: estimated vs real chunks and their ratio, files, skip counts per reason, seconds.
The embedding-rate calibration is left out (SEXTANT_EMBED_RATE=1): it is not the estimate
under test and would be cached after its first run anyway.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from evals.bench_index import extract

DEFAULT = ("flask", "requests", "gin", "ripgrep", "vue-core", "moby")


def compare(root: Path, index_dir: Path) -> dict[str, object]:
    from indexer.build import IndexOptions, dry_run, index_repository
    from indexer.disk import IndexPaths, RepoIndex

    started = time.perf_counter()
    dry = dry_run(root, IndexOptions())
    dry_s = time.perf_counter() - started
    started = time.perf_counter()
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        stats = index_repository(index, IndexOptions())
        stored = index.store.query("SELECT count(*) FROM files")[0][0]
    real_s = time.perf_counter() - started
    return {
        "dry_chunks": dry["estimated_chunks"], "real_chunks": stats.chunks,
        "ratio": round(dry["estimated_chunks"] / max(stats.chunks, 1), 3),
        "chunks_exact": dry["chunks_exact"], "dry_files": dry["files"],
        "real_files": stats.files, "stored_files": stored,
        "skips_equal": dry["skipped"] == dict(stats.skipped), "dry_skipped": dry["skipped"],
        "dry_s": round(dry_s, 2), "real_s": round(real_s, 2),
    }


def main(argv: list[str]) -> None:
    os.environ.setdefault("SEXTANT_EMBED_RATE", "1")
    for name in argv or DEFAULT:
        with tempfile.TemporaryDirectory() as tmp:
            root = extract(name, Path(tmp) / "src")
            row = compare(root, Path(tmp) / "index")
        print(json.dumps({"corpus": name, **row}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
