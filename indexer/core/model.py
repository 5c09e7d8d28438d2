"""Plain data types shared by every indexing stage.

Data flows one way: walk -> parse -> chunk -> store -> derived indexes. Each stage
consumes and produces the types below; nothing here imports a native library, so the
types cross process boundaries (parse workers) by pickling.

Conventions: paths are POSIX strings relative to the repository root; lines are 1-based and
inclusive; byte offsets are 0-based, end-exclusive, into the file's UTF-8 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition found in a source file."""

    name: str  # plain name: `add_url_rule`
    qualname: str  # scoped name: `App.add_url_rule` (`pkg.func` where the language has packages)
    kind: str  # function, method, class, interface, struct, enum, trait, module, type, constant, variable, field, macro
    signature: str  # the declaration line(s) without the body, whitespace-collapsed
    doc: str  # docstring or leading comment, comment markers stripped ("" when none)
    parent: str | None  # qualname of the enclosing symbol, None at top level
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    bases: tuple[str, ...] = ()  # base classes / implemented interfaces as written in source
    # the type a function's declaration says it returns (`indexer.languages.params.returns_of`:
    # `Engine` for `func New() *Engine`) or a field is declared of (`field_type_of`: `Router`
    # for `router *Router`), "" where it says none or for any other definition
    returns: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """An identifier use: a call, a type use, an inheritance, a plain name use."""

    name: str
    kind: str  # call, type, inherit, name
    line: int
    start_byte: int
    scope: str | None  # qualname of the innermost enclosing symbol, None at top level
    # what the use's call site says before the name (`indexer.languages.extract`'s
    # `qualifier_text`): None when it says nothing the parser reads, "" for a bare name
    # (`url_for(...)`), else the receiver or path with its separator (`helpers.`,
    # `self.`, `super().`, `Gitignore::`)
    qualifier: str | None = None


@dataclass(frozen=True, slots=True)
class Import:
    """An import statement as written; resolution to files is the graph's job."""

    module: str  # raw module string: `flask.sansio.app`, `./utils`, `github.com/gin-gonic/gin`
    line: int
    names: tuple[str, ...] = ()  # names imported from the module (`from x import a, b`)
    level: int = 0  # Python relative-import level (number of leading dots)


@dataclass(slots=True)
class ParsedFile:
    language: str
    symbols: list[Symbol] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    error: str | None = None  # set when the parse was abandoned (timeout, too deep); symbols may be partial


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable unit of a file: an AST unit or a window of text."""

    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    symbol: str | None  # qualname of the unit the chunk covers, None for windows/merged blocks
    kind: str  # function, method, class, block, section, window, ...
    header: str  # context header: path, enclosing scope, signature
    text: str  # the code itself
    tokens: int  # cl100k tokens of header + text: exact for text files, estimated for code (chunk.estimate_tokens)


_GO_VERSION = re.compile(r"v\d+")


def go_package_name(path: str) -> str:
    """The name a Go import path binds by default: its last element, without a major
    version element (`.../v2`) or suffix (`yaml.v3`) or a `go-` prefix (`go-isatty`)."""
    parts = [p for p in path.split("/") if p]
    while len(parts) > 1 and _GO_VERSION.fullmatch(parts[-1]):
        parts.pop()
    name = parts[-1] if parts else path
    return name.split(".", 1)[0].removeprefix("go-").replace("-", "_")
