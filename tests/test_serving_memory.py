"""What keeps a serving process's memory bounded and its readers from waiting on reloads:
the per-generation table caches hold one value per store, and a reader never waits for
another thread's reload of a newer generation (it gets the last loaded one)."""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.graph import graph_tables
from indexer.store import GenerationCache, Store, search_tables
from indexer.store.lookup import _load
from tests.traced import traced_bytes


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.duckdb")


def test_a_reader_gets_the_last_tables_while_another_thread_loads_a_newer_generation(
        tmp_path: Path) -> None:
    store = _store(tmp_path)
    entered, release = threading.Event(), threading.Event()

    def load(_store: Store, key: tuple[int, str | None]) -> tuple[int, str | None]:
        if key[1] == "2":
            entered.set()
            release.wait(60)
        return key

    cache: GenerationCache[tuple[int, str | None]] = GenerationCache(load)
    first = cache.get(store)
    store.set_meta("graph_generation", "2")
    loader = threading.Thread(target=cache.get, args=(store,))
    loader.start()
    assert entered.wait(60)
    got: list[tuple[int, str | None]] = []
    reader = threading.Thread(target=lambda: got.append(cache.get(store)))
    reader.start()
    reader.join(60)  # it would wait for the load (released only below) without the change
    release.set()
    loader.join(60)
    assert got == [first]
    assert cache.get(store) == (store.generation, "2")
    store.close()


def test_the_writer_waits_for_the_newer_tables_and_other_stores_load_apart(
        tmp_path: Path) -> None:
    """`wait=True` (the live index after a write, before its paths count as fresh) gets the
    new generation's value even while another thread loads it, and a load for one store
    does not hold up another store of the same process (workspaces)."""
    store, other = _store(tmp_path), Store(tmp_path / "other.duckdb")
    entered, release = threading.Event(), threading.Event()

    def load(s: Store, key: tuple[int, str | None]) -> tuple[int, str | None]:
        if s is store and key[1] == "2":
            entered.set()
            release.wait(60)
        return key

    cache: GenerationCache[tuple[int, str | None]] = GenerationCache(load)
    cache.get(store)
    cache.get(other)
    store.set_meta("graph_generation", "2")
    other.set_meta("graph_generation", "5")
    loader = threading.Thread(target=cache.get, args=(store,))
    loader.start()
    assert entered.wait(60)
    assert cache.get(other, wait=True) == (other.generation, "5")  # not blocked by `store`
    got: list[tuple[int, str | None]] = []
    writer = threading.Thread(target=lambda: got.append(cache.get(store, wait=True)))
    writer.start()
    writer.join(0.5)
    assert writer.is_alive()  # waiting for the load in flight, not taking the old value
    release.set()
    writer.join(60)
    loader.join(60)
    assert got == [(store.generation, "2")]
    store.close()
    other.close()


def test_the_table_caches_keep_one_generation_per_store(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    from indexer.graph.tables import _TABLES, GraphTables
    from indexer.store.lookup import _CACHE, SearchTables

    index = RepoIndex(IndexPaths.for_repo(corpus("flask"), tmp_path / "idx"))
    index_repository(index)
    store = index.store
    try:
        keys = []
        for n in range(5):  # five index updates, each a new generation
            store.set_meta("graph_generation", f"g{n}")
            tables = (search_tables(store), graph_tables(store))
            keys.append(tables[0].key)
            assert tables[0].key == tables[1].key == (store.generation, f"g{n}")
            del tables
        gc.collect()
        # the caches hold this store's last generation only (other tests' stores in this
        # worker may still hold their own entry; they are not counted)
        assert _CACHE._values[store][0] == _TABLES._values[store][0] == keys[-1]
        old = set(keys[:-1])
        alive = [o for o in gc.get_objects()
                 if isinstance(o, (SearchTables, GraphTables)) and o.key in old]
        assert alive == []
    finally:
        index.close()


def test_a_reload_keeps_the_rows_of_files_an_update_left_alone_as_the_same_objects(
        tmp_path: Path) -> None:
    """A reload after an edit builds the next generation while the last one is alive; the
    graph tables' rows read again are the last generation's objects, so an edit does not
    copy every row beside itself (the copies' arenas stayed partly used once freed); the
    search tables hold their rows as columns, read as before; the edited file's rows are
    new and say what the file now holds."""
    from indexer.build import update_paths

    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "kept.py").write_text(
        'def parse(text):\n    """Split the text."""\n    return text.split()\n\n\n'
        "class Reader:\n    def read(self):\n        return parse('a b')\n")
    (root / "pkg" / "user.py").write_text("from pkg.kept import Reader\n\nREADER = Reader()\n")
    edited = root / "pkg" / "edited.py"
    edited.write_text("from pkg.kept import parse\n\n\ndef first():\n    return parse('x')\n")
    index = RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))
    index_repository(index)
    try:
        store = index.store
        old_search, old_graph = search_tables(store), graph_tables(store)
        kept = next(f for f, (p, _) in old_search.files.items() if p == "pkg/kept.py")
        edited.write_text("from pkg.kept import Reader\n\n\ndef second():\n    return Reader()\n")
        update_paths(index, ["pkg/edited.py"])
        search, graph = search_tables(store), graph_tables(store)
        assert search.key != old_search.key and graph.key != old_graph.key

        assert search.members[kept] == old_search.members[kept]
        assert search.symbols["parse"] == old_search.symbols["parse"]
        for key in (("pkg/kept.py", "parse"), ("pkg/kept.py", "Reader.read")):
            assert graph.by_qualname[key][0] is old_graph.by_qualname[key][0]
        (edge,) = graph.out_edges["pkg/user.py"]
        assert edge[0] == "pkg/kept.py" and edge is old_graph.out_edges["pkg/user.py"][0]
        users = {e[0]: e for e in graph.in_file["pkg/kept.py"]}
        assert users["pkg/user.py"] is {e[0]: e for e in old_graph.in_file["pkg/kept.py"]}[
            "pkg/user.py"]

        assert "first" not in search.symbols
        assert ("pkg/edited.py", "first") not in graph.by_qualname
        assert [r[2] for r in search.symbols["second"]] == ["second"]
        assert graph.by_qualname[("pkg/edited.py", "second")][0].path == "pkg/edited.py"
    finally:
        index.close()


