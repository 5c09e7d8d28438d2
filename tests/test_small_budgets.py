"""The smallest budgets still hold an item where one fits.

A user-style test asked each tool with `max_tokens` 300: `search_code` answered no result
with 124 tokens used, `get_symbol` no definition, though one line of either fits. The fit
kept a fixed 40 tokens aside for what nesting adds to the items, a tenth of such a budget;
the margin now shrinks with the budget (the last trim still keeps every answer within it).
`get_context` at its smallest budget (200) sent nothing at all, no item and no entry left
out: its last trim dropped the items before the two left-out entries, two at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from indexer.build import index_repository
from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from tools.budget import MIN_MAX_TOKENS, json_tokens
from tools.context_pack import json_tokens as context_tokens
from tools.deps import expand_dependencies
from tools.get_context import get_context
from tools.search import search_code
from tools.symbols import get_symbol

BUDGET = 300


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveIndex]:
    root = tmp_path_factory.mktemp("repo")
    pkg = root / "src/online_shop/checkout_service"
    pkg.mkdir(parents=True)
    for i in range(12):
        (pkg / f"basket_calculations_{i}.py").write_text(
            "from online_shop.checkout_service.prices import price_of_item_with_discounts\n\n\n"
            f"def basket_total_with_discounts_{i}(basket_items, discount_rules, currency):\n"
            '    """Add up the discounted price of every item in the basket, in the basket\'s\n'
            '    currency, applying each discount rule that matches the item."""\n'
            "    return sum(price_of_item_with_discounts(item, discount_rules, currency)\n"
            "               for item in basket_items)\n")
    (pkg / "prices.py").write_text(
        "def price_of_item_with_discounts(item, discount_rules, currency):\n"
        '    """The price of one item once every matching discount rule is applied, in\n'
        '    `currency`, rounded to the currency\'s smallest unit."""\n'
        "    return item.price\n")
    index = RepoIndex(IndexPaths.for_repo(root))
    index_repository(index)
    with LiveIndex(index, LiveOptions()) as opened:
        yield opened


def test_search_holds_a_hit_at_the_smallest_budgets(live: LiveIndex) -> None:
    got = search_code(live, "basket total price", max_tokens=BUDGET)
    assert got.results and got.truncated
    assert json_tokens(got) <= BUDGET


def test_a_symbol_and_a_dependency_fit_the_smallest_budgets(live: LiveIndex) -> None:
    symbol = get_symbol(live, "price_of_item_with_discounts", include_references=True, max_tokens=BUDGET)
    assert symbol.symbols
    assert json_tokens(symbol) <= BUDGET
    deps = expand_dependencies(live, "src/online_shop/checkout_service/prices.py", direction="in", max_tokens=BUDGET)
    assert deps.nodes
    assert json_tokens(deps) <= BUDGET


@pytest.mark.parametrize("budget", [MIN_MAX_TOKENS, 250])
def test_get_context_holds_its_best_item_at_the_smallest_budgets(
        live: LiveIndex, budget: int) -> None:
    got = get_context(live, "where is the discounted price of a basket added up",
                      max_tokens=budget)
    assert got.items and got.items[0].path.endswith(".py") and got.truncated
    assert got.left_out_count > 0 and context_tokens(got) <= budget


def test_the_last_trim_drops_a_directory_line_before_the_best_code() -> None:
    """Before: with the best code item and a directory line left, the code went first and
    the answer held only the directory's line, where the code alone fits."""
    from tools.context_models import ContextItem, ContextResult
    from tools.context_pack import _finish, _Packing
    from tools.models import Freshness

    best = ContextItem(path="src/best.py", start_line=1, end_line=3, kind="function",
                       symbol="best", reason="match", detail="body",
                       text="def best():\n    return 1\n")
    directory = ContextItem(path="src", start_line=0, end_line=0, kind="directory",
                            detail="line", text="src: a package of " + "many things " * 5)
    state = _Packing(budget=0)
    state.items = [best, directory]

    def build() -> ContextResult:
        return ContextResult(task="t", items=state.items, left_out=state.left_out[:state.shown],
                             left_out_count=len(state.left_out), already_sent=state.sent,
                             tokens=0, truncated=bool(state.left_out),
                             freshness=Freshness(fresh=True, generation=1))

    alone = context_tokens(ContextResult(task="t", items=[best], left_out=[], left_out_count=0,
                                         already_sent=[], tokens=0, truncated=False,
                                         freshness=Freshness(fresh=True, generation=1)))
    got = _finish(state, build, alone + 5, None)
    assert [i.path for i in got.items] == ["src/best.py"]
    assert context_tokens(got) <= alone + 5
