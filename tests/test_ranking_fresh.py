"""An index that went through updates ranks exactly as a fresh build of the same files.

Compared: the full ranked lists (path, lines, symbol, score) of 40 varied `search_code`
queries, lexical and hybrid (static tier, hashing embedder), between a fresh index of a
tree and an index of the same tree that went through branch switches, edits, deletions and
a `kill -9` mid-index before a resumed `sextant index`, or through a server's watcher.
What made them differ: deleted documents in tantivy's BM25 statistics (compaction), equal
scores ordered by chunk id or insertion order (`tools.ties`), and the file rank's float
sums following the order edges were written in.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from indexer.build.pipeline import index_repository, update_paths
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from indexer.store import search_tables
from tests.conftest import REPO_ROOT
from tests.test_crash import run_then_kill, triggers
from tools.search import search_code
from tools.status import index_status

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

LONG = ("When a blueprint registers an error handler and the app also registers one for the "
        "same exception, which handler runs for a request to a blueprint route? I expected "
        "the blueprint handler but the app handler seems to win when the exception is raised "
        "from a before_request function, and the session cookie is not saved afterwards.")
TRACE = ('Traceback (most recent call last):\n  File "src/flask/app.py", line 1498, in '
         'wsgi_app\n    response = self.full_dispatch_request()\n  File "src/flask/app.py", '
         'line 917, in full_dispatch_request\n    rv = self.handle_user_exception(e)\n'
         "KeyError: 'user_id'")
QUERIES: tuple[tuple[str, dict[str, Any]], ...] = tuple((q, {}) for q in (
    "route", "session cookie", "json provider", "app context", "blueprint register",
    "url_for", "Flask.route", "send_file", "config from_mapping", "test client",
    "how are errors handled", "template rendering jinja", "request teardown", "signals",
    "secure cookie session interface", "get_json", "abort 404", "redirect", "logging",
    "make_response", "static files", "cli command", "environment variables", "async view",
    "method view dispatch", "json dumps", "stream_with_context", "before_request",
    "register_error_handler", "url converter", "debug mode", "app.run host port",
    "tagged json serializer", "werkzeug exceptions", "class Flask(App)", "raise RuntimeError",
    LONG, TRACE)) + (("session", {"path": "src/flask/*"}), ("config", {"language": "python"}))
MODES = ("lexical", "hybrid")
OPTIONS = LiveOptions(static=True, model="hashing")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root,
                   check=True, capture_output=True)


def make_branch(root: Path, name: str, seed: int) -> None:
    """A branch off `main` that edits 40 Python files (copied code: equal scores), deletes
    15 and adds 10."""
    rng = random.Random(seed)
    git(root, "checkout", "-q", "-b", name, "main")
    py = sorted(p for p in root.rglob("*.py") if ".git" not in p.parts)
    for i, path in enumerate(rng.sample(py, 40)):
        donor = rng.choice(py).read_text()[:2000]
        path.write_text(path.read_text() + f"\n\ndef {name}_session_route_{i}(app, request):\n"
                        "    '''Register a blueprint route for the session cookie.'''\n"
                        "    return app.json.dumps(request)\n" + donor)
    for path in rng.sample(py, 15):
        path.unlink(missing_ok=True)
    for i in range(10):
        (root / f"src/flask/{name}_added_{i}.py").write_text(
            f"class {name.title()}Config{i}:\n    '''Config loading from env and a json file.'''\n"
            "    def from_mapping(self, mapping):\n        return dict(mapping)\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", name)


@pytest.fixture
def flask_git(copy_corpus: Callable[[str], Path]) -> Path:
    """flask as a git repository: `main` is the corpus, `other` and `third` change it."""
    root = copy_corpus("flask")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "corpus")
    make_branch(root, "other", 1)
    make_branch(root, "third", 2)
    git(root, "checkout", "-q", "main")
    return root


@contextmanager
def opened(root: Path, index_dir: Path) -> Iterator[LiveIndex]:
    with LiveIndex(RepoIndex(IndexPaths.for_repo(root, index_dir)), OPTIONS) as live:
        assert live.attach_static()
        yield live


def ranked(live: LiveIndex) -> dict[str, list[tuple[object, ...]]]:
    """Every query's whole answer in each mode, as what a user sees of it, and the file
    rank of the import graph (a prior of every answer) to the last bit."""
    out = {"file rank": sorted(search_tables(live.store).rank.items())}
    for mode in MODES:
        for query, kw in QUERIES:
            result = search_code(live, query, k=20, mode=mode, max_tokens=100_000, **kw)
            out[f"{mode}: {query[:40]} {kw}"] = [
                (h.path, h.start_line, h.end_line, h.symbol, h.score) for h in result.results]
    return out


def fresh_ranking(root: Path, index_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    with opened(root, index_dir) as live:
        index_repository(live.index)
        return ranked(live)


def differing(a: dict[str, list[tuple[object, ...]]],
              b: dict[str, list[tuple[object, ...]]]) -> list[str]:
    assert a.keys() == b.keys() and all(a.values())
    return [q for q in a if a[q] != b[q]]


def sextant_index(root: Path, index_dir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_server.cli", "index", str(root), "--no-embed",
         "--index-dir", str(index_dir), "--json"],
        cwd=REPO_ROOT, capture_output=True, timeout=600, check=True)
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def test_after_branch_switches_edits_and_a_kill_mid_index_search_ranks_exactly_as_a_fresh_build(
    flask_git: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEXTANT_STATIC", "1")  # the CLI runs give chunks static vectors too
    monkeypatch.setenv("SEXTANT_MODEL", "hashing")
    root, index_dir = flask_git, tmp_path / "updated"
    git(root, "checkout", "-q", "other")
    with opened(root, index_dir) as live:
        index_repository(live.index)
    for i, branch in enumerate(("main", "third", "other", "main", "third", "other", "third")):
        git(root, "checkout", "-q", branch)
        if i % 2 == 0:
            with opened(root, index_dir) as live:
                index_repository(live.index)
    git(root, "checkout", "-q", "main")
    edit_delete_add(root)  # edits outside git, indexed, then undone
    with opened(root, index_dir) as live:
        index_repository(live.index)
    git(root, "checkout", "-q", "--", ".")
    git(root, "clean", "-qfd", "src")
    paths = IndexPaths.for_repo(root, index_dir)
    assert run_then_kill(root, paths.base, triggers(paths)["store_commit"], 300)
    sextant_index(root, index_dir)  # resumed

    updated = ranked_at(root, index_dir)
    fresh = fresh_ranking(root, tmp_path / "fresh")
    assert differing(fresh, updated) == []


def ranked_at(root: Path, index_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    with opened(root, index_dir) as live:
        assert live.lexical.deleted_docs() == 0
        return ranked(live)


EDITED = ("src/flask/views.py", "src/flask/sessions.py", "src/flask/helpers.py",
          "src/flask/signals.py", "src/flask/logging_extra.py")


def edit_delete_add(root: Path) -> None:
    """Edits of a few files (`EDITED`) that leave deleted documents in the lexical index."""
    for rel in EDITED[:3]:
        path = root / rel
        path.write_text(path.read_text() + "\n\ndef session_route_helper(app):\n"
                        "    '''Look up the session cookie of a blueprint route.'''\n"
                        "    return app\n")
    (root / "src/flask/signals.py").unlink()
    (root / "src/flask/logging_extra.py").write_text("def logging_route():\n    pass\n")


def test_status_shows_deleted_documents_pending_compaction_until_index_compacts(
    copy_corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    root = copy_corpus("flask")
    with LiveIndex(RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx"))) as live:
        index_repository(live.index)
        assert index_status(live).lexical_deleted_docs == 0
        assert index_status(live).lexical_compaction == "none"
        edit_delete_add(root)
        update_paths(live.index, list(EDITED))
        status = index_status(live)
        assert status.lexical_deleted_docs > 0
        assert status.lexical_compaction == "pending"
        chunks = status.chunks
        assert live.index.compact_lexical()
        status = index_status(live)
        assert (status.lexical_deleted_docs, status.lexical_compaction) == (0, "none")
        assert live.lexical.num_docs() == chunks
        assert live.lexical.generation == live.store.generation


@pytest.mark.parametrize("apart", [False, True], ids=["in-process", "apart"])
def test_a_server_compacts_once_edits_are_quiet_and_then_ranks_as_a_fresh_build(
    copy_corpus: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    apart: bool,
) -> None:
    """`apart`: the rebuild in a process of its own, as moby-sized ones are."""
    import indexer.disk.repo

    monkeypatch.setattr(indexer.disk.repo, "REBUILD_APART_FROM", 0 if apart else 10**9)
    root = copy_corpus("flask")
    options = LiveOptions(static=True, model="hashing", watch=True)
    with LiveIndex(RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")), options) as live:
        live.start()
        assert live.ready.wait(120)
        before = live.compactor.compactions
        edit_delete_add(root)  # leaves deleted documents (the test above)
        assert live.wait_fresh(EDITED, 60)
        # not `deleted_docs() > 0` here: the compaction may already have run (2 s after the
        # last write; a loaded machine can take that long to come back from wait_fresh)
        assert live.wait_compacted(120)
        assert live.compactor.compactions > before
        assert live.lexical.deleted_docs() == 0
        assert index_status(live).lexical_compaction == "none"
        served = ranked(live)
    assert differing(fresh_ranking(root, tmp_path / "fresh"), served) == []


def hit_ids(index: RepoIndex, query: str) -> frozenset[int]:
    return frozenset(cid for cid, _ in index.lexical.search(query, 100_000))


CRASH = """
import os, sys
from pathlib import Path
import indexer.lexical.bm25 as bm25
from indexer.disk.repo import IndexPaths, RepoIndex