def test_token_counting_many_distinct_texts_keeps_its_caches_within_their_budgets() -> None:
    from indexer.core import count_tokens_after, count_tokens_lines, tokens

    for i in range(3000):  # ~3 MB of distinct text, more than the caches may keep
        text = "".join(f"    value_{i}_{j} = compute({i}, {j})\n" for j in range(30))
        count_tokens_lines(text)
        count_tokens_after("# a head", text)
    assert tokens._segments.chars <= tokens._segments._max_chars
    assert tokens._tails.chars <= tokens._tails._max_chars
    assert tokens._texts.chars <= tokens._texts._max_chars


def test_search_tables_hold_each_chunk_in_a_few_dozen_bytes(tmp_path: Path) -> None:
    """A serving process holds every chunk's file, lines, symbol and kind (moby: 38k chunks),
    reloaded after every index update; as a dict of tuples plus per-file lists they took
    ~280 bytes a chunk and left holes in the heap at each reload."""
    root = tmp_path / "repo"
    root.mkdir()
    for f in range(60):  # text files: many window chunks, no symbols
        (root / f"notes_{f}.txt").write_text("".join(
            f"line {i} of note {f}: some words here\n" + ("\n" if i % 5 == 4 else "")
            for i in range(3000)))
    index = RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))
    try:
        index_repository(index)
        rows = index.store.query(
            "SELECT c.chunk_id, c.file_id, c.start_line, c.end_line, c.symbol, c.kind "
            "FROM chunks c ORDER BY c.chunk_id")
        assert len(rows) > 5000
        tables = _load(index.store, (0, None))
        assert {r[0]: tuple(r[1:]) for r in rows} == dict(tables.chunks.items())
        cid, fid, start, _end, _s, _k = rows[len(rows) // 2]
        assert tables.chunk_at(fid, start) == cid
    finally:
        index.close()
    held = traced_bytes(root, tmp_path / "idx", "indexer.store.lookup:_load")  # own process
    assert 8 < held / len(rows) < 80, f"{held / len(rows):.0f} bytes per chunk"


def _anonymous_mb() -> float:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no Anonymous line")


def test_memory_a_large_query_freed_goes_back_to_the_system(tmp_path: Path) -> None:
    """A lexical compaction sorts every chunk's text inside DuckDB; a serving process must not
    keep those pages once the query is done (they stayed, +50-120 MB on moby, until DuckDB
    next allocated)."""
    store = _store(tmp_path)
    try:
        with store.transaction() as con:
            con.execute("CREATE TABLE big AS SELECT i, repeat(md5(i::VARCHAR), 6) AS text "
                        "FROM range(300000) t(i)")  # ~60 MB of text
        before = _anonymous_mb()
        cur = store.reader()
        cur.execute("SELECT i, text FROM big ORDER BY text")
        while cur.fetchmany(4096):
            pass
        grown = _anonymous_mb() - before
        deadline = time.monotonic() + 60  # generous: the purge runs within seconds
        while _anonymous_mb() - before > 16 and time.monotonic() < deadline:
            time.sleep(0.5)  # polling the allocator's background purge
        assert grown > 16, f"the query grew the heap by {grown:.0f} MB only"
        assert _anonymous_mb() - before <= 16, f"{_anonymous_mb() - before:.0f} MB kept"
    finally:
        store.close()


def _duckdb_cached_mb(store: Store) -> float:
    return sum(r[0] for r in store.query(
        "SELECT memory_usage_bytes FROM duckdb_memory()")) / 2**20


def test_release_pages_gives_back_what_duckdb_cached_and_the_store_reads_on(
        tmp_path: Path) -> None:
    """After a run of edits a serving process held 20-30 MB of DuckDB's cached pages on moby
    (kept until its memory limit needed them); the watcher now releases them once idle."""
    store = _store(tmp_path)
    try:
        with store.transaction() as con:
            con.execute("CREATE TABLE big AS SELECT i, repeat(md5(i::VARCHAR), 4) AS text "
                        "FROM range(200000) t(i)")
        store.close()
        store = _store(tmp_path)  # reads from the file's blocks, not what the write left
        limit = store.query("SELECT current_setting('memory_limit')")[0][0]
        assert store.query("SELECT count(DISTINCT text) FROM big")[0][0] == 200000
        cached = _duckdb_cached_mb(store)
        store.release_pages()
        released = _duckdb_cached_mb(store)
        assert cached >= 8, f"the scan cached {cached:.1f} MB only"
        assert released <= 4, f"{cached:.1f} -> {released:.1f} MB"
        assert store.query("SELECT current_setting('memory_limit')")[0][0] == limit
        assert store.query("SELECT count(*) FROM big WHERE i % 2 = 0")[0][0] == 100000
    finally:
        store.close()


def test_release_pages_gives_back_what_writes_not_yet_checkpointed_hold(tmp_path: Path) -> None:
    """A run of edits leaves what it wrote in DuckDB's memory until a checkpoint writes it
    to the file (the write-ahead log checkpoints itself at 16 MB): pinned, so lowering the
    limit could not evict it, and a moby server kept ~10 MB of it after the edits stopped.
    Releasing checkpoints first."""
    store = _store(tmp_path)
    try:
        with store.transaction() as con:
            con.execute("CREATE TABLE big (i BIGINT PRIMARY KEY, text VARCHAR)")
        for b in range(20):  # small transactions, as a watcher's batches are
            with store.transaction() as con:
                con.execute("INSERT INTO big SELECT i, repeat(md5(i::VARCHAR), 4) "
                            "FROM range(?, ?) t(i)", [b * 2000, b * 2000 + 2000])
                con.execute("UPDATE big SET text = text || 'x' WHERE i % 5 = ? AND i < ?",
                            [b % 5, b * 2000])
                con.execute("DELETE FROM big WHERE i % 97 = ? AND i < ?", [b, b * 2000])
        wal = tmp_path / "store.duckdb.wal"
        logged = wal.stat().st_size if wal.exists() else 0
        rows = store.query("SELECT count(*), sum(length(text)) FROM big")[0]
        cached = _duckdb_cached_mb(store)
        store.release_pages()
        released = _duckdb_cached_mb(store)
        assert logged > 4 << 20 and cached >= 12, f"log {logged} B, cached {cached:.1f} MB"
        assert released <= 4, f"{cached:.1f} -> {released:.1f} MB"
        assert not wal.exists() or wal.stat().st_size < logged / 10
        assert store.query("SELECT count(*), sum(length(text)) FROM big")[0] == rows
    finally:
        store.close()


class _Lexical:
    deleted = 3

    def deleted_docs(self) -> int:
        return self.deleted


class _Compactable:
    """What a compactor reads of a repository index: a lexical index holding deleted
    documents until `compact_lexical` (which runs `during` first) drops them."""

    def __init__(self, during: Callable[[], None] = lambda: None) -> None:
        self.lexical = _Lexical()
        self._during = during

    def compact_lexical(self, _stop: Callable[[], bool]) -> bool:
        self._during()
        self.lexical.deleted = 0
        return True


def test_a_compaction_is_followed_by_its_after_hook_the_live_index_settling() -> None:
    """A lexical compaction sorts every chunk's text in DuckDB; the live index settles after
    it (`LiveIndex.settle` is the hook it passes), as after a run of edits."""
    from indexer.live.compaction import Compactor

    index, stop, settled = _Compactable(), threading.Event(), threading.Event()
    compactor = Compactor(lambda: index, lambda: False, stop, quiet_s=0.01,
                          after=settled.set)
    runner = threading.Thread(target=compactor.run)
    runner.start()
    try:
        assert settled.wait(60)
        assert compactor.compactions == 1
    finally:
        stop.set()
        compactor.changed()
        runner.join(60)


def test_after_a_slow_compaction_the_next_waits_for_a_longer_quiet_spell() -> None:
    """Under steady edits (moby, 5 a second) a full lexical rebuild (1.6 s) ran in most gaps
    between writes, a fifth of the CPU the server spent on the edits, for statistics the
    next write made stale. Writes must now have been quiet for `COST_FACTOR` times the last
    compaction's duration (and `quiet_s`) before the next one starts."""
    from indexer.live.compaction import COST_FACTOR, Compactor

    starts: list[float] = []
    done = threading.Semaphore(0)

    def slowly() -> None:
        starts.append(time.monotonic())
        time.sleep(0.25)
        done.release()

    index, stop = _Compactable(slowly), threading.Event()
    compactor = Compactor(lambda: index, lambda: False, stop, quiet_s=0.01)
    runner = threading.Thread(target=compactor.run)
    runner.start()
    try:
        assert done.acquire(timeout=60)
        assert compactor.quiet_needed_s() >= COST_FACTOR * 0.25
        index.lexical.deleted = 3  # a write
        written = time.monotonic()
        compactor.changed()
        assert done.acquire(timeout=60)
        assert starts[1] - written >= COST_FACTOR * 0.25, starts[1] - written
    finally:
        stop.set()
        compactor.changed()
        runner.join(60)


_ARENA_TOP = r"""
import sys, threading
import numpy as np
from indexer.core import configure_heap, trim_heap

def anonymous_mb():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "configured":
    assert configure_heap()
big = np.ones((30 << 20) // 8)  # freed, a 30 MB mapping raises glibc's thresholds
del big
before = anonymous_mb()
started, filled = threading.Barrier(4), threading.Barrier(4)

def work():  # as the embedding and index-writing threads do: each has an arena of its own
    started.wait()
    arrays = [np.ones((3 << 20) // 8) for _ in range(10)]
    filled.wait()
    while arrays:
        arrays.pop()

threads = [threading.Thread(target=work) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
trim_heap()
print(anonymous_mb() - before)
"""


def _arena_top_kept_mb(mode: str) -> float:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    out = subprocess.run([sys.executable, "-c", _ARENA_TOP, mode], capture_output=True,
                         text=True, env=env, timeout=120, check=True)
    return float(out.stdout.strip())


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="Linux /proc only")
def test_arrays_a_thread_freed_go_back_to_the_system_with_the_heap_configured() -> None:
    """A server's embedding and writing threads free arrays of some MB; glibc's moving
    thresholds kept them resident at the top of each thread's arena, beyond `malloc_trim`'s
    reach (150-230 MB on moby after 30 s of edits). `configure_heap` fixes the thresholds."""
    kept = _arena_top_kept_mb("default")
    if kept < 20:
        pytest.skip(f"this C library gave the arena's top back by itself ({kept:.0f} MB kept)")
    assert _arena_top_kept_mb("configured") < 8


