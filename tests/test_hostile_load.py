"""Concurrent load on one server: every valid call succeeds while 16 clients call at once,
in memory and over Streamable HTTP on loopback.

(The full load test against a `sextant serve` subprocess is evals/load_test.py; this is
its core, small enough for the suite.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from tests.mcp_helpers import build_index, connected, server_settings
from tests.test_mcp_tools import http_client, http_served

MIX: list[tuple[str, dict[str, Any]]] = [
    ("search_code", {"query": "register a URL rule for a view function", "k": 5}),
    ("get_symbol", {"name": "Flask.add_url_rule"}),
    ("get_symbol", {"name": "url_for", "include_references": True, "max_tokens": 2000}),
    ("search_code", {"query": "jsonify", "path": "src/flask/*", "language": "python"}),
    ("expand_dependencies", {"target": "src/flask/app.py"}),
    ("summarize_dir", {"path": "src/flask"}),
    ("index_status", {}),
]
CLIENTS = 16
CALLS = 7


async def _caller(client: Client, offset: int, failures: list[str]) -> None:
    for i in range(CALLS):
        tool, args = MIX[(offset + i) % len(MIX)]
        result = await client.call_tool(tool, args)
        if result.is_error:
            failures.append(f"{tool}: {result.content[0]}")


async def test_sixteen_concurrent_callers_in_memory_get_no_error_results(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    build_index(root, tmp_path / "idx")
    failures: list[str] = []
    async with connected(server_settings(root, tmp_path / "idx")) as client:
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for n in range(CLIENTS):
                    tg.start_soon(_caller, client, n, failures)
    assert failures == [], failures[:5]


async def _http_session(base: str, offset: int, failures: list[str]) -> None:
    async with http_client(base) as client:
        await _caller(client, offset, failures)


async def test_sixteen_http_clients_at_once_get_no_error_results(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    build_index(root, tmp_path / "idx")
    failures: list[str] = []
    settings = server_settings(root, tmp_path / "idx", rate_per_s=1000.0, rate_burst=1000,
                               embed=False)
    async with http_served(settings) as (base, _):
        with anyio.fail_after(180):
            async with anyio.create_task_group() as tg:
                for n in range(CLIENTS):
                    tg.start_soon(_http_session, base, n, failures)
    assert failures == [], failures[:5]
