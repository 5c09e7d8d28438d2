"""References and call edges follow what the call site says before the name: a path or an
imported package names the owner, a bare name reaches no method, `super()` a base class; a
receiver of unknown type keeps every member it may reach. Small repositories in Rust, Python
and Go, parsed and indexed for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.graph import graph_tables
from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools.deps import expand_dependencies
from tools.symbols import get_symbol

RUST = {
    "Cargo.toml": '[package]\nname = "ignore"\nversion = "0.1.0"\n',
    "src/lib.rs": "mod builder;\nmod dir;\nmod gitignore;\n",
    "src/gitignore.rs": (
        "use std::path::Path;\n\n"
        "pub struct Gitignore {\n    root: String,\n}\n\n"
        "impl Gitignore {\n"
        "    pub fn new(root: &str) -> Gitignore {\n"
        "        Gitignore { root: root.to_string() }\n"
        "    }\n\n"
        "    pub fn strip(&self, p: &str) -> bool {\n"
        '        let here = Path::new(".");\n'
        "        here.starts_with(p)\n"
        "    }\n"
        "}\n"
    ),
    "src/builder.rs": (
        "pub struct Builder {}\n\n"
        "impl Builder {\n    pub fn new() -> Builder {\n        Builder {}\n    }\n}\n"
    ),
    "src/dir.rs": (
        "use std::io;\nuse std::process::Command;\n\n"
        "use crate::builder::Builder;\nuse crate::gitignore::Gitignore;\n\n"
        "pub fn load() -> bool {\n"
        '    let g = Gitignore::new("root");\n'
        '    let out = Command::new("git");\n'
        "    let b = Builder::new();\n"
        '    let e = io::Error::new(io::ErrorKind::Other, "x");\n'
        '    g.strip("a")\n'
        "}\n\n"
        "pub fn check(gs: Vec<Gitignore>) -> bool {\n"
        '    gs[0].strip("b")\n'
        "}\n"
    ),
}

WORKSPACE = {
    "Cargo.toml": '[workspace]\nmembers = ["crates/regex", "crates/pcre2", "crates/printer"]\n',
    "crates/regex/Cargo.toml": '[package]\nname = "grep-regex"\nversion = "0.1.0"\n',
    "crates/regex/src/lib.rs": "mod matcher;\n\npub use crate::matcher::RegexMatcher;\n",
    "crates/regex/src/matcher.rs": (
        "pub struct RegexMatcher {}\n\n"
        "impl RegexMatcher {\n    pub fn new(p: &str) -> RegexMatcher {\n"
        "        RegexMatcher {}\n    }\n}\n"
    ),
    "crates/pcre2/Cargo.toml": '[package]\nname = "grep-pcre2"\nversion = "0.1.0"\n',
    "crates/pcre2/src/lib.rs": (
        "pub struct RegexMatcher {}\n\n"
        "impl RegexMatcher {\n    pub fn new(p: &str) -> RegexMatcher {\n"
        "        RegexMatcher {}\n    }\n}\n"
    ),
    "crates/printer/Cargo.toml": '[package]\nname = "grep-printer"\nversion = "0.1.0"\n',
    "crates/printer/src/lib.rs": (
        "use grep_regex::RegexMatcher;\n\n"
        "mod convert {\n    pub fn string(v: &str) -> String {\n        v.to_string()\n    }\n}\n\n"
        "pub fn print() -> String {\n"
        '    let m = RegexMatcher::new("a");\n'
        '    convert::string("b")\n'
        "}\n"
    ),
}

PYTHON = {
    "pkg/__init__.py": "from .app import App\nfrom .helpers import url_for\n",
    "pkg/globals.py": "current_app = None\n",
    "pkg/helpers.py": (
        "from .globals import current_app\n\n\n"
        "def url_for(endpoint):\n"
        "    return current_app.url_for(endpoint)\n"
    ),
    "pkg/app.py": (
        "class Base:\n"
        "    def __init__(self, name):\n"
        "        self.name = name\n\n\n"
        "class App(Base):\n"
        "    def __init__(self, name):\n"
        "        super().__init__(name)\n\n"
        "    def url_for(self, endpoint):\n"
        "        return '/' + endpoint\n\n"
        "    def home(self):\n"
        "        return self.url_for('home')\n\n"
        "    def register(self, bp):\n"
        "        return bp\n"
    ),
    "pkg/blueprints.py": (
        "class Blueprint:\n"
        "    def __init__(self, name):\n"
        "        self.name = name\n\n"
        "    def register(self, app):\n"
        "        return app\n"
    ),
    "pkg/main.py": (
        "from .app import App\n\n"
        "app = App('main')\n"
        "app.register(None)\n"
    ),
    "pkg/cli.py": (
        "from .app import App\n"
        "from .blueprints import Blueprint\n\n\n"
        "class Sub(App):\n"
        "    def home(self):\n"
        "        return 'sub'\n\n\n"
        "def run_app(app: App, bp: Blueprint):\n"
        "    bp.register(app)\n"
        "    return app.home()\n"
    ),
    "pkg/config.py": (
        "class Config(dict):\n"
        "    def __init__(self, root):\n"
        "        super().__init__()\n"
        "        self.root = root\n"
    ),
    "pkg/views.py": (
        "from .helpers import url_for\n\n\n"
        "def index():\n"
        "    return url_for('index')\n\n\n"
        "def render(app):\n"
        "    return app.url_for('page')\n"
    ),
    "tests/test_urls.py": (
        "import pkg\n\n\n"
        "def test_url():\n"
        "    assert pkg.url_for('x')\n"
    ),
}

GO = {
    "go.mod": "module example.com/web\n\ngo 1.21\n",
    "web.go": (
        "package web\n\n"
        "type Engine struct{}\n\n"
        "func New() *Engine { return &Engine{} }\n\n"
        "func Default() *Engine { return New() }\n\n"
        "func (e *Engine) Run() error { return e.Handle() }\n\n"
        "func (e *Engine) Handle() error { return nil }\n"
    ),
    "web_test.go": (
        'package web\n\nimport "testing"\n\n'
        "func TestDefault(t *testing.T) {\n\tDefault()\n}\n"
    ),
    "binding/binding.go": (
        "package binding\n\n"
        "func Default(method string) string { return method }\n\n"
        "type Form struct{}\n\n"
        "func (f Form) Handle() error { return nil }\n"
    ),
    "binding/binding_test.go": (
        'package binding\n\nimport "testing"\n\n'
        'func TestBinding(t *testing.T) {\n\tDefault("GET")\n}\n'
    ),
    "cmd/main.go": (
        "package main\n\n"
        'import (\n\t"example.com/web"\n\t"example.com/web/binding"\n)\n\n'
        "func main() {\n"
        "\tweb.Default()\n"
        '\tbinding.Default("POST")\n'
        "}\n\n"
        "func serve(e *web.Engine) error { return e.Handle() }\n\n"
        "type Handler interface {\n\tHandle() error\n}\n\n"
        "func handle(h Handler) error { return h.Handle() }\n"
    ),
}

TYPESCRIPT = {
    "src/base.ts": (
        "export class Base {\n"
        "  mount(): void {}\n"
        "  render(): string { return 'base' }\n"
        "}\n"
    ),
    "src/app.ts": (
        "import { Base } from './base'\n\n"
        "export class App extends Base {\n"
        "  mount(): void {\n"
        "    super.mount()\n"
        "    this.render()\n"
        "  }\n"
        "  render(): string { return 'app' }\n"
        "}\n"
    ),
    "src/panel.ts": (
        "export class Panel {\n"
        "  mount(): void {}\n"
        "  show(): void {}\n"
        "}\n"
    ),
    "src/render.ts": (
        "export function render(el: string): string {\n"
        "  return el\n"
        "}\n"
    ),
    "src/main.js": (
        "const { render } = require('./render')\n"
        "const api = {\n"
        "  show: () => render('x'),\n"
        "}\n"
        "function start(app) {\n"
        "  app.render()\n"
        "  api.show()\n"
        "}\n"
    ),
}


@pytest.fixture(params=["store", "tables"])
def source(request: pytest.FixtureRequest) -> str:
    """Where get_symbol reads references: the store (a command line) or the graph tables a
    server holds."""
    return str(request.param)


def _live(tmp_path: Path, files: dict[str, str], source: str) -> Iterator[LiveIndex]:
    with live_over(tmp_path, files) as live:
        if source == "tables":
            graph_tables(live.index.store)
        yield live


@pytest.fixture
def rust(tmp_path: Path, source: str) -> Iterator[LiveIndex]:
    yield from _live(tmp_path, RUST, source)


@pytest.fixture
def workspace(tmp_path: Path, source: str) -> Iterator[LiveIndex]:
    yield from _live(tmp_path, WORKSPACE, source)


@pytest.fixture
def python(tmp_path: Path, source: str) -> Iterator[LiveIndex]:
    yield from _live(tmp_path, PYTHON, source)


@pytest.fixture
def go(tmp_path: Path, source: str) -> Iterator[LiveIndex]:
    yield from _live(tmp_path, GO, source)


@pytest.fixture
def typescript(tmp_path: Path, source: str) -> Iterator[LiveIndex]:
    yield from _live(tmp_path, TYPESCRIPT, source)


def at(files: dict[str, str], path: str, text: str) -> tuple[str, int]:
    """(path, line) of the one line of `files[path]` holding `text`."""
    lines = [i for i, line in enumerate(files[path].splitlines(), 1) if text in line]
    assert len(lines) == 1, (path, text, lines)
    return path, lines[0]


def references(live: LiveIndex, name: str, path: str) -> list[tuple[str, int]]:
    found = get_symbol(live, name, path=path, include_body=False, include_references=True,
                       max_tokens=20_000)
    symbol = next(s for s in found.symbols if s.path == path)
    return [(r.path, r.line) for r in symbol.references or []]


def edges(live: LiveIndex, target: str, direction: str) -> set[tuple[str, str]]:
    found = expand_dependencies(live, target, direction=direction, max_tokens=20_000)
    return {(e.source, e.target) for e in found.edges}


def test_a_rust_path_call_is_a_reference_of_its_types_function_only(rust: LiveIndex) -> None:
    assert references(rust, "Gitignore.new", "src/gitignore.rs") == [
        at(RUST, "src/dir.rs", "Gitignore::new")]
    assert references(rust, "Builder.new", "src/builder.rs") == [
        at(RUST, "src/dir.rs", "Builder::new")]


def test_a_rust_call_of_a_standard_types_function_is_no_call_of_a_same_named_one(
    rust: LiveIndex,
) -> None:
    calls = edges(rust, "Gitignore.strip", "out")
    assert not [t for _s, t in calls if t == "Gitignore.new"], calls
    assert edges(rust, "Gitignore.new", "in") == {("load", "Gitignore.new")}


def test_a_rust_path_through_a_crate_reaches_that_crates_type_of_the_name(
    workspace: LiveIndex,
) -> None:
    call = at(WORKSPACE, "crates/printer/src/lib.rs", "RegexMatcher::new")
    assert references(workspace, "RegexMatcher.new", "crates/regex/src/matcher.rs") == [call]
    assert references(workspace, "RegexMatcher.new", "crates/pcre2/src/lib.rs") == []


def test_a_rust_module_named_like_a_standard_one_is_the_repositorys_own(
    workspace: LiveIndex,
) -> None:
    assert references(workspace, "convert.string", "crates/printer/src/lib.rs") == [
        at(WORKSPACE, "crates/printer/src/lib.rs", "convert::string")]


def test_a_rust_method_call_on_a_value_of_unknown_type_still_reaches_the_method(
    rust: LiveIndex,
) -> None:
    assert references(rust, "Gitignore.strip", "src/gitignore.rs") == [
        at(RUST, "src/dir.rs", "g.strip"),  # `let g = Gitignore::new(..)`: known
        at(RUST, "src/dir.rs", "gs[0].strip")]  # an expression: a value of unknown type


def test_a_python_method_call_on_a_value_of_unknown_type_still_reaches_the_method(
    python: LiveIndex,
) -> None:
    assert at(PYTHON, "pkg/views.py", "app.url_for") in references(
        python, "App.url_for", "pkg/app.py")


def test_a_bare_python_call_reaches_the_function_and_not_a_same_named_method(
    python: LiveIndex,
) -> None:
    function = references(python, "url_for", "pkg/helpers.py")
    method = references(python, "App.url_for", "pkg/app.py")
    bare, qualified = at(PYTHON, "pkg/views.py", "url_for('index')"), at(
        PYTHON, "tests/test_urls.py", "pkg.url_for")
    through_proxy = at(PYTHON, "pkg/helpers.py", "current_app.url_for")  # the method
    assert set(function) == {bare, qualified}
    assert set(method) == {at(PYTHON, "pkg/app.py", "self.url_for"), through_proxy,
                           at(PYTHON, "pkg/views.py", "app.url_for")}


def test_super_init_is_a_call_of_the_base_classes_init_only(python: LiveIndex) -> None:
    assert edges(python, "Base.__init__", "in") == {("App.__init__", "Base.__init__")}
    assert edges(python, "Blueprint.__init__", "in") == set()
    # only the module importing it uses Blueprint (`super().__init__` in App is no use)
    assert edges(python, "pkg/blueprints.py", "in") == {("pkg/cli.py", "pkg/blueprints.py")}


def test_a_go_package_qualified_call_reaches_that_packages_function(go: LiveIndex) -> None:
    assert references(go, "Default", "web.go") == [
        at(GO, "cmd/main.go", "web.Default"), at(GO, "web_test.go", "Default()")]
    assert references(go, "Default", "binding/binding.go") == [
        at(GO, "binding/binding_test.go", "Default("), at(GO, "cmd/main.go", "binding.Default")]


def test_typescript_this_and_super_reach_the_class_and_its_base_a_bare_call_the_function(
    typescript: LiveIndex,
) -> None:
    """Before: every call named `render` or `mount` was a reference of every definition so
    named (`this.render()` of `render` the function, `super.mount()` of `Panel.mount`)."""
    ts = TYPESCRIPT
    assert references(typescript, "render", "src/render.ts") == [  # not `this.render()`
        at(ts, "src/main.js", "render('x')"), at(ts, "src/main.js", "app.render()")]
    assert references(typescript, "App.render", "src/app.ts") == [
        at(ts, "src/app.ts", "this.render()"), at(ts, "src/main.js", "app.render()")]
    assert references(typescript, "Base.render", "src/base.ts") == [  # `this` may be a Base
        at(ts, "src/app.ts", "this.render()"), at(ts, "src/main.js", "app.render()")]
    assert references(typescript, "Base.mount", "src/base.ts") == [
        at(ts, "src/app.ts", "super.mount()")]
    assert references(typescript, "Panel.mount", "src/panel.ts") == []
    assert edges(typescript, "Base.mount", "in") == {("App.mount", "Base.mount")}


def test_a_javascript_call_through_an_object_still_reaches_a_function_it_may_hold(
    typescript: LiveIndex,
) -> None:
    """`api.show()` reaches `show`, a function an object literal holds, though a method
    `Panel.show` exists: in JavaScript a receiver of unknown type keeps functions possible
    (in Python they would be weak, and the method's possible tier would leave them out)."""
    assert references(typescript, "show", "src/main.js") == [
        at(TYPESCRIPT, "src/main.js", "api.show()")]


def test_a_go_call_through_the_methods_receiver_reaches_its_types_method_only(
    go: LiveIndex,
) -> None:
    """Before: `e.Handle()` in an `Engine` method was a value of unknown type's call, a
    reference of every `Handle` (`Form.Handle` too)."""
    interface = at(GO, "cmd/main.go", "h.Handle()")  # any type may be a Handler
    assert set(references(go, "Engine.Handle", "web.go")) == {
        at(GO, "cmd/main.go", "e.Handle()"), interface, at(GO, "web.go", "e.Handle()")}
    assert references(go, "Form.Handle", "binding/binding.go") == [interface]
    assert edges(go, "Engine.Run", "out") >= {("Engine.Run", "Engine.Handle")}
    assert ("Engine.Run", "Form.Handle") not in edges(go, "Engine.Run", "out")


def test_a_call_through_a_typed_parameter_reaches_the_types_method_and_overrides(
    python: LiveIndex,
) -> None:
    """`bp: Blueprint` makes `bp.register(app)` a call of `Blueprint.register`, not of
    `App.register`; `app: App` makes `app.home()` one of `App.home` and of `Sub.home`, an
    override it may dispatch to. Before: a value of unknown type's call, of every one."""
    call = at(PYTHON, "pkg/cli.py", "bp.register")
    assert call in references(python, "Blueprint.register", "pkg/blueprints.py")
    assert call not in references(python, "App.register", "pkg/app.py")
    home = at(PYTHON, "pkg/cli.py", "app.home()")
    assert home in references(python, "App.home", "pkg/app.py")
    assert home in references(python, "Sub.home", "pkg/cli.py")


def test_a_go_call_through_a_typed_parameter_reaches_that_types_method(go: LiveIndex) -> None:
    assert ("serve", "Engine.Handle") in edges(go, "Engine.Handle", "in")
    assert ("serve", "Form.Handle") not in edges(go, "Form.Handle", "in")


def test_a_call_through_a_variable_assigned_a_class_reaches_that_classs_method(
    python: LiveIndex,
) -> None:
    """`app = App('main')` makes `app.register(None)` a call of `App.register`, not of
    `Blueprint.register`. Before: a value of unknown type's call, of both."""
    call = at(PYTHON, "pkg/main.py", "app.register")
    assert call in references(python, "App.register", "pkg/app.py")
    assert call not in references(python, "Blueprint.register", "pkg/blueprints.py")
