"""Path confinement: no tool reads or reveals anything outside the repository root.

A canary file with a unique string sits next to the root; the root holds symlinks out to
it, a symlink loop, and files that are swapped for links, FIFOs and huge files after being
indexed. Every tool gets traversal attempts through each of its path inputs, over MCP.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from tests.mcp_helpers import build_index, connected, server_settings
from tools.errors import ToolError
from tools.source import MAX_READ_BYTES, read_lines, resolve_in_root

CANARY = f"CANARY_{uuid.uuid4().hex}"


def _plant(tmp: Path) -> tuple[Path, Path]:
    """A repository under tmp/repo and a canary under tmp/outside; returns (root, outside)."""
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "canary.py").write_text(f'def canary_function():\n    return "{CANARY}"\n')
    root = tmp / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def handler():\n    return 1\n")
    (root / "victim.py").write_text("def victim():\n    return 'inside'\n")
    (root / "caller.py").write_text("from victim import victim\n\nvictim()\n")
    (root / "escape.py").symlink_to(outside / "canary.py")
    (root / "escdir").symlink_to(outside)
    (root / "loop_a").symlink_to(root / "loop_b")
    (root / "loop_b").symlink_to(root / "loop_a")
    return root, outside


HOSTILE_PATHS = [
    "../outside/canary.py", "..", "../outside", "src/../../outside/canary.py",
    "./../outside/canary.py", "..\\outside\\canary.py", "src\\..\\..\\outside",
    "escape.py", "escdir", "escdir/canary.py", "loop_a", "loop_a/x.py",
    "a\x00b", "src/app.py\x00../../outside", "~/../outside",
]


def _absolute_paths(outside: Path) -> list[str]:
    return [str(outside / "canary.py"), str(outside), "/etc/passwd", "/", "//outside"]


def _calls(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "search_code", {"query": "canary_function", "path": path}
    yield "get_symbol", {"name": "canary_function", "path": path}
    yield "expand_dependencies", {"target": path}
    yield "expand_dependencies", {"target": f"{path}:canary_function"}
    yield "summarize_dir", {"path": path}


def _must_fail(path: str) -> bool:
    """Inputs that are wrong by their form alone: every tool refuses them."""
    parts = path.replace("\\", "/").split("/")
    return path.startswith("/") or "\x00" in path or ".." in parts


@asynccontextmanager
async def _served(tmp: Path) -> AsyncIterator[tuple[Client, Path]]:
    root, outside = _plant(tmp)
    build_index(root, tmp / "idx")
    async with connected(server_settings(root, tmp / "idx")) as client:
        yield client, outside


async def test_no_tool_reveals_the_canary_through_any_path_input(tmp_path: Path) -> None:
    async with _served(tmp_path) as (client, outside):
        for path in HOSTILE_PATHS + _absolute_paths(outside):
            for tool, args in _calls(path):
                with anyio.fail_after(60):
                    result = await client.call_tool(tool, args)
                assert CANARY not in repr(result), (tool, args)
                if _must_fail(path):
                    assert result.is_error, (tool, args, result.content)
        assert not (await client.call_tool("index_status", {})).is_error


async def test_symlinks_out_of_the_root_are_skipped_not_indexed(tmp_path: Path) -> None:
    async with _served(tmp_path) as (client, _):
        status = (await client.call_tool("index_status", {})).structured_content
        found = (await client.call_tool("get_symbol", {"name": "canary_function"}))
    assert status is not None and status["skipped"].get("symlink_outside") == 2
    assert status["skipped"].get("symlink_loop", 0) + status["skipped"].get("unreadable", 0) == 2
    assert CANARY not in repr(found)


async def test_an_indexed_file_swapped_for_a_link_out_shows_no_outside_content(
        tmp_path: Path) -> None:
    async with _served(tmp_path) as (client, outside):
        (tmp_path / "repo" / "victim.py").unlink()
        (tmp_path / "repo" / "victim.py").symlink_to(outside / "canary.py")
        for args in ({"name": "victim"}, {"name": "victim", "include_references": True}):
            result = await client.call_tool("get_symbol", args)
            assert not result.is_error and CANARY not in repr(result)


async def test_an_indexed_file_swapped_for_a_fifo_does_not_hang_get_symbol(
        tmp_path: Path) -> None:
    async with _served(tmp_path) as (client, _):
        victim = tmp_path / "repo" / "victim.py"
        victim.unlink()
        os.mkfifo(victim)
        with anyio.fail_after(60):
            result = await client.call_tool("get_symbol", {"name": "victim",
                                                           "include_references": True})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["symbols"][0]["body"] == ""


def test_read_lines_reads_a_bounded_prefix_of_a_file_that_grew(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    line = b"x" * 1023 + b"\n"
    big.write_bytes(line * (MAX_READ_BYTES // len(line) + 64))
    assert len(read_lines(tmp_path, "big.txt")) == MAX_READ_BYTES // len(line)


def test_resolve_in_root_reports_a_symlink_loop_as_a_tool_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ToolError, match="symlink loop"):
        resolve_in_root(tmp_path, "a/x.py")
    assert read_lines(tmp_path, "a") == []


_SEGMENTS = st.sampled_from(["..", ".", "", "src", "escape.py", "escdir", "loop_a", "canary.py",
                             "~", "\\..", "..\\..", "/", "\x00", "app.py", "outside"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.one_of(_SEGMENTS, st.text(max_size=8)), max_size=6))
def test_resolve_in_root_never_returns_a_path_outside_the_real_root(
        parts: list[str], planted: tuple[Path, Path]) -> None:
    root, _ = planted
    rel = "/".join(parts)
    try:
        resolved = resolve_in_root(root, rel)
    except ToolError:
        return
    real_root = root.resolve()
    assert resolved == real_root or real_root in resolved.parents
    assert not os.path.islink(resolved)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _plant(tmp_path_factory.mktemp("planted"))


async def test_the_summary_resource_refuses_paths_out_of_the_root(tmp_path: Path) -> None:
    from mcp.shared.exceptions import MCPError

    refused: list[str] = []
    async with _served(tmp_path) as (client, outside):
        for path in ["../outside", "..", "escdir", "escape.py", "src/../../outside",
                     str(outside).lstrip("/"), "%2e%2e/outside", "loop_a"]:
            uri = f"sextant://summary/{path}"
            try:
                with anyio.fail_after(60):
                    result = await client.read_resource(uri)
            except MCPError:
                refused.append(path)
                continue
            assert CANARY not in repr(result), uri
        assert {"../outside", "..", "escdir", "src/../../outside"} <= set(refused), refused
        assert not (await client.call_tool("index_status", {})).is_error


def _resolved_the_long_way(root: Path, rel: str) -> Path | str:
    """What `resolve_in_root` answered before it counted its system calls: the real root,
    then the real path of root / rel, refused outside; the error's kind when it refuses."""
    real_root = root.resolve()
    try:
        target = (real_root / rel).resolve()
    except (OSError, RuntimeError):
        return "unresolvable"
    if target != real_root and real_root not in target.parents:
        return "outside"
    return target


