"""Distil a static token-vector table from a GGUF embedding model (the Model2Vec recipe).

1. Every token text can produce goes through the model alone, wrapped in the model's own
   special tokens (BERT: `[CLS] tok [SEP]`), batched; its pooled, L2-normalized output is
   the token's vector. BERT models on the CPU run in Sextant's numpy encoder
   (`bert_cpu.NumpyBertEmbedder`, with attention batched across the equal-length inputs);
   every other model, and any with GPU layers, runs in llama.cpp (`gguf.GGUFEmbedder`).
2. PCA to `dims` dimensions (256 by default), centred, fitted in float64 by an eigen-
   decomposition of the covariance with a fixed sign per component: the same input gives
   the same bytes.
3. Token weighting by SIF, a / (a + p(rank)), with p a Zipf distribution over the token's
   rank in vocabulary order (a = 1e-4, Model2Vec's default; see `token_weights`).
4. A fit to what the model makes of real code (steps 1-3 only see tokens alone): 1,500
   pieces of 12 lines of this interpreter's standard library (`training_texts`, chosen by
   a hash of their text) go through the model whole and through the table; a ridge
   regression maps the table's vectors of them onto the model's, and the table is
   multiplied by the Cholesky factor of that map's Gram matrix, so that static vectors
   compare as their images in the model's space do, with the table's dimensions
   (`fit_table`). The cache key names the Python release (`fit_corpus_tag`).

Control, unknown, unused and placeholder tokens get a zero row: they add nothing to a sum.
So do punctuation and symbol tokens (`(`, `.`, `:` ...): the most frequent tokens, their SIF
weights were already ~1e-3 (zeroing them left docstring MRR@10 on flask, werkzeug and click
unchanged to four decimals), and half of code's words are one of them, so the static
embedder skips them instead of summing them (`indexer.embed.static`).
The result is a float32 (vocab size, dims) table; a text's static vector is the
L2-normalized sum of its tokens' rows (`indexer.embed.static`).

Determinism: batches are fixed (input order, fixed size) and every BLAS product runs
single-threaded in a worker (`_single_blas_pool`), so a table has the same bytes in every
process and for any thread count (tested; two processes gave the same SHA-256).

Measured (all-MiniLM-L6-v2 q8_0, 29,523 tokens, 2 shared CPU cores, load 2-4): 16-27 s
for steps 1-3; the 31 MB table loads from the cache in 0.06 s. Step 4 adds ~28 s (2 idle
cores: 39-42 s in all; 1,500 texts). Quality on flask (evals/bench_static.py, recipe 2,
2026-12-04): 0.560 of each chunk's top-10 neighbours by static vectors are among its top-10
by the model's (0.532 without step 4; random: 0.036); docstring -> function MRR@10 0.428
(0.322 without step 4; the model: 0.487). Vector-only docstring MRR@10 on the tuning
repositories flask, werkzeug, click, by the number of training texts (recipe 1, docs/evals.md):
none 0.320, 1,500 0.413, 3,000 0.413, 6,000 0.415 (the model 0.528).
"""

from __future__ import annotations

import hashlib
import heapq
import os
import sys
import sysconfig
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from indexer.embed.batching import pack_batches
from indexer.embed.bert_cpu import NumpyBertEmbedder, UnsupportedModel, blas_threads
from indexer.embed.protocol import EmbedderError
from indexer.embed.static_vocab import ModelVocab

# Bump when the vectors a recipe produces change (cache keys include it).
RECIPE_VERSION = 2  # 2: punctuation and symbol tokens get zero rows
WEIGHTINGS = ("sif", "zipf", "none")
_NUMPY_BATCH_SEQS = 512  # one-token inputs per numpy forward pass (3 rows each for BERT)
_NUMPY_BATCH_TOKENS = 4096  # token rows per numpy forward pass (training texts)


# The fit to the model's chunk vectors (step 4): training texts, lines each, ridge.
FIT_TEXTS = 1500
FIT_LINES = 12
FIT_RIDGE = 0.01
# Standard-library folders that are not library code (tests, tools, vendored packages).
_FIT_SKIP = frozenset({"test", "tests", "idle_test", "idlelib", "lib2to3", "site-packages",
                       "dist-packages", "turtledemo", "ensurepip", "__pycache__"})


