"""Evaluation sets: each builds queries with gold answers from a real repository."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from evals.metrics import Span

_NOT_SOURCE = re.compile(
    r"(^|/)(tests?|testing|testdata|fixtures?|docs?|examples?|benchmarks?|vendor|scripts?)(/|$)"
    r"|(^|/)test_[^/]*$|(^|/)conftest\.py$|_test\.go$")
SOURCE_EXTS = (".py", ".go", ".js", ".ts", ".tsx", ".rs", ".java")


def is_source(path: str) -> bool:
    """A non-test, non-doc, non-example source file."""
    return path.endswith(SOURCE_EXTS) and not _NOT_SOURCE.search(path)


@dataclass(slots=True)
class Query:
    qid: str
    text: str
    gold: list[Span]
    meta: dict[str, str] = field(default_factory=dict)
