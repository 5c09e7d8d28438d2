"""Warm reads: each read tool run once when a served index is ready, before any call.

A tool's first call pays for what every later call finds ready: the library code its
queries run (DuckDB's, tantivy's, numpy's pages read from disk), the per-generation tables
and caches it builds (`summarize_dir`'s per-directory counters, the graph's resolvers, the
context packer's tables), the redaction patterns. On moby, in one process, the first
`summarize_dir` took 137-139 ms against 7 for the next, a hybrid search 33-34 against 8,
`expand_dependencies` 17 against 3; over stdio the first `get_context` 138 ms against 74. The live index runs these reads in
its background thread once it has reconciled (`LiveOptions.warm`), so the first calls of
a session cost what the later ones do, and what they keep is part of the server's start,
not growth under its first load (docs/benchmarks.md, "Thirty-fifth session").

The reads are the repository's own: a search for a generic question, then the top hit's
symbol (its definition and references), its file's dependencies, its directory's summary
and a search narrowed to that directory and language, `get_context`, `index_status`. Each
is an ordinary tool call (redacted like an answer, never sent); one that fails (an empty
repository, a graph not built) is skipped, and the reads stop when the live index stops.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable
from typing import Any

from indexer.live import LiveIndex
from tools.deps import expand_dependencies
from tools.errors import ToolError
from tools.get_context import get_context
from tools.redact import redact
from tools.search import search_code
from tools.status import index_status
from tools.summary import summarize_dir
from tools.symbols import get_symbol

log = logging.getLogger(__name__)

QUESTION = "where is the main entry point configured and started"


def warm_reads(live: LiveIndex) -> int:
    """Run one read of each tool on `live` (see the module docstring); the number that ran."""
    ran = 0

    def read(fn: Callable[..., Any], *args: object, **kwargs: object) -> Any:
        nonlocal ran
        if live.stopping:
            return None
        try:
            result = redact(fn(live, *args, **kwargs))
        except ToolError as exc:
            log.debug("warm read %s skipped: %s", fn.__name__, exc)
            return None
        ran += 1
        return result

    found = read(search_code, QUESTION, k=5)
    hits = found.results if found is not None else []
    read(search_code, hits[0].symbol or hits[0].path if hits else QUESTION, mode="lexical", k=5)
    if hits:
        top = hits[0]
        folder = posixpath.dirname(top.path)
        if top.symbol:
            read(get_symbol, top.symbol, include_references=True, max_tokens=2000)
        read(search_code, QUESTION, k=5, language=top.language,
             path=f"{folder}/*" if folder else "*")
        read(expand_dependencies, top.path)
        read(summarize_dir, path=folder or ".")
    read(get_context, QUESTION, max_tokens=3000)
    read(index_status)
    return ran
