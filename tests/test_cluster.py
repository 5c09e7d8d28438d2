"""Shards on a local Ray instance (2 CPUs): the shared corpora built as Ray tasks, served
by Ray actors, answering as the merged single-repository servers do, and partially (never
failing) when a shard actor is stopped or killed.

The five shards are flask, gin, requests, ripgrep and moby's `client/` directory (304 of
moby's 13k files): Python, Go and Rust. All of moby would take minutes to index on CI's 2
cores, and vue-core (705 files, about as many as the other four together) is left to the
cluster benchmark (`evals/bench_cluster.py`), which runs all six corpora whole.
"""

from __future__ import annotations

import os
import signal
import tarfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: pip install -e '.[cluster]' (make test installs it)")

from indexer.disk import IndexPaths
from indexer.store import Store
from mcp_server.cluster import ClusterShards, cluster_index, init_ray
from mcp_server.settings import Settings
from mcp_server.workspace import LocalShards, Workspace, answer, load_workspace
from tests.conftest import corpus_archive
from tools.errors import ArgumentError, ToolError

SMALL = ("flask", "gin", "requests", "ripgrep")
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("search_code", {"query": "parse the command line arguments", "k": 10}),
    ("search_code", {"query": "HTTP request headers", "k": 8, "mode": "lexical"}),
    ("get_symbol", {"name": "Context", "include_body": False}),
    ("get_symbol", {"name": "Session.request", "include_references": True}),
    ("expand_dependencies", {"target": "src/flask/app.py", "direction": "both"}),
    ("expand_dependencies", {"target": "Context", "depth": 2}),
    ("get_context", {"task": "how does a session send an HTTP request with headers",
                     "max_tokens": 6000}),
]


def moby_client(dest: Path) -> Path:
    """moby's `client/` directory alone, extracted under `dest`."""
    archive = corpus_archive("moby")
    if archive is None:
        pytest.skip("corpus 'moby' not found: ../shared/corpora is absent (a user's clone)")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.split("/")[1:2] == ["client"]]
        tar.extractall(dest, members=members, filter="data")
    return next(dest.iterdir()) / "client"


def settings_for(base: Path) -> Settings:
    return Settings(root=base, watch=False, embed=False, model="hashing")


