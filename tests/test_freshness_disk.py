"""An answer's freshness is checked against the files on disk, not only against what a
watcher has reported.

A user-style test found answers marked fresh that were not: with `--no-watch`, after an edit
`get_symbol` read the new file at the old lines (the wrong body) and said `fresh: true`, and
`wait_fresh` changed nothing; right after a server started, its first answers came from the
index as saved, before the reconcile on start had brought in what changed meanwhile, and
said fresh too. Each test here fails without the stat check, the wait for that reconcile,
or the no-watch refresh."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import index_repository
from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from tools.symbols import get_symbol

WAIT_S = 60.0  # bounds a wait that would otherwise hang; a healthy one takes milliseconds


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/hello.py").write_text("def greet():\n    return 'hi'\n")
    return root


def _live(root: Path, watch: bool) -> LiveIndex:
    index = RepoIndex(IndexPaths.for_repo(root))
    index_repository(index)
    return LiveIndex(index, LiveOptions(watch=watch, embed=False, static=False,
                                        history=False))


@pytest.fixture
def unwatched(tmp_path: Path) -> Iterator[LiveIndex]:
    live = _live(_repo(tmp_path), watch=False)
    live.start()
    try:
        assert live.ready.wait(WAIT_S)
        yield live
    finally:
        live.close()


def test_without_a_watcher_an_edited_file_makes_the_answer_stale(unwatched: LiveIndex) -> None:
    (unwatched.root / "pkg/hello.py").write_text(
        "import os\n\n\ndef greet():\n    return os.sep\n")
    got = get_symbol(unwatched, "greet")
    assert got.symbols[0].start_line == 1  # still the index's lines...
    assert not got.freshness.fresh  # ...and it says so
    assert got.freshness.pending_files == ["pkg/hello.py"]


def test_without_a_watcher_wait_fresh_indexes_the_files_asked_about(
        unwatched: LiveIndex) -> None:
    (unwatched.root / "pkg/hello.py").write_text(
        "import os\n\n\ndef greet():\n    return os.sep\n")
    assert unwatched.wait_fresh(["pkg/hello.py"], WAIT_S)
    got = get_symbol(unwatched, "greet")
    assert got.symbols[0].start_line == 4
    assert got.freshness.fresh


def test_a_file_gone_from_disk_makes_the_answer_stale(unwatched: LiveIndex) -> None:
    (unwatched.root / "pkg/hello.py").unlink()
    got = get_symbol(unwatched, "greet")
    assert not got.freshness.fresh
    assert got.freshness.pending_files == ["pkg/hello.py"]


def test_answers_before_the_reconcile_on_start_are_stale_and_wait_fresh_waits_for_it(
        tmp_path: Path) -> None:
    root = _repo(tmp_path)
    live = _live(root, watch=False)
    # written while no server ran: only the reconcile on start brings it in
    (root / "pkg/later.py").write_text("def written_while_stopped():\n    pass\n")
    seen: list[tuple[bool, bool]] = []

    def ask() -> None:
        fresh = live.wait_fresh(None, WAIT_S)
        found = bool(get_symbol(live, "written_while_stopped").symbols)
        seen.append((fresh, found))

    live.write_lock.acquire()  # holds the reconcile on start back
    try:
        live.start()
        assert not live.ready.is_set()
        assert not get_symbol(live, "greet").freshness.fresh
        waiter = threading.Thread(target=ask)
        waiter.start()
        waiter.join(0.5)  # it waits for the reconcile, which cannot run yet
        assert not seen
    finally:
        live.write_lock.release()
    try:
        waiter.join(WAIT_S)
        assert seen == [(True, True)]
        assert get_symbol(live, "greet").freshness.fresh
    finally:
        live.close()


def test_a_file_touched_and_brought_up_to_date_is_fresh_again(unwatched: LiveIndex) -> None:
    """Its content did not change: the index records its new stat without a new generation
    (`Store.touch_file`), so the check reads the store, not only the tables of the last
    generation."""
    path = unwatched.root / "pkg/hello.py"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert not get_symbol(unwatched, "greet").freshness.fresh
    generation = unwatched.generation
    assert unwatched.wait_fresh(["pkg/hello.py"], WAIT_S)
    assert unwatched.generation == generation  # nothing new was written...
    assert get_symbol(unwatched, "greet").freshness.fresh  # ...and the answer is fresh
