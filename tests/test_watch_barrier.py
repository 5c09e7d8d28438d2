"""The watch barrier: a change made right before a call that names no path is waited for.

`wait_fresh` used to wait only for the changes the watcher had reported, so a file written a
moment before a search or a symbol lookup (which name no path) was answered from the index
without it, as fresh. These tests write and ask at once, with no wait between; each fails
without the barrier (the watcher reports a change tens of milliseconds after it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import index_repository
from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from indexer.live.barrier import PREFIX, WatchBarrier

WAIT_S = 60.0  # bounds a wait that would otherwise hang; a healthy one takes milliseconds


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/a.py").write_text("def alpha():\n    return 1\n")
    return root


@pytest.fixture(params=["inside", "outside"])
def watched(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveIndex]:
    """A watching live index on a small repository, its index inside it (the default) or
    elsewhere."""
    root = _repo(tmp_path)
    index = RepoIndex(IndexPaths.for_repo(
        root, None if request.param == "inside" else tmp_path / "elsewhere"))
    index_repository(index)
    live = LiveIndex(index, LiveOptions(watch=True))
    live.start()
    try:
        assert live.ready.wait(WAIT_S)
        yield live
    finally:
        live.close()


def _symbols(live: LiveIndex) -> set[str]:
    return {name for (name,) in live.store.query("SELECT name FROM symbols")}


def test_a_file_written_just_before_the_call_is_waited_for(watched: LiveIndex) -> None:
    for i in range(5):  # each round writes and asks at once
        (watched.root / f"pkg/new_{i}.py").write_text(f"def freshly_written_{i}():\n    pass\n")
        assert watched.wait_fresh(None, WAIT_S)
        assert f"freshly_written_{i}" in _symbols(watched)


def test_an_edit_and_a_removal_just_before_the_call_are_waited_for(watched: LiveIndex) -> None:
    (watched.root / "pkg/a.py").write_text("def beta():\n    return 2\n")
    assert watched.wait_fresh(None, WAIT_S)
    assert "beta" in _symbols(watched) and "alpha" not in _symbols(watched)
    (watched.root / "pkg/a.py").unlink()
    assert watched.wait_fresh(None, WAIT_S)
    assert "beta" not in _symbols(watched)


def test_callers_at_once_are_each_waited_for_and_leave_one_file(watched: LiveIndex) -> None:
    results: list[bool] = []

    def ask(i: int) -> None:
        (watched.root / f"pkg/c_{i}.py").write_text(f"def concurrent_{i}():\n    pass\n")
        fresh = watched.wait_fresh(None, WAIT_S)
        results.append(fresh and f"concurrent_{i}" in _symbols(watched))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8
    left = list(watched.barrier.folder.glob(PREFIX + "*"))
    assert len(left) == 1  # each barrier file removes the one before
    assert not any(PREFIX in p for p in _paths(watched))  # never indexed


def _paths(live: LiveIndex) -> set[str]:
    return {p for (p,) in live.store.query("SELECT path FROM files")}


def test_closing_removes_the_barrier_file(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    index = RepoIndex(IndexPaths.for_repo(root))
    index_repository(index)
    live = LiveIndex(index, LiveOptions(watch=True))
    live.start()
    assert live.ready.wait(WAIT_S)
    assert live.wait_fresh(None, WAIT_S)
    assert list(live.barrier.folder.glob(PREFIX + "*"))
    live.close()
    assert not list(live.barrier.folder.glob(PREFIX + "*"))


def test_a_barrier_not_armed_times_out_and_one_seen_releases_its_callers(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    folder = root / ".sextant" / "v1" / "barrier"
    folder.mkdir(parents=True)
    barrier = WatchBarrier(folder, root)
    assert barrier.pass_through(0.05) is False  # no watch runs: nothing would see a file
    barrier.arm()
    done: list[bool | None] = []
    caller = threading.Thread(target=lambda: done.append(barrier.pass_through(WAIT_S)))
    caller.start()
    written = _wait_for_file(folder)
    assert barrier.note(str(written)) and not barrier.note(str(root / "pkg/a.py"))
    assert not barrier.note(str(root / "pkg" / written.name))  # named so, but not its folder
    barrier.release()
    caller.join(WAIT_S)
    assert done == [True]


def _wait_for_file(folder: Path) -> Path:
    for _ in range(6000):
        found = list(folder.glob(PREFIX + "*"))
        if found:
            return found[0]
        threading.Event().wait(0.01)
    raise AssertionError("no barrier file was written")


def test_a_snapshot_leaves_barrier_files_out(tmp_path: Path) -> None:
    from indexer.disk.snapshot import _index_files

    folder = tmp_path / "idx" / "v1" / "barrier"
    folder.mkdir(parents=True)
    (folder / f"{PREFIX}7").write_bytes(b"")
    (tmp_path / "idx" / "v1" / "store.duckdb").write_bytes(b"x")
    assert _index_files(tmp_path / "idx") == ["v1/store.duckdb"]


def test_without_a_barrier_file_named_files_are_still_waited_for(watched: LiveIndex) -> None:
    """Where no barrier file can be written, a call that names the edited file finds it
    by its stat, as before the barrier."""
    assert watched.wait_fresh(None, WAIT_S)  # the watch runs
    folder = watched.barrier.folder
    for old in folder.glob(PREFIX + "*"):
        old.unlink()
    folder.rmdir()
    folder.write_text("not a folder")  # every barrier write fails now
    (watched.root / "pkg/a.py").write_text("def gamma():\n    return 3\n")
    assert watched.wait_fresh(["pkg/a.py"], WAIT_S)
    assert "gamma" in _symbols(watched)
