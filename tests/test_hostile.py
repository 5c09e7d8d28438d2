"""Hostile files: each is indexed or skipped with a recorded reason, nothing hangs or crashes,
and the rest of the repository is indexed.

Blocking work runs in a worker thread under `anyio.fail_after`, so a hang fails the test
instead of stalling the suite. Repositories that need monkeypatching stay under the
pipeline's inline limit, so files are processed in this process (not in spawned workers).
"""

from __future__ import annotations

import codecs
import errno
import importlib
import json
import os
import socket
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

from indexer.build import IndexOptions, dry_run
from indexer.build.pipeline import IndexStats, index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from tests.mcp_helpers import call, connected, server_settings
from tests.test_cli import sextant
from tests.test_walk import nested

walk_module = importlib.import_module("indexer.discover.walk")  # the module, not the function

T = TypeVar("T")
DEEP = 100_000
MiB = 1 << 20


async def bounded(fn: Callable[[], T], seconds: float) -> T:
    """Run blocking `fn` in a thread; fail (not hang) when it takes longer than `seconds`."""
    with anyio.fail_after(seconds):
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)


@contextmanager
def opened(root: Path, index_dir: Path) -> Iterator[RepoIndex]:
    with RepoIndex(IndexPaths.for_repo(root, index_dir)) as index:
        yield index


def index_and_read(root: Path, index_dir: Path) -> tuple[IndexStats, set[str], dict[str, str]]:
    """Index `root`; returns the stats, the indexed paths and {skipped path: reason}."""
    with opened(root, index_dir) as index:
        stats = index_repository(index)
        files = {r[0] for r in index.store.query("SELECT path FROM files")}
        skipped = dict(index.store.query("SELECT path, reason FROM skipped"))
    return stats, files, skipped


def _good(root: Path) -> None:
    (root / "good.py").write_text('def healthy_function():\n    """Still indexed."""\n')
    (root / "lib").mkdir()
    (root / "lib" / "util.js").write_text("export function healthyHelper() { return 1 }\n")


