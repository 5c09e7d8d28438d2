"""The index directory: the default one is always the index's, whatever a crash or a user
left in it, and a folder of the repository holding other files is never written into.

A review found that `REPO/.sextant/v1` without its `.gitignore` and without a store (a crash
between making the folder and the store, or a store and `.gitignore` deleted by hand) was
refused as "a folder of the repository with other files in it", with advice to leave
`--index-dir` out: the folder just refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.disk import IndexDirError, IndexPaths


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/a.py").write_text("def alpha():\n    return 1\n")
    return root


def test_the_default_index_dir_left_half_made_is_taken_and_ignores_itself(
        tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / ".sextant/v1").mkdir(parents=True)  # no .gitignore, no store
    paths = IndexPaths.for_repo(root)
    paths.ensure()
    assert (root / ".sextant/.gitignore").read_text().strip() == "*"


def test_a_folder_of_the_repository_with_files_is_refused_and_left_as_it_was(
        tmp_path: Path) -> None:
    root = _repo(tmp_path)
    with pytest.raises(IndexDirError, match="other files"):
        IndexPaths.for_repo(root, root / "pkg").ensure()
    assert sorted(p.name for p in (root / "pkg").iterdir()) == ["a.py"]
