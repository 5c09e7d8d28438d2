"""BERT-family GGUF encoders on the CPU with numpy: the same weights, a faster CPU path.

Why: on a CPU, llama.cpp runs small encoders such as all-MiniLM-L6-v2 at about half the
speed of PyTorch (docs/benchmarks.md): its kernels are built for quantized decoders. The
model is tiny (22M parameters), so its weights fit in memory as float32 and the BLAS that
numpy ships (OpenBLAS) runs the matrix products near the CPU's peak.

This backend reads the tensors from the same GGUF file with the `gguf` package, tokenizes
with llama.cpp's reading of that file's vocabulary, and computes the standard BERT encoder: token + position + type embeddings and LayerNorm; per layer
self-attention, add & norm, feed-forward with GELU (the tanh form llama.cpp uses), add &
norm; then mean or CLS pooling and L2 normalization.

Parallelism: length-sorted batches go to one thread per physical core, each running
single-threaded BLAS (OpenBLAS's per-thread setting), so the element-wise parts (softmax,
GELU, LayerNorm: numpy releases the GIL in them) run in parallel too. Calls need no lock:
the weights are read-only. Queries (single short texts) go to llama.cpp with the same file,
which is faster for them; both compute the same vectors (cosine >= 0.999, tested).

`load_embedder` uses it for `bert` models when no GPU layers are requested
(SEXTANT_EMBED_BACKEND=auto, the default); everything else runs in llama.cpp.

Apart (`apart=True`, what a live index asks for): documents are tokenized here and encoded
in a worker process of their own, which loads the float32 layers there; this process holds
only llama.cpp's query model. A server's heap then keeps nothing of what encoding allocated
(the layers, the threads' scratch arrays and OpenBLAS's buffers: moby's serving benchmark
read 248-250 MB after a spell of edits with encoding in the server, 243-244 with it apart,
docs/benchmarks.md "Serving memory"), and `release` ends the worker.
"""

from __future__ import annotations

import ctypes
import logging
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexer.embed.batching import pack_batches, physical_cores
from indexer.embed.gguf_file import TensorInfo
from indexer.embed.protocol import EmbedderError, EmbedderFacts, ModelUnavailableError

if TYPE_CHECKING:
    from indexer.embed.gguf import GGUFEmbedder

log = logging.getLogger(__name__)

SUPPORTED_ARCHS = frozenset({"bert"})
# Tokens per batch: scratch memory is ~22 KB per batch token and thread; 1,024, 2,048 and
# 4,096 ran at the same speed (docs/embeddings.md).
BATCH_TOKENS = 1024
MAX_SEQS = 64
# Seconds after the last document call that the float32 layers are dropped (reloading them
# costs ~1 s of CPU; a watcher batch every few seconds keeps them).
RELEASE_AFTER_S = 30.0
_POOL_MEAN, _POOL_CLS = 1, 2
_GELU_A = math.sqrt(2.0 / math.pi)
_GELU_B = 0.044715
# exp(x) stays a normal float32 for |x| <= 80, and 512 * e**80 < float32 max.
_EXP_SAFE = 80.0


class UnsupportedModel(EmbedderError):
    """The GGUF file is not a BERT-style encoder this backend can run."""


class _BlasThreads:
    """OpenBLAS's per-calling-thread thread count (`openblas_set_num_threads_local`), found
    among the libraries this process has loaded. `available` is False when numpy uses another
    BLAS: the backend then runs one batch at a time and lets the BLAS thread itself."""

    def __init__(self) -> None:
        self._setter: Any = None
        try:
            with open("/proc/self/maps", encoding="utf-8") as maps:
                paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
        except OSError:
            paths = set()
        for path in sorted(paths):
            try:
                setter = ctypes.CDLL(path).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
            self._setter = setter
            break

    @property
    def available(self) -> bool:
        return self._setter is not None

    def single(self) -> None:
        """BLAS calls from the current thread use one thread."""
        if self._setter is not None:
            self._setter(1)


_blas: _BlasThreads | None = None
_blas_lock = threading.Lock()


