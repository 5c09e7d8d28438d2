"""Ranking behaviour of search_code on a small repository built in the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools.models import SearchHit
from tools.search import plan_query, search_code

FILES = {
    "shop/cart.py": '''"""Shopping cart."""


class Cart:
    def __init__(self):
        self.items = []

    def add_item(self, sku, quantity=1):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items.append((sku, quantity))

    def total_price(self, prices):
        return sum(prices[sku] * quantity for sku, quantity in self.items)
''',
    "shop/pricing.py": '''from shop.cart import Cart


def apply_discount(cart, percent):
    total = cart.total_price({})
    return total * (100 - percent) / 100


def parse_coupon(code):
    prefix, _, value = code.partition("-")
    if prefix != "SAVE":
        raise KeyError(code)
    return int(value)
''',
    "tests/test_cart.py": '''from shop.cart import Cart


def test_add_item_appends_the_item_to_the_cart():
    cart = Cart()
    cart.add_item("apple", 2)
    cart.add_item("pear", 1)
    assert cart.items == [("apple", 2), ("pear", 1)]


def add_item(cart, sku):
    cart.add_item(sku)
''',
    "README.md": "# Shop\n\nA cart: add_item adds an item to the cart, total_price sums it.\n",
}

ISSUE = """parse_coupon crashes on lowercase codes

When I pass a lowercase coupon the checkout fails with this trace:

Traceback (most recent call last):
  File "app/checkout.py", line 12, in checkout
    pct = pricing.parse_coupon(code)
  File "shop/pricing.py", line 10, in parse_coupon
    raise KeyError(code)
KeyError: 'save-10'

I would expect the code to be accepted regardless of case, as the docs say that coupons
are case-insensitive and the shop front end lowercases everything the user types in the
box before it is submitted to the server, so this happens for every single customer.
"""


def _shows(hit: SearchHit, path: str, line: int) -> bool:
    """The hit is from `path` and contains `line` (small units share a chunk)."""
    return hit.path == path and hit.start_line <= line <= hit.end_line


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[LiveIndex]:
    with live_over(tmp_path, FILES) as live:
        yield live


def test_exact_symbol_name_ranks_the_definition_first(ctx: LiveIndex) -> None:
    top = search_code(ctx, "add_item", mode="lexical").results[0]
    assert _shows(top, "shop/cart.py", 8)


def test_qualified_name_ranks_that_definition_first(ctx: LiveIndex) -> None:
    top = search_code(ctx, "Cart.total_price", mode="lexical").results[0]
    assert _shows(top, "shop/cart.py", 13)


def test_a_test_file_does_not_outrank_the_source_definition(ctx: LiveIndex) -> None:
    paths = [h.path for h in search_code(ctx, "add item to the cart", mode="lexical").results]
    assert paths.index("shop/cart.py") < paths.index("tests/test_cart.py")


def test_long_issue_text_with_a_stack_trace_finds_the_function_in_the_trace(
        ctx: LiveIndex) -> None:
    top = search_code(ctx, ISSUE, mode="lexical").results[0]
    assert _shows(top, "shop/pricing.py", 9)


def test_chunks_of_one_symbol_collapse_into_one_hit(ctx: LiveIndex) -> None:
    hits = search_code(ctx, "Cart", mode="lexical", k=20).results
    keys = [(h.path, h.symbol) for h in hits if h.symbol]
    assert len(keys) == len(set(keys))


def test_query_plan_extracts_trace_frames_files_and_drops_stop_words() -> None:
    plan = plan_query(ISSUE)
    assert plan.long and plan.traced
    assert plan.identifiers[0] == "parse_coupon"
    assert "shop/pricing.py" in plan.files
    assert not {"the", "i", "would", "to"} & set(plan.lexical.split())
    assert len(plan.lexical.split()) <= 48


def test_a_sentence_that_mentions_an_identifier_is_not_a_name_lookup() -> None:
    assert plan_query("Cart.add_item").name_lookup
    assert not plan_query("Create a Cart with the items of an order for checkout").name_lookup