_ARENAS = r"""
import ctypes, os, sys, tempfile, threading
import numpy as np
from indexer.core import configure_heap

if sys.argv[1] == "configured":
    assert configure_heap()
held, done = threading.Barrier(9), threading.Barrier(9)

def work():  # a tool call's thread: small arrays, from its arena
    arrays = [np.ones(4096) for _ in range(64)]
    held.wait()
    done.wait()

threads = [threading.Thread(target=work) for _ in range(8)]
for thread in threads:
    thread.start()
held.wait()
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
fd, path = tempfile.mkstemp()
stream = libc.fdopen(fd, b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
done.wait()
print(open(path).read().count("<heap nr="))
os.unlink(path)
"""


def _arenas_of_eight_threads(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k not in (
        "GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX")}
    out = subprocess.run([sys.executable, "-c", _ARENAS, mode], capture_output=True,
                         text=True, env=env, timeout=120, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="Linux /proc only")
def test_threads_share_two_arenas_with_the_heap_configured() -> None:
    """glibc gives each new thread that allocates an arena of its own, up to 8 a core; a
    server's tool calls run in up to 40 threads, and each arena keeps its own free pages
    and fragments after a burst of calls and edits (moby's load test: 5-10 MB more after
    the calls stopped than with two arenas, docs/benchmarks.md "Load")."""
    default = _arenas_of_eight_threads("default")
    if default <= 2:
        pytest.skip(f"this C library gave eight threads {default} arenas by itself")
    assert _arenas_of_eight_threads("configured") <= 2


