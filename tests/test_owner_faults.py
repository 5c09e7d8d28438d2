"""A garbled or stale `server.json` never stops `sextant serve` or the CLI; a live owner that
refuses a call gives a one-line error. Real `sextant` subprocesses on loopback."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from anyio.streams.text import TextReceiveStream
from mcp import Client

from indexer.disk import IndexPaths
from mcp_server.owner import Owner, claim, read_owner
from tests.mcp_helpers import build_index, call
from tests.test_attach import REPO, make_repo, run_cli, serve_params


def indexed_repo(tmp_path: Path) -> tuple[Path, Path, IndexPaths]:
    root = make_repo(tmp_path / "repo")
    build_index(root, tmp_path / "idx")
    return root, tmp_path / "idx", IndexPaths.for_repo(root, tmp_path / "idx")


def dead_port() -> int:
    """A loopback port nothing listens on (bound once, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def http_owner(root: Path, index_dir: Path, token: str) -> AsyncIterator[Owner]:
    """A real `sextant serve --transport http` subprocess owning the index."""
    command = [sys.executable, "-m", "mcp_server.cli", "serve", "--transport", "http",
               "--port", "0", "--repo", str(root), "--index-dir", str(index_dir),
               "--no-watch", "--no-embed"]
    env = {**os.environ, "SEXTANT_TOKEN": token, "SEXTANT_LOG_LEVEL": "INFO"}
    async with (await anyio.open_process(command, env=env, cwd=str(REPO)) as process,
                anyio.create_task_group() as tg):
        listening = anyio.Event()

        async def drain_stderr() -> None:
            assert process.stderr is not None
            async for text in TextReceiveStream(process.stderr):
                if "serving MCP at" in text:
                    listening.set()

        tg.start_soon(drain_stderr)
        with anyio.fail_after(120):
            await listening.wait()
        owner = read_owner(IndexPaths.for_repo(root, index_dir))
        assert owner is not None and owner.pid == process.pid
        try:
            yield owner
        finally:
            process.terminate()
            with anyio.fail_after(60):
                await process.wait()


async def test_serve_replaces_a_garbled_server_json_and_serves(tmp_path: Path) -> None:
    root, index_dir, paths = indexed_repo(tmp_path)
    for garbled in ('{"pid": 12', "[1, 2]", '{"pid": "x", "host": 1, "port": -1}'):
        paths.server_file.write_text(garbled)
        with anyio.fail_after(180):
            async with Client(serve_params(root, index_dir)) as client:
                out = await call(client, "search_code", query="serve_forever", k=1)
                assert out["results"][0]["symbol"] == "serve_forever"
                owner = json.loads(paths.server_file.read_text())
                assert owner["pid"] != os.getpid() and owner["transport"] == "stdio"
        assert not paths.server_file.exists()


async def test_a_record_of_pid_1_on_a_dead_port_neither_blocks_the_cli_nor_serve(
        tmp_path: Path) -> None:
    root, index_dir, paths = indexed_repo(tmp_path)

    def write_stale() -> None:
        paths.server_file.write_text(json.dumps({
            "pid": 1, "host": "127.0.0.1", "port": dead_port(), "token_required": False}))

    write_stale()
    with anyio.fail_after(180):
        cli = await run_cli("search", "--repo", str(root), "--index-dir", str(index_dir),
                            "--json", "serve requests", "-k", "1")
        assert cli.returncode == 0, cli.stderr.decode()
        assert json.loads(cli.stdout)["results"][0]["symbol"] == "serve_forever"
        assert not paths.server_file.exists()
        write_stale()
        async with Client(serve_params(root, index_dir)) as client:
            assert (await call(client, "index_status"))["files"] == 2
            assert json.loads(paths.server_file.read_text())["pid"] != 1


async def test_a_live_owner_that_answers_keeps_its_claim(tmp_path: Path) -> None:
    root, index_dir, paths = indexed_repo(tmp_path)
    async with http_owner(root, index_dir, token="t0ken") as owner:
        mine = Owner(pid=os.getpid(), host="127.0.0.1", port=dead_port(), token_required=False)
        assert not claim(paths, mine)
        assert read_owner(paths) == owner


async def test_the_cli_reports_a_refused_call_to_the_owner_in_one_line(tmp_path: Path) -> None:
    root, index_dir, _ = indexed_repo(tmp_path)
    async with http_owner(root, index_dir, token="t0ken") as owner:
        with anyio.fail_after(120):
            cli = await anyio.run_process(
                [sys.executable, "-m", "mcp_server.cli", "search", "--repo", str(root),
                 "--index-dir", str(index_dir), "serve requests"],
                check=False, cwd=str(REPO), env={**os.environ, "SEXTANT_TOKEN": "wrong"})
    err = cli.stderr.decode()
    assert cli.returncode == 1 and err.count("\n") == 1, err
    assert "ExceptionGroup" not in err and str(owner.pid) in err and "SEXTANT_TOKEN" in err


async def test_the_cli_asking_a_live_owner_exits_2_for_invalid_arguments_and_1_for_none_found(
        tmp_path: Path) -> None:
    """The owner's error results say which are invalid arguments (`_meta`): the CLI exits as
    it does answering from the index itself, with one line."""
    root, index_dir, _ = indexed_repo(tmp_path)
    # one line of stderr: no log lines, whatever level the caller's environment asks for
    env = {k: v for k, v in os.environ.items() if k != "SEXTANT_LOG_LEVEL"}
    env["SEXTANT_TOKEN"] = "t0ken"
    async with http_owner(root, index_dir, token="t0ken"):
        for args, code, says in [(("search", ""), 2, "query: String should have at least 1"),
                                 (("search", "  "), 2, "query is empty"),
                                 (("summary", "../.."), 2, "contains '..'"),
                                 (("deps", "no/such/file.py"), 1, "not an indexed file")]:
            with anyio.fail_after(120):
                cli = await anyio.run_process(
                    [sys.executable, "-m", "mcp_server.cli", *args, "--repo", str(root),
                     "--index-dir", str(index_dir)], check=False, cwd=str(REPO), env=env)
            err = cli.stderr.decode()
            assert cli.returncode == code and err.count("\n") == 1 and says in err, (args, err)
