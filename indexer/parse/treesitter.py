"""Tree-sitter parsing: source bytes -> symbols, references and imports.

One parse and ONE query pass per file. Grammars, parsers and compiled queries are cached per
process (parsers per thread: a `Parser` is not thread-safe). Captures follow the conventions
documented in `indexer.languages`; `indexer.languages.extract` turns matches into model
objects. Python-side work is per captured node, never a walk of the whole tree, so deep
nesting costs tree-sitter time only, and the parse and the query are bounded by a deadline
in the parsing thread's CPU time (`parse_clock`).
`parse_source` never raises on bad input: an abandoned parse returns a `ParsedFile` whose
`error` says why, with whatever was found.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import cache

from tree_sitter import Node, Parser, Point, Query, QueryCursor, Tree

from indexer.core import ParsedFile
from indexer.languages import get_language, load_grammar, load_query_source
from indexer.languages.extract import Compiled, Extractor, capture_role, parse_clock

__all__ = ["DEFAULT_TIMEOUT_S", "default_timeout", "parse_source", "raw_parse"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0  # the most any one file may take
# Without an explicit timeout a file gets 2 s plus 8 s per MiB: tree-sitter's error recovery
# can spend the whole budget on a few KiB of garbage (fuzzing found 4 KiB TSX token soups
# that parse for minutes), so a flat 10 s would let every tiny hostile file cost 10 s. The
# slowest real file in six corpora (vue-core, moby, ...) used under a fifth of its budget.
_BASE_TIMEOUT_S = 2.0
_TIMEOUT_S_PER_MIB = 8.0
_QUERY_WINDOW = 1 << 20  # bytes per query pass on large files
# Query time grows with the square of an ERROR node's child count (tree-sitter 0.26: 25k
# children 0.4 s, 100k 13 s, even for a one-pattern query); real code stays far below (the
# widest in six corpora has 382), a hostile file of 1 MiB of `(` goes far above.
MAX_ERROR_CHILDREN = 10_000

_local = threading.local()


@cache
def _compiled(language: str) -> Compiled:
    spec = get_language(language)
    query = Query(load_grammar(language), load_query_source(language))
    names = [query.capture_name(i) for i in range(query.capture_count)]
    return Compiled(spec, query, {name: capture_role(name) for name in names})


def _parser(language: str) -> Parser:
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(language)
    if parser is None:
        parser = parsers[language] = Parser(load_grammar(language))
    return parser


def raw_parse(source: bytes, language: str) -> Tree:
    """Only the tree-sitter parse (the benchmark's baseline); no queries, no deadline."""
    return _parser(language).parse(source)


def _parse_bounded(source: bytes, language: str, deadline: float) -> Tree | None:
    """Parse through a read callback, the only way tree-sitter takes a progress callback
    (the deadline). tree-sitter 0.26.1 keeps a reference to every value the callback returns,
    for ever: a slice of `source`, or a copy, would keep the whole file (or the copy) in
    memory for the life of the process, every parse of every file, and a server parses each
    edited file again. So the callback returns views of `source`, and each is released when
    the parse ends: what stays is a view object (~300 bytes a parse), not the file."""
    view = memoryview(source)
    given: list[memoryview] = []

    def read(offset: int, _point: Point) -> memoryview | bytes:
        if offset == 0:  # the usual first call: no new view
            return view
        if offset >= len(view):  # the usual last one: the empty bytes are shared
            return b""
        part = view[offset:]
        given.append(part)
        return part

    def progress(_offset: int, _has_error: bool) -> bool:
        return parse_clock() > deadline

    parser = _parser(language)
    try:
        return parser.parse(read, progress_callback=progress)
    except ValueError:  # cancelled by `progress`
        parser.reset()
        return None
    finally:
        for part in (*given, view):
            with contextlib.suppress(BufferError):  # a binding still holding it: it stays
                part.release()


def widest_error(root: Node) -> int:
    """Child count of the widest ERROR node (0 without errors); visits only nodes on paths
    to an error, so an error-free tree costs one attribute read."""
    widest = 0
    stack = [root] if root.has_error else []
    while stack:
        node = stack.pop()
        if node.type == "ERROR":
            widest = max(widest, node.child_count)
        stack.extend(c for c in node.children if c.has_error)
    return widest


def default_timeout(size: int) -> float:
    """Seconds a file of `size` bytes may take to parse and query (see _BASE_TIMEOUT_S)."""
    return min(DEFAULT_TIMEOUT_S, _BASE_TIMEOUT_S + _TIMEOUT_S_PER_MIB * size / (1 << 20))


def parse_source(source: bytes, language: str, timeout_s: float | None = None) -> ParsedFile:
    """Symbols, references and imports of `source`; never raises on bad input. The time
    bound is `timeout_s`, by default `default_timeout(len(source))`.

    Raises KeyError only for an unknown `language` (a caller bug, not bad input).
    """
    compiled = _compiled(language)
    result = ParsedFile(language=language)
    if timeout_s is None:
        timeout_s = default_timeout(len(source))
    deadline = parse_clock() + timeout_s  # CPU seconds of this thread (see parse_clock)
    tree = _parse_bounded(source, language, deadline)
    if tree is None:
        result.error = f"parse abandoned after {timeout_s:g}s"
        log.warning("%s parse abandoned after %gs (%d bytes)", language, timeout_s, len(source))
        return result
    wide = widest_error(tree.root_node)
    if wide > MAX_ERROR_CHILDREN:
        result.error = f"not queried: a syntax error node with {wide} children"
        log.warning("%s not queried: a syntax error node with %d children", language, wide)
        return result
    extractor = Extractor(source, compiled, deadline)
    cursor = QueryCursor(compiled.query)
    root = tree.root_node
    # QueryCursor's progress_callback crashes tree-sitter 0.26.1 (segfault), so a large file
    # is queried in byte windows with a deadline check between them. Matches that span two
    # windows are reported twice; the extractor deduplicates them.
    windowed = len(source) > _QUERY_WINDOW
    for start in range(0, max(len(source), 1), _QUERY_WINDOW):
        if parse_clock() > deadline:
            result.error = f"query abandoned after {timeout_s:g}s; results are partial"
            break
        if windowed:
            cursor.set_byte_range(start, start + _QUERY_WINDOW)
        extractor.collect(cursor.matches(root))
    extractor.finish(result)
    if extractor.details_skipped and result.error is None:
        result.error = (
            f"deadline of {timeout_s:g}s passed: {extractor.details_skipped} symbols "
            "lack docs and signatures"
        )
    return result
