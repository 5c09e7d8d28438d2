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
