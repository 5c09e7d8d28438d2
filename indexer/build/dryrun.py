"""`sextant index --dry-run`: what would be indexed and skipped, and what it would cost.

Nothing is written to the repository or its index. The report comes from the real run's own
steps, so it agrees with it:

- **Files and skips:** the real walk (`walk`), then every file is read and put through the
  real content checks (`read_checked`: size, binary, generated, minified), so the skip counts
  per reason equal a real run's (only a file the parser fails on, `parse_error`, is seen only
  if it is among the files chunked below). `verbose` lists every skipped path with its reason.
- **Chunks:** a repository of up to `EXACT_FILES` files is chunked whole, exactly as indexing
  would (parse + chunk, without writing): the count is exact. A larger one is sampled per
  language: `SAMPLE_FILES` files in all, shared out by bytes, spread evenly over each
  language's files sorted by size; each language's chunks per byte scale to its bytes.
  Parse workers run the chunking, as in a real build.
- **Embedding time:** chunks divided by a rate measured on this machine: the first dry run
  embeds `CALIBRATION_TEXTS` of the sampled chunks with the configured model and caches the
  rate (chunks/s) under the Sextant cache dir (`embed-rate.json`), keyed by model id, backend
  and cores; later runs reuse it. `SEXTANT_EMBED_RATE` (chunks/s) overrides it.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.build.pipeline import IndexOptions, SampledFile, chunk_sample, read_checked
from indexer.core import WorkerPool
from indexer.discover import FileEntry, SkippedFile, walk
from indexer.languages import language_for_path

EXACT_FILES = 400  # up to this many files, every file is chunked
SAMPLE_FILES = 400  # otherwise, this many files are chunked
MIN_PER_LANGUAGE = 8  # ... at least this many of each language (or all it has)
CALIBRATION_TEXTS = 48  # chunks embedded to measure the model's rate
_BATCH = 16  # files per worker task
RATE_FILE = "embed-rate.json"
RATE_ENV = "SEXTANT_EMBED_RATE"


@dataclass
class _Scan:
    entries: list[FileEntry] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)
    directories: Counter[str] = field(default_factory=Counter)
    bytes: int = 0


def _scan(root: Path, opts: IndexOptions) -> _Scan:
    """The real walk, then the real read and content checks of every file."""
    scan = _Scan()
    for item in walk(root, opts.walk):
        if isinstance(item, FileEntry):
            checked = read_checked(item, opts)
            item_or_skip: FileEntry | SkippedFile = (
                checked if isinstance(checked, SkippedFile) else item)
        else:
            item_or_skip = item
        if isinstance(item_or_skip, SkippedFile):
            scan.skipped.append(item_or_skip)
            continue
        scan.entries.append(item_or_skip)
        scan.bytes += item_or_skip.size
        scan.languages[_language(item_or_skip)] += 1
        path = item_or_skip.path
        scan.directories[path.split("/", 1)[0] if "/" in path else "."] += 1
    return scan


def _language(entry: FileEntry) -> str:
    return language_for_path(entry.path) or "text"


def _spread(items: Sequence[FileEntry], n: int) -> list[FileEntry]:
    """`n` items spread evenly over `items` (all of them when n >= len)."""
    if n >= len(items):
        return list(items)
    return [items[int((i + 0.5) * len(items) / n)] for i in range(n)]


def _sample(entries: list[FileEntry]) -> dict[str, tuple[list[FileEntry], int]]:
    """Per language: the files to chunk and the bytes of all its files."""
    groups: dict[str, list[FileEntry]] = defaultdict(list)
    for entry in entries:
        groups[_language(entry)].append(entry)
    total = sum(e.size for e in entries) or 1
    exact = len(entries) <= EXACT_FILES
    out: dict[str, tuple[list[FileEntry], int]] = {}
    for language, files in groups.items():
        size = sum(e.size for e in files)
        share = len(files) if exact else max(MIN_PER_LANGUAGE, round(SAMPLE_FILES * size / total))
        out[language] = (_spread(sorted(files, key=lambda e: (e.size, e.path)), share), size)
    return out


def _batches(items: list[FileEntry]) -> Iterator[list[FileEntry]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def _skipped_result(entry: FileEntry) -> SampledFile:
    return (entry.path, None, [])


def _chunk_all(files: list[FileEntry], opts: IndexOptions, texts_per_file: int,
               ) -> dict[str, SampledFile]:
    """chunk_sample over `files`, in parse workers when there are enough of them."""
    fn = functools.partial(chunk_sample, opts=opts, texts_per_file=texts_per_file)
    if len(files) <= 2 * _BATCH:
        return {r[0]: r for r in fn(files)}
    pool = WorkerPool(opts.workers)
    try:
        return {r[0]: r for batch in pool.map_batches(fn, _batches(files), _skipped_result)
                for r in batch}
    finally:
        pool.close()


def _estimate(sample: dict[str, tuple[list[FileEntry], int]], opts: IndexOptions,
              ) -> tuple[int, list[str], list[SkippedFile], int]:
    """(estimated chunks, texts for the calibration, parse errors found, files chunked)."""
    files = [e for chosen, _ in sample.values() for e in chosen]
    per_file = max(1, CALIBRATION_TEXTS // max(1, min(len(files), CALIBRATION_TEXTS)))
    results = _chunk_all(files, opts, per_file)
    chunks = 0.0
    texts: list[str] = []
    errors: list[SkippedFile] = []
    for chosen, size in sample.values():
        got = chunk_bytes = 0
        for entry in chosen:
            _, n, sample_texts = results[entry.path]
            if n is None:
                errors.append(SkippedFile(entry.path, "parse_error", "failed in the dry run"))
                continue
            got += n
            chunk_bytes += entry.size
            texts.extend(sample_texts)
        if chunk_bytes:
            chunks += got * size / chunk_bytes
    return round(chunks), _spread_texts(texts), errors, len(files)


def _spread_texts(texts: list[str]) -> list[str]:
    if len(texts) <= CALIBRATION_TEXTS:
        return texts
    step = len(texts) / CALIBRATION_TEXTS
    return [texts[int(i * step)] for i in range(CALIBRATION_TEXTS)]


# -- the embedding rate ------------------------------------------------------------------------


def _rate_cache() -> Path:
    from indexer.core import cache_dir

    return cache_dir() / RATE_FILE


def _read_rates(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def embed_rate(texts: list[str], model: str | None = None) -> dict[str, Any] | None:
    """Chunks/s of the configured embedding model on this machine: `SEXTANT_EMBED_RATE`,
    else the cached calibration for this model, backend and core count, else measured now
    by embedding `texts` (and cached). None when there is nothing to measure with."""
    if os.environ.get(RATE_ENV):
        return {"chunks_per_s": float(os.environ[RATE_ENV]), "source": RATE_ENV}
    if not texts:
        return None
    from indexer.core.fsutil import atomic_write_bytes
    from indexer.embed import backend_from_env, load_embedder, model_id_for
    from indexer.embed.batching import physical_cores

    model_id = model_id_for(model)
    key = f"{model_id}|{backend_from_env()}|{physical_cores()} cores"
    path = _rate_cache()
    rates = _read_rates(path)
    cached = rates.get(key)
    if isinstance(cached, dict) and float(cached.get("chunks_per_s", 0)) > 0:
        return {**cached, "source": "cached", "model": model_id}
    embedder = load_embedder(model)
    embedder.embed_documents(texts[:2])  # warm-up: first-call set-up is not the rate
    started = time.perf_counter()
    embedder.embed_documents(texts)
    elapsed = max(time.perf_counter() - started, 1e-6)
    measured = {"chunks_per_s": round(len(texts) / elapsed, 3), "chunks": len(texts),
                "seconds": round(elapsed, 3), "measured_at": int(time.time())}
    rates[key] = measured
    atomic_write_bytes(path, json.dumps(rates, indent=1, sort_keys=True).encode())
    return {**measured, "source": "measured", "model": model_id}


# -- the report --------------------------------------------------------------------------------


def dry_run(root: Path, opts: IndexOptions, *, embed: bool = True,
            verbose: bool = False) -> dict[str, Any]:
    """What `index_repository` would do on `root` (see the module docstring)."""
    scan = _scan(root, opts)
    chunks, texts, errors, chunked = _estimate(_sample(scan.entries), opts)
    skipped = scan.skipped + errors
    rate = embed_rate(texts) if embed else None
    per_s = rate["chunks_per_s"] if rate else 0.0
    report: dict[str, Any] = {
        "root": str(root), "files": len(scan.entries) - len(errors), "bytes": scan.bytes,
        "languages": dict(scan.languages.most_common()),
        "directories": dict(scan.directories.most_common()),
        "skipped": dict(Counter(str(s.reason) for s in skipped).most_common()),
        "estimated_chunks": chunks,
        "chunks_exact": chunked == len(scan.entries),
        "chunked_files": chunked,
        "estimated_embed_seconds": round(chunks / per_s, 1) if per_s > 0 else None,
        "embed_rate": rate,
    }
    if verbose:
        report["skipped_paths"] = [{"path": s.path, "reason": str(s.reason), "detail": s.detail}
                                   for s in sorted(skipped, key=lambda s: s.path)]
    return report
