"""Query terms the body tokenizer would split into a phrase (positions are not indexed)."""

from __future__ import annotations

from pathlib import Path

from indexer.live import LiveIndex
from tests.mcp_helpers import build_index
from tools.search import search_code


def test_search_survives_a_commit_hash_in_the_query(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "tree.go").write_text(
        "package gin\n\n// addRoute adds a route to the tree.\nfunc addRoute(path string) {}\n")
    build_index(root, tmp_path / "idx")
    with LiveIndex.open(root, tmp_path / "idx") as live:
        result = search_code(live, "tree: remove duplicate assignment, see commit "
                             "cfa3cb764b4fc4eb98cae67a2020a91c79e065be in httprouter", k=3,
                             mode="lexical")
    assert [h.path for h in result.results] == ["tree.go"]
