"""Stage 7, directory summaries: built bottom-up, keyed by a Merkle hash of each subtree.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.summaries.build import (
        Built,
        Sampler,
        SaveLlm,
        attach_llm,
        build_summaries,
        read_summaries,
        save_llm_summary,
        summarize,
    )
    from indexer.summaries.facts import (
        readme_lead,
    )

_WHERE = {
    "Built": "indexer.summaries.build",
    "Sampler": "indexer.summaries.build",
    "SaveLlm": "indexer.summaries.build",
    "attach_llm": "indexer.summaries.build",
    "build_summaries": "indexer.summaries.build",
    "read_summaries": "indexer.summaries.build",
    "save_llm_summary": "indexer.summaries.build",
    "summarize": "indexer.summaries.build",
    "readme_lead": "indexer.summaries.facts",
}

__all__ = [
    "Built",
    "Sampler",
    "SaveLlm",
    "attach_llm",
    "build_summaries",
    "read_summaries",
    "readme_lead",
    "save_llm_summary",
    "summarize",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
