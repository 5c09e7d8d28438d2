"""Embeddings: the `Embedder` seam, the GGUF model, default-model provisioning."""

from indexer.embed.base import (
    Embedder,
    EmbedderError,
    HashingEmbedder,
    ModelUnavailableError,
    load_embedder,
)

__all__ = [
    "Embedder",
    "EmbedderError",
    "HashingEmbedder",
    "ModelUnavailableError",
    "load_embedder",
]
