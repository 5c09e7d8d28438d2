"""What the tool functions read from: the index of one repository and its live state.

Tools never write. The server's lifespan object builds one `ToolContext` and hands it to
every tool call; tests build one over a real index directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.repo_index import RepoIndex
from tools.models import Freshness

if TYPE_CHECKING:
    from indexer.embed.base import Embedder
    from indexer.vectors import VectorIndex


class ToolError(Exception):
    """A tool cannot answer this request; the message says what to change."""


@dataclass
class EmbeddingState:
    """Progress of background embedding, updated by the embedding worker."""

    state: str = "off"  # off, pending, running, complete, failed
    done: int = 0
    total: int = 0
    error: str | None = None


@dataclass
class ToolContext:
    index: RepoIndex
    vectors: VectorIndex | None = None
    embedder: Embedder | None = None
    embedding: EmbeddingState = field(default_factory=EmbeddingState)
    pending_paths: Callable[[], set[str]] = field(default=lambda: set())
    watching: bool = False
    embed_lock: threading.Lock = field(default_factory=threading.Lock)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.index.root

    def freshness(self, paths: set[str] | None = None) -> Freshness:
        """Freshness for an answer touching `paths` (all pending files when None)."""
        pending = self.pending_paths()
        if paths is not None:
            pending = {p for p in pending if p in paths or any(
                p.startswith(q.rstrip("/") + "/") for q in paths)}
        return Freshness(fresh=not pending, pending_files=sorted(pending)[:20],
                         generation=self.index.store.generation)
