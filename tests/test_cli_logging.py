"""A one-shot command logs what SEXTANT_LOG_LEVEL asks for.

Its errors end "set SEXTANT_LOG_LEVEL=DEBUG for details", but every command but `serve`
logged at WARNING whatever the variable said (found by a damage test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _status(repo: Path, level: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(ROOT),
           "SEXTANT_STATIC": "0", "SEXTANT_HISTORY": "0"}
    if level:
        env["SEXTANT_LOG_LEVEL"] = level
    done = subprocess.run([sys.executable, "-m", "mcp_server.cli", "index", "--no-embed",
                           "--repo", str(repo)], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_a_one_shot_command_logs_at_the_level_asked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def alpha():\n    return 1\n")
    assert " INFO " not in _status(repo, None)
    (repo / "b.py").write_text("def beta():\n    return 2\n")  # something to do again
    assert " INFO " in _status(repo, "INFO")