def test_resolve_in_root_answers_as_path_resolve_with_a_stat_per_component(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each `lstat` gives a busy server's interpreter lock away: resolving root and path
    with `Path.resolve` took about ten a file of moby. Same answers, every kind of path."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "x.py").write_text("x = 1\n")
    real = tmp_path / "real"
    (real / "pkg" / "deep").mkdir(parents=True)
    (real / "pkg" / "deep" / "m.py").write_text("m = 1\n")
    (real / "pkg" / "inner").symlink_to(real / "pkg" / "deep")  # a link that stays inside
    (real / "pkg" / "rel_link.py").symlink_to("deep/m.py")
    (real / "out_dir").symlink_to(outside / "sub")
    (real / "out_file.py").symlink_to(outside / "x.py")
    (real / "loop_a").symlink_to(real / "loop_b")
    (real / "loop_b").symlink_to(real / "loop_a")
    (real / "dangling").symlink_to(real / "nowhere")
    root = tmp_path / "root_link"
    root.symlink_to(real)  # the root itself reached through a link
    rels = ["", ".", "pkg", "pkg/deep/m.py", "./pkg/deep/m.py", "pkg/inner/m.py",
            "pkg/rel_link.py", "pkg/missing/x.py", "pkg/deep/m.py/not_a_dir", "out_dir",
            "out_dir/y.py", "out_file.py", "loop_a", "loop_a/x", "dangling", "dangling/x",
            "pkg//deep/m.py"]

    def answer(rel: str) -> Path | str:
        try:
            return resolve_in_root(root, rel)
        except ToolError as exc:
            return "unresolvable" if "cannot be resolved" in str(exc) else "outside"

    for rel in rels:
        assert answer(rel) == _resolved_the_long_way(root, rel), rel

    calls = []
    real_lstat, real_stat = os.lstat, os.stat
    monkeypatch.setattr(os, "lstat", lambda p, *a, **k: calls.append(p) or real_lstat(p, *a, **k))
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: calls.append(p) or real_stat(p, *a, **k))
    assert resolve_in_root(root, "pkg/deep/m.py") == real / "pkg" / "deep" / "m.py"
    assert len(calls) <= 5, calls  # the root's and its real path's stats, one a component

    # the root replaced by another directory at the same path: resolved again
    monkeypatch.undo()
    root.unlink()
    other = tmp_path / "other"
    (other / "pkg" / "deep").mkdir(parents=True)
    root.symlink_to(other)
    assert resolve_in_root(root, "pkg/deep/m.py") == other / "pkg" / "deep" / "m.py"

    # the directory itself moved, the link pointed at its new place (the same inode), and
    # another directory made at its old path: the new place, never the old path
    moved = tmp_path / "moved"
    other.rename(moved)
    root.unlink()
    root.symlink_to(moved)
    (other / "pkg" / "deep").mkdir(parents=True)
    (other / "pkg" / "deep" / "m.py").write_text("planted = 1\n")
    assert resolve_in_root(root, "pkg/deep/m.py") == moved / "pkg" / "deep" / "m.py"
