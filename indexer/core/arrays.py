"""numpy helpers shared by the stages that use numpy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np


def kept_rows(count: int, cut: Sequence[tuple[int, int]]) -> np.ndarray:
    """Whether each of `count` rows is kept: False in the ranges `cut` ([lo, hi)), as the
    rows of the files a batch removed or wrote again (`_SymbolRows.updated`)."""
    keep = np.ones(count, dtype=bool)
    for lo, hi in cut:
        keep[lo:hi] = False
    return keep


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-D array, sorted: `np.unique(values)` without its check for
    a masked array, which imports `numpy.ma` (~26 ms and 1.3 MB in each process: every
    parse worker, the writer and the server)."""
    ordered = np.sort(values, kind="stable")
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    out: np.ndarray = ordered[keep]
    return out


def find_sorted(ordered: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `keys` goes in the sorted `ordered` (`np.searchsorted`) and whether it
    is there: a sorted key column's lookup, beside a column of what each key maps to."""
    at = np.searchsorted(ordered, keys)
    found = np.zeros(len(keys), dtype=bool)
    if len(ordered):
        inside = at < len(ordered)
        found[inside] = ordered[at[inside]] == keys[inside]
    return at, found


def updated_values(last: list[str], used: np.ndarray, added: Iterable[str],
                   find: Callable[[str], int | None],
                   index: Callable[[list[str]], dict[str, int]] | None = None,
                   ) -> tuple[list[str], dict[str, int] | None, np.ndarray | None]:
    """A column's sorted distinct values after an update of its rows: those of `last`
    (sorted) that the kept rows still use (`used`: their ids into `last`), and the `added`
    ones (`find`: a value's id in `last`, None where it has none). Returns the values,
    their positions (`index` of them, else numbered in order) and each old id's new one
    (-1: no row uses it any more); when the values are `last`'s (most updates add and drop
    none), `last` itself, None and None."""
    seen = np.zeros(len(last), dtype=bool)
    seen[used] = True
    extra: set[str] = set()
    for value in set(added):
        old = find(value)
        if old is None:
            extra.add(value)
        else:
            seen[old] = True
    if not extra and bool(seen.all()):
        return last, None, None
    kept = [v for v, s in zip(last, seen.tolist(), strict=True) if s]
    values = sorted([*kept, *extra]) if extra else kept
    at = index(values) if index is not None else {v: i for i, v in enumerate(values)}
    return values, at, np.array([at.get(v, -1) for v in last], dtype=np.int32)
