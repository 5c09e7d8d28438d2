"""A lexical rebuild in a process of its own: the same index as one written in-process,
nothing of it left in the serving process, and a stop or a failure that loses nothing."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest

from indexer.lexical import bm25
from indexer.lexical.bm25 import LexicalDoc, LexicalIndex, LexicalRebuildError


def _docs(n: int) -> list[LexicalDoc]:
    return [LexicalDoc(chunk_id=i, path=f"pkg/mod{i % 37}.py", language="python",
                       name=f"handleRequest{i}", header=f"def handleRequest{i}(conn):",
                       body=f"def handleRequest{i}(conn):\n    return parseHeader{i % 11}(conn)"
                            f" + retryBackoff{i % 5}()\n")
            for i in range(1, n + 1)]


QUERIES = ["handle request", "parseHeader3", "retry backoff", "mod7", "handleRequest42 conn"]


def _answers(index: LexicalIndex) -> list[list[tuple[int, float]]]:
    return [[(c, round(s, 5)) for c, s in index.search(q, 20)] for q in QUERIES]


def test_a_rebuild_apart_ranks_as_one_in_process_and_fills_no_token_cache_here(
        tmp_path: Path) -> None:
    docs = _docs(1500)
    here, apart = LexicalIndex(tmp_path / "here"), LexicalIndex(tmp_path / "apart")
    here.update(docs[:10], (), 1)
    apart.update(docs[:10], (), 1)
    assert here.rebuild(docs, 2)
    bm25.release_token_caches()
    assert apart.rebuild(docs, 2, apart=True)
    # the tokens were made in the other process: none cached in this one
    assert len(bm25._run_parts) == 0 and bm25._split_word.cache_info().currsize == 0
    assert apart.num_docs() == here.num_docs() == len(docs)
    assert apart.generation == 2
    assert _answers(apart) == _answers(here)
    assert not (tmp_path / "apart.next").exists()
    assert not multiprocessing.active_children()


def test_a_rebuild_apart_told_to_stop_keeps_the_index_it_had(tmp_path: Path) -> None:
    docs = _docs(3000)
    index = LexicalIndex(tmp_path / "lex")
    index.update(docs[:10], (), 1)
    before = _answers(index)
    asked = [0]

    def stop() -> bool:  # true from the second batch on
        asked[0] += 1
        return asked[0] > 1

    assert not index.rebuild(docs, 2, should_stop=stop, apart=True)
    assert index.num_docs() == 10 and index.generation == 1
    assert _answers(index) == before
    assert not (tmp_path / "lex.next").exists()
    assert not multiprocessing.active_children()


def test_a_rebuild_apart_whose_process_fails_raises_and_keeps_the_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _docs(200)
    index = LexicalIndex(tmp_path / "lex")
    index.update(docs[:10], (), 1)
    bad = [*docs[:50], "not a document"]  # the child cannot index it and says so
    with pytest.raises(LexicalRebuildError, match="process failed"):
        index.rebuild(bad, 2, apart=True)  # type: ignore[arg-type]
    assert index.num_docs() == 10 and index.generation == 1
    assert not (tmp_path / "lex.next").exists()
    assert not multiprocessing.active_children()


def test_a_rebuild_after_a_crash_goes_apart_by_the_stores_size_not_the_lost_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lexical index lost in a crash is rebuilt from the store on open (`sync_lexical`):
    an empty index must not make a large rebuild run in the serving process."""
    import indexer.disk.repo
    from indexer.build.pipeline import index_repository
    from indexer.disk.repo import IndexPaths, RepoIndex

    root = tmp_path / "repo"
    root.mkdir()
    for i in range(12):
        (root / f"m{i}.py").write_text(f"def handler_{i}(conn):\n    return conn.read({i})\n")
    paths = IndexPaths.for_repo(root, tmp_path / "idx")
    with RepoIndex(paths) as index:
        index_repository(index)
        chunks = index.store.count_chunks()
    apart_runs: list[int] = []
    real = bm25._write_fresh_apart

    def recorded(*args: object, **kwargs: object) -> bool:
        apart_runs.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bm25, "_write_fresh_apart", recorded)
    monkeypatch.setattr(indexer.disk.repo, "REBUILD_APART_FROM", chunks)
    with RepoIndex(paths) as index:
        with index.store.transaction() as con:  # the store moves on; the lexical index lags
            con.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS VARCHAR) "
                        "WHERE key = 'generation'")
        index.lexical.close()
        shutil.rmtree(index.lexical.directory)  # lost: an empty index is opened in its place
        reopened = LexicalIndex(index.lexical.directory)
        index.lexical = reopened
        assert reopened.num_docs() == 0
        assert index.sync_lexical()
        assert apart_runs == [1]
        assert index.lexical.num_docs() == chunks


