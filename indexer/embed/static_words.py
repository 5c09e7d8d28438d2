"""Words of plain-ASCII text found with numpy, for the static tier's word cache.

The static tier used to find the words of one text with a regular expression and a
Python string per word; moby's chunks hold 4.2M of them, and finding them (~0.23 us a word)
and looking each up in a dict cost more than the rest of the static tier together. Here a
whole batch of texts is one byte array: each word is a (start, end) pair found with array
operations, and it is looked up by a 64-bit key of its lower-cased bytes. Only the words
not seen yet become Python strings (for WordPiece).

The words are exactly the regular expression's (`tests/test_static_words.py` keeps it as
the reference: every boundary of
character classes, and flask's code; the vectors of 38,500 pieces of moby's Go came out
bit-identical): with `split_case`, `[a-z0-9]+` or an upper-case letter with the upper-case
letters after it (all but the last when a lower-case letter follows them) and the letters
and digits after those; without it, the text is lower-cased and the words are `[a-z0-9]+`.

UTF-8 text (`split_utf8`): a run of letters, digits and bytes of non-ASCII
characters that holds one of the latter is one *native* word, never split at case changes
and keyed by its bytes as they are (not lower-cased): the static tier tokenizes it with
llama.cpp on its own, as the split points of WordPiece's pre-tokenizer include every ASCII
space, punctuation and symbol character, the only bytes that end such a run.
"""

from __future__ import annotations

import numpy as np

_OTHER, _LOWER, _DIGIT, _UPPER, _HIGH = 0, 1, 2, 3, 4
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[ord("a") : ord("z") + 1] = _LOWER
_CLASS[ord("0") : ord("9") + 1] = _DIGIT
_CLASS[ord("A") : ord("Z") + 1] = _UPPER
_CLASS[128:] = _HIGH  # the bytes of non-ASCII characters in UTF-8
_LOWERED = np.arange(256, dtype=np.uint64)
_LOWERED[ord("A") : ord("Z") + 1] += 32
# printable ASCII and \t \n \r: text Sextant splits into words itself
_PRINTABLE = np.zeros(256, dtype=bool)
_PRINTABLE[32:127] = True
_PRINTABLE[[9, 10, 13]] = True
_PRINTABLE_UTF8 = _PRINTABLE.copy()
_PRINTABLE_UTF8[128:] = True

_BASE = np.uint64(0x100000001B3)  # odd: invertible modulo 2**64 (FNV's prime)
_BASE_INVERSE = np.uint64(pow(int(_BASE), -1, 1 << 64))
_LENGTH_MIX = np.uint64(0x9E3779B97F4A7C15)


class WordSplitter:
    """Finds words and their keys in batches; keeps the powers of the hash base (grown to
    the longest batch seen). Not thread-safe (the static embedder holds a lock)."""

    def __init__(self) -> None:
        self._powers: np.ndarray = np.ones(1, dtype=np.uint64)
        self._inverse: np.ndarray = np.ones(1, dtype=np.uint64)

    def split(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and end offsets (int64) of the words in `data` (uint8 bytes of ASCII)."""
        starts, ends, _ = self.split_utf8(data)
        return starts, ends

    def split_utf8(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Start and end offsets (int64) of the words in `data` (uint8 bytes of UTF-8), and
        which of them are native words (None when `data` is all ASCII)."""
        classes = _CLASS[data]
        word = classes != _OTHER
        before = np.empty_like(classes)
        before[:1] = _OTHER
        before[1:] = classes[:-1]
        after = np.empty_like(classes)
        after[-1:] = _OTHER
        after[:-1] = classes[1:]
        upper = classes == _UPPER
        start = word & (
            (before == _OTHER)
            | (upper & ((before == _LOWER) | (before == _DIGIT)))
            | (upper & (before == _UPPER) & (after == _LOWER))
        )
        native_bytes = None
        high = classes == _HIGH
        if high.any():  # no word starts inside a run that holds a non-ASCII character
            run_start = word & (before == _OTHER)
            run_of = np.cumsum(run_start) - 1
            native_runs = np.zeros(int(run_start.sum()), dtype=bool)
            native_runs[run_of[high]] = True
            native_bytes = word & native_runs[run_of]
            start &= run_start | ~native_bytes
        # a word ends before a character that is not part of one, or that starts another
        goes_on = np.zeros_like(word)
        goes_on[:-1] = word[1:] & ~start[1:]
        starts = np.flatnonzero(start)
        ends = np.flatnonzero(word & ~goes_on) + 1
        return starts, ends, None if native_bytes is None else native_bytes[starts]

    def keys(self, data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
             native: np.ndarray | None = None) -> np.ndarray:
        """A 64-bit key per word: a polynomial hash of its lower-cased bytes (modulo 2**64,
        from prefix sums) mixed with its length; of a native word's bytes as they are."""
        keys = self._hash(_LOWERED[data], starts, ends)
        if native is not None and native.any():
            keys[native] = self._hash(data.astype(np.uint64), starts[native], ends[native])
        return keys

    def _hash(self, values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        n = len(values)
        self._grow(n)
        with np.errstate(over="ignore"):
            prefix = np.zeros(n + 1, dtype=np.uint64)
            np.cumsum(values * self._powers[:n], out=prefix[1:])
            keys: np.ndarray = (prefix[ends] - prefix[starts]) * self._inverse[starts]
            keys ^= (ends - starts).astype(np.uint64) * _LENGTH_MIX
        return keys

    def _grow(self, n: int) -> None:
        if len(self._powers) >= n:
            return
        size = max(n, 2 * len(self._powers))
        with np.errstate(over="ignore"):
            self._powers = np.cumprod(np.full(size, _BASE, dtype=np.uint64)) * _BASE_INVERSE
            self._inverse = np.cumprod(np.full(size, _BASE_INVERSE, dtype=np.uint64)) * _BASE


def printable(data: np.ndarray, utf8: bool = False) -> np.ndarray:
    """Which bytes of `data` plain-ASCII text may hold (with `utf8`, or plain UTF-8 text:
    no ASCII control character but tab, newline and carriage return)."""
    mask: np.ndarray = (_PRINTABLE_UTF8 if utf8 else _PRINTABLE)[data]
    return mask
