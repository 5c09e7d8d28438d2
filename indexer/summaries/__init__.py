"""Stage 7, directory summaries: built bottom-up, keyed by a Merkle hash of each subtree."""

from indexer.summaries.build import (
    Built,
    Sampler,
    summarize,
)
from indexer.summaries.facts import (
    readme_lead,
)

__all__ = [
    "Built",
    "Sampler",
    "readme_lead",
    "summarize",
]
