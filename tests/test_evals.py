"""The evaluation harness itself: metrics on hand-computed examples, docstring stripping,
commit sampling on a tiny git repository, and one end-to-end run through MCP."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from evals.harness import Outcome, Session, evaluate, session
from evals.sets import commits, docstrings, is_source
from tools.retrieval_metrics import QueryScore, Span, covers, score_ranked, summarize


def test_metrics_match_hand_computed_values() -> None:
    # query 1: gold {a, b}; a at rank 2, b at rank 7 -> RR 1/2, R@5 1/2, R@10 1
    # query 2: gold {c}; not found -> RR 0, R@k 0
    # query 3: gold {d}; rank 1 -> RR 1
    q1 = score_ranked(list("xaxxxxb"), ["a", "b"], lambda r, g: r == g)
    q2 = score_ranked(list("xyz"), ["c"], lambda r, g: r == g)
    q3 = score_ranked(list("dxx"), ["d"], lambda r, g: r == g)
    assert (q1.first_rank, q1.found_at) == (2, [2, 7])
    m = summarize([q1, q2, q3])
    assert m["MRR@10"] == pytest.approx((0.5 + 0 + 1) / 3, abs=1e-4)
    assert m["R@5"] == pytest.approx((0.5 + 0 + 1) / 3, abs=1e-4)
    assert m["R@10"] == pytest.approx((1 + 0 + 1) / 3, abs=1e-4)
    assert m["Acc@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["Acc@5"] == pytest.approx(2 / 3, abs=1e-4)


def test_mrr_at_10_ignores_hits_below_rank_10() -> None:
    assert summarize([QueryScore(first_rank=11, found_at=[11])])["MRR@10"] == 0.0


def test_a_chunk_covers_its_function_but_a_whole_file_does_not() -> None:
    gold = Span("a.py", 10, 20)
    assert covers(Span("a.py", 12, 20), gold)  # a window of the function
    assert covers(Span("a.py", 8, 22), gold)  # the function with its decorator and a gap
    assert not covers(Span("a.py", 1, 400), gold)  # the whole file
    assert not covers(Span("b.py", 10, 20), gold)


PY_SOURCE = '''import os


class Store:
    """A store."""

    def load(self, key):
        """Load the value stored under a key from disk.

        More details here.
        """
        return os.environ.get(key)

    def only_doc(self):
        """Return nothing at all, only documented here."""


def helper():
    """Short."""
    return 1
'''


def test_stripping_a_python_docstring_keeps_the_function_valid_and_finds_its_new_span(
        tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "store.py").write_text(PY_SOURCE)
    queries = docstrings.build(src, tmp_path / "copy", 10, seed=0, name="t",
                               languages=("python",))
    texts = {q.meta["qualname"]: q for q in queries}
    assert set(texts) == {"Store.load", "Store.only_doc"}  # "Short." has too few words
    assert texts["Store.load"].text == "Load the value stored under a key from disk."
    stripped = (tmp_path / "copy" / "pkg" / "store.py").read_text()
    ast.parse(stripped)
    assert "Load the value" not in stripped and "only documented" not in stripped
    assert '"""Short."""' in stripped and '"""A store."""' in stripped
    lines = stripped.splitlines()
    load = texts["Store.load"].gold[0]
    assert lines[load.start - 1].strip() == "def load(self, key):"
    assert lines[load.end - 1].strip() == "return os.environ.get(key)"
    assert (src / "pkg" / "store.py").read_text() == PY_SOURCE  # the original is untouched

PROPERTY_SOURCE = '''class Response:
    @property
    def content_md5(self):
        """The Content-MD5 header, an MD5 digest of the response body."""
        return self.headers.get("Content-MD5")

    @content_md5.setter
    def content_md5(self, value):
        self.headers["Content-MD5"] = value

    @content_md5.deleter
    def content_md5(self):
        del self.headers["Content-MD5"]
'''


def test_a_propertys_docstring_has_its_getter_for_gold_not_the_last_definition_of_its_name(
        tmp_path: Path) -> None:
    """A property's getter, setter and deleter share a name; the docstring is the getter's,
    so the gold is the getter (the set once took the last definition of the name)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "response.py").write_text(PROPERTY_SOURCE)
    queries = docstrings.build(tmp_path / "src", tmp_path / "copy", 10, seed=0, name="t",
                               languages=("python",))
    assert [q.qid for q in queries] == ["t:response.py:Response.content_md5"]
    lines = (tmp_path / "copy" / "response.py").read_text().splitlines()
    gold = queries[0].gold[0]
    assert lines[gold.start - 1].strip() == "@property"
    assert lines[gold.end - 1].strip() == 'return self.headers.get("Content-MD5")'



