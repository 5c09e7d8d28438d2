"""The two semantic tiers in the live index: static vectors written with every chunk,
model vectors most valuable first and resumable, both opened before the first query,
and counts that tell the truth (issue 15)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import numpy as np
import pytest
from mcp import Client, StdioServerParameters

from indexer.build import index_repository, update_paths
from indexer.disk import IndexPaths, RepoIndex
from indexer.embed import Embedder, HashingEmbedder, load_embedder
from indexer.live import LiveIndex, LiveOptions
from indexer.live.priority import embedding_order
from indexer.vectors import VectorIndex
from tests.mcp_helpers import call
from tests.model_marks import needs_model
from tests.traced import resident_kb_of
from tools.search import STATIC_POOL, retrieve, search_code
from tools.status import index_status

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **extra}
    env["SEXTANT_STATIC"] = "1"  # the tier these tests are about (off by default)
    return {**env, **extra}


def _sextant(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcp_server.cli", *args], cwd=REPO_ROOT,
                          env=_env(**env), capture_output=True, text=True, timeout=600,
                          check=False)


def _small_repo(root: Path) -> Path:
    """core.py is imported by three modules; a test, a README and a private helper."""
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "core.py").write_text(
        "def parse_config(path):\n    '''Read the settings file.'''\n    return open(path).read()\n\n"
        "def _private_helper(x):\n    return x * 2\n\n"
        "class Engine:\n    def run(self):\n        return parse_config('a')\n")
    for name in ("a", "b", "c"):
        (root / "pkg" / f"{name}.py").write_text(
            f"from pkg.core import Engine\n\n\ndef use_{name}():\n    return Engine().run()\n")
    (root / "tests" / "test_core.py").write_text(
        "from pkg.core import parse_config\n\n\ndef test_parse_config():\n"
        "    assert parse_config('x')\n")
    (root / "README.md").write_text("# pkg\n\nA package that parses configuration files.\n")
    return root


# -- static tier ----------------------------------------------------------------------------


def test_every_chunk_gets_a_static_vector_while_it_is_indexed_and_edits_keep_them_in_line(
        tmp_path: Path) -> None:
    root = _small_repo(tmp_path / "repo")
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")) as index:
        static = index.attach_static(HashingEmbedder(32))
        index_repository(index)
        assert len(static) == index.store.count_chunks() > 0
        before = set(static.vectors.keys().tolist())
        (root / "pkg" / "a.py").write_text("def renamed_function():\n    return 1\n")
        (root / "pkg" / "b.py").unlink()
        update_paths(index, ["pkg/a.py", "pkg/b.py"])
        ids = {r[0] for r in index.store.query("SELECT chunk_id FROM chunks")}
        assert set(static.vectors.keys().tolist()) == ids != before
    # a reopen without the tier attached in between is brought in line by `sync`
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")) as index:
        (root / "pkg" / "c.py").unlink()
        index_repository(index)  # no static tier attached: its saved vectors fall behind
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")) as index:
        static = index.attach_static(HashingEmbedder(32))
        ids = {r[0] for r in index.store.query("SELECT chunk_id FROM chunks")}
        assert set(static.vectors.keys().tolist()) == ids


@needs_model
def test_search_finds_by_meaning_through_static_vectors_a_chunk_without_a_model_vector(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    query = "register a function to run after each request"
    answers = ("src/flask/sansio/scaffold.py", "src/flask/ctx.py")  # after_request & co
    for static in (False, True):
        live = LiveIndex.open(root, tmp_path / f"idx-{static}",
                              LiveOptions(static=static, model="hashing"))
        with live:
            if static:
                assert live.attach_static()
            index_repository(live.index)
            live.attach_model()
            assert live.vectors is not None and live.embedder is not None
            # the model tier has vectors for every file but those that answer
            others = [r[0] for r in live.store.query(
                "SELECT chunk_id FROM chunks JOIN files USING (file_id) "
                "WHERE NOT list_contains(?, path)", [list(answers)])]
            from indexer.live import embed_chunks

            embed_chunks(live.index, live.vectors, live.embedder, others)
            result = search_code(live, query, k=10, mode="semantic")
            found = [h for h in result.results if h.path in answers]
            if not static:  # without the static tier, meaning cannot reach them
                assert not found
                continue
            assert {h.symbol for h in found} & {"Scaffold.after_request", "after_this_request"}
            assert all(h.matched_by == ["static"] for h in found), found
            assert result.coverage is not None
            assert result.coverage.static == result.coverage.chunks
            assert result.coverage.model == len(others) < result.coverage.chunks
            assert result.coverage.model_state != "complete"
            from mcp_server.text import render

            head = render(result).splitlines()[0]  # what a client's model reads first
            assert f"model vectors cover {len(others) / result.coverage.chunks:.0%}" in head
            assert "static vectors 100%" in head, head


def test_in_hybrid_search_the_static_tier_ranks_only_chunks_without_a_model_vector(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(static=True, model="hashing")) as live:
        assert live.attach_static()
        index_repository(live.index)
        live.attach_model()
        assert live.vectors is not None and live.embedder is not None
        # the model tier covers every file but the ones under src/flask/sansio
        others = [r[0] for r in live.store.query(
            "SELECT chunk_id FROM chunks JOIN files USING (file_id) "
            "WHERE path NOT LIKE 'src/flask/sansio/%'")]
        from indexer.live import embed_chunks

        embed_chunks(live.index, live.vectors, live.embedder, others)
        result = search_code(live, "register a function to run after each request", k=30)
        by_static = [h for h in result.results if "static" in h.matched_by]
        assert by_static, result.results
        assert all(h.path.startswith("src/flask/sansio/") for h in by_static), by_static
        assert any(set(h.matched_by) - {"static"} for h in by_static), by_static
        # it re-ranks what the other retrievers found and adds its own nearest chunks
        got = retrieve(live, "register a function to run after each request", k=30)
        others_found = {i for name, ids in got.ranked.items() if name != "static"
                        for i in ids[:STATIC_POOL]}
        static_ids = list(got.ranked["static"])
        assert not any(live.vectors.contains_many(static_ids))
        assert set(static_ids) & others_found and set(static_ids) - others_found


def test_a_semantic_search_scans_the_static_tier_only_while_the_model_tier_lacks_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the model tier covers every chunk, whatever the static tier's scan found would
    be dropped: a server in mode "semantic" read its whole matrix (19 MB on moby) on every
    call for nothing."""
    root = _small_repo(tmp_path / "repo")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(static=True, model="hashing")) as live:
        assert live.attach_static()
        index_repository(live.index)
        live.attach_model()
        assert live.static is not None and live.vectors is not None
        scans: list[str] = []
        scored = live.static.scored
        monkeypatch.setattr(live.static, "scored",
                            lambda text, k: scans.append(text) or scored(text, k))
        ids = [r[0] for r in live.store.query("SELECT chunk_id FROM chunks ORDER BY chunk_id")]
        from indexer.live import embed_chunks

        embed_chunks(live.index, live.vectors, live.embedder, ids[1:])
        partial = search_code(live, "read the settings file", k=5, mode="semantic")
        assert len(scans) == 1 and partial.results
        embed_chunks(live.index, live.vectors, live.embedder, ids[:1])
        complete = search_code(live, "read the settings file", k=5, mode="semantic")
        assert len(scans) == 1, "the static tier was scanned with every chunk covered"
        assert complete.results and all(h.matched_by == ["semantic"] for h in complete.results)


