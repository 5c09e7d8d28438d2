"""`index_status` lists languages and skip reasons in one order, whatever DuckDB's grouping
did: by count, ties by name (CI once saw `secret 1, hidden_dir 1, generated 1` from one
process and `hidden_dir 1, generated 1, secret 1` from another, for the same index)."""

from __future__ import annotations

from pathlib import Path

from indexer.build import index_repository
from indexer.live import LiveIndex
from tools.status import index_status


def test_skip_reasons_and_languages_are_ordered_by_count_then_name(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    for i in range(3):
        (root / "pkg" / f"b{i}.bin").write_bytes(b"\x00\x01binary" * 50)
    (root / "pkg" / "m.py").write_text("def f():\n    return 1\n")
    (root / "pkg" / "t.go").write_text("package p\n\nfunc F() int { return 1 }\n")
    (root / "pkg" / "s.rs").write_text("fn f() -> i32 { 1 }\n")
    (root / ".env").write_text("API_KEY=abc\n")
    (root / "pkg" / "app.min.js").write_text("var a=1;" * 4000)
    with LiveIndex.open(root, tmp_path / "idx") as live:
        index_repository(live.index)
        status = index_status(live)
    for counts in (status.skipped, status.languages):
        assert len(counts) >= 3, counts
        assert list(counts) == sorted(counts, key=lambda k: (-counts[k], k)), counts
