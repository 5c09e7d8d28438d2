"""get_context over the SDK's in-memory client, on the real flask corpus: one budget packed
hierarchically, nothing twice, a session's working set, compact text answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

import tools.get_context as stages
from indexer.core.tokens import count_tokens
from indexer.disk import IndexPaths, RepoIndex
from indexer.graph import Definition
from indexer.live import LiveIndex
from tests.mcp_helpers import build_index, connected, live_over, server_settings
from tools.get_context import get_context
from tools.working_set import WorkingSet

TASK = "register a URL rule for a view function"
DETAIL = {"body": 0, "signature": 1, "line": 2}


@pytest.fixture(scope="module")
def flask_index(corpus: Callable[[str], Path],
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = corpus("flask")
    index_dir = tmp_path_factory.mktemp("flask-index")
    build_index(root, index_dir)
    return root, index_dir


async def _context(client: Client, **args: Any) -> tuple[dict[str, Any], str]:
    result = await client.call_tool("get_context", args)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content, result.content[0].text  # type: ignore[union-attr]


def _overlapping(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    spans = [(i["path"], i["start_line"], i["end_line"]) for i in items if i["start_line"] > 0]
    return [(f"{a[0]}:{a[1]}-{a[2]}", f"{b[1]}-{b[2]}") for n, a in enumerate(spans)
            for b in spans[n + 1:] if a[0] == b[0] and a[1] <= b[2] and b[1] <= a[2]]


async def test_get_context_never_exceeds_max_tokens_and_sends_nothing_twice(
        flask_index: tuple[Path, Path]) -> None:
    async with connected(server_settings(*flask_index, embed=False)) as client:
        for budget in (300, 1000, 4000, 8000, 16000):
            out, text = await _context(client, task=TASK, max_tokens=budget, resend=True)
            assert count_tokens(json.dumps(out)) <= budget
            assert count_tokens(text) <= budget
            assert out["tokens"] <= budget
            assert not _overlapping(out["items"])


def test_one_call_reads_its_files_definitions_once_and_answers_as_when_each_stage_read_them(
        flask_index: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real = stages._definitions
    reads: list[list[str]] = []

    def counted(ctx: LiveIndex, paths: Iterable[str]) -> dict[str, list[Definition]]:
        reads.append(list(paths))
        return real(ctx, reads[-1])

    task = ("url_for builds the wrong URL for a blueprint view registered with a "
            "subdomain; add_url_rule() should keep the subdomain of the blueprint")
    with RepoIndex(IndexPaths.for_repo(*flask_index)) as index:
        live = LiveIndex(index)
        monkeypatch.setattr(stages, "_definitions", counted)
        once = [get_context(live, task, max_tokens=b) for b in (4000, 8000)]
        assert len(reads) == 2, [len(r) for r in reads]
        # every stage querying the store itself, as before the per-call cache
        monkeypatch.setattr(stages.Definitions, "of",
                            lambda self, paths: real(live, paths))
        each = [get_context(live, task, max_tokens=b) for b in (4000, 8000)]
    assert len(reads) == 2 and [a.model_dump() for a in once] == [b.model_dump() for b in each]


async def test_get_context_holds_the_definition_its_neighbours_and_its_directory(
        flask_index: tuple[Path, Path]) -> None:
    async with connected(server_settings(*flask_index, embed=False)) as client:
        out, _ = await _context(client, task=TASK, max_tokens=8000)
    first = out["items"][0]
    assert first["symbol"].endswith("add_url_rule") and first["detail"] == "body"
    assert "def add_url_rule" in first["text"]
    assert any(i["reason"].startswith(("calls ", "called by ")) for i in out["items"])
    assert any(i["kind"] == "directory" and i["path"] == "src/flask/sansio"
               for i in out["items"])
    assert all(not i["path"].startswith("/") for i in out["items"])


async def test_get_context_degrades_bodies_then_signatures_then_lines(
        flask_index: tuple[Path, Path]) -> None:
    async with connected(server_settings(*flask_index, embed=False)) as client:
        top: list[int] = []
        bodies: list[int] = []
        for budget in (8000, 4000, 2000, 1500, 1200, 1000, 700, 500, 400):
            out, _ = await _context(client, task=TASK, max_tokens=budget, resend=True)
            top.append(DETAIL[out["items"][0]["detail"]])
            bodies.append(sum(i["detail"] == "body" for i in out["items"]))
    # the best unit goes from its body to its signature to one line as the budget shrinks
    assert top == sorted(top) and {0, 1, 2} <= set(top), top
    assert bodies == sorted(bodies, reverse=True) and bodies[-1] == 0, bodies


async def test_a_second_call_in_the_same_session_refers_to_what_it_sent(
        flask_index: tuple[Path, Path]) -> None:
    async with connected(server_settings(*flask_index, embed=False)) as client:
        first, _ = await _context(client, task=TASK, max_tokens=4000)
        second, text = await _context(client, task=TASK, max_tokens=4000)
        again, _ = await _context(client, task=TASK, max_tokens=4000, resend=True)
    sent = [i for i in first["items"] if i["detail"] == "body"]
    assert sent
    labels = {f"{i['path']}:{i['start_line']}-{i['end_line']}" for i in sent}
    assert labels <= set(second["already_sent"])
    assert not [i for i in second["items"] if i["detail"] == "body"
                and f"{i['path']}:{i['start_line']}-{i['end_line']}" in labels]
    assert "already sent" in text
    assert [i for i in again["items"] if i["detail"] == "body"] == sent  # resend=true


async def test_the_working_set_belongs_to_one_session(flask_index: tuple[Path, Path]) -> None:
    settings = server_settings(*flask_index, embed=False)
    async with connected(settings) as client:
        first, _ = await _context(client, task=TASK, max_tokens=4000)
    async with connected(settings) as other:
        fresh, _ = await _context(other, task=TASK, max_tokens=4000)
    assert not fresh["already_sent"]
    assert fresh["items"][0]["text"] == first["items"][0]["text"]


def test_working_set_forgets_the_least_recently_used_range_first() -> None:
    ws = WorkingSet(max_ranges=2)
    ws.record("a.py", 1, 10, "a")
    ws.record("b.py", 1, 10, "b")
    ws.touch(ws.containing("a.py", 2, 3)[0])
    ws.record("c.py", 1, 10, "c")
    assert len(ws) == 2
    assert ws.containing("a.py", 1, 10) and ws.containing("c.py", 1, 10)
    assert not ws.containing("b.py", 1, 10)


async def test_every_tool_answers_in_compact_text_not_json(
        flask_index: tuple[Path, Path]) -> None:
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("search_code", {"query": "url rule", "k": 3}, "src/flask/"),
        ("get_symbol", {"name": "Flask.add_url_rule"}, "def add_url_rule"),
        ("expand_dependencies", {"target": "src/flask/app.py"}, "src/flask/"),
        ("summarize_dir", {"path": "src/flask"}, "src/flask/"),
        ("index_status", {}, "files"),
        ("get_context", {"task": TASK}, "def add_url_rule"),
    ]
    async with connected(server_settings(*flask_index, embed=False)) as client:
        for tool, args, expected in calls:
            result = await client.call_tool(tool, args)
            assert not result.is_error, result.content
            text = result.content[0].text  # type: ignore[union-attr]
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            assert expected in text, (tool, text[:300])
            if tool == "expand_dependencies":  # a path resolves to itself: said once
                assert text.startswith("src/flask/app.py (direction"), text[:100]
            assert isinstance(result.structured_content, dict)
            assert count_tokens(text) < count_tokens(
                json.dumps(result.structured_content, indent=2)), tool


LEDGER = ('def settle_ledger_{name}(entries):\n'
          '    """Settle the ledger: sum the entries and close the period."""\n'
          '    total = sum(entries)\n'
          '    return total\n')


async def test_a_file_the_user_just_edited_moves_up_among_otherwise_equal_candidates(
        tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for name in ("north", "south", "west"):
        (root / name).mkdir(parents=True)
        (root / name / "ledger.py").write_text(LEDGER.format(name=name))
    build_index(root, tmp_path / "idx")
    task = "settle the ledger and close the period"

    async def first_path(client: Client) -> str:
        out, _ = await _context(client, task=task, max_tokens=2000, resend=True)
        return next(i["path"] for i in out["items"] if i["kind"] != "directory")

    settings = server_settings(root, tmp_path / "idx", embed=False, watch=True)
    async with connected(settings) as client:
        assert await first_path(client) != "west/ledger.py"
        # an edit elsewhere in the file: the matching function is unchanged
        with (root / "west" / "ledger.py").open("a") as f:
            f.write("\n\ndef audit_trail():\n    return None\n")
        with anyio.fail_after(60):
            while await first_path(client) != "west/ledger.py":
                await anyio.sleep(0.05)


INVOICE = ('import decimal\n\nVAT_RATE = decimal.Decimal("0.2")\n\n\n'
           'def invoice_total(lines):\n    """Sum the invoice lines and add VAT."""\n'
           '    net = sum(lines)\n    return net + net * VAT_RATE\n\n\n'
           'def format_invoice(total):\n    return f"{total:.2f}"\n')
CART = ('class Cart:\n    """Holds the goods a customer picked."""\n\n    currency = "EUR"\n'
        + "".join(f'\n    def rule_{i}(self, goods):\n        """Pricing rule {i}."""\n'
                  f'        goods = [g for g in goods if g.weight > {i}]\n'
                  f'        goods.sort(key=lambda g: g.price * {i})\n        return goods\n'
                  for i in range(12))
        + '\n    def remove_item(self, item):\n'
        '        """Drop an item from the cart and refund its voucher."""\n'
        '        self.items.remove(item)\n')
FILLER = "".join(f'\n\ndef helper_{i}(rows):\n    """Reshape rows for report {i}."""\n'
                 + "".join(f"    rows = [r * {j} for r in rows]\n" for j in range(12))
                 + "    return rows\n" for i in range(30))


def _bodies(tmp_path: Path, files: dict[str, str], task: str,
            budget: int) -> list[tuple[int, int]]:
    """The line ranges get_context sends as bodies for `task` over a repository of `files`."""
    with live_over(tmp_path, files) as live:
        out = get_context(live, task, max_tokens=budget)
    return [(i.start_line, i.end_line) for i in out.items if i.detail == "body"]


def test_the_best_file_is_sent_whole_when_it_is_small(tmp_path: Path) -> None:
    with live_over(tmp_path, {"billing/invoice.py": INVOICE, "billing/other.py": "X = 1\n"}) as live:
        out = get_context(live, "add VAT to the invoice total", max_tokens=4000)
    whole = [i for i in out.items if i.path == "billing/invoice.py" and i.detail == "body"]
    assert [(i.start_line, i.end_line, i.kind) for i in whole] == [(1, 13, "file")]
    assert "VAT_RATE = " in whole[0].text and "def format_invoice" in whole[0].text


def test_the_class_around_a_matching_method_is_sent_whole_when_it_is_small(
        tmp_path: Path) -> None:
    bodies = _bodies(tmp_path, {"shop/cart.py": CART + FILLER},
                     "refund the voucher when an item is dropped", 6000)
    end = CART.count("\n")
    # class Cart: its attribute and its other methods (and the blank lines after it)
    assert any(a == 1 and end <= b <= end + 2 for a, b in bodies), bodies


LEDGER = ('import functools\n\n\n@functools.lru_cache\ndef settle_ledger(entries):\n'
          '    """Settle the ledger entries and close the period."""\n'
          '    return sum(entries)\n\n\ndef close_period(totals):\n    return totals\n' + FILLER)


def test_a_body_also_holds_the_blank_lines_after_it_where_new_code_would_go(
        tmp_path: Path) -> None:
    with live_over(tmp_path, {"books/ledger.py": LEDGER}) as live:
        out = get_context(live, "settle the ledger entries", max_tokens=3000)
    last = LEDGER.splitlines().index("    return sum(entries)") + 1
    body = next(i for i in out.items if i.detail == "body" and "def settle_ledger" in i.text)
    assert body.end_line >= last + 2, (body.start_line, body.end_line)
    assert body.text.splitlines()[last - body.start_line] == "    return sum(entries)"
    assert not _overlapping([i.model_dump() for i in out.items])


REPORTS = ('"""Monthly reports."""\n\n\ndef render_totals(rows):\n'
           '    """Render the monthly totals table: one row per account, rounded totals."""\n'
           '    return [round(r, 2) for r in rows]\n\n\n'
           'def reconcile_accounts(rows):\n    return rows\n' + FILLER)


def test_a_definition_the_task_names_is_sent_as_a_body(tmp_path: Path) -> None:
    task = ("The monthly totals table shows rounded totals per account that do not add up. "
            "Render them from the reconciled rows: reconcile_accounts() drops the pending "
            "ones first.")
    with live_over(tmp_path, {"books/reports.py": REPORTS}) as live:
        out = get_context(live, task, max_tokens=3000)
    named = [i for i in out.items if i.symbol == "reconcile_accounts"]
    assert [(i.detail, "named in the task" in i.reason) for i in named] == [("body", True)], named


LONG = ('def migrate_schema(db):\n    """Migrate the warehouse schema to the next version."""\n'
        + "".join(f"    db.execute('ALTER TABLE t{i} ADD COLUMN c{i} INT')\n" for i in range(180))
        + "    return db\n")


def test_the_best_hit_is_sent_whole_when_its_long_definition_fits_the_budget(
        tmp_path: Path) -> None:
    bodies = _bodies(tmp_path, {"store/migrate.py": LONG + FILLER},
                     "migrate the warehouse schema to the next version", 12000)
    assert any(a <= 1 and b >= LONG.count("\n") for a, b in bodies), bodies


PAYROLL = ('from lib.amounts import normalize_amounts\n' + FILLER + '\n\n'
           'def compute_payroll(rows):\n    """Compute the monthly payroll of every employee."""\n'
           '    return sum(normalize_amounts(rows))\n')
AMOUNTS = ('def normalize_amounts(rows):\n    """Round each amount."""\n'
           '    return [round(r, 2) for r in rows]\n' + FILLER)


def test_a_graph_neighbour_the_task_names_is_sent_as_a_body_not_a_signature(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the callee is also a call partner of the best hit: leave that evidence out
    monkeypatch.setattr("tools.get_context.CALL_BODIES", 0)
    task = ("The monthly payroll is off by a cent: compute_payroll() sums what "
            "normalize_amounts() returns, which rounds each amount before summing.")
    files = {"app/payroll.py": PAYROLL, "lib/amounts.py": AMOUNTS}
    with live_over(tmp_path, files) as live:
        for budget in (800, 2000):  # budgets where the helpers leave no room to upgrade it
            # search only app/: normalize_amounts comes as compute_payroll's callee
            out = get_context(live, task, max_tokens=budget, path="app")
            named = [i.detail for i in out.items if i.symbol == "normalize_amounts"]
            assert named == ["body"], (budget, named)


ROUNDING = ('def normalize_amounts(rows):\n    """Round each amount."""\n'
            + "".join(f"    rows = [round(r, 2) + {j} for r in rows]\n" for j in range(40))
            + "    return rows\n" + FILLER)


def test_what_the_best_hit_calls_is_sent_as_a_body_before_other_neighbours_signatures(
        tmp_path: Path) -> None:
    task = ("The monthly payroll is off by a cent: compute_payroll() sums the rounded amounts "
            "of every employee.")
    files = {"app/payroll.py": PAYROLL, "lib/amounts.py": ROUNDING}
    with live_over(tmp_path, files) as live:
        for budget in (3000, 4000):
            # search only app/: the task does not name the callee, the call graph does
            out = get_context(live, task, max_tokens=budget, path="app")
            callee = [i.detail for i in out.items if i.symbol == "normalize_amounts"]
            assert callee == ["body"], (budget, callee)


TARIFFS = ('"""Shipping tariffs."""\n\nZONES = ("domestic", "europe", "world")\n\n\n'
           'def tariff_for_parcel(weight, zone):\n'
           '    """The shipping tariff of a parcel: its weight band in its zone."""\n'
           '    return weight * 2\n\n\nSURCHARGE = 3\n\n\ndef _round_cents(amount):\n'
           '    amount = amount * 100\n    amount = int(amount)\n    return amount / 100\n\n\n'
           'def _band(weight):\n    if weight < 1:\n        return 0\n    return 1\n')
PARCELS = ('def ship_parcel(parcel, zone):\n'
           '    """Ship a parcel to its zone: weigh it, apply the shipping tariff, label it."""\n'
           '    return parcel\n' + FILLER)


def test_a_small_file_among_the_hits_is_sent_whole_not_only_its_matching_part(
        tmp_path: Path) -> None:
    files = {"ship/parcels.py": PARCELS, "ship/tariffs.py": TARIFFS}
    with live_over(tmp_path, files) as live:
        out = get_context(live, "ship a parcel: apply the shipping tariff of its zone",
                          max_tokens=8000)
    ranges = [(i.start_line, i.end_line, i.kind) for i in out.items
              if i.path == "ship/tariffs.py" and i.detail == "body"]
    # what no hit holds (SURCHARGE, the helpers) comes with tariff_for_parcel
    assert ranges == [(1, TARIFFS.count("\n"), "file")], ranges


def _refunds(n: int) -> str:
    return "".join(f'\n\ndef refund_voucher_{i}(order):\n'
                   f'    """Refund the voucher of an order paid in part {i}."""\n'
                   '    return order.voucher\n' for i in range(n))


VOUCHER = ('def refund_voucher(order):\n'
           '    """Refund the voucher: refund the voucher of a cancelled voucher order."""\n'
           '    return order.voucher\n')


@pytest.mark.parametrize(("functions", "budget", "share"), [
    (40, 4000, (0.15, 0.6)),  # too large for a small file's share of the budget
    # over the usual whole-file share (0.7): its hits outvote the other file's many times
    (182, 8000, (0.7, 0.75)),
])
def test_the_file_most_hits_fall_in_is_sent_whole_though_another_holds_the_best_hit(
        tmp_path: Path, functions: int, budget: int, share: tuple[float, float]) -> None:
    refunds = _refunds(functions)
    assert share[0] * budget < count_tokens(refunds) * 1.1 <= share[1] * budget
    files = {"shop/voucher.py": VOUCHER, "shop/refunds.py": refunds}
    with live_over(tmp_path, files) as live:
        out = get_context(live, "refund the voucher of a cancelled order", max_tokens=budget)
    assert out.items[0].path == "shop/voucher.py"  # the best hit
    whole = [(i.start_line, i.kind) for i in out.items
             if i.path == "shop/refunds.py" and i.detail == "body"]
    assert whole == [(1, "file")], whole


TEST_REFUND = ("from shop.cart import Cart\n\n\n"
               "def test_refund_voucher_when_item_dropped():\n"
               '    """Refund the voucher when an item is dropped from the cart."""\n'
               + "".join(f"    cart = Cart().add(step_{i}, weight={i}, price={i * 3})\n"
                         for i in range(60))
               + "    assert cart\n")


def test_a_test_that_matches_the_task_is_a_signature_unless_the_task_names_it(
        tmp_path: Path) -> None:
    """A test sharing the task's words is found and named (where it is, its signature), but
    its body waits until the code to change is in (the packer's last pass turns signatures
    into bodies with what budget is left); a task that names the test gets its body. (A
    test file sent whole, the best file or a small one, stays whole.)"""
    files = {"shop/cart.py": CART + FILLER, "tests/test_cart.py": TEST_REFUND}
    task = "refund the voucher when an item is dropped"
    with live_over(tmp_path, files) as live:
        found = {(u.path, u.kind): u.max_detail for u in stages.gather(live, task, None, 3000)}
        named = {(u.path, u.kind): u.max_detail for u in stages.gather(
            live, f"test_refund_voucher_when_item_dropped fails: {task}", None, 3000)}
    assert found[("tests/test_cart.py", "function")] == "signature"
    assert found[("shop/cart.py", "class")] == "body"
    assert named[("tests/test_cart.py", "function")] == "body"


def test_a_file_top_that_does_not_fit_is_left_out_not_sent_as_an_empty_line(
        tmp_path: Path) -> None:
    from tools.context_pack import Source, Unit, pack
    from tools.models import Freshness

    top = "".join(f"import transit.zone_{i}  # the stations of ring {i}\n" for i in range(150))
    (tmp_path / "fares.py").write_text(top + "\n\ndef fare_for_trip(zone, stops):\n"
                                       "    return zone * stops\n")
    units = [Unit("fares.py", 153, 154, "function", "fare_for_trip",
                  "def fare_for_trip(zone, stops):", "", 2.0, ["match"]),
             Unit("fares.py", 1, 150, "module", None, "", "", 1.0, ["top of the file"])]
    out = pack(Source(tmp_path), "fare of a trip", units, 400, Freshness(fresh=True, generation=1))
    assert [(i.kind, i.detail) for i in out.items] == [("function", "body")]
    assert [(lo.start_line, lo.end_line) for lo in out.left_out] == [(1, 150)]
    assert "150" in out.left_out[0].fetch  # how to read the lines instead


def test_the_text_shows_a_whole_file_as_a_body_and_a_files_line_says_why_once(
) -> None:
    from mcp_server.text import render
    from tools.context_models import ContextItem, ContextResult
    from tools.context_pack import Unit, _line_item
    from tools.models import Freshness

    line = _line_item(Unit("shop/util.py", 1, 1, "file", None, "", "", 1.0,
                           ["imported by shop/cart.py"], "line"))
    assert (line.text, line.reason) == ("imported by shop/cart.py", "")
    items = [ContextItem(path="shop/cart.py", start_line=1, end_line=2, kind="file",
                         detail="body", text="class Cart:\n    pass", reason="whole file"),
             line]
    text = render(ContextResult(task="t", items=items, tokens=50, truncated=False,
                                freshness=Freshness(fresh=True, generation=1)))
    assert "\n## shop/cart.py:1-2 file (whole file)\nclass Cart:\n    pass\n" in text
    assert "\nfile shop/util.py: imported by shop/cart.py\n" in text


def test_a_file_imported_by_many_names_a_few_neighbour_files_and_none_whose_code_is_sent(
        tmp_path: Path) -> None:
    files = {"accounts/books.py": "def settle_ledger(entries):\n"
                                  '    """Settle the ledger: sum the entries."""\n'
                                  "    return sum(entries)\n"}
    for i in range(12):  # importers that share no word with the task
        files[f"web/page_{i}.py"] = ("from accounts import books\n\n\n"
                                     f"def render_page_{i}(rows):\n"
                                     f"    return books.__name__ * {i}\n")
    with live_over(tmp_path, files) as live:
        out = get_context(live, "settle the ledger entries", max_tokens=8000)
    lines = [i for i in out.items if i.kind == "file" and i.detail == "line"]
    assert 1 <= sum("accounts/books.py" in i.text for i in lines) <= 4, lines  # of 12 importers


def test_no_file_is_named_in_a_line_where_the_answer_holds_its_code(tmp_path: Path) -> None:
    files = {"ledger/core.py": "def settle_ledger(entries):\n"
                               '    """Settle the ledger: sum the entries."""\n'
                               "    return sum(entries)\n"}
    for i in range(12):  # callers: their code matches the task and is sent
        files[f"ledger/report_{i}.py"] = ("from ledger.core import settle_ledger\n\n\n"
                                          f"def report_{i}(rows):\n"
                                          f"    return settle_ledger(rows) * {i}\n")
    with live_over(tmp_path, files) as live:
        out = get_context(live, "settle the ledger entries", max_tokens=8000)
    code = {i.path for i in out.items if i.start_line > 0}
    assert len(code) > 4
    lines = [i for i in out.items if i.kind == "file" and i.detail == "line"]
    assert not [i for i in lines if i.path in code], lines


def test_path_bounds_the_search_and_the_files_named_not_the_call_graph(tmp_path: Path) -> None:
    files = {"core/ledger.py": "from core import money\n\n\ndef settle_ledger(entries):\n"
                               '    """Settle the ledger: sum the entries."""\n'
                               "    return money.total(entries)\n",
             "core/money.py": "def total(values):\n    return sum(values)\n",
             "web/report.py": "from core.ledger import settle_ledger\n\n\n"
                              "def monthly_report(rows):\n    return settle_ledger(rows)\n",
             "web/ledger_page.py": "def render_ledger_page(entries):\n"
                                   '    """Show the ledger entries, settled."""\n'
                                   "    return entries\n"}
    with live_over(tmp_path, files) as live:
        for scope in ("core", "core/", "core/*.py", "core/ledger.py"):
            out = get_context(live, "settle the ledger entries", max_tokens=4000, path=scope)
            outside = [i for i in out.items if i.kind != "directory"
                       and not i.path.startswith("core/")]
            # the page matches the task's words but lies outside: not searched, not named
            assert not [i for i in outside if i.path == "web/ledger_page.py"], (scope, outside)
            # the caller comes through the call graph, as what the code found needs
            assert all(i.kind != "file" and "settle_ledger" in i.reason for i in outside), (
                scope, outside)



def test_a_scope_is_a_glob_a_file_or_a_directory() -> None:
    from tools.source import in_scope

    assert all(in_scope("core/money.py", s) for s in (None, "", "core", "core/", "core/*.py",
                                                      "core/money.py", "*/money.py"))
    assert not any(in_scope("core/money.py", s) for s in ("cor", "core/ledger.py", "web",
                                                          "core/*.go"))


def test_a_window_of_a_long_class_brings_what_its_lines_call_not_what_the_whole_class_calls(
        tmp_path: Path) -> None:
    helpers = "".join(f"def audit_step_{i}(rows):\n    return rows\n\n\n" for i in range(8))
    methods = "".join(
        f"    def post_batch_{i}(self, rows):\n"
        + "".join(f"        rows = [r + {j} for r in rows]\n" for j in range(14))
        + f"        return audit_step_{i % 8}(rows)\n\n" for i in range(16))
    ledger = (helpers + "def current_vat_rate():\n    return 0.2\n\n\n"
              "class GeneralLedger:\n"
              '    """The general ledger: it books postings at the current VAT rate."""\n\n'
              "    vat_rate = current_vat_rate()\n\n" + methods)
    with live_over(tmp_path, {"books/ledger.py": ledger}) as live:
        units = stages.gather(live, "the general ledger books postings at the VAT rate", None,
                              8000)
    window = next(u for u in units if u.kind == "chunk" and u.symbol == "GeneralLedger")
    assert window.end - window.start < stages.MAX_BODY_LINES  # the class is longer
    by_class = {u.symbol for u in units if "called by GeneralLedger" in u.reasons}
    # the window's own call, not the calls in the methods below it
    assert by_class == {"current_vat_rate"}, by_class


def test_a_hit_that_starts_at_a_doc_comment_is_its_definition_with_its_neighbours(
        tmp_path: Path) -> None:
    filler = "".join(f"\nfunc reshapeRows{i}(rows []float64) []float64 {{\n"
                     + "".join(f"\trows = append(rows, {j})\n" for j in range(12))
                     + "\treturn rows\n}\n" for i in range(12))
    invoice = ("package billing\n" + filler + "\n"
               "// SettleInvoice settles an invoice: it sums the invoice lines and applies\n"
               "// the VAT rate of the billing period.\n"
               "func SettleInvoice(lines []float64) float64 {\n"
               "\treturn applyVat(sumLines(lines))\n}\n")
    helpers = ("package billing\n\nfunc sumLines(lines []float64) float64 {\n"
               "\ttotal := 0.0\n\tfor _, l := range lines {\n\t\ttotal += l\n\t}\n"
               "\treturn total\n}\n\nfunc applyVat(amount float64) float64 {\n"
               "\treturn amount * 1.2\n}\n" + filler.replace("reshapeRows", "padRows"))
    comment = invoice.splitlines().index("// SettleInvoice settles an invoice: it sums the "
                                         "invoice lines and applies") + 1
    with live_over(tmp_path, {"billing/invoice.go": invoice, "billing/helpers.go": helpers}) as live:
        units = stages.gather(live, "settle an invoice: sum the invoice lines, apply the VAT "
                                    "rate of the billing period", None, 8000)
    hit = next(u for u in units if u.symbol == "SettleInvoice")
    # the definition, with its doc comment; its signature where it is
    assert (hit.start, hit.head, hit.kind) == (comment, comment + 2, "function"), hit
    called = [u for u in units if "called by SettleInvoice" in u.reasons]
    assert all(u.head >= u.start for u in called), called
    assert {u.symbol for u in called} == {"sumLines", "applyVat"}, called


def test_a_signature_is_labelled_with_its_own_line_not_its_doc_comments(tmp_path: Path) -> None:
    from tools.context_pack import Source, Unit, pack
    from tools.models import Freshness

    (tmp_path / "ledger.go").write_text(
        "package ledger\n\n// Settle settles the ledger.\n// It sums the entries.\n"
        "func Settle(entries []int) int {\n" + "\tentries = entries[1:]\n" * 200
        + "\treturn 0\n}\n")  # too long to become a body
    unit = Unit("ledger.go", 3, 207, "function", "Settle", "func Settle(entries []int) int {",
                "Settle settles the ledger.", 1.0, ["match"], "signature", head=5)
    out = pack(Source(tmp_path), "settle", [unit], 2000, Freshness(fresh=True, generation=1))
    assert [(i.detail, i.start_line, i.end_line) for i in out.items] == [("signature", 5, 5)]
