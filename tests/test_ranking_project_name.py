"""The repository's own name in a query's prose names the project, not a place in it: its
BM25 weight is `tools.search.PROJECT_WEIGHT`. Where the name is rare in the code, the
packaging and docs that spell it out ranked first ("how does ripgrep decide a file is
binary" put `HomebrewFormula/ripgrep-bin.rb` above the binary detection code)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools import search

DETECTION = '''
def detect_binary(head):
    """Decide whether a file is binary: a NUL byte in its first block means binary."""
    return b"\\x00" in head


def quit_on_binary(searcher, head):
    """Stop searching a file once it is known to be binary."""
    if detect_binary(head):
        searcher.stop()
'''
FORMULA = '''
class RipgrepBin(Formula):
    """ripgrep binary release: ripgrep, the ripgrep-bin package of ripgrep."""
    url = "https://example.org/ripgrep/ripgrep-bin.tar.gz"

    def install(self):
        bin.install("ripgrep")
'''


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIndex]:
    files = {"searcher/binary.py": DETECTION, "packaging/ripgrep_bin.py": FORMULA}
    with live_over(tmp_path, files, name="ripgrep") as live:
        yield live


def paths(live: LiveIndex, query: str) -> list[str]:
    hits = search.search_code(live, query, k=4, mode="lexical").results
    return list(dict.fromkeys(h.path for h in hits))


def test_the_projects_own_name_in_prose_does_not_outrank_the_code(live: LiveIndex) -> None:
    assert search.project_token(live.name) == "ripgrep"
    assert paths(live, "how does ripgrep decide a file is binary")[0] == "searcher/binary.py"
    # the same query without the name ranks the same way
    assert paths(live, "how does it decide a file is binary")[0] == "searcher/binary.py"


def test_the_name_keeps_its_weight_alone_capitalised_compound_or_written_as_code(live: LiveIndex) -> None:
    plan = search.plan_query("how does ripgrep decide a file is binary")
    weights = dict(search.project_weighted(plan, "ripgrep"))
    assert weights["ripgrep"] == pytest.approx(search.PROJECT_WEIGHT) and weights["binary"] == 1
    for query in ("ripgrep", "the `ripgrep` binary", "ripgrep.install binary",
                  "Ripgrep decides binary files",  # `Flask` is also flask's main class
                  "port the tests from ripgrep-bin", "ripgrep::search binary files"):
        plan = search.plan_query(query)
        assert search.project_weighted(plan, "ripgrep") == list(plan.weighted), query
    assert paths(live, "ripgrep")[0] == "packaging/ripgrep_bin.py"


def test_the_name_is_the_first_part_of_the_repositorys_name() -> None:
    assert search.project_token("vue-core") == "vue"
    assert search.project_token("gin") == "gin"
    assert search.project_token("go") is None  # too short to tell from a word


def test_the_embedders_see_the_query_without_the_name_where_bm25_lowers_it(
        tmp_path: Path) -> None:
    from indexer.build import index_repository
    from indexer.embed import HashingEmbedder
    from indexer.live import LiveOptions, embed_chunks

    root = tmp_path / "ripgrep"
    for rel, text in {"searcher/binary.py": DETECTION, "packaging/ripgrep_bin.py": FORMULA}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(model="hashing", static=False)) as live:
        index_repository(live.index)
        live.attach_model()
        assert isinstance(live.embedder, HashingEmbedder) and live.vectors is not None
        embed_chunks(live.index, live.vectors, live.embedder,
                     [r[0] for r in live.store.query("SELECT chunk_id FROM chunks")])
        for query, seen in (("how does ripgrep decide a file is binary",
                             "how does decide a file is binary"),
                            ("Ripgrep decides binary files", "Ripgrep decides binary files"),
                            ("ripgrep", "ripgrep")):
            search.search_code(live, query, k=4, mode="hybrid")
            assert live.embedder.query_calls[-1] == seen
