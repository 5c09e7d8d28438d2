"""Damage to what lies beside the store: the lexical index, the files naming the model of
each vector index, and the store itself gone while the indexes made from it stay.

Each index is built by a real `sextant index` (hashing embedder, static tier on) of a small
repository whose modules each say three words no other module says, copied, damaged while
nothing has it open, then used by the CLI (`sextant index`, `sextant search`) or a server.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.lexical import LexicalCorrupt, LexicalIndex
from indexer.live import LiveIndex, LiveOptions
from tests.conftest import REPO_ROOT
from tests.mcp_helpers import call, connected, server_settings
from tools.search import search_code

MODULES = 12
_letters = random.Random(11)
# three made-up words per module, none shared: a query of one module's words finds it alone
WORDS = [["".join(_letters.choices("bcdfghklmnprstvz", k=4)) + "ion" for _ in range(3)]
         for _ in range(MODULES)]


def module(i: int) -> str:
    a, b, c = WORDS[i]
    return (f"def {a}_{b}(value):\n    \"\"\"Turn the {a} into {b} for the {c} report.\"\"\"\n"
            f"    return value.{c}({i})\n\n\nclass {a.title()}{c.title()}:\n"
            f"    def {b}(self):\n        return {i}\n")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEXTANT_MODEL": "hashing", "SEXTANT_STATIC": "1"}
    return subprocess.run([sys.executable, "-m", "mcp_server.cli", *args], check=False,
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def index(paths: IndexPaths) -> dict[str, object]:
    done = cli("index", str(paths.root), "--index-dir", str(paths.base), "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def search(paths: IndexPaths, query: str, mode: str) -> tuple[list[dict[str, object]], str]:
    """`sextant search`'s results and its stderr (it must succeed)."""
    found = cli("search", "--repo", str(paths.root), "--index-dir", str(paths.base), "--json",
                "--mode", mode, "-k", "3", query)
    assert found.returncode == 0, found.stderr
    results: list[dict[str, object]] = json.loads(found.stdout)["results"]
    return results, found.stderr