def test_configure_heap_leaves_thresholds_the_user_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.core import configure_heap

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert configure_heap() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")
    assert configure_heap() is False


@contextlib.contextmanager
def _running_timer(after_s: float) -> Iterator[tuple[Any, threading.Event, list[float]]]:
    """A `QuietTimer` running in its own thread, whose action records when it ran; the
    timer, an event set at each run and the times of the runs. Stopped on exit."""
    from indexer.live.quiet import QuietTimer

    stop, ran = threading.Event(), threading.Event()
    runs: list[float] = []

    def action() -> None:
        runs.append(time.monotonic())
        ran.set()

    timer = QuietTimer(action, stop, after_s=after_s)
    thread = threading.Thread(target=timer.run)
    thread.start()
    try:
        yield timer, ran, runs
    finally:
        stop.set()
        timer.wake()
        thread.join(timeout=60)
    assert not thread.is_alive()


def test_the_quiet_timer_acts_once_a_while_after_the_last_touch() -> None:
    """Each touch pushes the action back; it runs once per quiet spell, never before."""
    with _running_timer(0.5) as (timer, ran, runs):
        assert not ran.wait(1.0), "acted with nothing touched"
        last = 0.0
        for _ in range(6):  # touches 0.2 s apart: never quiet for 0.5 s
            last = time.monotonic()  # before the touch: the timer's own clock reads later
            timer.touch()
            time.sleep(0.2)
        assert ran.wait(60), "never acted after the touches stopped"
        assert runs[0] >= last + 0.5
        time.sleep(1.5)  # quiet goes on: no second run without a touch
        assert len(runs) == 1
        timer.touch()
        ran.clear()
        assert ran.wait(60)
        assert len(runs) == 2


def test_the_quiet_timer_never_acts_while_work_is_busy_however_long_it_takes() -> None:
    """A watcher batch longer than the quiet time (writing, loading the tables, embedding)
    is not a quiet spell: the action waits for its end and runs once a while after it."""
    from indexer.live import quiet

    with _running_timer(0.2) as (timer, ran, runs):
        timer.touch()
        with timer.busy():  # begins right after a touch, lasts well past after_s and a poll
            assert not ran.wait(0.2 + quiet._POLL_S + 1.0), "acted while busy"
            ended = time.monotonic()
        assert ran.wait(60), "never acted after the busy work ended"
        assert runs[0] >= ended + 0.2 - 0.01  # timed from the end, not from the touch
        assert len(runs) == 1


