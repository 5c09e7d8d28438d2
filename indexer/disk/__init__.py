"""One repository's index on disk: its directory layout, the store and the lexical index,
opened for writing by this process (damaged stores are moved aside and rebuilt)."""

from indexer.disk.repo import (
    FORMAT_VERSION,
    IndexPaths,
    RepoIndex,
)
from indexer.disk.snapshot import (
    SnapshotError,
    SnapshotInfo,
    export_snapshot,
    import_snapshot,
)

__all__ = [
    "FORMAT_VERSION",
    "IndexPaths",
    "RepoIndex",
    "SnapshotError",
    "SnapshotInfo",
    "export_snapshot",
    "import_snapshot",
]
