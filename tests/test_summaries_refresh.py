"""The watcher's applier marks a batch's paths searchable before it refreshes the directory
summaries above them; `summarize_dir` says not fresh until then and its `wait_fresh` waits
for the refresh, while the other tools' `wait_fresh` returns as soon as the paths are
searchable (`LiveIndex.unsummarized`, `indexer.summaries.summaries_due`).

The refresh is held on an event so that the window between the two is seen for sure; the
waits are for events, bounded generously."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from indexer.live import LiveIndex
from mcp_server import runtime as runtime_module
from mcp_server.runtime import Runtime, read_tool
from tests.mcp_helpers import server_settings
from tools.models import SummaryResult, SymbolResult
from tools.search import search_code
from tools.summary import summarize_dir
from tools.symbols import get_symbol

BOUND_S = 120.0
NEW = "service/extra.py"


def _package(root: Path) -> Path:
    pkg = root / "service"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def load_config(path):\n    return {'path': path}\n")
    (pkg / "main.py").write_text(
        "from service.config import load_config\n\n\ndef main():\n    return load_config('x')\n")
    return root


class _Gate:
    """Holds the applier's summary refreshes while armed."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()


def test_a_batch_is_searchable_before_its_summaries_are_refreshed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = _Gate()
    refresh = LiveIndex._refresh_summaries

    def held(live: LiveIndex, generation: str) -> None:
        if gate.armed and threading.current_thread().name == "sextant-apply":
            gate.entered.set()
            assert gate.release.wait(10 * BOUND_S)  # released by the test, at the latest at its end
        refresh(live, generation)

    monkeypatch.setattr(LiveIndex, "_refresh_summaries", held)
    # no warm reads: their `get_context` saves the summaries it builds, which a call in the
    # window may do too, but not at a moment this test can know
    monkeypatch.setattr(runtime_module, "warm_reads", lambda live: 0)
    monkeypatch.setattr(runtime_module, "WAIT_FRESH_S", 10 * BOUND_S)
    root = _package(tmp_path / "repo")
    runtime = Runtime(server_settings(root, tmp_path / "idx", watch=True, embed=False))
    live = runtime.acquire()
    try:
        assert live.ready.wait(BOUND_S)
        before = read_tool(live, summarize_dir, path="service", depth=0)
        assert before.freshness.fresh and before.summaries[0].files == 3
        gate.armed = True
        (root / NEW).write_text("def stop_server():\n    return None\n")
        assert gate.entered.wait(BOUND_S)  # the applier is refreshing the summaries

        # searchable and fresh already
        assert live.pending.wait_fresh({NEW}, BOUND_S)
        found = read_tool(live, search_code, "stop_server", mode="lexical")
        assert [h.path for h in found.results][:1] == [NEW] and found.freshness.fresh
        # the directory's summary is the last one, and says so
        last = read_tool(live, summarize_dir, path="service", depth=0)
        assert not last.freshness.fresh and NEW in last.freshness.pending_files
        assert last.summaries[0].files == 3 and last.summaries[0].stale
        # a call with wait_fresh returns now (its wait would outlast the test's bound, and
        # the refresh is held until the end), unless its answer is made of summaries
        symbols: list[SymbolResult] = []
        asking = threading.Thread(target=lambda: symbols.append(read_tool(
            live, get_symbol, "stop_server", wait_fresh=True)))
        asking.start()
        asking.join(BOUND_S)
        assert not asking.is_alive() and symbols
        assert symbols[0].freshness.fresh and [s.path for s in symbols[0].symbols] == [NEW]
        assert not live.wait_fresh([NEW], 0.5, summaries=True)
        answers: list[SummaryResult] = []
        waiting = threading.Thread(target=lambda: answers.append(read_tool(
            live, summarize_dir, path="service", depth=0, wait_fresh=True, fresh_paths=["service"])))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # it waits for the refresh

        gate.release.set()
        waiting.join(BOUND_S)
        assert not waiting.is_alive() and answers
        assert answers[0].freshness.fresh and answers[0].summaries[0].files == 4
        assert live.wait_fresh([NEW], BOUND_S, summaries=True)
    finally:
        gate.release.set()
        runtime.release()
