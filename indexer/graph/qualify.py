"""What a use's call site says about the definition it reaches: tiers of a name's definitions.

A reference keeps the text before its name (`indexer.core.Reference.qualifier`): None where the
parser reads none (type uses, most languages), "" for a bare name, else a receiver or a path
with its separator (`helpers.`, `self.`, `super().`, `Gitignore::`; `?.` a value of unknown
type). Read against the definitions of the name, it puts each in a tier:

    CONFIRMED 3  the call site names the definition's owner: its type (`Gitignore::new`, and
                 through base classes), its module or package (`binding.Default`,
                 `flask.url_for`), the class the call is in (`self.x`, `this.x`,
                 `Self::x`), a base of it (`super().__init__`, `super.mount`); the type a
                 parameter is declared of (`c *gin.Context`, `app: Flask`), the function
                 that returned the value says it returns (`r := gin.New()`) or the
                 instance's field is declared of (`self.router.`), a base of it or a type
                 based on it; or a bare name's function
    POSSIBLE  2  nothing says otherwise: no qualifier known, or a member reached through a
                 value of unknown type (`c.JSON(...)`, `self.app.run()`) or of an interface
                 or trait; another type's member for a parameter declared of a type
    WEAK      1  a function reached through a value of unknown type (it would have to be a
                 module under another name: `np.mean`); not in JavaScript and TypeScript,
                 where an object holds functions (`api.load()`): POSSIBLE there
    NONE      0  the call site rules it out: a method for a bare name (Python, Go, Rust,
                 JavaScript and TypeScript reach a method through a receiver or a path),
                 another package's function for a Go bare name, what lies outside the type
                 or module a path or import names
                 (`Command::new` is no `Gitignore::new`), an external module's name
                 (`io::Error::new`, `os.path.join`, `http.Get`)

A use resolves among its best tier only (`indexer.graph.refs.Candidates`): precision where the
call site says the owner, every candidate where it does not. The lookups are the graph's (a
name's definitions, a file's import edges), in memory (`GraphTables`) or in SQL
(`indexer.graph.refs_sql.StoreLookup`), and answer alike.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from indexer.core.model import go_package_name
from indexer.languages import JS_LANGUAGES, language_for_path
from indexer.languages.params import SELF_WORDS

NONE, WEAK, POSSIBLE, CONFIRMED = 0, 1, 2, 3
TYPE_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
DISPATCH_KINDS = frozenset({"interface", "trait", "type"})  # stand for other types
# what a receiver reaches: a member of a type (a function nested in a function is none)
MEMBER_KINDS = frozenset({"method", "field", "constant", "property"})
_FUNCTION_KINDS = frozenset({"function", "method"})  # a type inside one is no module's
_HERE = frozenset({"crate", "self", "super"})  # Rust paths to a module of this crate
_EXTERNAL_ROOTS = frozenset({"std", "core", "alloc"})  # Rust paths outside any repository
# Rust's standard modules, which a path starts with after a nested `use std::{io::{self}}`
# the parser does not read: outside the repository unless the file imports one of its own
_STD_MODULES = frozenset({
    "alloc", "any", "array", "ascii", "borrow", "boxed", "cell", "char", "cmp", "collections",
    "convert", "default", "env", "error", "f32", "f64", "ffi", "fmt", "fs", "future", "hash",
    "hint", "io", "iter", "marker", "mem", "net", "num", "ops", "option", "os", "panic",
    "path", "pin", "prelude", "primitive", "process", "ptr", "rc", "result", "slice", "str",
    "string", "sync", "task", "thread", "time", "vec",
})
_PACKAGE_FILES = frozenset({"__init__", "mod", "lib"})  # a file standing for its directory
_LINEAGE_DEPTH = 4
# a call's qualifier (`gin.`, `Foo::`, `(Flask).`, nothing) and the called name
_CALLED = re.compile(r"(.*?(?:\.|::)?)([^.:]*)", re.DOTALL)
_MAX_RETURNING = 8  # a call that may reach more functions gives a value of unknown type


class Definition(Protocol):
    """What the tiers read of a definition (`indexer.graph.refs.Definition`)."""

    @property
    def path(self) -> str: ...
    @property
    def qualname(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def bases(self) -> tuple[str, ...]: ...
    @property
    def returns(self) -> str: ...


class Lookup(Protocol):
    """What the tiers read of the graph."""

    def types(self, name: str) -> Sequence[Definition]:
        """The definitions of types (`TYPE_KINDS`) named `name`."""
        ...

    def named(self, name: str) -> Sequence[Definition]:
        """The definitions named `name`."""
        ...

    def lineages(self) -> dict[str, frozenset[str]]:
        """A memo of `lineage` for one name, kept as long as the lookup's definitions."""
        ...

    def best_tiers(self) -> dict[tuple[str, str, str, str], frozenset[int]]:
        """A memo of `refs.best_tier` by (name, `tier_key`), kept as long as the lookup's
        definitions and edges."""
        ...

    def edges(self, path: str) -> Iterable[tuple[str, str, str]]:
        """The import edges of file `path`: (destination, kind, module as written)."""
        ...


