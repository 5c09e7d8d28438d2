"""Fusion weights fitted to a repository's own history (`sextant eval --fit`): kept only when
they beat the defaults on the newer commits, used by search, shown by status, and ignored
with a warning when their file is damaged."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import index_repository
from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from tools.fit_weights import History, fit_weights
from tools.ranking_weights import weights_path
from tools.search import default_weights, repository_weights, search_code
from tools.status import index_status

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel", "iris",
         "juniper", "kiwi", "lemon", "mango", "nectar", "olive", "peach", "quince", "rowan",
         "sloe", "tamarind", "ugli", "vanilla", "walnut", "yarrow", "zucchini", "almond",
         "basil", "clove", "dill", "endive")
SHELVES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "iota", "kappa",
           "lambda", "sigma", "omega", "orion", "vega", "lyra", "draco", "cetus", "aries",
           "leo", "virgo", "libra", "scorpius", "gemini", "taurus", "pisces", "hydra", "crux",
           "ara", "norma", "pavo")
ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=ENV)


def shelf(word: str) -> str:
    """The module defining `render_WORD`: named after something else (`lib/alpha.py`)."""
    return SHELVES[WORDS.index(word)]


def _definition(word: str, version: int) -> str:
    steps = "".join(f"    text = text.replace(sep{i}, joiner{i}).strip(chars{i})\n" for i in range(12))
    return f"def render_{word}(value):\n    text = str(value)\n{steps}    return text  # v{version}\n"


def _caller(word: str, version: int) -> str:
    return (f"def show_{word}_widget(widget, spacing, alignment, padding):\n"
            f'    """Show the {word} widget: its output, spacing and padding, even empty."""\n'
            f"    widget.theme = {word[::-1]!r}\n"
            f"    label = getattr(renderers, 'render_{word}')(widget.label)\n"
            f"    if not label:\n        label = widget.empty_label\n"
            f"    widget.output(label, spacing=spacing, alignment=alignment, padding=padding)"
            f"  # v{version}\n")


def history(root: Path, fixes: list[str]) -> Path:
    """A repository where each word's function is defined in a module of another name
    (`shelf`; a longer body that shares no other word with the commit subjects) and looked
    up by name in `app/use_WORD.py` (which shares many, and is not a reference the graph
    resolves, so the references retriever does not already bring it); commit i fixes the function of WORDS[i] ("fix render_WORD output for
    empty widget labels") in the file `fixes[i]` names: "caller" or "definition"."""
    root.mkdir()
    _git(root, "init", "-q")
    for word in WORDS:
        (root / "lib").mkdir(exist_ok=True)
        (root / "app").mkdir(exist_ok=True)
        (root / "lib" / f"{shelf(word)}.py").write_text(_definition(word, 0))
        (root / "app" / f"use_{word}.py").write_text(_caller(word, 0))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial import of the renderers")
    for word, where in zip(WORDS, fixes, strict=True):
        if where == "caller":
            (root / "app" / f"use_{word}.py").write_text(_caller(word, 1))
        else:
            (root / "lib" / f"{shelf(word)}.py").write_text(_definition(word, 1))
        _git(root, "commit", "-q", "-am", f"fix {word} widget spacing in theme {word[::-1]} when render_{word} output is empty")
    return root


@pytest.fixture
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveIndex]:
    root = history(tmp_path / "repo", request.param)
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        yield LiveIndex(index)


def _files(live: LiveIndex, query: str) -> list[str]:
    hits = search_code(live, query, k=10, mode="lexical").results
    return list(dict.fromkeys(h.path for h in hits))


CALLERS = ["caller"] * len(WORDS)
SHIFTED = ["caller"] * 18 + ["definition"] * 12  # the newer commits change the definitions


