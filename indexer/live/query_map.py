"""The repository's query map: a linear map fitted on its own documented functions that
moves a question's model vector toward the code that answers it.

A sentence and the code it describes sit apart in a general embedding model's space (MiniLM
puts prose near prose: a question finds docstrings and documentation before the function
without one). Every documented function of the repository is an example of the distance to
cover: its docstring's first sentence, and its chunk with the docstring taken out. A square
matrix `W` (dimension x dimension) is fitted to those pairs so that `normalize(q @ W)` is
nearer the code of the pair's own function than every other chunk of the repository
(a softmax over the pairs' code and a sample of the index's vectors, temperature `TAU`; the
pairs' own documented chunks are left out, and their stored vectors replaced by the code
without the docstring, so that "has no docstring" is not what the map learns), starting
from the identity and held near it (`RIDGE`), `STEPS` steps of Adam. Search asks the model
tier with the query's vector and with it mapped; the chunk vectors are not touched.

What it is worth (docs/evals.md, "Forty-eighth session"): the model tier alone finds a
function whose docstring was taken out far more often with the mapped query (MRR@10 on the
docstring sets: tuning 0.26-0.40 -> 0.39-0.55, held-out requests 0.478 -> 0.523 and gin
0.310 -> 0.438), and about as often (at most 0.064 lower) when the docstring is there. In hybrid search, where the
mapped query's neighbours are a second model-tier list sharing the model tier's weight
(`tools.search`, `mapped`), it lifted the docstring tuning sets (0.528 -> 0.544) and moved
the held-out ones nowhere (0.609 -> 0.608), while commit -> files R@5 fell (tuning 0.869 ->
0.862, held-out 0.897 -> 0.868). So it is **off by default**: `SEXTANT_QUERY_MAP=1` turns it
on (fitted once the model tier covers the index, as below; its fit embeds its examples,
7-20 s of CPU on two cores, and a serving process holds the model's document encoder while
it does).

Once on, the map is fitted when the model tier covers the index and none was fitted for this
model, or when the number of documented functions has moved by more than `REFIT_SHARE`
since; it is kept in `query_map.npz` beside the vector index (a damaged or foreign file is
ignored and fitted again). Fewer than `MIN_PAIRS` usable examples: no map.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.core import atomic_write_bytes
from indexer.embed import Embedder, embedded_text

log = logging.getLogger(__name__)

ENV = "SEXTANT_QUERY_MAP"
FILE_NAME = "query_map.npz"
FORMAT = 1
MIN_PAIRS = 32  # fewer documented functions: no map (too little to fit 384 x 384 on)
MAX_PAIRS = 512  # examples fitted on at most (a sample by the sentence's hash)
NEGATIVES = 4096  # index vectors the softmax compares with at most (evenly spaced keys)
TAU = 0.05
RIDGE = 10.0
STEPS = 50
LEARNING_RATE = 0.01
ROWS = 128  # questions per block of the softmax
REFIT_SHARE = 0.2
MIN_WORDS = 4
MAX_WORDS = 40
_KINDS = ("function", "method")
# comment markers and string quotes around a docstring's lines in the code
_MARKERS = re.compile(r'^(?:///?|//!|#+|/\*\*?|\*/?|--|[rRuUbB]?(?:"""|\'\'\'|"|\'))\s*'
                      r'|\s*(?:\*/|"""|\'\'\'|")$')
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`\"'])")


def enabled() -> bool:
    """Off unless `SEXTANT_QUERY_MAP=1` (see the module docstring for why)."""
    return os.environ.get(ENV, "0").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class QueryMap:
    """A fitted map (`apply` a query vector), with what it was fitted for and on."""

    matrix: np.ndarray  # (dim, dim) float32
    model_id: str
    pairs: int  # examples fitted on
    documented: int  # the documented functions the store held then (`REFIT_SHARE`)
    fitted_at: float  # time.time()

    def apply(self, vector: np.ndarray) -> np.ndarray:
        mapped = np.asarray(vector, dtype=np.float32) @ self.matrix
        norm = float(np.linalg.norm(mapped))
        return (mapped / norm).astype(np.float32) if norm > 0 else np.asarray(
            vector, dtype=np.float32)

    def describe(self) -> dict[str, Any]:
        return {"pairs": self.pairs, "fitted_at": round(self.fitted_at, 3)}


@dataclass(frozen=True, slots=True)
class Pair:
    """One documented function: its first sentence, the text its chunk embeds without the
    docstring, and the chunk."""

    sentence: str
    code: str
    chunk_id: int


# -- examples ----------------------------------------------------------------------------------


def first_sentence(doc: str, name: str) -> str:
    """The first sentence of a docstring's first paragraph, a leading `name` dropped (Go's and
    Rust's convention: "Render writes ..."); "" when it has fewer than `MIN_WORDS` words or
    says the function is deprecated."""
    para = " ".join(re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0].split())
    first, _, rest = para.partition(" ")
    if first == name and rest:
        para = rest
    match = _SENTENCE_END.search(para)
    sentence = " ".join((para[:match.start()] if match else para).split()[:MAX_WORDS])
    if (len(re.findall(r"[A-Za-z]{2,}", sentence)) < MIN_WORDS
            or sentence.lower().startswith("deprecated")):
        return ""
    return sentence


def _bare(line: str) -> str:
    text = line.strip()
    for _ in range(2):
        text = _MARKERS.sub("", text).strip()
    return " ".join(text.split())


def without_doc(text: str, doc: str) -> str | None:
    """`text` (a chunk) without the lines of `doc` (its docstring or doc comment), the blank
    lines between them and the bare quotes or comment markers around them; None when no line
    of `doc` is found in it."""
    wanted = {b for b in (" ".join(ln.split()) for ln in doc.splitlines()) if b}
    lines = text.split("\n")
    hits = [i for i, ln in enumerate(lines) if (b := _bare(ln)) and b in wanted]
    if not hits:
        return None
    low, high = hits[0] - 1, hits[-1] + 1
    dropped = set(hits) | {i for i in range(max(0, low), min(len(lines), high + 1))
                           if not _bare(lines[i]) and (lines[i].strip() or low < i < high)}
    return "\n".join(ln for i, ln in enumerate(lines) if i not in dropped)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def documented_count(store: Any) -> int:
    """How many functions and methods of the store have a docstring (cheap: `REFIT_SHARE`)."""
    rows = store.query("SELECT count(*) FROM symbols WHERE kind IN (?, ?) AND doc <> ''",
                       list(_KINDS))
    return int(rows[0][0]) if rows else 0


def pairs_of(store: Any, limit: int = MAX_PAIRS) -> list[Pair]:
    """The store's examples: each documented function or method whose first sentence is
    usable and said of no other function, with the smallest chunk holding its first line,
    that chunk's docstring lines taken out; at most `limit`, chosen by the sentence's hash
    (the same ones on every fit of the same code)."""
    rows = store.query(
        """SELECT s.name, s.doc, c.chunk_id, c.end_line - c.start_line, c.header, c.text
           FROM symbols s JOIN chunks c ON c.file_id = s.file_id
             AND c.start_line <= s.start_line AND s.start_line <= c.end_line
           WHERE s.kind IN (?, ?) AND s.doc <> '' AND c.text IS NOT NULL""", list(_KINDS))
    smallest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for name, doc, cid, size, header, text in rows:
        key = (name, doc)
        if key not in smallest or size < smallest[key][1]:
            smallest[key] = (cid, size, header, text)
    found: list[Pair] = []
    for (name, doc), (cid, _, header, text) in smallest.items():
        sentence = first_sentence(doc, name)
        code = without_doc(text, doc) if sentence else None
        if sentence and code is not None and code.strip():
            found.append(Pair(sentence, embedded_text(header or "", code), int(cid)))
    said = Counter(p.sentence.lower() for p in found)
    unique = [p for p in found if said[p.sentence.lower()] == 1]
    return sorted(unique, key=lambda p: _digest(p.sentence))[:limit]


# -- fitting -----------------------------------------------------------------------------------


def fit_matrix(queries: np.ndarray, targets: np.ndarray, negatives: np.ndarray,
               own: Sequence[int]) -> np.ndarray:
    """The map (see the module docstring): row i of `queries` toward row i of `targets`,
    away from the other targets and from `negatives`, except `negatives[own[i]]` (the pair's
    own chunk; -1 for none). float32, the softmax `ROWS` questions at a time (a fit holds
    a few MB beyond its inputs)."""
    q = np.asarray(queries, dtype=np.float32)
    n, dim = q.shape
    candidates = np.vstack([np.asarray(targets, dtype=np.float32),
                            np.asarray(negatives, dtype=np.float32)])
    eye = np.eye(dim, dtype=np.float32)
    w = eye.copy()
    m1, m2 = np.zeros_like(w), np.zeros_like(w)
    for step in range(1, STEPS + 1):
        grad = RIDGE * (w - eye) / dim
        for start in range(0, n, ROWS):
            grad += _gradient(q[start:start + ROWS], w, candidates, start, own, n)
        m1 = 0.9 * m1 + 0.1 * grad
        m2 = 0.999 * m2 + 0.001 * grad * grad
        w -= LEARNING_RATE * (m1 / (1 - 0.9 ** step)) / (
            np.sqrt(m2 / (1 - 0.999 ** step)) + 1e-8)
    return w


def _gradient(q: np.ndarray, w: np.ndarray, candidates: np.ndarray, start: int,
              own: Sequence[int], n: int) -> np.ndarray:
    """The softmax loss's gradient in `w` from the questions `q` (rows `start`... of all
    `n`), averaged over all `n`."""
    rows = np.arange(len(q))
    mapped = q @ w
    norms = np.maximum(np.linalg.norm(mapped, axis=1, keepdims=True), 1e-12)
    unit = mapped / norms
    logits = unit @ candidates.T / TAU
    for i, j in enumerate(own[start:start + len(q)]):
        if j >= 0:
            logits[i, n + j] = -np.inf
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[rows, start + rows] -= 1.0
    grad_unit = probs @ candidates / (TAU * n)
    grad_mapped = (grad_unit - unit * (grad_unit * unit).sum(1, keepdims=True)) / norms
    return np.asarray(q.T @ grad_mapped, dtype=np.float32)


def _negatives(vectors: Any) -> tuple[np.ndarray, np.ndarray]:
    """Up to `NEGATIVES` keys of the vector index (evenly spaced in key order) and their
    vectors."""
    keys = np.sort(np.asarray(vectors.keys(), dtype=np.uint64))
    if len(keys) > NEGATIVES:
        keys = keys[np.linspace(0, len(keys) - 1, NEGATIVES).astype(np.int64)]
    return keys, np.asarray(vectors.vectors_of(keys), dtype=np.float32)


def _embed_code(store: Any, embedder: Embedder, texts: list[str],
                lock: threading.Lock | None) -> np.ndarray:
    """The texts' model vectors, from the embedding cache where it has them (a refit embeds
    only what changed), the rest embedded and cached."""
    from indexer.build.pipeline import text_hash

    hashes = [text_hash(t) for t in texts]
    cached = store.cached_vectors(embedder.model_id, hashes)
    todo = [i for i, h in enumerate(hashes) if h not in cached]
    out = {h: np.frombuffer(v, dtype=np.float32) for h, v in cached.items()}
    for start in range(0, len(todo), 16):
        step = todo[start:start + 16]
        with lock or nullcontext():
            vecs = np.asarray(embedder.embed_documents([texts[i] for i in step]),
                              dtype=np.float32)
        store.put_vectors(embedder.model_id,
                          [(hashes[i], v.tobytes()) for i, v in zip(step, vecs, strict=True)])
        out.update({hashes[i]: v for i, v in zip(step, vecs, strict=True)})
    return np.stack([out[h] for h in hashes])




def fit(store: Any, vectors: Any, embedder: Embedder, lock: threading.Lock | None = None,
        should_stop: Callable[[], bool] = lambda: False) -> QueryMap | None:
    """Fit the map on the store's examples; None with fewer than `MIN_PAIRS` of them, an
    empty vector index, or when `should_stop()` turned true."""
    documented = documented_count(store)
    pairs = pairs_of(store)
    if len(pairs) < MIN_PAIRS or len(vectors) == 0 or should_stop():
        return None
    started = time.perf_counter()
    queries = []
    for p in pairs:
        with lock or nullcontext():
            queries.append(np.asarray(embedder.embed_query(p.sentence), dtype=np.float32))
        if should_stop():
            return None
    code = _embed_code(store, embedder, [p.code for p in pairs], lock)
    keys, negatives = _negatives(vectors)
    at = {int(k): i for i, k in enumerate(keys.tolist())}
    own = [at.get(p.chunk_id, -1) for p in pairs]
    negatives = negatives.copy()
    for i, j in enumerate(own):  # the pair's chunk as the model would see it undocumented
        if j >= 0:
            negatives[j] = code[i]
    if should_stop():
        return None
    matrix = fit_matrix(np.stack(queries), code, negatives, own)
    log.info("query map fitted on %d documented functions in %.1f s", len(pairs),
             time.perf_counter() - started)
    return QueryMap(matrix, embedder.model_id, len(pairs), documented, time.time())


# -- on disk -----------------------------------------------------------------------------------


def map_path(index_dir: Path) -> Path:
    return index_dir / FILE_NAME


def save(qmap: QueryMap, path: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, format=np.array(FORMAT), matrix=qmap.matrix, model_id=np.array(qmap.model_id),
             pairs=np.array(qmap.pairs), documented=np.array(qmap.documented),
             fitted_at=np.array(qmap.fitted_at))
    atomic_write_bytes(path, buf.getvalue())


def load(path: Path, model_id: str, dim: int) -> QueryMap | None:
    """The map saved at `path` for `model_id`; None when there is none, it was fitted for
    another model, or the file is damaged (logged: it is fitted again)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT or str(data["model_id"]) != model_id:
                return None
            matrix = np.asarray(data["matrix"], dtype=np.float32)
            qmap = QueryMap(matrix, model_id, int(data["pairs"]), int(data["documented"]),
                            float(data["fitted_at"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError) as exc:
        log.warning("ignoring the query map %s (%s): it is fitted again", path, exc)
        return None
    if matrix.shape != (dim, dim) or not np.isfinite(matrix).all():
        log.warning("ignoring the query map %s (not a %d x %d matrix of numbers)", path, dim, dim)
        return None
    return qmap


def stale(tried: int | None, documented: int) -> bool:
    """Whether to fit again for `documented` functions after a fit (or a fit that found too
    few examples) tried on `tried` of them; None: never tried."""
    return tried is None or abs(documented - tried) > REFIT_SHARE * max(tried, 1)
