"""Near-duplicate hits: a definition that exists in several near-identical copies.

Copied modules, vendored packages and generated variants make one answer fill several
places of a result list. Among the first hits, chunks whose texts are near-identical
(Jaccard similarity of their 3-word shingle sets >= `THRESHOLD`) collapse into the
best-ranked one, which lists where the others are (`SearchHit.duplicates`). Chunks of fewer
than `MIN_SHINGLES` shingles only collapse when their texts are equal up to whitespace.
Copies within one file are left alone (overloads, similar tests); the per-file cap already
spreads those.

The similarity is exact, not a MinHash estimate: a result list holds at most a few dozen
hits, and comparing their shingle sets (after a size filter: Jaccard >= t needs the smaller
set to be >= t of the larger) costs less than importing numpy for the permutations, which a
CLI search would otherwise pay on every start. MinHash with LSH is what an index-wide
near-duplicate pass would use; this one never sees more than one answer's hits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

THRESHOLD = 0.8
MIN_SHINGLES = 8
SHINGLE = 3
_WORD = re.compile(r"\w+")


Shingles = frozenset[tuple[str, ...]]


def shingles(text: str) -> Shingles | None:
    """The text's word 3-shingles (tuples of words: no string is built for each), or None
    when it has too few of them."""
    words = _WORD.findall(text)
    out = frozenset(zip(*(words[i:] for i in range(SHINGLE)), strict=False))
    return out if len(out) >= MIN_SHINGLES else None


def _same(a: Shingles | None, b: Shingles | None, ta: str, tb: str) -> bool:
    if a is None or b is None:
        return a is None and b is None and " ".join(ta.split()) == " ".join(tb.split())
    small, large = sorted((len(a), len(b)))
    if small < THRESHOLD * large:
        return False
    common = len(a & b)
    return common >= THRESHOLD * (len(a) + len(b) - common)


def collapse(paths: Sequence[str], texts: Sequence[str]) -> list[list[int]]:
    """Groups of near-identical items (indices, best first), in the order of their first
    member; items are given best first. An item joins the first earlier group whose leader
    it nearly equals, in another file."""
    sets = [shingles(t) for t in texts]
    groups: list[list[int]] = []
    for i in range(len(texts)):
        if not texts[i].strip():
            groups.append([i])
            continue
        home = next((g for g in groups if paths[g[0]] != paths[i] and texts[g[0]].strip()
                     and _same(sets[g[0]], sets[i], texts[g[0]], texts[i])), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups
