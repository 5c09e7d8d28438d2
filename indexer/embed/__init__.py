"""Embeddings: the `Embedder` seam, the GGUF model, default-model provisioning.

Names are imported on first use (PEP 562), so that importing one stage of the
pipeline does not load the native libraries of the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from indexer import lazy_attributes

if TYPE_CHECKING:
    from indexer.embed.factory import (
        backend_from_env,
        load_embedder,
        model_id_for,
    )
    from indexer.embed.protocol import (
        Embedder,
        EmbedderError,
        EmbedderFacts,
        HashingEmbedder,
        ModelUnavailableError,
        embedded_text,
    )
    from indexer.embed.static import (
        StaticEmbedder,
        load_cached_static_tier,
        load_static_embedder,
        load_static_tier,
        worker_spec,
    )

_WHERE = {
    "embedded_text": "indexer.embed.protocol",
    "StaticEmbedder": "indexer.embed.static",
    "load_static_embedder": "indexer.embed.static",
    "load_static_tier": "indexer.embed.static",
    "load_cached_static_tier": "indexer.embed.static",
    "worker_spec": "indexer.embed.static",
    "backend_from_env": "indexer.embed.factory",
    "model_id_for": "indexer.embed.factory",
    "load_embedder": "indexer.embed.factory",
    "Embedder": "indexer.embed.protocol",
    "EmbedderError": "indexer.embed.protocol",
    "EmbedderFacts": "indexer.embed.protocol",
    "HashingEmbedder": "indexer.embed.protocol",
    "ModelUnavailableError": "indexer.embed.protocol",
}

__all__ = [
    "Embedder",
    "EmbedderError",
    "EmbedderFacts",
    "HashingEmbedder",
    "ModelUnavailableError",
    "StaticEmbedder",
    "backend_from_env",
    "embedded_text",
    "load_cached_static_tier",
    "load_embedder",
    "load_static_embedder",
    "load_static_tier",
    "model_id_for",
    "worker_spec",
]

__getattr__ = lazy_attributes(__name__, _WHERE)
