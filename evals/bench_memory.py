"""Memory of a serving process: RSS after start and after a run of mixed tool calls.

    python -m evals.bench_memory [--corpus moby] [--calls 200] [--root DIR --index-dir DIR]
                                 [--no-embed]
                                 [--out memory.json]

The corpus is extracted to a temp dir and indexed lexically (`sextant index --no-embed`);
the model tier's vector index is then filled to the corpus's full chunk count with random
unit vectors stamped with the real default model's id (embedding moby for real takes hours
on 2 busy cores; the memory a vector index takes depends on its count and dimension, not
on what the vectors mean). `--root`/`--index-dir` reuse an index built that way.

`sextant serve --transport http` then runs with its defaults (file watching, the model tier:
the real default model is loaded for query vectors) and one MCP client makes `--calls`
calls from a mix over the corpus's own names (search_code hybrid and lexical with varied
queries, get_symbol, expand_dependencies, summarize_dir, index_status). Reports the server's
RSS (and its anonymous and file-backed parts, /proc/PID/smaps_rollup) once it is ready and
its vectors are open, and after the calls; `top_mappings` is where the RSS lies, by mapping.

`--edit-s S` then rewrites `--edit-files` source files (`evals.load_test.edit_files`: Go files
of moby, round-robin, 5 a second) for S seconds while the server watches and re-indexes
them (and embeds their changed chunks), waits until nothing is pending, `--settle` seconds
more, and reads the RSS again: memory must come back to where it was once the edits stop.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from evals.bench_index import extract
from evals.load_test import (
    _rss_kb,
    _sextant,
    _wait_ready,
    edit_files,
    edit_targets,
    stop,
    tree_rss_kb,
)

DIM = 384  # the default model's dimension


def rss_parts(pid: int) -> dict[str, int]:
    """RSS and its anonymous and file-backed parts, in MB (smaps_rollup); `tree`: the RSS
    of the server and the processes under it (its parse workers, multiprocessing's
    resource tracker), in MB, and `processes`, how many."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Anonymous", "Pss_File"):
            out[key.lower()] = int(rest.split()[0]) // 1024
    tree_kb, processes = tree_rss_kb(pid)
    if tree_kb is not None:
        out["tree"] = tree_kb // 1024
        out["processes"] = processes
    return out


