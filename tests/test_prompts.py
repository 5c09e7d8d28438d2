"""Prompts: listed with their arguments, rendered with the caller's text, steering to tools."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, TextContent

from mcp_server.runtime import Runtime
from mcp_server.server import build_server
from prompts import explore_codebase, locate_code, plan_change
from tests.mcp_helpers import connected, server_settings


def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "main.py").write_text("def main():\n    return 0\n")
    return root


async def test_prompts_are_listed_with_their_arguments(tmp_path: Path) -> None:
    settings = server_settings(repo(tmp_path), tmp_path / "idx", embed=False)
    async with connected(settings) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {"explore_codebase", "locate_code", "plan_change"}
    required = {name: [a.name for a in p.arguments or [] if a.required]
                for name, p in prompts.items()}
    assert required == {"explore_codebase": [], "locate_code": ["task"],
                        "plan_change": ["change"]}
    assert all(p.description for p in prompts.values())


async def test_locate_code_embeds_the_bug_report_and_starts_with_search(tmp_path: Path) -> None:
    settings = server_settings(repo(tmp_path), tmp_path / "idx", embed=False)
    report = "TypeError: url_for() got an unexpected keyword argument '_anchor'"
    async with connected(settings) as client:
        result = await client.get_prompt("locate_code", {"task": report})
    content = result.messages[0].content
    assert isinstance(content, TextContent) and result.messages[0].role == "user"
    assert report in content.text
    assert content.text.index("search_code") < content.text.index("get_symbol")


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_unknown_prompt_or_a_missing_argument_is_invalid_params_and_the_server_lives(
        tmp_path: Path, mode: str) -> None:
    settings = server_settings(repo(tmp_path), tmp_path / "idx", embed=False)
    runtime = Runtime(settings)
    async with Client(build_server(settings, runtime), mode=mode) as client:  # type: ignore[arg-type]
        with anyio.fail_after(120):
            await anyio.to_thread.run_sync(runtime.ready.wait, abandon_on_cancel=True)
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt", {})
        assert unknown.value.code == INVALID_PARAMS and "locate_code" in unknown.value.message
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("plan_change", {})
        assert missing.value.code == INVALID_PARAMS and "change" in missing.value.message
        ok = await client.get_prompt("explore_codebase", {})
        assert ok.messages


async def test_server_info_carries_the_package_version(tmp_path: Path) -> None:
    settings = server_settings(repo(tmp_path), tmp_path / "idx", embed=False)
    async with connected(settings) as client:
        info = client.server_info
    assert info.name == "sextant"
    assert info.version == importlib.metadata.version("sextant") != ""


def test_each_prompt_names_the_tools_it_steers_to() -> None:
    assert "sextant://overview" in explore_codebase()
    assert "focus on: auth" in explore_codebase("auth")
    assert 'direction="in"' in locate_code("x") and "wait_fresh" in locate_code("x")
    plan = plan_change("rename Flask.route")
    assert "rename Flask.route" in plan and "include_references=true" in plan
