"""The embedding seam: the `Embedder` protocol, its errors, and a deterministic fake.

Everything that embeds text (the pipeline, hybrid search, benchmarks) depends only on
`Embedder`. `indexer.embed.factory.load_embedder` picks the implementation from a spec
string, so tests register `HashingEmbedder` through exactly the same path as the real GGUF
model. The backends import this module; nothing here imports a backend.

Exceptions:
    EmbedderError            base class for everything raised by `indexer.embed`
    ModelUnavailableError    the model file or the package that provides it is missing
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from indexer.lexical import identifier_tokens

log = logging.getLogger(__name__)

HASHING_SPEC = "hashing"
MODEL_ENV = "SEXTANT_MODEL"
GPU_LAYERS_ENV = "SEXTANT_GPU_LAYERS"
BACKEND_ENV = "SEXTANT_EMBED_BACKEND"
BACKENDS = ("auto", "llama", "numpy")


class EmbedderError(Exception):
    """Base class for embedding failures."""


class ModelUnavailableError(EmbedderError):
    """The embedding model (or the package shipping its weights) cannot be found."""


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalized float32 vectors.

    `model_id` changes whenever the vectors would change (model, quantization, file), so it
    is safe as part of an embedding-cache key. Inputs longer than `max_tokens` model tokens
    are truncated, never rejected. Implementations are safe to call from several threads
    (they serialize internally).
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), dim), float32, each row of unit length (or zero for no text)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Shape (dim,), float32, unit length."""
        ...


class EmbedderFacts:
    """The `Embedder` protocol's three facts, for embedders that know them once loaded."""

    _model_id: str
    _dim: int
    _max_tokens: int

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens


def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0


def embedded_text(header: str, text: str) -> str:
    """What both semantic tiers embed for a chunk: the context header, then the code."""
    return f"{header}\n{text}" if header else text


class HashingEmbedder(EmbedderFacts):
    """Deterministic fake: a signed, hashed bag of identifier sub-tokens.

    Texts that share identifiers get similar vectors, so ranking tests stay meaningful.
    Every `embed_documents` call is recorded in `calls` (queries in `query_calls`) so tests
    can assert batching and embedding-cache hits. Empty or symbol-only text gives a zero
    vector.
    """

    def __init__(self, dim: int = 64, max_tokens: int = 256) -> None:
        self._dim = dim
        self._max_tokens = max_tokens
        self._model_id = f"hashing-d{dim}-t{max_tokens}"
        self.calls: list[list[str]] = []
        self.query_calls: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for token in identifier_tokens(text)[: self._max_tokens]:
            index, sign = _bucket(token, self._dim)
            vec[index] += sign
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        self.query_calls.append(text)
        return self._vector(text)


def gpu_layers_from_env() -> int | None:
    """`SEXTANT_GPU_LAYERS` as an int, None when unset or empty."""
    raw = os.environ.get(GPU_LAYERS_ENV, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise EmbedderError(
            f"{GPU_LAYERS_ENV}={raw!r} is not an integer: use -1 (all layers), 0 (CPU) or N"
        ) from None
