"""Embeddings: the `Embedder` seam, the GGUF model, default-model provisioning."""

from indexer.embed.factory import load_embedder
from indexer.embed.protocol import (
    Embedder,
    EmbedderError,
    HashingEmbedder,
    ModelUnavailableError,
    embedded_text,
)
from indexer.embed.static import (
    STATIC_ENV,
    StaticEmbedder,
    load_static_embedder,
    load_static_tier,
    static_from_env,
)

__all__ = [
    "STATIC_ENV",
    "Embedder",
    "EmbedderError",
    "HashingEmbedder",
    "ModelUnavailableError",
    "StaticEmbedder",
    "embedded_text",
    "load_embedder",
    "load_static_embedder",
    "load_static_tier",
    "static_from_env",
]
