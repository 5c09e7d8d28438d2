"""A one-shot CLI read builds the tools' output models without pydantic (tools/schema.py,
tools/lean_model.py) and prints exactly what it printed with pydantic: the same JSON, the
same token counts (the budget fit counts the answer's JSON), the same text."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core
import pytest

from tools.lean_model import Field as LeanField
from tools.lean_model import LeanModel, _plain_floats

ROOT = Path(__file__).resolve().parent.parent


def test_floats_written_alike_by_python_and_pydantic_are_the_ones_the_lean_json_writes() -> None:
    rng = random.Random(7)
    for exponent in range(-12, 23):
        for _ in range(400):
            x = rng.random() * 10 ** exponent
            for v in (x, -x, round(x, 4), round(x, 2), float(int(x))):
                if _plain_floats(v):
                    assert repr(v) == pydantic_core.to_json(v).decode(), v


def _twin_models(base: type[Any], field: Callable[..., Any]) -> type[Any]:
    """The same three models on either base (what tools/models.py does via tools/schema)."""
    module = types.ModuleType(f"twin_models_{base.__name__}")
    sys.modules[module.__name__] = module  # where both resolve the annotations' names
    namespace = vars(module)
    namespace.update({"BaseModel": base, "Field": field})
    exec(  # noqa: S102 - test source: one text, two bases
        "from __future__ import annotations\n"
        "class Inner(BaseModel):\n"
        "    name: str\n"
        "    weight: float = 1.0\n"
        "class Middle(Inner):\n"
        "    lines: list[int] = Field(default_factory=list, description='d')\n"
        "class Outer(BaseModel):\n"
        "    items: list[Middle]\n"
        "    best: Inner | None = None\n"
        "    metrics: dict[str, float] = Field(default_factory=dict)\n"
        "    extra: dict[str, object] = Field(default_factory=dict)\n"
        "    count: int\n"
        "    took: float\n", namespace)
    return namespace["Outer"]  # type: ignore[no-any-return]


VALUES: list[dict[str, Any]] = [
    {"items": [{"name": "a", "weight": 2, "lines": [1, 2]}], "count": 3.0, "took": 12,
     "best": {"name": "b"}, "metrics": {"tiny": 1e-7, "zero": 0, "big": 1e20, "neg": -0.5}},
    {"items": [], "count": 0, "took": float("inf"), "metrics": {"nan": float("nan")}},
    {"items": [{"name": "\x00\x1f\x7f\u2028 é \"quoted\" \\ / \t\n"}], "count": 1,
     "took": 0.00012, "extra": {"nested": [1, {"x": None, "y": True}], "empty": {}}},
    {"items": [{"name": "x", "weight": 3.5e-5}], "count": 2, "took": 123456789.123456},
    {"items": [{"name": "b", "weight": True, "lines": [True, 2.0]}], "count": False,
     "took": True},
]


@pytest.mark.parametrize("value", VALUES)
def test_lean_models_dump_what_pydantic_dumps(value: dict[str, Any]) -> None:
    real = _twin_models(pydantic.BaseModel, pydantic.Field).model_validate(value)
    lean = _twin_models(LeanModel, LeanField).model_validate(value)
    for indent in (None, 2):
        assert lean.model_dump_json(indent=indent) == real.model_dump_json(indent=indent)
    assert repr(lean.model_dump()) == repr(real.model_dump())
    assert repr(lean.model_dump(mode="json")) == repr(real.model_dump(mode="json"))
    assert list(type(lean).model_fields) == list(type(real).model_fields)
    copied = lean.model_copy(update={"count": 9})
    assert copied.count == 9 and lean.count == real.count and copied != lean
    assert copied.model_copy(update={"count": lean.count}) == lean


def test_a_lean_model_requires_its_required_fields() -> None:
    outer = _twin_models(LeanModel, LeanField)
    with pytest.raises(TypeError, match="'count' is required"):
        outer(items=[], took=1.0)


def _run_cli_commands(repo: Path, commands: list[list[str]], *, lean: bool) -> dict[str, Any]:
    """Each command's exit code and stdout from one process (lean or pydantic models), and
    whether that process imported pydantic."""
    script = (
        "import contextlib, io, json, sys\n"
        "from mcp_server import cli\n"
        f"lean = {lean!r}\n"
        "if not lean:\n"
        "    cli.LEAN_COMMANDS = frozenset()\n"
        "out = []\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf):\n"
        "        code = cli.main(argv)\n"
        "    out.append([code, buf.getvalue()])\n"
        "print(json.dumps({'runs': out, 'pydantic': 'pydantic' in sys.modules}))\n")
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(commands)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()),
                               "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _without_timings(code_and_out: list[Any]) -> list[Any]:
    code, out = code_and_out
    try:
        data = json.loads(out)
    except ValueError:
        return [code, "\n".join(line for line in out.splitlines() if " in " not in line
                               or "ms" not in line)]
    if isinstance(data, dict):
        data.pop("took_ms", None)
    return [code, data]


def test_cli_reads_print_the_same_with_lean_models_and_never_import_pydantic(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    repo = tmp_path / "flask"
    shutil.copytree(corpus("flask"), repo)
    r = ["--repo", str(repo)]
    _run_cli_commands(repo, [["index", str(repo), "--no-embed", "--json"]], lean=False)
    commands: list[list[str]] = []
    for query in ("register url rule", "how are errors handled in a blueprint", "session"):
        commands += [["search", *r, query, "--json"], ["search", *r, query],
                     ["search", *r, query, "-k", "30", "--max-tokens", "400", "--json"],
                     ["search", *r, query, "--granularity", "file", "--json"]]
    commands += [["symbol", *r, "Flask", "--json"], ["symbol", *r, "url_for", "--refs"],
                 ["symbol", *r, "NoSuchThing"], ["deps", *r, "src/flask/app.py", "--json"],
                 ["summary", *r, "src/flask", "--json"], ["summary", *r, "src/flask"],
                 ["status", *r, "--json"], ["status", *r],
                 ["context", *r, "how are errors handled in a blueprint", "--json"],
                 ["context", *r, "session cookie signing", "--max-tokens", "1500"]]
    real = _run_cli_commands(repo, commands, lean=False)
    lean = _run_cli_commands(repo, commands, lean=True)
    assert real["pydantic"] and not lean["pydantic"]
    truncated = 0
    for argv, a, b in zip(commands, real["runs"], lean["runs"], strict=True):
        assert _without_timings(a) == _without_timings(b), argv
        truncated += '"truncated": true' in a[1] or '"truncated":true' in a[1]
    assert truncated >= 1  # the budget fit (token counts of the JSON) was exercised
