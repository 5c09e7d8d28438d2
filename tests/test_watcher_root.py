"""The repository directory itself replaced under a running server (`mv repo repo.old &&
cp -a repo.old repo`, or `rm -rf repo` and a copy put back, as some checkout and sync tools
do): the server watches the new directory, reconciles with it, and never says an answer is
fresh while the directory is missing or not yet followed.

The index lives outside the tree (`--index-dir`), as it must for `rm -rf repo` to leave it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import anyio
from mcp import Client

from tests.mcp_helpers import build_index, call
from tests.test_watcher import FRESH_S, eventually, found, served

OLD = "def serve_forever(port):\n    '''Serve requests until stopped.'''\n    return port\n"
NEW = "def zanzibar_after_copy(port):\n    '''Added to the copy.'''\n    return port\n"


def small_repo(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/server.py").write_text(OLD)
    for i in range(20):
        (root / f"pkg/mod{i}.py").write_text(f"def helper_{i}(x):\n    return x + {i}\n")
    build_index(root, tmp_path / "idx")
    return root, tmp_path / "idx"


def copy_tree(src: Path, dest: Path) -> None:
    subprocess.run(["cp", "-a", str(src), str(dest)], check=True)


async def fresh_search(client: Client, query: str) -> dict[str, object]:
    return await call(client, "search_code", query=query, k=5, mode="lexical", wait_fresh=True)


async def search_once_fresh(client: Client, query: str) -> dict[str, object]:
    """`wait_fresh` waits 10 s at most in the server (a loaded machine may need longer to
    follow a new directory and reconcile): ask again until the answer says it is fresh."""
    with anyio.fail_after(FRESH_S):
        out = await fresh_search(client, query)
        while not out["freshness"]["fresh"]:  # type: ignore[index]
            out = await fresh_search(client, query)
    return out


def symbols(out: dict[str, object]) -> list[str]:
    results = out["results"]
    assert isinstance(results, list)
    return [r["symbol"] for r in results]


async def test_a_directory_moved_away_and_replaced_by_a_copy_is_followed(tmp_path: Path) -> None:
    root, index_dir = small_repo(tmp_path)
    async with served(root, index_dir) as (client, _):
        root.rename(tmp_path / "repo.old")
        copy_tree(tmp_path / "repo.old", root)
        (root / "pkg/server.py").write_text(OLD + "\n\n" + NEW)  # an edit in the new tree
        (tmp_path / "repo.old/pkg/mod1.py").write_text("def only_in_the_old_tree():\n    pass\n")
        out = await search_once_fresh(client, "zanzibar_after_copy")
        assert "zanzibar_after_copy" in symbols(out)
        out = await search_once_fresh(client, "only_in_the_old_tree")
        assert "only_in_the_old_tree" not in symbols(out)
        # the new directory keeps being followed (no stat check names this file: poll)
        (root / "pkg/mod2.py").write_text("def zanzibar_second_edit():\n    pass\n")
        await eventually(found(client, "zanzibar_second_edit",
                               lambda p, s: p == "pkg/mod2.py"), "an edit in the new tree")


async def test_a_removed_directory_is_never_fresh_and_a_copy_put_back_is_indexed(
    tmp_path: Path,
) -> None:
    root, index_dir = small_repo(tmp_path)
    copy_tree(root, tmp_path / "backup")
    (tmp_path / "backup/pkg/server.py").write_text(OLD + "\n\n" + NEW)
    async with served(root, index_dir) as (client, runtime):
        shutil.rmtree(root)
        out = await call(client, "search_code", query="helper", k=5, mode="lexical")
        assert not out["freshness"]["fresh"]
        await anyio.sleep(2 * 1.0)  # two watcher timeouts with the directory gone
        out = await call(client, "search_code", query="helper", k=5, mode="lexical")
        assert not out["freshness"]["fresh"]
        copy_tree(tmp_path / "backup", root)
        out = await search_once_fresh(client, "zanzibar_after_copy")
        assert "zanzibar_after_copy" in symbols(out)
        live = runtime.live
        assert live is not None
        count = live.store.query_one("SELECT count(*) FROM files")
        assert count == (21,)