def test_no_embed_skips_only_the_model_tier_and_no_static_turns_the_static_tier_off(
        tmp_path: Path) -> None:
    root = _small_repo(tmp_path / "repo")
    out = _sextant("index", str(root), "--index-dir", str(tmp_path / "a"), "--no-embed",
                   "--json", SEXTANT_MODEL="hashing")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["static"]["vectors"] == result["chunks"] > 0
    assert "embedding" not in result
    assert (tmp_path / "a" / "v1" / "static.npz").exists()
    assert not (tmp_path / "a" / "v1" / "vectors.usearch").exists()
    out = _sextant("index", str(root), "--index-dir", str(tmp_path / "b"), "--no-embed",
                   "--no-static", "--json", SEXTANT_MODEL="hashing")
    assert out.returncode == 0, out.stderr
    assert "static" not in json.loads(out.stdout)
    assert not (tmp_path / "b" / "v1" / "static.npz").exists()


# -- model tier: order, interruption, resume --------------------------------------------


def test_embedding_order_puts_definitions_of_central_files_before_tests_and_prose(
        tmp_path: Path) -> None:
    root = _small_repo(tmp_path / "repo")
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "idx")) as index:
        index_repository(index)
        order = embedding_order(index.store)
        where = {r[0]: (r[1], r[2], r[3]) for r in index.store.query(
            "SELECT chunk_id, path, kind, symbol FROM chunks JOIN files USING (file_id)")}
    paths = [where[cid][0] for cid in order]
    core = [i for i, p in enumerate(paths) if p == "pkg/core.py"]
    assert core and max(core) < paths.index("tests/test_core.py")
    assert max(core) < paths.index("README.md")
    first_other = min(i for i, p in enumerate(paths) if p in ("pkg/a.py", "pkg/b.py"))
    assert min(core) < first_other  # the file they import before its importers
    assert set(paths[-2:]) == {"README.md", "tests/test_core.py"}