GO_SOURCE = """package gin

// Default returns an Engine instance with the Logger and Recovery middleware attached.
// More text.
func Default() *Engine {
\treturn New()
}

// Next should be used only inside middleware and executes the pending handlers.
func (c *Context) Next() {
\tc.index++
}
"""


def test_stripping_a_go_doc_comment_drops_the_leading_name_from_the_query(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "gin.go").write_text(GO_SOURCE)
    queries = docstrings.build(tmp_path / "src", tmp_path / "copy", 10, seed=0, name="t",
                               languages=("go",))
    by_name = {q.meta["qualname"]: q for q in queries}
    assert by_name["Default"].text.startswith("returns an Engine instance")
    assert by_name["Context.Next"].text.startswith("should be used only inside middleware")
    stripped = (tmp_path / "copy" / "gin.go").read_text().splitlines()
    assert not any(line.startswith("//") for line in stripped)
    nxt = by_name["Context.Next"].gold[0]
    assert stripped[nxt.start - 1].startswith("func (c *Context) Next()")
    assert stripped[nxt.end - 1] == "}"


TYPES_PY = '''import dataclasses


@dataclasses.dataclass
class Limits:
    """Configuration for limits on the connections a pool keeps open.

    More text.
    """

    max_connections: int = 10


class Marker:
    """A class whose docstring is its whole body, kept valid."""


class Big:
    """A large class whose answer is its head, not its methods."""

    size = 1

''' + "".join(f"""
    def method_{i}(self, value):
        total = value
        for step in range({i} + 10):
            total = total * step + len(str(step)) - {i}
        return total
""" for i in range(12))

TYPES_GO = """package pool

// PoolLimits configures the connections a pool keeps open at once.
type PoolLimits struct {
\tMax int
}

// Handler is a function that serves one request of the pool.
type Handler func(r *Request) error

// Alias names another type and is left out of the set.
type Alias = Handler
"""


