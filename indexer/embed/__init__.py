"""Embeddings: the `Embedder` seam, the GGUF model, default-model provisioning."""

from indexer.embed.convert import cache_dir
from indexer.embed.factory import backend_from_env, load_embedder, model_id_for
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
    "backend_from_env",
    "cache_dir",
    "load_embedder",
    "model_id_for",
]
