"""`sextant index --dry-run`: a report of what would be indexed, writing nothing, that agrees
with the real run (skips per reason, files, chunks) and prices embedding at a rate measured
on this machine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.build import IndexOptions, dry_run, index_repository
from indexer.build import dryrun as dryrun_module
from indexer.disk import IndexPaths, RepoIndex

ROOT = Path(__file__).resolve().parent.parent


def sextant(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """The CLI with the hashing model (no native model to load) and a private cache dir."""
    return subprocess.run(
        [sys.executable, "-m", "mcp_server.cli", *args], capture_output=True, check=False,
        text=True, timeout=300, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(ROOT),
             "SEXTANT_MODEL": "hashing", "SEXTANT_CACHE_DIR": str(cache)})


def test_dry_run_reports_languages_skips_and_estimates_without_writing(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    repo = tmp_path / "flask"
    shutil.copytree(corpus("flask"), repo)
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "node_modules" / "x").mkdir(parents=True)
    (repo / "node_modules" / "x" / "index.js").write_text("module.exports = 1\n")
    proc = sextant("index", str(repo), "--dry-run", "--json", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["languages"]["python"] > 50
    assert report["directories"]["src"] > 10 and report["directories"]["tests"] > 10
    assert report["skipped"]["secret"] >= 1 and report["skipped"]["vendored"] >= 1
    assert report["estimated_chunks"] > 1000
    assert report["estimated_embed_seconds"] > 0
    assert not (repo / ".sextant").exists()


def test_dry_run_human_output_names_the_estimates(corpus: Callable[[str], Path],
                                                  tmp_path: Path) -> None:
    proc = sextant("index", str(corpus("flask")), "--dry-run", cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "would index" in proc.stdout and "chunks" in proc.stdout and "skipped" in proc.stdout


@pytest.mark.parametrize("name", ["requests", "vue-core"])
def test_dry_run_agrees_with_the_real_run_on_skips_files_and_chunks(
        name: str, corpus: Callable[[str], Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """requests (114 files) is chunked whole; vue-core (702 files) is sampled per language."""
    monkeypatch.setenv("SEXTANT_MODEL", "hashing")
    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(tmp_path / "cache"))
    root = corpus(name)
    report = dry_run(root, IndexOptions())
    assert report["chunks_exact"] == (name == "requests")
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        stats = index_repository(index, IndexOptions())
        stored = index.store.query("SELECT count(*) FROM files")[0][0]
    assert report["skipped"] == dict(stats.skipped)
    assert report["files"] == stats.files == stored
    assert abs(report["estimated_chunks"] - stats.chunks) <= 0.15 * stats.chunks


def test_dry_run_verbose_lists_each_skipped_path_with_its_reason(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    proc = sextant("index", str(corpus("requests")), "--dry-run", "--verbose", cache=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "  minified: ext/requests-logo.svg (" in proc.stdout
    assert "  too_large: ext/requests-logo.ai (" in proc.stdout
    listed = [line for line in proc.stdout.splitlines() if line.startswith("  ")]
    as_json = json.loads(sextant("index", str(corpus("requests")), "--dry-run", "--json",
                                 "--verbose", cache=tmp_path).stdout)
    assert len(listed) == sum(as_json["skipped"].values()) == len(as_json["skipped_paths"])


def test_the_embedding_rate_is_measured_once_per_model_and_then_read_from_the_cache(
        corpus: Callable[[str], Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_MODEL", "hashing")
    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(dryrun_module.RATE_ENV, raising=False)
    first = dry_run(corpus("gin"), IndexOptions())
    assert first["embed_rate"]["source"] == "measured"
    assert first["embed_rate"]["chunks"] == dryrun_module.CALIBRATION_TEXTS
    again = dry_run(corpus("gin"), IndexOptions())
    assert again["embed_rate"]["source"] == "cached"
    assert again["embed_rate"]["chunks_per_s"] == first["embed_rate"]["chunks_per_s"]
    rates = json.loads((tmp_path / dryrun_module.RATE_FILE).read_text())
    assert [key.split("|")[0] for key in rates] == ["hashing-d64-t256"]
    monkeypatch.setenv("SEXTANT_MODEL", "hashing:32")  # another model: measured again
    assert dry_run(corpus("gin"), IndexOptions())["embed_rate"]["source"] == "measured"
    assert again["estimated_embed_seconds"] == round(
        again["estimated_chunks"] / again["embed_rate"]["chunks_per_s"], 1)
