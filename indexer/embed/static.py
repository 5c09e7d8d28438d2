"""The static semantic tier: chunk vectors from a token table distilled from the model.

Transformer embedding on a CPU takes minutes to hours per repository. The static tier
embeds a chunk in tens of microseconds: tokenize with the model's own tokenizer, sum the
tokens' rows of a table distilled once from the same GGUF model (`indexer.embed.distil`,
the Model2Vec recipe), L2-normalize. Its vectors live in their own space (its own
`model_id` and dimension): they are a separate retriever, fused with the transformer's by
rank, never compared with its vectors.

The table is distilled on first use and cached under the Sextant cache dir:

    <cache>/static/<model file stem>-<sha256 prefix>-<recipe key>.npy   the table (float32)
    <cache>/static/<...>.json                                            what it was made from

keyed by the model file's fingerprint and the recipe (version, dimensions, weighting), so
a different model file, or a recipe change, distils a new table. Both files are written
atomically (temp file, fsync, rename); the JSON is written last and checked on load, so a
crash never leaves a table that is used half-written.

Measured (flask's 759 functions and methods, 169 tokens each on average, 2 shared cores):
12,200 chunks/s in one `embed_documents` call when every text was tokenized by llama.cpp, a
median 0.14 ms for one chunk, against ~47 chunks/s for the transformer (numpy backend).
Plain-ASCII text is now summed from cached word vectors (`_WordVectors`): moby's 38,469
distinct chunk texts in 5.8-6.2 CPU s against 7.0 s before (same minutes), from cold caches, at load
10-15 (docs/benchmarks.md). The words of a batch are now found and keyed with array
operations (`static_words`) instead of a regex and a dict: 38,500 pieces of moby's Go in
1.7-1.9 CPU s from cold caches against 3.3-3.6 s (docs/benchmarks.md, sixth round). Text
with non-ASCII characters takes the word path too, and words that are whole vocabulary
tokens need no WordPiece: moby's 38,469 chunk texts in 1.42-1.44 CPU s against 1.63-1.67 s
(seventh round).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.core import cache_dir
from indexer.core.arrays import distinct, find_sorted
from indexer.embed.convert import model_fingerprint
from indexer.embed.distil import (
    RECIPE_VERSION,
    Recipe,
    distil_table,
    encode_texts,
    fit_table,
    open_token_encoder,
    training_texts,
)
from indexer.embed.factory import resolve_model_path
from indexer.embed.protocol import (
    HASHING_SPEC,
    MODEL_ENV,
    Embedder,
    EmbedderError,
    HashingEmbedder,
)
from indexer.embed.static_vocab import CASE_BOUNDARY, ModelVocab
from indexer.embed.static_words import WordSplitter, printable
from indexer.embed.wordpiece import TableVocab, pack_texts, token_texts

log = logging.getLogger(__name__)

# Tokens embedded per text: the transformer's window (MiniLM: 256), at most 512 (Model2Vec's
# default). On flask, 256 agreed with the model slightly better than 512 (neighbours 0.534
# vs 0.525, docstring MRR@10 0.324 vs 0.315: evals/bench_static.py), and both tiers then
# read the same text.
MAX_TOKENS = 512
_CHARS_PER_TOKEN_CAP = 32  # as the vocabulary's tokenize: text beyond is never read
# Word vectors kept (moby's chunks: 26k distinct words); cleared when full. At most 64 MB
# of 256-d float32 rows, filled by the words a process has seen, not the vocabulary.
_WORD_CACHE = 1 << 16
# Characters of text split into words at once: the arrays that find and key the words take
# ~40 bytes a character (10 MB here), however many texts one call brings.
_GROUP_CHARS = 1 << 18
# Identifiers split at case changes (docs/evals.md: on flask, the static tier re-ranking at
# weight 1.0, docstring MRR@10 0.314 -> 0.335; held-out static-only hybrid 0.499 -> 0.504)
SPLIT_CASE = True
_HASHING_STATIC_DIM = 32  # the test fake's static space (the model tier's fake has 64)


def load_static_tier(spec: str | Path | None = None, gpu_layers: int | None = None) -> Embedder:
    """The static tier's embedder for the model `spec` names: the distilled table of that
    GGUF model, or for the deterministic test fake (``"hashing"``) a small hashing space
    of its own, so that tests run both tiers without native code."""
    spec = spec if spec is not None else os.environ.get(MODEL_ENV) or None
    if isinstance(spec, str) and spec.startswith(HASHING_SPEC):
        return HashingEmbedder(_HASHING_STATIC_DIM)
    return load_static_embedder(spec, gpu_layers)


class StaticEmbedder:
    """An `Embedder` over a distilled token table: sum of token rows, L2-normalized.

    Plain-ASCII text with a WordPiece vocabulary (nearly all code) is summed from cached
    word vectors (`_WordVectors`), other text from llama.cpp's tokens of the whole text:
    the same vector (tested on real code). Identifiers are read split at case changes
    (`split_case`: `getHTTPServer` as get HTTP Server), both in chunks and in queries.

    Thread-safe: the table is read-only, tokenizing only reads the vocabulary, and the word
    cache is used under a lock."""

    def __init__(
        self, table: np.ndarray, vocab: ModelVocab | TableVocab, model_id: str,
        max_tokens: int | None = None,
        split_case: bool = SPLIT_CASE, nonzero: np.ndarray | None = None,
        vocab_words: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if table.ndim != 2 or table.shape[0] != vocab.size:
            raise EmbedderError(
                f"static table of shape {table.shape} does not match a vocabulary of "
                f"{vocab.size} tokens"
            )
        self.table = table
        self._vocab = vocab
        self._model_id = model_id
        self._max_tokens = max_tokens or min(vocab.window() or MAX_TOKENS, MAX_TOKENS)
        self.split_case = split_case
        # tokens with a row (not punctuation or symbols): from the table's sidecar when
        # loaded from the cache, else read from the table once
        self.nonzero: np.ndarray = (nonzero if nonzero is not None
                                    else np.asarray(table.any(axis=1)))
        self._vocab_words = vocab_words
        self._words = _WordVectors(table, vocab, self._max_tokens, self.nonzero, vocab_words)
        self._words_lock = threading.Lock()
        # the model file `load_static_tier` loads this very embedder from (set by
        # `load_static_embedder` for its defaults), so other processes can load it too
        self.source: Path | None = None

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def tokenize(self, text: str) -> np.ndarray:
        """Token ids of `text` (no special tokens; split at case changes first with
        `split_case`), at most `max_tokens`."""
        if self.split_case:
            text = CASE_BOUNDARY.sub(" ", text[: self._max_tokens * _CHARS_PER_TOKEN_CAP])
        return self._vocab.tokenize(text, self._max_tokens)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        cap = self._max_tokens * _CHARS_PER_TOKEN_CAP
        plain: list[tuple[int, str]] = []
        utf8: list[tuple[int, str]] = []
        other: list[int] = []
        words = self._vocab.splits_words
        for row, text in enumerate(texts):
            text = text[:cap]
            if not words:
                other.append(row)
            elif text.isascii():
                plain.append((row, text if self.split_case else text.lower()))
            elif self.split_case:
                utf8.append((row, text))
            else:
                other.append(row)
        if plain or utf8:
            with self._words_lock:
                for group in _by_size(plain, _GROUP_CHARS):
                    other += self._words.sum_texts(group, out)
                for group in _by_size(utf8, _GROUP_CHARS):
                    other += self._words.sum_texts(group, out, utf8=True)
        for row in other:  # llama.cpp's tokens of the whole text
            ids = self._meaning_ids(texts[row][:cap])
            if ids.size:
                self.table[ids].sum(axis=0, out=out[row])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _meaning_ids(self, text: str) -> np.ndarray:
        """The first `max_tokens` tokens of `text` (split at case changes with `split_case`)
        that have a non-zero row: punctuation, symbols and special tokens neither add to a
        sum nor count against the limit."""
        if self.split_case:
            text = CASE_BOUNDARY.sub(" ", text)
        ids = self._vocab.tokenize(text, 1 << 30)
        kept: np.ndarray = ids[self.nonzero[ids]][: self._max_tokens]
        return kept

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed_documents([text])[0]
        return vector

    def release_words(self) -> None:
        """Forget the cached word vectors (up to 64 MB): a serving process calls this after
        each batch of edits, whose words a later batch seldom shares; indexing keeps them
        across its batches, where code repeats its words."""
        with self._words_lock:
            self._words = _WordVectors(self.table, self._vocab, self._max_tokens, self.nonzero,
                                       self._vocab_words)

    def release_vocab(self) -> None:
        """Let the vocabulary forget what it builds or opens on demand to match words (a
        `TableVocab`'s word pieces and llama.cpp's vocabulary); nothing for a `ModelVocab`
        itself."""
        release = getattr(self._vocab, "release_pieces", None)
        if release is not None:
            release()

    def release_pages(self) -> bool:
        """Take the table's pages that words read out of the process: it is the cache
        file's read-only mapping (31 MB for MiniLM), and the words of a server's queries
        and edits read rows all over it (12 MB after 200 calls on moby) that stayed counted
        in the process; clean pages, read again when a word needs its row. False for a
        table in memory."""
        from indexer.core import release_mapped_array

        return release_mapped_array(self.table)

    def close(self) -> None:
        self._vocab.close()


def _by_size(texts: list[tuple[int, str]], limit: int) -> Iterator[list[tuple[int, str]]]:
    """`texts` in consecutive groups of about `limit` characters: a group starts with the
    text that crosses a multiple of `limit`, so it holds less than `limit` besides that."""
    ends = np.cumsum(np.fromiter((len(t) + 1 for _, t in texts), dtype=np.int64,
                                 count=len(texts)))
    cuts = np.flatnonzero(np.diff(ends // limit)) + 1
    start = 0
    for cut in [*cuts.tolist(), len(texts)]:
        if cut > start:
            yield texts[start:cut]
        start = cut


class _WordVectors:
    """Vectors of the words seen (the sum of their WordPiece tokens' table rows) and their
    counts of tokens with a non-zero row: a text's vector is the sum of its words' vectors
    up to `max_tokens` such tokens, the word that crosses the limit summed token by token;
    punctuation and symbol words (zero rows) are never looked up. Code repeats words
    (moby's 4.2M words are 26k distinct split at case changes), so a word costs a look-up
    of its 64-bit key among the sorted keys of the words seen (`static_words`: a batch's
    words are found and keyed with array operations) and one row of the sum, not a
    WordPiece match and ~1.2 table rows. A word new to the cache that is a whole token of
    the vocabulary (`vocab_words`: keys and token ids, from the table's sidecar) is that
    token's row, without llama.cpp; other new words are tokenized by llama.cpp together. A
    word's vector is always computed the same way (its rows summed in order, in float32),
    so a text's vector does not depend on what the cache held. Not thread-safe: the
    embedder holds a lock around `sum_texts`."""

    def __init__(self, table: np.ndarray, vocab: ModelVocab | TableVocab, max_tokens: int,
                 nonzero: np.ndarray,
                 vocab_words: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self._table = table
        self._vocab = vocab
        self._max_tokens = max_tokens
        self._nonzero = nonzero
        self._splitter = WordSplitter()
        self._keys = np.zeros(0, dtype=np.uint64)  # the words seen, sorted by key
        self._key_rows = np.zeros(0, dtype=np.intp)  # and their rows in _vecs
        self._size = 0
        self._vecs = np.zeros((1024, table.shape[1]), dtype=np.float32)
        self._counts = np.zeros(1024, dtype=np.intp)
        self._vocab_keys: np.ndarray | None = vocab_words[0] if vocab_words else None
        self._vocab_tokens: np.ndarray | None = vocab_words[1] if vocab_words else None

    def sum_texts(self, texts: Sequence[tuple[int, str]], out: np.ndarray,
                  utf8: bool = False) -> list[int]:
        """Into `out[row]`, the sum of the first `max_tokens` tokens' rows of each text
        given as (row, ASCII text: lower-cased unless words are split by case; with `utf8`,
        any text, words split by case). Returns the rows of the texts it left alone: those
        with control characters (not plain text)."""
        if utf8:
            parts = [text.encode("utf-8", "replace") for _, text in texts]
            raw = b"\n".join(parts)
            sizes = [len(part) + 1 for part in parts]
        else:
            raw = "\n".join(text for _, text in texts).encode("ascii")
            sizes = [len(text) + 1 for _, text in texts]
        data = np.frombuffer(raw, dtype=np.uint8)
        offsets = np.cumsum([0, *sizes])
        bad = distinct(np.searchsorted(offsets, np.flatnonzero(~printable(data, utf8)),
                                       "right") - 1)
        starts, ends, native = self._splitter.split_utf8(data)
        # each text's words: those that start within its bytes (a separator starts none)
        lengths = np.diff(np.searchsorted(starts, offsets))
        if bad.size:  # their words are dropped
            dropped = np.zeros(len(texts), dtype=bool)
            dropped[bad] = True
            keep = np.repeat(~dropped, lengths)
            starts, ends = starts[keep], ends[keep]
            native = None if native is None else native[keep]
            lengths[bad] = 0
        rows = self._rows(raw, data, starts, ends, native)
        word_ends = np.cumsum(lengths)
        word_starts = word_ends - lengths
        # tokens before and up to each word, over the whole call; per text, the words that
        # fit in max_tokens end where the running count passes the text's base + limit
        totals = np.concatenate(([0], np.cumsum(self._counts[rows])))
        base = totals[word_starts]
        whole = np.minimum(np.searchsorted(totals, base + self._max_tokens, side="right") - 1,
                           word_ends)
        out_rows = np.array([row for row, _ in texts], dtype=np.intp)
        ok = np.ones(len(texts), dtype=bool)
        ok[bad] = False
        vecs, add = self._vecs, np.add.reduce
        for row, first, stop in zip(out_rows[ok].tolist(), word_starts[ok].tolist(),
                                    whole[ok].tolist(), strict=True):
            add(vecs[rows[first:stop]], axis=0, out=out[row])
        left = self._max_tokens - (totals[whole] - base)
        crossing = np.flatnonzero(ok & (whole < word_ends) & (left > 0)).tolist()
        if crossing:  # the word that crosses the limit, in part: its WordPiece in one call
            stops = whole[crossing]
            ids, offsets = self._tokens(raw, starts[stops], ends[stops],
                                        None if native is None else native[stops])
            for n, i in enumerate(crossing):
                word = ids[offsets[n] : offsets[n + 1]]
                word = word[self._nonzero[word]][: int(left[i])]
                out[out_rows[i]] += self._table[word].sum(axis=0)
        left_alone: list[int] = out_rows[bad].tolist()
        return left_alone

    def _rows(self, raw: bytes, data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
              native: np.ndarray | None) -> np.ndarray:
        """The cache row of each word, adding the words not seen yet."""
        keys = self._splitter.keys(data, starts, ends, native)
        rows = np.full(len(keys), -1, dtype=np.intp)
        at, found = find_sorted(self._keys, keys)
        rows[found] = self._key_rows[at[found]]
        missing = np.flatnonzero(rows < 0)
        if not missing.size:
            return rows
        new_keys, first = np.unique(keys[missing], return_index=True)
        if self._size + len(new_keys) > _WORD_CACHE:  # full: start again
            self._keys, self._key_rows, self._size = self._keys[:0], self._key_rows[:0], 0
            missing = np.arange(len(keys))
            new_keys, first = np.unique(keys, return_index=True)
        word = missing[first]  # a place of each new word
        new_rows = np.empty(len(new_keys), dtype=np.intp)
        known = np.zeros(len(new_keys), dtype=bool)
        if self._vocab_keys is not None and self._vocab_tokens is not None and len(self._vocab_keys):
            at, known = find_sorted(self._vocab_keys, new_keys)
            if native is not None:
                known &= ~native[word]
            new_rows[known] = self._add_tokens(self._vocab_tokens[at[known]])
        rest = word[~known]
        if rest.size:
            ids, offsets = self._tokens(raw, starts[rest], ends[rest],
                                        None if native is None else native[rest])
            new_rows[~known] = self._add(ids, offsets)
        place = np.searchsorted(self._keys, new_keys)
        self._keys = np.insert(self._keys, place, new_keys)
        self._key_rows = np.insert(self._key_rows, place, new_rows)
        rows[missing] = new_rows[np.searchsorted(new_keys, keys[missing])]
        return rows

    def _tokens(self, raw: bytes, starts: np.ndarray, ends: np.ndarray,
                native: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The WordPiece ids of the words at `starts`-`ends` of `raw`, one after the other,
        and where each starts (`ModelVocab.words_ids_flat`): the lower-cased ASCII words
        in one llama.cpp call, each native word (split at case changes, as the whole text
        would be) in one of its own."""
        spans = zip(starts.tolist(), ends.tolist(), strict=True)
        if native is None or not native.any():
            return self._vocab.words_ids_flat([raw[s:e].decode("ascii").lower() for s, e in spans])
        words = [raw[s:e].decode("utf-8", "replace") for s, e in spans]
        each: list[np.ndarray] = [np.zeros(0, dtype=np.int32)] * len(words)
        plain = np.flatnonzero(~native).tolist()
        if plain:
            ids, offsets = self._vocab.words_ids_flat([words[i].lower() for i in plain])
            for n, i in enumerate(plain):
                each[i] = ids[offsets[n] : offsets[n + 1]]
        for i in np.flatnonzero(native).tolist():
            each[i] = self._vocab.text_ids(CASE_BOUNDARY.sub(" ", words[i]))
        flat = np.concatenate(each) if each else np.zeros(0, dtype=np.int32)
        return flat, np.cumsum([0] + [len(e) for e in each]).astype(np.intp)

    def _reserve(self, n: int) -> int:
        """The first of `n` free rows of the cache (grown by doubling: amortized copies)."""
        at = self._size
        if at + n > len(self._counts):
            size = max(2 * len(self._counts), at + n)
            vecs = np.zeros((size, self._vecs.shape[1]), dtype=np.float32)
            vecs[:at] = self._vecs[:at]
            counts = np.zeros(size, dtype=np.intp)
            counts[:at] = self._counts[:at]
            self._vecs, self._counts = vecs, counts
        self._size = at + n
        return at

    def _add_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """Words that are one token each, into the next rows (returned): the token's row
        (zero for punctuation and symbols), what `_add` gives a one-token word."""
        at = self._reserve(len(tokens))
        self._vecs[at : at + len(tokens)] = self._table[tokens]
        self._counts[at : at + len(tokens)] = self._nonzero[tokens]
        return np.arange(at, at + len(tokens), dtype=np.intp)

    def _add(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Words not seen yet, by their WordPiece ids (word i is `ids[offsets[i]:offsets[i +
        1]]`), into the next rows (returned): the sums position by position over every word
        at once (word vectors equal a per-word sum of its rows in order:
        `tests/test_static_embed.py`)."""
        n = len(offsets) - 1
        at = self._reserve(n)
        word_of = np.repeat(np.arange(n), np.diff(offsets))
        keep = self._nonzero[ids]
        ids, word_of = ids[keep], word_of[keep]
        counts = np.bincount(word_of, minlength=n)
        position = np.arange(len(ids)) - (np.cumsum(counts) - counts)[word_of]
        target = self._vecs[at : at + n]
        target[:] = 0.0  # rows reused after the cache was cleared
        for j in range(int(counts.max()) if n else 0):  # each word at most once per position
            at_j = position == j
            target[word_of[at_j]] += self._table[ids[at_j]]
        self._counts[at : at + n] = counts
        return np.arange(at, at + n, dtype=np.intp)


def table_path(
    model_path: Path, fingerprint: str, recipe: Recipe, root: Path | None = None
) -> Path:
    """Where the table for this model file (by fingerprint) and recipe is cached."""
    base = (root or cache_dir()) / "static"
    return base / f"{model_path.stem}-{fingerprint[:16]}-{recipe.key}.npy"


def worker_spec(embedder: Embedder) -> str | None:
    """The spec `load_static_tier` loads `embedder` from again in another process (a parse
    worker: the cached table is read, never distilled there), or None when it cannot."""
    if isinstance(embedder, StaticEmbedder):
        return str(embedder.source) if embedder.source is not None else None
    if isinstance(embedder, HashingEmbedder) and embedder.dim == _HASHING_STATIC_DIM:
        return HASHING_SPEC
    return None


def load_cached_static_tier(spec: str) -> Embedder:
    """`load_static_tier(spec)` from the cached table only (a parse worker's load): raises
    `EmbedderError` when the table was not distilled yet, rather than distilling it."""
    if spec.startswith(HASHING_SPEC):
        return load_static_tier(spec)
    return load_static_embedder(spec, distil=False)


def load_static_embedder(
    spec: str | Path | None = None,
    gpu_layers: int | None = None,
    recipe: Recipe | None = None,
    cache_root: Path | None = None,
    *,
    distil: bool = True,
) -> StaticEmbedder:
    """The static embedder for a GGUF model (`spec` as in `load_embedder`: a path, or None
    for `$SEXTANT_MODEL` / the default model), distilling and caching its table on first
    use (MiniLM: 16-27 s on 2 shared CPU cores, see `indexer.embed.distil`). `gpu_layers`
    applies only to the distillation; `cache_root` defaults to the Sextant cache dir.
    Without `distil`, a table not cached yet raises `EmbedderError` instead.

    A cached table with its sidecar loads without llama.cpp (`TableVocab`: the vocabulary
    is opened through llama.cpp only when a text needs it)."""
    recipe = recipe or Recipe()
    path = resolve_model_path(spec)
    fingerprint = model_fingerprint(path)
    target = table_path(path, fingerprint, recipe, cache_root)
    model_id = f"{path.stem}-{fingerprint[:12]}-static-{recipe.key}"
    if SPLIT_CASE:
        model_id += "-case"
    meta = _describe(path, fingerprint, recipe)
    cached = _read_cached(target, meta)
    saved = _read_sidecar(target, path, cached.shape[0]) if cached is not None else None
    if cached is not None and saved is not None:
        table, (nonzero, vocab_words, vocab) = cached, saved
    else:
        model_vocab = ModelVocab(path)
        if cached is not None and cached.shape[0] == model_vocab.size:
            table = cached
        elif distil:
            table = _distil(path, target, recipe, model_vocab, gpu_layers, meta)
        else:
            model_vocab.close()
            raise EmbedderError(f"the static table {target.name} is not cached yet")
        nonzero, vocab_words, vocab = _write_sidecar(target, table, model_vocab)
    embedder = StaticEmbedder(table, vocab, model_id, nonzero=nonzero, vocab_words=vocab_words)
    if recipe == Recipe() and cache_root is None:
        embedder.source = path
    return embedder


def _distil(path: Path, target: Path, recipe: Recipe, vocab: ModelVocab,
            gpu_layers: int | None, meta: dict[str, Any]) -> np.ndarray:
    """Distil the table of the model at `path`, fit it to the model's vectors of real code,
    and cache it at `target`."""
    # a warning, so that a one-shot command shows it too: the wait is otherwise silent
    log.warning("distilling the static tier's token table of %s: once per model, about a "
                "minute on 2 CPU cores (`sextant model setup` does it ahead)", path.name)
    started = time.perf_counter()
    encoder = open_token_encoder(path, gpu_layers)
    try:
        table = distil_table(vocab, encoder, recipe)
        texts = training_texts(recipe.fit) if recipe.fit else []
        if texts:
            log.info("fitting the table to %d texts through the model", len(texts))
            unfitted = StaticEmbedder(table, vocab, "unfitted")
            table = fit_table(table, unfitted.embed_documents(texts),
                              encode_texts(vocab, encoder, texts))
    finally:
        encoder.close()
    log.info("distilled %s in %.1f s (%s)", target.name, time.perf_counter() - started,
             encoder.name)
    target.with_suffix(".masks.npz").unlink(missing_ok=True)  # an older table's
    _write_cached(target, table, {**meta, "vocab_size": vocab.size})
    return table


# What the table's sidecar (`<table>.masks.npz`) holds, each a pass over the whole
# vocabulary that every process loading the table, each parse worker included, would
# otherwise pay again (and most of them through llama.cpp): the table's non-zero rows (a
# read of every page of the table, 6-11 ms), the word-start tokens (34-43 ms), the whole
# words (`_vocab_words`), the token texts, the window and the vocabulary's type.
_SIDECAR = ("nonzero", "word_start", "word_keys", "word_tokens", "token_bytes", "token_ends",
            "about")
Saved = tuple[np.ndarray, tuple[np.ndarray, np.ndarray], TableVocab]


def _read_sidecar(target: Path, path: Path, size: int) -> Saved | None:
    """The sidecar of the cached table at `target` as what `StaticEmbedder` takes, with a
    `TableVocab` over it; None when it is missing, of an older layout, or inconsistent."""
    try:
        with np.load(target.with_suffix(".masks.npz"), allow_pickle=False) as saved:
            nonzero, starts, keys, tokens, blob, ends, about = (
                np.asarray(saved[name]) for name in _SIDECAR)
    except (OSError, ValueError, KeyError):
        return None
    if not (nonzero.shape == starts.shape == ends.shape == (size,)
            and nonzero.dtype == starts.dtype == bool
            and keys.dtype == np.uint64 and tokens.dtype == np.int32
            and keys.shape == tokens.shape and bool(np.all(keys[1:] > keys[:-1]))
            and (not len(tokens) or 0 <= tokens.min() <= tokens.max() < size)
            and blob.dtype == np.uint8 and ends.dtype == np.int64 and about.shape == (2,)
            and bool(np.all(ends[1:] >= ends[:-1])) and (not size or 0 <= ends[0])
            and (not size or int(ends[-1]) == len(blob))):
        return None
    window, splits = (int(x) for x in about)
    vocab = TableVocab(path, size, window, bool(splits), starts, token_texts(blob, ends))
    return nonzero, (keys, tokens), vocab


def _write_sidecar(target: Path, table: np.ndarray, vocab: ModelVocab) -> Saved:
    """Compute the sidecar of the table at `target` from `vocab` (llama.cpp), save it, and
    return it as `_read_sidecar` does, its `TableVocab` over the open `vocab`."""
    nonzero, starts = np.asarray(table.any(axis=1)), vocab.word_start()
    keys, tokens = _vocab_words(vocab)
    texts = [vocab.text_bytes(t) for t in range(vocab.size)]
    blob, ends = pack_texts(texts)
    about = np.array([vocab.window(), int(vocab.splits_words)], dtype=np.int64)
    try:
        _atomic_write(target.with_suffix(".masks.npz"), lambda f: np.savez(
            f, nonzero=nonzero, word_start=starts, word_keys=keys, word_tokens=tokens,
            token_bytes=blob, token_ends=ends, about=about))
    except OSError as exc:  # a read-only cache: computed again next time
        log.debug("static table sidecar not saved: %s", exc)
    table_vocab = TableVocab(vocab.path, vocab.size, int(about[0]), bool(about[1]), starts,
                             texts, native=vocab)
    return nonzero, (keys, tokens), table_vocab


_ASCII_WORD = re.compile(r"[a-z0-9]+")


def _vocab_words(vocab: ModelVocab) -> tuple[np.ndarray, np.ndarray]:
    """The WordPiece vocabulary's tokens that are a whole word of letters and digits
    (`\u2581` + `[a-z0-9]+`) and that llama.cpp tokenizes such a word into alone (checked
    for each): their keys as the word cache's (`WordSplitter.keys`), sorted, and token
    ids. A word new to a process's cache that is one of them needs no WordPiece."""
    none = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)
    if not vocab.splits_words:
        return none
    words: list[str] = []
    tokens: list[int] = []
    for token in np.flatnonzero(vocab.word_start()).tolist():
        text = vocab.text(token)
        if text.startswith("\u2581") and _ASCII_WORD.fullmatch(text, 1):
            words.append(text[1:])
            tokens.append(token)
    if not words:
        return none
    ids, offsets = vocab.words_ids_flat(words)
    single = np.diff(offsets) == 1
    first = np.minimum(offsets[:-1], max(len(ids) - 1, 0))
    same = single & (ids[first] == np.array(tokens, dtype=np.int32))
    kept = np.flatnonzero(same).tolist()
    raw = "\n".join(words[i] for i in kept).encode("ascii")
    lengths = np.array([len(words[i]) for i in kept], dtype=np.int64)
    ends = np.cumsum(lengths + 1) - 1
    starts = ends - lengths
    keys = WordSplitter().keys(np.frombuffer(raw, dtype=np.uint8), starts, ends)
    keys, at = np.unique(keys, return_index=True)
    return keys, np.array(tokens, dtype=np.int32)[kept][at]


def _describe(path: Path, fingerprint: str, recipe: Recipe) -> dict[str, Any]:
    """What a cached table is made from (its JSON sidecar adds the vocabulary's size, which
    the model file, by its fingerprint, fixes)."""
    return {
        "model": path.name,
        "model_sha256": fingerprint,
        "recipe_version": RECIPE_VERSION,
        "recipe": recipe.key,
    }


def _read_cached(target: Path, meta: dict[str, Any]) -> np.ndarray | None:
    """The cached table, when its JSON says it is made from what `meta` describes and it
    has as many rows as the JSON says the vocabulary has tokens."""
    sidecar = target.with_suffix(".json")
    try:
        described = json.loads(sidecar.read_text())
        if not isinstance(described, dict) or {
                k: v for k, v in described.items() if k != "vocab_size"} != meta:
            return None
        size = described.get("vocab_size")
        # Memory-mapped, read-only: pages are shared with the page cache and every other
        # process using the same model (the table is 31 MB for MiniLM).
        table: np.ndarray = np.asarray(np.load(target, allow_pickle=False, mmap_mode="r"))
    except (OSError, ValueError) as exc:
        if target.exists() or sidecar.exists():
            log.warning("static table %s unreadable (%s); distilling again", target, exc)
        return None
    if table.ndim != 2 or table.shape[0] != size or table.dtype != np.float32:
        return None
    return table


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _write_cached(target: Path, table: np.ndarray, meta: dict[str, Any]) -> None:
    _atomic_write(target, lambda f: np.save(f, table, allow_pickle=False))
    body = (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
    _atomic_write(target.with_suffix(".json"), lambda f: f.write(body))
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
