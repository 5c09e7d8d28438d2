"""A real `sextant serve` subprocess over stdio, driven by the SDK's client."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from tests.mcp_helpers import build_index, call


async def test_stdio_server_answers_tool_calls_and_keeps_stdout_clean(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    build_index(root, tmp_path / "idx")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server.cli", "serve", "--repo", str(root), "--index-dir",
              str(tmp_path / "idx"), "--no-watch", "--no-embed"],
        env={**os.environ, "SEXTANT_LOG_LEVEL": "INFO"},
        cwd=str(Path(__file__).resolve().parent.parent))
    with anyio.fail_after(120):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert "search_code" in names
            out = await call(client, "search_code", query="add_url_rule", k=3)
            assert out["results"][0]["symbol"].endswith("add_url_rule")
            status = await call(client, "index_status")
            assert status["files"] > 100
