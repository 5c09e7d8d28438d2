"""The warm reads: each read tool run once when a served index is ready (`tools.warm`).

Waits are for events (the hook called, the edit indexed), bounded generously."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from indexer.live import LiveIndex, LiveOptions
from mcp_server import runtime as runtime_module
from mcp_server.runtime import Runtime, read_tool
from tests.mcp_helpers import server_settings
from tools import summary, symbols
from tools.search import search_code
from tools.warm import warm_reads

BOUND_S = 120.0


def _package(root: Path) -> Path:
    """A small package whose modules import each other and whose code answers the warm
    question (an entry point that configures and starts a server)."""
    pkg = root / "service"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text(
        "def load_config(path):\n    '''Read the configuration file.'''\n    return {'path': path}\n")
    (pkg / "main.py").write_text(
        "from service.config import load_config\n\n\n"
        "def main():\n    '''The main entry point: configure, then start the server.'''\n"
        "    config = load_config('service.toml')\n    start_server(config)\n\n\n"
        "def start_server(config):\n    '''Start serving with the configuration.'''\n"
        "    return config\n")
    return root


def _open(root: Path, index_dir: Path) -> LiveIndex:
    live = LiveIndex.open(root, index_dir, LiveOptions())
    live.start()
    assert live.ready.wait(BOUND_S)
    return live


def test_the_warm_reads_run_every_read_tool_on_the_repositorys_own_code(tmp_path: Path) -> None:
    live = _open(_package(tmp_path / "repo"), tmp_path / "idx")
    try:
        assert warm_reads(live) == 8  # two searches, symbol, narrowed search, deps, dir, context, status
        # what the first calls would have built is there: the summaries' directory
        # relations and the symbol's references, both kept per store
        assert live.store in summary._REL_CACHE
        assert symbols._REF_CACHE.get(live.store)
    finally:
        live.close()


def test_the_warm_reads_skip_what_an_empty_repository_cannot_answer(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    live = _open(tmp_path / "repo", tmp_path / "idx")
    try:
        ran = warm_reads(live)  # no hit to follow: no symbol, file or folder reads
        assert 1 <= ran < 8
    finally:
        live.close()


def test_the_warm_reads_stop_when_the_live_index_stops(tmp_path: Path) -> None:
    live = _open(_package(tmp_path / "repo"), tmp_path / "idx")
    try:
        live.request_stop()
        assert warm_reads(live) == 0
    finally:
        live.close()


def _watched_runtime(root: Path, index_dir: Path) -> Runtime:
    return Runtime(server_settings(root, index_dir, watch=True, embed=False))


def test_a_served_index_warms_once_after_its_first_reconcile_not_after_edits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _package(tmp_path / "repo")
    calls: list[tuple[bool, int]] = []
    warmed = threading.Event()

    def recording(live: LiveIndex) -> int:
        ran = warm_reads(live)
        calls.append((live.ready.is_set(), ran))
        warmed.set()
        return ran

    monkeypatch.setattr(runtime_module, "warm_reads", recording)
    runtime = _watched_runtime(root, tmp_path / "idx")
    live = runtime.acquire()
    try:
        assert warmed.wait(BOUND_S)
        assert calls == [(True, 8)]  # after `ready`, every read ran
        (root / "service" / "extra.py").write_text("def stop_server():\n    return None\n")
        found = read_tool(live, search_code, "stop_server", mode="lexical", wait_fresh=True,
                          fresh_paths=["service/extra.py"])
        assert [h.path for h in found.results][:1] == ["service/extra.py"]
        assert len(calls) == 1  # a watcher batch does not warm again
    finally:
        runtime.release()


def test_failing_warm_reads_are_logged_and_the_index_serves_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    failed = threading.Event()

    def failing(live: LiveIndex) -> int:
        failed.set()
        raise RuntimeError("a read broke")

    monkeypatch.setattr(runtime_module, "warm_reads", failing)
    runtime = _watched_runtime(_package(tmp_path / "repo"), tmp_path / "idx")
    with caplog.at_level(logging.ERROR, logger="indexer.live.index"):
        live = runtime.acquire()
        try:
            assert failed.wait(BOUND_S)
            found = read_tool(live, search_code, "load_config", mode="lexical")
            assert found.results and found.results[0].path == "service/config.py"
        finally:
            runtime.release()
    assert any("the warm reads failed" in r.getMessage() for r in caplog.records)
