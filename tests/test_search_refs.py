"""A query that names an identifier also finds the code that uses it (`tools.search`
`_reference_matches`): "replace uses of url_unquote" changes the callers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex
from tools.search import retrieve, search_code

URLS = '''
def url_unquote(value):
    """Unquote a URL value: replace %xx escapes by their single-character equivalent."""
    return _unquote(value)


def _unquote(value):
    return value
'''

# One long request handler that calls url_unquote once among many other words.
SERVING = "from .urls import url_unquote\n\n\ndef handle_request(environ, start):\n" + "".join(
    f"    header_{i} = environ.get('HTTP_X_{i}', 'default socket timeout {i}')\n"
    for i in range(60)) + "    path = url_unquote(environ['PATH_INFO'])\n    return path\n"

# Files whose words match the query better than the caller's long body does (distinct, so
# that they are not collapsed as copies of one another).
WORDS = ("scheme", "netloc", "query", "fragment", "params", "port", "host", "userinfo")
DISTRACTOR = '''
def replace_{word}(url, {word}):
    """Replace the url {word}: unquote the url {word} first, then replace it."""
    {word}_value = url.{word}.replace({word}, "")
    return url.replace({word}={word}_value)
'''


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[LiveIndex]:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "urls.py").write_text(URLS)
    (root / "pkg" / "serving.py").write_text(SERVING)
    for word in WORDS:
        (root / "pkg" / f"{word}.py").write_text(DISTRACTOR.format(word=word))
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        yield LiveIndex(index)


def _files(ctx: LiveIndex, query: str) -> list[str]:
    hits = search_code(ctx, query, k=10, mode="lexical").results
    return list(dict.fromkeys(h.path for h in hits))


def test_a_query_naming_a_function_finds_the_file_that_calls_it(ctx: LiveIndex) -> None:
    files = _files(ctx, "replace uses of url_unquote with the standard library")
    assert "pkg/urls.py" in files[:2]
    assert "pkg/serving.py" in files[:3], files


def test_only_identifiers_the_repository_defines_bring_their_users(ctx: LiveIndex) -> None:
    got = retrieve(ctx, "replace uses of url_unquote with the standard library", mode="lexical")
    assert got.ranked["refs"]  # the caller in serving.py
    for query in ("replace url values with the standard library",  # names no identifier
                  "replace uses of quote_plus with the standard library"):  # not defined here
        assert retrieve(ctx, query, mode="lexical").ranked["refs"] == []
