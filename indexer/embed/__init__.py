"""Embeddings: the `Embedder` seam, the GGUF model, default-model provisioning.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.embed.convert import cache_dir
    from indexer.embed.factory import (
        backend_from_env,
        load_embedder,
        model_id_for,
    )
    from indexer.embed.protocol import (
        Embedder,
        EmbedderError,
        HashingEmbedder,
        ModelUnavailableError,
    )

_WHERE = {
    "cache_dir": "indexer.embed.convert",
    "backend_from_env": "indexer.embed.factory",
    "model_id_for": "indexer.embed.factory",
    "load_embedder": "indexer.embed.factory",
    "Embedder": "indexer.embed.protocol",
    "EmbedderError": "indexer.embed.protocol",
    "HashingEmbedder": "indexer.embed.protocol",
    "ModelUnavailableError": "indexer.embed.protocol",
}

__all__ = [
    "Embedder",
    "EmbedderError",
    "HashingEmbedder",
    "ModelUnavailableError",
    "backend_from_env",
    "cache_dir",
    "load_embedder",
    "model_id_for",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
