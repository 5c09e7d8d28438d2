"""The pipeline: walk -> parse -> chunk -> store -> lexical -> graph, as full builds,
incremental updates and reconciles; and the dry run that reports what a build would do.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "dry_run": "indexer.build.dryrun",
    "IndexOptions": "indexer.build.pipeline",
    "IndexStats": "indexer.build.pipeline",
    "IndexingStopped": "indexer.build.pipeline",
    "ProgressFn": "indexer.build.pipeline",
    "StopFn": "indexer.build.pipeline",
    "apply_resolved": "indexer.build.pipeline",
    "index_repository": "indexer.build.pipeline",
    "process_file": "indexer.build.pipeline",
    "saved_walk_options": "indexer.build.pipeline",
    "update_paths": "indexer.build.pipeline",
}

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


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
