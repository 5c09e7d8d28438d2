"""Stage 7, directory summaries: built bottom-up, keyed by a Merkle hash of each subtree."""

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