def finds_each_module(paths: IndexPaths, mode: str, retriever: str) -> None:
    """A query of a module's words finds that module first, through `retriever` (the first
    module, one in the middle and the last: one `sextant search` each)."""
    for i in (0, MODULES // 2, MODULES - 1):
        results, _ = search(paths, " ".join(WORDS[i]), mode)
        assert results and results[0]["path"] == f"m{i}.py", (i, results[:1])
        assert retriever in results[0]["matched_by"]  # type: ignore[operator]


def whole_lexical_index(paths: IndexPaths) -> None:
    """The lexical index holds every chunk, and searches (without a repair on the way)."""
    with RepoIndex(paths) as opened:
        assert opened.lexical.num_docs() == opened.store.count_chunks() >= MODULES
        assert opened.lexical.search(WORDS[1][0], 3)


def damage_lexical(paths: IndexPaths, kind: str) -> None:
    lexical = paths.lexical
    if kind == "meta_deleted":  # tantivy opens the directory as a new, empty index
        (lexical / "meta.json").unlink()
    elif kind == "positions_deleted":
        for path in lexical.glob("*.pos"):
            path.unlink()
    else:  # 4 KB (at most a quarter of it) of garbage at three places of each term dictionary
        for path in lexical.glob("*.term"):
            size = path.stat().st_size
            with path.open("r+b") as f:
                for offset in (0, size // 3, 2 * size // 3):
                    f.seek(offset)
                    f.write(random.Random(offset).randbytes(min(4096, size // 4)))


LEXICAL_DAMAGES = ["meta_deleted", "positions_deleted", "term_garbage"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> IndexPaths:
    top = tmp_path_factory.mktemp("derived-damage")
    for i in range(MODULES):
        (top / "repo").mkdir(exist_ok=True)
        (top / "repo" / f"m{i}.py").write_text(module(i))
    paths = IndexPaths.for_repo(top / "repo", top / "idx")
    index(paths)
    return paths


@pytest.fixture
def built(pristine: IndexPaths, tmp_path: Path) -> IndexPaths:
    """A copy of the built repository and its index (mtimes kept: nothing to re-read)."""
    shutil.copytree(pristine.root, tmp_path / "repo")
    shutil.copytree(pristine.base, tmp_path / "idx")
    return IndexPaths.for_repo(tmp_path / "repo", tmp_path / "idx")


@pytest.mark.parametrize("kind", LEXICAL_DAMAGES)
@pytest.mark.parametrize("first", ["index", "search"])
def test_the_next_command_rebuilds_a_damaged_lexical_index_from_the_store(
    built: IndexPaths, kind: str, first: str,
) -> None:
    """Before: an empty index (meta.json lost) was trusted under its stamp, and damaged
    segment files failed every search; `sextant index` left both as they were."""
    damage_lexical(built, kind)
    if first == "index":
        index(built)
        whole_lexical_index(built)
    finds_each_module(built, "lexical", "lexical")
    whole_lexical_index(built)


@pytest.mark.parametrize("kind", LEXICAL_DAMAGES)
async def test_the_server_searches_a_damaged_lexical_index_rebuilt(
    built: IndexPaths, kind: str,
) -> None:
    damage_lexical(built, kind)
    async with connected(server_settings(built.root, built.base)) as client:
        out = await call(client, "search_code", query=" ".join(WORDS[5]), k=3, mode="lexical")
        assert out["results"][0]["path"] == "m5.py"
        assert "lexical" in out["results"][0]["matched_by"]


def test_a_search_failing_on_lexical_damage_at_run_time_rebuilds_it_from_the_store(
    built: IndexPaths,
) -> None:
    """tantivy opens a segment's term dictionaries when a search first needs them: damage
    after the open (here: before a commit's reload) fails the search, once. The live index
    rebuilds the lexical index from the store, and searches find again."""
    query = " ".join(WORDS[3])
    with LiveIndex.open(built.root, built.base, LiveOptions()) as live:
        assert search_code(live, query, k=3, mode="lexical").results[0].path == "m3.py"
        damage_lexical(built, "term_garbage")
        live.index.lexical.update((), (), live.store.generation)  # a write's commit reloads
        with pytest.raises(LexicalCorrupt) as failed:
            search_code(live, query, k=3, mode="lexical")
        assert live.recover_if_damaged(failed.value)
        for thread in list(live._threads):
            thread.join(60)
        hits = search_code(live, query, k=3, mode="lexical").results
        assert hits[0].path == "m3.py" and "lexical" in hits[0].matched_by
        assert live.index.lexical.generation == live.store.generation
        assert live.index.lexical.num_docs() == live.store.count_chunks()
        assert not live._recovering


def damage_found_by_search_only(paths: IndexPaths, scratch: Path) -> tuple[int, int]:
    """(offset, module): 64 bytes of 0xff at `offset` of the term dictionary that the open
    does not notice (it opens each field's dictionary, not every entry) and a search for
    the module's words fails on (tantivy errs or panics on what it reads there). Found by
    trying, on copies: where exactly depends on the bytes tantivy wrote."""
    term = next(paths.lexical.glob("*.term"))
    size = term.stat().st_size
    for offset in range(0, size, max(1, size // 50)):
        copy = scratch / f"lexical-{offset}"
        shutil.copytree(paths.lexical, copy)
        with (copy / term.name).open("r+b") as f:
            f.seek(offset)
            f.write(b"\xff" * 64)
        lexical = LexicalIndex(copy)
        try:
            if lexical.generation == -1:  # found on open, wiped: not this case
                continue
            for i in range(MODULES):
                try:
                    lexical.search(" ".join(WORDS[i]), 3)
                except LexicalCorrupt:
                    return offset, i
        finally:
            lexical.close()
    pytest.fail("no damage of the term dictionary fails a search but not the open: "
                "the CLI's run again on a rebuilt lexical index is not reached this way")


def test_a_cli_search_failing_on_lexical_damage_runs_again_on_a_rebuilt_index(
    built: IndexPaths, tmp_path: Path,
) -> None:
    offset, i = damage_found_by_search_only(built, tmp_path / "tries")
    with next(built.lexical.glob("*.term")).open("r+b") as f:
        f.seek(offset)
        f.write(b"\xff" * 64)
    results, stderr = search(built, " ".join(WORDS[i]), "lexical")
    assert "rebuilding it from the store" in stderr
    assert results[0]["path"] == f"m{i}.py" and "lexical" in results[0]["matched_by"]  # type: ignore[operator]
    whole_lexical_index(built)


def test_a_deleted_store_takes_the_indexes_made_from_it_along(built: IndexPaths) -> None:
    """A new store counts chunk ids and generations from zero again: the model tier's
    vectors of the old one, at the same generation, were trusted and answered with other
    chunks (a module added meanwhile shifts every id). The derived indexes go; the
    embedding cache (keyed by model and text) stays, so only the new module is embedded."""
    built.store.unlink()
    (built.root / "a0.py").write_text("def added_first(value):\n    return value\n")
    again = index(built)
    assert again["embedding"]["computed"] < MODULES  # type: ignore[index,operator]
    finds_each_module(built, "semantic", "semantic")
    finds_each_module(built, "lexical", "lexical")
    whole_lexical_index(built)


@pytest.mark.parametrize("name", ["static.model", "vectors.model"])
def test_a_model_file_of_bytes_that_are_not_text_is_rebuilt(
    built: IndexPaths, name: str,
) -> None:
    """Before: reading it raised UnicodeDecodeError, failing every command (the static
    tier's file) or turning the model tier off for good (the vectors')."""
    model_file = built.dir / name
    recorded = model_file.read_text()
    model_file.write_bytes(b"\xff\xfe\x80" + recorded.encode())
    results, stderr = search(built, " ".join(WORDS[7]), "semantic")
    assert results[0]["path"] == "m7.py" and "unavailable" not in stderr
    assert "semantic" in results[0]["matched_by"]  # type: ignore[operator]
    assert model_file.read_text() == recorded  # the index rebuilt, the file written again