@dataclass(frozen=True, slots=True)
class Site:
    """A qualifier, read: `kind` is any, bare, value, self, super, here, named, typed (a
    value of the type `first`...`last` names), returned (a value the function `last`
    returned, called after the qualifier `first`) or field (the instance's field `first`);
    `path`: written as a path (`::`), which names a type or module and never a value."""

    kind: str
    path: bool = False
    first: str = ""
    last: str = ""
    module: str = ""  # the name before the last (`grep_regex` in `grep_regex::Matcher`)


_ANY, _BARE, _VALUE = Site("any"), Site("bare"), Site("value")


@lru_cache(maxsize=8192)
def site(qualifier: str | None) -> Site:
    """What `qualifier` (as stored) says."""
    if qualifier is None:
        return _ANY
    if not qualifier:
        return _BARE
    path = qualifier.endswith("::")
    text = qualifier[:-2] if path else qualifier[:-1]
    called = _CALLED.fullmatch(text[2:-1]) if text.startswith("(=") else None
    if called is not None and text.endswith(")"):  # a value a function returned
        return Site("returned", False, called[1], called[2])
    if text.startswith("(") and text.endswith(")"):  # a value of a declared type
        parts = text[1:-1].replace("::", ".").split(".")
        return Site("typed", False, parts[0], parts[-1], parts[-2] if len(parts) > 1 else "")
    parts = text.split("::" if path else ".")
    if text == "?":
        return Site("value", path)
    if text == "super()" or (text == "super" and not path):  # Python's; JavaScript's
        return Site("super")
    if text == "Self" or (not path and text in SELF_WORDS):
        return Site("self", path)
    if path and parts[-1] in _HERE:
        return Site("here", path)
    if not path and parts[0] in SELF_WORDS:  # an attribute of the instance: its field's type
        return Site("field", False, parts[1]) if len(parts) == 2 else _VALUE
    return Site("named", path, parts[0], parts[-1], parts[-2] if len(parts) > 1 else "")


def tier_key(qualifier: str, path: str, scope: str | None) -> tuple[str, str, str]:
    """What the tiers of a use after `qualifier` depend on besides the name's definitions:
    a bare Python or Rust name's, nothing; a value's, the language (JavaScript or another);
    a Go bare name's, its directory; a path's or an imported name's, the file (its
    imports); `self`'s, the language and the scope; `super()`'s, the file and the scope."""
    kind = site(qualifier).kind
    if kind == "value":
        return qualifier, "js" if _functions_are_values(path) else "", ""
    if kind in ("typed", "returned"):  # the file's imports place a module's type or function
        return qualifier, path, ""
    if kind in ("here", "any") or (kind == "bare" and not path.endswith(".go")):
        return qualifier, "", ""
    if kind == "bare":
        return qualifier, posixpath.dirname(path), ""
    if kind in ("self", "field"):
        return qualifier, "js" if _functions_are_values(path) else "", scope or ""
    if kind == "super":
        return qualifier, path, scope or ""
    return qualifier, path, ""