async def test_a_tool_call_lets_the_server_settle_once_the_calls_stop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of calls fills DuckDB's buffer pool (20 MB on moby); once the calls stop the
    live index settles, as it does after edits, so a server's memory comes back down."""
    import anyio

    from indexer.live import LiveIndex, quiet
    from tests.mcp_helpers import build_index, call, connected, server_settings

    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text("def handle_request(req):\n    return req\n")
    build_index(root, tmp_path / "index")
    monkeypatch.setattr(quiet, "SETTLE_AFTER_S", 0.3)
    settled = threading.Semaphore(0)
    real = LiveIndex.settle

    def settle(self: LiveIndex) -> None:
        real(self)
        settled.release()

    monkeypatch.setattr(LiveIndex, "settle", settle)
    async with connected(server_settings(root, tmp_path / "index", embed=False)) as client:
        # the start's reconcile is a write: its settle comes first
        assert await anyio.to_thread.run_sync(settled.acquire, True, 60)
        assert not await anyio.to_thread.run_sync(settled.acquire, True, 1.0)
        out = await call(client, "search_code", query="handle request")
        assert out["results"]
        assert await anyio.to_thread.run_sync(settled.acquire, True, 60), (
            "the live index never settled after the call")


def test_settling_forgets_the_tokens_a_lexical_rebuild_cached(tmp_path: Path) -> None:
    """A compaction's rebuild tokenizes every chunk and fills the token caches to their
    bounds (moby: 54k words and 50k runs, 20 MB); the settle after it gives them back, and
    the counts the calls' answers kept (`count_tokens_upto`) too; the index still answers."""
    from indexer.core import count_tokens_upto, tokens
    from indexer.lexical import bm25
    from tests.mcp_helpers import live_over

    files = {f"pkg/mod_{i}.py": f"def handle_request_{i}(parsedHeaderValue{i}):\n"
                                f"    return compute_total_{i}(parsedHeaderValue{i})\n"
             for i in range(40)}
    with live_over(tmp_path, files) as live:
        for text in files.values():  # what a rebuild does to each chunk
            bm25.tokenize_for_index(text)
            bm25.ident_body(text, keep=True)
        assert bm25._split_word.cache_info().currsize > 40
        assert len(bm25._run_parts) > 40
        assert bm25._bodies.chars > 0
        count_tokens_upto("".join(files.values()), 10 ** 6)
        assert tokens._answer_parts.chars > 0
        live.settle()
        assert tokens._answer_parts.chars == 0
        assert bm25._split_word.cache_info().currsize == 0
        assert len(bm25._run_parts) == 0
        assert bm25._bodies.chars == 0
        hits = live.index.lexical.search("handle request 7", 5)
        assert hits


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="Linux /proc only")
def test_file_pages_released_are_those_of_read_only_shared_mappings_under_the_directory(
        tmp_path: Path) -> None:
    """What tantivy maps of its segments is released, read again intact; a private mapping
    (changes of its own) and a file outside the directory are left alone."""
    import mmap

    from indexer.core import release_file_mappings
    from tests.traced import resident_kb_of

    inside, outside = tmp_path / "lexical", tmp_path / "other"
    inside.mkdir()
    outside.mkdir()
    data = os.urandom(1 << 20)
    for path in (inside / "seg.idx", inside / "seg.term", outside / "seg.idx"):
        path.write_bytes(data)
    with (open(inside / "seg.idx", "rb") as a, open(inside / "seg.term", "r+b") as b,
          open(outside / "seg.idx", "rb") as c):
        shared = mmap.mmap(a.fileno(), 0, access=mmap.ACCESS_READ)
        private = mmap.mmap(b.fileno(), 0, access=mmap.ACCESS_COPY)
        elsewhere = mmap.mmap(c.fileno(), 0, access=mmap.ACCESS_READ)
    assert shared[:] == private[:] == elsewhere[:] == data  # every page read
    private[:4] = b"mine"
    assert resident_kb_of(inside / "seg.idx") >= 1000

    assert release_file_mappings(inside) >= 1 << 20

    assert resident_kb_of(inside / "seg.idx") == 0
    assert resident_kb_of(inside / "seg.term") >= 1000 and private[:4] == b"mine"
    assert resident_kb_of(outside / "seg.idx") >= 1000
    assert shared[:] == data and private[4:] == data[4:]
    # one file named: its mappings only (llama.cpp's model file), not its directory's others
    assert elsewhere[:] == data and resident_kb_of(inside / "seg.idx") >= 1000
    assert release_file_mappings(outside / "seg.idx") >= 1 << 20
    assert resident_kb_of(outside / "seg.idx") == 0
    assert resident_kb_of(inside / "seg.idx") >= 1000
    assert release_file_mappings(outside / "seg") == 0  # a name's prefix is not the file
    for mapping in (shared, private, elsewhere):
        mapping.close()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="Linux /proc only")
