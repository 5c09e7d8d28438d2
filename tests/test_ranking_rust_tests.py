"""Rust keeps its unit tests in the source file (`#[cfg(test)] mod tests`): they rank and
pack as tests (`tools.search.is_test_unit`), not as the code they exercise. On ripgrep,
"--max-columns truncation" put three tests first (`test_max_columns` and the printer's
`tests.max_columns*`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tools.get_context as stages
from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools import search

PRINTER = '''
/// Truncate a line longer than the column limit, with a preview of it.
pub fn truncate_long_line(line: &str, max_columns: usize) -> String {
    line.chars().take(max_columns).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_long_line_with_preview_of_max_columns() {
        let line = "a very long line with a preview of its max columns truncated";
        assert_eq!(truncate_long_line(line, 6), "a very");
        assert_eq!(truncate_long_line(line, 1), "a");
    }
}

#[cfg(test)]
#[test]
fn test_truncate_long_line_preview_max_columns() {
    assert_eq!(truncate_long_line("long line preview", 4), "long");
}
'''


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIndex]:
    with live_over(tmp_path, {"src/printer.rs": PRINTER}) as live:
        yield live


def test_a_rust_unit_test_in_a_source_file_ranks_below_the_code(live: LiveIndex) -> None:
    hits = search.search_code(live, "truncate a long line to max columns with a preview", k=3,
                              mode="lexical").results
    assert hits[0].symbol == "truncate_long_line", [h.symbol for h in hits]
    tests = [h.symbol for h in hits[1:]]
    assert all(search.is_test_unit(h.path, h.symbol) for h in hits[1:]), tests


def test_which_rust_units_are_tests() -> None:
    assert search.is_test_unit("src/printer.rs", "tests.truncate_long_line_with_preview")
    assert search.is_test_unit("src/printer.rs", "tests")
    assert search.is_test_unit("src/printer.rs", "test_truncate")
    assert not search.is_test_unit("src/printer.rs", "Printer.truncate")
    assert not search.is_test_unit("src/printer.py", "tests.truncate")  # Rust only
    assert search.is_test_unit("tests/integration.rs", None)  # by its path, as before


def test_get_context_sends_a_rust_unit_test_as_a_signature(live: LiveIndex) -> None:
    units = stages.gather(live, "truncate a long line to max columns with a preview", None,
                          3000)
    detail = {u.symbol: u.max_detail for u in units if u.symbol}
    assert detail["truncate_long_line"] == "body"
    assert detail["tests"] == detail["test_truncate_long_line_preview_max_columns"] == "signature"