@lru_cache(maxsize=16384)
def _functions_are_values(path: str) -> bool:
    """In JavaScript and TypeScript a receiver of unknown type, and `this`, may hold any
    function (an object of functions, `module.exports`, a prototype's assignments), so a
    call through one keeps every definition of the name possible."""
    return language_for_path(path) in JS_LANGUAGES


def is_member(d: Definition) -> bool:
    return d.parent is not None and d.kind in MEMBER_KINDS


def leaf(text: str) -> str:
    """`pkg.Base[T]` / `a::B<T>` / `*Context` -> `Base` / `B` / `Context`."""
    for stop in "[<(":
        text = text.split(stop, 1)[0]
    return text.replace("::", ".").rsplit(".", 1)[-1].strip(" *&")


def _owner(d: Definition) -> str | None:
    return _last_name(d.parent) if d.parent else None


@lru_cache(maxsize=16384)
def _last_name(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def tiers(defs: Sequence[Definition], path: str, scope: str | None, qualifier: str | None,
          look: Lookup) -> list[int]:
    """The tier of each of `defs` (the definitions of one name) for a use of the name in
    `path`, inside `scope`, after `qualifier` (see the module doc)."""
    s = site(qualifier)
    if s.kind == "any":
        return [POSSIBLE] * len(defs)
    if s.kind == "bare":
        here, go = posixpath.dirname(path), path.endswith(".go")
        return [NONE if is_member(d) or (go and posixpath.dirname(d.path) != here)
                else CONFIRMED for d in defs]
    if s.kind in ("typed", "returned", "field"):
        typed = (_typed(defs, s, path, look) if s.kind == "typed"
                 else _returned(defs, s, path, look) if s.kind == "returned"
                 else _field(defs, s, scope, look))
        if typed is not None:
            return typed
        s = _VALUE  # a type the repository does not define, or one that dispatches
    if s.kind == "value":
        if _functions_are_values(path):  # `api.load()` may be `const api = {load}`'s
            return [POSSIBLE] * len(defs)
        return [POSSIBLE if is_member(d) else (NONE if s.path else WEAK) for d in defs]
    if s.kind == "here":
        return [NONE if is_member(d) else CONFIRMED for d in defs]
    if s.kind == "self":
        owners = lineage(_segments(scope), look)
        other = POSSIBLE if _functions_are_values(path) else NONE  # `this` of an object
        return [(CONFIRMED if _owner(d) in owners else POSSIBLE) if is_member(d) else other
                for d in defs]
    if s.kind == "super":
        cls = _enclosing_class(path, scope, look)
        if cls is None:
            return [NONE] * len(defs)
        bases = lineage([b for b in map(leaf, cls.bases) if b], look)
        # a base of the class's own name (`class Request(BaseRequest)` after `from .models
        # import Request as BaseRequest`) is another class: not the class's own members
        return [CONFIRMED if is_member(d) and _owner(d) in bases
                and not (d.parent == cls.qualname and d.path == path) else NONE for d in defs]
    return _named(defs, path, s, look)


def _typed(defs: Sequence[Definition], s: Site, path: str, look: Lookup) -> list[int] | None:
    """Tiers for a call through a value of the type `s` names (a parameter's, a variable's):
    a member of the type, of a base of it (inherited) or, outside Go, of a type based on it
    (an override the call may dispatch to) CONFIRMED, another member POSSIBLE (a member the
    parser did not place), a function WEAK. None, read as a value of unknown type, when the
    repository defines no such type where the name points (the module the file imports
    under `s.first`, an external one; a Go type's own package) or only types any other may
    stand for (`_dispatches`)."""
    types = look.types(s.last)
    go = path.endswith(".go")
    if s.first != s.last:
        files, dirs, external = _modules(s.first, path, look)
        if files or dirs:
            types = [t for t in types if _under(t.path, files, dirs)]
        elif external:
            return None  # `ctx context.Context`: not the repository's `Context`
        # `t.Iterable` after `import typing as t` (an alias no import edge is known by): a
        # type inside a function is no module's attribute, whatever module `t` is
        types = [t for t in types if not _in_function(t, look)]
    elif go:
        here = posixpath.dirname(path)
        types = [t for t in types if posixpath.dirname(t.path) == here]
    if not types or all(_dispatches(t) for t in types):
        return None
    owners = lineage([s.last], look)
    out = []
    for d in defs:
        if not is_member(d):
            out.append(WEAK)
            continue
        owner = _owner(d)
        related = owner in owners or (
            not go and owner is not None and s.last in lineage([owner], look))
        out.append(CONFIRMED if related else POSSIBLE)
    return out


def _in_function(t: Definition, look: Lookup) -> bool:
    """Whether the type `t` is defined inside a function (`def test_x(): class Iterable`),
    not at a module's top level, in a type or in a module or namespace of its file (Rust's
    `mod config { struct Settings }`, TypeScript's `namespace NS { class Foo }`)."""
    if t.parent is None:
        return False
    owner = t.parent.rpartition(".")[2]
    return any(p.qualname == t.parent and p.path == t.path and p.kind in _FUNCTION_KINDS
               for p in look.named(owner))


def _returned(defs: Sequence[Definition], s: Site, path: str,
              look: Lookup) -> list[int] | None:
    """Tiers for a call through a value the function `s.last` returned (`r := gin.New()`):
    those of a value of the type its declaration says it returns (`Definition.returns`,
    read where the function is defined; a type called, as Go's conversions are, is its own
    value), when the call's qualifier confirms which definitions it reaches and each says a
    type (`_typed`, the tiers of every such type merged); None, a value of unknown type,
    otherwise."""
    called = look.named(s.last)
    ranked = tiers(called, path, None, s.first, look)
    return _of_types(defs, [d for d, t in zip(called, ranked, strict=True) if t == CONFIRMED],
                     look)


def _field(defs: Sequence[Definition], s: Site, scope: str | None,
           look: Lookup) -> list[int] | None:
    """Tiers for a call through a field of the instance (`self.router.Handle()`,
    `this.store.get()`): those of a value of the type the field is declared of, the field
    looked up in the class the call is in and its bases; None where no such field says a
    type (an attribute set in a method: `self.app = app`)."""
    owners = lineage(_segments(scope), look)
    return _of_types(defs, [d for d in look.named(s.first)
                            if d.kind == "field" and _owner(d) in owners], look)


def _of_types(defs: Sequence[Definition], sources: Sequence[Definition],
              look: Lookup) -> list[int] | None:
    """The tiers of a value that `sources` give (functions returning it, fields holding
    it; a type called is its own value): each one's type read where it is defined
    (`_typed`), their tiers merged; None unless there are some (at most
    `_MAX_RETURNING`) and each says a type."""
    if not sources or len(sources) > _MAX_RETURNING:
        return None
    out: list[int] | None = None
    for d in sources:
        kind = d.name if d.kind in TYPE_KINDS else d.returns
        if not kind:
            return None
        parts = kind.replace("::", ".").split(".")
        typed = _typed(defs, Site("typed", False, parts[0], parts[-1],
                                  parts[-2] if len(parts) > 1 else ""), d.path, look)
        if typed is None:
            return None
        out = typed if out is None else [max(a, b) for a, b in zip(out, typed, strict=True)]
    return out


def _dispatches(t: Definition) -> bool:
    """Whether a value of type `t` may be of any type that has its members: an interface,
    a trait, a type alias (TypeScript's object types), a Python `Protocol`."""
    return t.kind in DISPATCH_KINDS or any(leaf(b) == "Protocol" for b in t.bases)


def _segments(scope: str | None) -> list[str]:
    return scope.split(".") if scope else []


def lineage(names: Iterable[str], look: Lookup) -> frozenset[str]:
    """`names` and the base types of the types so named, transitively (a few levels)."""
    names = list(names)
    memo = look.lineages()
    if len(names) == 1 and names[0] in memo:
        return memo[names[0]]
    seen = set(names)
    frontier = list(seen)
    for _ in range(_LINEAGE_DEPTH):
        found = [b for n in frontier for d in look.types(n)
                 for b in map(leaf, d.bases) if b and b not in seen]
        seen.update(found)
        frontier = found
        if not frontier:
            break
    out = frozenset(seen)
    if len(names) == 1:
        memo[names[0]] = out
    return out


def _enclosing_class(path: str, scope: str | None, look: Lookup) -> Definition | None:
    """The innermost class (or other type) of `path` enclosing `scope`."""
    parts = _segments(scope)
    for i in range(len(parts), 0, -1):
        qualname = ".".join(parts[:i])
        for d in look.types(parts[i - 1]):
            if d.path == path and d.qualname == qualname:
                return d
    return None


def _named(defs: Sequence[Definition], path: str, s: Site, look: Lookup) -> list[int]:
    """A path or an imported name: a member of the type it names (or of a base of it; of
    the module it names it in, where that is the repository's), a function of the module
    or package it names."""
    first = _modules(s.first, path, look) if s.first not in _HERE else (set(), set(), False)
    known = bool(first[0] or first[1]) or any(_owner(d) == s.first for d in defs)
    if (s.path and (s.first in _EXTERNAL_ROOTS or (s.first in _STD_MODULES and not known))
            or (first[2] and not known)):
        return [NONE] * len(defs)  # it starts from a module outside the repository
    owners = lineage([s.last], look) if look.types(s.last) else frozenset()
    files, dirs, _ = _modules(s.last, path, look) if s.last != s.first else first
    home_files, home_dirs, _ = _modules(s.module, path, look) if (
        owners and s.module and s.module not in _HERE) else (set(), set(), False)
    out = []
    for d in defs:
        if is_member(d):
            owned = _owner(d) in owners
            out.append(NONE if not owned else CONFIRMED if not (home_files or home_dirs)
                       or _under(d.path, home_files, home_dirs) else POSSIBLE)
        else:
            home = posixpath.dirname(d.path)
            inside = (_owner(d) == s.last or d.path in files or home in dirs
                      or (s.path and s.last in (_stem(d.path), posixpath.basename(home))))
            out.append(CONFIRMED if inside else NONE)
    if CONFIRMED in out or POSSIBLE in out or s.path:
        return out
    if files or dirs:  # a module of the repository, re-exporting what it does not define
        return [NONE if is_member(d) else POSSIBLE for d in defs]
    # an imported object (`current_app`), or a module the graph did not place
    return [POSSIBLE if is_member(d) else WEAK for d in defs]


def _under(path: str, files: set[str], dirs: set[str]) -> bool:
    """`path` is one of `files` or lies under one of `dirs` (a crate's, a package's)."""
    return path in files or any(not d or path.startswith(d + "/") for d in dirs)


def _stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def _modules(name: str, path: str, look: Lookup) -> tuple[set[str], set[str], bool]:
    """The files and directories of the imports of `path` known by `name` (a Go package's
    name, a Python module's first or last name, a file's stem), and whether an external
    import is."""
    files: set[str] = set()
    dirs: set[str] = set()
    external = False
    for dst, kind, module in look.edges(path):
        if name not in _module_names(dst, kind, module):
            continue
        if kind == "external":
            external = True
        elif kind == "file":
            files.add(dst)
            if _stem(dst) in _PACKAGE_FILES:
                dirs.add(posixpath.dirname(dst))
        else:
            dirs.add(dst)
    return files, dirs, external


@lru_cache(maxsize=8192)
def _module_names(dst: str, kind: str, module: str) -> frozenset[str]:
    """The names an import edge may be known by in code: the module's first and last names
    (a Go package's name), the file's stem, a package file's directory."""
    parts = [p for p in module.replace("::", "/").replace(".", "/").split("/") if p]
    names = {go_package_name(module.strip("\"'"))} if "/" in module else set()
    names.update(parts[:1] + parts[-1:])
    if kind == "file":
        stem = _stem(dst)
        names.add(posixpath.basename(posixpath.dirname(dst)) if stem in _PACKAGE_FILES else stem)
    elif kind == "dir":
        names.add(posixpath.basename(dst))
    return frozenset(names)
