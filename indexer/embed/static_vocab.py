"""A GGUF model's vocabulary through llama.cpp, loaded vocab-only: fast tokens as numpy.

The static tier (`indexer.embed.static`) needs the model's own tokenizer (its token ids
index the distilled table) and, to distil, each token's attributes and the special tokens
the model wraps an input in. A vocab-only load reads the metadata and no weights (~0.1 s
for MiniLM); tokenizing runs in llama.cpp's C++ and comes back as an int32 array without
a Python list in between.

`tokenize` may be called from several threads: it only reads the vocabulary (and a word
cache whose updates are single dict operations).

WordPiece (BERT) vocabularies tokenize each word on its own: llama.cpp splits the text at
whitespace and around every punctuation or symbol character, lower-cases it, then matches
each word's pieces. For printable ASCII text (nearly all code) Sextant does the split itself
line by line and word by word, looking lines and words up in caches and asking llama.cpp only for
words it has not seen: the same ids (tested on real code). Measured on moby's 38,534 chunk
texts: 4.6-5.6 CPU s from cold caches against 6.3-7.1 s for llama.cpp alone (its greedy
longest match costs ~180 ns a character on moby's run-together identifiers), 10x less
where lines repeat. Other text, and other tokenizer types, go to llama.cpp whole.
"""

from __future__ import annotations

import ctypes
import itertools
import re
from pathlib import Path
from typing import cast

import numpy as np

from indexer.embed.protocol import EmbedderError, ModelUnavailableError

# llama_token_attr bits (llama.h)
_ATTR_UNKNOWN = 1 << 0
_ATTR_UNUSED = 1 << 1
_ATTR_NORMAL = 1 << 2
_ATTR_CONTROL = 1 << 3
_ATTR_USER_DEFINED = 1 << 4
_ATTR_BYTE = 1 << 5
_KEEP = _ATTR_NORMAL | _ATTR_USER_DEFINED | _ATTR_BYTE
_SKIP = _ATTR_UNKNOWN | _ATTR_UNUSED | _ATTR_CONTROL
# BERT vocabularies reserve "[unused0]".."[unused993]": stored as normal tokens, never
# produced from text (the pre-tokenizer splits "[" off).
_PLACEHOLDER = re.compile(r"^\u2581?\[unused\d+\]$")
_CHARS_PER_TOKEN_CAP = 32  # text beyond max_tokens * this many characters is never tokenized
_VOCAB_TYPE_WPM = 3  # llama_vocab_type: WordPiece
# Printable ASCII plus tab, newline, carriage return: text the word-split path handles.
_PLAIN_ASCII = re.compile(r"[\t\n\r -~]*")
# A WordPiece word: a run of letters and digits, or one punctuation/symbol character.
_WPM_WORD = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
CASE_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_CACHE = 1 << 16  # distinct words kept; cleared when full
_LINE_CACHE = 1 << 17  # distinct lines kept (~30 MB at most); cleared when full


