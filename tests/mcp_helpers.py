"""Shared helpers for tests that talk MCP to a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from mcp_server.runtime import Runtime
from mcp_server.settings import Settings


def build_index(root: Path, index_dir: Path) -> None:
    """Index `root` into `index_dir` (lexical + symbols), leaving the tree untouched."""
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        index_repository(index)


def indexed_live(root: Path, index_dir: Path) -> Iterator[LiveIndex]:
    """`root` indexed into `index_dir`, as a live index (for a fixture: `yield from`)."""
    index = RepoIndex(IndexPaths.for_repo(root, index_dir))
    index_repository(index)
    try:
        yield LiveIndex(index)
    finally:
        index.close()


@contextmanager
def live_over(tmp_path: Path, files: Mapping[str, str],
              name: str = "repo") -> Iterator[LiveIndex]:
    """A repository of `files` (path -> text) under `tmp_path`, indexed, as a live index;
    `name`: its directory's (the repository's name in answers)."""
    root = tmp_path / name
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        yield LiveIndex(index)


def server_settings(root: Path, index_dir: Path, **kw: Any) -> Settings:
    # the static tier of the "hashing" fake has no meaning: on only where a test asks for it
    base: dict[str, Any] = {"root": root, "index_dir": index_dir, "watch": False,
                            "embed": True, "model": "hashing", "static": False}
    base.update(kw)
    return Settings(**base)


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool and return its structured content, failing on an error result."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def wait_ready(runtime: Runtime, timeout: float = 120) -> None:
    assert runtime.ready.wait(timeout), "the server did not finish reconciling in time"


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[Client]:
    """An in-memory MCP session with a server for `settings`, once it has reconciled.

    (A context manager, not a fixture: the SDK's task groups must be entered and exited in
    the same task, which pytest-asyncio's async-generator fixtures do not guarantee.)"""
    import anyio

    from mcp_server.server import build_server

    runtime = Runtime(settings)
    async with Client(build_server(settings, runtime)) as client:
        with anyio.fail_after(120):
            await anyio.to_thread.run_sync(runtime.ready.wait)
        yield client
