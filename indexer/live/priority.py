"""The order the model tier embeds chunks in: the most valuable first.

On a CPU the transformer embeds some 50 chunks a second, so a large repository is hours of
work; the order decides what an agent's queries meet in the meantime. A chunk's value is
the product of:

- where it lives: product code 1.0; tests, fixtures and test data 0.3; vendored, example,
  benchmark and documentation trees 0.4; generated code (`*_pb2.py`, `*.pb.go`, `*.min.js`,
  `generated/`...) 0.2; prose and config (no programming language) 0.4;
- what it is: a definition (function, method, class, type...) 1.0, public (a name without a
  leading underscore) 1.2; other code (module blocks, line windows) 0.6;
- how central its file is: 1 + 2 * sqrt(PageRank / max PageRank) from the import graph
  (`file_rank`, when the graph was built).

Chunks whose text is already in the embedding cache go first whatever their value: they cost
no model call (an interrupted run's work, identical text elsewhere). Duplicates of a text
follow its first chunk at once, and are then cache hits.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from indexer.core import duckdb
from indexer.discover.places import LOW_VALUE_PATH, TEST_PATH
from indexer.store import Store

_GENERATED = re.compile(r"(^|/)(generated|gen|__generated__)(/|$)|_pb2(_grpc)?\.py$"
                        r"|\.pb(\.gw)?\.go$|_generated\.[a-z]+$|\.min\.(js|css)$|\.g\.dart$")
_DEFINITIONS = frozenset(("class", "function", "method", "interface", "struct", "type",
                          "trait", "enum", "module", "impl", "constructor"))


@functools.lru_cache(maxsize=1 << 16)
def path_weight(path: str, language: str | None) -> float:
    """The value of a file's chunks by where the file lives (see the module docstring)."""
    if _GENERATED.search(path):
        return 0.2
    if TEST_PATH.search(path):
        return 0.3
    if LOW_VALUE_PATH.search(path) or language is None:
        return 0.4
    return 1.0


def kind_weight(kind: str, symbol: str | None) -> float:
    if kind in _DEFINITIONS:
        name = (symbol or "").rsplit(".", 1)[-1]
        return 1.2 if name and not name.startswith("_") else 1.0
    return 0.6


def chunk_value(path: str, language: str | None, kind: str, symbol: str | None,
                rank: float) -> float:
    """`rank`: the file's PageRank over the largest one's (0..1)."""
    return (path_weight(path, language) * kind_weight(kind, symbol)
            * (1.0 + 2.0 * math.sqrt(max(0.0, rank))))


def _file_ranks(store: Store) -> dict[str, float]:
    try:
        ranks = store.query("SELECT path, rank FROM file_rank")
    except duckdb.Error:  # no graph yet: every file ranks the same
        return {}
    top = max((r or 0.0 for _, r in ranks), default=0.0) or 1.0
    return {p: (r or 0.0) / top for p, r in ranks}


def embedding_order(store: Store, wanted: Iterable[int] | None = None,
                    cached: set[str] | None = None) -> list[int]:
    """Chunk ids (all, or those in `wanted`) most valuable first; `cached`: text hashes
    already in the embedding cache (those chunks go first)."""
    rows: Sequence[tuple[Any, ...]] = store.query(
        "SELECT c.chunk_id, c.text_hash, c.kind, c.symbol, f.path, f.language "
        "FROM chunks c JOIN files f USING (file_id)")
    if wanted is not None:
        keep = set(wanted)
        rows = [r for r in rows if r[0] in keep]
    ranks = _file_ranks(store)
    cached = cached or set()
    scored = sorted(rows, key=lambda r: (r[1] not in cached,
                                         -chunk_value(r[4], r[5], r[2], r[3],
                                                      ranks.get(r[4], 0.0)), r[0]))
    return _duplicates_follow(scored)


def _duplicates_follow(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Ids in `rows` order, each chunk sharing a text with an earlier one moved right after
    its first occurrence (one model call serves them all)."""
    groups: dict[str, list[int]] = {}
    for r in rows:
        groups.setdefault(r[1], []).append(r[0])
    return [cid for ids in groups.values() for cid in ids]
