"""The architecture rules hold, and the tools that check them really catch a violation.

- import contracts (pyproject.toml `[tool.importlinter]`): indexer imports neither tools nor
  the protocol layer; tools do not import the protocol layer; nothing shipped imports evals;
  indexer stages import only earlier stages; no import circles;
- the type checker in strict mode on tools/ and indexer/ (`[tool.mypy]`);
- ruff with the complexity and argument-count limits (`[tool.ruff.lint]`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {BIN}: `pip install -e '.[dev]'`")
    return str(path)


def test_the_import_contracts_are_kept() -> None:
    done = _run(_tool("lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_indexer_module_importing_a_tool_breaks_a_contract(tmp_path: Path) -> None:
    """The contracts bite: the same configuration over a copy of the packages with one
    forbidden import added fails, naming that import."""
    for pkg in ("indexer", "tools", "mcp_server", "prompts", "evals"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "queries"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "indexer/core/leak.py").write_text("from tools.budget import fit_answer\n")
    done = _run(sys.executable, "-c",
                "import sys; from importlinter.cli import lint_imports_command; "
                "sys.exit(lint_imports_command())", "--no-cache", cwd=tmp_path)
    assert done.returncode != 0
    assert "indexer.core.leak -> tools.budget" in done.stdout


def test_the_contracts_cover_every_shipped_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = config["tool"]["setuptools"]["packages"]["find"]["include"]
    roots = set(config["tool"]["importlinter"]["root_packages"])
    assert {p.rstrip("*") for p in shipped} <= roots
    assert "evals*" not in shipped


def test_tools_and_indexer_pass_the_type_checker_in_strict_mode() -> None:
    done = _run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_with_complexity_and_argument_limits_is_clean() -> None:
    done = _run(_tool("ruff"), "check", ".")
    assert done.returncode == 0, done.stdout[-4000:]
