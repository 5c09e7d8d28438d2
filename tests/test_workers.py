"""Crash isolation: a file that crashes a grammar (a native segfault) is skipped, not fatal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.core.workers import CRASH_REASON, WorkerPool
from indexer.disk.repo import IndexPaths, RepoIndex

FIXTURE = Path(__file__).parent / "fixtures" / "crash" / "segfault.sh"


def _crashes_the_parser() -> bool:
    code = ("import sys; from indexer.parse.treesitter import raw_parse; "
            f"[raw_parse(open({str(FIXTURE)!r}, 'rb').read(), 'bash') for _ in range(8)]")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=False,
                          cwd=Path(__file__).resolve().parent.parent)
    return proc.returncode < 0


def _boom(batch: list[int]) -> list[int]:
    """A worker function that dies like a segfaulting grammar on item 13."""
    import os

    if 13 in batch:
        os._exit(139)
    return [i * 2 for i in batch]


def test_a_dying_worker_costs_only_the_item_that_killed_it() -> None:
    pool = WorkerPool(2)
    try:
        batches = [list(range(i, i + 5)) for i in range(0, 30, 5)]
        results = list(pool.map_batches(_boom, batches, lambda item: -1))
    finally:
        pool.close()
    flat = [x for batch in results for x in batch]
    assert flat == [-1 if i == 13 else i * 2 for i in range(30)]


def test_a_file_that_segfaults_the_grammar_is_skipped_and_the_rest_indexed(
        tmp_path: Path) -> None:
    if not _crashes_the_parser():
        pytest.skip("this tree-sitter-bash build does not crash on the fixture")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(FIXTURE, repo / "hostile.sh")
    for i in range(5):
        (repo / f"mod{i}.py").write_text(f"def fn_{i}():\n    return {i}\n")
    with RepoIndex(IndexPaths.for_repo(repo, tmp_path / "idx")) as index:
        index.workers = WorkerPool(1)
        stats = index_repository(index)
        skipped = dict(index.store.query("SELECT path, reason FROM skipped"))
        indexed = {r[0] for r in index.store.query("SELECT path FROM files")}
    assert indexed >= {f"mod{i}.py" for i in range(5)}
    assert skipped.get("hostile.sh") == CRASH_REASON or "hostile.sh" in indexed
    assert stats.indexed >= 5


_KILLED_PARENT = """
import os, sys, time
from indexer.core import WorkerPool

if __name__ == "__main__":
    pool = WorkerPool(2)
    pool.warm(os.getpid)
    while len(pool._executor()._processes) < 2:
        time.sleep(0.05)
    print(" ".join(str(p) for p in pool._executor()._processes), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="Linux /proc only")
def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    """`kill -9` of a server left its parse workers blocked on the task queue for ever."""
    import os
    import signal
    import time

    script = tmp_path / "parent.py"
    script.write_text(_KILLED_PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent.parent)
    try:
        assert proc.stdout is not None
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        if proc.stdout is not None:
            proc.stdout.close()
    deadline = time.monotonic() + 60  # generous: each worker looks once a second
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {left} outlived the process that started them"


_TRACKER = """
import os, sys
from multiprocessing import resource_tracker
from indexer.core import WorkerPool, stop_resource_tracker
from indexer.core.workers import spawning


def double(batch):
    return [i * 2 for i in batch]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


if __name__ == "__main__":
    pool = WorkerPool(1)
    assert list(pool.map_batches(double, [[1, 2]], lambda item: -1)) == [[2, 4]]
    tracker = resource_tracker._resource_tracker._pid
    assert tracker and alive(tracker)
    assert not stop_resource_tracker()  # a pool is open
    pool.close()
    with spawning():
        assert not stop_resource_tracker()  # a child is being started or runs
    assert stop_resource_tracker()
    assert not alive(tracker)
    assert not stop_resource_tracker()  # not running
    assert list(pool.map_batches(double, [[3]], lambda item: -1)) == [[6]]
    again = resource_tracker._resource_tracker._pid
    assert again and again != tracker and alive(again)
    pool.close()
    assert stop_resource_tracker()
    print("ok", flush=True)
"""


def test_the_resource_tracker_stops_once_no_pool_or_child_needs_it_and_starts_again(
        tmp_path: Path) -> None:
    """multiprocessing starts a tracker process beside the first pool and keeps it for the
    parent's life (~12 MB); `stop_resource_tracker` ends it once no pool is open and no child
    is starting or running (never under a live semaphore: stopped then, it would unlink it),
    and the next pool starts a new one. In a fresh interpreter: other tests' pools would
    count."""
    script = tmp_path / "tracker.py"
    script.write_text(_TRACKER)
    proc = subprocess.run([sys.executable, "-W", "error::UserWarning", str(script)],
                          capture_output=True, text=True, timeout=300, check=False,
                          cwd=Path(__file__).resolve().parent.parent,
                          env={**os.environ,
                               "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert "leaked" not in proc.stderr


_PRINTING = """
from indexer.core import WorkerPool


def shout(batch):
    print("from a worker", batch, flush=True)
    return batch


if __name__ == "__main__":
    pool = WorkerPool(1)
    assert list(pool.map_batches(shout, [[1]], lambda item: -1)) == [[1]]
    assert pool.call(shout, [2]) == [2]
    pool.close()
"""


def test_what_a_worker_prints_goes_to_stderr_never_to_the_protocols_stdout(
        tmp_path: Path) -> None:
    """Under stdio a worker inherits the MCP protocol's stdout: a library that printed there
    (a grammar, a model loader) would break the protocol. A worker's stdout is its
    stderr."""
    script = tmp_path / "printing.py"
    script.write_text(_PRINTING)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, check=False, cwd=Path(__file__).resolve().parent.parent,
                          env={**os.environ,
                               "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "from a worker [1]" in proc.stderr and "from a worker [2]" in proc.stderr
