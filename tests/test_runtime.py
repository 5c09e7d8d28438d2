"""The runtime that owns a server's live index: what a caller sees once it is ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.live import LiveIndex
from mcp_server.runtime import Runtime
from tests.mcp_helpers import server_settings


def _tiny_repo(root: Path) -> Path:
    root.mkdir()
    (root / "m.py").write_text("def f(x):\n    return x + 1\n")
    return root


def test_a_runtime_holds_its_live_index_before_the_index_can_say_it_is_ready(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reconcile runs in the background and may set `ready` before `start` returns (CI
    saw an HTTP test find `runtime.live` still None once `ready` was set): whoever waits for
    `ready` must find the live index in place."""
    runtime = Runtime(server_settings(_tiny_repo(tmp_path / "repo"), tmp_path / "idx"))
    seen: list[LiveIndex | None] = []
    start = LiveIndex.start

    def start_then_look(live: LiveIndex) -> None:
        start(live)
        assert live.ready.wait(120)  # as a waiter on another thread could be woken here
        seen.append(runtime.live)

    monkeypatch.setattr(LiveIndex, "start", start_then_look)
    live = runtime.acquire()
    try:
        assert seen == [live]
    finally:
        runtime.release()
    assert runtime.live is None


def test_a_live_index_that_fails_to_start_is_closed_and_not_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime(server_settings(_tiny_repo(tmp_path / "repo"), tmp_path / "idx"))
    closed: list[LiveIndex] = []
    start, close = LiveIndex.start, LiveIndex.close

    def failing_start(live: LiveIndex) -> None:
        raise OSError("the vectors could not be opened")

    def close_and_note(live: LiveIndex) -> None:
        closed.append(live)
        close(live)

    monkeypatch.setattr(LiveIndex, "start", failing_start)
    monkeypatch.setattr(LiveIndex, "close", close_and_note)
    with pytest.raises(OSError, match="could not be opened"):
        runtime.acquire()
    assert runtime.live is None and runtime.sessions == 0 and len(closed) == 1
    monkeypatch.setattr(LiveIndex, "start", start)
    live = runtime.acquire()  # a later session opens a fresh one
    try:
        assert runtime.live is live and live not in closed
    finally:
        runtime.release()
