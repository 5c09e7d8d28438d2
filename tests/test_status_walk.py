"""index_status's count of files changed since indexing, in a server that does not watch."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.mcp_helpers import live_over
from tools import status


def _count_waits(live: object) -> threading.Semaphore:
    """A semaphore released each time a call starts waiting behind the running walk."""
    shared = status._SHARED[live]  # type: ignore[index]
    waits = threading.Semaphore(0)
    real = shared._cond.wait

    def wait(timeout: float | None = None) -> bool:
        waits.release()
        return real(timeout)

    shared._cond.wait = wait  # type: ignore[method-assign]
    return waits


def test_calls_waiting_behind_a_walk_share_the_next_one_and_a_later_call_walks_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each `index_status` of a server that does not watch walked the whole tree, so 50
    clients walked it over and over at once. A call that arrives while a walk runs waits
    and shares the walk that starts after it (a walk that started earlier could miss an edit
    made just before the call); a call after the walks walks again."""
    walks: list[int] = []
    inside = threading.Event()
    release = threading.Event()

    def walk(ctx: object) -> int:
        walks.append(1)
        n = len(walks)
        if n == 1:
            inside.set()
            assert release.wait(60)
        return n  # which walk answered

    monkeypatch.setattr(status, "_count_changed", walk)
    with live_over(tmp_path, {"a.py": "x = 1\n"}) as live:
        got: dict[str, int] = {}
        first = threading.Thread(target=lambda: got.update(first=status.changed_since_indexed(live)))
        first.start()
        assert inside.wait(60)
        waits = _count_waits(live)
        waiting = [threading.Thread(target=lambda i=i: got.update(
            {f"w{i}": status.changed_since_indexed(live)})) for i in range(5)]
        for t in waiting:
            t.start()
        for _ in waiting:  # each is queued behind the first walk
            assert waits.acquire(timeout=60)
        release.set()
        for t in [first, *waiting]:
            t.join(60)
        assert got == {"first": 1, **{f"w{i}": 2 for i in range(5)}}
        assert len(walks) == 2
        assert status.changed_since_indexed(live) == 3  # a call after them walks again


def test_a_walk_that_fails_leaves_the_calls_behind_it_a_walk_of_their_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    inside = threading.Event()
    release = threading.Event()

    def walk(ctx: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            inside.set()
            assert release.wait(60)
            raise OSError("the tree vanished mid-walk")
        return 7

    monkeypatch.setattr(status, "_count_changed", walk)
    with live_over(tmp_path, {"a.py": "x = 1\n"}) as live:
        errors: list[BaseException] = []
        got: list[int] = []

        def first() -> None:
            try:
                status.changed_since_indexed(live)
            except OSError as exc:
                errors.append(exc)

        t1 = threading.Thread(target=first)
        t1.start()
        assert inside.wait(60)
        waits = _count_waits(live)
        t2 = threading.Thread(target=lambda: got.append(status.changed_since_indexed(live)))
        t2.start()
        assert waits.acquire(timeout=60)  # queued behind the failing walk
        release.set()
        t1.join(60)
        t2.join(60)
        assert len(errors) == 1 and got == [7]


def test_the_shared_count_still_sees_an_edit_made_just_before_the_call(tmp_path: Path) -> None:
    with live_over(tmp_path, {"a.py": "x = 1\n"}) as live:
        assert status.changed_since_indexed(live) == 0
        (live.root / "b.py").write_text("y = 2\n")
        assert status.changed_since_indexed(live) == 1
        (live.root / "a.py").write_text("x = 22\n")
        assert status.changed_since_indexed(live) == 2


def test_the_index_counts_are_read_once_a_generation_and_again_after_a_write(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files, symbols, chunks and languages change only with the store's generation: 50
    clients asking for the status ran three count queries each (the skipped paths, recorded
    without a new generation, are still read every call)."""
    from indexer.build import apply_resolved
    from indexer.store import Store

    with live_over(tmp_path, {"a.py": "def f():\n    return 1\n"}) as live:
        seen: list[str] = []
        query, snapshot = Store.query, Store.snapshot

        def recording(self: Store, sql: str, params: object = None) -> object:
            seen.append(sql)
            return query(self, sql, params)  # type: ignore[arg-type]

        def recording_snapshot(self: Store) -> object:
            seen.append("snapshot")
            return snapshot(self)

        monkeypatch.setattr(Store, "query", recording)
        monkeypatch.setattr(Store, "snapshot", recording_snapshot)
        first = status.index_status(live)
        assert seen.count("snapshot") == 1 and not [s for s in seen if "count(*) FROM files" in s]
        second = status.index_status(live)
        assert seen.count("snapshot") == 1 and (first.files, first.symbols) == (1, 1)
        assert (second.files, second.symbols, second.chunks) == (
            first.files, first.symbols, first.chunks)
        (live.root / "b.py").write_text("def g():\n    return 2\n\n\ndef h():\n    return 3\n")
        apply_resolved(live.index, ["b.py"], set(), live.index_options)
        third = status.index_status(live)
        assert seen.count("snapshot") == 2 and (third.files, third.symbols) == (2, 3)
