"""One repository's index on disk: its directory layout, the store and the lexical index,
opened for writing by this process (damaged stores are moved aside and rebuilt), and
the static tier's vectors kept in line with the store."""

from indexer.disk.repo import (
    FORMAT_VERSION,
    IndexPaths,
    RepoIndex,
)
from indexer.disk.static import (
    STATIC_DTYPE,
    StaticTier,
)

__all__ = [
    "FORMAT_VERSION",
    "STATIC_DTYPE",
    "IndexPaths",
    "RepoIndex",
    "StaticTier",
]
