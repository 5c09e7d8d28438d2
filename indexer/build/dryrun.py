"""`sextant index --dry-run`: what would be indexed and skipped, and what it would cost.

Nothing is written. Files per language and per top-level directory and skips per reason
come from a full walk; chunk counts are estimated by parsing and chunking an evenly spread
sample of files and scaling by bytes; embedding time divides the estimated chunks by the
CPU throughput measured by `evals/bench_embed.py` (override: SEXTANT_EMBED_RATE, chunks/s).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from indexer.build.pipeline import IndexOptions, process_file
from indexer.discover import FileEntry, SkippedFile, walk
from indexer.embed.batching import physical_cores
from indexer.languages import language_for_path
from indexer.parse import FileRecord

SAMPLE_FILES = 200
# Chunks/s per physical core, MiniLM on the numpy CPU backend: 46-47.5 chunks/s on 2 cores
# (docs/benchmarks.md); batches run one per core, so the rate scales with cores.
EMBED_RATE_PER_CORE = 23.0


def dry_run(root: Path, opts: IndexOptions) -> dict[str, Any]:
    languages: Counter[str] = Counter()
    directories: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    entries: list[FileEntry] = []
    total_bytes = 0
    for item in walk(root, opts.walk):
        if isinstance(item, SkippedFile):
            skipped[str(item.reason)] += 1
            continue
        entries.append(item)
        total_bytes += item.size
        languages[language_for_path(item.path) or "text"] += 1
        top = item.path.split("/", 1)[0] if "/" in item.path else "."
        directories[top] += 1
    step = max(1, len(entries) // SAMPLE_FILES)
    sample = entries[::step][:SAMPLE_FILES]
    sample_bytes = sample_chunks = 0
    for entry in sample:
        res = process_file(entry, opts)
        if isinstance(res, FileRecord):
            sample_bytes += res.size
            sample_chunks += len(res.chunks)
    per_byte = sample_chunks / sample_bytes if sample_bytes else 0.0
    chunks = round(per_byte * total_bytes)
    rate = float(os.environ.get("SEXTANT_EMBED_RATE", EMBED_RATE_PER_CORE * physical_cores()))
    return {
        "root": str(root), "files": len(entries), "bytes": total_bytes,
        "languages": dict(languages.most_common()),
        "directories": dict(directories.most_common()),
        "skipped": dict(skipped.most_common()),
        "estimated_chunks": chunks,
        "estimated_embed_seconds": round(chunks / rate, 1) if rate > 0 else None,
        "sampled_files": len(sample),
    }
