"""The names a function's body knows the type of: its receiver, its typed parameters and
the variables an assignment says the type of.

A call through such a name says which type's method it reaches (`indexer.graph.qualify`):
Go's receiver `c` in `func (c *Context) JSON()` is the method's own instance (`self`), a
parameter `c *gin.Context`, `app: Flask`, `c: Context` or `g: &Gitignore` a value of that
type; so is a variable assigned a constructor's value (`app = Flask(__name__)`,
`c := &Context{}`, `const app = new App()`, `let w = WalkBuilder::new(p)`) or declared of a
type (`var c Context`, `let m: Matcher = ...`, `x: Foo = ...`). A variable assigned what
another function returns (`r := gin.New()`, `app = create_app()`, `let w = make(p)?`) is
written `=` and the function's path (`=gin.New`): the graph reads the type that function's
declaration says it returns (`returns_of`, kept as `Symbol.returns`). Only types written as a
name or a dotted or `::` path are kept (a pointer or reference to one, `Optional[X]`,
`X | None`, `Box<X>`, generic arguments dropped); anything else (a slice, a map or an array
of them, a function type, a union of two types) leaves the name a value of unknown type.

Nodes of a tree parsed through a callback carry no text: `text(node)` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tree_sitter import Node

from indexer.languages.text import strip_generics

Text = Callable[[Node], str]

_NAME = re.compile(r"[^\W\d]\w*")
_TYPE = re.compile(r"[^\W\d]\w*(?:(?:\.|::)[^\W\d]\w*)*")
_OPTIONAL = re.compile(r"^(?:\w+\.)?Optional\[(.*)\]$")  # `typing.`, `t.` (an alias)
_SMART_POINTER = re.compile(r"^(?:Box|Rc|Arc)<(.*)>$")
_NULLS = frozenset({"None", "null", "undefined", "nil"})
# what a function's value comes wrapped in: Rust's `Result` and `Option` (`?`, `unwrap`
# reach what they hold), TypeScript's `Promise` (`await`)
_WRAPPER = re.compile(r"^(?:[\w:]*::)?(?:Result|Option|Promise)<(.*)>$")
SEPARATOR = re.compile(r"\.|::")  # between the names of a path (`gin.New`, `fs::read`)
# the instance or class a method runs in, as a receiver (`self.x`) or a Rust path (`Self::`)
SELF_WORDS = frozenset({"self", "cls", "this"})
_RECEIVERS = SELF_WORDS | {"Self"}
MAX_TYPE = 80  # a longer type name is not kept


def declared(def_node: Node, receiver: Node | None, text: Text) -> dict[str, str]:
    """name -> "self" for a method's receiver (Go), the type's name (`gin.Context`,
    `grep::Matcher`) for each typed parameter of the function `def_node`, "" for each
    untyped one (the name is not the one a definition around it knows)."""
    out: dict[str, str] = {}
    single = def_node.child_by_field_name("parameter")  # an arrow function's `c => ...`
    if single is not None and single.type == "identifier":
        out[text(single)] = ""
    params = _parameters(def_node)
    for param in params.named_children if params is not None else ():
        typed = param.child_by_field_name("type")
        kind = type_name_of(text(typed)) if typed is not None else ""
        for name in _names(param, text):
            out[name] = kind  # "" for an untyped one: it hides the same name outside
    if receiver is not None and receiver.parent is not None:
        for node in receiver.parent.children_by_field_name("name"):
            out[text(node)] = "self"
    return out


def _parameters(node: Node) -> Node | None:
    found = node.child_by_field_name("parameters")
    if found is not None:
        return found
    value = node.child_by_field_name("value")  # `const f = (c: Context) => ...`
    return value.child_by_field_name("parameters") if value is not None else None


def _names(param: Node, text: Text) -> list[str]:
    nodes = param.children_by_field_name("name") or param.children_by_field_name("pattern")
    if not nodes and param.type == "typed_parameter":  # Python: `app: Flask`
        nodes = param.named_children[:1]
    elif not nodes and param.type == "identifier":  # untyped: `def f(app)`, `(app) => ...`
        nodes = [param]
    return [t for t in map(text, nodes) if _NAME.fullmatch(t)]


def local_type(text: str, language: str, call: bool = False) -> str:
    """The type an assignment gives a variable, from the text the query captured: a class
    called (Python), a composite literal's or a declared type (Go), a constructor after
    `new` or a type annotation (TypeScript), a declared type, a struct expression's name,
    `Type::new`'s and `Type::default`'s type (Rust: by convention they return it; any
    other function of a path may not), an enum's variant's enum (`Kind::Glob(g)`); ""
    when it says none. `call`: `text` is the function a call assigned calls; unless it is
    one of those constructors, the function's path after `=` (`=gin.New`, `=create_app`,
    `=Foo::builder`), or "" where it is reached through a value (`self.load()`)."""
    text = " ".join(text.split())  # `rpartition` below reads the text as one line
    if call and language not in ("python", "rust"):
        return _called(text)  # Go has no constructors; `new X()` is captured as a type
    if language == "python" and not text.rpartition(".")[2][:1].isupper():
        return _called(text) if call else ""  # `make()`: a function, not a class (CapWords)
    if call and language == "rust" and "." in text:  # a method of a value: `b.build()`
        return "" if "::" in text else _called(text)  # `State::GLOBAL.lock()`: a constant's
    if "::" in text and language == "rust":
        path, _, last = text.rpartition("::")
        owner = path.rpartition("::")[2]
        if last in ("new", "default"):
            text = path
        elif last[:1].islower() or owner == "Self":
            return _called(text) if call else ""  # `Foo::builder()`, `fs::read()`
        elif owner[:1].isupper():
            text = path  # `Kind::Glob(g)`: a variant, of the enum `Kind`
    elif call and language == "rust" and text[:1].islower():
        return _called(text)  # `make(p)`: a function; `Wrapper(x)`: a tuple struct
    return type_name_of(text)


def _called(text: str) -> str:
    """`=` and the path of a called function, or "" for a method of a value (`self.`,
    `this.`, `cls.`) or anything but a name or a path of names."""
    text = text.replace(" ", "")
    if (not _TYPE.fullmatch(text) or len(text) > MAX_TYPE
            or SEPARATOR.split(text, 1)[0] in _RECEIVERS):
        return ""
    return "=" + text


def returns_of(node: Node, owner: str | None, text: Text) -> str:
    """The type the function `node` says it returns (`-> Flask`, `func New() *Engine`,
    `fn open() -> io::Result<Self>`, `(): Promise<App>`), as `type_name_of` keeps it: the
    first of Go's results, what a Rust `Result` or `Option` or a TypeScript `Promise`
    holds, `Self` as the type `owner` (the definition's parent); "" where it says none."""
    kind = node.child_by_field_name("return_type") or node.child_by_field_name("result")
    if kind is None:
        value = node.child_by_field_name("value")  # `const make = (): App => ...`
        kind = value.child_by_field_name("return_type") if value is not None else None
    if kind is not None and kind.type == "parameter_list":  # Go: `(*DB, error)`
        first = next((c for c in kind.named_children if c.type == "parameter_declaration"),
                     None)
        kind = first.child_by_field_name("type") if first is not None else None
    if kind is None:
        return ""
    written = " ".join(text(kind).split()).removeprefix(":").strip()
    wrapped = _WRAPPER.match(written)
    if wrapped:
        written = _first_argument(wrapped.group(1))
    name = type_name_of(written)
    if name in ("Self", "typing.Self"):
        return owner.rpartition(".")[2] if owner else ""
    return name


def field_type_of(node: Node, text: Text) -> str:
    """The type the field `node` is declared of (`router *Router`, `matcher: Box<M>`,
    `private store: Store`, a class body's `app: Flask`), as `type_name_of` keeps it."""
    kind = node.child_by_field_name("type")
    return type_name_of(text(kind)) if kind is not None else ""


def _first_argument(text: str) -> str:
    """`Foo, io::Error` -> `Foo`; `Vec<A, B>, E` -> `Vec<A, B>` (commas at depth 0 only)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        elif ch == "," and depth == 0:
            return text[:i].strip()
    return text.strip()


def type_name_of(text: str) -> str:
    """The type `text` names, or "" (see the module doc)."""
    kind = " ".join(text.split()).removeprefix(":").strip().strip("'\"")
    optional = _OPTIONAL.match(kind)
    if optional:
        kind = optional.group(1)
    if "|" in kind:
        parts = [p.strip() for p in kind.split("|") if p.strip() not in _NULLS]
        kind = parts[0] if len(parts) == 1 else ""
    kind = re.sub(r"^&(?:'\w+\s+)?(?:mut\s+)?", "", kind).lstrip("*")
    if kind.startswith(("[", "map[")) or kind.endswith("[]"):
        return ""  # a container of values (`[]Engine`, `map[string]T`, `Item[]`), not one
    pointer = _SMART_POINTER.match(kind)  # a method call reaches through them
    if pointer:
        kind = pointer.group(1)
    kind = strip_generics(kind).strip()
    return kind if _TYPE.fullmatch(kind) and len(kind) <= MAX_TYPE else ""