def top_mappings(pid: int, n: int = 8) -> dict[str, int]:
    """The `n` mappings (file or [anon]/[heap]) holding the most RSS, in MB."""
    sizes: Counter[str] = Counter()
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
            name = parts[5] if len(parts) > 5 else "[anon]"
        elif parts and parts[0] == "Rss:":
            sizes[Path(name).name if name.startswith("/") else name] += int(parts[1])
    return {k: v // 1024 for k, v in sizes.most_common(n)}


def prepare(root: Path, index_dir: Path) -> None:
    """A lexical index of `root` and a full model-tier vector index of random vectors."""
    import numpy as np

    from indexer.disk import RepoIndex
    from indexer.embed import model_id_for
    from indexer.live import VECTOR_DTYPE
    from indexer.vectors import VectorIndex

    subprocess.run([*_sextant(), "index", "--repo", str(root), "--index-dir", str(index_dir),
                    "--no-embed", "--json"], check=True, stdout=subprocess.DEVNULL)
    index = RepoIndex.open(root, index_dir)
    try:
        ids = np.array([r[0] for r in index.store.query("SELECT chunk_id FROM chunks")],
                       dtype=np.uint64)
        vecs = np.random.default_rng(0).standard_normal((len(ids), DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        vectors = VectorIndex(index.paths.vectors, DIM, VECTOR_DTYPE, "cos")
        vectors.add(ids, vecs)
        vectors.save(index.store.generation)
        index.paths.vectors.with_name("vectors.model").write_text(model_id_for(None))
    finally:
        index.close()


def call_mix(root: Path, index_dir: Path, n: int, seed: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """`n` calls over the corpus's own names and paths, varied (a cache keyed by the query
    grows with them)."""
    from indexer.disk import IndexPaths
    from indexer.store import Store

    paths = IndexPaths.for_repo(root, index_dir)
    store = Store(paths.store, read_only=True, cache_path=paths.embeddings)
    try:
        names = [r[0] for r in store.query(
            "SELECT DISTINCT name FROM symbols WHERE length(name) > 5 ORDER BY name")]
        docs = [r[0].split(".")[0][:100] for r in store.query(
            "SELECT doc FROM symbols WHERE length(doc) > 30 ORDER BY qualname")]
        files = [r[0] for r in store.query(  # vendored files are not summarized
            "SELECT path FROM files WHERE language IS NOT NULL AND path NOT LIKE 'vendor/%' "
            "ORDER BY path")]
    finally:
        store.close()
    rng = random.Random(seed)
    dirs = sorted({str(Path(f).parent) for f in files if "/" in f})
    makers = [
        lambda: ("search_code", {"query": rng.choice(docs), "k": 10}),
        lambda: ("search_code", {"query": rng.choice(names), "mode": "lexical"}),
        lambda: ("search_code", {"query": f"{rng.choice(names)} {rng.choice(names)}"}),
        lambda: ("get_symbol", {"name": rng.choice(names)}),
        lambda: ("expand_dependencies", {"target": rng.choice(files)}),
        lambda: ("summarize_dir", {"path": rng.choice(dirs)}),
        lambda: ("search_code", {"query": rng.choice(docs), "mode": "semantic"}),
        lambda: ("index_status", {}),
    ]
    return [makers[i % len(makers)]() for i in range(n)]


async def _calls(url: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    errors: list[str] = []
    async with (httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, read=300.0)) as http,
                Client(streamable_http_client(url, http_client=http)) as client):
        started = time.perf_counter()
        for tool, args in calls:
            result = await client.call_tool(tool, args)
            if result.is_error:
                errors.append(f"{tool}: {str(result.content)[:160]}")
        return {"seconds": round(time.perf_counter() - started, 1),
                "errors": len(errors), "error_samples": errors[:5]}


async def _wait_status(url: str, limit: float, done: Callable[[dict[str, Any]], bool]) -> None:
    """Until `done` holds for index_status's answer (polling a subprocess's background work)."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    with anyio.fail_after(limit):
        async with (httpx2.AsyncClient(timeout=60) as http,
                    Client(streamable_http_client(url, http_client=http)) as client):
            while not done((await client.call_tool("index_status", {})).structured_content or {}):
                await anyio.sleep(0.5)


async def _wait_vectors(url: str, limit: float) -> None:
    """Until index_status reports the model tier complete (its vectors open)."""
    await _wait_status(url, limit, lambda s: s.get("embedding_state") == "complete")


def _serve(root: Path, index_dir: Path, extra: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """`sextant serve` over HTTP with its defaults (watching, the model tier) and `extra`."""
    cmd = [*_sextant(), "serve", "--transport", "http", "--port", "0", "--repo", str(root),
           "--index-dir", str(index_dir), *extra]
    with (index_dir / "serve.log").open("wb") as fh:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh,
                                env={**os.environ, "SEXTANT_LOG_LEVEL": "WARNING"})


async def _wait_idle(url: str, limit: float) -> None:
    """Until index_status reports no pending file."""
    await _wait_status(url, limit, lambda s: s.get("pending_files") == 0)


async def _tree_peak(pid: int, stop: anyio.Event, peak: dict[str, int]) -> None:
    """Until `stop`: the largest RSS of the server and the processes under it, sampled
    every 0.5 s (in MB), and the most processes seen."""
    while not stop.is_set():
        kb, processes = tree_rss_kb(pid)
        if kb is not None:
            peak["tree_mb"] = max(peak.get("tree_mb", 0), kb // 1024)
            peak["processes"] = max(peak.get("processes", 0), processes)
        with anyio.move_on_after(0.5):
            await stop.wait()


async def _edits(url: str, root: Path, seconds: float, files: int,
                 pid: int) -> dict[str, Any]:
    """`seconds` of edits, 5 a second, then until they are indexed; the tree's peak RSS
    meanwhile (while batches come, parse and encoding workers run under the server)."""
    counts: Counter[str] = Counter()
    done = anyio.Event()
    sampled = anyio.Event()
    peak: dict[str, int] = {}
    async with anyio.create_task_group() as tg:
        tg.start_soon(_tree_peak, pid, sampled, peak)
        async with anyio.create_task_group() as edits:
            edits.start_soon(edit_files, edit_targets(root, files), 5.0, done, counts)
            await anyio.sleep(seconds)
            done.set()
        started = time.perf_counter()
        await _wait_idle(url, 600)
        indexed_s = round(time.perf_counter() - started, 1)
        sampled.set()
    return {"edits": counts["edits"], "edit_files": files, "indexed_s_after_edits": indexed_s,
            "tree_peak_during_edits": peak}


async def measure(root: Path, index_dir: Path, calls: int, settle_s: float,
                  edit_s: float = 0.0, edit_files_n: int = 40,
                  no_embed: bool = False) -> dict[str, Any]:
    mix = call_mix(root, index_dir, calls)
    proc = _serve(root, index_dir, ["--no-embed"] if no_embed else [])
    try:
        url = await _wait_ready(root, index_dir, proc, 300)
        if not no_embed:
            await _wait_vectors(url, 300)
        await anyio.sleep(settle_s)
        start = rss_parts(proc.pid)
        start_maps = top_mappings(proc.pid)
        run = await _calls(url, mix)
        await anyio.sleep(settle_s)
        after = rss_parts(proc.pid)
        report = {"rss_after_start_mb": start, "rss_after_calls_mb": after,
                  "top_mappings_after_start_mb": start_maps,
                  "top_mappings_after_calls_mb": top_mappings(proc.pid),
                  "calls": calls, **run}
        if edit_s > 0:
            report.update(await _edits(url, root, edit_s, edit_files_n, proc.pid))
            await anyio.sleep(settle_s)
            report["rss_after_edits_mb"] = rss_parts(proc.pid)
            report["top_mappings_after_edits_mb"] = top_mappings(proc.pid)
            report["peak_rss_mb"] = (_rss_kb(proc.pid) or 0) // 1024
        return report
    finally:
        stop(proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", default="moby")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--root", type=Path, default=None, help="an already prepared tree")
    parser.add_argument("--index-dir", type=Path, default=None)
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds to wait before each reading")
    parser.add_argument("--edit-s", type=float, default=0.0,
                        help="seconds of file edits after the calls (5 a second)")
    parser.add_argument("--edit-files", type=int, default=40)
    parser.add_argument("--no-embed", action="store_true",
                        help="serve without the model tier (static vectors and lexical)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sextant-mem-") as tmp:
        if args.root is None:
            root, index_dir = extract(args.corpus, Path(tmp)), Path(tmp) / "index"
            prepare(root, index_dir)
        else:
            root, index_dir = args.root, args.index_dir or args.root / ".sextant"
        report = anyio.run(measure, root, index_dir, args.calls, args.settle, args.edit_s,
                           args.edit_files, args.no_embed)
    report.update(corpus=args.corpus, model_tier=not args.no_embed,
                  load_average=os.getloadavg()[0],
                  date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
