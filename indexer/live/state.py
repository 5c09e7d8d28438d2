"""The state of a live index's model tier, as status and search answers report it."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Coverage:
    """Chunks in the store, and how many of them each semantic tier has a vector for."""

    chunks: int
    static: int
    model: int


@dataclass
class EmbeddingState:
    """Progress of the model tier, updated by the embedding worker.

    `state`: off (no model attached), pending (model loading), running, complete (every
    chunk has a model vector), partial (stopped or interrupted with chunks left), failed."""

    state: str = "off"
    done: int = 0
    total: int = 0
    computed: int = 0  # chunks the model embedded (the rest came from the embedding cache)
    error: str | None = None
    started_at: float | None = None  # time.monotonic() when the current pass began
    done_at_start: int = 0  # chunks that had a vector when the current pass began

    def rate(self) -> float | None:
        """Chunks per second of the current pass (what it embedded, not what an earlier
        pass did), None before there is a measure."""
        counted = self.done - self.done_at_start
        if self.started_at is None or counted <= 0:
            return None
        elapsed = time.monotonic() - self.started_at
        return counted / elapsed if elapsed > 0 else None

    def eta_s(self) -> float | None:
        rate = self.rate()
        if rate is None or self.state != "running":
            return None
        return max(0.0, (self.total - self.done) / rate)
