"""Stage 1, discovery: which files of a repository are indexed, and why the others are not
(nested .gitignore/.ignore rules, size, binary, generated, secrets)."""

from indexer.discover.ignore import (
    IgnoreCache,
)
from indexer.discover.walk import (
    FileEntry,
    SkippedFile,
    WalkOptions,
    content_skip_reason,
    decode_text,
    is_path_ignored,
    read_at_most,
    read_file,
    walk,
)

__all__ = [
    "FileEntry",
    "IgnoreCache",
    "SkippedFile",
    "WalkOptions",
    "content_skip_reason",
    "decode_text",
    "is_path_ignored",
    "read_at_most",
    "read_file",
    "walk",
]