_KILLED_RUN = """
import os, signal, sys
from indexer.embed import HashingEmbedder
from mcp_server.cli import main
original = HashingEmbedder.embed_documents
calls = []
def dying(self, texts):
    if sum(calls) >= 192:  # after three batches' worth: killed mid-run, as by kill -9
        os.kill(os.getpid(), signal.SIGKILL)
    calls.append(len(texts))
    return original(self, texts)
HashingEmbedder.embed_documents = dying
sys.exit(main(sys.argv[1:]))
"""


def test_status_after_a_killed_embedding_run_reports_true_counts_and_a_rerun_embeds_only_the_rest(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    idx = tmp_path / "idx"
    log = tmp_path / "killed.log"
    with log.open("w") as sink:  # not a pipe: orphaned parse workers may hold it open
        killed = subprocess.run(
            [sys.executable, "-c", _KILLED_RUN, "index", str(root), "--index-dir", str(idx),
             "--no-static"], cwd=REPO_ROOT, env=_env(SEXTANT_MODEL="hashing"),
            stdout=sink, stderr=sink, timeout=600, check=False)
    assert killed.returncode == -9, log.read_text()
    out = _sextant("status", "--repo", str(root), "--index-dir", str(idx), "--json",
                   SEXTANT_MODEL="hashing", SEXTANT_STATIC="0")
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    with LiveIndex.open(root, idx) as live:
        cached = live.store.query_one(
            "SELECT count(*) FROM chunks WHERE text_hash IN (SELECT text_hash FROM "
            "cache.embeddings WHERE model_id = ?)", [load_embedder("hashing").model_id])[0]
    assert 0 < status["embedded_chunks"] == cached < status["chunks"]
    assert status["embedding_state"] == "partial"
    assert status["coverage"]["model"] == cached
    # a second run embeds only the chunks whose text is not in the cache
    with LiveIndex.open(root, idx, LiveOptions(model="hashing")) as live:
        live.attach_model()
        assert isinstance(live.embedder, HashingEmbedder)
        todo = live.store.query_one(
            "SELECT count(DISTINCT text_hash) FROM chunks WHERE text_hash NOT IN (SELECT "
            "text_hash FROM cache.embeddings WHERE model_id = ?)", [live.embedder.model_id])[0]
        live.embed_pending()
        embedded = sum(len(batch) for batch in live.embedder.calls)
        assert 0 < embedded == todo
        assert index_status(live).embedding_state == "complete"
        assert live.embedding.done_at_start == cached


# -- ready from the first call -------------------------------------------------------------


def _embed_everything(root: Path, idx: Path) -> int:
    with LiveIndex.open(root, idx, LiveOptions(static=True, model="hashing")) as live:
        live.attach_static()
        index_repository(live.index)
        live.attach_model()
        live.embed_pending()
        assert index_status(live).embedding_state == "complete"
        return live.store.count_chunks()


async def test_stdio_server_on_an_embedded_index_has_both_tiers_open_for_its_very_first_search(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    root = corpus("flask")
    chunks = _embed_everything(root, tmp_path / "idx")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_server.cli", "serve", "--repo", str(root), "--index-dir",
              str(tmp_path / "idx"), "--no-watch"],
        env=_env(SEXTANT_MODEL="hashing", SEXTANT_LOG_LEVEL="INFO"), cwd=str(REPO_ROOT))
    with anyio.fail_after(120):
        async with Client(params) as client:
            out = await call(client, "search_code", query="url rule for a view function",
                             k=5, mode="semantic")
            assert out["coverage"]["model"] == out["coverage"]["static"] == chunks
            assert out["coverage"]["model_state"] == "complete"
            matched = {m for hit in out["results"] for m in hit["matched_by"]}
            # every chunk has a model vector: the static tier has no say on any of them
            assert matched == {"semantic"}
            assert out["embedded_share"] == 1.0


