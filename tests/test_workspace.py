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

from indexer.live import LiveIndex, LiveOptions
from mcp_server.cli import main
from mcp_server.sdk import INVALID_ARGUMENTS_META
from mcp_server.settings import Settings
from mcp_server.workspace import LocalShards, load_workspace
from mcp_server.workspace_server import build_workspace_server
from tests.mcp_helpers import build_index, call, connected, server_settings
from tools.budget import json_tokens as budget_tokens
from tools.context_models import ContextItem, ContextResult
from tools.context_pack import json_tokens
from tools.merge import rank_merge
from tools.merge_context import MIN_SHARE, context_shares, merge_context, reserve, skipped_repos
from tools.models import Freshness, SearchHit
from tools.search import search_code
from tools.symbols import get_symbol


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


async def test_text_names_the_repository_of_each_path_in_a_workspace_and_only_there(
        two_repos: Path, corpus: Callable[[str], Path], tmp_path: Path) -> None:
    """The model reads the text: in a workspace each path there is prefixed with its
    repository (which `repo` to pass next); a single repository's paths are as written,
    so they can be opened (its search text used to say `flask:src/flask/app.py`)."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("search_code", {"query": "request context", "k": 6}),
        ("get_symbol", {"name": "Context", "include_body": False}),
        ("get_context", {"task": "how is a JSON response rendered from the request context",
                         "max_tokens": 3000}),
        ("summarize_dir", {}),
    ]

    def headers(text: str) -> list[str]:
        return [line.split()[1] for line in text.splitlines() if line.startswith("## ")]

    async with workspace_client(two_repos) as client:
        spaced = {tool: (await client.call_tool(tool, args)).content[0].text  # type: ignore[union-attr]
                  for tool, args in calls}
    for tool, text in spaced.items():
        named = headers(text)
        assert named and all(h.split(":", 1)[0] in ("flask", "gin") for h in named), (tool, named)
    root = corpus("flask")
    build_index(root, tmp_path / "index")
    async with connected(server_settings(root, tmp_path / "index")) as client:
        single = {tool: (await client.call_tool(tool, args)).content[0].text  # type: ignore[union-attr]
                  for tool, args in calls}
    for tool, text in single.items():
        named = headers(text)
        assert named and not any(h.startswith(f"{root.name}:") for h in named), (tool, named)
        assert all((root / h.split(":", 1)[0].rstrip("/")).exists() for h in named), (tool, named)


async def test_workspace_tools_answer_from_the_named_repo_only(two_repos: Path) -> None:
    async with workspace_client(two_repos) as client:
        search = await call(client, "search_code", query="request context", repo="gin")
        unknown = await client.call_tool("search_code", {"query": "x", "repo": "nope"})
    assert repos_of(search) == {"gin"}
    assert unknown.is_error and "flask, gin" in str(unknown.content)


async def test_workspace_argument_errors_are_marked_invalid_for_the_cli(two_repos: Path) -> None:
    """Before: an unknown repo, and an argument every repository refused, came back as
    plain tool errors, so `sextant` asking a workspace server exited 1, not 2 (usage)."""
    async with workspace_client(two_repos) as client:
        unknown = await client.call_tool("search_code", {"query": "x", "repo": "nope"})
        outside = await client.call_tool("summarize_dir", {"path": "../../etc"})
        missing = await client.call_tool("expand_dependencies", {"target": "no/such/file.py"})
    for invalid in (unknown, outside):
        assert invalid.is_error and (invalid.meta or {}).get(INVALID_ARGUMENTS_META) is True
    assert "flask: " in str(outside.content) and "gin: " in str(outside.content)
    assert missing.is_error and INVALID_ARGUMENTS_META not in (missing.meta or {})


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


async def test_workspace_get_context_names_the_repo_of_every_item_within_max_tokens(
        two_repos: Path) -> None:
    task = "how is a JSON response rendered from the request context"
    async with workspace_client(two_repos) as client:
        both = await call(client, "get_context", task=task, max_tokens=4000)
        gin = await call(client, "get_context", task=task, max_tokens=4000, repo="gin")
    for answer in (both, gin):
        result = ContextResult.model_validate(answer)
        assert result.items and result.tokens <= 4000
        assert json_tokens(result) <= 4000  # counted as the tool counts: within the budget
        assert result.missing_repos == []
    assert {i["repo"] for i in both["items"]} == {"flask", "gin"}  # one answer, both parts
    assert {i["repo"] for i in gin["items"]} == {"gin"}
    assert {r["repo"] for r in both["freshness"]["repos"]} == {"flask", "gin"}


async def test_workspace_get_context_refers_to_what_the_session_already_received(
        two_repos: Path) -> None:
    task = "how is a JSON response rendered from the request context"
    async with workspace_client(two_repos) as client:
        first = await call(client, "get_context", task=task, max_tokens=4000)
        again = await call(client, "get_context", task=task, max_tokens=4000)
    bodies = {(i["repo"], i["path"], i["start_line"]) for i in first["items"]
              if i["detail"] == "body"}
    assert bodies
    resent = {(i["repo"], i["path"], i["start_line"]) for i in again["items"]
              if i["detail"] == "body"}
    assert not bodies & resent  # nothing twice in one session, in either repository
    assert {label.split(":")[0] for label in again["already_sent"]} == {"flask", "gin"}


async def test_single_repo_server_takes_its_own_repo_name_and_rejects_another(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("gin")
    build_index(root, tmp_path / "index")
    settings = server_settings(root, tmp_path / "index", repo_name="web")
    async with connected(settings) as client:
        own = await call(client, "search_code", query="render json", k=3, repo="web")
        status = await call(client, "index_status", repo="web")
        context = await call(client, "get_context", task="render json", repo="web")
        other = await client.call_tool("get_symbol", {"name": "Context", "repo": "flask"})
    assert repos_of(own) == {"web"} and status["repo"] == "web"
    assert {i["repo"] for i in context["items"]} == {"web"}
    assert other.is_error and "'flask'" in str(other.content) and "'web'" in str(other.content)


def test_tools_name_their_repository_themselves_within_the_budget(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    build_index(root, tmp_path / "index")
    from indexer.disk.repo import IndexPaths, RepoIndex

    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        live = LiveIndex(index, LiveOptions(name="web"))
        search = search_code(live, "register a url rule", k=20, max_tokens=600)
        symbol = get_symbol(live, "Flask", max_tokens=600)
    assert search.results and {h.repo for h in search.results} == {"web"}
    assert symbol.symbols and {s.repo for s in symbol.symbols} == {"web"}
    assert search.truncated  # fitted with the names counted, not added afterwards
    assert budget_tokens(search) <= 600 and budget_tokens(symbol) <= 600


def test_context_shares_follow_the_merged_search_and_keep_each_share_useful() -> None:
    def hits(n: int) -> list[SearchHit]:
        return [SearchHit(path=f"f{i}.py", start_line=1, end_line=2, symbol=None,
                          kind="function", language="python", score=10.0 - i, snippet="")
                for i in range(n)]

    found = {"a": hits(10), "b": hits(2), "c": []}
    wide = context_shares(found, 12, 8000)
    assert list(wide) == ["a", "b"] and wide["a"] == 5 * wide["b"]  # 10 hits to 2 of 12
    assert sum(wide.values()) <= 8000 - reserve(2)
    narrow = context_shares(found, 12, 4000)  # b's share would be under MIN_SHARE
    assert narrow == {"a": 4000 - reserve(1)} and MIN_SHARE > 4000 * 2 // 12
    assert [lo.repo for lo in skipped_repos(found, narrow, "task")] == ["b"]


def test_merged_context_is_refitted_into_max_tokens_listing_what_it_dropped() -> None:
    def part(repo: str, n: int) -> ContextResult:
        items = [ContextItem(path=f"{repo}/m{i}.py", start_line=1, end_line=30,
                             kind="function", text="x = 1\n" * 30, detail="body",
                             symbol=f"f{i}", repo=repo) for i in range(n)]
        return ContextResult(task="t", items=items, tokens=0, truncated=False,
                             freshness=Freshness(fresh=True, generation=1))

    parts = {"a": part("a", 6), "b": part("b", 6)}
    fresh = {n: p.freshness for n, p in parts.items()}
    whole = merge_context(parts, "t", 20000, freshness=fresh)
    assert [i.repo for i in whole.items[:4]] == ["a", "b", "a", "b"]  # by rank, interleaved
    fitted = merge_context(parts, "t", 1000, freshness=fresh)
    assert fitted.tokens <= 1000 and json_tokens(fitted) <= 1000
    assert 0 < len(fitted.items) < 12 and fitted.left_out_count == 12 - len(fitted.items)
    assert fitted.left_out[0].repo is not None and fitted.truncated


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


def test_a_workspace_repo_indexed_into_its_own_root_is_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    file = write_workspace(tmp_path / "ws.toml", {"t": (tmp_path, tmp_path)})
    assert main(["serve", "--workspace", str(file)]) == 2
    assert "is the repository itself" in capsys.readouterr().err
    assert not (tmp_path / ".gitignore").exists()


def test_cluster_commands_without_ray_exit_2_saying_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    file = write_workspace(tmp_path / "ws.toml", {"t": (tmp_path, tmp_path / "index")})
    assert main(["cluster", "index", "--workspace", str(file)]) == 2
    assert "pip install -e '.[cluster]'" in capsys.readouterr().err
    assert main(["serve", "--workspace", str(file), "--cluster"]) == 2
    assert "pip install -e '.[cluster]'" in capsys.readouterr().err
