"""Damage checks for the store's database files, and the separate embedding cache file.

DuckDB checks a block's checksum only when it reads the block, and opening a database reads
little: a damaged file usually opens, then fails a later query ("Corrupt database file",
"Could not read enough bytes"). So a file not closed cleanly by Sextant since it was last
checked is read through once on open (`verify_tables`: every column of every table; flask:
~0.05 s). A clean close leaves a marker (`<file>.clean`: size and mtime after the close);
an open whose file still matches it skips the scan, and removes the marker, so a crash
leaves none. Not caught: damage that keeps size and mtime, and damage confined to an index
(ART) block, which a table scan does not read: those fail the query that reads them.

A damaged file is moved aside (`<stem>.corrupt-<time>.duckdb`, its WAL with it) for
inspection; the last `KEEP_ASIDE` of a file are kept, older ones deleted (a file damaged
again and again must not fill the disk with copies).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from pathlib import Path

from indexer.core import duckdb

log = logging.getLogger(__name__)

_DAMAGE = ("corrupt", "checksum", "could not read enough bytes", "not a valid duckdb",
           "invalid", "serializ", "deserializ")


# a value Python cannot hand to DuckDB ("Invalid Input Error: Python Conversion Failure:
# cannot encode str as UTF-8, surrogate ..."): the data of the statement (one file's), never
# the file; as damage, it moved the store aside on every write that carried it
_INPUT = ("python conversion failure", "cannot encode")


def looks_damaged(exc: BaseException) -> bool:
    """True when a DuckDB error reads like a damaged file (not a lock, not our SQL, not a
    value the statement was given)."""
    text = str(exc).lower()
    if isinstance(exc, duckdb.InvalidInputException) and any(w in text for w in _INPUT):
        return False
    return isinstance(exc, duckdb.Error) and not re.search(r"\block", text) and any(
        word in text for word in _DAMAGE)  # "lock" as a word: damage reports say "block"


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".clean")


def _stat_key(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def write_marker(path: Path) -> None:
    """Record that `path` was closed cleanly, as it is now."""
    key = _stat_key(path)
    if key is not None:
        try:
            _marker(path).write_text(json.dumps(key))
        except OSError as exc:  # only costs a scan on the next open
            log.warning("cannot write %s: %s", _marker(path), exc)


def check_marker(path: Path) -> bool:
    """True when `path` is as its last clean close left it; the marker is removed either
    way (until the next clean close, the file counts as unchecked)."""
    marker = _marker(path)
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    marker.unlink(missing_ok=True)
    return bool(recorded == _stat_key(path))


def verify_tables(con: duckdb.DuckDBPyConnection, database: str) -> None:
    """Read every column of every table of `database` (raises duckdb.Error on damage)."""
    started = time.perf_counter()
    catalog = "current_database()" if database == "main" else f"'{database}'"
    columns: dict[str, list[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            f"WHERE database_name = {catalog} AND schema_name = 'main' "
            "ORDER BY table_name, column_index").fetchall():
        columns.setdefault(table, []).append(f'"{column}"')
    prefix = "" if database == "main" else f"{database}."
    for table, cols in columns.items():
        con.execute(f'SELECT count(*), sum(hash({", ".join(cols)})) FROM {prefix}"{table}"'
                    ).fetchall()
    log.debug("checked %d tables of %s in %.3f s", len(columns), database,
              time.perf_counter() - started)


KEEP_ASIDE = 3


def move_aside(path: Path) -> Path:
    """Move a damaged database file (and its WAL) aside; returns where it went. Only the
    last `KEEP_ASIDE` copies of it are kept."""
    aside = path.with_name(f"{path.stem}.corrupt-{time.time_ns()}{path.suffix}")
    shutil.move(str(path), str(aside))
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        shutil.move(str(wal), str(aside) + ".wal")
    _marker(path).unlink(missing_ok=True)
    def stamp(copy: Path) -> int:  # a copy named otherwise (by hand) is left alone
        tail = copy.name.split(".corrupt-", 1)[1].split(".", 1)[0]
        return int(tail) if tail.isdigit() else -1

    copies = [c for c in sorted(path.parent.glob(f"{path.stem}.corrupt-*{path.suffix}"),
                                key=stamp) if stamp(c) >= 0]
    for old in copies[:-KEEP_ASIDE]:
        old.unlink(missing_ok=True)
        Path(str(old) + ".wal").unlink(missing_ok=True)
    return aside


def attach_cache(con: duckdb.DuckDBPyConnection, path: Path, schema: str, *,
                 read_only: bool) -> None:
    """Attach the embedding cache at `path` as `cache` (created with `schema` if absent). A
    damaged cache is moved aside and a new one started: its vectors are computed again."""
    unchecked = path.exists() and not check_marker(path)
    try:
        _attach(con, path, schema, read_only)
        if not read_only and unchecked:
            verify_tables(con, "cache")
    except duckdb.Error as exc:
        if read_only or not looks_damaged(exc):
            raise
        try:
            con.execute("DETACH DATABASE IF EXISTS cache")
        except duckdb.Error:
            pass
        aside = move_aside(path)
        log.error("embedding cache %s is damaged (%s); moved it to %s and starting an empty "
                  "one (vectors are computed again)", path, exc, aside)
        _attach(con, path, schema, read_only)


def _attach(con: duckdb.DuckDBPyConnection, path: Path, schema: str, read_only: bool) -> None:
    quoted = str(path).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS cache" + (" (READ_ONLY)" if read_only else ""))
    if not read_only:
        con.execute(schema)

