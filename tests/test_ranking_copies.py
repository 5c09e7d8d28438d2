"""Vendored copies rank below the original; near-identical copies collapse into one hit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools.duplicates import collapse
from tools.search import search_code
from tools.status import index_status
from tools.vendored import is_vendored, vendored_roots

ADAPTER = '''def send_request(conn, request, retries):
    """Send the request on the pooled connection, retrying connection errors."""
    for attempt in range(retries):
        try:
            return conn.urlopen(request.method, request.url, body=request.body)
        except ConnectionError:
            conn = conn.pool.reconnect(attempt)
    raise ConnectionError(request.url)
'''
POOL = '''def urlopen_with_retries(pool, method, url, retries, body=None):
    """Open the url on a pooled connection, retrying connection errors on a new connection."""
    for attempt in range(retries):
        conn = pool.get_connection(url)
        try:
            return conn.urlopen(method, url, body=body, retries=retries)
        except ConnectionError:
            pool.discard(conn, attempt)
    raise ConnectionError(url, retries)
'''
HELPER = '''def merge_settings(request_setting, session_setting, dict_class=dict):
    """Merge a request's setting with the session's, the request's keys winning."""
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    merged = dict_class(session_setting.items())
    merged.update(request_setting.items())
    return {key: value for key, value in merged.items() if value is not None}
'''
FILES = {
    "web/__init__.py": '__version__ = "2.0"\n',
    "web/adapters.py": ADAPTER,
    "web/packages/urllib3/__init__.py": '__version__ = "1.26.5"\n',
    "web/packages/urllib3/connectionpool.py": POOL + "\n\n" + ADAPTER.replace(
        "send_request", "send_pooled_request"),
    "web/sessions.py": HELPER,
    "web/compat/sessions.py": HELPER.replace("session's", "session's own"),
    "web/other.py": "def unrelated(x):\n    return x * 2\n",
}


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[LiveIndex]:
    with live_over(tmp_path, FILES) as live:
        yield live


def test_a_vendored_copy_ranks_below_the_original_and_status_reports_it(
        ctx: LiveIndex) -> None:
    hits = search_code(ctx, "retry connection errors on the pooled connection",
                       mode="lexical").results
    paths = [h.path for h in hits]
    assert paths[0] == "web/adapters.py"
    assert "web/packages/urllib3/connectionpool.py" in paths
    status = index_status(ctx)
    assert list(status.vendored) == ["web/packages/urllib3"]
    assert "__version__" in status.vendored["web/packages/urllib3"]


def test_vendoring_is_recognised_by_content_and_folder_name_but_not_in_a_monorepo() -> None:
    paths = ["pkg/__init__.py", "pkg/core.py", "pkg/_compat/setup.py", "pkg/_compat/x.py",
             "lib/vendor/github.com/x/y/y.go", "packages/runtime/package.json",
             "packages/runtime/src/index.ts", "tools/pyproject.toml",
             "pkg/extra/_version.py", "pkg/extra/__init__.py"]
    assert vendored_roots(paths, []) == {
        "lib/vendor": "folder named vendor",
        "pkg/_compat": "own setup.py inside package pkg",
        "pkg/extra": "own _version.py inside package pkg"}


def test_vendored_roots_are_found_again_only_when_a_path_or_an_init_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools import vendored as module

    files = {"web/__init__.py": "", "web/adapters.py": "def send():\n    return 1\n",
             "web/packages/__init__.py": "", "web/packages/urllib3/__init__.py": "x = 1\n",
             "web/packages/urllib3/pool.py": "def urlopen():\n    return 2\n"}
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root
        first = module.vendored(store)
        assert first == {}
        scans: list[int] = []
        real = module._versioned

        def counted(store_: object, inits: dict[str, int]) -> list[str]:
            scans.append(len(inits))
            return real(store, inits)

        monkeypatch.setattr(module, "_versioned", counted)
        (root / "web/adapters.py").write_text(files["web/adapters.py"] + "# edited\n")
        live.apply(["web/adapters.py"], set(), False)
        assert module.vendored(store) is first and scans == []
        (root / "web/packages/urllib3/__init__.py").write_text('__version__ = "1.26"\n')
        live.apply(["web/packages/urllib3/__init__.py"], set(), False)
        assert module.vendored(store) == {
            "web/packages/urllib3": "own __version__ inside package web"}
        assert scans == [3]
        (root / "web/packages/urllib3/util.py").write_text("def parse():\n    return 3\n")
        live.apply(["web/packages/urllib3/util.py"], set(), False)
        assert "web/packages/urllib3" in module.vendored(store) and scans == [3, 3]


def test_a_path_is_vendored_when_a_directory_above_it_is_a_vendored_root() -> None:
    roots = {"vendor": "folder named vendor", "src/pkg/_vendor/six": "own six.py",
             "a/b": "own __version__ inside package a"}
    yes = ["vendor/x.go", "vendor/github.com/y/z.go", "src/pkg/_vendor/six/moves/m.py",
           "a/b/c.py", "a/b/d/e.py"]
    no = ["vendor.go", "vendorx/y.go", "src/pkg/_vendor/sixth.py", "src/pkg/_vendor/six.py",
          "a/bc/d.py", "a/b", "a/c.py", "x/vendor", "top.py", ""]
    assert [p for p in yes if not is_vendored(p, roots)] == []
    assert [p for p in no if is_vendored(p, roots)] == []
    assert not is_vendored("vendor/x.go", {})


def test_near_identical_copies_collapse_into_one_hit_that_lists_the_others(
        ctx: LiveIndex) -> None:
    hits = search_code(ctx, "merge the request setting with the session setting",
                       mode="lexical").results
    shown = [h for h in hits if h.path in ("web/sessions.py", "web/compat/sessions.py")]
    assert len(shown) == 1
    other = ({"web/sessions.py", "web/compat/sessions.py"} - {shown[0].path}).pop()
    assert shown[0].duplicates == [f"{other}:1-9"]


def test_minhash_groups_near_copies_in_other_files_but_not_different_code() -> None:
    edited = HELPER.replace("dict_class=dict", "dict_class=OrderedDict")
    groups = collapse(["a.py", "b.py", "c.py", "a.py"], [HELPER, edited, POOL, HELPER])
    assert groups == [[0, 1], [2], [3]]
