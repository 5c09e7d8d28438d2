"""The HTTP guard under hostile bodies and uneven load, over real Streamable HTTP on loopback:
malformed bodies are 400, rate limits are per client, wrong tokens are limited too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mcp_server import security
from mcp_server.security import AUTH_FAILURE_BURST, SESSION_HEADER
from tests.mcp_helpers import call
from tests.test_http_security import (  # the same small index and raw requests
    INIT,
    JSON_HEADERS,
    settings_for,
)
from tests.test_mcp_tools import http_client, http_served

TOKEN = "s3cret-token"


def ping(n: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": n, "method": "ping"}


async def test_deeply_nested_bodies_get_400_and_the_server_keeps_answering(
        small_index: tuple[Path, Path]) -> None:
    call_head = b'{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": '
    bodies = {
        "200,000 brackets": b"[" * 200_000,
        "a tool call opening 200,000 brackets": call_head + b"[" * 200_000,
        "a tool call with 5,000 closed brackets": (
            call_head + b'{"name": "index_status", "arguments": {"a": '
            + b"[" * 5000 + b"]" * 5000 + b"}}}"),
        "a truncated tool call": call_head + b'{"name": "index_',
    }
    async with (http_served(settings_for(small_index)) as (base, _),
                httpx.AsyncClient(base_url=base, timeout=60) as http):
        with anyio.fail_after(120):
            for name, body in bodies.items():
                response = await http.post("/mcp", content=body, headers=JSON_HEADERS)
                assert response.status_code == 400, name
                assert response.json()["error"]["code"] == -32700, name
            assert (await http.post("/mcp", json=INIT, headers=JSON_HEADERS)).status_code == 200


async def test_a_session_hammering_the_server_leaves_another_clients_calls_passing(
        small_index: tuple[Path, Path]) -> None:
    settings = settings_for(small_index, rate_per_s=0.01, rate_burst=10)
    async with (http_served(settings) as (base, _),
                httpx.AsyncClient(base_url=base, timeout=60) as hammer):
        with anyio.fail_after(120):
            init = await hammer.post("/mcp", json=INIT, headers=JSON_HEADERS)
            headers = {**JSON_HEADERS, SESSION_HEADER: init.headers[SESSION_HEADER]}
            codes = [(await hammer.post("/mcp", json=ping(n), headers=headers)).status_code
                     for n in range(2, 22)]
            assert codes[0] == 200 and codes[-1] == 429, codes
            async with http_client(base) as polite:
                for _ in range(3):
                    assert (await call(polite, "index_status"))["files"] == 1


async def test_an_invented_session_id_counts_as_no_session(
        small_index: tuple[Path, Path]) -> None:
    """It shares its connection's bucket (whose first request is also charged to its
    address): invented ids buy no extra budget."""
    settings = settings_for(small_index, rate_per_s=0.01, rate_burst=5)
    async with (http_served(settings) as (base, _),
                httpx.AsyncClient(base_url=base, timeout=60) as http):
        with anyio.fail_after(120):
            codes = [(await http.post("/mcp", json=ping(n), headers={
                **JSON_HEADERS, SESSION_HEADER: f"invented-{n}"})).status_code
                for n in range(8)]
            # past the guard the SDK answers an unknown session 404
            assert codes == [404] * 5 + [429] * 3, codes
            assert (await http.post("/mcp", json=INIT, headers=JSON_HEADERS)).status_code == 429


async def test_clients_without_sessions_have_a_bucket_per_connection(
        small_index: tuple[Path, Path]) -> None:
    """Clients of the stateless protocol revisions (the SDK's own) send no session id: all
    loopback clients shared their address's bucket, so one busy client (or 50 at 50 calls/s
    between them) got the others 429s. A connection's first request is charged to the
    address, so opening connections buys nothing."""
    settings = settings_for(small_index, rate_per_s=0.01, rate_burst=8)
    async with http_served(settings) as (base, runtime):
        with anyio.fail_after(120):
            async with http_client(base) as busy:
                refused = None
                for _ in range(12):
                    try:
                        await call(busy, "index_status")
                    except Exception as exc:  # noqa: BLE001 - the SDK's error for a 429
                        refused = exc
                        break
                assert refused is not None and runtime.metrics.rejections[429] == 1, refused
                async with http_client(base) as other:
                    for _ in range(3):
                        assert (await call(other, "index_status"))["files"] == 1
                async with httpx.AsyncClient(base_url=base, timeout=60) as fresh:
                    codes = [(await fresh.post("/mcp", json=ping(n), headers=JSON_HEADERS)
                              ).status_code for n in range(3)]
                    assert 429 not in codes, codes  # (400: a ping needs a session)


async def test_repeated_wrong_tokens_get_429_with_retry_after(
        small_index: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # one wrong token more every 100 s, not every 2 s: the 16 requests below take longer
    # than 2 s on a loaded machine, and the bucket would let one more through as a 401
    monkeypatch.setattr(security, "AUTH_FAILURE_RATE", 0.01)
    async with (http_served(settings_for(small_index, token=TOKEN)) as (base, _),
                httpx.AsyncClient(base_url=base, timeout=60) as http):
        with anyio.fail_after(120):
            wrong = {**JSON_HEADERS, "Authorization": "Bearer guess"}
            responses = [await http.post("/mcp", json=INIT, headers=wrong)
                         for _ in range(AUTH_FAILURE_BURST + 5)]
            codes = [r.status_code for r in responses]
            assert codes == [401] * AUTH_FAILURE_BURST + [429] * 5, codes
            assert int(responses[-1].headers["retry-after"]) >= 1
            right = await http.post("/mcp", json=INIT, headers={
                **JSON_HEADERS, "Authorization": f"Bearer {TOKEN}"})
            assert right.status_code == 429  # the address waits, whatever token it sends
            assert (await http.get("/healthz")).status_code == 200
