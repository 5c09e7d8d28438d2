"""Shared fixtures: real corpora extracted from ../shared/corpora into temp dirs.

Tests that need a corpus skip with a clear reason where ../shared is absent (a user's clone).
Extraction happens once per session per corpus; tests that mutate a tree must copy it first
(`copy_corpus`).
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

# The test process builds the output models on pydantic, as a server does: a test that runs
# cli.main() in-process must not turn them lean (tools/schema.py).
import tools.models  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO_ROOT.parent / "shared"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The longest test files, longest first (`pytest --durations`, summed per file). `make test`
# hands whole files to two workers in collection order; starting with the longest ones
# (longest-processing-time-first) keeps one worker from running a long file alone at the end
# while the other idles. A file missing here only runs later, never not at all.
LONGEST_FIRST = ("test_cluster.py", "test_static_embed.py", "test_ranking_fresh.py",
                 "test_tiers.py", "test_crash.py", "test_owner_faults.py", "test_dryrun.py",
                 "test_store_damage.py", "test_incremental.py", "test_snapshot.py",
                 "test_hostile_load.py", "test_cli.py", "test_embed_model.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: file order kept


def corpus_archive(name: str) -> Path | None:
    corpora = SHARED / "corpora"
    if not corpora.is_dir():
        return None
    matches = sorted(corpora.glob(f"{name}-*.tar.gz"))
    return matches[0] if matches else None


def extract_corpus(name: str, dest: Path) -> Path:
    """Extract corpus `name` under `dest` and return the repository root inside it."""
    archive = corpus_archive(name)
    if archive is None:
        pytest.skip(f"corpus {name!r} not found: ../shared/corpora is absent (a user's clone)")
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    entries = [p for p in dest.iterdir() if p.is_dir()]
    return entries[0] if len(entries) == 1 else dest


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`corpus("flask")` -> path of a read-only-by-convention extracted copy."""
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = extract_corpus(name, tmp_path_factory.mktemp(f"corpus-{name}"))
        return cache[name]

    return get


@pytest.fixture
def copy_corpus(corpus: Callable[[str], Path], tmp_path: Path) -> Callable[[str], Path]:
    """`copy_corpus("flask")` -> a private copy a test may modify."""

    def get(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(corpus(name), dest, symlinks=True)
        return dest

    return get


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A one-file repository and its index (the HTTP tests serve it)."""
    from tests.mcp_helpers import build_index

    root = tmp_path_factory.mktemp("repo")
    (root / "app.py").write_text("def serve(port):\n    '''Start serving.'''\n    return port\n")
    index_dir = tmp_path_factory.mktemp("idx")
    build_index(root, index_dir)
    return root, index_dir
