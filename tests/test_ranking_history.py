"""The repository's own history as evidence for a query's files (`indexer.commits`,
`tools.search_history`): a real git repository, a real index, `search_code` and
`index_status` as a client calls them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import indexer.commits as commits_mod
from indexer.commits import MAX_FILES, CommitLog, code_file
from indexer.disk import RepoIndex
from indexer.live import LiveIndex, LiveOptions
from tools.search import search_code
from tools.search_history import HISTORY_BOOST, MIN_COMMITS, history_prior
from tools.status import index_status

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

QUERY = "retry the connection when the pool times out"
# two modules that answer the query about equally well by their words
ALPHA = '''def retry_connection(pool, timeout):
    """Retry the connection from the pool until the timeout."""
    return pool.connect(timeout=timeout)
'''
BETA = '''def pool_retry(connection, timeout):
    """Retry a pool connection when it times out."""
    return connection.reconnect(timeout=timeout)
'''


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
                          cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def commit(root: Path, message: str, files: dict[str, str | None]) -> str:
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(autouse=True)
def _read_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commits_mod, "CHECK_S", 0.0)  # each search looks at HEAD again


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    commit(root, "start the client", {"net/alpha.py": ALPHA, "net/beta.py": BETA,
                                      "README.md": "# client\n"})
    for i in range(MIN_COMMITS):  # enough history for a prior (`MIN_COMMITS`)
        commit(root, f"tidy module {i}", {f"util/m{i}.py": f"X = {i}\n"})
    return root


def live(root: Path, history: bool = True) -> LiveIndex:
    ctx = LiveIndex(RepoIndex.open(root, root.parent / f"index-{history}"),
                    LiveOptions(history=history))
    ctx.refresh()
    return ctx


def files(ctx: LiveIndex, query: str = QUERY, granularity: str = "file") -> list[str]:
    hits = search_code(ctx, query, k=10, mode="lexical", granularity=granularity).results
    return list(dict.fromkeys(h.path for h in hits))


def test_past_commits_lift_the_file_they_changed(repo: Path) -> None:
    """Both files match the query; in a file answer ("which files"), the one that commits
    like it changed comes first. Without history (`SEXTANT_HISTORY=0`), and in a chunk
    answer, the order is the retrievers' alone."""
    before = live(repo, history=False)
    try:
        plain = files(before)
    finally:
        before.close()
    assert set(plain[:2]) == {"net/alpha.py", "net/beta.py"}
    second = plain[1]
    commit(repo, "retry the pool connection after a timeout",
           {second: (repo / second).read_text() + "\n# retries: 3\n"})
    commit(repo, "connection pool: stop retrying once it times out",
           {second: (repo / second).read_text() + "# backoff: 2\n"})
    commit(repo, "document the client", {"README.md": "# client\n\nA pool.\n"})

    off = live(repo, history=False)
    on = live(repo)
    try:
        assert files(off)[:2] == plain[:2]  # the same words: the same order
        assert files(on)[0] == second
        assert files(on, granularity="chunk") == files(off, granularity="chunk")
        assert files(on, granularity="chunk")[:2] == plain[:2]
        # README's commit is not remembered
        assert index_status(on).history["commits"] == MIN_COMMITS + 3
        assert index_status(on).history["head"] == git(repo, "rev-parse", "HEAD")
        assert index_status(off).history == {}
        # a name lookup names what it wants: no history
        assert files(on, "retry_connection")[0] == "net/alpha.py"
    finally:
        off.close()
        on.close()


def test_history_follows_head(repo: Path) -> None:
    ctx = live(repo)
    try:
        assert not ctx.history.similar(["frobnicate"], 5)
        sha = commit(repo, "frobnicate the beta pool", {"net/beta.py": BETA + "\n# frob\n"})
        found = ctx.history.similar(["frobnicate"], 5)
        assert [(c.sha, c.files) for _, c in found] == [(sha, ("net/beta.py",))]
    finally:
        ctx.close()


def test_moved_files_are_followed_and_deleted_ones_dropped(repo: Path) -> None:
    """A file moved under a new top directory (`net/alpha.py` -> `src/net/alpha.py`, as a
    project moving to a src layout) keeps its commits: its last two path parts still name
    one file. One renamed outright, or deleted, loses them."""
    commit(repo, "tune the alpha retry budget", {"net/alpha.py": ALPHA + "\n# budget\n"})
    commit(repo, "beta keeps a budget too", {"net/beta.py": BETA + "\n# budget\n"})
    commit(repo, "gamma handles the budget codec", {"net/gamma.py": "def gzip(): pass\n"})
    (repo / "src").mkdir()
    git(repo, "mv", "net", "src/net")
    git(repo, "commit", "-q", "-m", "move to a src layout")
    git(repo, "mv", "src/net/beta.py", "src/net/pool_beta.py")
    git(repo, "commit", "-q", "-m", "rename beta")
    commit(repo, "remove gamma", {"src/net/gamma.py": None})
    found = {c.subject: c.files for _, c in CommitLog(repo).similar(["budget"], 10)}
    assert found == {"tune the alpha retry budget": ("src/net/alpha.py",)}