def test_the_type_set_asks_for_classes_and_go_types_by_their_docstrings(tmp_path: Path) -> None:
    """`kind="type"`: a class's docstring removed (`pass` when it was the whole body), the
    gold the whole class when it fits one chunk, its head when it does not; a Go type's
    comment removed, the gold its declaration; an alias is no type of its own."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "limits.py").write_text(TYPES_PY)
    (src / "pool.go").write_text(TYPES_GO)
    queries = docstrings.build(src, tmp_path / "copy", 10, seed=0, name="t",
                               languages=("python", "go"), kind="type")
    by_name = {q.meta["qualname"]: q for q in queries}
    assert set(by_name) == {"Limits", "Marker", "Big", "PoolLimits", "Handler"}
    assert by_name["Limits"].text == (
        "Configuration for limits on the connections a pool keeps open.")
    assert by_name["Handler"].text.startswith("is a function that serves")
    py = (tmp_path / "copy" / "limits.py").read_text()
    ast.parse(py)
    assert "Configuration for limits" not in py and "whole body" not in py
    lines = py.splitlines()
    limits = by_name["Limits"].gold[0]
    assert lines[limits.start - 1] == "@dataclasses.dataclass"
    assert lines[limits.end - 1].strip() == "max_connections: int = 10"
    big = by_name["Big"].gold[0]  # twelve methods: more than one chunk holds, so its head
    assert lines[big.start - 1] == "class Big:" and lines[big.end - 1].strip() in ("", "size = 1")
    assert not any("def " in line for line in lines[big.start - 1:big.end])
    go = (tmp_path / "copy" / "pool.go").read_text().splitlines()
    assert not any(line.startswith("//") for line in go[:-2])  # the alias keeps its comment
    pool = by_name["PoolLimits"].gold[0]
    assert go[pool.start - 1] == "type PoolLimits struct {" and go[pool.end - 1] == "}"
    handler = by_name["Handler"].gold[0]
    assert handler.start == handler.end and go[handler.start - 1].startswith("type Handler func")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                          "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                                          "PATH": "/usr/bin:/bin"}).stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def tiny_history(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, {"pkg/core.py": "def parse_header(value):\n    return value\n",
                   "pkg/util.py": "def slugify(text):\n    return text\n"}, "initial import")
    _commit(repo, {"pkg/core.py": "def parse_header(value):\n    return value.strip()\n",
                   "tests/test_core.py": "def test_x():\n    pass\n"},
            "strip whitespace when parsing headers (#12)")
    _commit(repo, {"pkg/new.py": "X = 1\n"}, "add a brand new module here")
    _commit(repo, {"README.md": "docs\n"}, "document the project a bit")
    _commit(repo, {"pkg/util.py": "def slugify(text):\n    return text.lower()\n"}, "bump")
    _commit(repo, {"pkg/util.py": "def slugify(text):\n    return text.lower().strip()\n"},
            "slugify lowercases and strips text")
    return repo


def test_commit_sampling_keeps_commits_that_modify_source_files_only(tiny_history: Path) -> None:
    sampled = commits.sample(tiny_history / ".git", n=10, seed=0)
    subjects = [c.subject for c in sampled]
    # oldest first; PR suffix removed; added-only, docs-only, root and "bump" commits skipped
    assert subjects == ["strip whitespace when parsing headers",
                        "slugify lowercases and strips text"]
    assert sampled[0].files == ("pkg/core.py",)  # the test file is not gold
    assert is_source("pkg/core.py") and not is_source("tests/test_core.py")


def test_advancing_a_tree_between_commits_matches_a_fresh_checkout(tiny_history: Path,
                                                                   tmp_path: Path) -> None:
    git_dir = tiny_history / ".git"
    first, last = _git(tiny_history, "rev-list", "--max-parents=0", "HEAD"), "HEAD"
    tree = tmp_path / "tree"
    commits.materialize(git_dir, first, tree)
    commits.advance(git_dir, first, last, tree)
    fresh = tmp_path / "fresh"
    commits.materialize(git_dir, last, fresh)
    listing = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
    assert listing == sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*")
                             if p.is_file())
    assert (tree / "pkg/util.py").read_text() == (fresh / "pkg/util.py").read_text()


async def test_the_harness_scores_sextant_and_baselines_through_mcp(tiny_history: Path,
                                                                    tmp_path: Path) -> None:
    sampled = commits.sample(tiny_history / ".git", n=10, seed=0)
    tree = tmp_path / "tree"
    commits.materialize(tiny_history / ".git", sampled[-1].parent, tree)
    outcome = Outcome()
    async with session(tree, tmp_path / "index", dense=False) as s:
        await evaluate(s, [commits.to_query(sampled[-1], "tiny")], outcome)
    table = outcome.table()
    assert set(table) == {"file/sextant", "file/sextant-lexical", "file/sextant-files",
                          "file/bm25-files", "file/bm25-functions", "file/bm25-functions-ident"}
    assert table["file/sextant"]["Acc@1"] == 1.0  # "slugify" names pkg/util.py's function
    assert outcome.took_ms


async def test_a_replayed_tree_searches_its_mirrors_history_up_to_its_commit(
        tiny_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The written-out tree has no `.git`: its history is the mirror's up to the commit it
    was written out at, as a user's is up to HEAD; `SEXTANT_HISTORY=0` turns it off here too."""
    git_dir = tiny_history / ".git"
    sampled = commits.sample(git_dir, n=10, seed=0)
    tree = tmp_path / "tree"
    commits.materialize(git_dir, sampled[-1].parent, tree)
    async with session(tree, tmp_path / "index", dense=False,
                       history=(git_dir, sampled[-1].parent)) as s:
        assert s.ctx.history is not None and s.ctx.history.rev == sampled[-1].parent
        # an earlier commit is there; the sampled commit's own subject is not
        assert [c.subject for _, c in s.ctx.history.similar(["whitespace"], 5)] == [
            "strip whitespace when parsing headers (#12)"]
        assert s.ctx.history.similar(["slugify"], 5) == []
        s.use_history(git_dir, "HEAD")
        assert [c.subject for _, c in s.ctx.history.similar(["slugify"], 5)] == [
            "slugify lowercases and strips text"]
        monkeypatch.setenv("SEXTANT_HISTORY", "0")
        s.use_history(git_dir, sampled[-1].parent)
        assert s.ctx.history is None