def test_settling_takes_the_lexical_segments_pages_searches_read_out_of_the_process(
        tmp_path: Path) -> None:
    """tantivy maps its segment files and a search reads their postings; those pages stayed
    counted in a server after the calls (moby: 5 MB of one segment's postings, still there
    35 s after 200 calls). Settling unmaps them; the answers are the same after. (The first
    settle closes the writer the build left open, whose merges read the segments too.)"""
    from indexer.lexical.bm25 import LexicalIndex
    from tests.mcp_helpers import live_over
    from tests.traced import resident_kb_under

    files = {f"pkg/mod_{i}.py": "".join(
        f"def handle_request_{i}_{j}(parsedHeaderValue{j}):\n"
        f"    return compute_total_{j % 97}(parsedHeaderValue{j}) + retry_{i}_{j}\n\n"
        for j in range(600)) for i in range(6)}
    with live_over(tmp_path, files) as live:
        lexical = live.index.lexical
        left: list[int] = []
        release = LexicalIndex.release_pages

        def segment_kb() -> int:
            return resident_kb_under(lexical.directory)

        def measured(index: LexicalIndex) -> int:
            advised = release(index)
            left.append(segment_kb())  # at once: tantivy's reader may reopen the segment
            return advised  # a moment later (a few pages of each file), as after a commit

        live.settle()
        assert lexical._writer is None
        queries = [f"handle request {i} compute total {j} retry" for i in range(6)
                   for j in range(0, 97, 7)]
        before = [lexical.search(q, 10) for q in queries]
        read = segment_kb()
        assert read > 100
        # the first settle's closing of the writer lets its merges commit; tantivy's reader
        # then reloads on its own, within a second or so, reading a few pages of the new
        # segments: a settle in that moment finds them read again. Settle until one lands
        # outside it (bounded generously for a busy machine).
        deadline = time.monotonic() + 60
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(LexicalIndex, "release_pages", measured)
            live.settle()
            while left[-1] > 8 and time.monotonic() < deadline:
                time.sleep(0.5)  # tantivy's own reload, which we do not control
                live.settle()
        assert left[-1] <= 8, (read, left)
        assert [lexical.search(q, 10) for q in queries] == before


def test_settling_closes_the_lexical_writer_and_the_next_edit_opens_it_again(
        tmp_path: Path) -> None:
    """The writer tantivy keeps between writes holds an indexing thread and what its
    segment writing allocated (moby, one process: 12 MB after 10 batches of 5 edits);
    a settled server closes it, and the next batch writes through a new one."""
    from tests.mcp_helpers import live_over

    files = {f"pkg/mod_{i}.py": f"def handle_{i}(x):\n    return x + {i}\n" for i in range(5)}
    with live_over(tmp_path, files) as live:
        root = live.index.root
        (root / "pkg/mod_1.py").write_text("def reticulate_splines(x):\n    return x\n")
        live.apply(["pkg/mod_1.py"], set(), reconcile=False)
        lexical = live.index.lexical
        assert lexical._writer is not None
        live.settle()
        assert lexical._writer is None
        (root / "pkg/mod_2.py").write_text("def frobnicate_widgets(x):\n    return x\n")
        live.apply(["pkg/mod_2.py"], set(), reconcile=False)
        assert lexical.search("frobnicate widgets", 3) and lexical.search("reticulate", 3)
        assert len(lexical.search("handle", 10)) == 3  # mod_0, mod_3, mod_4: the rest replaced


def test_settling_shuts_the_parse_workers_down_and_the_next_edit_starts_one_again(
        tmp_path: Path) -> None:
    """A server's parse workers (65-90 MB each on moby, one per core after a large batch)
    stayed for its life once a batch had started them; a settled server has none, and the
    next batch starts one and is indexed."""
    import multiprocessing

    from indexer.core import WorkerPool
    from tests.mcp_helpers import live_over
    from tools.symbols import get_symbol

    files = {f"pkg/mod_{i}.py": f"def handle_{i}(x):\n    return x + {i}\n" for i in range(3)}
    with live_over(tmp_path, files) as live:
        pool = live.index.workers = WorkerPool(1)
        root = live.index.root
        (root / "pkg/mod_1.py").write_text("def reticulate_splines(x):\n    return x\n")
        live.apply(["pkg/mod_1.py"], set(), reconcile=False)
        assert pool.running
        workers = set(pool._executor()._processes)
        assert workers

        live.settle()

        assert not pool.running
        assert not workers & {p.pid for p in multiprocessing.active_children()}
        (root / "pkg/mod_2.py").write_text("def frobnicate_widgets(x):\n    return x\n")
        live.apply(["pkg/mod_2.py"], set(), reconcile=False)
        assert pool.running
        assert [s.name for s in get_symbol(live, "frobnicate_widgets").symbols] == [
            "frobnicate_widgets"]
        assert [s.name for s in get_symbol(live, "reticulate_splines").symbols] == [
            "reticulate_splines"]


def test_settling_opens_the_stores_connection_again_and_the_tools_answer_the_same(
        tmp_path: Path) -> None:
    """A settled server's DuckDB connection is a new one (`Store.recycle`: what the reads
    and writes built up goes with the old); the tools' answers after it are the same, and
    the next edit writes through it."""
    from tests.mcp_helpers import live_over
    from tools.search import search_code
    from tools.symbols import get_symbol

    files = {f"pkg/mod_{i}.py": f"def handle_request_{i}(x):\n    return x + {i}\n"
             for i in range(6)}
    with live_over(tmp_path, files) as live:
        found = search_code(live, "handle request 3").results
        symbol = get_symbol(live, "handle_request_4").symbols
        connection = live.store._con

        live.settle()

        assert live.store._con is not connection
        assert search_code(live, "handle request 3").results == found
        assert get_symbol(live, "handle_request_4").symbols == symbol
        (live.index.root / "pkg/mod_1.py").write_text("def frobnicate(x):\n    return x\n")
        live.apply(["pkg/mod_1.py"], set(), reconcile=False)
        assert [s.name for s in get_symbol(live, "frobnicate").symbols] == ["frobnicate"]


