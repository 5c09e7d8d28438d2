"""A damaged store is moved aside and rebuilt, by the CLI and by the server, and the
embedding cache survives it: it lives in its own file, `embeddings.duckdb`.

The damage matrix: the store truncated to half, 64 KB of garbage at four places (DuckDB
checks a block only when it reads it, and opening reads little), a zero-length store, and a
garbage WAL; for the CLI also garbage in the first block, which the check on open does not
read (the command fails on it, then runs again on a store moved aside and rebuilt). Each index is built by a real `sextant index` (hashing embedder) and damaged
while nothing has it open.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from indexer.disk.repo import IndexPaths
from indexer.live import LiveIndex, LiveOptions
from indexer.store.db import Store
from tests.conftest import REPO_ROOT
from tests.mcp_helpers import build_index, call, connected, server_settings

DAMAGES = ["truncated", "garbage", "empty", "wal_garbage"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEXTANT_MODEL": "hashing"}
    return subprocess.run([sys.executable, "-m", "mcp_server.cli", *args], check=False,
                          cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def damage(paths: IndexPaths, kind: str) -> None:
    store = paths.store
    size = store.stat().st_size
    rng = random.Random(kind)
    if kind == "truncated":
        os.truncate(store, size // 2)
    elif kind == "empty":
        os.truncate(store, 0)
    elif kind == "wal_garbage":
        store.with_name(store.name + ".wal").write_bytes(rng.randbytes(8192))
    elif kind == "first_block":  # after the three 4 KB headers: found only when read
        with store.open("r+b") as f:
            f.seek(3 * 4096 + 4096)
            f.write(rng.randbytes(65536))
    else:
        with store.open("r+b") as f:
            for fraction in (0.1, 0.4, 0.6, 0.9):
                f.seek(int(size * fraction) // 4096 * 4096)
                f.write(rng.randbytes(65536))


def cached_vectors(paths: IndexPaths) -> int:
    con = duckdb.connect(str(paths.embeddings), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM embeddings").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


@pytest.fixture(scope="module")
def flask_built(corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("flask-damage-index")
    done = cli("index", str(corpus("flask")), "--index-dir", str(index_dir))
    assert done.returncode == 0, done.stderr
    return index_dir


@pytest.fixture
def built(corpus: Callable[[str], Path], flask_built: Path, tmp_path: Path) -> IndexPaths:
    shutil.copytree(flask_built, tmp_path / "idx")
    return IndexPaths.for_repo(corpus("flask"), tmp_path / "idx")


@pytest.mark.parametrize("kind", [*DAMAGES, "first_block"])
def test_the_cli_indexes_and_searches_a_damaged_store_keeping_the_cache(
    built: IndexPaths, kind: str,
) -> None:
    vectors = cached_vectors(built)
    assert vectors > 1000
    damage(built, kind)
    indexed = cli("index", str(built.root), "--index-dir", str(built.base), "--json")
    assert indexed.returncode == 0, indexed.stderr
    found = cli("search", "--repo", str(built.root), "--index-dir", str(built.base), "--json",
                "add url rule")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"]
    if kind in ("truncated", "garbage", "first_block"):
        assert "moved it to" in indexed.stderr + found.stderr
        assert list(built.dir.glob("store.corrupt-*.duckdb"))
    assert cached_vectors(built) == vectors


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_rebuild_after_damage_needs_no_model_call(built: IndexPaths, kind: str) -> None:
    damage(built, kind)
    options = LiveOptions(embed=True, model="hashing")
    with LiveIndex.open(built.root, built.base, options) as live:
        live.attach_model()
        live.refresh()
        embedder = live.embedder
        assert embedder is not None and live.vectors is not None
        assert embedder.calls == []  # type: ignore[attr-defined]
        assert len(live.vectors) == live.store.count_chunks() > 1000


@pytest.mark.parametrize("kind", DAMAGES)
async def test_the_server_answers_on_a_damaged_store(built: IndexPaths, kind: str) -> None:
    damage(built, kind)
    settings = server_settings(built.root, built.base)
    async with connected(settings) as client:
        out = await call(client, "search_code", query="add url rule", k=3, mode="lexical")
        assert out["results"]
        symbol = await call(client, "get_symbol", name="add_url_rule")
        assert symbol["symbols"]


def test_a_damaged_cache_is_moved_aside_and_the_store_kept(
    built: IndexPaths, caplog: pytest.LogCaptureFixture,
) -> None:
    data = built.embeddings.read_bytes()
    built.embeddings.write_bytes(random.Random(3).randbytes(len(data)))
    with LiveIndex.open(built.root, built.base) as live:
        stats = live.refresh()
        assert stats.indexed == 0  # the store was kept
    assert "embedding cache" in caplog.text and "moved it to" in caplog.text
    assert list(built.dir.glob("embeddings.corrupt-*.duckdb"))


def test_a_cache_kept_in_the_store_is_moved_to_its_own_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb", cache_path=tmp_path / "embeddings.duckdb")
    store.put_vectors("m", [("h1", b"\x00" * 8), ("h2", b"\x01" * 8)])
    store.close()
    con = duckdb.connect(str(tmp_path / "store.duckdb"))  # the layout before the cache file
    con.execute(f"ATTACH '{tmp_path / 'embeddings.duckdb'}' AS c (READ_ONLY)")
    con.execute("CREATE TABLE embeddings AS SELECT * FROM c.embeddings")
    con.close()
    (tmp_path / "embeddings.duckdb").unlink()
    store = Store(tmp_path / "store.duckdb", cache_path=tmp_path / "embeddings.duckdb")
    assert store.cached_vectors("m", ["h1", "h2"]) == {"h1": b"\x00" * 8, "h2": b"\x01" * 8}
    assert store.query("SELECT table_name FROM duckdb_tables() WHERE table_name='embeddings' "
                       "AND database_name = current_database()") == []
    store.close()


async def test_the_server_answers_on_a_store_damaged_in_its_first_block(
    built: IndexPaths,
) -> None:
    damage(built, "first_block")
    settings = server_settings(built.root, built.base)
    async with connected(settings) as client:
        out = await call(client, "search_code", query="add url rule", k=3, mode="lexical")
        assert out["results"] and out["freshness"]["fresh"]
    assert list(built.dir.glob("store.corrupt-*.duckdb"))


def test_a_read_failing_on_damage_at_run_time_rebuilds_the_store_from_the_cache(
    built: IndexPaths,
) -> None:
    """As when a tool's query meets a damaged block the check on open did not read."""
    options = LiveOptions(embed=True, model="hashing")
    with LiveIndex.open(built.root, built.base, options) as live:
        live.attach_model()
        chunks = live.store.count_chunks()
        damaged = duckdb.Error("Corrupt database file: computed checksum 1 does not match "
                               "stored checksum 2 in block at location 12288")
        assert live.recover_if_damaged(damaged)
        assert live.reconciling  # answers are stale until the rebuild is done
        assert live.pending.wait_fresh(None, 60)
        for thread in list(live._threads):  # the rebuild, then its embedding
            thread.join(60)
        assert live.store.count_chunks() == chunks
        assert list(built.dir.glob("store.corrupt-*.duckdb"))
        assert live.vectors is not None and len(live.vectors) == chunks
        embedder = live.embedder
        assert embedder is not None and embedder.calls == []  # type: ignore[attr-defined]
        assert not live.recover_if_damaged(duckdb.Error("Binder Error: no such column"))


def test_a_write_failing_on_the_data_it_carries_is_not_taken_for_damage(tmp_path: Path) -> None:
    """A path DuckDB cannot take (a str that is not UTF-8) fails the write that carries it:
    the fault is the data, not the file. Taken for damage, it once moved the store aside and
    rebuilt it on every command, failing again."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("def alpha():\n    pass\n")
    build_index(root, tmp_path / "idx")
    with LiveIndex.open(root, tmp_path / "idx") as live:
        with pytest.raises(duckdb.Error) as caught:
            live.store.replace_skipped([(os.fsdecode(b"bad\xe9.py"), "binary", "", None, None)],
                                       full=False)
        assert not live.recover_if_damaged(caught.value)
        assert live.store.query("SELECT path FROM files") == [("a.py",)]
    assert not list((tmp_path / "idx").rglob("store.corrupt-*"))
