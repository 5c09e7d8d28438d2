"""Load test: many concurrent MCP clients over Streamable HTTP against `sextant serve`.

    python -m evals.load_test [--corpus flask] [--clients 16] [--calls 50]
                              [--time-limit 300] [--out load.json]

The corpus is extracted to a temp dir and indexed (`sextant index --no-embed`); then
`sextant serve --transport http --port 0 --no-watch --no-embed` runs as a subprocess on an
ephemeral loopback port (read back from the index's server record). Each client opens its
own MCP session and makes `--calls` tool calls from a fixed mix (search_code, get_symbol,
expand_dependencies, summarize_dir, index_status), one at a time. The whole run is bounded
by `--time-limit`.

`--edits-per-s N` rewrites source files (`--edit-files`, Go files of moby, round-robin, a
changing trailing comment) N times a second while the clients run; the server then watches
files and re-indexes them as it serves. The server's RSS is read before the calls, right
after them, and `--settle` seconds later (memory must come back once the edits stop); with
edits, also `--settle` seconds after the server reports the edits' work done (`after_idle`,
`idle_after_settle_s`: no pending file, no lexical compaction running or waiting, from its
`/metrics`), since the compaction that follows the edits may run at the first reading.

Clients behave as a well-mannered MCP client should under the server's backpressure: a 429
(rate limit) or 503 (too many calls in flight) is retried after its Retry-After, at most
`--retries` times; such answers are counted as `throttled`, not as errors. An error is a
tool call that raised or came back as an error result. Latency is measured per call,
retries included. Writes a JSON report on stdout.

`--gil-probe` runs the server with a thread that measures how long its threads wait for
the GIL while the clients run (`evals/gil_probe`): `gil_wait_ms` in the report. A wait near
the switch interval (5 ms) means the server's Python wants more than one core.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2

from evals.bench_index import extract

MIX_MOBY: list[tuple[str, dict[str, Any]]] = [
    ("search_code", {"query": "restart a container after the daemon restarts", "k": 5}),
    ("search_code", {"query": "ContainerCreate", "mode": "lexical"}),
    ("get_symbol", {"name": "Daemon.ContainerStart"}),
    ("get_symbol", {"name": "NewDaemon", "include_references": True, "max_tokens": 2000}),
    ("search_code", {"query": "network sandbox", "path": "daemon/*", "language": "go"}),
    ("expand_dependencies", {"target": "daemon/daemon.go"}),
    ("summarize_dir", {"path": "daemon"}),
    ("index_status", {}),
]

MIX: list[tuple[str, dict[str, Any]]] = [
    ("search_code", {"query": "register a URL rule for a view function", "k": 5}),
    ("search_code", {"query": "session cookie signing", "mode": "lexical"}),
    ("get_symbol", {"name": "Flask.add_url_rule"}),
    ("get_symbol", {"name": "url_for", "include_references": True, "max_tokens": 2000}),
    ("search_code", {"query": "jsonify", "path": "src/flask/*", "language": "python"}),
    ("expand_dependencies", {"target": "src/flask/app.py"}),
    ("summarize_dir", {"path": "src/flask"}),
    ("index_status", {}),
]


class RetryTransport(httpx2.AsyncBaseTransport):
    """Retries 429/503 answers after their Retry-After (bounded); counts them."""

    def __init__(self, retries: int, counts: Counter[str]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.retries = retries
        self.counts = counts

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        for _ in range(self.retries):
            response = await self.inner.handle_async_request(request)
            if response.status_code not in (429, 503):
                return response
            self.counts[f"http_{response.status_code}"] += 1
            delay = min(float(response.headers.get("retry-after", "0.05") or 0.05), 2.0)
            await response.aclose()
            await anyio.sleep(max(delay, 0.01))  # backpressure asked for by the server
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    throttled: Counter[str] = field(default_factory=Counter)
    sessions: int = 0

    def record(self, tool: str, seconds: float) -> None:
        self.latencies.setdefault(tool, []).append(seconds)


async def _client(url: str, index: int, calls: int, retries: int, out: Results,
                  mix: list[tuple[str, dict[str, Any]]]) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(60.0, read=300.0)
    transport = RetryTransport(retries, out.throttled)
    async with (httpx2.AsyncClient(transport=transport, timeout=timeout) as http,
                Client(streamable_http_client(url, http_client=http)) as client):
        out.sessions += 1
        for i in range(calls):
            tool, args = mix[(index + i) % len(mix)]
            started = time.perf_counter()
            try:
                result = await client.call_tool(tool, args)
                if result.is_error:
                    out.errors.append(f"{tool}: {str(result.content)[:200]}")
            except Exception as exc:  # noqa: BLE001 - every failure is a data point
                out.errors.append(f"{tool}: {type(exc).__name__}: {exc}"[:300])
            out.record(tool, time.perf_counter() - started)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 1)


def _summary(res: Results, wall: float, timed_out: bool, args: argparse.Namespace,
             server_rss_kb: int | None) -> dict[str, Any]:
    every = [v for vs in res.latencies.values() for v in vs]
    return {
        "clients": args.clients, "calls_per_client": args.calls, "calls": len(every),
        "sessions": res.sessions, "errors": len(res.errors), "error_samples": res.errors[:10],
        "throttled": dict(res.throttled), "timed_out": timed_out,
        "wall_s": round(wall, 2), "throughput_calls_per_s": round(len(every) / wall, 1),
        "latency_ms": {"p50": _pct(every, 0.5), "p90": _pct(every, 0.9), "p95": _pct(every, 0.95),
                       "p99": _pct(every, 0.99), "max": _pct(every, 1.0),
                       "mean": round(statistics.fmean(every) * 1000, 1)} if every else {},
        "per_tool_p50_ms": {t: _pct(v, 0.5) for t, v in sorted(res.latencies.items())},
        "server_rss_kb": server_rss_kb, "corpus": args.corpus,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs "
                   f"Python {platform.python_version()}",
    }


def _sextant() -> list[str]:
    return [sys.executable, "-m", "mcp_server.cli"]


def _start_server(root: Path, index_dir: Path, log: Path, watch: bool = False,
                  probe: Path | None = None) -> subprocess.Popen[bytes]:
    subprocess.run([*_sextant(), "index", "--repo", str(root), "--index-dir", str(index_dir),
                    "--no-embed", "--json"], check=True, stdout=subprocess.DEVNULL)
    cmd = [*_sextant(), "serve", "--transport", "http", "--port", "0", *(
        [] if watch else ["--no-watch"]), "--no-embed", "--repo", str(root),
        "--index-dir", str(index_dir)]
    env = {**os.environ, "SEXTANT_LOG_LEVEL": "WARNING"}
    if probe is not None:
        env["SEXTANT_GIL_PROBE"] = str(probe)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent / "gil_probe"), env.get("PYTHONPATH", "")])
    with log.open("wb") as fh:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh, env=env)


def gil_waits(probe: Path, start: float, end: float) -> dict[str, Any]:
    """The GIL probe's waits between wall times `start` and `end`: percentiles in ms."""
    waits: list[float] = []
    if probe.exists():
        for line in probe.read_text().splitlines():
            try:
                second = json.loads(line)
            except ValueError:
                continue  # a line the server was writing when it stopped
            if start <= second["t"] <= end + 1.0:
                waits += second["waits_ms"]
    if not waits:
        return {}
    waits.sort()
    return {"samples": len(waits), "mean": round(statistics.fmean(waits), 2),
            **{f"p{q}": waits[min(len(waits) - 1, len(waits) * q // 100)] for q in (50, 90, 99)},
            "max": waits[-1]}


async def _wait_ready(root: Path, index_dir: Path, proc: subprocess.Popen[bytes],
                      limit: float) -> str:
    """The /mcp URL once the server has recorded its port and answers /healthz ready."""
    from indexer.disk import IndexPaths
    from mcp_server.owner import read_owner

    paths = IndexPaths.for_repo(root, index_dir)
    with anyio.fail_after(limit):
        async with httpx2.AsyncClient(timeout=5) as http:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"sextant serve exited with {proc.returncode}")
                owner = read_owner(paths)
                if owner is not None:
                    base = f"http://127.0.0.1:{owner.port}"
                    try:
                        health = (await http.get(f"{base}/healthz")).json()
                        if health.get("ready"):
                            return f"{base}/mcp"
                    except httpx2.TransportError:
                        pass
                await anyio.sleep(0.1)  # polling a subprocess we do not control


_IDLE_GAUGES = ("sextant_index_pending_files", "sextant_lexical_compaction_running",
                "sextant_lexical_deleted_docs")


async def _wait_idle(url: str, limit: float) -> float | None:
    """Seconds until the server has no work left from the edits (no pending file, no
    lexical compaction running or waiting: its `/metrics` gauges all 0), read every half
    second; None when that took longer than `limit`. A compaction starts once writes have
    been quiet a while (up to 8x the last one's duration, `indexer.live.compaction`), so a
    reading a fixed time after the edits may fall inside one."""
    base = url.rsplit("/mcp", 1)[0]
    started = time.perf_counter()
    with anyio.move_on_after(limit):
        async with httpx2.AsyncClient(timeout=10) as http:
            while True:
                text = (await http.get(f"{base}/metrics")).text
                values = {line.split()[0]: line.split()[1] for line in text.splitlines()
                          if line.startswith(_IDLE_GAUGES)}
                if len(values) == len(_IDLE_GAUGES) and all(v == "0" for v in values.values()):
                    return time.perf_counter() - started
                await anyio.sleep(0.5)  # polling a subprocess we do not control
    return None


def _cpu_s(pid: int) -> float | None:
    """The process's CPU time so far (user + system), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_per_call(server_s: float | None, clients_s: float, calls: int,
                 clients: int) -> dict[str, Any]:
    """CPU per call of the server and of the clients (this process), and what they bound:
    with every core busy, at most cores / (CPU per call) calls a second; closed-loop
    clients (each waits for its answer) then wait at least clients / that rate on average
    (Little's law), whatever the server does with its queue."""
    if not calls or server_s is None:
        return {}
    per_call = (server_s + clients_s) / calls
    capacity = (os.cpu_count() or 1) / per_call
    return {"server_cpu_ms_per_call": round(server_s / calls * 1000, 1),
            "clients_cpu_ms_per_call": round(clients_s / calls * 1000, 1),
            "capacity_calls_per_s": round(capacity, 1),
            "least_mean_latency_s": round(clients / capacity, 2)}


def _rss_kb(pid: int, field: str = "VmHWM") -> int | None:
    """The process's peak (VmHWM) or current (VmRSS) resident memory, in KB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def descendants(pid: int) -> list[int]:
    """The processes under `pid` (children, theirs, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])  # the name may hold spaces
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def tree_rss_kb(pid: int) -> tuple[int | None, int]:
    """The current RSS of `pid` and every process under it (a server's parse workers, a
    lexical rebuild's child, multiprocessing's resource tracker), in KB, and how many
    processes that is; None when `pid` is gone."""
    own = _rss_kb(pid, "VmRSS")
    if own is None:
        return None, 0
    kids = [kb for kb in (_rss_kb(k, "VmRSS") for k in descendants(pid)) if kb is not None]
    return own + sum(kids), 1 + len(kids)


def edit_targets(root: Path, count: int) -> list[Path]:
    """`count` Go (else Python) source files of moderate size, the same on every run."""
    for pattern in ("*.go", "*.py"):
        found = sorted(p for p in root.rglob(pattern)
                       if ".git" not in p.parts and 2_000 < p.stat().st_size < 40_000
                       and not p.name.endswith("_test.go"))
        if found:
            return found[:: max(1, len(found) // count)][:count]
    return []


async def edit_files(files: list[Path], per_s: float, done: anyio.Event,
                     counts: Counter[str]) -> None:
    """Rewrite one of `files` every 1/`per_s` seconds (round-robin, a changing trailing
    comment) until `done` is set; each file is restored afterwards."""
    originals = {p: p.read_bytes() for p in files}
    marker = b"//" if files and files[0].suffix == ".go" else b"#"
    n = 0
    try:
        while not done.is_set() and files:
            path = files[n % len(files)]
            path.write_bytes(originals[path] + marker + b" load-test edit %d\n" % n)
            counts["edits"] += 1
            n += 1
            with anyio.move_on_after(1.0 / per_s):
                await done.wait()
    finally:
        for path, data in originals.items():
            path.write_bytes(data)


async def _clients(url: str, args: argparse.Namespace, res: Results,
                   files: list[Path]) -> bool:
    """Run the clients (and the edits, when asked) to the end or the time limit; True when
    the limit cut them short."""
    mix = MIX_MOBY if args.corpus == "moby" else MIX
    done = anyio.Event()
    with anyio.move_on_after(args.time_limit) as scope:
        async with anyio.create_task_group() as tg:
            if files:
                tg.start_soon(edit_files, files, args.edits_per_s, done, res.throttled)
            async with anyio.create_task_group() as clients:
                for i in range(args.clients):
                    clients.start_soon(_client, url, i, args.calls, args.retries, res, mix)
            done.set()
    return scope.cancelled_caught


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = extract(args.corpus, Path(tmp))
        index_dir = Path(tmp) / "index"
        files = edit_targets(root, args.edit_files) if args.edits_per_s > 0 else []
        probe = Path(tmp) / "gil_probe.jsonl" if args.gil_probe else None
        proc = _start_server(root, index_dir, Path(tmp) / "serve.log", watch=bool(files),
                             probe=probe)
        rss: dict[str, int | None] = {}
        tree: dict[str, tuple[int | None, int]] = {}  # with the processes under the server
        try:
            url = await _wait_ready(root, index_dir, proc, 180)
            await anyio.sleep(args.settle)
            rss["before"] = _rss_kb(proc.pid, "VmRSS")
            tree["before"] = tree_rss_kb(proc.pid)
            res = Results()
            cpu = (_cpu_s(proc.pid), _own_cpu_s())
            started, started_at = time.perf_counter(), time.time()
            timed_out = await _clients(url, args, res, files)
            wall = time.perf_counter() - started
            ended_at = time.time()
            server_end = _cpu_s(proc.pid)
            cpu_used = (None if server_end is None or cpu[0] is None else server_end - cpu[0],
                        _own_cpu_s() - cpu[1])
            rss["after_calls"] = _rss_kb(proc.pid, "VmRSS")
            tree["after_calls"] = tree_rss_kb(proc.pid)
            await anyio.sleep(args.settle)  # the last edits are indexed; memory settles
            rss["after_settle"] = _rss_kb(proc.pid, "VmRSS")
            tree["after_settle"] = tree_rss_kb(proc.pid)
            idle_s = await _wait_idle(url, 180) if files else 0.0
            if idle_s is not None:  # the edits' work done, then a settle as long
                await anyio.sleep(args.settle)
                rss["after_idle"] = _rss_kb(proc.pid, "VmRSS")
                tree["after_idle"] = tree_rss_kb(proc.pid)
            alive = proc.poll() is None
            peak = _rss_kb(proc.pid)
        finally:
            stop(proc)
        report = _summary(res, wall, timed_out, args, peak)
        calls = sum(len(v) for v in res.latencies.values())
        report["cpu"] = cpu_per_call(*cpu_used, calls=calls, clients=args.clients)
        report.update(server_rss_now_kb=rss,
                      server_tree_rss_now_kb={k: v[0] for k, v in tree.items()},
                      server_tree_processes={k: v[1] for k, v in tree.items()},
                      idle_after_settle_s=idle_s,
                      edits_per_s=args.edits_per_s,
                      edit_files=len(files), load_average=os.getloadavg())
        if probe is not None:
            report["gil_wait_ms"] = gil_waits(probe, started_at, ended_at)
        report["server_alive_after"] = alive
        report["server_log_tail"] = _log_tail(Path(tmp) / "serve.log")
        return report


def _log_tail(log: Path, lines: int = 40) -> list[str]:
    """The server's last stderr lines that mention an error (tracebacks included)."""
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [ln for ln in text if ln.strip()][-lines:]


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the server, then SIGKILL it if it has not exited within 15 s."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", default="flask")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--retries", type=int, default=20)
    parser.add_argument("--edits-per-s", type=float, default=0.0,
                        help="rewrite source files this often during the run (the server "
                             "then watches files)")
    parser.add_argument("--edit-files", type=int, default=40,
                        help="how many files the edits go round")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds before the first and after the last RSS reading")
    parser.add_argument("--gil-probe", action="store_true",
                        help="measure how long the server's threads wait for the GIL")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    report = anyio.run(run, args)
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0 if report["errors"] == 0 and not report["timed_out"] else 1


if __name__ == "__main__":
    sys.exit(main())
