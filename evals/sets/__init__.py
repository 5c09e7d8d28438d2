"""Evaluation sets: each builds queries with gold answers from a real repository."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.history import SOURCE_EXTS, is_source
from tools.retrieval_metrics import Span

__all__ = ["SOURCE_EXTS", "Query", "is_source"]

@dataclass(slots=True)
class Query:
    qid: str
    text: str
    gold: list[Span]
    meta: dict[str, str] = field(default_factory=dict)
