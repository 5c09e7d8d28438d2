"""GGUF embedding models through llama.cpp (llama-cpp-python's low-level API).

Why not `Llama.embed`: it tokenizes and decodes in input order, clears memory on every
batch, and converts each vector through Python lists. Here texts are tokenized once,
truncated to the model window by the model's own tokenizer, sorted by length and packed
into batches of up to `n_batch` tokens with many sequences per `llama_encode`/`llama_decode`;
pooled vectors are copied straight into numpy. See docs/embeddings.md for the measurements
behind the defaults.

llama.cpp's log output goes to the `indexer.embed.llama` logger (stderr under the app's
logging configuration), never to stdout.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embed.batching import pack_batches, physical_cores
from indexer.embed.convert import model_fingerprint
from indexer.embed.protocol import EmbedderError, EmbedderFacts, ModelUnavailableError

log = logging.getLogger(__name__)
llama_log = logging.getLogger("indexer.embed.llama")

EXTRA_BUFTS_ENV = "SEXTANT_LLAMA_REPACK"
# Measured on CPU (docs/embeddings.md): with flash attention one decode of about one window
# (256 tokens) is the most efficient; larger multi-sequence batches pay for the
# cross-sequence attention mask (256: 12.7, 512: 12.2, 1024: 10.9, 2048: 9.3 chunks per
# CPU-second). GPUs want wide batches (not measured here).
CPU_BATCH_TOKENS = 256
GPU_BATCH_TOKENS = 2048
MAX_SEQS = 64
_CHARS_PER_TOKEN_CAP = 32  # text beyond max_tokens * this many characters is never tokenized
_LOG_LEVELS = {3: logging.INFO, 4: logging.ERROR}  # ggml_log_level: 1 debug, 2 info, 3 warn, 5 cont
_init_lock = threading.Lock()
_log_callback: Any = None


def llama_library() -> Any:
    """Import llama_cpp, route its logging away from stdout, init the backend (once)."""
    global _log_callback
    # Busy-waiting OpenMP workers halve throughput when the cores are shared (measured);
    # only effective before the OpenMP runtime loads, and only if the user did not choose.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        llama_cpp = _low_level_llama_cpp()
    except ImportError:
        raise ModelUnavailableError(
            "llama-cpp-python is not installed: run `pip install llama-cpp-python` "
            "(see docs/embeddings.md for the CUDA build)"
        ) from None
    with _init_lock:
        if _log_callback is None:

            @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
            def forward(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
                llama_log.log(_LOG_LEVELS.get(level, logging.DEBUG), "%s", text.decode(
                    "utf-8", "replace"
                ).rstrip())

            _log_callback = forward
            llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
    return llama_cpp


def _low_level_llama_cpp() -> Any:
    """llama-cpp-python's ctypes bindings (`llama_cpp.llama_cpp`), without the package's
    `__init__`: that also imports the high-level `Llama` with its chat templates and jinja2,
    ~0.1 CPU s that every process loading a model or vocabulary (each parse worker with the
    static tier) paid for nothing. A later `import llama_cpp` elsewhere still gets the whole
    package, over these same bindings."""
    import importlib
    import importlib.util
    import sys

    if "llama_cpp" in sys.modules:
        return importlib.import_module("llama_cpp.llama_cpp")
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None:
        raise ImportError("llama_cpp")
    sys.modules["llama_cpp"] = importlib.util.module_from_spec(spec)  # the package, not run
    try:
        return importlib.import_module("llama_cpp.llama_cpp")
    finally:
        del sys.modules["llama_cpp"]


def default_gpu_layers() -> int:
    """All layers (-1) when llama.cpp was built with GPU offload, else 0."""
    return -1 if llama_library().llama_supports_gpu_offload() else 0


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class Tokenizer:
    """A model's own tokenizer (llama.cpp's vocabulary), truncating to a token window."""

    def __init__(self, lib: Any, vocab: Any, max_tokens: int) -> None:
        self._lib = lib
        self._vocab = vocab
        self.max_tokens = max_tokens

    def _tokenize_raw(self, data: bytes, add_special: bool) -> list[int]:
        capacity = len(data) + 16
        buf = (self._lib.llama_token * capacity)()
        n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, capacity, add_special, False)
        if n < 0:  # buffer too small: -n is the size needed
            buf = (self._lib.llama_token * -n)()
            n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, -n, add_special, False)
        return list(buf[:n])

    def tokenize(self, text: str) -> list[int]:
        """Tokens for `text` with special tokens; the middle is cut to fit `max_tokens`."""
        data = text[: self.max_tokens * _CHARS_PER_TOKEN_CAP].encode("utf-8", "replace")
        full = self._tokenize_raw(data, add_special=True)
        if len(full) <= self.max_tokens:
            return full
        plain = self._tokenize_raw(data, add_special=False)
        lead = 1 if self._lib.llama_vocab_get_add_bos(self._vocab) else 0
        tail = max(len(full) - len(plain) - lead, 0)
        body = plain[: self.max_tokens - lead - tail]
        return full[:lead] + body + (full[len(full) - tail :] if tail else [])


class GGUFEmbedder(EmbedderFacts):
    """An `Embedder` over any GGUF embedding model (BERT-style encoders or decoders)."""

    def __init__(
        self,
        path: Path | str,
        gpu_layers: int | None = None,
        threads: int | None = None,
        batch_tokens: int | None = None,
        max_tokens: int | None = None,
        max_seqs: int | None = None,
    ) -> None:
        """`max_seqs`: the most sequences one batch packs (its context is sized for them:
        a context for one sequence at a time, enough for queries, is 7 MB smaller for MiniLM)."""
        self.path = Path(path)
        self.max_seqs = max(1, max_seqs or MAX_SEQS)
        if not self.path.is_file():
            raise ModelUnavailableError(f"GGUF model {str(self.path)!r} not found")
        self._lib = llama_library()
        self._lock = threading.Lock()
        self.gpu_layers = default_gpu_layers() if gpu_layers is None else gpu_layers
        self.threads = threads or physical_cores()
        self._model = self._load_model()
        self._vocab = self._lib.llama_model_get_vocab(self._model)
        self._dim = int(self._lib.llama_model_n_embd_out(self._model))
        window = int(self._lib.llama_model_n_ctx_train(self._model))
        declared = self._meta_int("sextant.max_seq_length")
        self._max_tokens = min(x for x in (window, declared, max_tokens) if x)
        default_batch = GPU_BATCH_TOKENS if self.gpu_layers != 0 else CPU_BATCH_TOKENS
        self.batch_tokens = max(batch_tokens or default_batch, self._max_tokens)
        self._tokenizer = Tokenizer(self._lib, self._vocab, self._max_tokens)
        self._ctx = self._new_context()
        self._encoder_only = bool(
            self._lib.llama_model_has_encoder(self._model)
            and not self._lib.llama_model_has_decoder(self._model)
        )
        self._bidirectional = self._meta(f"{self._arch()}.attention.causal") == "false"
        self._batch = self._lib.llama_batch_init(self.batch_tokens, 0, 1)
        self._fill = _BatchArrays(self._batch, self.batch_tokens)
        self._model_id = f"{self.path.stem}-{model_fingerprint(self.path)[:12]}"

    def _load_model(self) -> Any:
        params = self._lib.llama_model_default_params()
        params.n_gpu_layers = self.gpu_layers
        # CPU "extra buffer types" (AMX / weight repacking) crash on some CPUs for q8_0
        # encoders (seen with AMX-INT8); opt in with SEXTANT_LLAMA_REPACK=1.
        params.use_extra_bufts = _env_flag(EXTRA_BUFTS_ENV)
        model = self._lib.llama_model_load_from_file(str(self.path).encode(), params)
        if not model:
            raise EmbedderError(
                f"llama.cpp could not load {self.path}: is it a GGUF embedding model "
                "(run `sextant model info`)?"
            )
        return model

    def _new_context(self) -> Any:
        params = self._lib.llama_context_default_params()
        params.n_ctx = self.batch_tokens
        params.n_batch = self.batch_tokens
        params.n_ubatch = self.batch_tokens  # non-causal models need the batch in one ubatch
        params.n_seq_max = self.max_seqs
        params.n_threads = self.threads
        params.n_threads_batch = self.threads
        params.embeddings = True
        # flash_attn_type stays AUTO: on CPU it resolves to enabled, which skips masked
        # positions; without it embedding is ~1.8x slower even for single sequences.
        params.kv_unified = True  # decoder models: every sequence may use the whole window
        if self._meta_int(f"{self._arch()}.pooling_type") in (None, 0):
            params.pooling_type = self._lib.LLAMA_POOLING_TYPE_MEAN
        ctx = self._lib.llama_init_from_model(self._model, params)
        if not ctx:
            raise EmbedderError(f"llama.cpp could not create a context for {self.path}")
        return ctx

    def _meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(256)
        n = self._lib.llama_model_meta_val_str(self._model, key.encode(), buf, len(buf))
        return buf.value.decode() if n >= 0 else None

    def _meta_int(self, key: str) -> int | None:
        value = self._meta(key)
        return int(value) if value is not None and value.lstrip("-").isdigit() else None

    def _arch(self) -> str:
        return self._meta("general.architecture") or ""

    def tokenize(self, text: str) -> list[int]:
        """Model tokens for `text` with special tokens, truncated to `max_tokens`."""
        return self._tokenizer.tokenize(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self.threads)

    def embed_query(self, text: str) -> np.ndarray:
        # One thread: a query is a few tokens, and a multi-threaded decode waits for every
        # thread at each barrier, which on a busy machine turned 3 ms into 100-600 ms
        # (evals/bench_query.py). Batches of documents still use all cores.
        return np.asarray(self._embed([text], 1)[0])

    def _embed(self, texts: Sequence[str], threads: int) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            self._lib.llama_set_n_threads(self._ctx, threads, threads)
            tokens = [self.tokenize(t) for t in texts]
            for batch in pack_batches([len(t) for t in tokens], self.batch_tokens,
                                      self.max_seqs):
                out[batch] = self._run_batch([tokens[i] for i in batch])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(np.divide(out, norms, out=out, where=norms > 0))

    def embed_token_ids(self, seqs: Sequence[list[int]], max_seqs: int = MAX_SEQS) -> np.ndarray:
        """Unit-length pooled vectors of token-id sequences taken as they are (special tokens
        included, no truncation), packed into batches of at most `max_seqs` (for
        distillation: `indexer.embed.distil`)."""
        out = np.zeros((len(seqs), self._dim), dtype=np.float32)
        with self._lock:
            for batch in pack_batches([len(s) for s in seqs], self.batch_tokens,
                                      min(max_seqs, self.max_seqs)):
                out[batch] = self._run_batch([list(seqs[i]) for i in batch])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(np.divide(out, norms, out=out, where=norms > 0))

    def _run_batch(self, seqs: list[list[int]]) -> np.ndarray:
        lib, batch = self._lib, self._batch
        n = self._fill.put(seqs)
        batch.n_tokens = n
        result = np.zeros((len(seqs), self._dim), dtype=np.float32)
        if n == 0:
            return result
        if self._encoder_only:
            rc = lib.llama_encode(self._ctx, batch)
        else:
            lib.llama_memory_clear(lib.llama_get_memory(self._ctx), True)
            rc = lib.llama_decode(self._ctx, batch)
        if rc != 0:
            raise EmbedderError(f"llama.cpp failed to embed a batch of {n} tokens (code {rc})")
        for seq_id, ids in enumerate(seqs):
            if ids:
                ptr = lib.llama_get_embeddings_seq(self._ctx, seq_id)
                result[seq_id] = np.ctypeslib.as_array(ptr, shape=(self._dim,))
        self._discard_logits(n)
        return result

    def _discard_logits(self, n_tokens: int) -> None:
        """llama.cpp sizes a context's output buffer for logits too, a vocabulary's worth a
        token (MiniLM: 30,522 floats, so 31 MB for one query of 256 tokens), which an
        embedding context never reads; their pages were resident from the first batch that
        long on, for the life of the context (a server's query embedder: +31 MB after one
        long query). They are given back after each batch: the next batches leave them
        untouched (docs/benchmarks.md, "Serving memory"). Bidirectional encoders only (BERT
        and the like: `<arch>.attention.causal` false): whether a decoder's batches write
        them again, a page fault a page each batch, was not measured. Not on offloaded (GPU)
        contexts either, whose output buffer may be pinned host memory."""
        if self.gpu_layers != 0 or not self._bidirectional:
            return
        logits = ctypes.cast(self._lib.llama_get_logits(self._ctx), ctypes.c_void_p).value
        if logits:  # None where this llama.cpp keeps no logits for embedding contexts
            from indexer.core import discard_pages

            n_vocab = int(self._lib.llama_vocab_n_tokens(self._vocab))
            discard_pages(logits, n_vocab * n_tokens * ctypes.sizeof(ctypes.c_float))

    def release_pages(self) -> int:
        """Take the model file's pages out of this process (`indexer.core.
        release_file_mappings`; the bytes advised). llama.cpp maps the file read-only and
        shared, and loading reads all of it (MiniLM q8_0: 23 MB resident for the life of a
        server); a query then reads only its tokens' rows of the token table and the layers
        (11 MB), read again from the page cache on the first query after a release (+1-3 ms).
        Safe while another thread embeds: the pages are the file's, whatever unmaps them."""
        from indexer.core import release_file_mappings

        return release_file_mappings(self.path)

    def close(self) -> None:
        """Free the native model and context (also done at garbage collection)."""
        with self._lock:
            if getattr(self, "_ctx", None):
                self._fill.release()
                self._lib.llama_batch_free(self._batch)
                self._lib.llama_free(self._ctx)
                self._lib.llama_model_free(self._model)
                self._ctx = None

    def __del__(self) -> None:
        if getattr(self, "_lib", None) is not None and getattr(self, "_ctx", None):
            self.close()


class _BatchArrays:
    """numpy views of a `llama_batch`'s arrays, so that a batch is filled with a few array
    operations instead of five ctypes stores per token (754-899 ns a token against 27-30
    ns: docs/embeddings.md; with moby's 222-token chunks ~5,000 chunks/s at most, whatever
    the device). Each token's one-entry `seq_id` array (separate
    allocations in `llama_batch_init`) is pointed into one array of ours; `release` puts the
    original pointers back before `llama_batch_free` frees them."""

    def __init__(self, batch: Any, capacity: int) -> None:
        def view(pointer: Any, ctype: Any) -> np.ndarray:
            return np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctype)),
                                         shape=(capacity,))

        self.token = view(batch.token, ctypes.c_int32)
        self.pos = view(batch.pos, ctypes.c_int32)
        self.n_seq_id = view(batch.n_seq_id, ctypes.c_int32)
        self.logits = view(batch.logits, ctypes.c_int8)
        self._pointers = view(batch.seq_id, ctypes.c_size_t)  # pointer-sized integers
        self._original = self._pointers.copy()
        self.seq_id = np.zeros(capacity, dtype=np.int32)
        self._pointers[:] = self.seq_id.ctypes.data + 4 * np.arange(capacity, dtype=np.uintp)

    def put(self, seqs: Sequence[Sequence[int]]) -> int:
        """Fill the batch with `seqs` (each its own sequence, positions from 0, every token's
        output kept); the number of tokens."""
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        n = int(lengths.sum())
        if n == 0:
            return 0
        starts = np.cumsum(lengths) - lengths
        self.token[:n] = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int32,
                                     count=n)
        self.pos[:n] = np.arange(n) - np.repeat(starts, lengths)
        self.seq_id[:n] = np.repeat(np.arange(len(seqs), dtype=np.int32), lengths)
        self.n_seq_id[:n] = 1
        self.logits[:n] = 1
        return n

    def release(self) -> None:
        self._pointers[:] = self._original
