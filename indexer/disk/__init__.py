"""One repository's index on disk: its directory layout, the store and the lexical index,
opened for writing by this process (damaged stores are moved aside and rebuilt)."""

from indexer.disk.repo import (
    FORMAT_VERSION,
    IndexPaths,
    RepoIndex,
    set_aside_damaged,
)

__all__ = [
    "FORMAT_VERSION",
    "IndexPaths",
    "RepoIndex",
    "set_aside_damaged",
]
