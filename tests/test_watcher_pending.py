"""The watcher's pending set and its translation of raw events, without a server."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import watchfiles

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from indexer.live.pending import PendingPaths
from indexer.live.quiet import QuietTimer
from indexer.live.watcher import MASS_CHANGE, Watcher


def test_a_path_changed_again_while_its_batch_applies_stays_pending() -> None:
    pending = PendingPaths()
    pending.add(["a.py", "b.py"])
    batch = pending.take(timeout=0)
    assert batch is not None
    pending.add(["a.py"])  # edited again mid-apply
    pending.done(batch)
    assert pending() == {"a.py"}


def test_wait_fresh_times_out_on_pending_paths_and_ignores_others() -> None:
    pending = PendingPaths()
    pending.add(["src/a.py"])
    assert not pending.wait_fresh({"src"}, timeout=0.01)
    assert not pending.wait_fresh({"src/a.py"}, timeout=0.01)
    assert pending.wait_fresh({"docs"}, timeout=0.01)
    assert not pending.wait_fresh(None, timeout=0.01)


def test_wait_fresh_wakes_when_another_thread_applies_the_batch() -> None:
    pending = PendingPaths()
    pending.add(["a.py"])
    batch = pending.take(timeout=0)
    assert batch is not None
    applier = threading.Thread(target=pending.done, args=(batch,))
    applier.start()
    assert pending.wait_fresh({"a.py"}, timeout=60)
    applier.join()


def test_a_requested_reconcile_makes_every_path_stale_until_done() -> None:
    pending = PendingPaths()
    pending.add([".gitignore"], reconcile=True)
    assert not pending.wait_fresh({"anything.py"}, timeout=0.01)
    batch = pending.take(timeout=0)
    assert batch is not None and batch.reconcile
    pending.done(batch)
    assert pending.wait_fresh({"anything.py"}, timeout=0) and not pending.reconciling


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[Watcher]:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/a.py").write_text("def a():\n    pass\n")
    (root / "pkg/b.py").write_text("def b():\n    pass\n")
    (root / ".gitignore").write_text("build/\n")
    index = RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))
    index_repository(index)
    with LiveIndex(index) as live:
        yield Watcher(live, threading.Event())


def events(w: Watcher, *rels: str) -> set[tuple[watchfiles.Change, str]]:
    return {(watchfiles.Change.modified, str(w.root / r)) for r in rels}


def test_a_vanished_directory_stands_for_every_indexed_file_under_it(watcher: Watcher) -> None:
    for name in ("a.py", "b.py"):
        (watcher.root / "pkg" / name).unlink()
    (watcher.root / "pkg").rmdir()
    watcher.on_changes(events(watcher, "pkg"))
    assert watcher.pending() == {"pkg/a.py", "pkg/b.py"} and not watcher.pending.reconciling


def test_a_directory_moved_in_stands_for_the_files_under_it(watcher: Watcher) -> None:
    (watcher.root / "new/deep").mkdir(parents=True)
    (watcher.root / "new/deep/c.py").write_text("x = 1\n")
    (watcher.root / "new/build").mkdir()
    (watcher.root / "new/build/ignored.py").write_text("x = 2\n")
    watcher.on_changes(events(watcher, "new"))
    assert watcher.pending() == {"new/deep/c.py"}


def test_a_directory_moved_in_stands_for_none_of_its_names_that_are_not_utf8(
        watcher: Watcher) -> None:
    new = os.fsencode(watcher.root / "new")
    os.makedirs(new + b"/d\xe9r")
    for name in (b"/ok.py", b"/bad\xe9.py", b"/d\xe9r/in.py"):
        with open(new + name, "wb") as f:
            f.write(b"x = 1\n")
    watcher.on_changes(events(watcher, "new"))
    assert watcher.pending() == {"new/ok.py"}
    watcher.live.apply(sorted(watcher.pending()), set(), reconcile=False)
    assert watcher.live.store.query("SELECT path FROM files WHERE path LIKE 'new/%'") == [
        ("new/ok.py",)]


def test_ignored_paths_never_indexed_are_not_pending(watcher: Watcher) -> None:
    (watcher.root / "build").mkdir()
    (watcher.root / "build/out.py").write_text("x = 1\n")
    watcher.on_changes(events(watcher, "build/out.py", "build"))
    assert watcher.pending() == set()


def test_ignore_file_edit_and_branch_switch_request_a_reconcile(watcher: Watcher) -> None:
    watcher.on_changes(events(watcher, ".gitignore"))
    assert watcher.pending.reconciling
    watcher.pending.done(watcher.pending.take(0) or pytest.fail("nothing pending"))
    fresh = Watcher(watcher.live, watcher.stop)
    fresh.on_changes(events(fresh, ".git/HEAD"))
    assert fresh.pending.reconciling


def test_git_internals_and_the_index_dir_are_filtered_out(watcher: Watcher, tmp_path: Path) -> None:
    assert not watcher._keep(watchfiles.Change.modified, str(watcher.root / ".git/index"))
    assert watcher._keep(watchfiles.Change.modified, str(watcher.root / ".git/HEAD"))
    assert not watcher._keep(watchfiles.Change.added, str(tmp_path / "idx/v1/store.duckdb"))
    assert watcher._keep(watchfiles.Change.added, str(watcher.root / "pkg/a.py"))


def test_a_mass_change_is_coalesced_into_one_reconcile(watcher: Watcher) -> None:
    rels = [f"gen/m{i}.py" for i in range(MASS_CHANGE + 1)]
    (watcher.root / "gen").mkdir()
    for rel in rels:
        (watcher.root / rel).write_text("x = 1\n")
    watcher.on_changes(events(watcher, *rels))
    assert watcher.pending.reconciling and len(watcher.pending()) == len(rels)


def test_wait_fresh_without_a_watcher_reports_current_freshness(watcher: Watcher) -> None:
    assert watcher.live.wait_fresh(["pkg/a.py"], 0.01)


def test_a_path_newly_ignored_is_pending_for_removal_and_removed_once(watcher: Watcher) -> None:
    (watcher.root / "pkg/.gitignore").write_text("b.py\n")
    watcher.live.ignore_rules().invalidate_all()
    watcher.on_changes(events(watcher, "pkg/b.py"))
    assert watcher.pending() == {"pkg/b.py"}
    batch = watcher.pending.take(0)
    assert batch is not None
    watcher.live.apply([], {"pkg/b.py"}, reconcile=False)
    watcher.pending.done(batch)
    paths = {r[0] for r in watcher.live.store.query("SELECT path FROM files")}
    assert "pkg/a.py" in paths and "pkg/b.py" not in paths


def test_a_pending_directory_makes_the_files_under_it_stale() -> None:
    pending = PendingPaths()
    pending.add(["src"])
    assert not pending.wait_fresh({"src/a.py"}, timeout=0.01)
    assert pending.wait_fresh({"docs/x.md"}, timeout=0.01)


def test_the_live_index_settles_once_when_the_edits_stop(watcher: Watcher) -> None:
    """A run of edits leaves DuckDB's pages and the heap's free pages behind; once no batch
    has come for the quiet time the live index gives them back, once per run."""
    from indexer.live import watcher as watcher_module

    settled: list[float] = []
    done = threading.Event()
    live = watcher.live
    real = live.settle

    def settle() -> None:
        real()
        settled.append(1.0)
        done.set()

    live.quiet = QuietTimer(settle, watcher.stop, after_s=0.3)  # what `start` runs
    live.root_identity = watcher_module.root_identity(watcher.root)  # what `run` attaches
    live.ready.set()
    applier = threading.Thread(target=watcher.apply_loop)
    settler = threading.Thread(target=live.quiet.run)
    applier.start()
    settler.start()
    try:
        assert not done.wait(1.0), "settled with no edit applied"
        (watcher.root / "pkg/a.py").write_text("def a2():\n    pass\n")
        watcher.pending.add(["pkg/a.py"])
        assert done.wait(60), "never settled after the batch"
        assert watcher.pending() == set()
        assert live.store.query("SELECT count(*) FROM symbols WHERE name = 'a2'")[0][0] == 1
        assert not watcher.stop.wait(1.0)
        assert len(settled) == 1
    finally:
        watcher.stop.set()
        live.quiet.wake()
        applier.join(timeout=60)
        settler.join(timeout=60)