def test_the_writer_released_between_writes_opens_again_and_keeps_uncommitted_work(
        tmp_path: Path) -> None:
    """A settled server closes the lexical writer (its indexing thread and what its segment
    writing allocated stayed otherwise); the next write opens it again. While documents
    wait for a commit it stays open: closing it would drop them."""
    docs = _docs(300)
    index = LexicalIndex(tmp_path / "lex")
    index.update(docs[:100], (), 1)
    assert index._writer is not None
    assert index.release_writer()
    assert index._writer is None and not index.release_writer()
    index.update(docs[100:200], (), 2)
    assert index.generation == 2 and index.num_docs() == 200
    index.update(docs[200:], (), 3, commit=False)
    assert not index.release_writer()  # the last 100 are not committed yet
    index.update((), (), 3)
    assert index.release_writer()
    assert index.num_docs() == 300
    assert [c for c, _ in index.search("handleRequest250", 5)][:1] == [250]
    index.update((), ["pkg/mod7.py"], 4, commit=False)  # a deletion waiting for its commit
    assert not index.release_writer()
    index.update((), (), 4)
    assert index.release_writer()
    gone = [d for d in docs if d.path == "pkg/mod7.py"]
    assert gone and all(d.chunk_id not in dict(index.search(d.name, 5)) for d in gone)
    assert index.num_docs() == 300 - len(gone)


def _removal_met_by_a_late_writer(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[Path]:
    """`shutil.rmtree`, as bm25 sees it, of a directory named in `names` meets a file that
    a handle tantivy still closes writes into it meanwhile (its reader's threads): what was
    there goes, `.tantivy-meta.lock` arrives, and the directory stays (`Directory not
    empty`, raised unless errors are ignored). The CI met this once on a damaged index."""
    real = shutil.rmtree
    met: list[Path] = []

    def rmtree(path: str | Path, ignore_errors: bool = False, **kwargs: object) -> None:
        path = Path(path)
        if path.name not in names or not path.is_dir():
            real(path, ignore_errors=ignore_errors)
            return
        for child in path.iterdir():
            real(child) if child.is_dir() else child.unlink()
        (path / ".tantivy-meta.lock").touch()
        met.append(path)
        if not ignore_errors:
            raise OSError(39, "Directory not empty", str(path))

    monkeypatch.setattr(bm25.shutil, "rmtree", rmtree)
    return met


def test_a_damaged_index_is_replaced_though_a_late_writer_keeps_its_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the open removed the damaged index in place and failed with `OSError:
    Directory not empty`: the command failed instead of rebuilding."""
    directory = tmp_path / "lex"
    index = LexicalIndex(directory)
    index.update(_docs(300), (), 1)
    index.close()
    del index
    for term in directory.glob("*.term"):  # every term dictionary garbage: the open fails
        term.write_bytes(b"\xff" * term.stat().st_size)
    met = _removal_met_by_a_late_writer(monkeypatch, "lex", "lex.old")
    fresh = LexicalIndex(directory)
    assert met and fresh.generation == -1 and fresh.num_docs() == 0  # rebuilt from the store
    fresh.update(_docs(20), (), 2)
    assert [c for c, _ in fresh.search("handleRequest7", 3)][:1] == [7]
    fresh.close()
    monkeypatch.undo()  # what the late writer left aside goes on the next open
    assert LexicalIndex(directory).num_docs() == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lex"]


def test_a_rebuild_swaps_in_though_a_late_writer_keeps_the_last_old_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the swap renamed the index onto `lex.old`, which a late writer kept from
    being removed, and the rename failed (a directory that is not empty)."""
    directory = tmp_path / "lex"
    index = LexicalIndex(directory)
    index.update(_docs(50), (), 1)
    (tmp_path / "lex.old").mkdir()  # an earlier swap's old index, not yet removed
    met = _removal_met_by_a_late_writer(monkeypatch, "lex.old")
    assert index.rebuild(_docs(80), 2)
    assert met and index.num_docs() == 80 and index.generation == 2
    index.close()
    monkeypatch.undo()
    assert LexicalIndex(directory).num_docs() == 80
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lex"]
