"""Who owns an index: `server.json` in the index directory.

DuckDB admits one writing process and no readers beside it, so a live `sextant serve`
records where it listens (`IndexPaths.server_file`: pid, host, port, whether a token is
required, and, for the loopback listener of a stdio server, the token it generated). Other
processes (a second stdio launch, CLI read commands) find it here and talk to that server
over HTTP instead of opening the index.

The record is written whole to a private temporary file and linked into place, so it
appears complete and only if none exists (mode 0600). A record is trusted only when its pid
is alive and `GET /healthz` on its port answers with that pid and this index's identity
(`index_identity`); otherwise it is stale (its process died, or its pid now belongs to
another process) and removed. Connecting waits at most `HEALTH_TIMEOUT_S`; a server that
accepts the connection but has not answered within that time is taken as live and busy (a
server opening a large index accepts connections before it answers them). An unreadable
record is treated as absent and removed, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx2

from indexer.disk import IndexPaths

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 3.0  # to connect, and again to read the answer


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    port: int
    token_required: bool
    transport: str = "http"
    token: str | None = None  # only for a generated loopback token (file is 0600)

    @property
    def url(self) -> str:
        return f"{self._base}/mcp"

    @property
    def health_url(self) -> str:
        return f"{self._base}/healthz"

    @property
    def _base(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "localhost") else self.host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"

    def bearer(self) -> str | None:
        """The token to send: the recorded one, else SEXTANT_TOKEN when one is required."""
        if self.token:
            return self.token
        return os.environ.get("SEXTANT_TOKEN") if self.token_required else None


def index_identity(paths: IndexPaths) -> str:
    """What a server's /healthz says about the index it serves (a digest, not the path)."""
    return hashlib.sha256(str(paths.dir).encode()).hexdigest()[:16]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_owner(paths: IndexPaths) -> Owner | None:
    """The live owner of this index, or None (a stale or unreadable record is removed)."""
    try:
        text = paths.server_file.read_bytes()
    except FileNotFoundError:
        return None
    owner = _parse(text)
    if owner is None:
        log.warning("ignoring and replacing an unreadable %s", paths.server_file)
        _remove_if_unchanged(paths.server_file, text)
        return None
    if owner.pid == os.getpid():
        return None  # this process serves it: use the index directly
    if not pid_alive(owner.pid) or not answers(owner, paths):
        log.info("removing a stale %s (pid %s does not serve this index at %s)",
                 paths.server_file, owner.pid, owner.url)
        _remove_if_unchanged(paths.server_file, text)
        return None
    return owner


def answers(owner: Owner, paths: IndexPaths) -> bool:
    """Whether the server at `owner`'s port is that process serving this index."""
    try:
        response = httpx2.get(owner.health_url, timeout=HEALTH_TIMEOUT_S, trust_env=False)
        data = response.json() if response.status_code == 200 else None
    except httpx2.ReadTimeout:
        return True  # connected: a server still starting, or busy
    except (httpx2.HTTPError, ValueError):
        return False
    return (isinstance(data, dict) and data.get("pid") == owner.pid
            and data.get("index") == index_identity(paths))


def _parse(text: bytes) -> Owner | None:
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        owner = Owner(**{k: v for k, v in data.items() if k in Owner.__dataclass_fields__})
    except TypeError:  # a required field is missing
        return None
    valid = (type(owner.pid) is int and owner.pid > 0 and isinstance(owner.host, str)
             and type(owner.port) is int and 0 < owner.port < 65536
             and isinstance(owner.token_required, bool) and isinstance(owner.transport, str)
             and (owner.token is None or isinstance(owner.token, str)))
    return owner if valid else None


def claim(paths: IndexPaths, owner: Owner) -> bool:
    """Record `owner` unless a live owner exists; True when this process now owns the index."""
    paths.ensure()
    draft = paths.server_file.with_name(f".{paths.server_file.name}.{os.getpid()}")
    _remove(draft)
    record = json.dumps(asdict(owner))
    _create(draft, record)
    try:
        for _ in range(2):
            try:
                _publish(draft, paths.server_file, record)
                return True
            except FileExistsError:
                if read_owner(paths) is not None:
                    return False
                # it was stale or unreadable and is gone now: try again
        return False
    finally:
        _remove(draft)


def _create(path: Path, text: str) -> None:
    """Write `path`, which must not exist, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _publish(draft: Path, path: Path, text: str) -> None:
    """Put the complete `draft` at `path`; FileExistsError if a record is there."""
    try:
        os.link(draft, path)  # atomic: readers never see a half-written record
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system (FAT, some network mounts)
        _create(path, text)


def release(paths: IndexPaths) -> None:
    """Remove the record if it is this process's."""
    try:
        text = paths.server_file.read_bytes()
    except FileNotFoundError:
        return
    owner = _parse(text)
    if owner is not None and owner.pid == os.getpid():
        _remove_if_unchanged(paths.server_file, text)


def _remove_if_unchanged(path: Path, text: bytes) -> None:
    """Remove `path` if it still holds `text` (not a record another process just wrote)."""
    try:
        if path.read_bytes() == text:
            path.unlink()
    except FileNotFoundError:
        pass


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
