"""Crash-safe file replacement: readers see the old file or the new one, never a mix.

Write to a temp file in the same directory, fsync it, `os.replace` it over the target, then
fsync the directory so the rename itself survives a power loss.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE_ENV = "SEXTANT_CACHE_DIR"


def cache_dir() -> Path:
    """`$SEXTANT_CACHE_DIR`, else `$XDG_CACHE_HOME/sextant`, else `~/.cache/sextant`: the
    per-user home of converted models, distilled tables, rates and the token table."""
    if explicit := os.environ.get(CACHE_ENV):
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sextant"


def fsync_path(path: Path) -> None:
    """fsync a file or a directory by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A temp path beside `path` to write; on success it replaces `path` durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def atomic_write_bytes(path: Path, data: bytes | bytearray) -> None:
    """Replace `path` with `data`, atomically and durably."""
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)

