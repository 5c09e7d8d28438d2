"""One repository's index on disk: its directory layout, the store and the lexical index,
opened for writing by this process (damaged stores are moved aside and rebuilt).

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.disk.repo import (
        FORMAT_VERSION,
        IndexPaths,
        RepoIndex,
        set_aside_damaged,
    )
    from indexer.disk.snapshot import (
        SnapshotError,
        SnapshotInfo,
        export_snapshot,
        import_snapshot,
    )

_WHERE = {
    "SnapshotError": "indexer.disk.snapshot",
    "SnapshotInfo": "indexer.disk.snapshot",
    "export_snapshot": "indexer.disk.snapshot",
    "import_snapshot": "indexer.disk.snapshot",
    "FORMAT_VERSION": "indexer.disk.repo",
    "IndexPaths": "indexer.disk.repo",
    "RepoIndex": "indexer.disk.repo",
    "set_aside_damaged": "indexer.disk.repo",
}

__all__ = [
    "FORMAT_VERSION",
    "IndexPaths",
    "RepoIndex",
    "SnapshotError",
    "SnapshotInfo",
    "export_snapshot",
    "import_snapshot",
    "set_aside_damaged",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