def test_settling_empties_the_caches_the_tools_calls_filled(tmp_path: Path) -> None:
    """The search's word caches of paths and names (up to 64k entries each, filled by the
    calls' candidates) are forgotten when the live index settles, through the registry in
    `indexer.core.idle` (the live index cannot import the tools); the next search fills
    them again with the same answer."""
    from tests.mcp_helpers import live_over
    from tools import search, search_names

    files = {f"pkg/mod_{i}.py": f"def handle_request_{i}(x):\n    return parse_value_{i}(x)\n"
             for i in range(20)}
    with live_over(tmp_path, files) as live:
        first = search.search_code(live, "handle request parse value", k=5)
        assert search._path_words.cache_info().currsize > 0
        assert search_names.name_words.cache_info().currsize > 0
        live.settle()
        assert search._path_words.cache_info().currsize == 0
        assert search_names.name_words.cache_info().currsize == 0
        again = search.search_code(live, "handle request parse value", k=5)
        assert [h.path for h in again.results] == [h.path for h in first.results]


def _many_symbols(root: Path) -> int:
    """40 files of 60 small functions each (some names repeated in every file), and the
    number of definitions."""
    for f in range(40):
        body = "".join(f"def handle_{f}_{j}(x):\n    return x + {j}\n\n\n" for j in range(55))
        body += "".join(f"def {n}(x):\n    return x\n\n\n"
                        for n in ("setup", "Setup", "teardown", "run", "main"))
        (root / f"pkg/mod_{f}.py").parent.mkdir(parents=True, exist_ok=True)
        (root / f"pkg/mod_{f}.py").write_text(body)
    return 40 * 60


def test_the_search_tables_answer_the_symbols_query_in_a_few_dozen_bytes_a_symbol(
        tmp_path: Path) -> None:
    """The search tables' symbols by name and definitions by file read what the SQL says
    (file, then line order; names told apart by case share a key), held as columns: as a
    dict of tuples in lists moby's 26k symbols were 52k tuples, rebuilt after every index
    update. Measured in a process of its own (`tests.traced`)."""
    count = _many_symbols(tmp_path / "repo")
    index = RepoIndex(IndexPaths.for_repo(tmp_path / "repo", tmp_path / "idx"))
    try:
        index_repository(index)
        rows = index.store.query("SELECT file_id, name, qualname, kind, start_line, end_line "
                                 "FROM symbols ORDER BY file_id, start_line, end_line DESC")
        assert len(rows) == count
        symbols: dict[str, list[tuple[object, ...]]] = {}
        members: dict[int, list[tuple[object, ...]]] = {}
        for fid, name, qual, kind, line, end in rows:
            symbols.setdefault(name.lower(), []).append((fid, name, qual, kind, line))
            members.setdefault(fid, []).append((qual, kind, line, end))
        tables = _load(index.store, (0, None))
        assert dict(tables.symbols) == symbols and dict(tables.members) == members
        assert tables.names == sorted(symbols) and len(tables.symbols["setup"]) == 80
        assert "no_such_name" not in tables.symbols and tables.symbols.get("x") is None
        assert -1 not in tables.members and tables.members.get(-1, ()) == ()
        assert tables.with_prefix("handle_3_5") == ["handle_3_5"] + [
            f"handle_3_5{j}" for j in range(5)]
    finally:
        index.close()
    held = traced_bytes(tmp_path / "repo", tmp_path / "idx", "indexer.store.lookup:_load")
    # (these tables whole, chunks and files included: 393 bytes a symbol as dicts of tuples,
    # 171 as columns, 199 with the signatures and docstrings get_symbol reads)
    assert held / count < 260, f"{held / count:.0f} bytes per symbol"


def test_while_a_writer_promises_the_next_tables_readers_keep_the_last_ones(
        tmp_path: Path) -> None:
    """Between a write's commit and its writer's load of the new tables, a tool call found
    the cache's lock free and paid the load itself. While the writer holds
    `Store.loads_promised`, readers get the last tables; the writer's own load (`wait`)
    loads the new ones, and a reader without a promise would load them too."""
    from indexer.build import update_paths
    from tests.mcp_helpers import live_over

    loads: list[tuple[int, str | None]] = []

    def load(store: Store, key: tuple[int, str | None]) -> tuple[int, str | None]:
        loads.append(key)
        return key

    cache: GenerationCache[tuple[int, str | None]] = GenerationCache(load)
    with live_over(tmp_path, {"pkg/a.py": "def first():\n    return 1\n"}) as live:
        store = live.index.store
        old = cache.get(store)
        (live.root / "pkg/a.py").write_text("def second():\n    return 2\n")
        with store.loads_promised():
            update_paths(live.index, ["pkg/a.py"])
            assert cache.get(store) == old and loads == [old]  # the reader kept the last
            new = cache.get(store, wait=True)  # the writer's load
            assert new != old and loads == [old, new]
        (live.root / "pkg/a.py").write_text("def third():\n    return 3\n")
        update_paths(live.index, ["pkg/a.py"])
        assert cache.get(store) != new and len(loads) == 3  # no promise: the reader loads