@pytest.fixture(scope="module")
def workspace(corpus: Callable[[str], Path],
              tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    base = tmp_path_factory.mktemp("cluster")
    roots = {name: corpus(name) for name in SMALL}
    roots["moby-client"] = moby_client(tmp_path_factory.mktemp("moby"))
    file = base / "workspace.toml"
    file.write_text("".join(f'[[repo]]\nname = "{n}"\npath = "{p}"\n'
                            f'index_dir = "{base / ("index-" + n)}"\n\n'
                            for n, p in roots.items()))
    return load_workspace(file)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    started = init_ray(None)  # a local instance, 2 CPUs
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def built(local_ray: None, workspace: Workspace) -> dict[str, Any]:
    """Every shard built as a Ray task, embedded through the shared embedding actor."""
    return cluster_index(workspace, settings_for(workspace.file.parent), embed=True)


def comparable(result: Any) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    data.pop("took_ms", None)
    return data


@pytest.fixture(scope="module")
def expected(built: dict[str, Any], workspace: Workspace) -> list[dict[str, Any]]:
    """The merged answers of the single-repository indexes, opened in this process (before
    the actors open them: DuckDB lets one process at a time open an index)."""
    shards = LocalShards(workspace, settings_for(workspace.file.parent))
    shards.open()
    try:
        assert shards.wait_ready(120)
        return [comparable(answer(shards, tool, kwargs)) for tool, kwargs in QUERIES]
    finally:
        shards.close()


@pytest.fixture(scope="module")
def cluster(expected: list[dict[str, Any]], workspace: Workspace) -> Iterator[ClusterShards]:
    shards = ClusterShards(workspace, settings_for(workspace.file.parent), timeout_s=120)
    shards.open()
    try:
        assert shards.wait_ready(180), "the shard actors did not open their indexes in time"
        yield shards
    finally:
        shards.close()


def test_cluster_index_builds_one_shard_per_repository_with_every_chunk_embedded(
        built: dict[str, Any], workspace: Workspace) -> None:
    shards = {s["repo"]: s for s in built["shards"]}
    assert set(shards) == set(workspace.names)
    for shard in shards.values():
        assert shard["files"] > 20 and shard["chunks"] > 100
        assert shard["vectors"] == shard["chunks"]
    embedding = built["embedding"]  # shards ask for their distinct texts only
    assert 0 < embedding["embedded"] <= embedding["requested"] <= sum(
        s["chunks"] for s in shards.values())


def test_cluster_answers_equal_the_merged_answers_of_single_repository_indexes(
        cluster: ClusterShards, expected: list[dict[str, Any]]) -> None:
    got = [comparable(answer(cluster, tool, kwargs)) for tool, kwargs in QUERIES]
    for (tool, kwargs), want, have in zip(QUERIES, expected, got, strict=True):
        assert have == want, (tool, kwargs)
    assert {h["repo"] for h in got[0]["results"]} >= {"ripgrep"}
    assert len({h["repo"] for a in got[:2] for h in a["results"]}) >= 3


def test_an_argument_every_shard_refuses_is_an_argument_error_not_another_tool_error(
        cluster: ClusterShards) -> None:
    """The actors say which kind of tool error they met: the server marks an argument
    error invalid (the CLI's usage error, exit 2); any other stays a tool error."""
    with pytest.raises(ArgumentError, match="contains '..'"):
        answer(cluster, "summarize_dir", {"path": "../../etc"})
    with pytest.raises(ToolError) as missing:
        answer(cluster, "expand_dependencies", {"target": "no/such/file.py"})
    assert not isinstance(missing.value, ArgumentError)


def test_a_stopped_shard_times_out_into_a_partial_answer_naming_it(
        cluster: ClusterShards, expected: list[dict[str, Any]]) -> None:
    tool, kwargs = QUERIES[0]
    pid = cluster.pid("gin")
    os.kill(pid, signal.SIGSTOP)
    cluster.timeout_s = 30  # the default: the four other shards must answer within it
    try:
        partial = answer(cluster, tool, kwargs)
    finally:
        os.kill(pid, signal.SIGCONT)
        cluster.timeout_s = 120
    assert [(m.repo, m.reason) for m in partial.missing_repos] == [("gin", "timed out after 30 s")]
    assert partial.results and all(h.repo != "gin" for h in partial.results)
    assert comparable(answer(cluster, tool, kwargs)) == expected[0]


def test_killing_a_shard_actor_mid_query_gives_a_partial_answer_then_ray_restarts_it(
        cluster: ClusterShards, expected: list[dict[str, Any]]) -> None:
    tool, kwargs = QUERIES[0]
    pid = cluster.pid("ripgrep")
    os.kill(pid, signal.SIGSTOP)  # holds the query at this shard until the kill
    with ThreadPoolExecutor(1) as pool, cluster.sent:
        future = pool.submit(answer, cluster, tool, kwargs)
        assert cluster.sent.wait_for(lambda: cluster.in_flight > 0, timeout=60)
        os.kill(pid, signal.SIGKILL)
    partial = future.result(timeout=120)
    assert [m.repo for m in partial.missing_repos] == ["ripgrep"]
    assert "died" in partial.missing_repos[0].reason
    assert partial.results and all(h.repo != "ripgrep" for h in partial.results)
    whole = answer(cluster, tool, kwargs)  # waits for the restarted actor
    assert comparable(whole) == expected[0]
    assert cluster.pid("ripgrep") != pid


def test_killing_a_shard_actor_during_get_context_gives_a_partial_answer_naming_it(
        cluster: ClusterShards, expected: list[dict[str, Any]]) -> None:
    tool, kwargs = QUERIES[-1]
    assert tool == "get_context" and expected[-1]["items"]
    assert {i["repo"] for i in expected[-1]["items"]} >= {"requests"}
    pid = cluster.pid("requests")
    os.kill(pid, signal.SIGSTOP)  # holds the call at this shard until the kill
    with ThreadPoolExecutor(1) as pool, cluster.sent:
        future = pool.submit(answer, cluster, tool, kwargs)
        assert cluster.sent.wait_for(lambda: cluster.in_flight > 0, timeout=60)
        os.kill(pid, signal.SIGKILL)
    partial = future.result(timeout=120)
    assert [m.repo for m in partial.missing_repos] == ["requests"]
    assert "died" in partial.missing_repos[0].reason
    assert partial.items and all(i.repo != "requests" for i in partial.items)
    assert partial.tokens <= kwargs["max_tokens"]
    assert comparable(answer(cluster, tool, kwargs)) == expected[-1]  # whole again


def test_identical_text_in_two_shards_is_embedded_once(
        local_ray: None, corpus: Callable[[str], Path], tmp_path: Path) -> None:
    file = tmp_path / "twice.toml"
    file.write_text("".join(f'[[repo]]\nname = "{n}"\npath = "{corpus("gin")}"\n'
                            f'index_dir = "{tmp_path / n}"\n\n' for n in ("one", "two")))
    built = cluster_index(load_workspace(file), settings_for(tmp_path), embed=True)
    chunks = [s["chunks"] for s in built["shards"]]
    assert chunks[0] == chunks[1] and [s["vectors"] for s in built["shards"]] == chunks
    # Each shard's distinct texts, read from its store: not assumed equal, since a parse that
    # passes its deadline on a loaded machine keeps a file's symbols without their signatures
    # (gin's context_test.go: 0.33 s of its 2.9 s at load 10), and the headers differ then.
    texts = [_text_hashes(IndexPaths.for_repo(corpus("gin"), tmp_path / n)) for n in ("one", "two")]
    assert len(texts[0] & texts[1]) > len(texts[0]) // 2
    requested, embedded = built["embedding"]["requested"], built["embedding"]["embedded"]
    assert requested == len(texts[0]) + len(texts[1])  # each shard asked for its own
    assert embedded == len(texts[0] | texts[1])  # text in both shards was embedded once


def _text_hashes(paths: IndexPaths) -> set[str]:
    store = Store(paths.store)
    try:
        return {row[0] for row in store.query("SELECT DISTINCT text_hash FROM chunks")}
    finally:
        store.close()
