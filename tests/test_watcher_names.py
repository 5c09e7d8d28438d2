"""A file whose name is not valid UTF-8, made while a server watches: it is skipped with its
reason (`non_utf8_name`), the edits around it are indexed, and the store is not taken for
damaged (a path DuckDB cannot hold once made every write fail as if the file were corrupt).

watchfiles cannot hand such a path to Python: its watch raises, and the watcher reconciles
and watches again at once, with a warning (not an error with a traceback: nothing failed).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from tests.mcp_helpers import build_index, call
from tests.test_watcher import eventually, found, served


async def test_a_file_named_in_bytes_that_are_not_utf8_is_skipped_while_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/a.py").write_text("def alpha():\n    pass\n")
    build_index(root, tmp_path / "idx")
    async with served(root, tmp_path / "idx") as (client, runtime):
        bad = root / "pkg" / os.fsdecode(b"bad\xe9name.py")  # its bytes as surrogate escapes
        bad.write_bytes(b"def hidden_by_its_name():\n    pass\n")
        (root / "pkg/b.py").write_text("def zanzibar_beside_it():\n    pass\n")

        async def skipped() -> bool:
            status = await call(client, "index_status")
            return bool(status["skipped"].get("non_utf8_name") == 1)

        await eventually(skipped, "the skip of pkg/bad\\xe9name.py")
        await eventually(found(client, "zanzibar_beside_it", lambda p, s: p == "pkg/b.py"),
                         "the file written beside it")
        live = runtime.live
        assert live is not None
        assert live.store.query("SELECT path, reason FROM skipped WHERE reason = ?",
                                ["non_utf8_name"]) == [("pkg/bad\\xe9name.py", "non_utf8_name")]
    assert not list((tmp_path / "idx").rglob("store.corrupt-*"))
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
