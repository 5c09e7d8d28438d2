"""A serving process recycles DuckDB's connection when it settles (`Store.recycle`): the
database lets go of what its reads and writes built up (moby: 4-5 MB after a run of edits),
and no read in flight ever sees its cursor closed under it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.core import duckdb
from indexer.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.duckdb")
    with s.transaction() as con:
        con.execute("CREATE TABLE big AS SELECT i, md5(i::VARCHAR) AS h FROM range(400000) t(i)")
    yield s
    s.close()


def _duckdb_kb(store: Store) -> int:
    return int(store.query("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")[0][0]) // 1024


def test_a_recycled_connection_answers_the_same_and_holds_less(store: Store) -> None:
    before = store.query("SELECT count(*), max(h) FROM big WHERE i % 7 = 3")
    held = _duckdb_kb(store)
    old = store.reader()

    assert store.recycle()

    assert store.reader() is not old  # this thread's cursor replaced on its next read
    assert store.query("SELECT count(*), max(h) FROM big WHERE i % 7 = 3") == before
    assert _duckdb_kb(store) < held
    with store.transaction() as con:  # writes go on, on the new connection
        con.execute("INSERT INTO big VALUES (400000, 'x')")
    assert store.query("SELECT count(*) FROM big") == [(400001,)]


def test_no_recycle_while_a_read_is_in_and_reads_started_meanwhile_wait(store: Store) -> None:
    reading, done = threading.Event(), threading.Event()
    rows: list[object] = []

    def long_read() -> None:
        with store.reading() as cur:
            cur.execute("SELECT i FROM big ORDER BY i")
            reading.set()
            assert done.wait(60)
            rows.extend(cur.fetchall())

    reader = threading.Thread(target=long_read)
    reader.start()
    assert reading.wait(60)
    assert not store.recycle()  # the read's cursor stays open
    done.set()
    reader.join(60)
    assert len(rows) == 400000
    assert store.recycle()


def test_reads_of_many_threads_across_recycles_never_fail(store: Store) -> None:
    """Queries, streams and snapshots of eight threads while the connection is recycled
    over and over: every read answers in full."""
    stop = threading.Event()
    errors: list[BaseException] = []
    counts: list[int] = []

    def reads() -> None:
        try:
            while not stop.is_set():
                counts.append(store.query("SELECT count(*) FROM big")[0][0])
                counts.append(sum(1 for _ in store.stream("SELECT i FROM big WHERE i < 5000")))
                with store.snapshot() as cur:
                    counts.append(cur.execute("SELECT count(*) FROM big").fetchall()[0][0])
                time.sleep(0.005)  # gaps where no read is in, as between tool calls
        except duckdb.Error as exc:  # a cursor closed under a read: reported below
            errors.append(exc)

    threads = [threading.Thread(target=reads) for _ in range(8)]
    for t in threads:
        t.start()
    recycled = 0
    deadline = time.monotonic() + 120  # generous: recycles happen in the readers' gaps
    while recycled < 20 and time.monotonic() < deadline:
        recycled += store.recycle()
        time.sleep(0.001)
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert recycled == 20
    assert counts and set(counts) <= {400000, 5000}


def test_a_closed_store_is_not_opened_again(tmp_path: Path) -> None:
    """A settle that comes after the store closed (a server stopping) leaves it closed:
    no connection holding the database's lock after the process let it go."""
    s = Store(tmp_path / "store.duckdb")
    s.close()
    assert not s.recycle()
    again = Store(tmp_path / "store.duckdb")  # the file is free
    assert again.query("SELECT count(*) FROM meta")[0][0] >= 1
    again.close()


def test_a_store_closed_while_its_connection_is_opened_again_ends_closed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`close` (a server stopping once its threads' bounded join has passed) can come while
    a settle's recycle opens the new connection: that connection is closed too, not left
    holding the database after the process let it go."""
    s = Store(tmp_path / "store.duckdb")
    connect = Store._connect

    def connect_then_close(self: Store) -> duckdb.DuckDBPyConnection:
        con = connect(self)
        self.close()  # what the stopping thread does meanwhile
        return con

    monkeypatch.setattr(Store, "_connect", connect_then_close)
    s.recycle()
    monkeypatch.undo()
    with pytest.raises(duckdb.ConnectionException):
        s._con.execute("SELECT 1")
