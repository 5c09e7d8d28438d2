"""Static vectors computed in the parse workers (issue 15's cost): the same vectors the
writer computed before, copied in rather than embedded again, and the writer still embeds
what a worker could not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexer.build import index_repository
from indexer.build.pipeline import process_batch
from indexer.build.static import StaticJob
from indexer.core import WorkerPool
from indexer.discover import FileEntry
from indexer.disk import IndexPaths, RepoIndex
from indexer.embed import (
    Embedder,
    EmbedderError,
    HashingEmbedder,
    embedded_text,
    load_cached_static_tier,
    worker_spec,
)
from indexer.parse import FileRecord
from tests.model_marks import needs_model


def _many_files(root: Path, n: int = 80) -> Path:
    """More files than the pipeline indexes in-process, so they go to the worker pool; some
    chunks repeat word for word (embedded once per worker)."""
    (root / "pkg").mkdir(parents=True)
    for i in range(n):
        (root / "pkg" / f"mod{i}.py").write_text(
            f"def handler_{i}(request):\n    '''Serve request number {i}.'''\n"
            f"    return request.reply({i})\n\n\n"
            "def shared_helper(value):\n    return value.strip().lower()\n")
    return root


def _index_vectors(index: RepoIndex) -> dict[int, np.ndarray]:
    static = index.static
    assert static is not None
    vectors = static.vectors
    rows = np.asarray(vectors._vecs[:len(vectors)], dtype=np.float32)  # in `keys()` order
    return {int(k): rows[i] for i, k in enumerate(vectors.keys().tolist())}


def _writer_vectors(index: RepoIndex, embedder: Embedder) -> dict[int, np.ndarray]:
    """Each chunk embedded on its own in this process, stored as the index stores it."""
    rows = index.store.query("SELECT chunk_id, header, text FROM chunks ORDER BY chunk_id")
    vecs = embedder.embed_documents([embedded_text(h, t) for _, h, t in rows])
    return {int(r[0]): v.astype(np.float16).astype(np.float32)
            for r, v in zip(rows, vecs, strict=True)}


def _build_in_workers(root: Path, idx: Path, embedder: Embedder) -> tuple[
        dict[int, np.ndarray], dict[int, np.ndarray]]:
    with RepoIndex(IndexPaths.for_repo(root, idx)) as index:
        index.attach_static(embedder)
        index.workers = WorkerPool(2)
        try:
            index_repository(index)
        finally:
            index.workers.close()
        return _index_vectors(index), _writer_vectors(index, embedder)


def test_parse_workers_compute_the_static_vectors_the_writer_would_and_the_writer_embeds_none(
        tmp_path: Path) -> None:
    root = _many_files(tmp_path / "repo")
    embedder = HashingEmbedder(32)  # the static tier's test fake (`load_static_tier("hashing")`)
    got, expected = _build_in_workers(root, tmp_path / "idx", embedder)
    assert len(got) == len(expected) >= 80
    assert all(np.array_equal(got[k], expected[k]) for k in expected)
    # only `_writer_vectors` above embedded in this process: the build's vectors came back
    # from the workers
    assert [len(c) for c in embedder.calls] == [len(expected)]


@needs_model
def test_worker_static_vectors_equal_the_writers_on_real_code(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    from indexer.embed import load_static_embedder

    embedder = load_static_embedder()
    got, expected = _build_in_workers(corpus("flask"), tmp_path / "idx", embedder)
    assert len(got) == len(expected) > 500
    assert all(np.array_equal(got[k], expected[k]) for k in expected)


def _records(root: Path, job: StaticJob | None) -> list[FileRecord]:
    entries = [FileEntry(path=p.relative_to(root).as_posix(), abs_path=p, size=p.stat().st_size,
                         mtime_ns=p.stat().st_mtime_ns)
               for p in sorted((root / "pkg").glob("*.py"))[:3]]
    from indexer.build import IndexOptions

    records = process_batch(entries, IndexOptions(), job)
    assert all(isinstance(r, FileRecord) for r in records)
    return [r for r in records if isinstance(r, FileRecord)]


def test_a_worker_whose_tier_is_not_the_writers_returns_no_vectors_and_the_index_is_complete(
        tmp_path: Path) -> None:
    root = _many_files(tmp_path / "repo")
    right = StaticJob("hashing", HashingEmbedder(32).model_id)
    assert all(r.static is not None and r.static[0] == right.model_id
               for r in _records(root, right))
    assert all(r.static is None for r in _records(root, StaticJob("hashing", "another-table")))
    # a tier no worker can load (here: another dimension than the static fake's) is
    # embedded by the writer, every chunk of it
    embedder = HashingEmbedder(24)
    assert worker_spec(embedder) is None
    got, expected = _build_in_workers(root, tmp_path / "idx", embedder)
    assert len(got) == len(expected) >= 80
    assert all(np.array_equal(got[k], expected[k]) for k in expected)
    assert sum(len(c) for c in embedder.calls) == 2 * len(expected)  # the build, the check


@needs_model
def test_a_worker_never_distils_a_table_that_is_not_cached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.embed import load_static_embedder

    spec = worker_spec(load_static_embedder())
    assert spec is not None
    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(EmbedderError, match="not cached"):
        load_cached_static_tier(spec)
