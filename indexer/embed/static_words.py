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
"""

from __future__ import annotations

import numpy as np

_OTHER, _LOWER, _DIGIT, _UPPER = 0, 1, 2, 3
_CLASS = np.zeros(256, dtype=np.uint8)
_CLASS[ord("a") : ord("z") + 1] = _LOWER
_CLASS[ord("0") : ord("9") + 1] = _DIGIT
_CLASS[ord("A") : ord("Z") + 1] = _UPPER
_LOWERED = np.arange(256, dtype=np.uint64)
_LOWERED[ord("A") : ord("Z") + 1] += 32
# printable ASCII and \t \n \r: text Sextant splits into words itself
_PRINTABLE = np.zeros(256, dtype=bool)
_PRINTABLE[32:127] = True
_PRINTABLE[[9, 10, 13]] = True

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
        """Start and end offsets (int64) of the words in `data` (uint8 bytes)."""
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
        # a word ends before a character that is not part of one, or that starts another
        goes_on = np.zeros_like(word)
        goes_on[:-1] = word[1:] & ~start[1:]
        starts = np.flatnonzero(start)
        ends = np.flatnonzero(word & ~goes_on) + 1
        return starts, ends

    def keys(self, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """A 64-bit key per word: a polynomial hash of its lower-cased bytes (modulo 2**64,
        from prefix sums) mixed with its length."""
        n = len(data)
        self._grow(n)
        with np.errstate(over="ignore"):
            prefix = np.zeros(n + 1, dtype=np.uint64)
            np.cumsum(_LOWERED[data] * self._powers[:n], out=prefix[1:])
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


def printable(data: np.ndarray) -> np.ndarray:
    """Which bytes of `data` plain-ASCII text may hold."""
    mask: np.ndarray = _PRINTABLE[data]
    return mask