def test_a_vector_index_lists_its_keys_and_membership(tmp_path: Path) -> None:
    from indexer.vectors import VectorIndex

    vectors = VectorIndex(tmp_path / "v.usearch", 4, "f16", "cos")
    assert vectors.keys().tolist() == []
    vectors.add([3, 5], np.eye(4, dtype=np.float32)[:2])
    assert sorted(vectors.keys().tolist()) == [3, 5]
    assert vectors.contains_many([3, 4, 5]).tolist() == [True, False, True]


def test_a_watcher_batch_lets_the_static_embedder_forget_its_words(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A serving process applies each batch of edits and then lets the static embedder drop
    the word vectors it cached for it (up to 64 MB a server would otherwise keep); the
    batch's chunks have their static vectors all the same."""
    from indexer.disk.static import StaticTier

    released: list[int] = []
    monkeypatch.setattr(StaticTier, "release_caches", lambda self: released.append(len(self)))
    root = _small_repo(tmp_path / "repo")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(static=True, model="hashing")) as live:
        assert live.attach_static()
        index_repository(live.index)
        assert released == []  # a full index keeps its words from batch to batch
        (root / "pkg" / "core.py").write_text("def renamed_engine():\n    return 42\n")
        live.apply(["pkg/core.py"], set(), reconcile=False)
        assert len(released) == 1
        assert live.index.static is not None
        assert len(live.index.static) == live.store.count_chunks()



def test_the_model_vectors_an_edit_copied_to_memory_are_saved_and_mapped_again_on_settling(
        tmp_path: Path) -> None:
    """The model tier's vectors are searched from their mapped file; an edit's new vectors
    copy the index into memory (moby: 35 MB, kept until the process ended). Settling saves
    them, stamped with the store's generation, maps the file again with the same answers,
    and takes the pages the searches read out of the process."""
    root = _small_repo(tmp_path / "repo")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(model="hashing")) as live:
        index_repository(live.index)
        live.attach_model()
        live.embed_pending()
        vectors, embedder = live.vectors, live.embedder
        assert vectors is not None and embedder is not None and vectors.mapped
        body = "".join(f"    part_{j} = open(path).read()\n" for j in range(30))
        (root / "pkg" / "core.py").write_text("".join(
            f"def load_settings_{i}(path):\n{body}    return part_0\n\n\n" for i in range(8)))
        live.apply(["pkg/core.py"], set(), reconcile=False)
        live.embed_missing(["pkg/core.py"])  # where the batch did not embed them itself
        assert vectors.contains_many(live.store.chunk_ids_for_paths(["pkg/core.py"])).all()
        assert not vectors.mapped and vectors.dirty
        query = embedder.embed_query("read the settings file")
        before = vectors.search(query, 10)

        live.settle()

        assert vectors.mapped and not vectors.dirty
        assert vectors.generation == live.store.generation
        assert len(vectors) == live.store.count_chunks()
        assert vectors.search(query, 10) == before
        assert resident_kb_of(vectors.path) > 0
        live.settle()
        assert resident_kb_of(vectors.path) == 0
        assert vectors.search(query, 10) == before


@contextlib.contextmanager
def _embedded_live(tmp_path: Path) -> Iterator[tuple[LiveIndex, Embedder, VectorIndex]]:
    """A live index of `_small_repo` with the real default model, every chunk embedded."""
    root = _small_repo(tmp_path / "repo")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions()) as live:
        index_repository(live.index)
        live.attach_model()
        live.embed_pending()
        embedder, vectors = live.embedder, live.vectors
        assert embedder is not None and vectors is not None
        yield live, embedder, vectors