def test_a_live_index_applies_a_batch_under_its_promise_to_load_the_tables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.mcp_helpers import live_over

    with live_over(tmp_path, {"pkg/a.py": "def first():\n    return 1\n"}) as live:
        seen: list[bool] = []
        real = live._warm
        monkeypatch.setattr(live, "_warm", lambda: (seen.append(live.store.loading_promised),
                                                    real())[1])
        (live.root / "pkg/a.py").write_text("def second():\n    return 2\n")
        live.apply(["pkg/a.py"], set(), reconcile=False)
        assert seen == [True] and not live.store.loading_promised


def test_a_server_imports_one_http_client() -> None:
    """The MCP SDK brings httpx2; the owner's health check uses it too. httpx beside it
    added 4 MB to a server's start (7 where rich is installed, which httpx's command line
    imports): a server's modules hold neither."""
    code = ("import sys, mcp_server.commands, mcp_server.serve, mcp_server.owner\n"
            "print(sorted(m for m in ('httpx', 'httpcore', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]", out.stdout


def test_chunk_texts_read_lately_are_kept_within_a_bound_and_never_another_versions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Search reads the text of each hit it shows; the same hits come back in later searches.
    `Store.chunk_texts` keeps what it read (least recently read out first past its bound,
    emptied by `release_pages`); a file written again gets new chunk ids, so the texts of
    its new chunks are read, never the kept ones of the old."""
    from indexer.build import apply_resolved
    from indexer.store import texts
    from tests.mcp_helpers import live_over

    files = {f"pkg/m{i}.py": f"def handle_{i}(x):\n    return x + {i}\n" for i in range(6)}
    with live_over(tmp_path, files) as live:
        store = live.index.store
        rows = store.query("SELECT chunk_id, text FROM chunks")
        ids = [r[0] for r in rows]
        queries: list[str] = []
        real = store.query
        monkeypatch.setattr(store, "query", lambda sql, params=None: queries.append(sql)
                            or real(sql, params))
        assert store.chunk_texts(ids) == dict(rows) and len(queries) == 1
        assert store.chunk_texts(ids[:3]) == {i: dict(rows)[i] for i in ids[:3]}
        assert len(queries) == 1  # all kept
        assert store.chunk_texts([10 ** 9]) == {}  # no such chunk
        monkeypatch.undo()
        (live.root / "pkg/m1.py").write_text("def handle_1(x):\n    return 'changed'\n")
        apply_resolved(live.index, ["pkg/m1.py"], set(), live.index_options)
        new = dict(store.query("SELECT c.chunk_id, c.text FROM chunks c JOIN files f "
                               "USING (file_id) WHERE f.path = 'pkg/m1.py'"))
        assert new and not set(new) & set(ids)
        assert store.chunk_texts(list(new)) == new
        assert "changed" in "".join(new.values())
        assert store._texts.chars > 0
        store.release_pages()
        assert store._texts.chars == 0
    small = texts.RecentTexts(100)
    small.put_many([(1, "a" * 60), (2, "b" * 30)])
    assert small.get_many([1]) == {1: "a" * 60}  # 1 read last: 2 goes first
    small.put_many([(3, "c" * 30)])
    assert small.get_many([1, 2, 3]) == {1: "a" * 60, 3: "c" * 30} and small.chars == 90
    small.put_many([(4, "d" * 101)])  # longer than the bound: not kept
    assert small.get_many([4]) == {} and small.chars == 90


def test_a_live_index_counts_tokens_in_python_and_never_builds_the_encoder(
        tmp_path: Path) -> None:
    """A server's live index counts its answers with the Python counter
    (`count_in_python`, loaded when it starts): tiktoken's encoder (22 MB) is never built,
    not by the reconcile, not by the tools."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    for i in range(5):
        (root / "pkg" / f"m{i}.py").write_text(
            f"def handle_{i}(request):\n    '''Serve café {i}.'''\n    return request + {i}\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from indexer.core import tokens\n"
        "from indexer.live import LiveIndex, LiveOptions\n"
        "from mcp_server.runtime import read_tool\n"
        "from tools.search import search_code\n"
        "from tools.symbols import get_symbol\n"
        "live = LiveIndex.open(Path(sys.argv[1]), Path(sys.argv[2]),\n"
        "                      LiveOptions(watch=False, embed=False, static=False))\n"
        "live.start()\n"
        "assert live.ready.wait(120)\n"
        "hits = read_tool(live, search_code, 'handle request', mode='lexical')\n"
        "read_tool(live, get_symbol, 'handle_3')\n"
        "live.close()\n"
        "print(len(hits.results), tokens._in_python, tokens.encoding.cache_info().currsize)\n")
    out = subprocess.run([sys.executable, "-c", code, str(root), str(tmp_path / "idx")],
                         check=False, capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    hits, in_python, built = out.stdout.split()
    assert int(hits) > 0 and in_python == "True" and built == "0"
