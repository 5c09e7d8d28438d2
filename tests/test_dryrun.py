"""`sextant index --dry-run`: a report of what would be indexed, writing nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.test_cli import sextant


def test_dry_run_reports_languages_skips_and_estimates_without_writing(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    repo = tmp_path / "flask"
    shutil.copytree(corpus("flask"), repo)
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "node_modules" / "x").mkdir(parents=True)
    (repo / "node_modules" / "x" / "index.js").write_text("module.exports = 1\n")
    proc = sextant("index", str(repo), "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["languages"]["python"] > 50
    assert report["directories"]["src"] > 10 and report["directories"]["tests"] > 10
    assert report["skipped"]["secret"] >= 1 and report["skipped"]["vendored"] >= 1
    assert report["estimated_chunks"] > 1000
    assert report["estimated_embed_seconds"] > 0
    assert not (repo / ".sextant").exists()


def test_dry_run_human_output_names_the_estimates(corpus: Callable[[str], Path]) -> None:
    proc = sextant("index", str(corpus("flask")), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would index" in proc.stdout and "chunks" in proc.stdout and "skipped" in proc.stdout