def _hostile(root: Path) -> None:
    (root / "one_line.js").write_bytes(b"var a=" + b"1+" * (3 * MiB // 2) + b"1;")
    (root / "long_line.py").write_bytes(b"x = '" + b"a" * 600_000 + b"'\n")
    (root / "nul.py").write_bytes(b"def a():\n    return '\x00\x00'\n")
    (root / "bad_utf8.py").write_bytes(b"def caf\xe9():\n    return '\xff\xfe\xc3('\n")
    (root / "utf16.py").write_bytes("def wide():\n    pass\n".encode("utf-16"))
    (root / "empty.py").write_bytes(b"")
    (root / "deep_brackets.py").write_text("x = " + "[\n" * DEEP + "]\n" * DEEP)
    (root / "deep_parens.js").write_text("f" + "(\n" * DEEP + ")\n" * DEEP + ";\n")
    (root / "deep.json").write_text("[\n" * DEEP + "]\n" * DEEP)
    (root / "nested_functions.js").write_text(
        "".join(f"function f{i}() {{\n" for i in range(1500)) + "}\n" * 1500)
    (root / "loop").symlink_to(".")
    (root / "cycle_a").symlink_to("cycle_b")
    (root / "cycle_b").symlink_to("cycle_a")
    (root / "dangling.py").symlink_to("does-not-exist.py")
    os.mkfifo(root / "pipe.py")
    os.mknod(root / "device.py", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # like /dev/null


def _socket_file(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.fspath(path))
    return sock


EXPECTED_SKIPS = {
    "one_line.js": "too_large", "long_line.py": "minified", "nul.py": "binary",
    "loop/": "symlink_loop", "pipe.py": "special", "device.py": "special",
    "sock.py": "special",
}


async def test_a_hostile_repository_is_indexed_with_every_bad_file_accounted_for(
        tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    _hostile(root)
    with _socket_file(root / "sock.py"):
        stats, files, skipped = await bounded(lambda: index_and_read(root, tmp_path / "i"), 120)
    for path, reason in EXPECTED_SKIPS.items():
        assert skipped.get(path) == reason, (path, skipped.get(path))
    assert {"cycle_a", "cycle_b", "dangling.py"} <= set(skipped)
    assert {"good.py", "lib/util.js", "bad_utf8.py", "utf16.py", "empty.py",
            "deep_brackets.py", "deep_parens.js", "deep.json"} <= files
    assert "nested_functions.js" in files or skipped.get("nested_functions.js") == "parse_error"
    listed = {p.name for p in root.iterdir()}
    assert listed == {p.split("/")[0] for p in files | set(skipped)}, "all accounted"
    assert stats.indexed == len(files)


def test_names_that_are_not_utf8_are_skipped_and_the_rest_indexed_by_the_cli(
        tmp_path: Path) -> None:
    """Such a path once failed the store's write, which was taken for damage: every command
    moved the store aside to rebuild it, and failed again."""
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    base = os.fsencode(root)
    os.mkdir(base + b"/d\xe9r")
    for name in (b"/bad\xe9name.py", b"/d\xe9r/inside.py"):
        with open(base + name, "wb") as f:
            f.write(b"def hidden_by_its_name():\n    pass\n")
    for _ in range(2):
        proc = sextant("index", "--no-embed", "--repo", str(root))
        assert proc.returncode == 0, proc.stderr
    status = json.loads(sextant("status", "--json", "--repo", str(root)).stdout)
    assert status["files"] == 2 and status["skipped"]["non_utf8_name"] == 2
    assert not list((root / ".sextant").rglob("store.corrupt-*"))


async def test_the_server_answers_every_tool_over_a_hostile_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    _hostile(root)
    await bounded(lambda: index_and_read(root, tmp_path / "i"), 120)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("search_code", {"query": "healthy_function"}),
        ("search_code", {"query": "[[[[[[[[ (((((( f1499"}),
        ("get_symbol", {"name": "f1499", "include_references": True}),
        ("get_symbol", {"name": "café"}),
        ("expand_dependencies", {"target": "deep_parens.js", "direction": "both", "depth": 4}),
        ("expand_dependencies", {"target": "nested_functions.js", "depth": 4}),
        ("summarize_dir", {"path": ".", "depth": 4}),
        ("index_status", {}),
    ]
    async with connected(server_settings(root, tmp_path / "i")) as client:
        for tool, args in calls:
            with anyio.fail_after(60):
                await client.call_tool(tool, args)  # a result or an error result, no hang
        found = await call(client, "search_code", query="healthy_function", mode="lexical")
        status = await call(client, "index_status")
    assert found["results"][0]["path"] == "good.py"
    assert status["skipped"]["special"] == 2 and status["skipped"]["too_large"] == 1


ENCODED = "# caf\u00e9 \u2014 na\u00efve\n\ndef first():\n    return 1\n\n\ndef second_one(x):\n    return x\n"
ENCODINGS = {
    "le.py": ENCODED.encode("utf-16"),  # with its BOM, as Python writes it
    "be.py": codecs.BOM_UTF16_BE + ENCODED.encode("utf-16-be"),
    "bom.py": codecs.BOM_UTF8 + ENCODED.encode("utf-8"),
    "latin.py": ENCODED.replace("\u2014", "-").encode("latin-1"),  # not UTF-8: replaced
}


async def test_a_file_in_another_encoding_has_its_symbols_at_their_lines(tmp_path: Path) -> None:
    """Parsed from its decoded text (a UTF-16 file given as it is parsed as nothing), and
    shown decoded the same way."""
    root = tmp_path / "repo"
    root.mkdir()
    for name, data in ENCODINGS.items():
        (root / name).write_bytes(data)
    await bounded(lambda: index_and_read(root, tmp_path / "i"), 60)
    with opened(root, tmp_path / "i") as index:
        rows = index.store.query(
            "SELECT f.path, s.name, s.start_line, s.end_line FROM symbols s "
            "JOIN files f USING (file_id) ORDER BY 1, 3")
        texts = dict(index.store.query(
            "SELECT f.path, string_agg(c.text, '') FROM chunks c JOIN files f USING (file_id) "
            "GROUP BY 1"))
    assert rows == [(name, sym, *lines) for name in sorted(ENCODINGS)
                    for sym, lines in (("first", (3, 4)), ("second_one", (7, 8)))]
    assert all("def second_one(x):\n    return x" in texts[name] for name in ENCODINGS)
    async with connected(server_settings(root, tmp_path / "i")) as client:
        out = await call(client, "get_symbol", name="second_one", path="le.py")
    assert out["symbols"][0]["body"] == "def second_one(x):\n    return x"


# -- files that change under the reader (monkeypatched system calls) ----------------------


def _patch_open(monkeypatch: pytest.MonkeyPatch, name: str, before_open: Callable[[str], None],
                ) -> None:
    """Run `before_open(path)` when the indexer opens the file called `name`."""
    real_open = os.open

    def fake_open(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if os.fspath(path).endswith(os.sep + name):
            before_open(os.fspath(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(walk_module.os, "open", fake_open)


async def test_a_file_vanishing_before_it_is_read_is_skipped_as_unreadable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    (root / "vanish.py").write_text("def gone():\n    pass\n")
    _patch_open(monkeypatch, "vanish.py", os.unlink)
    _, files, skipped = await bounded(lambda: index_and_read(root, tmp_path / "i"), 60)
    assert skipped == {"vanish.py": "unreadable"} and "good.py" in files


async def test_a_permission_error_is_skipped_as_unreadable_even_as_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    (root / "locked.py").write_text("def locked():\n    pass\n")

    def deny(path: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    _patch_open(monkeypatch, "locked.py", deny)
    _, files, skipped = await bounded(lambda: index_and_read(root, tmp_path / "i"), 60)
    assert skipped == {"locked.py": "unreadable"} and {"good.py", "lib/util.js"} <= files
    with opened(root, tmp_path / "i") as index:
        detail = index.store.query_one("SELECT detail FROM skipped")[0]
    assert detail.startswith("EACCES")


async def test_a_file_growing_past_the_limit_during_the_read_is_skipped_as_too_large(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    (root / "grows.log.py").write_text("x = 1\n")
    real_read = walk_module.read_at_most

    def grow_then_read(fd: int, limit: int) -> bytes:
        with open(root / "grows.log.py", "ab") as f:
            f.write(b"# more\n" * (2 * MiB // 7))
        return real_read(fd, limit)

    monkeypatch.setattr(walk_module, "read_at_most", grow_then_read)
    _, files, skipped = await bounded(lambda: index_and_read(root, tmp_path / "i"), 60)
    assert skipped.get("grows.log.py") == "too_large" and "good.py" in files


async def test_a_file_truncated_during_the_read_is_indexed_as_read_then_refreshed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    shrinking = root / "shrinks.py"
    shrinking.write_text("def before():\n    pass\n" * 50)
    _patch_open(monkeypatch, "shrinks.py", lambda p: Path(p).write_text("def after():\n    pass\n"))
    _, files, _ = await bounded(lambda: index_and_read(root, tmp_path / "i"), 60)
    assert "shrinks.py" in files
    monkeypatch.undo()
    os.utime(shrinking, ns=(1, 1))  # a stat change the reconcile will notice
    await bounded(lambda: index_and_read(root, tmp_path / "i"), 60)
    with opened(root, tmp_path / "i") as index:
        names = {r[0] for r in index.store.query(
            "SELECT s.name FROM symbols s JOIN files f USING (file_id) WHERE f.path = ?",
            ["shrinks.py"])}
    assert names == {"after"}


async def test_many_tiny_files_are_all_indexed_within_a_bound(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for d in range(40):
        (root / f"pkg{d}").mkdir(parents=True)
        for f in range(50):
            (root / f"pkg{d}" / f"m{f}.py").write_text(f"def f_{d}_{f}():\n    return {f}\n")
    stats, files, skipped = await bounded(lambda: index_and_read(root, tmp_path / "i"), 180)
    assert len(files) == 2000 and not skipped and stats.symbols == 2000


async def test_a_tree_deeper_than_the_recursion_limit_is_indexed_whole(tmp_path: Path) -> None:
    """A walk that recursed lost the whole tree to a RecursionError, top-level files too."""
    root = tmp_path / "repo"
    root.mkdir()
    _good(root)
    with nested(root, sys.getrecursionlimit(), "deep.py", b"def deepest():\n    pass\n") as deep:
        stats, files, skipped = await bounded(lambda: index_and_read(root, tmp_path / "i"), 120)
        report = dry_run(root, IndexOptions(), embed=False)
    assert files == {"good.py", "lib/util.js", deep} and not skipped
    with opened(root, tmp_path / "i") as index:
        assert index.store.query("SELECT f.path FROM symbols s JOIN files f USING (file_id) "
                                 "WHERE s.name = 'deepest'") == [(deep,)]
    assert report["files"] == stats.files == 3 and report["skipped"] == {}


# -- the parser on pathological trees ----------------------------------------------------------


async def test_a_file_that_is_one_wide_syntax_error_is_not_queried_and_returns_fast() -> None:
    from indexer.parse.treesitter import parse_source

    source = b"(\n" * DEEP  # tree-sitter: one ERROR node with 100k children
    parsed = await bounded(lambda: parse_source(source, "javascript"), 60)
    assert parsed.error is not None and "syntax error node" in parsed.error
    assert parsed.symbols == []


def test_a_small_syntax_error_still_yields_the_other_symbols() -> None:
    from indexer.parse.treesitter import parse_source

    parsed = parse_source(b"function ok() {}\n(((\nfunction alsoOk() {}\n", "javascript")
    assert {s.name for s in parsed.symbols} >= {"ok"}
    assert parsed.error is None


# Found by evals/fuzz_pipeline (then reduced): tree-sitter-tsx's error recovery runs for
# more than 100 s on these 194 bytes (typescript and javascript parse them in 0.1 s).
STALLS_TSX = (b'\xc3func (`class function ${}<<EOF\n/*function ;<<EOF\n=>${>[){\xc3"@<def \\x)//x};'
              b'<?php)$"""{:$;function \r\n>@}\t$};/*\\func )"""}$x}\\}<?php>fn $:#include '
              b'@#include function /*/*def ]${\xc3$class x=>func //\r\n')


async def test_a_tiny_file_that_stalls_the_parser_costs_two_seconds_not_ten() -> None:
    from indexer.parse.treesitter import default_timeout, parse_source

    budget = default_timeout(len(STALLS_TSX))
    assert len(STALLS_TSX) == 194 and budget < 2.01
    # the budget the parse stopped at is in its error; the wall-clock bound only catches a
    # parse that never stops (a loaded machine stretches 2 s of parsing well past 9 s)
    parsed = await bounded(lambda: parse_source(STALLS_TSX, "tsx"), 120)
    assert parsed.error == f"parse abandoned after {budget:g}s"
    assert default_timeout(1 << 20) == 10.0, "a 1 MiB file keeps the full budget"
