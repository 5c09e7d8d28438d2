"""Crash safety: `kill -9` at any moment leaves an index that opens, and the next run
converges to exactly what a fresh index of the same tree holds.

Real `sextant index` subprocesses (and their worker processes, one process group) are
killed with SIGKILL after a seeded random delay, with edits to the tree between runs so
that both full builds and incremental updates are interrupted. Damaged store files and a
lexical index behind the store are checked directly.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository, update_paths
from indexer.disk.repo import IndexPaths, RepoIndex
from tests.conftest import REPO_ROOT
from tests.test_incremental import fresh_snapshot, snapshot

KILLS = 8
SEED = 7
Trigger = Callable[[], bool]


def start_index(root: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "mcp_server.cli", "index", str(root), "--no-embed",
           "--index-dir", str(index_dir)]
    return subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def timed_full_run(root: Path, index_dir: Path) -> float:
    started = time.monotonic()
    assert start_index(root, index_dir).wait(timeout=300) == 0
    return time.monotonic() - started


def run_then_kill(root: Path, index_dir: Path, trigger: Trigger, limit: float) -> bool:
    """Run `sextant index`; SIGKILL its process group as soon as `trigger()` is true (polled
    every millisecond) or after `limit` s. True if it was killed before it finished."""
    proc = start_index(root, index_dir)
    deadline = time.monotonic() + limit
    try:
        while proc.poll() is None and not trigger() and time.monotonic() < deadline:
            time.sleep(0.001)
    finally:  # whatever happens, the run ends here and its process is reaped
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return not finished


def triggers(paths: IndexPaths) -> dict[str, Trigger]:
    """Moments worth killing at: while the store commits (its WAL is written), and while
    tantivy commits (a new segment file before lexical.json is updated)."""
    since = time.time()
    wal = paths.store.with_name(paths.store.name + ".wal")

    def store_commit() -> bool:
        try:
            return wal.stat().st_size > 0
        except OSError:  # no WAL (or it was checkpointed away between two calls)
            return False

    def lexical_commit() -> bool:
        try:
            return any(p.stat().st_mtime > since for p in paths.lexical.iterdir()
                       if p.suffix != ".json")
        except OSError:  # not there yet, or a segment merged away while listed
            return False

    return {"store_commit": store_commit, "lexical_commit": lexical_commit,
            "time": lambda: False}


def edit_tree(root: Path, rng: random.Random, round_no: int) -> None:
    """Seeded edits big enough that the next run is interrupted mid-update: change 60
    files (3 get a new function), delete one, add one."""
    py = sorted(root.rglob("*.py"))
    for i, path in enumerate(rng.sample(py, 60)):
        extra = (f"\n\ndef crash_round_{round_no}_{path.stem}():\n    return 0\n" if i < 3
                 else f"\n# edited in round {round_no}\n")
        path.write_text(path.read_text() + extra)
    rng.choice(py).unlink()
    (root / f"added_in_round_{round_no}.py").write_text(f"def added_{round_no}():\n    pass\n")


def test_index_killed_at_random_moments_converges_to_a_fresh_index(
    copy_corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    root = copy_corpus("flask")
    paths = IndexPaths.for_repo(root, tmp_path / "idx")
    full = timed_full_run(root, tmp_path / "calibration")
    rng = random.Random(SEED)
    killed = 0
    for round_no in range(KILLS):
        kind = rng.choice(["store_commit", "lexical_commit", "time"])
        trigger = triggers(paths)[kind]
        killed += run_then_kill(root, paths.base, trigger, rng.uniform(0.2, 1.2 * full))
        with RepoIndex(paths):
            pass  # every interrupted index opens
        if round_no % 2:
            edit_tree(root, rng, round_no)
    assert killed >= KILLS // 2, "the delays never interrupted a run: raise them"
    done = subprocess.run(
        [sys.executable, "-m", "mcp_server.cli", "index", str(root), "--no-embed",
         "--index-dir", str(paths.base), "--json"],
        cwd=REPO_ROOT, capture_output=True, timeout=300, check=True)
    assert json.loads(done.stdout)["files"] > 100
    recovered = snapshot(root, paths.base)
    fresh = fresh_snapshot(root, tmp_path / "fresh")
    assert recovered.files == fresh.files
    assert recovered.symbols == fresh.symbols
    assert recovered.chunks == fresh.chunks
    assert recovered.lexical_docs == len(recovered.chunks)
    assert recovered.hits == fresh.hits


@pytest.fixture(scope="module")
def flask_index(corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("flask-crash-index")
    with RepoIndex(IndexPaths.for_repo(corpus("flask"), index_dir)) as index:
        index_repository(index)
    return index_dir


@pytest.fixture
def built(copy_corpus: Callable[[str], Path], flask_index: Path,
          tmp_path: Path) -> tuple[Path, IndexPaths]:
    """A private flask tree and a private copy of its complete index (mtimes kept)."""
    shutil.copytree(flask_index, tmp_path / "idx")
    root = copy_corpus("flask")
    return root, IndexPaths.for_repo(root, tmp_path / "idx")


def reopen_and_count(paths: IndexPaths) -> tuple[int, int, int]:
    """(files, chunks, lexical docs) after a reconcile of a reopened index."""
    with RepoIndex(paths) as index:
        index_repository(index)
        files = index.store.query_one("SELECT count(*) FROM files")
        chunks = index.store.query_one("SELECT count(*) FROM chunks")
        assert files is not None and chunks is not None
        return files[0], chunks[0], index.lexical.num_docs()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_damaged_store_is_moved_aside_and_rebuilt(
    built: tuple[Path, IndexPaths], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, paths = built
    before = reopen_and_count(paths)
    data = paths.store.read_bytes()
    damaged = {"garbage": random.Random(1).randbytes(len(data)),
               "truncated": data[: len(data) // 2], "empty": b""}[damage]
    paths.store.write_bytes(damaged)
    after = reopen_and_count(paths)
    assert after == before and after[1] == after[2]
    if damage != "empty":  # DuckDB treats an empty file as a new database
        assert "moved it to" in caplog.text
        assert list(paths.dir.glob("store.corrupt-*.duckdb"))


def test_garbage_wal_next_to_the_store_does_not_stop_it_opening(built: tuple[Path, IndexPaths]) -> None:
    _, paths = built
    before = reopen_and_count(paths)
    wal = paths.store.with_name(paths.store.name + ".wal")
    wal.write_bytes(random.Random(2).randbytes(8192))
    assert reopen_and_count(paths) == before


def test_lexical_index_behind_the_store_is_rebuilt_on_open(built: tuple[Path, IndexPaths]) -> None:
    """As if killed between the store commit and the lexical commit of an update."""
    root, paths = built
    old_lexical = paths.base / "lexical-before"
    shutil.copytree(paths.lexical, old_lexical)
    views = root / "src/flask/views.py"
    views.write_text(views.read_text() + "\n\ndef committed_before_the_crash():\n    pass\n")
    with RepoIndex(paths) as index:
        update_paths(index, ["src/flask/views.py"])
        generation = index.store.generation
    shutil.rmtree(paths.lexical)
    old_lexical.rename(paths.lexical)
    with RepoIndex(paths) as index:
        assert index.lexical.generation == generation
        chunks = index.store.query_one("SELECT count(*) FROM chunks")
        assert chunks is not None and index.lexical.num_docs() == chunks[0]
        hits = index.lexical.search("committed_before_the_crash", 5)
        assert hits and index.store.query_one(
            "SELECT f.path FROM chunks c JOIN files f USING (file_id) WHERE c.chunk_id=?",
            [hits[0][0]]) == ("src/flask/views.py",)


def test_unreadable_lexical_index_is_rebuilt_on_open(built: tuple[Path, IndexPaths]) -> None:
    _, paths = built
    for path in paths.lexical.iterdir():
        if path.name.endswith(".json") and path.name != "lexical.json":
            path.write_text("{not json")  # tantivy's meta.json
    with RepoIndex(paths) as index:
        chunks = index.store.query_one("SELECT count(*) FROM chunks")
        assert chunks is not None and index.lexical.num_docs() == chunks[0]
