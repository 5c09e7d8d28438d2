"""Every tool over MCP with the SDK's in-memory client, on the real flask corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.tokens import count_tokens
from mcp_server.settings import Settings
from tests.mcp_helpers import build_index, call, connected, server_settings

TOOLS = {"search_code", "get_symbol", "expand_dependencies", "summarize_dir", "index_status"}


@pytest.fixture(scope="module")
def flask_index(corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory):
    root = corpus("flask")
    index_dir = tmp_path_factory.mktemp("flask-index")
    build_index(root, index_dir)
    return root, index_dir


def flask_settings(flask_index: tuple[Path, Path]) -> Settings:
    return server_settings(*flask_index)


async def test_server_lists_the_five_read_only_tools_with_output_schemas(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert TOOLS <= set(tools)
        for name in TOOLS:
            assert tools[name].annotations is not None and tools[name].annotations.read_only_hint
            assert tools[name].output_schema is not None
            assert "max_tokens" in tools[name].input_schema["properties"] or name == "index_status"


async def test_search_ranks_add_url_rule_top5_for_a_description(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        out = await call(client, "search_code", query="register a URL rule for a view function", k=5)
        symbols = [r["symbol"] or "" for r in out["results"]]
        assert any(s.endswith("add_url_rule") for s in symbols), symbols
        first = out["results"][0]
        assert {"path", "start_line", "end_line", "symbol", "kind", "language", "score",
                "snippet"} <= set(first)
        assert not first["path"].startswith("/") and first["start_line"] >= 1
        assert "took_ms" in out and "truncated" in out and out["freshness"]["fresh"]


async def test_search_filters_by_language_and_path(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        out = await call(client, "search_code", query="session cookie", path="src/flask/*",
                         language="python")
        assert out["results"]
        assert all(r["path"].startswith("src/flask/") and r["language"] == "python"
                   for r in out["results"])


async def test_search_output_never_exceeds_max_tokens(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        result = await client.call_tool("search_code", {"query": "request context", "k": 50,
                                                        "max_tokens": 300})
        assert not result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert count_tokens(text) <= 300
        assert result.structured_content["truncated"]


async def test_get_symbol_follows_base_classes_for_inherited_members(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        out = await call(client, "get_symbol", name="Flask.add_url_rule")
        first = out["symbols"][0]
        assert first["path"] == "src/flask/sansio/app.py"
        assert first["qualname"] == "App.add_url_rule"
        assert "def add_url_rule" in first["body"]


async def test_get_symbol_lists_references_with_context(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        out = await call(client, "get_symbol", name="url_for", include_references=True,
                         include_body=False)
        refs = out["symbols"][0]["references"]
        assert refs and all("url_for" in r["context"] for r in refs)


async def test_index_status_reports_files_and_skips(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        out = await call(client, "index_status")
        assert out["files"] > 100 and out["symbols"] > 1000
        assert out["languages"]["python"] > 50
        assert out["skipped"]


async def test_malformed_arguments_give_an_error_result_and_the_server_lives(flask_index: tuple[Path, Path]) -> None:
    async with connected(flask_settings(flask_index)) as client:
        bad = await client.call_tool("search_code", {"query": "x", "k": 0})
        assert bad.is_error
        bad = await client.call_tool("search_code", {"query": "x", "mode": "psychic"})
        assert bad.is_error
        bad = await client.call_tool("get_symbol", {"name": "   "})
        assert bad.is_error and "name" in bad.content[0].text  # type: ignore[union-attr]
        out = await call(client, "index_status")
        assert out["files"] > 0
