"""Property tests: any arguments, admitted by a tool's schema or not, give a result or a clean
error result, answers stay within max_tokens, and the server is alive afterwards; the parser
and the per-file pipeline survive arbitrary bytes in every language.

One server is shared by all examples of a test (a blocking portal runs its event loop in a
thread, so hypothesis drives it from plain synchronous tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from indexer.build.pipeline import IndexOptions, process_file
from indexer.core.tokens import count_tokens
from indexer.discover.walk import FileEntry
from indexer.languages import LANGUAGES
from indexer.parse.treesitter import parse_source
from tests.mcp_helpers import build_index, connected, server_settings

_FILES = {
    "app/core.py": 'class Engine:\n    """Runs jobs."""\n\n    def start(self, n: int) -> int:\n'
                   "        return helper(n)\n\n\ndef helper(n):\n    return n * 2\n",
    "app/__init__.py": "from app.core import Engine, helper\n",
    "web/client.js": "import { x } from './util.js'\nexport function fetchAll(url) {\n"
                     "  return fetch(url)\n}\n",
    "web/util.js": "export const x = 1\n",
    "README.md": "# Demo\n\nA demo repository for fuzzing.\n",
}

FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BlockingPortal, Client]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    root = tmp / "repo"
    for rel, text in _FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    build_index(root, tmp / "idx")
    with start_blocking_portal() as portal, \
            portal.wrap_async_context_manager(connected(server_settings(root, tmp / "idx"))) as client:
        yield portal, client


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False,
                                                                          allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
_HUGE = st.sampled_from(["x" * 100_000, "é" * 50_000, "(" * 4001, "/.." * 2000, "\x00" * 600])
_PATHS = st.sampled_from(["app", "app/core.py", ".", "", "./app/", "**/*.js", "..", "../..",
                          "/etc/passwd", "app/../../x", "a\x00b", "web\\..\\..", "~", "*"])
_NAMES = st.sampled_from(["Engine", "Engine.start", "helper", "fetchAll", "x", "app/core.py",
                          "app/core.py:Engine.start", "::", ":", ".", "%", "_", "' OR 1=1 --"])
_TEXT = st.text(min_size=1, max_size=60) | _NAMES | _PATHS.filter(bool)
_TOKENS_BUDGET = st.integers(200, 20_000)

# What each tool's input schema admits (required parameters first).
VALID: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "search_code": {"query": _TEXT, "k": st.integers(1, 100), "language": _TEXT | st.none(),
                    "path": _PATHS | _TEXT | st.none(), "max_tokens": _TOKENS_BUDGET,
                    "mode": st.sampled_from(["hybrid", "lexical", "semantic"])},
    "get_symbol": {"name": _NAMES | _TEXT, "path": _PATHS | st.none(),
                   "include_body": st.booleans(), "include_references": st.booleans(),
                   "max_tokens": _TOKENS_BUDGET},
    "expand_dependencies": {"target": _NAMES | _PATHS.filter(bool) | _TEXT,
                            "depth": st.integers(1, 4),
                            "direction": st.sampled_from(["out", "in", "both"]),
                            "max_tokens": _TOKENS_BUDGET},
    "summarize_dir": {"path": _PATHS | _TEXT, "depth": st.integers(0, 4),
                      "max_tokens": _TOKENS_BUDGET},
    "index_status": {},
}
REQUIRED = {"search_code": 1, "get_symbol": 1, "expand_dependencies": 1}


@st.composite
def valid_calls(draw: st.DrawFn, tool: str) -> dict[str, Any]:
    """Arguments the schema admits: required ones present, any subset of the others."""
    params = list(VALID[tool])
    required = params[: REQUIRED.get(tool, 0)]
    optional = draw(st.lists(st.sampled_from(params[len(required):]), unique=True)) \
        if len(params) > len(required) else []
    return {k: draw(VALID[tool][k]) for k in required + optional}


@st.composite
def junk_calls(draw: st.DrawFn, tool: str) -> dict[str, Any]:
    """Anything: wrong types, out-of-range numbers, huge strings, nested objects, extra keys."""
    args = draw(valid_calls(tool))
    for key in draw(st.lists(st.sampled_from(sorted(VALID[tool]) or ["x"]), unique=True)):
        args[key] = draw(st.one_of(_JSONISH, _HUGE, st.integers(-(2**40), 2**40)))
    if draw(st.booleans()):
        args.update(draw(st.dictionaries(st.text(max_size=8), _JSONISH, max_size=2)))
    return args


def _check_result(portal: BlockingPortal, client: Client, tool: str, args: dict[str, Any]) -> bool:
    """Call `tool`; True when it answered (False: an error result, which must be clean)."""
    result = portal.call(client.call_tool, tool, args)
    if result.is_error:
        assert result.content and result.content[0].type == "text" and result.content[0].text
        return False
    assert isinstance(result.structured_content, dict), result
    budget = args.get("max_tokens", 4000)
    if isinstance(budget, int) and not isinstance(budget, bool) and tool != "index_status":
        assert count_tokens(json.dumps(result.structured_content, indent=2)) <= budget
    return True


def _alive(portal: BlockingPortal, client: Client) -> None:
    status = portal.call(client.call_tool, "index_status", {})
    assert not status.is_error and status.structured_content["files"] == len(_FILES)


@pytest.mark.parametrize("tool", sorted(VALID))
def test_schema_valid_arguments_give_an_answer_within_budget_or_a_clean_error(
        tool: str, served: tuple[BlockingPortal, Client]) -> None:
    portal, client = served
    answered: list[bool] = []

    @FUZZ
    @given(args=valid_calls(tool))
    def check(args: dict[str, Any]) -> None:
        answered.append(_check_result(portal, client, tool, args))

    check()
    assert sum(answered) >= len(answered) // 4, "most valid calls should get an answer"
    _alive(portal, client)


@pytest.mark.parametrize("tool", sorted(VALID))
def test_arguments_the_schema_refuses_give_a_clean_error_and_the_server_lives(
        tool: str, served: tuple[BlockingPortal, Client]) -> None:
    portal, client = served

    @FUZZ
    @given(args=junk_calls(tool))
    def check(args: dict[str, Any]) -> None:
        _check_result(portal, client, tool, args)

    check()
    _alive(portal, client)


@FUZZ
@given(name=st.text(max_size=30) | st.sampled_from(["nope", "search_code ", "", "\x00"]),
       args=_JSONISH)
def test_unknown_tools_and_non_object_arguments_are_refused_cleanly(
        name: str, args: Any, served: tuple[BlockingPortal, Client]) -> None:
    portal, client = served
    if name in VALID:
        return
    result = portal.call(client.call_tool, name, args if isinstance(args, dict) else {"a": args})
    assert result.is_error
    _alive(portal, client)


# -- the parsing pipeline over random bytes ---------------------------------------------------

_TOKENS = st.sampled_from([b"(", b")", b"{", b"}", b"[", b"]", b"def ", b"class ", b"fn ",
                           b"function ", b"func ", b"import ", b"#include ", b"\"", b"'",
                           b"`", b"/*", b"*/", b"//", b"#", b"\n", b"    ", b"x", b"=>", b"<",
                           b">", b";", b":", b"\\", b"\x00", b"\xff", b"\xc3", b"$", b"@"])
_SOURCES = st.binary(max_size=3000) | st.lists(_TOKENS, max_size=400).map(b"".join)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(source=_SOURCES)
def test_parse_source_never_raises_on_any_bytes_in_any_language(source: bytes) -> None:
    for language in LANGUAGES:
        parsed = parse_source(source, language, timeout_s=2.0)
        for sym in parsed.symbols:
            assert 1 <= sym.start_line <= sym.end_line


_EXTENSIONS = ["py", "js", "ts", "tsx", "go", "rs", "java", "c", "cpp", "cs", "rb", "php", "sh",
               "kt", "swift", "scala", "lua", "md", "json", "txt", "min.js", "lock"]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(source=_SOURCES, ext=st.sampled_from(_EXTENSIONS))
def test_process_file_turns_any_bytes_into_a_record_or_a_skip(
        source: bytes, ext: str, tmp_path: Path) -> None:
    path = tmp_path / f"f.{ext}"
    path.write_bytes(source)
    st_ = path.stat()
    out = process_file(FileEntry(path.name, path, st_.st_size, st_.st_mtime_ns), IndexOptions())
    assert out.path == path.name