def test_a_history_missing_an_object_is_skipped_with_its_reason_not_half_scored(
        tiny_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A mirror can lack a blob an older tree needs (go-chi/chi's did): the set leaves that
    repository out with git's reason instead of the whole run stopping on a traceback."""
    import argparse

    import evals.__main__ as harness

    mirror = tmp_path / "mirrors" / "tiny" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(tiny_history),
                    str(mirror)], check=True, capture_output=True)
    sampled = commits.sample(mirror, n=10, seed=0)
    blob = _git(mirror, "rev-parse", f"{sampled[0].parent}:pkg/core.py")
    packs = list((mirror / "objects" / "pack").glob("*.pack"))
    if packs:  # unpack, so that one object can go
        for pack in packs:
            idx = pack.with_suffix(".idx")
            data = pack.read_bytes()
            pack.unlink()
            idx.unlink()
            subprocess.run(["git", "--git-dir", str(mirror), "unpack-objects", "-q"],
                           input=data, check=True, capture_output=True)
    (mirror / "objects" / blob[:2] / blob[2:]).unlink()
    with pytest.raises(commits.HistoryError, match=sampled[0].parent[:12]):
        commits.materialize(mirror, sampled[0].parent, tmp_path / "tree")
    monkeypatch.setattr(harness, "MIRRORS", tmp_path / "mirrors")
    args = argparse.Namespace(commits=10, seed=0, window=800, work=tmp_path / "work",
                              systems=None, no_static=True, no_dense=True, dense_sets="",
                              fit=0)
    with caplog.at_level("WARNING", logger="evals"):
        assert anyio.run(harness.run_commits, "tiny", args) is None
    assert any("commits/tiny skipped" in r.getMessage() and "git cannot write out"
               in r.getMessage() for r in caplog.records)