def blas_threads() -> _BlasThreads:
    global _blas
    with _blas_lock:
        if _blas is None:
            np.dot(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))  # load the BLAS
            _blas = _BlasThreads()
        return _blas


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    x -= x.mean(axis=1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / np.float32(x.shape[1])
    x *= (1.0 / np.sqrt(var + np.float32(eps)))[:, None]
    x *= weight
    x += bias
    return x


def _gelu_2x(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """In place (`t`: scratch of x's shape), twice the tanh-form GELU:
    x * (1 + tanh(a (x + b x^3))). The factor 1/2 is folded into the next layer's weights."""
    np.multiply(x, x, out=t)
    t *= np.float32(_GELU_A * _GELU_B)
    t += np.float32(_GELU_A)
    t *= x
    np.tanh(t, out=t)
    t += np.float32(1.0)
    x *= t
    return x


def _head_bounds(rows: np.ndarray, dim: int, heads: int) -> np.ndarray:
    """Per head, an upper bound of |q . k| over all query/key pairs of one sequence
    (Cauchy-Schwarz: the largest query norm times the largest key norm)."""
    n = rows.shape[0]
    q = rows[:, :dim].reshape(n, heads, -1)
    k = rows[:, dim : 2 * dim].reshape(n, heads, -1)
    q_norm = np.einsum("nhd,nhd->hn", q, q).max(axis=1)
    k_norm = np.einsum("nhd,nhd->hn", k, k).max(axis=1)
    return np.asarray(np.sqrt(q_norm * k_norm))


class _Workspace:
    """Scratch arrays for one thread's forward passes, reused across layers and batches.

    Fresh large arrays cost a page fault per 4 KiB on first touch: allocating each layer's
    temporaries anew cost more than the element-wise work done in them (measured: GELU on
    2,048 x 1,536 floats 4.9 ms with a new temporary, 0.9 ms per pass in a reused one)."""

    def __init__(self, rows: int, dim: int, ffn: int, window: int) -> None:
        self.rows = rows
        self.qkv = np.empty((rows, 3 * dim), dtype=np.float32)
        self.context = np.empty((rows, dim), dtype=np.float32)
        self.attended = np.empty((rows, dim), dtype=np.float32)
        self.out = np.empty((rows, dim), dtype=np.float32)
        self.hidden = np.empty((rows, ffn), dtype=np.float32)
        self.tmp = np.empty((rows, ffn), dtype=np.float32)
        self.scores = np.empty(window * window, dtype=np.float32)


class _Layer:
    __slots__ = (
        "down",
        "down_b",
        "norm1",
        "norm1_b",
        "norm2",
        "norm2_b",
        "out",
        "out_b",
        "qkv",
        "qkv_b",
        "up",
        "up_b",
    )
    down: np.ndarray
    down_b: np.ndarray
    norm1: np.ndarray
    norm1_b: np.ndarray
    norm2: np.ndarray
    norm2_b: np.ndarray
    out: np.ndarray
    out_b: np.ndarray
    qkv: np.ndarray
    qkv_b: np.ndarray
    up: np.ndarray
    up_b: np.ndarray


class _Weights:
    """What documents need beyond queries: the raw token table and the float32 layers."""

    __slots__ = ("layers", "token_table")

    def __init__(self, token_table: np.ndarray, layers: list[_Layer]) -> None:
        self.token_table = token_table
        self.layers = layers


class NumpyBertEmbedder(EmbedderFacts):
    """An `Embedder` for BERT-architecture GGUF encoders, computed with numpy on the CPU."""

    def __init__(
        self,
        path: Path | str,
        threads: int | None = None,
        batch_tokens: int | None = None,
        max_tokens: int | None = None,
        *,
        apart: bool = False,
        queries: bool = True,
    ) -> None:
        """`apart`: documents are encoded in a worker process (see the module docstring);
        `queries` False: an encoder only (what that worker builds), without llama.cpp, so
        with no tokenizer, no query path and no model id."""
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelUnavailableError(f"GGUF model {str(self.path)!r} not found")
        from indexer.embed.gguf_file import read_gguf

        # the header only: tensors are read (`os.pread`) when needed, into arrays this
        # embedder owns, so no page of the file stays resident once they are dropped
        fields, self._tensors = read_gguf(self.path)
        arch = str(fields.get("general.architecture") or "")
        if arch not in SUPPORTED_ARCHS:
            raise UnsupportedModel(f"{self.path.name}: architecture {arch!r} is not BERT")
        self._heads = int(fields.get(f"{arch}.attention.head_count") or 0)
        self._eps = float(fields.get(f"{arch}.attention.layer_norm_epsilon") or 1e-12)
        pooling = fields.get(f"{arch}.pooling_type")
        self._pooling = _POOL_MEAN if pooling in (None, 0) else int(pooling)
        if self._pooling not in (_POOL_MEAN, _POOL_CLS):
            raise UnsupportedModel(f"{self.path.name}: pooling type {pooling} is not mean or CLS")
        blocks = int(fields.get(f"{arch}.block_count") or 0)
        window = int(fields.get(f"{arch}.context_length") or 0)
        declared = fields.get("sextant.max_seq_length")
        self._max_tokens = min(int(x) for x in (window, declared, max_tokens) if x)
        self._raw("token_embd.weight")  # present, read with the layers
        self._position = self._dense("position_embd.weight")[: self._max_tokens]
        types = self._tensors.get("token_types.weight")
        self._type0 = self._dense("token_types.weight")[0] if types is not None else 0.0
        self._norm = (self._dense("token_embd_norm.weight"), self._dense("token_embd_norm.bias"))
        self._blocks = blocks
        # The encoder layers as float32 (~60 MB for MiniLM: docs/benchmarks.md, "Serving
        # memory") exist only while documents are embedded: loaded by the first call, dropped
        # `RELEASE_AFTER_S` after the last one (a server whose chunks all have vectors embeds
        # only queries, in llama.cpp).
        self._layer_cache: _Weights | None = None
        self._release_timer: threading.Timer | None = None
        self._active = 0  # embed_documents calls running: the layers are not dropped then
        self._dim = int(self._position.shape[1])
        if not blocks or not self._heads or self._dim % self._heads:
            raise UnsupportedModel(f"{self.path.name}: unexpected BERT shape")
        from indexer.embed.gguf import GGUFEmbedder

        # Queries run in llama.cpp: a query is a few tokens, so its products are bound by
        # reading the weights, and llama.cpp reads them quantized (q8_0: a quarter of numpy's
        # float32 bytes): 4 ms against 9 ms per query (docs/embeddings.md). It is also the
        # tokenizer, so both paths see the same token ids. It embeds one query at a time, so
        # its context holds one sequence (7 MB less than one sized for 64 documents).
        self._small: GGUFEmbedder | None = None
        self._model_id = ""
        if queries:
            self._small = GGUFEmbedder(self.path, gpu_layers=0, threads=1,
                                       max_tokens=self._max_tokens, max_seqs=1)
            # The same model id as llama.cpp's: both compute the same vectors (cosine >=
            # 0.999, tests/test_embed_model.py), so they share the cache and vector index.
            self._model_id = self._small.model_id
        from indexer.core import WorkerPool

        self._apart = WorkerPool(1) if apart else None
        self._apart_lock = threading.Lock()  # a call to the worker, or its shutdown
        blas = blas_threads()
        self._blas = blas
        self.threads = max(1, threads or physical_cores()) if blas.available else 1
        self.batch_tokens = max(batch_tokens or BATCH_TOKENS, self._max_tokens)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._spare: list[_Workspace] = []

    # -- weights ---------------------------------------------------------------------------

    def _raw(self, name: str) -> TensorInfo:
        tensor = self._tensors.get(name)
        if tensor is None:
            raise UnsupportedModel(f"{self.path.name}: no tensor {name!r}")
        return tensor

    def _read(self, name: str) -> np.ndarray:
        """The tensor's bytes as stored (quantized or not), read from the file now."""
        from indexer.embed.gguf_file import read_tensor

        return read_tensor(self.path, self._raw(name))

    def _dense(self, name: str) -> np.ndarray:
        from gguf.quants import dequantize

        tensor = self._raw(name)
        data = dequantize(self._read(name), tensor.tensor_type)
        return np.ascontiguousarray(np.asarray(data, dtype=np.float32).reshape(tensor.shape))

    def _linear(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """(input x output) weight, contiguous for `x @ w`, and the bias."""
        return np.ascontiguousarray(self._dense(prefix + ".weight").T), self._dense(prefix + ".bias")

    @property
    def _weights(self) -> _Weights:
        """The token table and the float32 encoder layers, read now unless in memory."""
        with self._pool_lock:
            if self._layer_cache is None:
                self._layer_cache = _Weights(
                    self._read("token_embd.weight"),
                    [self._load_layer(i) for i in range(self._blocks)])
            return self._layer_cache

    @property
    def _layers(self) -> list[_Layer]:
        return self._weights.layers

    @property
    def weights_loaded(self) -> bool:
        """Whether the float32 encoder layers are in memory now."""
        return self._layer_cache is not None

    @property
    def apart_running(self) -> bool:
        """Whether the worker process that encodes documents apart is started."""
        return self._apart is not None and self._apart.running

    def release(self) -> None:
        """Drop the token table, the float32 encoder layers and the worker threads (read
        again on next use), or end the worker process that holds them (`apart`);
        nothing while a call embeds (its last one schedules the release again)."""
        if self._apart is not None and self._apart_lock.acquire(blocking=False):  # else a
            try:  # call is in, and its end schedules the release again
                self._apart.close()
            finally:
                self._apart_lock.release()
            from indexer.core import stop_resource_tracker

            stop_resource_tracker()
        with self._pool_lock:
            if self._active:
                return
            dropped, self._layer_cache = self._layer_cache, None
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # its threads' heaps are trimmed below
        if dropped is not None:
            del dropped
            # glibc keeps what the layers, their temporaries and the scratch memory freed
            # (~40 MB for MiniLM) resident until it is asked: a server whose edits stopped
            # would stay that much above its start
            from indexer.core import trim_heap

            trim_heap()

    def release_pages(self) -> int:
        """The query model's file pages (`GGUFEmbedder.release_pages`): this backend's own
        reads of the file (`os.pread`) leave none in the process."""
        return self._small.release_pages() if self._small is not None else 0

    def _release_later(self) -> None:
        with self._pool_lock:
            if self._release_timer is not None:
                self._release_timer.cancel()
            timer = threading.Timer(RELEASE_AFTER_S, self.release)
            timer.daemon = True
            self._release_timer = timer
        timer.start()

    def _load_layer(self, i: int) -> _Layer:
        p = f"blk.{i}."
        layer = _Layer()
        if p + "attn_qkv.weight" in self._tensors:
            layer.qkv, layer.qkv_b = self._linear(p + "attn_qkv")
        else:
            parts = [self._linear(p + name) for name in ("attn_q", "attn_k", "attn_v")]
            layer.qkv = np.ascontiguousarray(np.concatenate([w for w, _ in parts], axis=1))
            layer.qkv_b = np.concatenate([b for _, b in parts])
        dim = layer.qkv.shape[1] // 3
        scale = np.float32(1.0 / math.sqrt(dim // self._heads))  # softmax(q k / sqrt(d))
        layer.qkv[:, :dim] *= scale
        layer.qkv_b[:dim] *= scale
        layer.out, layer.out_b = self._linear(p + "attn_output")
        layer.norm1, layer.norm1_b = (self._dense(p + "attn_output_norm.weight"),
                                      self._dense(p + "attn_output_norm.bias"))
        layer.up, layer.up_b = self._linear(p + "ffn_up")
        layer.down, layer.down_b = self._linear(p + "ffn_down")
        layer.down *= np.float32(0.5)  # _gelu_2x returns twice the GELU
        layer.norm2, layer.norm2_b = (self._dense(p + "layer_output_norm.weight"),
                                      self._dense(p + "layer_output_norm.bias"))
        return layer

    # -- Embedder ----------------------------------------------------------------------------

    def _queries(self) -> GGUFEmbedder:
        if self._small is None:
            raise EmbedderError("an encoder built with queries=False has no tokenizer")
        return self._small

    def tokenize(self, text: str) -> list[int]:
        return self._queries().tokenize(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        tokens = [self.tokenize(t) for t in texts]
        if self._apart is None:
            return self.encode(tokens)
        with self._apart_lock:
            try:
                return self._apart.call(_encode_apart, str(self.path), self.threads,
                                        self.batch_tokens, self._max_tokens, tokens)
            finally:
                self._release_later()

    def encode(self, tokens: list[list[int]]) -> np.ndarray:
        """Unit-length vectors of tokenized documents (ids as `tokenize` gives them), in
        this process."""
        out = np.zeros((len(tokens), self._dim), dtype=np.float32)
        lengths = [len(t) for t in tokens]
        # At least one batch per thread when there is enough work to share.
        share = -(-sum(lengths) // self.threads)
        budget = min(self.batch_tokens, max(share, self._max_tokens))
        batches = pack_batches(lengths, budget, MAX_SEQS)
        with self._pool_lock:
            self._active += 1
        try:
            pool = self._executor()
            futures = [pool.submit(self._forward, [tokens[i] for i in b]) for b in batches]
            for batch, future in zip(batches, futures):
                out[batch] = future.result()
        finally:
            with self._pool_lock:
                self._active -= 1
            self._drop_workspaces()
            self._release_later()
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._queries().embed_query(text)

    def embed_token_ids(self, seqs: Sequence[list[int]]) -> np.ndarray:
        """Unit-length pooled vectors of token-id sequences taken as they are (special tokens
        included, no truncation), as one batch in the calling thread (for distillation,
        which runs its own fixed batches: `indexer.embed.distil`). Call
        `release_workspaces` when done."""
        return self._forward(list(seqs))

    def release_workspaces(self) -> None:
        """Return the scratch memory `embed_token_ids` keeps per thread (and the float32
        layers `RELEASE_AFTER_S` later, unless used again)."""
        self._drop_workspaces()
        self._release_later()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.threads, thread_name_prefix="sextant-embed",
                    initializer=self._blas.single if self.threads > 1 else None,
                )
            return self._pool

    # -- the encoder -------------------------------------------------------------------------

    def _forward(self, seqs: list[list[int]]) -> np.ndarray:
        """Unit-length pooled vectors of `seqs` (token ids), zero rows for empty ones.

        The sequences are concatenated without padding: only attention looks across rows,
        and it works on each sequence's own rows."""
        result = np.zeros((len(seqs), self._dim), dtype=np.float32)
        lengths = [len(seq) for seq in seqs]
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if starts[-1] == 0:
            return result
        ids = np.fromiter((t for seq in seqs for t in seq), dtype=np.int64, count=int(starts[-1]))
        positions = np.concatenate([np.arange(n) for n in lengths if n])
        weights = self._weights
        x = self._embed_tokens(ids, weights.token_table, self._raw("token_embd.weight"))
        x += self._position[positions]
        x += self._type0
        x = _layer_norm(x, *self._norm, self._eps)
        ws = self._take_workspace(len(ids))
        try:
            for layer in weights.layers:
                x = self._layer(x, layer, starts, ws)
            pooled = self._pool_rows(x, lengths, starts)
        finally:
            self._give_workspace(ws)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        nonempty = np.flatnonzero(np.array(lengths) > 0)
        result[nonempty] = np.divide(pooled, norms, out=np.zeros_like(pooled), where=norms > 0)
        return result

    def _pool_rows(self, x: np.ndarray, lengths: list[int], starts: np.ndarray) -> np.ndarray:
        nonempty = np.flatnonzero(np.array(lengths) > 0)
        if self._pooling == _POOL_CLS:
            return np.asarray(x[starts[nonempty]])
        pooled = np.add.reduceat(x, starts[nonempty], axis=0)
        pooled /= np.array(lengths, dtype=np.float32)[nonempty, None]
        return pooled

    def _take_workspace(self, rows: int) -> _Workspace:
        with self._pool_lock:
            while self._spare:
                ws = self._spare.pop()
                if ws.rows >= rows:
                    return ws
        ffn = self._layers[0].up.shape[1]
        return _Workspace(max(rows, self.batch_tokens), self._dim, ffn, self._max_tokens)

    def _give_workspace(self, ws: _Workspace) -> None:
        with self._pool_lock:
            self._spare.append(ws)

    def _drop_workspaces(self) -> None:
        """Return the scratch memory (~22 KB per batch token and thread) between calls."""
        with self._pool_lock:
            self._spare.clear()

    @staticmethod
    def _embed_tokens(ids: np.ndarray, table: np.ndarray, info: TensorInfo) -> np.ndarray:
        """Rows of the (possibly quantized) token embedding table, dequantized on demand."""
        from gguf.quants import dequantize

        unique, inverse = np.unique(ids, return_inverse=True)
        rows = dequantize(np.asarray(table[unique]), info.tensor_type)
        rows = np.asarray(rows, dtype=np.float32).reshape(len(unique), -1)
        return rows[inverse]

    def _layer(self, x: np.ndarray, w: _Layer, starts: np.ndarray, ws: _Workspace) -> np.ndarray:
        n = x.shape[0]
        qkv = np.matmul(x, w.qkv, out=ws.qkv[:n])  # query columns pre-scaled by 1/sqrt(d)
        qkv += w.qkv_b
        context = self._attention(qkv, starts, ws.context[:n], ws.scores)
        attended = np.matmul(context, w.out, out=ws.attended[:n])
        attended += w.out_b
        attended += x
        x = _layer_norm(attended, w.norm1, w.norm1_b, self._eps)
        hidden = np.matmul(x, w.up, out=ws.hidden[:n])
        hidden += w.up_b
        gelu = _gelu_2x(hidden, ws.tmp[:n])
        out = np.matmul(gelu, w.down, out=ws.out[:n])  # ffn_down pre-scaled by 1/2
        out += w.down_b
        out += x
        return _layer_norm(out, w.norm2, w.norm2_b, self._eps)

    def _attention(self, qkv: np.ndarray, starts: np.ndarray, context: np.ndarray,
                   scratch: np.ndarray) -> np.ndarray:
        """Softmax attention per sequence (rows `starts[i]:starts[i+1]`) and head, over
        strided views of `qkv` (no copies): each score matrix stays in cache."""
        dim, heads = self._dim, self._heads
        head_dim = dim // heads
        for start, stop in zip(starts[:-1].tolist(), starts[1:].tolist()):
            if start == stop:
                continue
            rows = qkv[start:stop]
            out = context[start:stop]
            safe = _head_bounds(rows, dim, heads) <= _EXP_SAFE
            ones = np.ones(stop - start, dtype=np.float32)
            scores = scratch[: (stop - start) ** 2].reshape(stop - start, stop - start)
            for h in range(heads):
                cols = slice(h * head_dim, (h + 1) * head_dim)
                q = rows[:, cols]
                k = rows[:, dim + cols.start : dim + cols.stop]
                v = rows[:, 2 * dim + cols.start : 2 * dim + cols.stop]
                np.matmul(q, k.T, out=scores)
                if not safe[h]:
                    scores -= scores.max(axis=1, keepdims=True)
                # else every |score| <= _EXP_SAFE: exp neither overflows nor underflows to 0.
                np.exp(scores, out=scores)
                total = scores @ ones  # row sums; BLAS gemv is ~4x ndarray.sum here
                np.divide(scores @ v, total[:, None], out=out[:, cols])
        return context

    def close(self) -> None:
        with self._pool_lock:
            if self._release_timer is not None:
                self._release_timer.cancel()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        if self._apart is not None:
            with self._apart_lock:
                self._apart.close()
        if self._small is not None:
            self._small.close()


_ENCODERS: dict[tuple[str, int, int, int], NumpyBertEmbedder] = {}  # in an apart worker


def _encode_apart(path: str, threads: int, batch_tokens: int, max_tokens: int,
                  tokens: list[list[int]]) -> np.ndarray:
    """In the worker process of an `apart` embedder: `encode` with an encoder of its own,
    built by the first call (its float32 layers stay until the worker ends)."""
    key = (path, threads, batch_tokens, max_tokens)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        encoder = _ENCODERS[key] = NumpyBertEmbedder(path, threads, batch_tokens, max_tokens,
                                                     queries=False)
    return encoder.encode(tokens)
