"""Workspaces: several repositories behind one server, every result naming its `repo`;
merging by rank; the cluster commands without Ray."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server.cli import main
from mcp_server.settings import Settings
from mcp_server.workspace import LocalShards, load_workspace
from mcp_server.workspace_server import build_workspace_server
from tests.mcp_helpers import build_index, call, connected, server_settings
from tools.merge import rank_merge
from tools.models import SearchHit


def write_workspace(path: Path, repos: dict[str, tuple[Path, Path]]) -> Path:
    path.write_text("".join(
        f'[[repo]]\nname = "{name}"\npath = "{root}"\nindex_dir = "{index}"\n\n'
        for name, (root, index) in repos.items()))
    return path


@pytest.fixture(scope="module")
def two_repos(corpus: Callable[[str], Path],
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace file for flask and gin, both indexed (lexical + symbols)."""
    base = tmp_path_factory.mktemp("workspace")
    repos = {name: (corpus(name), base / f"index-{name}") for name in ("flask", "gin")}
    for root, index in repos.values():
        build_index(root, index)
    return write_workspace(base / "workspace.toml", repos)


@asynccontextmanager
async def workspace_client(file: Path) -> AsyncIterator[Client]:
    settings = Settings(root=file.parent, watch=False, embed=False, model="hashing")
    shards = LocalShards(load_workspace(file), settings)
    async with Client(build_workspace_server(settings, shards)) as client:
        with anyio.fail_after(120):
            await anyio.to_thread.run_sync(shards.wait_ready, 120)
        yield client


def repos_of(content: dict[str, Any]) -> set[str | None]:
    """The `repo` of every item a tool answer lists."""
    items = [*content.get("results", []), *content.get("symbols", []),
             *content.get("nodes", []), *content.get("edges", []),
             *content.get("summaries", []), *content.get("repos", [])]
    assert items, content
    return {item.get("repo") for item in items}


async def test_workspace_server_answers_every_tool_with_the_repo_of_every_result(
        two_repos: Path) -> None:
    async with workspace_client(two_repos) as client:
        search = await call(client, "search_code", query="request context", k=10)
        symbol = await call(client, "get_symbol", name="Context", include_body=False)
        deps = await call(client, "expand_dependencies", target="src/flask/app.py")
        summary = await call(client, "summarize_dir")
        status = await call(client, "index_status")
    assert repos_of(search) == {"flask", "gin"}  # both repositories in one ranked list
    assert repos_of(symbol) <= {"flask", "gin"} and "gin" in repos_of(symbol)
    assert repos_of(deps) == {"flask"}  # the path exists only there: gin is left out
    assert repos_of(summary) == {"flask", "gin"}
    assert repos_of(status) == {"flask", "gin"}
    assert {r["repo"] for r in search["freshness"]["repos"]} == {"flask", "gin"}
    assert search["missing_repos"] == []


async def test_workspace_tools_answer_from_the_named_repo_only(two_repos: Path) -> None:
    async with workspace_client(two_repos) as client:
        search = await call(client, "search_code", query="request context", repo="gin")
        unknown = await client.call_tool("search_code", {"query": "x", "repo": "nope"})
    assert repos_of(search) == {"gin"}
    assert unknown.is_error and "flask, gin" in str(unknown.content)


async def test_workspace_reports_a_tool_error_only_when_every_repo_has_it(
        two_repos: Path) -> None:
    async with workspace_client(two_repos) as client:
        result = await client.call_tool("expand_dependencies", {"target": "no/such/file.py"})
    text = str(result.content)
    assert result.is_error and "flask: 'no/such/file.py' is not an indexed" in text
    assert "gin: 'no/such/file.py' is not an indexed" in text


async def test_single_repo_server_fills_repo_with_the_directory_name(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("gin")
    build_index(root, tmp_path / "index")
    async with connected(server_settings(root, tmp_path / "index")) as client:
        search = await call(client, "search_code", query="render json", k=5)
        status = await call(client, "index_status")
    assert repos_of(search) == {root.name}
    assert status["repo"] == root.name


def test_rank_merge_puts_each_repos_best_result_before_anyones_second() -> None:
    def hit(path: str, score: float) -> SearchHit:
        return SearchHit(path=path, start_line=1, end_line=1, symbol=None, kind="function",
                         language="go", score=score, snippet="")

    merged = rank_merge({"big": [hit("a1", 40.0), hit("a2", 39.0), hit("a3", 38.0)],
                         "small": [hit("b1", 0.5), hit("b2", 0.1)]}, lambda h: h.score)
    # raw scores would put all of "big" first; ranks interleave the repositories
    assert [h.path for h in merged] == ["a1", "b1", "a2", "b2", "a3"]


def test_a_bad_workspace_file_is_a_usage_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ws.toml"
    bad.write_text('[[repo]]\nname = "x"\npath = "missing"\n')
    assert main(["serve", "--workspace", str(bad)]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_cluster_commands_without_ray_exit_2_saying_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    file = write_workspace(tmp_path / "ws.toml", {"t": (tmp_path, tmp_path / "index")})
    assert main(["cluster", "index", "--workspace", str(file)]) == 2
    assert "pip install -e '.[cluster]'" in capsys.readouterr().err
    assert main(["serve", "--workspace", str(file), "--cluster"]) == 2
    assert "pip install -e '.[cluster]'" in capsys.readouterr().err
