"""Damage that a compaction finds is repaired, and the compaction thread lives on.

A review found that a damaged lexical index met by the background compaction (or by the
warm reads) was only logged, at every settle, and never rebuilt; and that a failure while
counting deleted documents ended the compaction thread for good. The fault is injected at
the compactor's first read of a real index (its count of deleted documents)."""

from __future__ import annotations

import threading
from pathlib import Path

from indexer.build import index_repository
from indexer.disk import IndexPaths, RepoIndex
from indexer.lexical import LexicalCorrupt
from indexer.live import LiveIndex, LiveOptions
from tools.search import search_code

WAIT_S = 120.0  # bounds a wait that would otherwise hang; a healthy one takes seconds


def test_damage_met_by_the_compaction_thread_rebuilds_the_lexical_index(
        tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("def alpha_handler():\n    return 1\n")
    index = RepoIndex(IndexPaths.for_repo(root))
    index_repository(index)
    live = LiveIndex(index, LiveOptions())
    repaired = threading.Event()
    lexical, real_repair = index.lexical, index.repair_lexical
    real_count = lexical.deleted_docs

    def damaged_count() -> int:  # the compactor's first read of the index
        lexical.deleted_docs = real_count  # type: ignore[method-assign]
        raise LexicalCorrupt("the lexical index is damaged (injected)")

    def repair(*args: object, **kwargs: object) -> bool:
        done = real_repair(*args, **kwargs)  # type: ignore[arg-type]
        repaired.set()
        return done

    lexical.deleted_docs = damaged_count  # type: ignore[method-assign]
    index.repair_lexical = repair  # type: ignore[method-assign]
    live.start()  # the compactor looks once its first quiet spell has passed
    try:
        assert repaired.wait(WAIT_S)
        assert search_code(live, "alpha_handler", mode="lexical").results
        compactor = [t for t in threading.enumerate() if t.name == "sextant-compact"]
        assert compactor and compactor[0].is_alive()  # it outlived the failure
    finally:
        live.close()
