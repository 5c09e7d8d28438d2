"""A read that runs out of DuckDB's memory limit because other threads' queries hold it is
tried again, one retry at a time, instead of failing the tool call (the load test's
`get_symbol` errors: 50 clients on moby, `Out of Memory Error ... 122.0 MiB/122.0 MiB
used`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from indexer.core import duckdb
from indexer.store import Store
from indexer.store import db as store_db


class _Crowded:
    """A cursor whose first `fails` executions find the memory taken (as DuckDB raises it),
    recording how many retries ran at once."""

    def __init__(self, real: Any, fails: int, seen: dict[str, int]) -> None:
        self.real, self.fails, self.seen = real, fails, seen

    def execute(self, sql: str, params: Any = None) -> Any:
        self.seen["calls"] += 1
        if self.seen["calls"] <= self.fails:
            raise duckdb.OutOfMemoryException(
                "Out of Memory Error: could not allocate block of size 256.0 KiB")
        return self.real.execute(sql, params or [])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store.duckdb")
    with s.transaction() as con:
        con.execute("INSERT INTO meta VALUES ('k', 'v')")
    return s


def test_a_read_out_of_memory_is_retried_and_answers(store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "_MEMORY_RETRY_PAUSES", (0.01, 0.01, 0.01))
    seen = {"calls": 0}
    real = store.reader()
    monkeypatch.setattr(store, "reader", lambda: _Crowded(real, 2, seen))
    assert store.query("SELECT value FROM meta WHERE key = ?", ["k"]) == [("v",)]
    assert seen["calls"] == 3
    assert store.query_one("SELECT value FROM meta WHERE key = 'k'") == ("v",)


def test_a_read_that_never_fits_fails_after_its_retries(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A query larger than the limit on its own is not retried forever: DuckDB's error."""
    monkeypatch.setattr(store_db, "_MEMORY_RETRY_PAUSES", (0.01, 0.01))
    store._con.execute("SET memory_limit='16MB'")
    store._con.execute("SET temp_directory=''")  # nothing spilled to disk
    with pytest.raises(duckdb.OutOfMemoryException):
        store.query("SELECT i, count(*) FROM range(3000000) t(i) GROUP BY i")
    assert store.query("SELECT value FROM meta WHERE key = 'k'") == [("v",)]  # still answers


def test_retries_run_one_at_a_time(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "_MEMORY_RETRY_PAUSES", (0.01, 0.01, 0.01))
    inside, most = [0], [0]
    lock = threading.Lock()
    real_lock = store._memory_retry

    class Counting:
        def __enter__(self) -> None:
            real_lock.acquire()
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])

        def __exit__(self, *exc: object) -> None:
            with lock:
                inside[0] -= 1
            real_lock.release()

    monkeypatch.setattr(store, "_memory_retry", Counting())
    local = threading.local()

    def crowded() -> Any:
        if not hasattr(local, "cursor"):
            local.cursor = _Crowded(store._con.cursor(), 1, {"calls": 0})
        return local.cursor

    monkeypatch.setattr(store, "reader", crowded)
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(store.query("SELECT 1")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [[(1,)]] * 8 and most[0] == 1


def test_a_streamed_read_out_of_memory_before_its_first_row_is_retried(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-memory tables load with `stream`; a release of the store's pages
    (`Store.release_pages`) or another thread's query may take the memory in that moment."""
    monkeypatch.setattr(store_db, "_MEMORY_RETRY_PAUSES", (0.01, 0.01, 0.01))
    seen = {"calls": 0}
    real = store._con

    class Connection:
        def cursor(self) -> Any:
            cur = real.cursor()
            crowded = _Crowded(cur, 2, seen)
            crowded.fetchmany = cur.fetchmany  # type: ignore[attr-defined]
            crowded.close = cur.close  # type: ignore[attr-defined]
            return crowded

    monkeypatch.setattr(store, "_con", Connection())
    assert list(store.stream("SELECT value FROM meta WHERE key = ?", ["k"])) == [("v",)]
    assert seen["calls"] == 3


def _crowd_key_symbols(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """summarize_dir's key-symbols read (on a cursor of its own) finds DuckDB's memory taken
    the first time; the returned counter holds how many times it ran."""
    from indexer.summaries import build as summaries_build

    monkeypatch.setattr(store_db, "_MEMORY_RETRY_PAUSES", (0.01, 0.01, 0.01))
    real, calls = summaries_build.key_symbols, [0]

    def crowded(cur: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            raise duckdb.OutOfMemoryException(
                "Out of Memory Error: could not allocate block of size 256.0 KiB")
        return real(cur)

    monkeypatch.setattr(summaries_build, "key_symbols", crowded)
    return calls


async def test_a_tool_call_whose_own_cursor_ran_out_of_memory_is_run_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """summarize_dir reads on a cursor of its own, outside `Store.query`: under the load
    test (50 clients, edits) one such read found DuckDB's limit taken and the call failed.
    A tool call only reads, so it is run again whole."""
    from tests.mcp_helpers import build_index, call, connected, server_settings

    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "app.py").write_text("class Handler:\n    def handle(self):\n        pass\n")
    build_index(root, tmp_path / "index")
    calls = _crowd_key_symbols(monkeypatch)
    async with connected(server_settings(root, tmp_path / "index", embed=False)) as client:
        calls[0] = 0  # the start may have built summaries
        out = await call(client, "summarize_dir", path="pkg")
    assert calls[0] >= 2
    assert "Handler" in str(out)


def test_a_workspace_shards_tool_call_is_run_again_the_same_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace (and each Ray shard) runs its repositories' calls through the same
    `read_tool` as the single-repository server: retried whole, and a read the live index
    settles after."""
    from mcp_server.workspace import run_tool
    from tests.mcp_helpers import live_over

    calls = _crowd_key_symbols(monkeypatch)
    files = {"pkg/app.py": "class Handler:\n    def handle(self):\n        pass\n"}
    with live_over(tmp_path, files) as live:
        touched: list[bool] = []
        monkeypatch.setattr(live.quiet, "touch", lambda: touched.append(True))
        out = run_tool(live, "summarize_dir", {"path": "pkg"})
    assert calls[0] >= 2
    assert "Handler" in str(out.model_dump())
    assert touched
