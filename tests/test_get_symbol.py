"""get_symbol (and the symbol targets of expand_dependencies) on a small Rust repository,
indexed for real: how names are read, and what an answer says it left out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.graph import graph_tables
from indexer.graph.refs import MAX_USES
from indexer.graph.uses import name_uses
from indexer.live import LiveIndex
from mcp_server.text import render
from tests.mcp_helpers import live_over
from tools.deps import expand_dependencies
from tools.symbols import MAX_REFERENCES, get_symbol

GITIGNORE = """/// A matcher for a set of gitignore globs.
pub struct Gitignore { n: u32 }

impl Gitignore {
    /// An empty matcher.
    pub fn new() -> Gitignore { Gitignore { n: 0 } }

    /// Whether the path matches.
    pub fn matched(&self) -> bool { self.n == 0 }
}
"""
WALK = """pub struct WalkBuilder;

impl WalkBuilder {
    pub fn new() -> WalkBuilder {
        let g = Gitignore::new();
        g.matched();
        WalkBuilder
    }
}
"""
FILES = {
    "crates/ignore/src/gitignore.rs": GITIGNORE,
    "crates/ignore/src/walk.rs": WALK,
    "crates/core/main.rs": "fn main() {\n    let w = WalkBuilder::new();\n}\n",
}


@pytest.fixture(scope="module")
def rust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    with live_over(tmp_path_factory.mktemp("rust"), FILES) as live:
        yield live


def test_a_rust_path_names_the_method_as_its_dotted_qualified_name_does(
        rust: LiveIndex) -> None:
    """`Gitignore::matched` answered with fuzzy matches, struct Gitignore first: qualified
    names are stored with dots."""
    for name in ("Gitignore::matched", "crate::Gitignore::matched"):
        found = get_symbol(rust, name, include_body=False).symbols
        assert [(s.qualname, s.path, s.match) for s in found] == [
            ("Gitignore.matched", "crates/ignore/src/gitignore.rs", "qualified")]
    new = get_symbol(rust, "WalkBuilder::new", include_body=False).symbols
    assert [(s.qualname, s.path) for s in new] == [("WalkBuilder.new", "crates/ignore/src/walk.rs")]


def test_expand_dependencies_takes_a_rust_path_alone_or_after_its_file(rust: LiveIndex) -> None:
    for target in ("Gitignore::matched", "crates/ignore/src/gitignore.rs:Gitignore::matched"):
        result = expand_dependencies(rust, target, "in")
        assert result.resolved == "crates/ignore/src/gitignore.rs:Gitignore.matched"
        assert "WalkBuilder.new" in {n.id for n in result.nodes}


def test_a_path_with_no_definition_of_the_name_lists_none_and_says_where_it_is(
        rust: LiveIndex) -> None:
    """The filter fell back to every definition when none matched it: `new` in a file with
    none answered all of them, `Gitignore` in crates/core the one in crates/ignore."""
    result = get_symbol(rust, "new", path="crates/nonexistent.rs", include_body=False)
    assert result.symbols == []
    assert result.note is not None and "'crates/nonexistent.rs'" in result.note
    assert "crates/ignore/src/gitignore.rs" in result.note and "crates/ignore/src/walk.rs" in (
        result.note)
    result = get_symbol(rust, "Gitignore", path="crates/core", include_body=False)
    assert result.symbols == [] and result.note is not None
    assert "crates/ignore/src/gitignore.rs" in result.note


def test_a_path_keeps_only_the_definitions_in_that_file_or_directory(rust: LiveIndex) -> None:
    for path in ("crates/ignore/src/walk.rs", "./crates/ignore/src/walk.rs", "crates/ignore/"):
        found = get_symbol(rust, "new", path=path, include_body=False)
        assert found.note is None
        assert {s.qualname for s in found.symbols} == (
            {"WalkBuilder.new"} if path.endswith(".rs") else {"WalkBuilder.new", "Gitignore.new"})
    everywhere = get_symbol(rust, "new", path=".", include_body=False)
    assert {s.qualname for s in everywhere.symbols} == {"WalkBuilder.new", "Gitignore.new"}


def _uses(n: int) -> str:
    return "from a.core import tick\n\n\ndef run():\n" + "".join("    tick()\n" for _ in range(n))


USES = {
    "a/core.py": "def tick():\n    return 1\n",
    "a/many.py": _uses(60),
    "b/few.py": _uses(3),
    "z/last.py": _uses(1),
    "tests/test_tick.py": _uses(5),
}


def test_references_past_the_cap_are_counted_and_the_listed_ones_span_the_repository(
        tmp_path: Path) -> None:
    """69 uses, 50 listed: the answer said `truncated: false, omitted: null`, and the 50 were
    the first by path (a/many.py's), leaving out b/ and z/ whole."""
    with live_over(tmp_path, USES) as live:
        result = get_symbol(live, "tick", include_references=True)
        (tick,) = result.symbols
        refs = tick.references or []
        assert len(refs) == MAX_REFERENCES and tick.references_omitted == 69 - MAX_REFERENCES
        assert result.truncated
        assert {"a/many.py", "b/few.py", "z/last.py"} <= {r.path for r in refs}
        assert not any(r.path.startswith("tests/") for r in refs)  # 64 uses outside tests
        assert refs == sorted(refs, key=lambda r: (r.path, r.line))
        assert "references (50 of 69, 19 left out)" in render(result)
        store = live.index.store
        by_query = name_uses(store, None, "tick")
        by_tables = name_uses(store, graph_tables(store), "tick")
        assert by_tables.uses == by_query.uses and len(by_query.uses) == 69
        assert by_tables.of("a/core.py", "tick", 1) == by_query.of("a/core.py", "tick", 1)


def test_references_cut_by_the_budget_are_counted_too(tmp_path: Path) -> None:
    with live_over(tmp_path, USES) as live:
        result = get_symbol(live, "tick", include_references=True, max_tokens=300)
        (tick,) = result.symbols
        assert result.truncated
        assert len(tick.references or ()) + tick.references_omitted == 69


def test_a_name_used_more_often_than_is_read_says_so(tmp_path: Path) -> None:
    """Its references are read among the first `MAX_USES` uses by path: before, nothing in
    the answer said that a file later in path order could be missing from them."""
    files = {
        "a_lib.py": "def tick():\n    return 1\n\n\ndef tock():\n    return 2\n",
        "b_many.py": "from a_lib import tick, tock\n\n\ndef loop():\n"
                     + "    tick()\n" * (MAX_USES + 50) + "    tock()\n",
    }
    with live_over(tmp_path, files) as live:
        many = get_symbol(live, "tick", include_body=False, include_references=True)
        few = get_symbol(live, "tock", include_body=False, include_references=True)
        plain = get_symbol(live, "tick", include_body=False)
    assert many.note is not None and f"more than {MAX_USES:,} times" in many.note
    assert many.symbols[0].references_omitted + len(many.symbols[0].references or ()) == MAX_USES
    assert few.note is None and plain.note is None