@pytest.mark.parametrize("live", [CALLERS], indirect=True)
def test_weights_fitted_on_older_commits_that_beat_the_defaults_on_newer_ones_are_used(
        live: LiveIndex) -> None:
    query = "fix apple widget spacing in theme elppa when render_apple output is empty"
    assert _files(live, query)[0] == "lib/alpha.py"  # the defaults favour the definition
    report = fit_weights(live, History(n=30), mode="lexical")
    held = report["held_out_score"]
    assert report["saved"] and held["fitted"] > held["defaults"], report
    assert report["commits"] == {"fit": 18, "held_out": 12, "skipped": 0}
    assert report["fitted"]["symbol_prose"] < default_weights()["symbol_prose"]
    active = repository_weights(live)
    assert active.source == "fitted"
    assert active.weights["symbol_prose"] == report["fitted"]["symbol_prose"]
    assert _files(live, query)[0] == "app/use_apple.py"  # the callers this history fixes
    status = index_status(live).ranking_weights
    assert status["source"] == "fitted" and status["held_out_score"] == held


@pytest.mark.parametrize("live", [SHIFTED], indirect=True)
def test_weights_that_do_not_beat_the_defaults_on_newer_commits_are_not_saved(
        live: LiveIndex) -> None:
    path = weights_path(live.index.paths.dir)
    path.write_text(json.dumps({"format": 1, "weights": {"symbol": 0.1},
                                "defaults": default_weights()}))
    assert repository_weights(live).source == "fitted"  # an earlier fit
    report = fit_weights(live, History(n=30), mode="lexical")
    held = report["held_out_score"]
    assert report["fitted"], report  # the older commits did move the weights...
    assert report["fit_score"]["fitted"] > report["fit_score"]["defaults"]
    assert held["fitted"] <= held["defaults"]  # ...in a way the newer ones do not bear out
    assert not report["saved"] and report["removed_previous"]
    assert not path.exists()
    assert repository_weights(live).source == "defaults"
    assert index_status(live).ranking_weights["source"] == "defaults"


@pytest.mark.parametrize("live", [CALLERS], indirect=True)
@pytest.mark.parametrize("content", [
    "{not json", "", json.dumps({"format": 1, "weights": {"symbol_prose": "high"}}),
    json.dumps({"format": 1, "weights": {"symbol_prose": float("inf")}}),
    json.dumps({"format": 1, "weights": {"unknown": 1.0}}),
    json.dumps([1, 2]),
])
def test_a_damaged_weights_file_is_ignored_with_a_warning(
        live: LiveIndex, content: str, caplog: pytest.LogCaptureFixture) -> None:
    query = "fix apple widget spacing in theme elppa when render_apple output is empty"
    before = _files(live, query)
    weights_path(live.index.paths.dir).write_text(content)
    with caplog.at_level(logging.WARNING, logger="tools.ranking_weights"):
        assert _files(live, query) == before
    assert repository_weights(live).source == "defaults"
    assert any("ignoring fitted ranking weights" in r.message for r in caplog.records)


@pytest.mark.parametrize("live", [CALLERS], indirect=True)
def test_weights_fitted_against_other_defaults_are_ignored(
        live: LiveIndex, caplog: pytest.LogCaptureFixture) -> None:
    other = {**default_weights(), "symbol": default_weights()["symbol"] + 1}
    weights_path(live.index.paths.dir).write_text(json.dumps(
        {"format": 1, "weights": {"symbol_prose": 0.0}, "defaults": other}))
    with caplog.at_level(logging.WARNING, logger="tools.ranking_weights"):
        assert repository_weights(live).source == "defaults"
    assert any("other default weights" in r.message for r in caplog.records)


def test_cli_eval_fit_saves_weights_that_status_reports(tmp_path: Path) -> None:
    root = history(tmp_path / "repo", CALLERS)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}

    def sextant(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mcp_server.cli", *args, "--repo",
                               str(root)], capture_output=True, text=True, timeout=300,
                              env=env, check=False)

    assert sextant("index", "--no-embed").returncode == 0
    fit = sextant("eval", "--fit", "-n", "30", "--json")
    assert fit.returncode == 0, fit.stderr
    assert json.loads(fit.stdout)["saved"] is True
    status = sextant("status")
    assert "ranking weights: fitted" in status.stdout, status.stdout
    evaluated = json.loads(sextant("eval", "-n", "30", "--json").stdout)
    assert evaluated["weights"] == "fitted"