@dataclass(frozen=True)
class Recipe:
    """How a table is distilled; `key` names it in cache paths and model ids."""

    dims: int = 256
    weighting: str = "sif"
    sif_a: float = 1e-4
    fit: int = FIT_TEXTS  # training texts for step 4; 0: no fit

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {self.weighting!r}")
        if self.dims < 1:
            raise ValueError("dims must be positive")
        if self.fit < 0:
            raise ValueError("fit must be 0 or more")

    @property
    def key(self) -> str:
        weighting = f"sif{self.sif_a:g}" if self.weighting == "sif" else self.weighting
        fit = f"-fit{self.fit}-{fit_corpus_tag()}" if self.fit else ""
        return f"r{RECIPE_VERSION}-d{self.dims}-{weighting}{fit}"


class TokenEncoder(Protocol):
    """Runs the transformer on short token-id sequences: unit-length pooled vectors."""

    name: str

    def encode(self, seqs: Sequence[list[int]]) -> np.ndarray: ...

    def close(self) -> None: ...


class _EqualLengthBert(NumpyBertEmbedder):
    """The numpy encoder with attention batched over sequences of one length.

    The base class attends per sequence and head (right for ~200-token chunks); one-token
    inputs are 3 rows each, so that loop would cost more than all the matrix products."""

    def _attention(
        self, qkv: np.ndarray, starts: np.ndarray, context: np.ndarray, scratch: np.ndarray
    ) -> np.ndarray:
        lengths = np.diff(starts)
        if lengths.size == 0 or lengths.min() != lengths.max() or lengths[0] == 0:
            return super()._attention(qkv, starts, context, scratch)
        n, seq = qkv.shape[0] // int(lengths[0]), int(lengths[0])
        heads = self._heads
        parts = qkv.reshape(n, seq, 3, heads, -1).transpose(2, 0, 3, 1, 4)  # qkv, b, h, l, d
        scores = parts[0] @ parts[1].transpose(0, 1, 3, 2)  # queries pre-scaled by 1/sqrt(d)
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        out = (scores @ parts[2]).transpose(0, 2, 1, 3).reshape(context.shape)
        context[...] = out
        return context


def _single_blas_pool(threads: int) -> ThreadPoolExecutor:
    """Workers whose BLAS calls run single-threaded (OpenBLAS). Determinism needs it: a
    multi-threaded product splits its output into blocks by the thread count OpenBLAS picks
    for that call, and edge blocks take other kernels, so a value could differ in its last
    bit between runs (seen: one float of a PCA projection)."""
    return ThreadPoolExecutor(
        max(1, threads), thread_name_prefix="sextant-distil", initializer=blas_threads().single
    )


class NumpyTokenEncoder:
    """BERT-architecture models on the CPU, in numpy."""

    name = "numpy"

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self._bert = _EqualLengthBert(path, threads=threads, batch_tokens=_NUMPY_BATCH_SEQS * 4)

    def encode(self, seqs: Sequence[list[int]]) -> np.ndarray:
        out = np.zeros((len(seqs), self._bert.dim), dtype=np.float32)
        # Fixed batches in input order: each row's arithmetic never depends on the thread
        # count or scheduling (every batch runs single-threaded BLAS in one worker).
        # Consecutive sequences, at most 512 and about 4,096 tokens a group: one-token
        # inputs (3 rows each) go 512 at a time, training texts a few dozen.
        groups = pack_batches([len(seq) for seq in seqs], _NUMPY_BATCH_TOKENS,
                              _NUMPY_BATCH_SEQS, longest_first=False)
        with _single_blas_pool(self._bert.threads) as pool:
            futures = [pool.submit(self._bert.embed_token_ids, [seqs[i] for i in g])
                       for g in groups]
            try:
                for group, future in zip(groups, futures):
                    out[group] = future.result()
            finally:
                self._bert.release_workspaces()
        return out

    def close(self) -> None:
        self._bert.close()


class LlamaTokenEncoder:
    """Any GGUF embedding model through llama.cpp (on the GPU when it has layers there)."""

    name = "llama"

    def __init__(self, path: Path, gpu_layers: int | None) -> None:
        from indexer.embed.gguf import GGUFEmbedder

        self._model = GGUFEmbedder(path, gpu_layers=gpu_layers)

    def encode(self, seqs: Sequence[list[int]]) -> np.ndarray:
        return self._model.embed_token_ids(seqs)

    def close(self) -> None:
        self._model.close()


