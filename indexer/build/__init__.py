"""The pipeline: walk -> parse -> chunk -> store -> lexical -> graph, as full builds,
incremental updates and reconciles; and the dry run that reports what a build would do."""

from indexer.build.dryrun import (
    dry_run,
)
from indexer.build.pipeline import (
    IndexingStopped,
    IndexOptions,
    IndexStats,
    ProgressFn,
    StopFn,
    apply_resolved,
    index_repository,
    process_file,
    saved_walk_options,
    update_paths,
)

__all__ = [
    "IndexOptions",
    "IndexStats",
    "IndexingStopped",
    "ProgressFn",
    "StopFn",
    "apply_resolved",
    "dry_run",
    "index_repository",
    "process_file",
    "saved_walk_options",
    "update_paths",
]