class ModelVocab:
    """The vocabulary of the GGUF file at `path` (llama.cpp, no weights loaded)."""

    def __init__(self, path: Path | str) -> None:
        from indexer.embed.gguf import llama_library

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelUnavailableError(f"GGUF model {str(self.path)!r} not found")
        self._lib = llama_library()
        params = self._lib.llama_model_default_params()
        params.vocab_only = True
        self._model = self._lib.llama_model_load_from_file(str(self.path).encode(), params)
        if not self._model:
            raise EmbedderError(f"llama.cpp could not read the vocabulary of {self.path}")
        self._vocab = self._lib.llama_model_get_vocab(self._model)
        self.size = int(self._lib.llama_vocab_n_tokens(self._vocab))
        self._split_words = int(self._lib.llama_vocab_type(self._vocab)) == _VOCAB_TYPE_WPM
        self._words: dict[str, tuple[int, ...]] = {}
        self._lines: dict[str, tuple[int, ...]] = {}
        self._starts: np.ndarray | None = None

    def tokenize(self, text: str, max_tokens: int, add_special: bool = False) -> np.ndarray:
        """The first `max_tokens` token ids of `text` (int32), without special tokens unless
        `add_special`."""
        text = text[: max_tokens * _CHARS_PER_TOKEN_CAP]
        if self._split_words and not add_special and _PLAIN_ASCII.fullmatch(text):
            return self._tokenize_words(text, max_tokens)
        return self._tokenize_native(text, max_tokens, add_special)

    def _tokenize_words(self, text: str, max_tokens: int) -> np.ndarray:
        """WordPiece ids of plain-ASCII `text`, line by line from a cache of lines (code
        repeats them: moby's 887k lines are 198k distinct), a new line word by word."""
        lines = self._lines
        if len(lines) > _LINE_CACHE:
            lines.clear()
        keys = list(map(str.strip, text.lower().split("\n")))
        parts = list(map(lines.get, keys))  # C loops; a line not seen yet is None
        if None in parts:
            missed = [i for i, ids in enumerate(parts) if ids is None]
            for i, ids in zip(missed, self._lines_ids([keys[i] for i in missed]), strict=True):
                parts[i] = lines[keys[i]] = ids
        filled = cast("list[tuple[int, ...]]", parts)
        out = np.fromiter(itertools.chain.from_iterable(filled), dtype=np.int32)
        return out[:max_tokens].copy() if len(out) > max_tokens else out

    def _lines_ids(self, lines: list[str]) -> list[tuple[int, ...]]:
        """Ids of lower-cased plain-ASCII lines, word by word from the word cache; the words
        not in it go to llama.cpp together, in one call."""
        words = self._words
        if len(words) > _WORD_CACHE:
            words.clear()
        found = [_WPM_WORD.findall(line) for line in lines]
        # this call's ids in a dict of its own: another thread may clear the shared cache
        # between two steps here (the static tier embeds queries while the writer indexes)
        known = {w: words.get(w) for f in found for w in f}
        new = [w for w, ids in known.items() if ids is None]
        if new:
            fresh = dict(zip(new, self._words_ids(new), strict=True))
            known.update(fresh)
            words.update(fresh)
        got = cast("dict[str, tuple[int, ...]]", known)
        return [tuple(itertools.chain.from_iterable(map(got.__getitem__, f))) for f in found]

    def _words_ids(self, new: list[str]) -> list[tuple[int, ...]]:
        """Each word's ids (`words_ids_flat`, one tuple per word)."""
        ids, offsets = self.words_ids_flat(new)
        return [tuple(p) for p in np.split(ids, offsets[1:-1])]

    def words_ids_flat(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The ids of `words` one after the other, and where each word's start (`offsets`,
        one more than the words: word i is `ids[offsets[i]:offsets[i + 1]]`), from one
        llama.cpp call over the words joined by spaces: a word starts at each word-start
        token (`\u2581`-prefixed, or the unknown token, a control token that stands for a
        whole word); if the count disagrees, word by word."""
        ids = self._tokenize_native(" ".join(words), 1 << 30)
        starts = np.flatnonzero(self.word_start()[ids])
        if len(starts) != len(words) or (len(ids) and starts[0] != 0):
            each = [self._tokenize_native(w, 1 << 30) for w in words]
            ids = np.concatenate(each) if each else np.zeros(0, dtype=np.int32)
            starts = np.cumsum([0] + [len(e) for e in each[:-1]]) if each else starts[:0]
        return ids, np.append(starts, len(ids)).astype(np.intp)

    def use_word_start(self, starts: np.ndarray) -> None:
        """`word_start` as computed earlier for this vocabulary (a cache's sidecar)."""
        self._starts = starts

    def word_start(self) -> np.ndarray:
        """Which tokens start a word: `\u2581`-prefixed, or the unknown and control tokens
        (each stands for a whole word)."""
        if self._starts is None:
            self._starts = np.array(
                [self.text(t).startswith("\u2581") or self._attr(t) & (_ATTR_UNKNOWN | _ATTR_CONTROL)
                 for t in range(self.size)], dtype=bool)
        return self._starts

    def _attr(self, token: int) -> int:
        return int(self._lib.llama_vocab_get_attr(self._vocab, token))

    def _tokenize_native(self, text: str, max_tokens: int, add_special: bool = False) -> np.ndarray:
        """llama.cpp's tokenizer on the whole text."""
        data = text.encode("utf-8", "replace")
        capacity = len(data) + 8
        buf = (ctypes.c_int32 * capacity)()
        n = self._lib.llama_tokenize(
            self._vocab, data, len(data), buf, capacity, add_special, False
        )
        if n < 0:  # buffer too small: -n is the size needed
            capacity = -n
            buf = (ctypes.c_int32 * capacity)()
            n = self._lib.llama_tokenize(
                self._vocab, data, len(data), buf, capacity, add_special, False
            )
        return np.frombuffer(memoryview(buf), dtype=np.int32, count=min(n, max_tokens)).copy()

    def text_ids(self, text: str) -> np.ndarray:
        """llama.cpp's ids of all of `text`, without special tokens."""
        return self._tokenize_native(text, 1 << 30)

    def words_ids(self, words: list[str]) -> list[tuple[int, ...]]:
        """WordPiece ids of each of `words` (lower-cased runs of letters and digits), in one
        llama.cpp call."""
        return self._words_ids(words) if words else []

    def punctuation(self) -> np.ndarray:
        """Ids of the tokens that are ASCII punctuation or symbols only (BERT: `(`, `##.`,
        ...; SentencePiece: with or without its word-start mark), in id order."""
        out = []
        for token in range(self.size):
            text = self.text(token).removeprefix("##").removeprefix("\u2581")
            if text and all(c in _PUNCTUATION for c in text):
                out.append(token)
        return np.array(out, dtype=np.int32)

    @property
    def splits_words(self) -> bool:
        """Whether Sextant may split plain text into words itself: a WordPiece vocabulary."""
        return self._split_words

    def window(self) -> int:
        """Tokens the transformer reads per input: its training context, or the window
        Sextant's converter declared (`sextant.max_seq_length`: 256 for MiniLM)."""
        arch = self._meta("general.architecture") or ""
        sizes = [self._meta(f"{arch}.context_length"), self._meta("sextant.max_seq_length")]
        known = [int(x) for x in sizes if x is not None and x.isdigit() and int(x) > 0]
        return min(known) if known else 0

    def _meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(256)
        n = self._lib.llama_model_meta_val_str(self._model, key.encode(), buf, len(buf))
        return buf.value.decode() if n >= 0 else None

    def text(self, token: int) -> str:
        return self.text_bytes(token).decode("utf-8", "replace")

    def text_bytes(self, token: int) -> bytes:
        """The token's text as llama.cpp matches it (UTF-8 bytes)."""
        raw: bytes | None = self._lib.llama_vocab_get_text(self._vocab, token)
        return raw or b""

    def distillable(self) -> np.ndarray:
        """Ids of the tokens text can produce (normal, user-defined and byte tokens), in id
        order: no control, unknown, unused or BERT `[unusedN]` placeholder tokens."""
        keep = []
        for token in range(self.size):
            attr = int(self._lib.llama_vocab_get_attr(self._vocab, token))
            if attr & _KEEP and not attr & _SKIP and not _PLACEHOLDER.match(self.text(token)):
                keep.append(token)
        return np.array(keep, dtype=np.int32)

    def special_wrap(self) -> tuple[list[int], list[int]]:
        """The special tokens the model puts before and after an input (BERT: [CLS], [SEP];
        a decoder: perhaps BOS, perhaps EOS), read from how it tokenizes a sample."""
        plain = self.tokenize("a", 16).tolist()
        full = self.tokenize("a", 16, add_special=True).tolist()
        for start in range(len(full) - len(plain) + 1):
            if full[start : start + len(plain)] == plain:
                return full[:start], full[start + len(plain) :]
        return [], []

    def close(self) -> None:
        if getattr(self, "_model", None):
            self._lib.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        if getattr(self, "_lib", None) is not None:
            self.close()
