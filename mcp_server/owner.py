"""Who owns an index: `server.json` in the index directory.

DuckDB admits one writing process and no readers beside it, so a live `sextant serve`
records where it listens (`IndexPaths.server_file`: pid, host, port, whether a token is
required, and, for the loopback listener of a stdio server, the token it generated). Other
processes (a second stdio launch, CLI read commands) find it here and talk to that server
over HTTP instead of opening the index. The file is created exclusively and mode 0600; a
file whose pid is dead is stale and removed.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from indexer.disk import IndexPaths

log = logging.getLogger(__name__)


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
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "localhost") else self.host
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}/mcp"

    def bearer(self) -> str | None:
        """The token to send: the recorded one, else SEXTANT_TOKEN when one is required."""
        if self.token:
            return self.token
        return os.environ.get("SEXTANT_TOKEN") if self.token_required else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_owner(paths: IndexPaths) -> Owner | None:
    """The live owner of this index, or None (a stale record is removed)."""
    try:
        data = json.loads(paths.server_file.read_text())
        owner = Owner(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        log.warning("ignoring unreadable %s: %s", paths.server_file, exc)
        return None
    if owner.pid == os.getpid():
        return None  # this process serves it: use the index directly
    if not pid_alive(owner.pid):
        _remove(paths.server_file)
        return None
    return owner


def claim(paths: IndexPaths, owner: Owner) -> bool:
    """Record `owner` unless a live owner exists; True when this process now owns the index."""
    paths.ensure()
    for _ in range(2):
        try:
            fd = os.open(paths.server_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if read_owner(paths) is not None:
                return False
            continue  # it was stale and is gone now
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(owner), f)
        return True
    return False


def release(paths: IndexPaths) -> None:
    """Remove the record if it is this process's."""
    try:
        data = json.loads(paths.server_file.read_text())
    except (FileNotFoundError, ValueError):
        return
    if data.get("pid") == os.getpid():
        _remove(paths.server_file)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
