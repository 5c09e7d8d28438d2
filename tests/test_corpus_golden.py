"""Golden counts on the shared corpora: what the indexer finds in real repositories.

Any change in walk, parse or chunk rules shows up here as a diff. When a change is
intended, regenerate with `SEXTANT_UPDATE_GOLDENS=1 pytest tests/test_corpus_golden.py`
and review the diff of tests/fixtures/corpus_golden.json like code; then bump
`indexer.build.pipeline.EXTRACTION_RULES`, so that existing indexes read their files again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex

GOLDEN = Path(__file__).parent / "fixtures" / "corpus_golden.json"
CORPORA = ("flask", "requests", "gin", "vue-core", "ripgrep")
UPDATE = os.environ.get("SEXTANT_UPDATE_GOLDENS") == "1"


def counts(root: Path, index_dir: Path) -> dict[str, Any]:
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        stats = index_repository(index)
        q = index.store.query
        return {
            "files": stats.indexed,
            "skipped": dict(sorted(stats.skipped.items())),
            "languages": dict(q("SELECT coalesce(language,'text'), count(*) FROM files "
                                "GROUP BY 1 ORDER BY 1")),
            "symbols_by_kind": dict(q("SELECT kind, count(*) FROM symbols GROUP BY 1 "
                                      "ORDER BY 1")),
            "imports": q("SELECT count(*) FROM imports")[0][0],
            "chunks": stats.chunks,
        }


@pytest.mark.parametrize("name", CORPORA)
def test_corpus_counts_match_the_goldens(name: str, corpus: Callable[[str], Path],
                                         tmp_path: Path) -> None:
    got = counts(corpus(name), tmp_path / "idx")
    goldens = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if UPDATE:
        goldens[name] = got
        GOLDEN.write_text(json.dumps(goldens, indent=1, sort_keys=True) + "\n")
        pytest.skip("goldens updated")
    assert name in goldens, "no golden yet: run with SEXTANT_UPDATE_GOLDENS=1"
    want = goldens[name]
    assert got["files"] == want["files"]
    assert got["skipped"] == want["skipped"]
    assert got["languages"] == want["languages"]
    assert got["symbols_by_kind"] == want["symbols_by_kind"]
    assert got["imports"] == want["imports"]
    assert got["chunks"] == want["chunks"]
