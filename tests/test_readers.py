"""The applier's rest between batches lasts only while tool calls contend for the CPU.

Under a stream of edits the applier rests after each batch as long as the batch took, to
leave the CPU to the calls queued behind it; with none waiting (no call, or one alone),
resting only delayed the next edit (docs/benchmarks.md, "Freshness"). Bounds below only
keep a broken rest from hanging the test: the rests asked for are long (30 s) and a healthy
one ends in milliseconds."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from indexer.live.readers import CROWDED_S, Readers

LONG_S = 30.0
BOUND_S = 20.0  # well under LONG_S: a rest that lasted its full length fails


def _rest_in_thread(readers: Readers, seconds: float, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=readers.rest, args=(seconds, stop))
    thread.start()
    return thread


def _timed_rest(readers: Readers, seconds: float) -> float:
    started = time.monotonic()
    readers.rest(seconds, threading.Event())
    return time.monotonic() - started


def test_with_no_call_or_one_alone_reading_the_rest_is_over_at_once() -> None:
    readers = Readers()
    assert _timed_rest(readers, LONG_S) < BOUND_S
    with readers.reading():
        assert readers.count == 1
        assert _timed_rest(readers, LONG_S) < BOUND_S


def test_calls_reading_together_keep_the_rest_until_they_have_not_for_a_while() -> None:
    readers = Readers()
    stop = threading.Event()
    with contextlib.ExitStack() as calls:
        calls.enter_context(readers.reading())
        calls.enter_context(readers.reading())
        rest = _rest_in_thread(readers, LONG_S, stop)
        rest.join(0.3)
        assert rest.is_alive()  # resting while they contend
        ended = time.monotonic()
    rest.join(BOUND_S)
    assert not rest.is_alive() and readers.count == 0
    assert time.monotonic() - ended >= CROWDED_S  # and a little after


def test_the_rest_ends_after_its_length_or_on_stop_even_while_calls_contend() -> None:
    readers = Readers()
    with readers.reading(), readers.reading():
        assert _timed_rest(readers, 0.2) >= 0.2
        stop = threading.Event()
        rest = _rest_in_thread(readers, LONG_S, stop)
        stop.set()
        rest.join(BOUND_S)
        assert not rest.is_alive()


def test_a_tool_call_counts_while_it_reads_not_while_it_waits_for_freshness(
        tmp_path: Path) -> None:
    from indexer.build import index_repository
    from indexer.disk import IndexPaths, RepoIndex
    from indexer.live import LiveIndex
    from mcp_server.runtime import read_tool

    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n")
    index = RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))
    index_repository(index)
    with LiveIndex(index) as live:
        waiting: list[int] = []
        real_wait = live.wait_fresh

        def wait_fresh(paths: Iterable[str] | None, timeout_s: float,
                       summaries: bool = False) -> bool:
            waiting.append(live.readers.count)
            return real_wait(paths, timeout_s, summaries)

        live.wait_fresh = wait_fresh  # type: ignore[method-assign]
        reading = read_tool(live, lambda ctx: ctx.readers.count, wait_fresh=True)
        assert waiting == [0] and reading == 1 and live.readers.count == 0