def test_sextant_eval_reports_recall_on_the_repositorys_own_commits(tiny_history: Path,
                                                                    tmp_path: Path) -> None:
    from mcp_server.cli import main

    out = subprocess.run(
        [sys.executable, "-m", "mcp_server.cli", "eval", "--repo", str(tiny_history),
         "--index-dir", str(tmp_path / "idx"), "-n", "10", "--json"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    report = json.loads(out.stdout)
    assert report["commits"] == 2 and report["recall"]["@1"] == 1.0
    assert main(["eval", "--repo", str(tmp_path), "-n", "5"]) == 1  # no history: one-line error
    assert not (tmp_path / ".sextant").exists()  # and nothing indexed


def test_a_dense_session_keeps_its_vectors_in_step_with_history(tiny_history: Path,
                                                                tmp_path: Path) -> None:
    """Each step embeds only the chunks it changed, into the vector index kept open: no
    rebuild from the cache, no vector left behind for a replaced chunk."""
    from indexer.embed import HashingEmbedder
    from indexer.live.embedding import open_vectors

    git_dir = tiny_history / ".git"
    revs = _git(tiny_history, "rev-list", "--reverse", "HEAD").split()
    tree = tmp_path / "tree"
    commits.materialize(git_dir, revs[0], tree)
    s = Session(tree, tmp_path / "index", dense=True)
    try:
        s.ctx.embedder = embedder = HashingEmbedder()
        s.ctx.vectors = open_vectors(s.index, embedder)
        for old, new in itertools.pairwise(revs):
            s.refresh()
            vectors = s.ctx.vectors
            live = [r[0] for r in s.index.store.query("SELECT chunk_id FROM chunks")]
            assert vectors is not None and len(vectors) == len(live)
            assert all(vectors.contains(c) for c in live)
            commits.advance(git_dir, old, new, tree)
        calls = len(embedder.calls)
        s.refresh()
        assert s.ctx.vectors is vectors  # the same index, updated in place
        assert len(embedder.calls) == calls + 1  # the last step's new chunk text only
    finally:
        s.close()


def test_issue_set_keeps_long_fix_descriptions_without_trailers_and_skips_bots() -> None:
    from evals.sets import issues

    body = " ".join(["The pool drops a connection when the server closes it early."] * 4)

    def record(sha: str, message: str, files: str) -> str:
        return f"\x1e{sha}\x1fp{sha}\x1f{message}\x1d\n{files}\n"

    log = (record("a1", f"Fix retry on closed pool (#12)\n\n{body}\n\nSigned-off-by: A <a@x>",
                  "M\tsrc/pool.py\nM\ttests/test_pool.py")
           + record("b2", "Short fix\n\nToo short to be an issue.", "M\tsrc/pool.py")
           + record("c3", f"Bump urllib3\n\n{body}", "M\tsrc/pool.py")
           + record("d4", f"Add module\n\n{body}", "A\tsrc/new.py"))
    found = issues.parse(log)
    assert [c.sha for c in found] == ["a1"]
    assert found[0].files == ("src/pool.py",) and found[0].parent == "pa1"
    assert found[0].subject.startswith("Fix retry on closed pool\n")
    assert "Signed-off-by" not in found[0].subject and body in found[0].subject


def test_all_at_k_counts_a_query_only_when_every_gold_item_is_in_the_first_k() -> None:
    both = QueryScore(first_rank=1, found_at=[1, 4], gold=2)
    one = QueryScore(first_rank=2, found_at=[2, 7], gold=2)
    m = summarize([both, one])
    assert m["All@5"] == 0.5 and m["All@10"] == 1.0 and m["Acc@5"] == 1.0


def test_load_test_reads_a_processes_cpu_and_bounds_closed_loop_latency() -> None:
    """The load test's CPU figures: a busy child's CPU time is read from /proc, and the
    latency bound follows Little's law (clients over the rate the CPU per call allows)."""
    import os

    from evals.load_test import _cpu_s, cpu_per_call

    code = "import sys\nx = 0\nfor i in range(3_000_000): x += i\nprint('busy')\nsys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "busy\n"
        assert (_cpu_s(child.pid) or 0.0) >= 0.05  # the loop: ~0.2 CPU-s on this machine
    finally:
        child.communicate("")
    cores = os.cpu_count() or 1
    out = cpu_per_call(server_s=6.0, clients_s=2.0, calls=100, clients=50)
    assert out["server_cpu_ms_per_call"] == 60.0 and out["clients_cpu_ms_per_call"] == 20.0
    assert out["capacity_calls_per_s"] == round(cores / 0.08, 1)
    assert out["least_mean_latency_s"] == round(50 / (cores / 0.08), 2)
    assert cpu_per_call(None, 1.0, 10, 5) == {} and cpu_per_call(1.0, 1.0, 0, 5) == {}


def test_the_memory_benchmarks_count_the_processes_under_the_server() -> None:
    """A server's parse workers and multiprocessing's tracker are its memory too: the
    benchmarks read the RSS of the process and of every process under it (a child's child
    included), and say how many."""
    from evals.load_test import _rss_kb, descendants, tree_rss_kb

    code = ("import subprocess, sys\n"
            "kid = subprocess.Popen([sys.executable, '-c', "
            "'import sys; b = bytearray(40 << 20); b[::4096] = b\"x\" * len(b[::4096]); "
            "print(1, flush=True); sys.stdin.read()'], stdin=subprocess.PIPE, "
            "stdout=subprocess.PIPE, text=True)\n"
            "kid.stdout.readline()\nprint(kid.pid, flush=True)\nsys.stdin.read()\n"
            "kid.communicate('')\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        assert descendants(parent.pid) == [grandchild]
        total, processes = tree_rss_kb(parent.pid)
        own, kid = _rss_kb(parent.pid, "VmRSS"), _rss_kb(grandchild, "VmRSS")
        assert processes == 2 and own is not None and kid is not None and total is not None
        assert kid > 40 << 10  # its 40 MB touched
        assert total >= own + (40 << 10)
        peak = anyio.run(_sampled_peak, parent.pid)
        assert peak["processes"] == 2 and peak["tree_mb"] >= 40
    finally:
        parent.communicate("")
    assert tree_rss_kb(parent.pid) == (None, 0)


async def _sampled_peak(pid: int) -> dict[str, int]:
    """`bench_memory`'s sampler of the tree's peak, stopped once it has sampled."""
    from evals.bench_memory import _tree_peak

    stop, peak = anyio.Event(), {}
    async with anyio.create_task_group() as tg:
        tg.start_soon(_tree_peak, pid, stop, peak)
        with anyio.fail_after(60):
            while not peak:
                await anyio.sleep(0.05)
        stop.set()
    return peak


def test_the_load_tests_gil_probe_sees_a_thread_holding_the_gil(tmp_path: Path) -> None:
    """`--gil-probe`: a process started with the probe's directory on its path records how
    long it waited to run again after each 2 ms sleep; beside a thread running Python that
    is about the switch interval (5 ms), read back as percentiles over the run's seconds."""
    import os
    import time

    from evals.load_test import gil_waits

    probe = tmp_path / "probe.jsonl"
    code = ("import time\nend = time.time() + 3\nwhile time.time() < end:\n"
            "    sum(range(1000))\n")
    env = {**os.environ, "SEXTANT_GIL_PROBE": str(probe), "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "evals" / "gil_probe"),
         os.environ.get("PYTHONPATH", "")])}
    started = time.time()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    waits = gil_waits(probe, started, time.time())
    assert waits["samples"] >= 20 and waits["p50"] >= 1.0, waits
    assert gil_waits(probe, 0.0, 1.0) == {} and gil_waits(tmp_path / "none", 0, 1e12) == {}


def test_kept_retrievals_rank_each_commit_offline_as_search_does(tiny_history: Path,
                                                                 tmp_path: Path) -> None:
    """`evals.retrievals`: replay once, then re-rank each commit from what was kept (after a
    pickle round trip, as the tool stores it), giving `search_code`'s files."""
    import pickle

    from evals import retrievals
    from tools.search import search_code

    git_dir = tiny_history / ".git"
    sampled = commits.sample(git_dir, n=10, seed=0)
    kept = pickle.loads(pickle.dumps(retrievals.dump(git_dir, sampled, tmp_path / "w", False)))
    assert [k.subject for k in kept] == [c.subject for c in sampled]
    assert retrievals.score(kept)["Acc@1"] == 1.0  # each subject names its file's function
    assert retrievals.missed(kept) == []
    lost = dataclasses.replace(kept[0], gold=(*kept[0].gold, "gone.py"))
    (line,) = retrievals.missed([lost])
    assert line.startswith(kept[0].subject[:80]) and "gone.py None" in line
    commits.materialize(git_dir, sampled[-1].parent, tmp_path / "again")
    s = Session(tmp_path / "again", tmp_path / "again-index", dense=False)
    try:
        s.refresh()
        hits = search_code(s.ctx, sampled[-1].subject, k=30, mode="lexical").results
    finally:
        s.close()
    assert retrievals.ranked_files(kept[-1]) == list(dict.fromkeys(h.path for h in hits))


def test_the_context_bench_starts_each_repository_fresh_but_for_the_embedding_cache(
        tmp_path: Path) -> None:
    """A run of `evals.bench_context` that started from the index an earlier run left got a
    task or two different from a fresh run: each repository's tree and index are removed
    first, its embedding cache (the model's time) is kept."""
    from evals.bench_context import _start_fresh
    from indexer.disk import IndexPaths

    tree = tmp_path / "flask" / "tree"
    paths = IndexPaths.for_repo(tree, tmp_path / "flask" / "index")
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "app.py").write_text("x = 1\n")
    paths.dir.mkdir(parents=True)
    paths.store.write_bytes(b"an old store")
    paths.embeddings.write_bytes(b"vectors worth hours")
    _start_fresh(tree, paths)
    assert not tree.exists() and not paths.store.exists()
    assert paths.embeddings.read_bytes() == b"vectors worth hours"
    _start_fresh(tree, paths)  # nothing left to remove but the cache
    assert paths.embeddings.read_bytes() == b"vectors worth hours"
    assert sorted(p.name for p in paths.dir.parent.rglob("*")) == ["embeddings.duckdb", "v1"]


