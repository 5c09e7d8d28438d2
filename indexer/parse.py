"""Tree-sitter parsing: source bytes -> symbols, references and imports.

One parse and ONE query pass per file. Grammars, parsers and compiled queries are cached per
process (parsers per thread: a `Parser` is not thread-safe). Captures follow the conventions
documented in `indexer.languages`. Python-side work is per captured node, never a walk of the
whole tree, so deep nesting costs tree-sitter time only, and both the parse and the query are
bounded by a deadline. `parse_source` never raises on bad input: a parse that is abandoned
returns a `ParsedFile` whose `error` says why, with whatever was found.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import cache

from tree_sitter import Node, Parser, Point, Query, QueryCursor, Tree

from indexer.languages import LanguageSpec, get_language, load_grammar, load_query_source
from indexer.languages.text import (
    clean_comment,
    collapse,
    last_segment,
    python_docstring,
    split_qualified,
    strip_module,
)
from indexer.model import Import, ParsedFile, Reference, Symbol

__all__ = ["DEFAULT_TIMEOUT_S", "parse_source", "raw_parse"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
SIGNATURE_CAP = 200
_SIGNATURE_SCAN = 1200  # bytes of declaration looked at before collapsing
_MAX_DOC_COMMENTS = 60
_QUERY_WINDOW = 1 << 20  # bytes per query pass on large files

_DEF_KIND_ALIASES = {
    "constructor": "method",
    "namespace": "module",
    "object": "class",
    "union": "struct",
    "property": "field",
    "enum_variant": "constant",
}
_REF_KIND_ALIASES = {"implementation": "inherit", "class": "type", "send": "call"}
_REF_PRIORITY = {"inherit": 0, "call": 1, "type": 2, "name": 3}
_CONTAINERS = frozenset({"class", "struct", "interface", "trait", "enum", "impl"})
_NOT_SCOPES = frozenset({"field"})
_BODY_TYPES = frozenset(
    {
        "block",
        "body",
        "class_body",
        "compound_statement",
        "declaration_list",
        "enum_body",
        "enum_class_body",
        "field_declaration_list",
        "function_body",
        "interface_body",
        "statement_block",
        "template_body",
        "protocol_body",
        "enum_member_declaration_list",
    }
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    spec: LanguageSpec
    query: Query
    roles: dict[str, tuple[str, str]]  # capture name -> (role, kind)


@dataclass(slots=True)
class _Def:
    node: Node
    name_node: Node | None
    kind: str  # capture kind; "impl" for @scope
    pattern: int
    receiver: Node | None
    qualname: str = ""
    name: str = ""
    parent: str | None = None


def _role(capture: str) -> tuple[str, str]:
    head, _, kind = capture.rpartition(".")
    if capture.startswith("name.definition."):
        return "defname", _DEF_KIND_ALIASES.get(kind, kind)
    if capture.startswith("definition."):
        return "def", _DEF_KIND_ALIASES.get(kind, kind)
    if capture.startswith("name.reference."):
        return "ref", _REF_KIND_ALIASES.get(kind, kind)
    simple = {
        "import.module": "module",
        "import.name": "name",
        "scope": "scope",
        "name.scope": "scopename",
        "receiver": "receiver",
    }
    return simple.get(capture, "ignore"), head


@cache
def _compiled(language: str) -> _Compiled:
    spec = get_language(language)
    query = Query(load_grammar(language), load_query_source(language))
    roles = {query.capture_name(i): _role(query.capture_name(i)) for i in range(query.capture_count)}
    return _Compiled(spec, query, roles)


_local = threading.local()


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
    view = memoryview(source)

    def read(offset: int, _point: Point) -> memoryview:
        return view[offset:]

    def progress(_offset: int, _has_error: bool) -> bool:
        return time.monotonic() > deadline

    parser = _parser(language)
    try:
        return parser.parse(read, progress_callback=progress)
    except ValueError:  # the parse was cancelled by `progress`
        parser.reset()
        return None


def parse_source(source: bytes, language: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> ParsedFile:
    """Symbols, references and imports of `source`; never raises on bad input."""
    compiled = _compiled(language)
    result = ParsedFile(language=language)
    deadline = time.monotonic() + timeout_s
    tree = _parse_bounded(source, language, deadline)
    if tree is None:
        result.error = f"parse abandoned after {timeout_s:g}s"
        return result
    extractor = _Extractor(source, compiled, result)
    cursor = QueryCursor(compiled.query)
    root = tree.root_node
    # QueryCursor's progress_callback crashes tree-sitter 0.26.1 (segfault), so a large file
    # is queried in byte windows with a deadline check between them. Matches that span two
    # windows are reported twice and deduplicated by the extractor.
    for start in range(0, max(len(source), 1), _QUERY_WINDOW):
        if time.monotonic() > deadline:
            result.error = f"query abandoned after {timeout_s:g}s; results are partial"
            break
        if len(source) > _QUERY_WINDOW:
            cursor.set_byte_range(start, start + _QUERY_WINDOW)
        extractor.collect(cursor.matches(root))
    extractor.finish()
    return result


class _Extractor:
    """Turns one file's query matches into symbols, references and imports."""

    def __init__(self, source: bytes, compiled: _Compiled, result: ParsedFile) -> None:
        self.src = source
        self.spec = compiled.spec
        self.roles = compiled.roles
        self.result = result
        self.defs: dict[tuple[int, int], _Def] = {}
        self.refs: dict[int, tuple[Node, str]] = {}
        self.imports: dict[int, tuple[Node, list[str]]] = {}

    def text(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def collect(self, matches: list[tuple[int, dict[str, list[Node]]]]) -> None:
        for pattern, captures in matches:
            self._collect(pattern, captures)

    def finish(self) -> None:
        defs = self._name_defs()
        scopes = self._scope_references(defs)
        bases: dict[str, list[str]] = {}
        for ref in self.result.references:
            if ref.kind == "inherit" and ref.scope is not None:
                bases.setdefault(ref.scope, []).append(scopes[ref.start_byte])
        self.result.symbols = [self._symbol(d, bases) for d in defs if d.kind != "impl"]
        self.result.imports = self._imports()

    def _collect(self, pattern: int, captures: dict[str, list[Node]]) -> None:
        roles = self.roles
        def_node = name_node = receiver = None
        def_kind = ""
        modules: list[Node] = []
        names: list[Node] = []
        for capture, nodes in captures.items():
            role, kind = roles[capture]
            if role == "ref":
                for node in nodes:
                    self._add_ref(node, kind)
            elif role in ("def", "scope"):
                def_node, def_kind = nodes[0], kind if role == "def" else "impl"
            elif role in ("defname", "scopename"):
                name_node = nodes[0]
            elif role == "receiver":
                receiver = nodes[0]
            elif role == "module":
                modules.extend(nodes)
            elif role == "name":
                names.extend(nodes)
        if def_node is not None:
            key = (def_node.start_byte, def_node.end_byte)
            old = self.defs.get(key)
            if old is None or pattern < old.pattern:
                self.defs[key] = _Def(def_node, name_node, def_kind, pattern, receiver)
        for module in modules:
            entry = self.imports.setdefault(module.start_byte, (module, []))
            entry[1].extend(self.text(n) for n in names)

    def _add_ref(self, node: Node, kind: str) -> None:
        old = self.refs.get(node.start_byte)
        if old is None or _REF_PRIORITY.get(kind, 9) < _REF_PRIORITY.get(old[1], 9):
            self.refs[node.start_byte] = (node, kind)

    def _name_defs(self) -> list[_Def]:
        """Sort definitions, give each its name, qualname, parent and final kind."""
        defs = sorted(self.defs.values(), key=lambda d: (d.node.start_byte, -d.node.end_byte))
        stack: list[_Def] = []
        for d in defs:
            start = d.node.start_byte
            while stack and stack[-1].node.end_byte <= start:
                stack.pop()
            outer = stack[-1] if stack else None
            raw = self.text(d.name_node) if d.name_node is not None else ""
            qualifier, d.name = split_qualified(raw)
            if d.receiver is not None:
                qualifier = last_segment(self.text(d.receiver))
            if qualifier:
                d.parent = qualifier if outer is None else f"{outer.qualname}.{qualifier}"
            else:
                d.parent = outer.qualname if outer is not None else None
            d.qualname = f"{d.parent}.{d.name}" if d.parent else d.name
            if d.kind == "function" and (
                d.receiver is not None or (outer is not None and outer.kind in _CONTAINERS)
            ):
                d.kind = "method"
            elif d.kind == "variable" and d.name.isupper():
                d.kind = "constant"
            stack.append(d)
        return [d for d in defs if d.name]

    def _scope_references(self, defs: list[_Def]) -> dict[int, str]:
        """Emit references with their innermost enclosing symbol; returns start -> full text."""
        def_names = {d.name_node.start_byte for d in defs if d.name_node is not None}
        scoping = [d for d in defs if d.kind not in _NOT_SCOPES]
        full: dict[int, str] = {}
        out = self.result.references
        stack: list[_Def] = []
        i = 0
        for start in sorted(self.refs):
            if start in def_names:
                continue
            while i < len(scoping) and scoping[i].node.start_byte <= start:
                d = scoping[i]
                i += 1
                while stack and stack[-1].node.end_byte <= d.node.start_byte:
                    stack.pop()
                stack.append(d)
            while stack and stack[-1].node.end_byte <= start:
                stack.pop()
            node, kind = self.refs[start]
            text = self.text(node)
            full[start] = collapse(text)
            scope = stack[-1].qualname if stack else None
            line = node.start_point[0] + 1
            out.append(Reference(last_segment(text), kind, line, start, scope))
        return full

    def _symbol(self, d: _Def, bases: dict[str, list[str]]) -> Symbol:
        node = self._outer(d.node)
        return Symbol(
            name=d.name,
            qualname=d.qualname,
            kind=d.kind,
            signature=self._signature(d.node),
            doc=self._doc(d.node, node),
            parent=d.parent,
            start_line=node.start_point[0] + 1,
            end_line=node.end_point[0] + 1,
            start_byte=node.start_byte,
            end_byte=node.end_byte,
            bases=tuple(bases.get(d.qualname, ())),
        )

    def _outer(self, node: Node) -> Node:
        """Grow to a wrapper (decorators, `export`, Go `type`) that holds only this node."""
        wrappers = self.spec.wrappers
        parent = node.parent
        while parent is not None and parent.type in wrappers:
            if any(c.type == node.type and c != node for c in parent.named_children):
                break
            node, parent = parent, parent.parent
        return node

    def _signature(self, node: Node) -> str:
        body = node.child_by_field_name("body")
        if body is None:
            body = next((c for c in node.named_children if c.type in _BODY_TYPES), None)
        end = body.start_byte if body is not None else node.end_byte
        end = min(end, node.start_byte + _SIGNATURE_SCAN)
        text = collapse(self.src[node.start_byte : end].decode("utf-8", "replace"))
        if body is not None:
            text = text.rstrip(" {:=").rstrip()
        return text if len(text) <= SIGNATURE_CAP else text[: SIGNATURE_CAP - 1] + "…"

    def _doc(self, node: Node, outer: Node) -> str:
        if self.spec.doc_style == "docstring":
            doc = python_docstring(node, self.src)
            if doc:
                return doc
        return self._leading_comment(outer)

    def _leading_comment(self, node: Node) -> str:
        comments: list[Node] = []
        row = node.start_point[0]
        sibling = node.prev_sibling
        skip = self.spec.doc_skip
        while sibling is not None and len(comments) < _MAX_DOC_COMMENTS:
            if sibling.type in skip:
                row = sibling.start_point[0]
            elif "comment" in sibling.type and sibling.end_point[0] >= row - 1:
                before = sibling.prev_sibling
                if before is not None and before.end_point[0] == sibling.start_point[0]:
                    break  # a trailing comment of the previous statement
                comments.append(sibling)
                row = sibling.start_point[0]
            else:
                break
            sibling = sibling.prev_sibling
        return clean_comment([self.text(c) for c in reversed(comments)])

    def _imports(self) -> list[Import]:
        out: list[Import] = []
        relative = self.spec.relative_imports
        for start in sorted(self.imports):
            node, names = self.imports[start]
            module = strip_module(self.text(node))
            level = 0
            if relative:
                stripped = module.lstrip(".")
                level, module = len(module) - len(stripped), stripped
            line = node.start_point[0] + 1
            out.append(Import(module, line, tuple(dict.fromkeys(names)), level))
        return out

