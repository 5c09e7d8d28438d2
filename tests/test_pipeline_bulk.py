"""Bulk runs (>= 512 changed files): DuckDB bulk settings, a warm worker pool started during
the walk, and the final lexical commit overlapping the graph build must leave the same,
searchable index as any other run."""

from __future__ import annotations

from pathlib import Path

from indexer.build import pipeline
from indexer.build.pipeline import index_repository, update_paths
from indexer.disk.repo import IndexPaths, RepoIndex

_FILES = pipeline._BULK_FILES + 20


def _tree(root: Path, tag: str) -> None:
    for i in range(_FILES):
        (root / f"pkg{i % 7}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{i % 7}" / f"mod{i}.py").write_text(
            f"def {tag}_function_{i}(value):\n    return value + {i}\n")


def _searchable(index: RepoIndex, name: str) -> bool:
    """The best lexical hit for `name` is the chunk that defines it."""
    hits = index.lexical.search(name, 1)
    if not hits:
        return False
    row = index.store.query_one("SELECT text FROM chunks WHERE chunk_id=?", [hits[0][0]])
    return row is not None and f"def {name}(" in row[0]


def test_bulk_build_and_bulk_update_are_committed_and_searchable(tmp_path: Path) -> None:
    root, index_dir = tmp_path / "repo", tmp_path / "index"
    _tree(root, "first")
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        stats = index_repository(index, pipeline.IndexOptions(workers=2))
        assert stats.indexed == _FILES
        assert index.lexical.generation == index.store.generation == stats.generation
        assert index.lexical.num_docs() == stats.chunks
        assert _searchable(index, f"first_function_{_FILES - 1}")
        assert index.store.get_meta("graph_generation") is not None
        assert index.store.query_one("SELECT current_setting('threads')") == (2,)

        _tree(root, "second")  # every file changes: update_paths takes the bulk path too
        paths = [p.relative_to(root).as_posix() for p in root.rglob("*.py")]
        stats = update_paths(index, paths, pipeline.IndexOptions(workers=2))
        assert stats.indexed == _FILES
        assert index.lexical.generation == index.store.generation
        assert _searchable(index, f"second_function_{_FILES - 1}")
        assert not _searchable(index, f"first_function_{_FILES - 1}")
        assert index.lexical.num_docs() == index.store.query_one("SELECT count(*) FROM chunks")[0]


def test_a_failed_deferred_commit_is_raised(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, index_dir = tmp_path / "repo", tmp_path / "index"
    _tree(root, "x")
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        real = index.lexical.update

        def update(docs, deleted, generation, *, commit=True):  # type: ignore[no-untyped-def]
            if commit and not docs:
                raise RuntimeError("disk full")
            return real(docs, deleted, generation, commit=commit)

        monkeypatch.setattr(index.lexical, "update", update)
        try:
            index_repository(index, pipeline.IndexOptions(workers=2))
        except RuntimeError as exc:
            assert "disk full" in str(exc)
        else:
            raise AssertionError("the commit failure was swallowed")
