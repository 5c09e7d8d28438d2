"""One repository's index on disk: its directory layout, the store and the lexical index,
opened for writing by this process (damaged stores are moved aside and rebuilt).

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.disk.repo import (
        FORMAT_VERSION,
        IndexDirError,
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
    from indexer.disk.static import STATIC_DTYPE, StaticTier

_WHERE = {
    "STATIC_DTYPE": "indexer.disk.static",
    "StaticTier": "indexer.disk.static",
    "SnapshotError": "indexer.disk.snapshot",
    "SnapshotInfo": "indexer.disk.snapshot",
    "export_snapshot": "indexer.disk.snapshot",
    "import_snapshot": "indexer.disk.snapshot",
    "FORMAT_VERSION": "indexer.disk.repo",
    "IndexDirError": "indexer.disk.repo",
    "IndexPaths": "indexer.disk.repo",
    "RepoIndex": "indexer.disk.repo",
    "set_aside_damaged": "indexer.disk.repo",
}

__all__ = [
    "FORMAT_VERSION",
    "STATIC_DTYPE",
    "IndexDirError",
    "IndexPaths",
    "RepoIndex",
    "SnapshotError",
    "SnapshotInfo",
    "StaticTier",
    "export_snapshot",
    "import_snapshot",
    "set_aside_damaged",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
