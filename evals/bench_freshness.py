"""Freshness benchmark: edit-to-searchable latency through a running server, and the cost
of a no-change reconcile on a large repository.

    python -m evals.bench_freshness [--edits 20] [--model hashing|PATH|default] [--moby]

Read-your-writes (`--writes N`, default 20): a new module is written and `get_symbol` asked
at once, with `wait_fresh`, for the function it defines (no poll, no sleep): how many of the
N answers had it, and what such a call costs, against the same call without `wait_fresh` on
a quiet tree (the watch barrier's cost, `indexer.live.barrier`).

Latency: a watching server (in-memory MCP client, the real server code) on a private copy
of flask; each edit appends a function with a unique name to a file, and the clock runs
from the write until `search_code` returns it (lexical: by name; semantic: by its words,
mode=semantic, the function's text as the query), polled every 5 ms; the next edit follows
at once, or `--gap` seconds later (as an agent's edits come: the index's work after an edit,
such as the directory summaries' refresh, is then done before the next). Reconcile: moby is extracted to a temp dir, indexed
once (--no-embed), then `index_repository` is timed again with nothing changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from evals.bench_index import extract

EDIT_FILES = ("src/flask/helpers.py", "src/flask/views.py", "src/flask/config.py",
              "src/flask/ctx.py")


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1),
            "n": len(ordered)}


async def _until(check: Any, timeout: float = 30.0) -> float:
    started = time.perf_counter()
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.005)
    return time.perf_counter() - started


async def _latencies(root: Path, index_dir: Path, edits: int, model: str,
                     writes: int = 0, gap: float = 0.0) -> dict[str, Any]:
    from mcp import Client

    from mcp_server.runtime import Runtime
    from mcp_server.server import build_server
    from mcp_server.settings import Settings

    settings = Settings(root=root, index_dir=index_dir, watch=True, embed=True, model=model)
    runtime = Runtime(settings)
    lexical: list[float] = []
    semantic: list[float] = []
    async with Client(build_server(settings, runtime)) as client:
        await anyio.to_thread.run_sync(runtime.ready.wait)
        ctx = runtime.live
        assert ctx is not None
        with anyio.fail_after(3600):
            while ctx.embedding.state not in ("complete", "failed"):
                await anyio.sleep(0.1)
        report = {"read_your_writes": await _read_your_writes(client, root, writes)} if writes else {}
        for i in range(edits):
            name = f"probe_{i}_{os.getpid()}_zyxwv"
            words = f"quaternion{i} flibbertigibbet{i} marmalade{i} rotation"
            target = root / EDIT_FILES[i % len(EDIT_FILES)]
            body = f'\n\ndef {name}(value):\n    """{words}"""\n    return value\n'
            target.write_text(target.read_text() + body)
            t_lex = await _until(lambda n=name: _hit(client, n, "lexical", n))
            lexical.append(t_lex)
            t_sem = await _until(lambda n=name, b=body: _hit(client, b, "semantic", n))
            semantic.append(t_lex + t_sem)
            await anyio.sleep(gap)  # the index's own work after the edit, before the next
    return {**report, "gap_s": gap, "lexical": _percentiles(lexical), "semantic": _percentiles(semantic),
            "embedder": ctx.embedder.model_id if ctx.embedder else None,
            "embedding_state": ctx.embedding.state}


async def _read_your_writes(client: Any, root: Path, writes: int) -> dict[str, Any]:
    """Write a new module and ask for its function at once with `wait_fresh`; then the
    cost of `wait_fresh` on a quiet tree (the same call with and without, alternating)."""
    found = fresh_but_missing = 0
    asked: list[float] = []
    for i in range(writes):
        name = f"rw_probe_{i}_{os.getpid()}_qxj"
        (root / f"src/flask/rw_probe_{i}.py").write_text(f"def {name}(value):\n    return value\n")
        started = time.perf_counter()
        result = await client.call_tool("get_symbol", {"name": name, "wait_fresh": True})
        asked.append(time.perf_counter() - started)
        data = result.structured_content or {}
        hit = any(s.get("name") == name for s in data.get("symbols", []))
        found += hit
        fresh_but_missing += (not hit) and bool(data.get("freshness", {}).get("fresh"))
    quiet: dict[bool, list[float]] = {True: [], False: []}
    for i in range(2 * writes):
        wait = i % 2 == 0
        started = time.perf_counter()
        await client.call_tool("get_symbol", {"name": "Flask", "wait_fresh": wait})
        quiet[wait].append(time.perf_counter() - started)
    return {"writes": writes, "found_at_once": found, "fresh_but_missing": fresh_but_missing,
            "call_after_write": _percentiles(asked),
            "quiet_with_wait_fresh": _percentiles(quiet[True]),
            "quiet_without": _percentiles(quiet[False])}


async def _hit(client: Any, query: str, mode: str, needle: str) -> bool:
    result = await client.call_tool("search_code", {"query": query, "k": 10, "mode": mode})
    data = result.structured_content or {}
    return any(needle in (r.get("snippet") or "") + (r.get("symbol") or "")
               for r in data.get("results", []))


def _reconcile(root: Path, index_dir: Path) -> dict[str, float]:
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex

    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        started = time.perf_counter()
        first = index_repository(index)
        full = time.perf_counter() - started
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        started = time.perf_counter()
        again = index_repository(index)
        noop = time.perf_counter() - started
    assert again.indexed == 0, again.as_dict()
    return {"files": first.files, "skipped": sum(first.skipped.values()),
            "unchanged": again.unchanged, "full_index_s": round(full, 2),
            "no_change_reconcile_s": round(noop, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--writes", type=int, default=20,
                        help="new modules asked for at once with wait_fresh (0: none)")
    parser.add_argument("--model", default="hashing",
                        help="'hashing' (deterministic fake), 'default' (MiniLM GGUF) or a path")
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds between an edit found and the next (0: at once, when the "
                        "work that follows the last edit may still run)")
    parser.add_argument("--moby", action="store_true", help="also time a reconcile on moby")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency runs")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or ''} "
                   f"{os.cpu_count()} cores, {platform.system()} {platform.release()}".strip()}
    if not args.no_latency:
        with tempfile.TemporaryDirectory(prefix="sextant-fresh-") as tmp:
            root = extract("flask", Path(tmp) / "flask")
            model = None if args.model == "default" else args.model
            report["latency"] = anyio.run(_latencies, root, Path(tmp) / "idx", args.edits, model,
                                          args.writes, args.gap)
    if args.moby:
        with tempfile.TemporaryDirectory(prefix="sextant-moby-") as tmp:
            root = extract("moby", Path(tmp))
            report["moby"] = _reconcile(root, Path(tmp) / "idx")
            shutil.rmtree(root, ignore_errors=True)
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
