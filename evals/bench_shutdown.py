"""Shutdown: seconds from SIGTERM to exit of `sextant serve --transport http` (issue 19, item 8:
target <= 2 s, with or without sessions, mid-embedding included).

    python -m evals.bench_shutdown [--corpus flask] [--runs 3]

Three scenarios, each `--runs` times, each a fresh server with the real default model on an
index of the corpus built without embeddings (so serving loads the model and embeds):
`loading` (SIGTERM while the model loads), `session` (after one client session made a
search), `embedding` (while the model embeds). Prints one JSON line per scenario (exit
seconds: each run, median, max) and the load average before and after; tests/test_shutdown.py
checks what stopping does, this measures how fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio
import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from evals.bench_index import extract

TREE = Path(__file__).resolve().parent.parent


class Server:
    """One `sextant serve --transport http` subprocess and its stderr lines."""

    def __init__(self, root: Path, index_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SEXTANT_MODEL"}
        env["SEXTANT_LOG_LEVEL"] = "INFO"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mcp_server.cli", "serve", "--transport", "http", "--port",
             "0", "--repo", str(root), "--index-dir", str(index_dir), "--no-watch"],
            cwd=TREE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip())
                self._changed.notify_all()

    def wait_for(self, text: str) -> str:
        with self._changed:
            found = self._changed.wait_for(
                lambda: next((x for x in self.lines if text in x), None), 300)
        if not found:
            raise RuntimeError(f"no log line with {text!r}:\n" + "\n".join(self.lines))
        return found

    def stop(self) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        return time.monotonic() - started


def _session(url: str) -> None:
    async def run() -> None:
        async with (httpx.AsyncClient() as http,
                    Client(streamable_http_client(url, http_client=http)) as client):
            await client.call_tool("search_code", {"query": "url rule", "k": 3})

    anyio.run(run)


def _one(root: Path, index_dir: Path, scenario: str) -> float:
    server = Server(root, index_dir)
    try:
        url = server.wait_for("serving MCP at").split("serving MCP at ")[1].strip()
        server.wait_for("loading the embedding model")
        if scenario == "session":
            _session(url)
        elif scenario == "embedding":
            server.wait_for("chunks without a vector")
        return server.stop()
    finally:
        if server.process.poll() is None:
            server.process.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="flask")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex

    with tempfile.TemporaryDirectory() as tmp:
        root = extract(args.corpus, Path(tmp))
        index_dir = Path(tmp) / "index"
        with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
            index_repository(index)
        print(json.dumps({"load_before": os.getloadavg()[0]}))
        times: dict[str, list[float]] = {"loading": [], "session": [], "embedding": []}
        for _ in range(args.runs):
            for scenario, values in times.items():
                values.append(round(_one(root, index_dir, scenario), 2))
        for scenario, values in times.items():
            print(json.dumps({"scenario": scenario, "exit_s": values,
                              "median": statistics.median(values), "max": max(values)}))
        print(json.dumps({"load_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
