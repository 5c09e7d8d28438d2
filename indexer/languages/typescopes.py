"""Where in a file a name's type is known: the functions and the names each gives a type.

A scope is a definition that is not a leaf (a function, a method, a class) or an anonymous
function (a lambda, an arrow function, a Go function literal, a Rust closure: the queries'
`@local.scope`). Each has its own names (`params.declared`: a method's receiver, its
parameters; the variables assigned in it, `params.local_type`), and sees those of the
scopes around it, inner first, then the file's top level: a closure sees its function's, a
callback's own parameter hides its function's of the same name. A class body's names are
not seen from its methods (Python's rule; other languages keep no variables there).

An assignment of a call's value gives the name the called function's path after `=`
(`=gin.New`, `params.local_type`), which the graph reads as the type that function returns.
In a function the assignments of a name decide its type when they say the same (one that
says none, `""`, hides the type the name has outside; two that say different types, as a
name reassigned or declared in two branches, leave it unknown). The walk up is bounded
(`MAX_DEPTH`): a name looked up deeper is of unknown type, so that a pathological nesting
costs no more than a line.

An attribute a method gives the instance (Python's `self.app = app` with `app: Flask`,
`self.session = Session()`, `self.x: Foo = ...`) is the class's, not the method's: every
method of the class (and a function inside one) sees `self.app` of that type, where the
class's methods that assign it say the same type. `self.x = None` says nothing (an
attribute set later); any other value of unknown type leaves it unknown, and so does a
value read through a name of the assigning method (`self.cur = conn.cursor()`: another
method's `conn` is another value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from tree_sitter import Node

from indexer.languages.params import SELF_WORDS, SEPARATOR, Text, declared, local_type

MAX_DEPTH = 64
# (name, the node saying its type, its role: "localtype", "localcall", "localalias"; None
# and "" for a match saying none), as `indexer.languages.extract` collects them
Local = tuple[Node, Node | None, str]


@dataclass(frozen=True, slots=True)
class Scope:
    start: int
    end: int
    node: Node
    receiver: Node | None  # a Go method's receiver type (its parameter names the receiver)
    is_type: bool  # a class or type body: its names are not its methods'


class TypeScopes:
    """The scopes of one file and the names each gives a type (see the module doc)."""

    def __init__(self, scopes: list[Scope], assignments: list[Local], text: Text,
                 language: str) -> None:
        self._scopes = sorted(scopes, key=lambda s: (s.start, -s.end))
        self._text = text
        self._parent: list[int] = []
        open_: list[int] = []
        for i, s in enumerate(self._scopes):
            while open_ and self._scopes[open_[-1]].end <= s.start:
                open_.pop()
            self._parent.append(open_[-1] if open_ else -1)
            open_.append(i)
        self._assigned: dict[int, dict[str, str]] = {}
        self._attributes: dict[int, dict[str, str]] = {}  # a class's: `self.app` -> its type
        self._own: dict[int, dict[str, str]] = {}
        names: list[tuple[int, str, int, str]] = []
        attributes: list[tuple[int, Local]] = []
        at = self.cursor()
        for local in sorted(assignments, key=lambda a: (a[0].start_byte, a[1] is not None,
                                                        a[2] != "localcall")):
            name, kind, role = local
            scope = at(name.start_byte)
            if name.type == "attribute":
                attributes.append((scope, local))
                continue
            typed = (local_type(text(kind), language, role == "localcall")
                     if kind is not None else "")
            names.append((scope, text(name), name.start_byte, typed))
        self._merge(self._assigned, names)
        # after the names: an attribute assigned a parameter or variable takes its type
        self._merge(self._attributes, self._typed_attributes(attributes, text, language))

    @staticmethod
    def _merge(into: dict[int, dict[str, str]],
               typed: Iterable[tuple[int, str, int, str]]) -> None:
        """(scope, name, the name node's offset, the type it says), in the order of the
        offsets, into `into`. A name node may be both declared and assigned a call's value
        (two or three matches): the one that says a type comes last, and wins; a written
        type over a call. Two assignments of a name in one scope that say different types
        (`h = connect()`, later `h = serve()`; `const h` in two branches) leave it of
        unknown type."""
        by: dict[tuple[int, str], int] = {}  # (scope, name) -> the node that last typed it
        mixed: set[tuple[int, str]] = set()
        for scope, name, offset, kind in typed:
            key = (scope, name)
            names = into.setdefault(scope, {})
            if by.setdefault(key, offset) != offset and names[name] != kind:
                mixed.add(key)
            by[key] = offset
            names[name] = "" if key in mixed else kind

    def _typed_attributes(self, attributes: list[tuple[int, Local]], text: Text,
                          language: str) -> Iterator[tuple[int, str, int, str]]:
        """(class, `self.x`, offset, type) of each instance attribute a method assigns, one
        per assignment: of the matches of one (the value said of any attribute first, then
        a call's, a written type's), the last. So an assignment of a value of unknown type
        counts as one, which `_merge` holds against the others (`self.z, self.w = ...`,
        then `self.z = Bar()`: unknown)."""
        last: dict[int, tuple[int, str, int, str]] = {}
        for typed in self._attribute_matches(attributes, text, language):
            last[typed[2]] = typed
        return iter(last.values())

    def _attribute_matches(self, attributes: list[tuple[int, Local]], text: Text,
                           language: str) -> Iterator[tuple[int, str, int, str]]:
        for scope, (name, kind, role) in attributes:
            written = text(name)
            owner = self._class_of(scope)
            if owner < 0 or written.partition(".")[0] not in SELF_WORDS:
                continue
            if kind is None:
                right = name.parent.child_by_field_name("right") if name.parent else None
                if right is not None and right.type == "none":
                    continue  # `self.x = None`: set later, says nothing
                typed = ""
            elif role == "localalias":
                typed = self.type_of(scope, text(kind)) or ""
                typed = "" if typed == "self" else typed
            else:
                typed = local_type(text(kind), language, role == "localcall")
            if typed.startswith("=") and self.type_of(
                    scope, SEPARATOR.split(typed[1:], 1)[0]) is not None:
                typed = ""  # `conn.cursor()` with `conn` this method's: read here, not there
            yield owner, written, name.start_byte, typed

    def _class_of(self, scope: int) -> int:
        """The class (or other type) around the function `scope`, -1 where none is."""
        i, depth = scope, 0
        while i >= 0 and depth < MAX_DEPTH:
            if self._scopes[i].is_type:
                return i if i != scope else -1  # a class body's own line is no method's
            i = self._parent[i]
            depth += 1
        return -1

    def cursor(self) -> Callable[[int], int]:
        """A function from a byte offset to the innermost scope holding it (-1: the file's
        top level), for offsets asked in increasing order."""
        scopes = self._scopes
        open_: list[int] = []
        upcoming = 0

        def at(offset: int) -> int:
            nonlocal upcoming
            while upcoming < len(scopes) and scopes[upcoming].start <= offset:
                while open_ and scopes[open_[-1]].end <= scopes[upcoming].start:
                    open_.pop()
                open_.append(upcoming)
                upcoming += 1
            while open_ and scopes[open_[-1]].end <= offset:
                open_.pop()
            return open_[-1] if open_ else -1

        return at

    def type_of(self, scope: int, name: str) -> str | None:
        """What `name` is in `scope`: "self" (a method's receiver), a type's name, ""
        (a value of unknown type), or None (no scope around declares it). `name` may be an
        instance's attribute (`self.app`): the type the class's methods assign it."""
        if "." in name:
            owner = self._class_of(scope)
            return self._attributes.get(owner, {}).get(name) if owner >= 0 else None
        i, depth = scope, 0
        while i >= 0:
            if depth >= MAX_DEPTH:
                return ""
            if depth == 0 or not self._scopes[i].is_type:
                names = self._names(i)
                if name in names:
                    return names[name]
            i = self._parent[i]
            depth += 1
        return self._assigned.get(-1, {}).get(name)

    def _names(self, i: int) -> dict[str, str]:
        """Scope `i`'s own names: its parameters and the variables assigned in it. A
        parameter declared of a type and assigned in the body a value of another
        (`loader: Loader | None = None`, then `if loader is None: loader =
        FileSystemLoader()`) is of unknown type: it may hold any `Loader`. An untyped one
        takes the type assigned (`def test(app): app = StaticApp()`)."""
        names = self._own.get(i)
        if names is None:
            s = self._scopes[i]
            names = declared(s.node, s.receiver, self._text)
            for name, kind in self._assigned.get(i, {}).items():
                names[name] = kind if names.get(name) in (None, "", kind) else ""
            self._own[i] = names
        return names
