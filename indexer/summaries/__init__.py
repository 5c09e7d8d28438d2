"""Stage 7, directory summaries: built bottom-up, keyed by a Merkle hash of each subtree.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.summaries.build import (
        Built,
        Sampler,
        SaveLlm,
        attach_llm,
        build_summaries,
        read_summaries,
        save_llm_summary,
        summaries_due,
        summarize,
    )
    from indexer.summaries.facts import (
        readme_lead,
    )

# The version of the facts a saved summary holds (its JSON's "format"): summaries saved by an
# older one are built again, once (2: a README's lead is the paragraph defining the project).
FACTS_FORMAT = 2

_WHERE = {
    "Built": "indexer.summaries.build",
    "Sampler": "indexer.summaries.build",
    "SaveLlm": "indexer.summaries.build",
    "attach_llm": "indexer.summaries.build",
    "build_summaries": "indexer.summaries.build",
    "read_summaries": "indexer.summaries.build",
    "save_llm_summary": "indexer.summaries.build",
    "summarize": "indexer.summaries.build",
    "summaries_due": "indexer.summaries.build",
    "readme_lead": "indexer.summaries.facts",
}

__all__ = [
    "FACTS_FORMAT",
    "Built",
    "Sampler",
    "SaveLlm",
    "attach_llm",
    "build_summaries",
    "read_summaries",
    "readme_lead",
    "save_llm_summary",
    "summaries_due",
    "summarize",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
