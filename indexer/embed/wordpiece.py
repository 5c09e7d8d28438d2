"""WordPiece in Python from the vocabulary's token texts: the static tier without llama.cpp.

The static tier needs token ids only for words it has not seen yet, and for plain code
those are lower-cased runs of ASCII letters and digits. llama.cpp's WordPiece tokenizer
(`llm_tokenizer_wpm_session` in llama-vocab.cpp) matches such a word greedily: the longest
token text equal to a prefix of "\u2581" + word (the phantom space every GGUF BERT
vocabulary puts before a word-initial piece), then the longest token equal to a prefix of
what is left, and so on, trying lengths from the longest token's down; where nothing
matches, the whole word is the unknown token. `WordPieces` does the same over the same
token texts in bytes (the same map: text -> last id with that text), so its ids are
llama.cpp's; where llama.cpp would give the unknown token it answers None and the caller
asks llama.cpp. Tested against llama.cpp on every word of the vocabulary and of real code
(`tests/test_wordpiece.py`).

Why: loading llama.cpp's bindings and the vocabulary costs a process ~0.1-0.2 s, which
every parse worker and every one-shot `sextant search` paid before its first vector. With
the token texts saved beside the distilled table (`TableVocab`), a process opens llama.cpp
only for text Python does not tokenize itself (a word with non-ASCII characters).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from indexer.embed.static_vocab import ModelVocab

PHANTOM = "\u2581".encode()
_ALNUM = re.compile(rb"[a-z0-9]+")


class WordPieces:
    """llama.cpp's WordPiece match of lower-cased ASCII words, from the token texts (bytes,
    in id order)."""

    def __init__(self, texts: Sequence[bytes]) -> None:
        self._ids = {text: token for token, text in enumerate(texts)}
        self._longest = max(map(len, texts), default=0)

    def word(self, word: bytes) -> list[int] | None:
        """The ids of `word` (lower-cased letters and digits), or None where llama.cpp
        gives the unknown token (some part of it matches no token)."""
        text = PHANTOM + word
        n, ids, longest = len(text), self._ids, self._longest
        out: list[int] = []
        i = 0
        while i < n:
            for j in range(min(n, i + longest + 1), i, -1):
                token = ids.get(text[i:j])
                if token is not None:
                    out.append(token)
                    i = j
                    break
            else:
                return None
        return out


def token_texts(blob: np.ndarray, ends: np.ndarray) -> list[bytes]:
    """The token texts saved as one byte array and each text's end offset."""
    raw = blob.tobytes()
    bounds = ends.tolist()
    return [raw[a:b] for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]


def pack_texts(texts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """`texts` as one byte array and each text's end offset (what `token_texts` reads)."""
    blob = np.frombuffer(b"".join(texts), dtype=np.uint8).copy()
    ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
    return blob, ends


class TableVocab:
    """What the static tier asks of a `ModelVocab`, from what the table's sidecar saved:
    the vocabulary's size, the transformer's window, whether it is WordPiece, its
    word-start tokens and its token texts. Words of letters and digits are matched in
    Python (`WordPieces`); anything else (a word with non-ASCII characters, a whole text)
    goes to the model's vocabulary through llama.cpp, opened on first need (`native`).
    Thread-safe as `ModelVocab` is."""

    def __init__(self, path: Path, size: int, window: int, splits_words: bool,
                 word_start: np.ndarray, texts: list[bytes],
                 native: ModelVocab | None = None) -> None:
        self.path = path
        self.size = size
        self._window = window
        self._split_words = splits_words
        self._starts = word_start
        self._texts = texts
        self._pieces: WordPieces | None = None
        self._native = native
        self._lock = threading.Lock()

    @property
    def splits_words(self) -> bool:
        return self._split_words

    @property
    def opened_native(self) -> bool:
        """Whether llama.cpp's vocabulary was opened (tests and diagnostics)."""
        return self._native is not None

    def window(self) -> int:
        return self._window

    def word_start(self) -> np.ndarray:
        return self._starts

    def native(self) -> ModelVocab:
        """The model's vocabulary through llama.cpp (opened once, on first need)."""
        with self._lock:
            if self._native is None:
                from indexer.embed.static_vocab import ModelVocab

                vocab = ModelVocab(self.path)
                vocab.use_word_start(self._starts)
                self._native = vocab
            return self._native

    def release_pieces(self) -> None:
        """Forget the word-piece table (`WordPieces`, 2.2 MB for MiniLM's 30k tokens):
        built again, in a few ms, by the next words to match (an edit's chunks, a query's
        word the static embedder has not cached). A server drops it when it settles.

        llama.cpp's vocabulary goes too, when a word Python leaves opened it (an edit's
        chunks do: 5.5 MB for MiniLM's, which stayed for the life of a server); opened again
        by the next such word in 25 ms. A thread tokenizing with it meanwhile keeps it
        until its call returns (it is closed when the last reference goes)."""
        with self._lock:
            self._pieces = None
            self._native = None

    def _word_pieces(self) -> WordPieces:
        with self._lock:
            if self._pieces is None:
                self._pieces = WordPieces(self._texts)
            return self._pieces

    def words_ids_flat(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """As `ModelVocab.words_ids_flat`: the ids of `words` one after the other and where
        each starts; matched in Python, llama.cpp asked only for a word Python leaves."""
        pieces = self._word_pieces() if self._split_words else None
        each: list[list[int] | None] = [
            pieces.word(raw) if pieces is not None and _ALNUM.fullmatch(raw) else None
            for raw in (w.encode("utf-8", "replace") for w in words)]
        left = [i for i, ids in enumerate(each) if ids is None]
        if left:
            ids, offsets = self.native().words_ids_flat([words[i] for i in left])
            for n, i in enumerate(left):
                each[i] = ids[offsets[n] : offsets[n + 1]].tolist()
        done: list[list[int]] = each  # type: ignore[assignment]
        flat = np.fromiter(itertools.chain.from_iterable(done), dtype=np.int32)
        offsets = np.zeros(len(done) + 1, dtype=np.intp)
        np.cumsum(np.fromiter(map(len, done), dtype=np.intp, count=len(done)), out=offsets[1:])
        return flat, offsets

    def text_ids(self, text: str) -> np.ndarray:
        return self.native().text_ids(text)

    def tokenize(self, text: str, max_tokens: int, add_special: bool = False) -> np.ndarray:
        return self.native().tokenize(text, max_tokens, add_special)

    def close(self) -> None:
        with self._lock:
            if self._native is not None:
                self._native.close()
                self._native = None