def open_token_encoder(path: Path, gpu_layers: int | None) -> TokenEncoder:
    """numpy for BERT models without GPU layers, llama.cpp for everything else (the same
    choice `load_embedder` makes under SEXTANT_EMBED_BACKEND=auto)."""
    from indexer.embed.gguf import default_gpu_layers

    on_cpu = (default_gpu_layers() if gpu_layers is None else gpu_layers) == 0
    if on_cpu:
        try:
            return NumpyTokenEncoder(path)
        except UnsupportedModel:
            pass
    return LlamaTokenEncoder(path, gpu_layers)


def token_weights(count: int, recipe: Recipe) -> np.ndarray:
    """Weights for tokens ranked 0..count-1 (vocabulary order among distilled tokens).

    SIF (default): a / (a + p), p = Zipf probability of the rank. Frequent tokens
    (punctuation, `the`, `self`-like pieces) get small weights, rare ones near 1, so a
    chunk's vector is led by its distinctive tokens. Vocabularies list tokens roughly by
    frequency (BERT: characters, then words by count), which is the only frequency
    information a model file carries; Model2Vec makes the same assumption. `zipf`
    (log(2 + rank)) is Model2Vec's older weighting; `none` weighs all tokens alike.

    Why SIF with a = 1e-4, measured on flask (neighbour agreement with the model @10 /
    docstring MRR@10, 256 dims): sif 1e-4 0.534 / 0.324, sif 1e-3 0.512 / 0.274,
    sif 1e-5 0.518 / 0.338, zipf 0.509 / 0.289, none 0.442 / 0.191. 384 dims (no
    reduction for MiniLM) 0.538 / 0.337, 128 dims 0.510 / 0.275.
    """
    ranks = np.arange(count, dtype=np.float64)
    if recipe.weighting == "none":
        return np.ones(count)
    if recipe.weighting == "zipf":
        return np.log(2.0 + ranks)
    inverse = 1.0 / (ranks + 2.0)
    proba = inverse / inverse.sum()
    weights: np.ndarray = recipe.sif_a / (recipe.sif_a + proba)
    return weights


def pca(vectors: np.ndarray, dims: int) -> np.ndarray:
    """Centred projection of `vectors` on their top `dims` principal axes (float64).

    Eigen-decomposition of the covariance (model dim squared: tiny), each axis signed so its
    largest-magnitude coordinate is positive: deterministic, unlike an SVD's free signs."""
    x = vectors.astype(np.float64)
    x -= x.mean(axis=0)
    dims = min(dims, x.shape[1], x.shape[0])
    values, axes = np.linalg.eigh(x.T @ x)
    order = np.argsort(-values, kind="stable")[:dims]
    axes = axes[:, order]
    pivots = np.abs(axes).argmax(axis=0)
    axes *= np.sign(axes[pivots, np.arange(dims)])
    projected: np.ndarray = x @ axes
    return projected