def crash(directory, staged):
    if sys.argv[3] == "between_renames":
        directory.rename(bm25._sibling(directory, bm25._OLD))
    os._exit(9)

bm25._swap = crash
with RepoIndex(IndexPaths.for_repo(Path(sys.argv[1]), Path(sys.argv[2]))) as index:
    index.compact_lexical()
"""


@pytest.mark.parametrize("moment", ["before_swap", "between_renames"])
def test_a_crash_during_compaction_leaves_an_index_that_serves_every_chunk(
    copy_corpus: Callable[[str], Path], tmp_path: Path, moment: str
) -> None:
    root = copy_corpus("flask")
    paths = IndexPaths.for_repo(root, tmp_path / "idx")
    with RepoIndex(paths) as index:
        index_repository(index)
        edit_delete_add(root)
        index_repository(index)
        deleted = index.lexical.deleted_docs()
        before = {q: hit_ids(index, q) for q, _ in QUERIES[:10]}
    assert deleted > 0
    crashed = subprocess.run([sys.executable, "-c", CRASH, str(root), str(paths.base), moment],
                             cwd=REPO_ROOT, capture_output=True, timeout=300, check=False)
    assert crashed.returncode == 9, crashed.stderr
    assert paths.lexical.with_name("lexical.next").exists()  # it died mid-compaction
    with RepoIndex(paths) as index:
        chunks = index.store.count_chunks()
        assert index.lexical.num_docs() == chunks
        assert index.lexical.generation == index.store.generation
        # the old index (its deleted documents) or the new one, whole
        assert index.lexical.deleted_docs() == (deleted if moment == "before_swap" else 0)
        assert {q: hit_ids(index, q) for q in before} == before  # scores: see above
    assert sorted(p.name for p in paths.dir.glob("lexical*")) == ["lexical"]


def test_a_kill_mid_compaction_of_sextant_index_loses_nothing_and_the_next_run_compacts(
    copy_corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    root = copy_corpus("flask")
    paths = IndexPaths.for_repo(root, tmp_path / "idx")
    sextant_index(root, paths.base)
    edit_delete_add(root)
    staged = paths.lexical.with_name("lexical.next")
    assert run_then_kill(root, paths.base, staged.exists, 300)
    with RepoIndex(paths) as index:
        assert index.lexical.num_docs() == index.store.count_chunks()
        assert index.lexical.search("session_route_helper", 10)
    assert sextant_index(root, paths.base)["lexical_compacted"]
    with RepoIndex(paths) as index:
        assert index.lexical.deleted_docs() == 0
        assert index.lexical.num_docs() == index.store.count_chunks()


def test_equal_scores_come_in_path_and_line_order_whatever_the_chunk_ids(tmp_path: Path) -> None:
    """Two builds that write the same files in opposite orders give their chunks other ids
    and tantivy documents other addresses; equal scores still rank by path, then line."""
    files = {f"pkg/mod_{i:02d}.py": f"def handler(request):\n    return request.session_token"
             f"  # v{i:02d}\n" for i in range(30)}
    answers = []
    for order in (sorted(files), sorted(files, reverse=True)):
        root = tmp_path / f"repo-{order[0][-5:-3]}"
        with RepoIndex(IndexPaths.for_repo(root, root / ".idx")) as index:
            for rel in order:  # one update per file: ids follow the order written
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(files[rel])
                update_paths(index, [rel])
            live = LiveIndex(index)
            answers.append([h.path for h in search_code(live, "session token", k=12,
                                                        mode="lexical").results])
    assert answers[0] == answers[1] == sorted(files)[:12]


def test_tie_completion_stops_at_its_cap_when_everything_ties() -> None:
    """A word in every chunk ties thousands of hits at the cut-off: completing the tie
    fetches a bounded number of times and at most `TIE_CAP` beyond the limit."""
    from tools.ties import TIE_CAP, complete_ties

    sizes: list[int] = []

    def fetch(n: int) -> list[tuple[int, float]]:
        sizes.append(n)
        return [(i, 1.0) for i in range(min(n, 100_000))]

    hits = complete_ties(fetch, 60)
    assert len(hits) == 60 + TIE_CAP and max(sizes) == 60 + TIE_CAP
    assert len(sizes) <= 8
