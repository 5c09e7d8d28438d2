"""Incremental updates converge to what a fresh index of the same tree holds.

`snapshot` is the comparison used here and by the crash tests: files with content hashes,
symbols, chunks (by text hash), the lexical document count, and the hits of a few lexical
queries (as chunk locations, since chunk ids differ between builds).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from indexer.build import pipeline
from indexer.build.pipeline import index_repository, update_paths
from indexer.disk.repo import IndexPaths, RepoIndex

QUERIES = ("route", "session cookie", "json provider", "app context", "blueprint register")


@dataclass(frozen=True)
class Snapshot:
    files: frozenset[tuple[str, str]]
    symbols: tuple[tuple[object, ...], ...]
    chunks: tuple[tuple[object, ...], ...]
    lexical_docs: int
    hits: dict[str, frozenset[tuple[object, ...]]]


def snapshot_of(index: RepoIndex, queries: tuple[str, ...] = QUERIES) -> Snapshot:
    store = index.store
    chunks = store.query("SELECT c.chunk_id, f.path, c.start_line, c.end_line, c.text_hash "
                         "FROM chunks c JOIN files f USING (file_id)")
    where = {r[0]: r[1:] for r in chunks}
    return Snapshot(
        files=frozenset(store.query("SELECT path, content_hash FROM files")),
        symbols=tuple(sorted(store.query(
            "SELECT f.path, s.qualname, s.kind, s.start_line, s.end_line "
            "FROM symbols s JOIN files f USING (file_id)"))),
        chunks=tuple(sorted(r[1:] for r in chunks)),
        lexical_docs=index.lexical.num_docs(),
        hits={q: frozenset(where[cid] for cid, _ in index.lexical.search(q, 100_000))
              for q in queries},
    )


def snapshot(root: Path, index_dir: Path) -> Snapshot:
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        return snapshot_of(index)


def fresh_snapshot(root: Path, index_dir: Path) -> Snapshot:
    shutil.rmtree(index_dir, ignore_errors=True)
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        index_repository(index)
        return snapshot_of(index)


def test_reconcile_picks_up_offline_edits_without_rewriting_unchanged_files(
    copy_corpus: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_corpus("flask")
    index_dir = tmp_path / "idx"
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        first = index_repository(index)
    assert first.indexed == first.files > 100
    views = root / "src/flask/views.py"
    views.write_text(views.read_text() + "\n\ndef offline_added_function():\n    return 1\n")
    (root / "src/flask/signals.py").unlink()
    (root / "src/flask/brand_new.py").write_text("def brand_new():\n    return 2\n")
    touched = root / "src/flask/globals.py"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    parsed: list[str] = []
    real_chunk_source = pipeline._chunk_source
    monkeypatch.setattr(pipeline, "_chunk_source", lambda path, *args: (
        parsed.append(path), real_chunk_source(path, *args))[1])
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        second = index_repository(index)
        assert (second.indexed, second.deleted) == (2, 1)
        assert second.unchanged == second.files - 2  # the touched file is read, not rewritten
        # ... and only read and hashed: not parsed, chunked or embedded again
        assert sorted(parsed) == ["src/flask/brand_new.py", "src/flask/views.py"]
        names = {r[0] for r in index.store.query("SELECT qualname FROM symbols")}
        assert {"offline_added_function", "brand_new"} <= names
        state = index.store.file_states()["src/flask/globals.py"]
        assert state[1] == touched.stat().st_mtime_ns  # new stat recorded: next run skips it
        incremental = snapshot_of(index)
    assert incremental == fresh_snapshot(root, tmp_path / "fresh")


def test_a_run_with_no_changes_rewrites_nothing_and_keeps_the_generation(
    copy_corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    root = copy_corpus("flask")
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")) as index:
        first = index_repository(index)
        again = index_repository(index)
    assert again.indexed == again.deleted == 0
    assert again.unchanged == first.files and again.generation == first.generation


def test_an_index_built_with_other_extraction_rules_reads_every_file_again_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "errors.go").write_text(
        'package pkg\n\nvar (\n\tErrClosed = New("closed")\n)\n')
    (root / "pkg" / "util.go").write_text("package pkg\n\nfunc Helper() int { return 1 }\n")
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")) as index:
        index_repository(index)
        # as an older version left it: its rules missed ErrClosed, and said so in the store
        index.store.query("DELETE FROM symbols WHERE name = 'ErrClosed'")
        index.store.set_meta("extraction_rules", "1")
        parsed: list[str] = []
        real_chunk_source = pipeline._chunk_source
        monkeypatch.setattr(pipeline, "_chunk_source", lambda path, *args: (
            parsed.append(path), real_chunk_source(path, *args))[1])
        upgraded = index_repository(index)
        assert (upgraded.indexed, upgraded.unchanged) == (2, 0)
        assert sorted(parsed) == ["pkg/errors.go", "pkg/util.go"]
        names = {r[0] for r in index.store.query("SELECT name FROM symbols")}
        assert {"ErrClosed", "Helper"} <= names
        again = index_repository(index)  # once: the rules are recorded
        assert (again.indexed, again.unchanged) == (0, 2)


# -- property: random edit sequences --------------------------------------------------------

FILES = ("a.py", "b.py", "pkg/c.py", "pkg/sub/d.py", "notes.md")
NAMES = ("alpha", "beta", "gamma", "delta", "route_helper", "session_cookie")


@st.composite
def sources(draw: st.DrawFn) -> str:
    parts = []
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=4, unique=True)):
        if draw(st.booleans()):
            parts.append(f"def {name}(x):\n    return x + {draw(st.integers(0, 9))}\n")
        else:
            parts.append(f"class {name.title()}:\n    def {name}(self):\n        pass\n")
    return "\n\n".join(parts)


class IncrementalMachine(RuleBasedStateMachine):
    """Edits a small tree; after each, `update_paths` on what changed; the result must equal
    a fresh index of the tree."""

    @initialize()
    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="sextant-prop-"))
        self.root = self.tmp / "repo"
        self.root.mkdir()
        self.index = RepoIndex(IndexPaths.for_repo(self.root, self.tmp / "idx"))

    def _present(self) -> list[str]:
        return [f for f in FILES if (self.root / f).exists()]

    def _write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    @rule(rel=st.sampled_from(FILES), text=sources())
    def create_or_modify(self, rel: str, text: str) -> None:
        self._write(rel, text)
        update_paths(self.index, [rel])

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        present = self._present()
        if present:
            rel = data.draw(st.sampled_from(present))
            (self.root / rel).unlink()
            update_paths(self.index, [rel])

    @rule(data=st.data(), dest=st.sampled_from(FILES))
    def rename(self, data: st.DataObject, dest: str) -> None:
        present = self._present()
        if present:
            src = data.draw(st.sampled_from(present))
            (self.root / dest).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.root / src, self.root / dest)
            update_paths(self.index, [src, dest])

    @invariant()
    def indexed_files_are_the_files_on_disk(self) -> None:
        if hasattr(self, "index"):
            assert set(self.index.store.file_states()) == set(self._present())

    def teardown(self) -> None:
        if not hasattr(self, "index"):
            return
        try:
            incremental = snapshot_of(self.index, ("alpha", "route helper", "session"))
            self.index.close()
            with RepoIndex(IndexPaths.for_repo(self.root, self.tmp / "fresh")) as fresh:
                index_repository(fresh)
                assert incremental == snapshot_of(fresh, ("alpha", "route helper", "session"))
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


IncrementalMachine.TestCase.settings = settings(
    max_examples=20, stateful_step_count=10, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_incremental_updates_equal_a_fresh_index = IncrementalMachine.TestCase