def encode_tokens(
    vocab: ModelVocab,
    encoder: TokenEncoder,
    ids: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Unit-length model vectors of tokens `ids`, each run alone in the model's special
    tokens: shape (len(ids), model dim)."""
    prefix, suffix = vocab.special_wrap()
    seqs = [[*prefix, int(t), *suffix] for t in ids]
    step = 8192
    parts = []
    for start in range(0, len(seqs), step):
        parts.append(encoder.encode(seqs[start : start + step]))
        if progress is not None:
            progress(min(start + step, len(seqs)), len(seqs))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def build_table(
    vocab_size: int, ids: np.ndarray, vectors: np.ndarray, recipe: Recipe,
    zero: np.ndarray | None = None,
) -> np.ndarray:
    """PCA and weighting of the token vectors `vectors` (rows of `ids`, in id order) into a
    (vocab_size, dims) float32 table; rows of other tokens, and of `zero`, stay zero."""
    if len(ids) < 2:
        raise EmbedderError("fewer than 2 tokens to distil")
    with _single_blas_pool(1) as pool:
        reduced = pool.submit(pca, vectors, recipe.dims).result()
    reduced *= token_weights(len(ids), recipe)[:, None]
    table = np.zeros((vocab_size, reduced.shape[1]), dtype=np.float32)
    table[ids] = reduced
    if zero is not None and len(zero):
        table[zero] = 0.0
    return table


def distil_table(
    vocab: ModelVocab,
    encoder: TokenEncoder,
    recipe: Recipe,
    tokens: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The (vocab.size, dims) float32 table; rows of `tokens` (default: every distillable
    token, in id order) are filled, all others are zero."""
    ids = vocab.distillable() if tokens is None else np.sort(np.asarray(tokens, np.int32))
    return build_table(vocab.size, ids, encode_tokens(vocab, encoder, ids, progress), recipe,
                       vocab.punctuation())


def fit_corpus_tag() -> str:
    """Names the training texts of step 4: this interpreter's standard library, fixed for a
    Python release (so the cache key and the static model id follow it)."""
    v = sys.version_info
    return f"py{v.major}.{v.minor}.{v.micro}"


def training_texts(count: int, lines: int = FIT_LINES, root: Path | None = None) -> list[str]:
    """`count` pieces of `lines` lines of real code for step 4: the standard library's
    Python source (`root`: this interpreter's), every file cut into consecutive pieces,
    those at least half non-blank kept, distinct, in the order of a hash of their text
    (deterministic, and a sample across the whole library). [] when none can be read."""
    base = Path(root or sysconfig.get_paths()["stdlib"])
    # the `count` smallest hashes seen so far, largest on top (negated), and their set:
    # memory for `count` pieces, not for the whole library (3.11: 23,388 distinct pieces)
    kept: list[tuple[int, str]] = []
    hashes: set[int] = set()
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in _FIT_SKIP)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            try:
                rows = (Path(folder) / name).read_text(encoding="utf-8").splitlines(keepends=True)
            except (OSError, UnicodeDecodeError):
                continue
            for start in range(0, len(rows), lines):
                piece = rows[start : start + lines]
                if 2 * sum(1 for row in piece if row.strip()) < lines:
                    continue
                text = "".join(piece)
                key = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=12).digest())
                if key in hashes or (len(kept) == count and key > -kept[0][0]):
                    continue
                heapq.heappush(kept, (-key, text))
                hashes.add(key)
                if len(kept) > count:
                    hashes.discard(-heapq.heappop(kept)[0])
    return [text for _, text in sorted(kept, reverse=True)]


def encode_texts(vocab: ModelVocab, encoder: TokenEncoder, texts: Sequence[str]) -> np.ndarray:
    """The model's unit-length vectors of whole texts, as its embedder reads them (its
    tokens up to its window, in its special tokens)."""
    prefix, suffix = vocab.special_wrap()
    room = max(1, (vocab.window() or 512) - len(prefix) - len(suffix))
    seqs = [[*prefix, *vocab.tokenize(text, room).tolist(), *suffix] for text in texts]
    return encoder.encode(seqs)


def fit_table(table: np.ndarray, static: np.ndarray, model: np.ndarray,
              ridge: float = FIT_RIDGE) -> np.ndarray:
    """Step 4: the table times a (dims, dims) matrix fitted so that static vectors compare
    as the model's do.

    Ridge regression M from the texts' static vectors `static` to the model's vectors
    `model` of the same texts; a static vector x then stands for x M in the model's space,
    and cosines there equal cosines of x L for the Cholesky factor L of M M^T (L L^T =
    M M^T), so the table keeps its dimensions and the rest of the tier is unchanged. Zero
    rows stay zero. float64, single-threaded BLAS: the same input gives the same bytes."""
    with _single_blas_pool(1) as pool:
        factor = pool.submit(_fit_factor, static, model, ridge).result()
        fitted: np.ndarray = pool.submit(
            lambda: (table.astype(np.float64) @ factor).astype(np.float32)).result()
    return fitted


def _fit_factor(static: np.ndarray, model: np.ndarray, ridge: float) -> np.ndarray:
    x, y = static.astype(np.float64), model.astype(np.float64)
    m = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    gram = m @ m.T
    try:
        factor: np.ndarray = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:  # fewer model dimensions than static ones: PSD only
        values, axes = np.linalg.eigh(gram)
        factor = axes * np.sqrt(np.clip(values, 0.0, None))
    return factor