def test_what_a_commit_is_remembered_by(repo: Path) -> None:
    assert code_file("src/pool.py") and code_file("cmd/main.go")
    for path in ("tests/test_pool.py", "pool_test.go", "docs/conf.py", "README.md",
                 "web/pool.spec.ts", "vendor/x/y.go", "examples/demo.py", "setup.cfg"):
        assert not code_file(path), path
    commit(repo, "pool tests and docs only", {"tests/test_pool.py": "def test(): pass\n",
                                               "docs/pool.md": "pool\n"})
    commit(repo, "pool touches everything", {f"net/m{i}.py": f"X = {i}\n"
                                             for i in range(MAX_FILES + 1)})
    sha = commit(repo, "pool alpha and its test",
                 {"net/alpha.py": ALPHA + "\n# p\n", "tests/test_alpha.py": "def t(): pass\n"})
    log = CommitLog(repo)
    assert [(c.sha, c.files) for _, c in log.similar(["pool"], 10)] == [(sha, ("net/alpha.py",))]


def test_a_root_inside_a_repository_reads_its_own_files(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    top.mkdir()
    git(top, "init", "-q")
    commit(top, "pool service retries", {"svc/net/pool.py": BETA, "web/pool.py": ALPHA})
    log = CommitLog(top / "svc")
    assert [c.files for _, c in log.similar(["pool"], 5)] == [("net/pool.py",)]


def test_no_repository_no_history(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "alpha.py").write_text(ALPHA)
    ctx = live(tmp_path / "plain")
    try:
        assert files(ctx) == ["alpha.py"]
        described = index_status(ctx).history
        assert described["commits"] == 0
        assert described["error"] == "not a git repository"  # git's reason, not its stderr
    finally:
        ctx.close()
    log = CommitLog(tmp_path / "plain", git_dir=tmp_path / "missing.git")
    assert log.similar(["pool"], 5) == [] and log.error


def test_prior_shares(repo: Path) -> None:
    """Each similar commit's score is split among its files; the best file gets the whole
    boost, the others their share of it."""
    commit(repo, "pool retry for alpha and beta", {"net/alpha.py": ALPHA + "\n#1\n",
                                                   "net/beta.py": BETA + "\n#1\n"})
    commit(repo, "pool retry for beta", {"net/beta.py": BETA + "\n#2\n"})
    prior = history_prior(CommitLog(repo), ["pool", "retry"])
    assert prior["net/beta.py"] == pytest.approx(1 + HISTORY_BOOST)
    assert 1 < prior["net/alpha.py"] < prior["net/beta.py"]
    assert history_prior(None, ["pool"]) == {}
    assert history_prior(CommitLog(repo), ["fix", "add"]) == {}  # words every subject says


def test_a_short_history_lends_nothing(tmp_path: Path) -> None:
    """A handful of commits is no statistics: one shared word would decide."""
    root = tmp_path / "young"
    root.mkdir()
    git(root, "init", "-q")
    commit(root, "start", {"a.py": ALPHA, "b.py": BETA})
    for i in range(MIN_COMMITS - 2):
        commit(root, f"pool retry {i}", {"b.py": BETA + f"# {i}\n"})
    log = CommitLog(root)
    assert log.similar(["pool"], 5) and history_prior(log, ["pool"]) == {}
    commit(root, "pool retry, again", {"b.py": BETA})
    assert history_prior(log, ["pool"]) == {"b.py": 1 + HISTORY_BOOST}


def test_the_log_read_is_kept_for_the_next_process(repo: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-shot `sextant search` reads the log from the index directory, not git, while
    HEAD has not moved; a damaged cache file is read past."""
    cache = tmp_path / "history.json"
    first = CommitLog(repo, cache=cache)
    n = first.size()
    assert n == MIN_COMMITS + 1 and cache.exists()
    reads: list[str] = []
    real = CommitLog._read

    def counted(self: CommitLog, head: str) -> list[commits_mod.PastCommit]:
        reads.append(head)
        return real(self, head)

    monkeypatch.setattr(CommitLog, "_read", counted)
    again = CommitLog(repo, cache=cache)
    assert again.size() == n and reads == []
    sha = commit(repo, "pool moves on", {"net/beta.py": BETA + "\n# moved\n"})
    assert again.size() == n + 1 and reads == [sha]
    cache.write_text("{not json")
    assert CommitLog(repo, cache=cache).size() == n + 1 and len(reads) == 2


@pytest.mark.parametrize("garbage", ["[]", '"history"', "7", "null"])
def test_a_kept_log_of_json_that_is_no_object_is_read_past(repo: Path, garbage: str) -> None:
    """`history.json` holding JSON of another shape (`echo '[]' > history.json`) is garbage
    like text that is not JSON: the log is read from git again, and search and
    `index_status` answer (they raised AttributeError)."""
    first = live(repo)
    try:
        assert index_status(first).history["commits"] == MIN_COMMITS + 1
    finally:
        first.close()
    cache = first.index.paths.dir / commits_mod.HISTORY_CACHE
    assert cache.exists()
    cache.write_text(garbage)
    again = live(repo)
    try:
        assert set(files(again)[:2]) == {"net/alpha.py", "net/beta.py"}
        assert index_status(again).history["commits"] == MIN_COMMITS + 1
    finally:
        again.close()
    assert isinstance(json.loads(cache.read_text()), dict)  # written again from git
