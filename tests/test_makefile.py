"""The README's `make run`, launched by a stdio MCP client: its stdout is the protocol, so
everything make runs before the server writes to stderr, and make echoes nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_recipe() -> list[str]:
    """The lines of the `run` target's recipe, as written in the Makefile."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = lines.index("run:") + 1
    recipe = []
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        recipe.append(line[1:])
    return recipe


def test_make_run_echoes_none_of_its_commands() -> None:
    recipe = run_recipe()
    assert recipe and all(line.startswith("@") for line in recipe), recipe


def test_make_run_sends_the_output_of_every_command_before_serve_to_stderr(
        tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # -n prints the commands instead of running them (the recursive `$(MAKE) setup` runs,
    # itself with -n, its output on stderr); the venv does not exist, so nothing is built.
    proc = subprocess.run(
        [make, "-s", "-n", "-C", str(ROOT), "run", f"REPO={tmp_path}",
         f"VENV={tmp_path / 'venv'}"],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    commands = [line.split("  #", 1)[0].strip() for line in proc.stdout.splitlines()]
    *before, last = commands
    assert last == f"exec {tmp_path / 'venv'}/bin/sextant serve --repo {tmp_path}"
    assert len(before) == 2 and all(c.endswith(">&2") for c in before), before
    assert "setup" in before[0] and "sextant index" in before[1]