def test_the_context_bench_asks_each_task_of_an_index_that_ranks_as_a_fresh_one(
        tmp_path: Path) -> None:
    """The bench moves one tree from task to task; until the lexical index is compacted,
    BM25 counts the documents an update deleted (a server compacts after 2 s of quiet), and
    a task's answer depended on the tasks before it."""
    from evals.bench_context import settle
    from indexer.disk import IndexPaths, RepoIndex
    from indexer.live import LiveIndex, LiveOptions
    from tools.search import search_code

    def scores(root: Path, index_dir: Path, *, before: dict[str, str] | None = None
               ) -> list[tuple[str, int, float]]:
        live = LiveIndex(RepoIndex(IndexPaths.for_repo(root, index_dir)), LiveOptions())
        try:
            if before is not None:  # the previous task's tree first
                settle(live)
                for name in before:
                    (root / name).unlink()
            settle(live)
            assert live.index.lexical.deleted_docs() == 0
            hits = search_code(live, "session cookie signer", k=10, mode="lexical").results
            return [(h.path, h.start_line, h.score) for h in hits]
        finally:
            live.index.close()

    files = {f"pkg/m{i}.py": f"def f{i}():\n    return 'session cookie {i}'\n" for i in range(6)}
    files |= {f"pkg/n{i}.py": f"def h{i}():\n    return {i}\n" for i in range(40)}
    files["pkg/signer.py"] = "def sign(session):\n    return 'signer of the session cookie'\n"
    old = {f"pkg/old{i}.py": "def g():\n    return 'session session session'\n"
           for i in range(4)}
    fresh, moved = tmp_path / "fresh", tmp_path / "moved"
    for root, start in ((fresh, files), (moved, files | old)):
        root.mkdir()
        for name, text in start.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
    expected = scores(fresh, tmp_path / "fresh-index")
    assert expected and expected == scores(moved, tmp_path / "moved-index", before=old)


