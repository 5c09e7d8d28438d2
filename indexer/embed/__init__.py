"""Embeddings: the `Embedder` seam, the GGUF model, default-model provisioning."""

from indexer.embed.factory import load_embedder
from indexer.embed.protocol import (
    Embedder,
    EmbedderError,
    HashingEmbedder,
    ModelUnavailableError,
)

__all__ = [
    "Embedder",
    "EmbedderError",
    "HashingEmbedder",
    "ModelUnavailableError",
    "load_embedder",
]
