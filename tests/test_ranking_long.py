"""Long queries (stack traces, issue reports) and file-level answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.lexical import identifier_tokens
from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools.query_analysis import analyse, dense_text, frames, names_file, weighted_terms
from tools.search import search_code


def _body(name: str, lines: int) -> str:
    return "\n".join(f"    step_{i} = compute_{name}_part({i}, code)" for i in range(lines))


FILES = {
    "shop/email.py": 'def send(message, to):\n    """Send an e-mail message."""\n'
                     "    smtp = connect()\n    smtp.sendmail(to, message)\n",
    "shop/transport.py": 'def send(request, timeout=None):\n    """Send a prepared request."""\n'
                         "    conn = pool.get(request.url)\n"
                         "    return conn.urlopen(request.method, request.url, timeout=timeout)\n",
    "shop/coupons.py": "\n\n".join(
        f"def {name}(code):\n{_body(name, 12)}\n    return code\n"
        for name in ("validate_coupon", "coupon_discount", "coupon_percent", "expired_coupon")),
    "shop/checkout.py": "\n\n".join(
        [f"def coupon(code):\n{_body('coupon', 3)}\n    return code\n"]
        + [f"def {name}(cart):\n{_body(name, 12)}\n    return cart\n"
           for name in ("checkout", "pay", "ship")]),
}

PROSE = ("I upgraded last week and since then every request made through our corporate "
         "proxy hangs forever, which matters because the nightly jobs never finish. ") * 3
TRACE = f"""Timeout is ignored behind a proxy

{PROSE}

Traceback (most recent call last):
  File "/home/me/venv/lib/python3.11/site-packages/shop/transport.py", line 4, in send
    return conn.urlopen(request.method, request.url, timeout=timeout)
TypeError: urlopen() got an unexpected keyword argument
"""


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[LiveIndex]:
    with live_over(tmp_path, FILES) as live:
        yield live


def test_a_traceback_from_an_installed_copy_finds_its_frames_function_in_its_file(
        ctx: LiveIndex) -> None:
    top = search_code(ctx, TRACE, mode="lexical").results[0]
    assert (top.path, top.symbol) == ("shop/transport.py", "send")


def test_go_and_javascript_frames_name_their_file_and_function_innermost_first() -> None:
    trace = """panic: runtime error: index out of range
goroutine 1 [running]:
github.com/gin-gonic/gin.(*node).findCaseInsensitivePathRec(...)
\t/home/u/go/pkg/mod/github.com/gin-gonic/gin@v1.9.0/tree.go:770 +0x2b
github.com/gin-gonic/gin.(*Engine).handleHTTPRequest(0xc000)
\t/home/u/go/pkg/mod/github.com/gin-gonic/gin@v1.9.0/gin.go:640
    at Router.handle (src/router.js:12:5)
"""
    assert [(f.path.rsplit("/", 1)[-1], f.function) for f in frames(trace)] == [
        ("tree.go", "findCaseInsensitivePathRec"), ("gin.go", "handleHTTPRequest"),
        ("router.js", "handle")]


def test_a_frame_path_names_the_repository_file_by_its_last_components() -> None:
    assert names_file("src/flask/app.py", "/venv/lib/site-packages/flask/app.py")
    assert names_file("src/flask/app.py", "app.py")
    assert not names_file("src/flask/app.py", "/venv/lib/site-packages/other/app.py")


def test_prose_words_of_a_long_report_weigh_less_than_its_identifiers_and_error_lines() -> None:
    weights = dict(weighted_terms(TRACE, identifier_tokens, 48))
    assert weights["urlopen"] == weights["send"] == weights["transport"] == 1.0
    assert weights["nightly"] < 1.0 and weights["corporate"] < 1.0
    assert "TypeError: urlopen() got an unexpected keyword argument" in analyse(TRACE).errors


def test_the_dense_query_of_a_long_report_keeps_title_frames_and_errors_not_its_preamble(
        ) -> None:
    report = "Crash in the pool\n\n" + PROSE * 6 + "\n\nCalling `Pool.get_conn` twice fails."
    text = dense_text(TRACE + report)
    assert len(text.split()) <= 180
    assert "Timeout is ignored behind a proxy" in text
    assert "send in" in text and "TypeError: urlopen()" in text
    assert "`Pool.get_conn`" in text


def test_file_granularity_ranks_the_file_with_most_evidence_first(ctx: LiveIndex) -> None:
    chunks = search_code(ctx, "coupon code", mode="lexical").results
    assert chunks[0].path == "shop/checkout.py"  # one exact name match wins at chunk level
    files = search_code(ctx, "coupon code", mode="lexical", granularity="file").results
    assert [h.path for h in files[:2]] == ["shop/coupons.py", "shop/checkout.py"]
    top = files[0]
    lines = FILES["shop/coupons.py"].count("\n")
    assert (top.kind, top.start_line, top.end_line) == ("file", 1, lines)
    assert "validate_coupon" in top.snippet and len({h.path for h in files}) == len(files)


def test_the_graph_walk_brings_in_the_module_the_top_files_import() -> None:
    from tools.files import RankedFile, walk

    files = [RankedFile("app/views.py", 1.0), RankedFile("app/forms.py", 0.5)]
    importers = {"app/models.py": {"app/views.py"}, "app/views.py": {"tests/test_views.py"},
                 "app": {"app/forms.py"}}
    known = {"app/views.py", "app/forms.py", "app/models.py", "tests/test_views.py"}

    def prior(path: str) -> float:
        return (0.4 if path.startswith("tests/") else 1.0) if path in known else 0.0

    ranked = walk(files, importers, prior, share=0.8)
    scores = {f.path: round(f.score, 3) for f in ranked}
    assert scores == {"app/views.py": 1.0, "app/forms.py": 0.5, "app/models.py": 0.4,
                      "tests/test_views.py": 0.16}
    assert walk(files, importers, prior, share=0.0) == files