def test_headroom_reads_a_rank_as_scored_with_blocks_narrowed_and_with_files_ordered() -> None:
    from evals.headroom import mrr10, ranks

    gold = Span("a.go", 20, 24)
    block = Span("a.go", 10, 30)  # a merged block holding the gold function and a sibling
    hits = [Span("b.go", 1, 9), Span("a.go", 10, 14), Span("a.go", 10, 30), Span("a.go", 20, 24)]
    got = ranks(hits, gold, [block, Span("b.go", 1, 40)])
    # shown at 4; the sibling at 2 lies in the gold's block; its file's first hit is at 2
    assert (got.found, got.narrowed, got.in_file) == (4, 2, 2)
    # a hit in another block of the same file is no stand-in for the gold function
    got = ranks([Span("a.go", 40, 45), Span("a.go", 20, 24)], gold,
                [block, Span("a.go", 35, 50)])
    assert (got.found, got.narrowed, got.in_file) == (2, 2, 1)
    assert ranks([Span("b.go", 1, 9)], gold, [block]) == type(got)(None, None, None)
    assert mrr10([1, 2, None, 11]) == (1 + 0.5) / 4


def test_headroom_keeps_each_querys_ranks_and_compares_two_runs_query_by_query() -> None:
    from evals.headroom import Asked, Ranks, compared, dumped

    def run(found: list[int | None]) -> dict[str, list[dict[str, object]]]:
        asked = [Asked(f"q{i}", f"query {i}", Ranks(r, r, r), (f"a.py:f{i}:1",))
                 for i, r in enumerate(found)]
        # what --json writes reads back the same
        return json.loads(json.dumps(dumped({"flask": asked, "gin": asked[:1]})))

    lines = compared(run([1, 2, None]), run([1, 1, 4]))
    assert lines[0] == "flask: 0.5000 -> 0.7500 (3 queries)"
    assert lines[1:3] == ["  2 -> 1 | query 1 | a.py:f1:1", "  None -> 4 | query 2 | a.py:f2:1"]
    assert lines[3] == "gin: 1.0000 -> 1.0000 (1 queries)" and len(lines) == 4


def test_the_name_index_bench_checks_each_carried_index_against_one_built() -> None:
    """`evals.bench_name_index` on a small corpus: every edit's carried index (and kind
    counts) equals the one built from the new table (the run raises otherwise), and the
    report names what it timed."""
    from evals.bench_index import SHARED
    from evals.bench_name_index import run

    if not any((SHARED / "corpora").glob("flask-*.tar.gz")):
        pytest.skip(f"the flask corpus is not in {SHARED / 'corpora'}")
    got = run("flask", 2)
    assert got["edits"] == 2 and got["symbols"] > 100 and got["file"].endswith(".py")
    assert set(got) >= {"tables_update_index_carried", "tables_update_no_index",
                        "first_sentence_query_wait", "index_built_anew",
                        "index_built_anew_name_words_not_cached",
                        "first_sentence_query_wait_kind_counts", "kind_counts_built_anew"}


def test_the_history_benchmark_measures_both_sides(tiny_history: Path) -> None:
    """`evals.bench_history` on a tiny history: it reads git, then its cache, and times file
    answers with and without history (the figures are docs/benchmarks.md's, not asserted)."""
    from evals.bench_history import run

    out = run(tiny_history, 1)
    assert out["commits remembered"] == 5  # "document the project" changed README only
    assert out["queries"] == 10
    timed = ("git read ms", "cached read ms", "file answer ms, off", "file answer ms, on")
    assert all(float(str(out[k])) > 0 for k in timed)
