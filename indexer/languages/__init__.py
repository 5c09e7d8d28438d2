"""Language registry: one `LanguageSpec` per supported language.

Adding a language is one entry in `_SPECS` plus one query file `queries/<name>.scm`. A spec
names the grammar wheel's loader, the file extensions and special file names it claims, the
query file, and a few small per-language rules that the parser reads (`indexer.parse.treesitter`).

Query capture conventions (read by `indexer.parse.treesitter`):

- `@definition.<kind>` on the whole definition node, `@name.definition.<kind>` on its name;
- `@name.reference.<kind>` on a used identifier (`call`, `type`, `inherit`, `name`);
- `@qualifier` in a reference's match: the receiver before the name (`helpers` in
  `helpers.url_for()`, `self`, `c.engine`), `@qualifier.path` a path, which names a type
  or module and never a value (Rust's `Gitignore` in `Gitignore::new()`); the reference
  keeps it as text (`Reference.qualifier`: a receiver only when it starts with `self`,
  `cls`, `this`, `super()`, `super` or a name the file's imports bind, see `import_binding`; any
  other receiver is a value of unknown type, `?`), and the graph resolves the use with it;
- `@name.reference.bare.<kind>`: a use with no qualifier at all, where in this language
  such a use cannot reach a member of a type (Python, Go, Rust, JavaScript, TypeScript: a
  method needs `self.`/`this.`, a receiver or a path); it is stored with the qualifier "";
- `@import.module` on a module string, `@import.name` on an imported name (same match);
- `@scope` + `@name.scope`: a naming context that is not a symbol itself (Rust `impl Foo`);
- `@receiver` inside a definition match: the qualifier of a method defined outside its type
  (Go receivers);
- `@import.fn` on a call's function name: the match is an import only when that name is in
  the spec's `import_functions` (`require`, `source`).

No text predicates (`#eq?`, `#any-of?`): trees are parsed through a read callback (for the
deadline), so nodes carry no text and tree-sitter 0.26.1 crashes evaluating them. Filter in
Python instead (`import_functions`, `ignored_refs`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from tree_sitter import Language

__all__ = [
    "LANGUAGES",
    "LanguageSpec",
    "get_language",
    "language_for_path",
    "load_grammar",
    "load_query_source",
]


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """Everything Sextant knows about one language."""

    name: str
    extensions: tuple[str, ...]  # lower-case, with the dot
    module: str  # grammar wheel module, e.g. `tree_sitter_python`
    loader: str = "language"  # function of `module` returning the TSLanguage capsule
    filenames: tuple[str, ...] = ()  # exact base names (`Rakefile`)
    interpreters: tuple[str, ...] = ()  # shebang interpreters for extensionless scripts
    query_file: str = ""  # defaults to `<name>.scm`
    extra_queries: tuple[str, ...] = ()  # more query files appended (shared patterns)
    doc_style: str = "comment"  # `docstring` (Python) or `comment` (leading comment block)
    # Nodes that wrap a single definition (decorators, `export`, Go `type`): the symbol's
    # range grows to the wrapper so that decorators and keywords stay with the code.
    wrappers: frozenset[str] = field(default_factory=frozenset)
    # Nodes skipped when looking upward for a leading comment (Rust `#[derive]`).
    doc_skip: frozenset[str] = field(default_factory=frozenset)
    relative_imports: bool = False  # Python-style leading-dot relative imports
    # The names an import binds, which a call's receiver may then be (`helpers.url_for()`):
    # "first" (Python: `import a.b` binds `a`, `from m import n` binds `n`), "last" (Go: a
    # package path binds its package's name, its last element), "path" (Rust: `use a::B`
    # binds `B`, which a call's path then starts with: `B::new()` is `a::B::new()`);
    # "" (none read)
    import_binding: str = ""
    # Calls whose string argument is an import (`require`); matched with `@import.fn`.
    import_functions: frozenset[str] = frozenset()
    # Names never worth a reference row (builtin types and functions).
    ignored_refs: frozenset[str] = frozenset()

    @property
    def query_name(self) -> str:
        return self.query_file or f"{self.name}.scm"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PY_BUILTINS = _words(
    "str int float bool bytes list dict set tuple object type None len print isinstance "
    "issubclass getattr setattr hasattr super range enumerate zip iter next repr min max "
    "sorted reversed any all sum abs id hash callable frozenset"
)
_GO_BUILTINS = _words(
    "bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune "
    "string uint uint8 uint16 uint32 uint64 uintptr any comparable append cap clear close "
    "complex copy delete imag len make max min new panic print println real recover"
)


_JS_WRAPPERS = _words(
    "export_statement lexical_declaration variable_declaration expression_statement"
)
_TS_WRAPPERS = _JS_WRAPPERS | {"ambient_declaration"}
_REQUIRE = _words("require")
_HTML_TAGS = _words(  # JSX intrinsic elements are not calls worth a reference
    "a abbr article aside b body br button canvas code div em footer form h1 h2 h3 h4 h5 h6 "
    "head header hr html i img input label li link main meta nav ol option p pre section "
    "select small span strong style svg table tbody td textarea th thead title tr ul video"
)


_SH_BUILTINS = _words(
    "echo printf cd test [ [[ export local declare readonly set unset shift return exit eval "
    "exec read true false trap wait source . command type getopts let printf pwd"
)


def _spec(name: str, exts: str, module: str, **kw: object) -> LanguageSpec:
    return LanguageSpec(name, tuple(exts.split()), module, **kw)  # type: ignore[arg-type]


_SPECS: tuple[LanguageSpec, ...] = (
    _spec(
        "python",
        ".py .pyi .pyw",
        "tree_sitter_python",
        interpreters=("python", "python3"),
        ignored_refs=_PY_BUILTINS,
        doc_style="docstring",
        wrappers=frozenset({"decorated_definition"}),
        relative_imports=True,
        import_binding="first",
    ),
    _spec(
        "javascript",
        ".js .jsx .mjs .cjs",
        "tree_sitter_javascript",
        extra_queries=("calls.scm", "jsx.scm"),
        interpreters=("node",),
        wrappers=_JS_WRAPPERS,
        import_functions=_REQUIRE,
        ignored_refs=_HTML_TAGS,
    ),
    _spec(
        "typescript",
        ".ts .mts .cts",
        "tree_sitter_typescript",
        loader="language_typescript",
        extra_queries=("calls.scm",),
        wrappers=_TS_WRAPPERS,
        import_functions=_REQUIRE,
    ),
    _spec(
        "tsx",
        ".tsx",
        "tree_sitter_typescript",
        loader="language_tsx",
        query_file="typescript.scm",
        extra_queries=("calls.scm", "jsx.scm"),
        wrappers=_TS_WRAPPERS,
        import_functions=_REQUIRE,
        ignored_refs=_HTML_TAGS,
    ),
    _spec(
        "go",
        ".go",
        "tree_sitter_go",
        ignored_refs=_GO_BUILTINS,
        wrappers=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
        import_binding="last",
    ),
    _spec(
        "rust",
        ".rs",
        "tree_sitter_rust",
        doc_skip=frozenset({"attribute_item", "inner_attribute_item"}),
        import_binding="path",
    ),
    _spec("java", ".java", "tree_sitter_java"),
    _spec("c", ".c .h", "tree_sitter_c"),
    _spec(
        "cpp",
        ".cc .cpp .cxx .c++ .hpp .hh .hxx .h++ .ipp .inl",
        "tree_sitter_cpp",
        wrappers=frozenset({"template_declaration"}),
    ),
    _spec("csharp", ".cs", "tree_sitter_c_sharp"),
    _spec(
        "ruby",
        ".rb .rake .gemspec",
        "tree_sitter_ruby",
        filenames=("Rakefile", "Gemfile", "Guardfile", "Vagrantfile"),
        interpreters=("ruby",),
        import_functions=_words("require require_relative load"),
    ),
    _spec("php", ".php .phtml", "tree_sitter_php", loader="language_php", interpreters=("php",)),
    _spec("kotlin", ".kt .kts", "tree_sitter_kotlin"),
    _spec("swift", ".swift", "tree_sitter_swift"),
    _spec("scala", ".scala .sc", "tree_sitter_scala"),
    _spec("lua", ".lua", "tree_sitter_lua", interpreters=("lua",), import_functions=_REQUIRE),
    _spec(
        "bash",
        ".sh .bash",
        "tree_sitter_bash",
        filenames=(".bashrc", ".bash_profile", ".profile"),
        interpreters=("bash", "sh", "zsh", "dash", "ksh"),
        import_functions=_words("source ."),
        ignored_refs=_SH_BUILTINS,
    ),
)

LANGUAGES: dict[str, LanguageSpec] = {spec.name: spec for spec in _SPECS}
_BY_EXT: dict[str, str] = {ext: s.name for s in _SPECS for ext in s.extensions}
_BY_FILENAME: dict[str, str] = {fn: s.name for s in _SPECS for fn in s.filenames}
_BY_INTERPRETER: dict[str, str] = {i: s.name for s in _SPECS for i in s.interpreters}


# languages where an object holds functions, `this.` is the instance and `super.` a base's
JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})


def get_language(name: str) -> LanguageSpec:
    """The spec of language `name`; raises KeyError naming the known languages."""
    try:
        return LANGUAGES[name]
    except KeyError:
        raise KeyError(f"unknown language {name!r}; known: {', '.join(LANGUAGES)}") from None


def language_for_path(path: str, head: bytes | None = None) -> str | None:
    """Language of a file from its name; `head` (the first bytes) enables shebang detection.

    Only extensionless files are checked for a shebang (`#!/usr/bin/env bash`).
    """
    base = os.path.basename(path)
    by_name = _BY_FILENAME.get(base)
    if by_name is not None:
        return by_name
    ext = os.path.splitext(base)[1].lower()
    if ext:
        return _BY_EXT.get(ext)
    return _language_from_shebang(head) if head else None


def _language_from_shebang(head: bytes) -> str | None:
    if not head.startswith(b"#!"):
        return None
    first = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not first:
        return None
    prog = os.path.basename(first[0])
    if prog == "env":
        args = [a for a in first[1:] if not a.startswith("-")]
        prog = args[0] if args else ""
    prog = prog.rstrip("0123456789.") if prog not in _BY_INTERPRETER else prog
    return _BY_INTERPRETER.get(prog)


@cache
def load_grammar(name: str) -> Language:
    """The compiled tree-sitter `Language` of `name` (cached per process)."""
    spec = get_language(name)
    module = importlib.import_module(spec.module)
    loader: Callable[[], object] = getattr(module, spec.loader)
    return Language(loader())


@cache
def load_query_source(name: str) -> str:
    """The text of the language's query file (package data)."""
    spec = get_language(name)
    queries = resources.files(__package__).joinpath("queries")
    files = (spec.query_name, *spec.extra_queries)
    return "\n".join(queries.joinpath(f).read_text("utf-8") for f in files)
