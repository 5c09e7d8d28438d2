"""Attaching to the live server that owns an index (server.json), from the CLI and from a
second stdio launch, with real `sextant serve` subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from indexer.disk.repo import IndexPaths
from mcp_server.owner import Owner, claim, read_owner, release
from tests.mcp_helpers import build_index, call

REPO = Path(__file__).resolve().parent.parent


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "server.py").write_text(
        "def serve_forever(port):\n    '''Serve requests until stopped.'''\n    return port\n")
    (root / "client.py").write_text(
        "from server import serve_forever\n\ndef main():\n    return serve_forever(80)\n")
    return root


def serve_params(root: Path, index_dir: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server.cli", "serve", "--repo", str(root), "--index-dir",
              str(index_dir), "--no-watch", "--no-embed"],
        env={**os.environ, "SEXTANT_LOG_LEVEL": "INFO"}, cwd=str(REPO))


async def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return await anyio.run_process([sys.executable, "-m", "mcp_server.cli", *args], check=False,
                                   cwd=str(REPO))


async def test_cli_and_a_second_stdio_server_answer_while_a_stdio_server_owns_the_index(
        tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    index_dir = tmp_path / "idx"
    build_index(root, index_dir)
    paths = IndexPaths.for_repo(root, index_dir)
    with anyio.fail_after(180):
        async with Client(serve_params(root, index_dir)) as first:
            out = await call(first, "search_code", query="serve_forever", k=1)
            assert out["results"][0]["symbol"] == "serve_forever"
            owner = read_owner(paths)
            assert owner is not None and owner.transport == "stdio" and owner.token_required
            assert paths.server_file.stat().st_mode & 0o077 == 0

            cli = await run_cli("search", "--repo", str(root), "--index-dir", str(index_dir),
                                "--json", "serve requests", "-k", "1")
            assert cli.returncode == 0, cli.stderr.decode()
            data = json.loads(cli.stdout)
            assert data["results"][0]["symbol"] == "serve_forever" and "took_ms" in data

            context = await run_cli("context", "--repo", str(root), "--index-dir",
                                    str(index_dir), "--json", "--max-tokens", "1000",
                                    "--path", "server.py", "how do the requests get served")
            assert context.returncode == 0, context.stderr.decode()
            answer = json.loads(context.stdout)  # the owner's answer, within its budget
            assert 0 < answer["tokens"] <= 1000 and answer["items"]
            assert [i for i in answer["items"] if i["path"] == "server.py"]

            status = await run_cli("status", "--repo", str(root), "--index-dir", str(index_dir),
                                   "--json")
            assert status.returncode == 0 and json.loads(status.stdout)["files"] == 2

            async with Client(serve_params(root, index_dir)) as second:
                tools = {t.name for t in (await second.list_tools()).tools}
                assert {"search_code", "reindex"} <= tools
                hit = await call(second, "get_symbol", name="serve_forever",
                                 include_references=True)
                assert hit["symbols"][0]["path"] == "server.py"
                resource = await second.read_resource("sextant://status")
                assert resource.contents
            again = await call(first, "index_status")
            assert again["files"] == 2
    assert read_owner(paths) is None


def test_a_record_left_by_a_dead_process_is_ignored_and_removed(tmp_path: Path) -> None:
    paths = IndexPaths.for_repo(tmp_path, tmp_path / "idx")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, check=True)
    stale = Owner(pid=int(dead.stdout), host="127.0.0.1", port=1, token_required=False)
    assert claim(paths, stale)
    assert read_owner(paths) is None and not paths.server_file.exists()


def test_a_live_process_that_serves_nothing_on_its_port_loses_its_record(
        tmp_path: Path) -> None:
    paths = IndexPaths.for_repo(tmp_path, tmp_path / "idx")
    parent = Owner(pid=os.getppid(), host="127.0.0.1", port=1, token_required=False)
    assert claim(paths, parent)
    release(paths)  # not ours: left alone
    assert paths.server_file.exists()
    mine = Owner(pid=os.getpid(), host="127.0.0.1", port=2, token_required=False)
    assert claim(paths, mine)  # nothing answers on port 1: the parent's record was stale
    assert json.loads(paths.server_file.read_text())["pid"] == os.getpid()
    release(paths)
    assert not paths.server_file.exists()
