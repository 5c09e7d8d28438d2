"""expand_dependencies and the graph behind it, on real corpora (flask, gin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from tests.mcp_helpers import indexed_live
from tools.budget import json_tokens
from tools.deps import expand_dependencies
from tools.errors import ToolError


@pytest.fixture(scope="module")
def flask(
    corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveIndex]:
    yield from indexed_live(corpus("flask"), tmp_path_factory.mktemp("flask-idx"))


@pytest.fixture(scope="module")
def gin(
    corpus: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveIndex]:
    yield from indexed_live(corpus("gin"), tmp_path_factory.mktemp("gin-idx"))


def test_flask_app_module_imports_the_sansio_app_module(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "src/flask/app.py", "out", 1, max_tokens=8000)
    assert result.resolved == "src/flask/app.py"
    edges = {(e.source, e.target, e.kind) for e in result.edges}
    assert ("src/flask/app.py", "src/flask/sansio/app.py", "imports") in edges
    assert result.nodes[0].id == "src/flask/app.py" and result.nodes[0].depth == 0


def test_sansio_app_is_imported_by_the_flask_app_module(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "./src/flask/sansio/app.py", "in", 1, max_tokens=8000)
    assert "src/flask/app.py" in {n.id for n in result.nodes}


def test_external_imports_are_edges_to_external_nodes(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "src/flask/app.py", "out", 1, max_tokens=20000)
    externals = {n.id for n in result.nodes if n.kind == "external"}
    assert "werkzeug.routing" in externals
    assert any(e.kind == "external" and e.target == "werkzeug.routing" for e in result.edges)


def test_scaffold_route_calls_add_url_rule(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "Scaffold.route", "out", 1)
    calls = {(e.source, e.target) for e in result.edges if e.kind == "calls"}
    assert ("Scaffold.route", "Scaffold.add_url_rule") in calls
    node = next(n for n in result.nodes if n.id == "Scaffold.add_url_rule")
    assert node.path == "src/flask/sansio/scaffold.py" and node.signature.startswith(
        "def add_url_rule"
    )
    assert node.doc.startswith("Register a rule for routing")


def test_callers_of_add_url_rule_include_scaffold_route(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "add_url_rule", "in", 1)
    callers = {e.source for e in result.edges if e.kind == "calls"}
    assert "Scaffold.route" in callers
    assert "src/flask/sansio/scaffold.py:Scaffold.add_url_rule" in result.resolved


def test_symbol_target_can_name_its_file(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "src/flask/app.py:Flask.wsgi_app", "out", 1)
    assert result.resolved == "src/flask/app.py:Flask.wsgi_app"
    assert "Flask.full_dispatch_request" in {n.id for n in result.nodes}


def test_subclasses_show_up_as_inherits_edges_into_the_class(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "src/flask/sansio/app.py:App", "in", 1)
    assert ("Flask", "App", "inherits") in {(e.source, e.target, e.kind) for e in result.edges}


def test_big_neighbourhood_respects_the_token_budget(flask: LiveIndex) -> None:
    result = expand_dependencies(flask, "src/flask/globals.py", "both", 3, max_tokens=600)
    assert json_tokens(result) <= 600
    assert result.truncated and result.omitted is not None and result.omitted.count > 0
    assert result.nodes[0].id == "src/flask/globals.py"
    kept = {n.id for n in result.nodes}
    assert all(e.source in kept and e.target in kept for e in result.edges)


def test_unknown_symbol_error_suggests_close_names(flask: LiveIndex) -> None:
    with pytest.raises(ToolError, match="did you mean: .*add_url_rule"):
        expand_dependencies(flask, "add_url_rul")


def test_a_directory_target_points_to_its_summary_and_one_of_its_files(flask: LiveIndex) -> None:
    for target in ("src/flask/json", "src/flask/json/"):
        with pytest.raises(ToolError, match=r"is a directory: summarize_dir \(path='src/flask/json'"
                                            r"\).*e\.g\. 'src/flask/json/[a-z_]+\.py'"):
            expand_dependencies(flask, target)


def test_unknown_path_error_suggests_close_paths(flask: LiveIndex) -> None:
    with pytest.raises(ToolError, match="src/flask/app.py"):
        expand_dependencies(flask, "src/flask/ap.py")


def test_paths_outside_the_root_are_refused(flask: LiveIndex) -> None:
    with pytest.raises(ToolError, match=r"'\.\.'"):
        expand_dependencies(flask, "../etc/passwd")


def test_bad_direction_and_depth_are_refused(flask: LiveIndex) -> None:
    with pytest.raises(ToolError, match="direction"):
        expand_dependencies(flask, "src/flask/app.py", "sideways")
    with pytest.raises(ToolError, match="depth"):
        expand_dependencies(flask, "src/flask/app.py", "out", 0)


def test_gin_context_methods_are_called_from_gin_go(gin: LiveIndex) -> None:
    result = expand_dependencies(gin, "context.go", "in", 1, max_tokens=20000)
    assert "gin.go" in {n.id for n in result.nodes}
    callers = expand_dependencies(gin, "Context.reset", "in", 1)
    assert any(e.detail.startswith("gin.go:") for e in callers.edges)


def test_gin_go_uses_its_render_package_files(gin: LiveIndex) -> None:
    result = expand_dependencies(gin, "context.go", "out", 1, max_tokens=20000)
    targets = {e.target for e in result.edges if e.kind == "imports"}
    assert any(t.startswith("render/") for t in targets)


def test_ripgrep_files_import_modules_of_other_workspace_crates(
    corpus: Callable[[str], Path], tmp_path: Path
) -> None:
    idx = RepoIndex(IndexPaths.for_repo(corpus("ripgrep"), tmp_path / "idx"))
    index_repository(idx)
    ctx = LiveIndex(idx)
    try:
        result = expand_dependencies(ctx, "crates/core/main.rs", "out", 1, max_tokens=20000)
        targets = {e.target for e in result.edges if e.kind == "imports"}
        assert "crates/core/flags/mod.rs" in targets
        assert any(t.startswith("crates/ignore/src/") for t in targets)
    finally:
        ctx.index.close()
