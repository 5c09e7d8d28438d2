"""The live index end to end: a real server with the watcher on a private copy of flask.

Each test edits the working tree and polls `search_code` (lexical) until the change shows.
FRESH_S only bounds a wait that would otherwise hang: a loaded machine may take seconds to
show a change (how fast the index follows edits is measured by the benchmarks, not here).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server.runtime import Runtime
from tests.mcp_helpers import build_index, call, server_settings

FRESH_S = 60.0


@asynccontextmanager
async def served(root: Path, index_dir: Path) -> AsyncIterator[tuple[Client, Runtime]]:
    """A watching server on `root` (hashing embedder), once it has reconciled."""
    from mcp_server.server import build_server

    settings = server_settings(root, index_dir, watch=True)
    runtime = Runtime(settings)
    async with Client(build_server(settings, runtime)) as client:
        with anyio.fail_after(120):
            await anyio.to_thread.run_sync(runtime.ready.wait)
        yield client, runtime


@pytest.fixture(scope="module")
def flask_index(corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("flask-live-index")
    build_index(corpus("flask"), index_dir)
    return index_dir


@pytest.fixture
def flask_copy(copy_corpus: Callable[[str], Path], flask_index: Path, tmp_path: Path) -> Path:
    """A private flask tree with a private copy of its index at tmp_path/idx (mtimes kept,
    so the reconcile on start finds nothing to do)."""
    shutil.copytree(flask_index, tmp_path / "idx")
    return copy_corpus("flask")


async def search_paths(client: Client, query: str) -> list[tuple[str, str]]:
    """(path, symbol + snippet) of the top lexical results."""
    out = await call(client, "search_code", query=query, k=20, mode="lexical")
    return [(r["path"], f"{r['symbol'] or ''}\n{r['snippet']}") for r in out["results"]]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> float:
    """Poll `check` until true; fail after FRESH_S seconds. Returns the seconds it took."""
    started = time.monotonic()
    deadline = started + FRESH_S
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not visible within {FRESH_S}s")
        await anyio.sleep(0.02)
    return time.monotonic() - started


def found(client: Client, query: str, pred: Callable[[str, str], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(pred(p, s) for p, s in await search_paths(client, query))

    return check


def gone(client: Client, query: str, pred: Callable[[str, str], bool]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not any(pred(p, s) for p, s in await search_paths(client, query))

    return check


NEW_FUNC = "\n\ndef zanzibar_quokka_helper(value):\n    return value * 2\n"


async def test_appended_function_becomes_searchable_then_gone_when_deleted(
    flask_copy: Path, tmp_path: Path
) -> None:
    target = flask_copy / "src/flask/helpers.py"
    original = target.read_text()
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        assert await gone(client, "zanzibar_quokka_helper", lambda p, s: "zanzibar_quokka_helper" in s)()
        target.write_text(original + NEW_FUNC)
        await eventually(found(client, "zanzibar_quokka_helper",
                               lambda p, s: "zanzibar_quokka_helper" in s), "new function")
        target.write_text(original)
        await eventually(gone(client, "zanzibar_quokka_helper", lambda p, s: "zanzibar_quokka_helper" in s),
                         "deleted function")


async def test_renamed_file_is_found_under_its_new_path_only(flask_copy: Path, tmp_path: Path) -> None:
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        os.rename(flask_copy / "src/flask/signals.py", flask_copy / "src/flask/signals_moved.py")
        await eventually(found(client, "template_rendered", lambda p, s: p.endswith("signals_moved.py")),
                         "renamed file")
        assert await gone(client, "template_rendered", lambda p, s: p == "src/flask/signals.py")()


async def test_deleted_directory_drops_every_file_under_it(flask_copy: Path, tmp_path: Path) -> None:
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        assert not await gone(client, "tutorial blog", lambda p, s: p.startswith("examples/"))()
        shutil.rmtree(flask_copy / "examples")
        await eventually(gone(client, "tutorial blog", lambda p, s: p.startswith("examples/")),
                         "deleted directory")


async def test_directory_moved_away_and_back_in_follows_the_move(flask_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "parked"
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        shutil.move(flask_copy / "src/flask/json", outside)
        await eventually(gone(client, "JSONProvider", lambda p, s: p.startswith("src/flask/json/")),
                         "directory moved out")
        shutil.move(outside, flask_copy / "src/flask/json2")
        await eventually(found(client, "JSONProvider", lambda p, s: p.startswith("src/flask/json2/")),
                         "directory moved in")


async def test_gitignore_entry_removes_the_file_it_now_excludes(flask_copy: Path, tmp_path: Path) -> None:
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        assert not await gone(client, "template_rendered", lambda p, s: p == "src/flask/signals.py")()
        ignore = flask_copy / ".gitignore"
        ignore.write_text(ignore.read_text() + "src/flask/signals.py\n")
        await eventually(gone(client, "template_rendered", lambda p, s: p == "src/flask/signals.py"),
                         "ignored file removal")


async def test_editor_atomic_save_replaces_the_file_content(flask_copy: Path, tmp_path: Path) -> None:
    target = flask_copy / "src/flask/helpers.py"
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        tmp = target.with_name(".helpers.py.tmp1234")
        tmp.write_text(target.read_text() + NEW_FUNC)
        os.replace(tmp, target)
        await eventually(found(client, "zanzibar_quokka_helper",
                               lambda p, s: p == "src/flask/helpers.py" and "zanzibar_quokka" in s), "atomic save")
        assert await gone(client, "zanzibar_quokka_helper", lambda p, s: "tmp" in p)()


async def test_wait_until_fresh_returns_once_an_edit_is_indexed(flask_copy: Path, tmp_path: Path) -> None:
    target = flask_copy / "src/flask/views.py"
    async with served(flask_copy, tmp_path / "idx") as (client, runtime):
        live = runtime.live
        assert live is not None
        target.write_text(target.read_text() + NEW_FUNC)
        fresh = await anyio.to_thread.run_sync(live.wait_fresh, ["src/flask/views.py"], 60.0)
        assert fresh
        assert (await search_paths(client, "zanzibar_quokka_helper"))[0][0] == "src/flask/views.py"
        status: dict[str, Any] = await call(client, "index_status")
        assert status is not None


async def test_a_symbol_written_just_before_the_call_is_found_with_wait_fresh(
        flask_copy: Path, tmp_path: Path) -> None:
    """The tools' advice, "pass wait_fresh=true right after editing", for calls that name no
    path: a new module written and asked for at once (no poll) is in the first answer."""
    async with served(flask_copy, tmp_path / "idx") as (client, _):
        for i in range(3):
            (flask_copy / f"src/flask/quokka_{i}.py").write_text(
                f"def zanzibar_quokka_{i}(value):\n    return value * {i}\n")
            found = await call(client, "get_symbol", name=f"zanzibar_quokka_{i}", wait_fresh=True)
            assert [(s["path"], s["match"]) for s in found["symbols"]] == [
                (f"src/flask/quokka_{i}.py", "exact")]
            assert found["freshness"]["fresh"]
            hits = await call(client, "search_code", query=f"zanzibar_quokka_{i}", mode="lexical",
                              wait_fresh=True)
            assert hits["results"][0]["path"] == f"src/flask/quokka_{i}.py"


async def test_new_chunks_get_vectors_from_the_watcher(flask_copy: Path, tmp_path: Path) -> None:
    target = flask_copy / "src/flask/views.py"
    async with served(flask_copy, tmp_path / "idx") as (_, runtime):
        ctx = runtime.live
        assert ctx is not None
        with anyio.fail_after(120):
            while ctx.embedding.state != "complete":
                await anyio.sleep(0.05)
        target.write_text(target.read_text() + NEW_FUNC)
        assert await anyio.to_thread.run_sync(ctx.wait_fresh, ["src/flask/views.py"], 60.0)
        ids = ctx.index.store.chunk_ids_for_paths(["src/flask/views.py"])
        assert ids and ctx.vectors is not None
        assert all(ctx.vectors.contains(i) for i in ids)
