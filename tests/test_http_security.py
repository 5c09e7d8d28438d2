"""The HTTP guard with raw requests (httpx) against a real loopback server."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_server.http import ConfigError, check_bind
from mcp_server.security import RateLimiter, host_name
from mcp_server.settings import Settings
from tests.mcp_helpers import call, server_settings
from tests.test_mcp_tools import http_client, http_served

TOKEN = "s3cret-token"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "raw", "version": "0"}}}
JSON_HEADERS = {"Accept": "application/json, text/event-stream",
                "Content-Type": "application/json"}


def settings_for(small_index: tuple[Path, Path], **kw: Any) -> Settings:
    return server_settings(*small_index, embed=False, **kw)


async def test_healthz_answers_without_a_token_and_mcp_needs_one(
        small_index: tuple[Path, Path]) -> None:
    async with (http_served(settings_for(small_index, token=TOKEN)) as (base, _),
                httpx.AsyncClient(base_url=base) as http):
        assert (await http.get("/healthz")).json()["status"] == "ok"
        missing = await http.post("/mcp", json=INIT, headers=JSON_HEADERS)
        assert missing.status_code == 401 and "Bearer" in missing.headers["www-authenticate"]
        wrong = await http.post("/mcp", json=INIT, headers={
            **JSON_HEADERS, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = await http.post("/mcp", json=INIT, headers={
            **JSON_HEADERS, "Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        good = await http.post("/mcp", json=INIT, headers={
            **JSON_HEADERS, "Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200
        assert (await http.get("/metrics")).status_code == 401


async def test_a_client_with_the_token_calls_tools(small_index: tuple[Path, Path]) -> None:
    async with (http_served(settings_for(small_index, token=TOKEN)) as (base, _),
                http_client(base, TOKEN) as client):
        out = await call(client, "search_code", query="serve", k=1)
        assert out["results"][0]["symbol"] == "serve"


async def test_bad_host_gets_421_and_foreign_origin_gets_403_on_every_path(
        small_index: tuple[Path, Path]) -> None:
    async with (http_served(settings_for(small_index)) as (base, _),
                httpx.AsyncClient(base_url=base) as http):
        for path in ("/healthz", "/mcp", "/metrics"):
            bad_host = await http.get(path, headers={"Host": "attacker.example:80"})
            assert bad_host.status_code == 421, path
            foreign = await http.get(path, headers={"Origin": "http://attacker.example"})
            assert foreign.status_code == 403, path
        local = await http.post("/mcp", json=INIT, headers={
            **JSON_HEADERS, "Origin": "http://localhost:6274", "Host": "localhost:1234"})
        assert local.status_code == 200


async def test_oversized_bodies_get_413_with_or_without_content_length(
        small_index: tuple[Path, Path]) -> None:
    async with (http_served(settings_for(small_index, max_body_bytes=4096)) as (base, _),
                httpx.AsyncClient(base_url=base) as http):
        big = b'{"jsonrpc": "2.0", "pad": "' + b"x" * 10_000 + b'"}'
        declared = await http.post("/mcp", content=big, headers=JSON_HEADERS)
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 1000):
                yield big[start:start + 1000]

        chunked = await http.post("/mcp", content=chunks(), headers=JSON_HEADERS)
        assert chunked.status_code == 413
        assert "content-length" not in chunked.request.headers


async def test_a_client_over_its_rate_gets_429_with_retry_after(
        small_index: tuple[Path, Path]) -> None:
    settings = settings_for(small_index, rate_per_s=0.01, rate_burst=3)
    async with (http_served(settings) as (base, _),
                httpx.AsyncClient(base_url=base) as http):
        codes = [(await http.get("/metrics")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = await http.get("/metrics")
        assert int(limited.headers["retry-after"]) >= 1
        assert (await http.get("/healthz")).status_code == 200


async def test_tool_calls_beyond_the_in_flight_bound_get_503(
        small_index: tuple[Path, Path]) -> None:
    async with (http_served(settings_for(small_index, max_inflight_calls=0)) as (base, _),
                httpx.AsyncClient(base_url=base) as http):
        call_msg = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": {"name": "index_status", "arguments": {}}}
        busy = await http.post("/mcp", json=call_msg, headers=JSON_HEADERS)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert (await http.post("/mcp", json=INIT, headers=JSON_HEADERS)).status_code == 200


async def test_metrics_are_prometheus_text_with_tool_latency_and_index_sizes(
        small_index: tuple[Path, Path]) -> None:
    async with http_served(settings_for(small_index)) as (base, _):
        async with http_client(base) as client:
            await call(client, "search_code", query="serve")
            await client.call_tool("get_symbol", {"name": "no_such_symbol_anywhere"})
        async with httpx.AsyncClient(base_url=base) as http:
            response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'sextant_tool_calls_total{tool="search_code",outcome="ok"} 1' in text
    assert 'sextant_tool_call_seconds_bucket{tool="search_code",le="+Inf"} 1' in text
    assert 'sextant_tool_call_seconds_count{tool="search_code"} 1' in text
    assert "sextant_index_files 1" in text and "sextant_index_chunks" in text
    assert "sextant_index_vectors 0" in text
    assert "sextant_lexical_deleted_docs 0" in text
    assert "sextant_lexical_compaction_running 0" in text


async def test_the_load_test_reads_memory_once_the_metrics_say_the_servers_work_is_done(
        small_index: tuple[Path, Path]) -> None:
    from evals.load_test import _wait_idle

    async with http_served(settings_for(small_index)) as (base, runtime):
        assert runtime.live is not None
        runtime.live.compactor.running = True  # as while a compaction rebuilds
        assert await _wait_idle(base + "/mcp", 2.0) is None
        runtime.live.compactor.running = False
        assert await _wait_idle(base + "/mcp", 60.0) is not None


def test_a_non_loopback_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="token"):
        check_bind(Settings(root=tmp_path, host="0.0.0.0", token=None))
    with pytest.raises(ConfigError, match="token"):  # no client could ever send it
        check_bind(Settings(root=tmp_path, host="0.0.0.0", token=" "))
    check_bind(Settings(root=tmp_path, host="0.0.0.0", token="t"))
    check_bind(dataclasses.replace(Settings(root=tmp_path, token=None), host="127.0.0.1"))


def test_host_names_are_compared_without_port_or_brackets() -> None:
    assert host_name("LocalHost:8765") == "localhost"
    assert host_name("[::1]:80") == "::1"
    assert host_name("::1") == "::1"


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = RateLimiter(rate=2.0, burst=2)
    assert bucket.take("a", now=0.0) == 0 and bucket.take("a", now=0.0) == 0
    assert bucket.take("a", now=0.0) == pytest.approx(0.5)
    assert bucket.take("a", now=0.5) == 0
    assert bucket.take("b", now=0.5) == 0


async def _gated_guard(tmp_path: Path, **kw: Any) -> tuple[Any, Any, list[str]]:
    """The real guard in front of an app whose tool calls wait until `gate` is set."""
    import anyio

    from mcp_server.metrics import Metrics
    from mcp_server.security import HttpGuard

    gate = anyio.Event()
    order: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        order.append(httpx.Response(200, content=body).json()["params"]["name"])
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    settings = Settings(root=tmp_path, watch=False, embed=False, **kw)
    return HttpGuard(app, settings, Metrics()), gate, order


def _tool_call(name: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": name, "arguments": {}}}


@dataclasses.dataclass
class _Callers:
    """Callers posting tool calls to the gated guard, each in a task of its own."""

    guard: Any
    gate: Any
    order: list[str]
    http: httpx.AsyncClient
    tasks: Any
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)

    async def post(self, name: str) -> httpx.Response:
        reply = await self.http.post("/mcp", json=_tool_call(name), headers=JSON_HEADERS)
        self.statuses[name] = reply.status_code
        return reply

    def start(self, name: str) -> None:
        self.tasks.start_soon(self.post, name)

    async def until(self, done: Callable[[], bool]) -> None:
        import anyio

        with anyio.fail_after(60):  # the event comes within milliseconds
            while not done():
                await anyio.sleep(0.01)


@contextlib.asynccontextmanager
async def _callers(tmp_path: Path, wait_s: float) -> AsyncIterator[_Callers]:
    """One slot, calls beyond it waiting up to `wait_s`."""
    import anyio

    guard, gate, order = await _gated_guard(tmp_path, max_inflight_calls=1,
                                            admission_wait_s=wait_s)
    transport = httpx.ASGITransport(app=guard, client=("127.0.0.1", 5000))
    async with (httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http,
                anyio.create_task_group() as tasks):
        yield _Callers(guard, gate, order, http, tasks)


async def test_a_call_beyond_the_in_flight_bound_waits_for_a_slot_in_turn(
        tmp_path: Path) -> None:
    """With every slot taken, a call waits (first come, first served) and is answered when a
    call ahead of it finishes, instead of a 503 the client must retry."""
    async with _callers(tmp_path, 60.0) as c:
        c.start("first")
        await c.until(lambda: c.order == ["first"])
        for waiting, name in enumerate(("second", "third"), 1):
            c.start(name)
            await c.until(lambda n=waiting: len(c.guard._waiting) == n)
        assert c.order == ["first"] and c.guard.inflight_calls == 1  # the others wait
        c.gate.set()
    assert c.statuses == {"first": 200, "second": 200, "third": 200}
    assert c.order == ["first", "second", "third"] and c.guard.inflight_calls == 0


async def test_a_call_that_waits_past_the_admission_wait_gets_503(tmp_path: Path) -> None:
    async with _callers(tmp_path, 0.3) as c:
        c.start("slow")
        await c.until(lambda: c.order == ["slow"])
        busy = await c.post("late")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert not c.guard._waiting and c.guard.inflight_calls == 1  # its turn is given up
        c.gate.set()
    assert c.order == ["slow"] and c.guard.inflight_calls == 0


async def test_a_stop_signal_refuses_the_calls_waiting_for_a_slot(tmp_path: Path) -> None:
    """At SIGTERM (the guard's `stop_admitting`, called from the signal handler; here from
    another thread) a call waiting for a slot gets 503 at once instead of holding the
    graceful shutdown for its 600 s wait; the running call still completes; later calls get
    503 without waiting."""
    import threading

    async with _callers(tmp_path, 600.0) as c:
        c.start("running")
        await c.until(lambda: c.order == ["running"])
        c.start("waiting")
        await c.until(lambda: bool(c.guard._waiting))
        stopper = threading.Thread(target=c.guard.stop_admitting)
        stopper.start()
        stopper.join()
        await c.until(lambda: "waiting" in c.statuses)
        assert c.statuses == {"waiting": 503}
        assert (await c.post("late")).status_code == 503
        c.gate.set()
    assert c.statuses["running"] == 200 and c.order == ["running"]


def test_the_http_servers_stop_hook_also_stops_the_guards_admissions(tmp_path: Path) -> None:
    from mcp_server.http import uvicorn_server
    from mcp_server.metrics import Metrics
    from mcp_server.security import HttpGuard

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    guard = HttpGuard(app, Settings(root=tmp_path, watch=False, embed=False), Metrics())
    exits: list[str] = []
    server = uvicorn_server(guard, lambda: exits.append("runtime"))
    server.handle_exit(15, None)
    assert guard._closing and exits == ["runtime"] and server.should_exit