@needs_model
def test_settling_takes_the_model_files_pages_out_of_the_process_and_queries_read_them_again(
        tmp_path: Path) -> None:
    """Loading the real model reads its whole file through llama.cpp's mapping (MiniLM q8_0:
    23 MB counted in a server for its life). Settling takes those pages out; the next query
    reads what it needs again and the search answers as before."""
    with _embedded_live(tmp_path) as (live, embedder, vectors):
        model_file = Path(embedder.path)  # type: ignore[attr-defined]
        query = embedder.embed_query("read the settings file")
        before = vectors.search(query, 5)
        assert resident_kb_of(model_file) > 1024

        live.settle()

        assert resident_kb_of(model_file) == 0
        assert np.array_equal(embedder.embed_query("read the settings file"), query)
        assert vectors.search(query, 5) == before
        assert resident_kb_of(model_file) > 0


@needs_model
def test_an_edit_is_encoded_in_a_worker_process_that_settling_ends(tmp_path: Path) -> None:
    """A live index encodes the model tier's documents apart: an edit's new chunk gets its
    vector from a worker process (the server never loads the float32 layers), settling ends
    that worker, and the next edit starts one again."""
    import multiprocessing

    with _embedded_live(tmp_path) as (live, embedder, vectors):
        root = live.index.root
        for round_, name in enumerate(("reticulate_splines", "frobnicate_widgets")):
            (root / "pkg" / "extra.py").write_text(
                f"def {name}(count):\n    return count * {round_ + 3}\n")
            live.apply(["pkg/extra.py"], set(), reconcile=False)
            assert embedder.apart_running  # type: ignore[attr-defined]
            assert not embedder.weights_loaded  # type: ignore[attr-defined]
            chunk_ids = [r[0] for r in live.store.query(
                "SELECT c.chunk_id FROM chunks c JOIN files f USING (file_id) "
                "WHERE f.path = 'pkg/extra.py'")]
            assert chunk_ids and all(vectors.contains(i) for i in chunk_ids), round_
            workers = {p.pid for p in multiprocessing.active_children()}

            live.settle()

            assert not embedder.apart_running  # type: ignore[attr-defined]
            assert not workers & {p.pid for p in multiprocessing.active_children()}


def test_the_static_matrix_an_edit_copied_to_memory_is_saved_and_mapped_again_on_settling(
        tmp_path: Path) -> None:
    """The static vectors are mapped from their file; a watcher batch's new rows copy the
    whole matrix into memory (22 MB on moby, kept until the process ended: the incremental
    path never saved them). Settling after the edits saves them and maps the file again,
    stamped with the store's generation, with the same vectors and the same answers."""
    root = _small_repo(tmp_path / "repo")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(static=True, model="hashing")) as live:
        assert live.attach_static()
        index_repository(live.index)
        static = live.index.static
        assert static is not None
        assert isinstance(static.vectors._vecs, np.memmap)  # a full run saves and maps
        body = "".join(f"    part_{j} = open(path).read()\n" for j in range(30))
        (root / "pkg" / "core.py").write_text("".join(  # more chunks than the file had
            f"def load_settings_{i}(path):\n{body}    return part_0\n\n\n" for i in range(8)))
        live.apply(["pkg/core.py"], set(), reconcile=False)
        assert not isinstance(static.vectors._vecs, np.memmap)  # the batch's rows copied it
        assert static.vectors.generation != live.store.generation
        before = static.scored("read the settings file", 10)
        keys = sorted(static.vectors.keys().tolist())

        live.settle()

        assert isinstance(static.vectors._vecs, np.memmap)
        assert static.vectors.generation == live.store.generation
        assert not static.dirty
        assert sorted(static.vectors.keys().tolist()) == keys
        assert static.scored("read the settings file", 10) == before
        assert len(keys) == live.store.count_chunks()
        # the scans read the mapped file's pages; settling again unmaps them (clean pages)
        # and lets the embedder drop what it built to embed the edits and its table's pages
        assert resident_kb_of(static.vectors.path) > 0
        released: list[int] = []
        static.embedder.release_vocab = lambda: released.append(1)  # type: ignore[attr-defined]
        static.embedder.release_pages = lambda: released.append(2)  # type: ignore[attr-defined]
        live.settle()
        assert released == [1, 2]
        assert resident_kb_of(static.vectors.path) == 0
        assert static.scored("read the settings file", 10) == before
