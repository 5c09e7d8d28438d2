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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from indexer.languages.params import Text, declared, local_type

MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Scope:
    start: int
    end: int
    node: Node
    receiver: Node | None  # a Go method's receiver type (its parameter names the receiver)
    is_type: bool  # a class or type body: its names are not its methods'


class TypeScopes:
    """The scopes of one file and the names each gives a type (see the module doc)."""

    def __init__(self, scopes: list[Scope], assignments: list[tuple[Node, Node | None, bool]],
                 text: Text, language: str) -> None:
        self._scopes = sorted(scopes, key=lambda s: (s.start, -s.end))
        self._text = text
        self._parent: list[int] = []
        open_: list[int] = []
        for i, s in enumerate(self._scopes):
            while open_ and self._scopes[open_[-1]].end <= s.start:
                open_.pop()
            self._parent.append(open_[-1] if open_ else -1)
            open_.append(i)
        # a name node may be both declared and assigned a call's value (two or three
        # matches): the one that says a type comes last, and wins; a written type over a call.
        # Two assignments of a name in one scope that say different types (`h = connect()`,
        # later `h = serve()`; `const h` in two branches) leave it of unknown type.
        self._assigned: dict[int, dict[str, str]] = {}
        by: dict[tuple[int, str], int] = {}  # (scope, name) -> the node that last typed it
        mixed: set[tuple[int, str]] = set()
        at = self.cursor()
        for name, kind, call in sorted(assignments,
                                       key=lambda a: (a[0].start_byte, a[1] is not None,
                                                      not a[2])):
            typed = local_type(text(kind), language, call) if kind is not None else ""
            key = (at(name.start_byte), text(name))
            names = self._assigned.setdefault(key[0], {})
            if by.setdefault(key, name.start_byte) != name.start_byte and names[key[1]] != typed:
                mixed.add(key)
            by[key] = name.start_byte
            names[key[1]] = "" if key in mixed else typed
        self._own: dict[int, dict[str, str]] = {}

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
        (a value of unknown type), or None (no scope around declares it)."""
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
        names = self._own.get(i)
        if names is None:
            s = self._scopes[i]
            names = self._own[i] = {**declared(s.node, s.receiver, self._text),
                                    **self._assigned.get(i, {})}
        return names
