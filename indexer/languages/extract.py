"""Query matches -> `Symbol`, `Reference` and `Import` objects (used by `indexer.parse.treesitter`).

Hot path: a Go file yields ~100 matches, mostly single-capture references, which take a
fast path; symbol details (signature, doc, wrapper range) cost a few node calls per symbol.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, TypeAlias, cast

from tree_sitter import Node, Query

from indexer.core import Import, ParsedFile, Reference, Symbol
from indexer.core.model import go_package_name
from indexer.languages import JS_LANGUAGES, LanguageSpec
from indexer.languages.params import SELF_WORDS, field_type_of, returns_of
from indexer.languages.text import (
    clean_comment,
    collapse,
    last_segment,
    python_docstring,
    split_qualified,
    strip_generics,
    strip_module,
)
from indexer.languages.typescopes import Local, Scope, TypeScopes

# Names and module strings repeat across a worker's files (receivers, qualified bases,
# imports): their parsing is cached.
_last_segment = lru_cache(maxsize=4096)(last_segment)
_strip_module = lru_cache(maxsize=4096)(strip_module)


SIGNATURE_CAP = 200
_SIGNATURE_SCAN = 1200  # bytes of declaration looked at before collapsing
_MAX_DOC_COMMENTS = 60
# a bundler's annotation between a doc comment and its definition (`/*@__NO_SIDE_EFFECTS__*/`,
# `/* #__PURE__ */`): passed over, never taken for the doc
_PRAGMA = re.compile(r"/\*\s*[#@]__[A-Z_]+__\s*\*/")
_MAX_WRAPPED = 8  # decorators/keywords a wrapper may hold besides the definition

_DEF_KIND_ALIASES = {
    "constructor": "method",
    "namespace": "module",
    "object": "class",
    "union": "struct",
    "property": "field",
    "enum_variant": "constant",
}
_REF_KIND_ALIASES = {"implementation": "inherit", "class": "type", "send": "call"}
_REF_PRIORITY = {"inherit": 0, "call": 1, "type": 2, "name": 3}  # all < 16: see Extractor.refs
_CONTAINERS = frozenset({"class", "struct", "interface", "trait", "enum", "impl"})
_NOT_SCOPES = frozenset({"field"})
_LEAF_KINDS = frozenset({"field", "variable", "constant"})
_BODY_TYPES = frozenset(
    [
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
    ]
)
_SIMPLE_ROLES = {
    "import.module": "module",
    "import.name": "name",
    "import.fn": "importfn",
    "scope": "scope",
    "name.scope": "scopename",
    "receiver": "receiver",
    "qualifier": "qualifier",
    "qualifier.path": "qualifier",
    "local.name": "localname",
    "local.type": "localtype",
    "local.call": "localcall",
    "local.alias": "localalias",
    "local.scope": "localscope",
}
# a type as written; a called function; a name whose type the assigned one takes
_LOCAL_TYPES = frozenset({"localtype", "localcall", "localalias"})
_RETURNING = frozenset({"function", "method"})  # definitions whose return type is kept
_MAX_RETURNED = 3  # calls a value's type is followed back through (`(=(=New).Group).`)
# A receiver as a qualifier: a name or a dotted chain of names (`self`, `helpers`,
# `self.app`); `super()` (Python) stands for itself; anything else is an expression (`?`)
_DOTTED = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_PATH = re.compile(r"[^\W\d]\w*(?:::[^\W\d]\w*)*")
_MAX_QUALIFIER = 80
# receivers kept as written: the instance or class a method runs in (with `super()`), and
# the names a file's imports bind; any other receiver is a value of unknown type (`?.`)
_SUPER = frozenset({"super().", "super."})  # Python's `super()`, JavaScript's `super`
# definitions whose bodies declare no variables their methods see
_TYPE_SCOPES = frozenset({"class", "struct", "interface", "trait", "enum", "impl", "type",
                          "module", "namespace", "object"})


# (role, kind, priority, qualifier): the qualifier of a reference that a match holds alone:
# None (not known) or "" (a bare name; see `indexer.languages`)
Role = tuple[str, str, int, str | None]


def _stored(qual: str, separator: str, bound: dict[str, str],
            supers: frozenset[str] = _SUPER, aliases: dict[str, str] | None = None) -> str:
    """`qualifier_text`'s `qual` as stored in a file whose imports bind `bound`, in a
    language whose `super` calls are written `supers`; a first name that is one of Python's
    import `aliases` is written as what it stands for (`r.` -> `werkzeug.routing.`)."""
    first = qual.partition(separator)[0]
    if separator == ".":
        if aliases and first in aliases:
            return aliases[first] + qual[len(first):]
        return qual if first in SELF_WORDS or first in bound or qual in supers else "?."
    full = bound.get(first)
    return full + qual[len(first):] if full and len(full) < _MAX_QUALIFIER else qual


def _receiver(path: str, separator: str, type_at: Callable[[str], str | None],
              stored: Callable[[tuple[str, str]], str]) -> str:
    """The qualifier stored for a call after `path` (`Extraction._qualifiers`), with
    `type_at` the types of the names of the call's scope and `stored` a path's qualifier as
    written: a value a function returned is followed back through the calls it came from
    (`(=(=New).Group).`), at most `_MAX_RETURNED`, and a field of a value of a known type
    is written as a call of it (`c.engine.Run()` with `c *Context`: `(=(Context).engine).`;
    the graph reads a field's declared type as what it returns), a field of that field as a
    call of the call (`c.engine.trees.get()`: `(=(=(Context).engine).trees).`). A loop, not a recursive
    closure: a closure that calls itself is a reference cycle, which kept each file's
    scopes and tree alive until the next collection (a worker's peak RSS on moby 20 MB
    higher)."""
    called: list[str] = []  # the functions a value came from, the outermost first
    while True:
        first, dot, rest, known = _first_name(path, separator, type_at)
        if known == "self":
            path = "self" + path[len(first):]
        elif known and dot and _DOTTED.fullmatch(rest):  # a field of a value of a known
            # type, of a field of one ... (names only: `t.Field(0).Type` is an expression)
            if len(called) >= _MAX_RETURNED:
                return "?."
            path, _, field = path.rpartition(".")
            called.append(field)  # read as what a call of it returns: the field's type
            continue
        elif known and not dot and known.startswith("="):
            if len(called) >= _MAX_RETURNED:  # `x = x.next()`, or a long chain
                return "?."
            separator = "::" if "::" in known else "."
            path, _, name = known[1:].rpartition(separator)
            if not path and type_at(name) is not None:
                return "?."  # a parameter or variable called: not the function
            called.append(name)
            if path:
                continue
            qual = ""
            break
        elif known and not dot:
            qual = f"({known})."
            break
        # a parameter or variable of unknown type is a value, whatever an import binds
        # under its name (`for t in tokens: t.test()` after `import typing as t`)
        qual = "?." if known == "" else stored((path, separator))
        break
    for name in reversed(called):
        if qual.startswith("?"):
            return "?."
        qual = f"(={qual}{name})."
    return qual


def _first_name(path: str, separator: str, type_at: Callable[[str], str | None],
                ) -> tuple[str, str, str, str | None]:
    """`path` as its first name, the separator after it, the rest, and the first name's
    type in the call's scope (`type_at`; None where that is not looked up): the first name
    is an instance's attribute (`self.app`) where the class's methods assign it a value of
    one type (`indexer.languages.typescopes`)."""
    first, dot, rest = path.partition(".")
    if separator != ".":
        return first, dot, rest, None
    if first not in SELF_WORDS:
        return first, dot, rest, type_at(first)
    attribute, after_dot, after = rest.partition(".")
    known = type_at(f"{first}.{attribute}") if dot else None
    if known:
        return f"{first}.{attribute}", after_dot, after, known
    return first, dot, rest, None


def _first_use(seen: set[tuple[str, str | None, Any]], key: tuple[str, str | None, Any],
               ) -> bool:
    """Whether `key` is not in `seen` (and add it)."""
    if key in seen:
        return False
    seen.add(key)
    return True


def capture_role(capture: str) -> Role:
    """(role, kind, priority, qualifier) of a capture name; see the conventions in
    `indexer.languages`."""
    kind = capture.rpartition(".")[2]
    if capture.startswith("name.definition."):
        return "defname", _DEF_KIND_ALIASES.get(kind, kind), 0, None
    if capture.startswith("definition."):
        return "def", _DEF_KIND_ALIASES.get(kind, kind), 0, None
    if capture.startswith("name.reference."):
        kind = _REF_KIND_ALIASES.get(kind, kind)
        bare = "" if capture.startswith("name.reference.bare.") else None
        return "ref", kind, _REF_PRIORITY.get(kind, 9), bare
    role = _SIMPLE_ROLES.get(capture, "ignore")
    return role, "::" if capture == "qualifier.path" else ".", 0, None


def qualifier_text(text: str, separator: str) -> str:
    """A call's qualifier as stored: the receiver (`.`) or path (`::`) as written, without
    whitespace or generic arguments, followed by its separator (`helpers.`, `self.app.`,
    `Gitignore::`, `io::Error::`); `super().` for any `super(...)`; `?.` / `?::` for an
    expression (`foo().bar`, `<T as Trait>`)."""
    text = "".join(text.split())
    if separator == "::":
        text = strip_generics(text).removesuffix("::").removeprefix("::")
        ok = _PATH.fullmatch(text) is not None
    elif text.startswith("super(") and text.endswith(")"):
        return "super()."
    else:
        ok = _DOTTED.fullmatch(text) is not None
    return (text if ok and len(text) <= _MAX_QUALIFIER else "?") + separator


_Qualifier: TypeAlias = tuple[Node, str] | str | None


@dataclass(frozen=True, slots=True)
class Compiled:
    spec: LanguageSpec
    query: Query
    roles: dict[str, Role]  # capture name -> capture_role(name)


@dataclass(slots=True)
class _Def:
    node: Node
    start: int  # node.start_byte
    end: int  # node.end_byte
    name_node: Node | None
    kind: str  # capture kind; "impl" for a @scope
    pattern: int
    receiver: Node | None
    qualname: str = ""
    name: str = ""
    parent: str | None = None


def find_body(node: Node) -> tuple[Node | None, bool]:
    """The body of a definition (`body` field, or a body-like child or grandchild), and
    whether it is a direct child."""
    body = node.child_by_field_name("body")
    if body is not None:
        return body, True
    children = node.named_children
    for child in children:
        if child.type in _BODY_TYPES:
            return child, True
    if not children:
        return None, False
    last = children[-1]
    body = last.child_by_field_name("body")
    if body is not None:
        return body, False
    return next((c for c in last.named_children if c.type in _BODY_TYPES), None), False


def _cap(signature: str) -> str:
    return signature if len(signature) <= SIGNATURE_CAP else signature[: SIGNATURE_CAP - 1] + "…"


def _end_line(node: Node) -> int:
    """1-based last line; a node ending just after a newline (`#define`, a Rust `///` line
    comment) ends on that line."""
    row, column = node.end_point
    return row if column == 0 and row > node.start_point[0] else row + 1


def _header_end(node: Node, body: Node) -> int:
    """End of the last non-comment child before `body` (drops comments between them)."""
    end = node.start_byte
    for child in node.children:
        if child.start_byte >= body.start_byte:
            break
        if "comment" not in child.type:
            end = child.end_byte
    return end


# The clock of a file's parse budget: the parsing thread's CPU time, not wall time. A parse
# that waits for a busy machine's cores must not run out of budget (it did: the same file
# lost its signatures and docs on a loaded machine and kept them on an idle one, so two
# indexes of one tree differed); a hostile file that makes tree-sitter work is still cut off.
parse_clock = time.thread_time


class Extractor:
    """Accumulates one file's matches, then builds its symbols, references and imports."""

    def __init__(self, source: bytes, compiled: Compiled, deadline: float) -> None:
        self.src = source
        self.deadline = deadline
        self.details_skipped = 0
        self.spec = compiled.spec
        self.roles = compiled.roles
        # by (start, end, name start): one declaration may define several names
        # (`onCommit, onRollback []func() error`, `var c, d = 1, 2`), one definition each
        self.defs: dict[tuple[int, int, int], _Def] = {}
        # references as (start_byte << 4 | priority, kind, node, qualifier): one int sorts
        # them; the qualifier None, "" (bare) or (node, separator), made text in `finish`
        self.refs: list[tuple[int, str, Node, _Qualifier]] = []
        self.imports: dict[int, tuple[Node, list[str]]] = {}
        # Python's import aliases: `r` -> `werkzeug.routing` (`import werkzeug.routing as r`),
        # `z` -> `y` (`from m import y as z`)
        self.aliases: dict[str, str] = {}
        # a name `from m import y as z` binds: a use of `z` is one of `y`, through `m.`
        self.renamed: dict[str, tuple[str, str]] = {}
        self.conflicted: set[str] = set()  # aliases bound to two things: neither
        self.plain: set[str] = set()  # the names imports bind without an alias
        # (name, type, role) of a variable (or an instance's attribute) assigned or declared:
        # the node saying its type and what that node is, "localtype" (a type as written),
        # "localcall" (a called function) or "localalias" (a name whose type it takes);
        # None and "" where the match holds none (the name's type hidden)
        self.locals: list[Local] = []
        self.anonymous: list[Node] = []  # functions without a name (`indexer.typescopes`)
        # an ASCII file's text: str slices at byte offsets, no decoding per node
        self.ascii = source.decode("ascii") if source.isascii() else None

    def text(self, node: Node) -> str:
        if self.ascii is not None:
            return self.ascii[node.start_byte : node.end_byte]
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def collect(self, matches: list[tuple[int, dict[str, list[Node]]]]) -> None:
        roles = self.roles
        refs = self.refs
        append = refs.append
        for pattern, captures in matches:
            if len(captures) == 1:  # most matches: one reference node
                ((capture, nodes),) = captures.items()
                role, kind, prio, qual = roles[capture]
                if role == "ref":
                    if len(nodes) == 1:
                        node = nodes[0]
                        append((node.start_byte << 4 | prio, kind, node, qual))
                    else:
                        refs.extend((n.start_byte << 4 | prio, kind, n, qual) for n in nodes)
                    continue
                if role == "localname":
                    self.locals.extend((n, None, "") for n in nodes)
                    continue
                if role == "localscope":
                    self.anonymous.extend(nodes)
                    continue
            elif len(captures) == 2:  # the next most: a reference and its qualifier
                (first, firsts), (second, seconds) = captures.items()
                one, two = roles[first], roles[second]
                if two[0] == "qualifier" and one[0] == "ref":
                    one, two, firsts, seconds = two, one, seconds, firsts
                if one[0] == "qualifier" and two[0] == "ref":
                    qualified: _Qualifier = (firsts[0], one[1])
                    refs.extend((n.start_byte << 4 | two[2], two[1], n, qualified)
                                for n in seconds)
                    continue
                if one[0] in _LOCAL_TYPES and two[0] == "localname":
                    one, two, firsts, seconds = two, one, seconds, firsts
                if one[0] == "localname" and two[0] in _LOCAL_TYPES:  # a variable's type
                    self.locals.append((firsts[0], seconds[0], two[0]))
                    continue
            self._collect(pattern, captures)

    def _collect(self, pattern: int, captures: dict[str, list[Node]]) -> None:
        def_node = name_node = receiver = None
        def_kind = ""
        modules: list[Node] = []
        names: list[Node] = []
        for capture, nodes in captures.items():
            role, kind, prio, qual = self.roles[capture]
            if role == "ref":
                self.refs.extend((n.start_byte << 4 | prio, kind, n, qual) for n in nodes)
            elif role == "def" or role == "scope":
                def_node, def_kind = nodes[0], kind if role == "def" else "impl"
            elif role == "defname" or role == "scopename":
                name_node = nodes[0]
            elif role == "receiver":
                receiver = nodes[0]
            elif role == "module":
                modules.extend(nodes)
            elif role == "name":
                names.extend(nodes)
            elif role == "importfn" and self.text(nodes[0]) not in self.spec.import_functions:
                return
        if def_node is not None:
            start, end = def_node.start_byte, def_node.end_byte
            key = (start, end, name_node.start_byte if name_node is not None else -1)
            old = self.defs.get(key)
            if old is None or pattern < old.pattern:
                self.defs[key] = _Def(
                    def_node, start, end, name_node, def_kind, pattern, receiver
                )
        if modules:
            self._import(modules, names)

    def _import(self, modules: list[Node], names: list[Node]) -> None:
        """An import's modules and names, and Python's aliases: `import a.b as r` stands
        for `a.b`, `from m import y as z` for `m.y` (`y` where `m` is only dots: `from .
        import views as v`). `y` alone could be another of the file's names
        (`from jinja2 import Environment as BaseEnvironment` in a class `Environment`)."""
        for module in modules:
            entry = self.imports.setdefault(module.start_byte, (module, []))
            entry[1].extend(self.text(n) for n in names)
        home = collapse(self.text(modules[0])).replace(" ", "").lstrip(".") if names else ""
        for node in (*modules, *names):
            parent = node.parent
            alias = parent.child_by_field_name("alias") if (
                parent is not None and parent.type == "aliased_import") else None
            if alias is not None:
                self._alias(self.text(alias), collapse(self.text(node)).replace(" ", ""),
                            home if node not in modules else "")
            elif node not in modules or not names:  # `from m import n`, `import a.b`
                self.plain.add(collapse(self.text(node)).lstrip(".").split(".", 1)[0])

    def _settle_aliases(self, defs: list[_Def]) -> None:
        """An alias whose name the file also binds otherwise stands for neither: an import
        without an alias (`try: from .c_impl import CParser as Parser`, `except ImportError:
        from .py_impl import Parser`), or a definition at its top level (`except
        ImportError: def escape(s): ...`)."""
        if not self.aliases:  # most files, and every file outside Python
            return
        bound = self.plain | {d.name for d in defs if d.qualname == d.name}
        for alias in bound & self.aliases.keys():
            self._drop_alias(alias)

    def _alias(self, alias: str, written: str, home: str) -> None:
        """`alias` stands for `written` (`from home import written as alias` where `home` is
        a module's name). An alias bound to two things (`try: from a import X as Y`,
        `except ImportError: from b import X as Y`) stands for neither."""
        target = f"{home}.{written}" if home else written
        if alias in self.conflicted or self.aliases.setdefault(alias, target) != target:
            self._drop_alias(alias)
        elif home and alias != written:  # `BaseRequest` is `Request`
            self.renamed[alias] = (written, f"{home}.")

    def _drop_alias(self, alias: str) -> None:
        """`alias` stands for nothing the file can say, now and for its later imports."""
        self.conflicted.add(alias)
        self.aliases.pop(alias, None)
        self.renamed.pop(alias, None)

    def finish(self, result: ParsedFile) -> None:
        defs = self._name_defs()
        bases = self._scope_references(defs, result.references)
        by_qualname = {d.qualname: d for d in reversed(defs) if d.kind != "impl"}
        for d in defs:  # `impl Trait for Foo` / Swift extensions: the bases belong to Foo
            target = by_qualname.get(d.qualname) if d.kind == "impl" else None
            if target is not None and id(d) in bases:
                bases.setdefault(id(target), []).extend(bases[id(d)])
        result.symbols = [self._symbol(d, bases) for d in defs if d.kind != "impl"]
        result.imports = self._imports()

    def _name_defs(self) -> list[_Def]:
        """Sort definitions, give each its name, qualname, parent and final kind."""
        defs = [self.defs[k] for k in sorted(self.defs, key=lambda k: (k[0], -k[1], k[2]))]
        stack: list[_Def] = []
        text = self.text
        for d in defs:
            start = d.start
            # a name of the same declaration as the one before is its sibling, not inside it
            while stack and (stack[-1].end <= start
                             or (stack[-1].start == start and stack[-1].end == d.end)):
                stack.pop()
            outer = stack[-1] if stack else None
            raw = text(d.name_node) if d.name_node is not None else ""
            qualifier, d.name = split_qualified(raw)
            if d.receiver is not None:
                qualifier = _last_segment(text(d.receiver))
            if qualifier:
                d.parent = qualifier if outer is None else f"{outer.qualname}.{qualifier}"
            else:
                d.parent = outer.qualname if outer is not None else None
            d.qualname = f"{d.parent}.{d.name}" if d.parent else d.name
            if d.kind == "function" and (
                qualifier or (outer is not None and outer.kind in _CONTAINERS)
            ):
                d.kind = "method"
            elif d.kind == "variable" and d.name.isupper():
                d.kind = "constant"
            stack.append(d)
        return [d for d in defs if d.name]

    def _scope_references(self, defs: list[_Def], out: list[Reference]) -> dict[int, list[str]]:
        """Append references with their innermost enclosing symbol; returns inherit bases."""
        names = {d.name_node.start_byte for d in defs if d.name_node is not None}
        self._settle_aliases(defs)
        qualifier, local = self._qualifiers(defs)
        ignored = self.spec.ignored_refs
        bases: dict[int, list[str]] = {}  # id(_Def) -> base texts
        renamed = self.renamed
        seen_types: set[tuple[str, str | None, Any]] = set()
        src, ascii_text = self.src, self.ascii
        # scopes as (start, end, def) in start order, and a stack of (end, qualname, def) on
        # a bottom entry that no reference leaves (the file's top level)
        spans = [(d.start, d.end, d) for d in defs if d.kind not in _NOT_SCOPES]
        past = len(src) + 1  # beyond every node
        spans.append((past, past, cast(_Def, None)))  # a sentinel no reference reaches
        stack: list[tuple[int, str | None, _Def | None]] = [(past, None, None)]
        i = 0
        next_start = spans[0][0]
        append = out.append
        self.refs.sort(key=itemgetter(0))
        previous = -1
        for key, kind, node, qual in self.refs:
            start = key >> 4
            # a definition's name is no reference; later duplicates of a node (same start)
            # have a lower priority
            if start == previous or start in names:
                continue
            previous = start
            if ascii_text is not None:
                text = ascii_text[start : node.end_byte]
            else:
                text = src[start : node.end_byte].decode("utf-8", "replace")
            name = text if text.isidentifier() else _last_segment(text)
            if name in ignored:
                continue
            if not qual and name in renamed and not local(name, start):
                name, qual = renamed[name]  # `BaseRequest(...)`, `class R(BaseRequest)`
                text = qual + name  # a base as `models.Request`
            while next_start <= start:
                d_start, d_end, d = spans[i]
                i += 1
                next_start = spans[i][0]
                while stack[-1][0] <= d_start:
                    stack.pop()
                stack.append((d_end, d.qualname, d))
            while stack[-1][0] <= start:
                stack.pop()
            scope = stack[-1][1]
            if kind == "type" and not _first_use(seen_types, (name, scope, qual)):
                continue  # one type use per (name, scope) is all the graph needs
            if qual.__class__ is tuple:  # the receiver or path before the name, as text
                qual = qualifier(qual, start)
            append(Reference(name, kind, node.start_point[0] + 1, start, scope,
                             cast(str | None, qual)))
            if kind == "inherit" and len(stack) > 1:
                bases.setdefault(id(stack[-1][2]), []).append(collapse(text))
        return bases

    def _qualifiers(self, defs: list[_Def]) -> tuple[Callable[[tuple[Node, str], int], str],
                                                    Callable[[str, int], bool]]:
        """This file's qualifier node (and separator), and the call's offset (asked in
        increasing order) -> the qualifier as stored (`qualifier_text`): a method's receiver
        is written `self` (Go's `c.Render` in `func (c *Context)` is `self.Render`), a name
        whose type the scope knows alone its type in parentheses (`(gin.Context).`,
        `indexer.languages.typescopes`), or the function whose value it holds after `=`,
        that function's qualifier stored as a call's (`(=gin.New).`, `(=std::fs::open).`,
        `(=(Flask).test_client).`; `?.` where that says a value); a receiver whose first
        name is neither `self`-like
        nor bound by an import is a value of unknown type (`?.`); a path's first name bound
        by a `use` is written out (`io::Error::` after `use std::io` is `std::io::Error::`).
        With it, whether a name is a parameter or variable at an offset (asked in the same
        order, before the qualifier at that offset)."""
        bound = self._bindings()
        supers = _SUPER if self.spec.name in JS_LANGUAGES else _SUPER - {"super."}
        memo: dict[tuple[str, str], str] = {}
        text = self.text
        scopes = TypeScopes(
            [Scope(d.start, d.end, d.node, d.receiver, d.kind in _TYPE_SCOPES)
             for d in defs if d.kind not in _LEAF_KINDS]
            + [Scope(n.start_byte, n.end_byte, n, None, False) for n in self.anonymous],
            self.locals, text, self.spec.name)
        scope_at = scopes.cursor()
        type_of = scopes.type_of

        def stored(key: tuple[str, str]) -> str:
            qual = memo.get(key)
            if qual is None:
                qual = memo[key] = _stored(qualifier_text(*key), key[1], bound, supers,
                                           self.aliases)
            return qual

        def type_at(scope: int, name: str) -> str | None:
            """`name`'s type in `scope`, a type's first name that is an import alias
            written out (`r.Map` -> `werkzeug.routing.Map`; `F` -> `Flask` after
            `from .app import Flask as F`)."""
            kind = type_of(scope, name)
            first, dot, rest = kind.partition(".") if kind else ("", "", "")
            return self.aliases[first] + dot + rest if first in self.aliases else kind

        typed = type_at if self.aliases else type_of  # no alias to write out: no wrapper

        def qualifier(found: tuple[Node, str], offset: int) -> str:
            if found[1] != ".":  # a path (`Gitignore::`) names a type or module, no value
                return stored((text(found[0]), found[1]))
            return _receiver(text(found[0]), ".", partial(typed, scope_at(offset)), stored)

        def local(name: str, offset: int) -> bool:
            return type_of(scope_at(offset), name) is not None

        return qualifier, local

    def _bindings(self) -> dict[str, str]:
        """The names this file's imports bind, each with the path it stands for
        (`LanguageSpec.import_binding`)."""
        binding = self.spec.import_binding
        out: dict[str, str] = {}
        for node, names in self.imports.values() if binding else ():
            module = _strip_module(self.text(node))
            if binding == "last":  # Go
                out[go_package_name(module)] = module
            elif binding == "path":  # Rust: `use a::b::C;`, `use a::{b, c}` (not `a::*`)
                if node.parent is not None and node.parent.type == "use_wildcard":
                    continue
                module = module.replace(" ", "")
                for name in names or [module.rsplit("::", 1)[-1]]:
                    full = module if name in ("self", module.rsplit("::", 1)[-1]) else (
                        f"{module}::{name}")
                    out[module.rsplit("::", 1)[-1] if name == "self" else name] = full
            elif names:  # Python: `from m import n`
                out.update((n, n) for n in names)
            elif node.parent is None or node.parent.type != "aliased_import":  # `import a.b`
                first = collapse(module).lstrip(".").split(".", 1)[0]
                out[first] = first
        if binding == "first":  # Python's aliases: `r.Map()` is written `werkzeug.routing.`
            out.update(self.aliases)
        return out

    def _symbol(self, d: _Def, bases: dict[int, list[str]]) -> Symbol:
        # Node.parent and sibling steps cost O(depth) in tree-sitter: on a pathological deep
        # file, details (wrapper range, doc, signature) stop once the deadline has passed.
        if parse_clock() <= self.deadline:
            node = self._outer(d.node)
            signature, doc = self._signature(d.node, node, d.kind), self._doc(d.node, node)
        else:
            self.details_skipped += 1
            node, doc = d.node, ""
            signature = collapse(self.text(d.node)[:SIGNATURE_CAP].split("\n", 1)[0])
        return Symbol(
            d.name,
            d.qualname,
            d.kind,
            signature,
            doc,
            d.parent,
            node.start_point[0] + 1,
            _end_line(node),
            node.start_byte,
            node.end_byte,
            tuple(bases.get(id(d), ())),
            returns_of(d.node, d.parent, self.text) if d.kind in _RETURNING
            else field_type_of(d.node, self.text) if d.kind == "field" else "",
        )

    def _outer(self, node: Node) -> Node:
        """Grow to a wrapper (decorators, `export`, Go `type`) that holds only this node."""
        wrappers = self.spec.wrappers
        parent = node.parent
        while parent is not None and parent.type in wrappers:
            if parent.named_child_count > _MAX_WRAPPED:  # a group (`const ( ... )`), not a wrapper
                break
            if any(c.type == node.type and c != node for c in parent.named_children):
                break
            node, parent = parent, parent.parent
        return node

    def _signature(self, node: Node, outer: Node, kind: str) -> str:
        start = node.start_byte if outer.type == "decorated_definition" else outer.start_byte
        if kind in _LEAF_KINDS:  # no body to cut: the whole (short) declaration
            end = min(node.end_byte, start + SIGNATURE_CAP * 2)
            return _cap(collapse(self.src[start:end].decode("utf-8", "replace")))
        body, direct = find_body(node)
        end = body.start_byte if body is not None else node.end_byte
        if body is not None and direct:
            end = _header_end(node, body)
        end = min(end, start + _SIGNATURE_SCAN)
        text = collapse(self.src[start:end].decode("utf-8", "replace"))
        if body is None and kind in _CONTAINERS and "{" in text:  # Go `interface { ... }`
            text = text[: text.index("{")].rstrip()
        if body is not None:
            text = text.rstrip(" {:=").rstrip()
        return _cap(text)

    def _doc(self, node: Node, outer: Node) -> str:
        if self.spec.doc_style == "docstring":
            doc = python_docstring(node, self.src)
            if doc:
                return doc
        return self._leading_comment(outer)

    def _leading_comment(self, node: Node) -> str:
        # each sibling and parent step is a tree-sitter walk: every one is taken once
        comments: list[Node] = []
        row = node.start_point[0]
        sibling = node.prev_sibling
        if sibling is None:  # first in a body: look above
            parent = node.parent
            while parent is not None and parent.start_byte == node.start_byte:
                node, parent = parent, parent.parent
                sibling = node.prev_sibling
                if sibling is not None:
                    break
        skip = self.spec.doc_skip
        while sibling is not None and len(comments) < _MAX_DOC_COMMENTS:
            kind = sibling.type
            if kind in skip or ("comment" in kind and _PRAGMA.fullmatch(self.text(sibling))):
                row = sibling.start_point[0]
                sibling = sibling.prev_sibling
            # rows compared by the line a comment ends on: tree-sitter-rust's `//` comment
            # holds its newline, so its end point is column 0 of the next row
            elif "comment" in kind and _end_line(sibling) >= row:
                before = sibling.prev_sibling
                row = sibling.start_point[0]
                if before is not None and _end_line(before) - 1 == row:
                    break  # a trailing comment of the previous statement
                comments.append(sibling)
                sibling = before
            else:
                break
        return clean_comment([self.text(c) for c in reversed(comments)]) if comments else ""

    def _imports(self) -> list[Import]:
        out: list[Import] = []
        relative = self.spec.relative_imports
        for start in sorted(self.imports):
            node, names = self.imports[start]
            raw = self.text(node)
            level = 0
            if relative:  # Python: `..pkg.mod` -> level 2, `pkg.mod`
                module = collapse(raw).replace(" ", "")
                stripped = module.lstrip(".")
                level, module = len(module) - len(stripped), stripped
            else:
                module = _strip_module(raw)
            line = node.start_point[0] + 1
            out.append(Import(module, line, tuple(dict.fromkeys(names)), level))
        return out
