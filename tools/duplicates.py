"""Near-duplicate hits: a definition that exists in several near-identical copies.

Copied modules, vendored packages and generated variants make one answer fill several
places of a result list. Among the first hits, chunks whose texts are near-identical
(estimated Jaccard similarity of their 3-word shingles >= `THRESHOLD`, by a 64-permutation
MinHash in numpy) collapse into the best-ranked one, which lists where the others are
(`SearchHit.duplicates`). Chunks of fewer than `MIN_SHINGLES` shingles only collapse when
their texts are equal up to whitespace. Copies within one file are left alone (overloads,
similar tests); the per-file cap already spreads those.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

THRESHOLD = 0.8
PERMUTATIONS = 64
MIN_SHINGLES = 8
SHINGLE = 3
_PRIME = (1 << 31) - 1  # a x + b stays below 2^63 for a, b, x < 2^31
_WORD = re.compile(r"\w+")
_rng = np.random.default_rng(20261203)
_A = _rng.integers(1, _PRIME, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, PERMUTATIONS, dtype=np.uint64)


def signature(text: str) -> NDArray[np.uint64] | None:
    """MinHash of the text's word 3-shingles, or None when it has too few of them."""
    words = _WORD.findall(text)
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}
    if len(shingles) < MIN_SHINGLES:
        return None
    x = np.fromiter((zlib.crc32(s.encode()) for s in shingles), dtype=np.uint64)
    h = (_A[:, None] * (x[None, :] % np.uint64(_PRIME)) + _B[:, None]) % np.uint64(_PRIME)
    out: NDArray[np.uint64] = h.min(axis=1)
    return out


def _same(a: NDArray[np.uint64] | None, b: NDArray[np.uint64] | None, ta: str,
          tb: str) -> bool:
    if a is None or b is None:
        return a is None and b is None and " ".join(ta.split()) == " ".join(tb.split())
    return float(np.mean(a == b)) >= THRESHOLD


def collapse(paths: Sequence[str], texts: Sequence[str]) -> list[list[int]]:
    """Groups of near-identical items (indices, best first), in the order of their first
    member; items are given best first. An item joins the first earlier group whose leader
    it nearly equals, in another file."""
    sigs = [signature(t) for t in texts]
    groups: list[list[int]] = []
    for i in range(len(texts)):
        if not texts[i].strip():
            groups.append([i])
            continue
        home = next((g for g in groups if paths[g[0]] != paths[i] and texts[g[0]].strip()
                     and _same(sigs[g[0]], sigs[i], texts[g[0]], texts[i])), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups
