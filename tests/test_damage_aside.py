"""Damaged database files moved aside do not pile up.

A damage test left 8 `store.corrupt-*.duckdb` copies after a few commands (a file name the
store could not take was taken for damage on every run). Only the last `KEEP_ASIDE` copies
of a file are kept, the newest, each with its WAL."""

from __future__ import annotations

from pathlib import Path

from indexer.store.integrity import KEEP_ASIDE, move_aside


def test_only_the_newest_copies_aside_are_kept(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    asides = []
    for i in range(KEEP_ASIDE + 3):
        store.write_text(f"damaged {i}")
        Path(str(store) + ".wal").write_text(f"wal {i}")
        asides.append(move_aside(store))
    kept = sorted(tmp_path.glob("store.corrupt-*.duckdb"))
    assert kept == sorted(asides[-KEEP_ASIDE:])
    assert sorted(p.read_text() for p in kept) == [
        f"damaged {i}" for i in range(3, KEEP_ASIDE + 3)]
    assert len(list(tmp_path.glob("store.corrupt-*.duckdb.wal"))) == KEEP_ASIDE
    (tmp_path / "embeddings.duckdb").write_text("another file's copy")
    move_aside(tmp_path / "embeddings.duckdb")
    assert len(list(tmp_path.glob("store.corrupt-*.duckdb"))) == KEEP_ASIDE  # its own


def test_a_copy_named_by_hand_is_left_alone(tmp_path: Path) -> None:
    """A copy whose name carries no time (renamed by hand) is neither parsed nor deleted:
    parsing it once failed the damage handler itself."""
    store = tmp_path / "store.duckdb"
    (tmp_path / "store.corrupt-copy.duckdb").write_text("kept by hand")
    for i in range(KEEP_ASIDE + 1):
        store.write_text(f"damaged {i}")
        move_aside(store)
    assert (tmp_path / "store.corrupt-copy.duckdb").read_text() == "kept by hand"
    assert len(list(tmp_path.glob("store.corrupt-*.duckdb"))) == KEEP_ASIDE + 1
