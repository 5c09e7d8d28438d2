"""A value a function returned has the type that function's declaration says it returns
(`r := gin.New()`, `app = create_app()`, `let w = b.build()?`, `const s = await load()`):
a call through it reaches that type's methods only. Each case is a small repository parsed
and indexed for real; the calls that say nothing of their type stay possible for every
member of the name. Before, each such call was a value of unknown type, and every
same-named method listed it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from indexer.parse.treesitter import parse_source
from tests.test_call_qualifiers import qualifiers
from tests.test_graph_typed_values import references


def test_go_values_returned_by_functions_reach_their_types_methods(tmp_path: Path) -> None:
    files = {
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "web/engine.go": (
            "package web\n\ntype Engine struct{}\n\ntype Group struct{}\n\n"
            "func New() *Engine { return &Engine{} }\n\n"
            "func (e *Engine) Run() {}\n\n"
            "func (e *Engine) Sub(p string) *Group { return &Group{} }\n\n"
            "func (g *Group) Handle() {}\n"),
        "web/server.go": (
            "package web\n\ntype Server struct{}\n\n"
            "func Open() (*Server, error) { return &Server{}, nil }\n\n"
            "func (s *Server) Run() {}\n\nfunc (s *Server) Handle() {}\n"),
        "main.go": (
            "package main\n\nimport \"example.com/x/web\"\n\n"
            "func main() {\n"
            "\tr := web.New()\n"
            "\tr.Run()\n"  # 7
            "\ts, err := web.Open()\n"
            "\ts.Run()\n"  # 9
            "\tg := r.Sub(\"/a\")\n"
            "\tg.Handle()\n"  # 11
            "\t_ = err\n}\n"),
    }
    engine, server, group, server_handle = references(
        files, tmp_path, ("Engine.Run", "web/engine.go"), ("Server.Run", "web/server.go"),
        ("Group.Handle", "web/engine.go"), ("Server.Handle", "web/server.go"))
    assert engine == [("main.go", 7)]
    assert server == [("main.go", 9)]  # the first of Go's results
    assert group == [("main.go", 11)]  # a method's result, through a returned value
    assert server_handle == []


def test_python_values_returned_by_annotated_functions_and_methods(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/app.py": (
            "from .client import Client\n\n\n"
            "class Flask:\n"
            "    def run(self):\n        pass\n\n"
            "    def test_client(self) -> \"Client\":\n        return Client()\n"),
        "pkg/client.py": "class Client:\n    def get(self):\n        pass\n",
        "pkg/other.py": ("class Other:\n    def run(self):\n        pass\n\n"
                         "    def get(self):\n        pass\n"),
        "pkg/factory.py": (
            "from typing import Optional\n\nfrom .app import Flask\nfrom .other import Other\n\n\n"
            "def create_app() -> Optional[Flask]:\n    return Flask()\n\n\n"
            "def make():\n    return Other()\n"),
        "tests/test_app.py": (
            "from pkg.factory import create_app, make\n\n\n"
            "def test_it():\n"
            "    app = create_app()\n"
            "    app.run()\n"  # 6
            "    client = app.test_client()\n"
            "    client.get()\n"  # 8
            "    other = make()\n"
            "    other.run()\n"),  # 10: `make` says nothing: every `run`
    }
    flask, other, client, other_get = references(
        files, tmp_path, ("Flask.run", "pkg/app.py"), ("Other.run", "pkg/other.py"),
        ("Client.get", "pkg/client.py"), ("Other.get", "pkg/other.py"))
    assert flask == [("tests/test_app.py", 6), ("tests/test_app.py", 10)]
    assert other == [("tests/test_app.py", 10)]
    assert client == [("tests/test_app.py", 8)]
    assert other_get == []


def test_rust_and_typescript_values_returned_through_result_option_and_promise(
        tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n',
        "src/lib.rs": "mod walk;\nmod other;\n",
        "src/walk.rs": (
            "pub struct Builder;\npub struct Walk;\npub struct Error;\n\n"
            "impl Builder {\n"
            "    pub fn new() -> Self { Builder }\n"
            "    pub fn build(&self) -> Result<Walk, Error> { Ok(Walk) }\n}\n\n"
            "impl Walk {\n    pub fn next(&self) {}\n}\n\n"
            "pub fn run() -> Result<(), Error> {\n"
            "    let b = Builder::new();\n"
            "    let w = b.build()?;\n"
            "    w.next();\n"  # 17
            "    Ok(())\n}\n"),
        "src/other.rs": "pub struct Other;\n\nimpl Other {\n    pub fn next(&self) {}\n}\n",
        "web/app.ts": ("export class App {\n  mount(): void {}\n}\n"
                       "export class Store {\n  get(): number { return 1 }\n}\n"
                       "export function createApp(): App { return new App() }\n"
                       "export async function load(): Promise<Store> { return new Store() }\n"),
        "web/other.ts": "export class Other {\n  mount(): void {}\n  get(): number { return 2 }\n}\n",
        "web/main.ts": ("import { createApp, load } from './app'\n"
                        "export async function main() {\n"
                        "  const app = createApp()\n"
                        "  app.mount()\n"  # 4
                        "  const store = await load()\n"
                        "  store.get()\n}\n"),  # 6
    }
    walk, other, app, other_mount, store, other_get = references(
        files, tmp_path, ("Walk.next", "src/walk.rs"), ("Other.next", "src/other.rs"),
        ("App.mount", "web/app.ts"), ("Other.mount", "web/other.ts"),
        ("Store.get", "web/app.ts"), ("Other.get", "web/other.ts"))
    assert walk == [("src/walk.rs", 17)] and other == []
    assert app == [("web/main.ts", 4)] and other_mount == []
    assert store == [("web/main.ts", 6)] and other_get == []


@pytest.mark.parametrize(("language", "source", "expected"), [
    ("python",
     ('class A:\n    def make(self) -> "A":\n        pass\n\n'
      "def f() -> Optional[Flask]: ...\n\ndef g(): ...\n\n"
      "class B:\n    def c(self) -> Self: ...\n"),
     {"A.make": "A", "f": "Flask", "g": "", "B.c": "B"}),
    ("go",
     ("package x\n\nfunc New() *Engine { return nil }\n\n"
      "func Open() (*DB, error) { return nil, nil }\n\nfunc Do() {}\n\n"
      "func Pair() (a, b int) { return }\n"),
     {"New": "Engine", "Open": "DB", "Do": "", "Pair": "int"}),
    ("rust",
     ("struct F;\nimpl F {\n    fn new() -> Self { F }\n"
      "    fn open(p: &str) -> io::Result<Box<Walk>> { todo!() }\n"
      "    fn many() -> Vec<Walk> { vec![] }\n"
      "    fn pair() -> Result<(A, B), E> { todo!() }\n}\n"),
     {"F.new": "F", "F.open": "Walk", "F.many": "Vec", "F.pair": ""}),
    ("typescript",
     ("function a(): ui.Panel { }\nasync function b(): Promise<Store> { }\n"
      "const c = (): App => new App()\nfunction d() { }\nfunction e(): A | B { }\n"),
     {"a": "ui.Panel", "b": "Store", "c": "App", "d": "", "e": ""}),
])
def test_what_a_declaration_says_a_function_returns(
        language: str, source: str, expected: dict[str, str]) -> None:
    """As a parameter's type is kept (`indexer.languages.params.type_name_of`): a name or a
    path, generic arguments dropped (`Vec`: the graph finds no such type in the repository);
    Go's first result; what a Rust `Result` or `Option`, a TypeScript `Promise` holds; `Self`
    as the owner; anything else (a tuple, a union) nothing."""
    symbols = {s.qualname: s.returns for s in parse_source(source.encode(), language).symbols
               if s.kind in ("function", "method")}
    assert symbols == expected


def test_a_value_assigned_from_its_own_method_is_followed_a_few_calls_only() -> None:
    """`n = n.parent()`: the type of `n` is what `n.parent` returns, whose receiver is `n`
    again; the chain stops after a few steps as a value of unknown type."""
    source = "def f(n: Node):\n    n = n.parent()\n    n.go()\n"
    assert qualifiers(source, "python") == [("parent", "?."), ("go", "?.")]


def test_a_call_through_a_field_of_the_instance_reaches_its_declared_types_methods(
        tmp_path: Path) -> None:
    """`e.router.Handle()` in a method of `Engine`, whose field `router *Router` says its
    type; so do Rust's, TypeScript's and a Python class body's annotated fields. An
    attribute a method sets a value of unknown type (`self.other = other`, an untyped
    parameter) says nothing: every member stays."""
    files = {
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "engine.go": ("package x\n\ntype Engine struct {\n\trouter *Router\n}\n\n"
                      "func (e *Engine) Run() {\n\te.router.Handle()\n}\n"),  # 8
        "router.go": ("package x\n\ntype Router struct{}\n\nfunc (r *Router) Handle() {}\n\n"
                      "type Other struct{}\n\nfunc (o *Other) Handle() {}\n"),
        "Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n',
        "src/lib.rs": (
            "pub struct Matcher;\npub struct Other;\n\n"
            "impl Matcher {\n    pub fn find(&self) {}\n}\n\n"
            "impl Other {\n    pub fn find(&self) {}\n}\n\n"
            "pub struct Searcher {\n    matcher: Box<Matcher>,\n}\n\n"
            "impl Searcher {\n    pub fn go(&self) {\n        self.matcher.find();\n    }\n}\n"),  # 18
        "web/app.ts": ("import { Store } from './store'\n"
                       "export class App {\n  private store: Store\n"
                       "  mount(): void { this.store.get() }\n}\n"),  # 4
        "web/store.ts": ("export class Store {\n  get(): number { return 1 }\n}\n"
                         "export class Other {\n  get(): number { return 2 }\n}\n"),
        "pkg/__init__.py": "",
        "pkg/client.py": (
            "from .app import Flask, Other\n\n\n"
            "class Client:\n    app: Flask\n\n"
            "    def __init__(self, other):\n        self.other = other\n\n"
            "    def go(self):\n"
            "        self.app.run()\n"  # 11
            "        self.other.run()\n"),  # 12: set in a method, not declared
        "pkg/app.py": ("class Flask:\n    def run(self):\n        pass\n\n\n"
                       "class Other:\n    def run(self):\n        pass\n"),
    }
    found = references(
        files, tmp_path, ("Router.Handle", "router.go"), ("Other.Handle", "router.go"),
        ("Matcher.find", "src/lib.rs"), ("Other.find", "src/lib.rs"),
        ("Store.get", "web/store.ts"), ("Other.get", "web/store.ts"),
        ("Flask.run", "pkg/app.py"), ("Other.run", "pkg/app.py"))
    assert found == [
        [("engine.go", 8)], [],
        [("src/lib.rs", 18)], [],
        [("web/app.ts", 4)], [],
        [("pkg/client.py", 11), ("pkg/client.py", 12)], [("pkg/client.py", 12)],
    ]


def test_a_field_of_a_value_of_a_known_type_is_of_its_declared_type(tmp_path: Path) -> None:
    """`c.engine.Handle()` with `c *Context` and `engine *Engine` declared in `Context`:
    `Engine`'s method; a field that says no type keeps every member possible."""
    files = {
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "types.go": ("package x\n\ntype Context struct {\n\tengine *Engine\n\tany interface{}\n}\n\n"
                     "type Engine struct{}\n\nfunc (e *Engine) Handle() {}\n\n"
                     "type Other struct{}\n\nfunc (o *Other) Handle() {}\n"),
        "use.go": ("package x\n\nfunc serve(c *Context) {\n\tc.engine.Handle()\n"  # 4
                   "\tc.any.Handle()\n}\n"),  # 5
    }
    engine, other = references(files, tmp_path, ("Engine.Handle", "types.go"),
                               ("Other.Handle", "types.go"))
    assert engine == [("use.go", 4), ("use.go", 5)]
    assert other == [("use.go", 5)]


def test_a_field_of_a_field_is_of_its_declared_type(tmp_path: Path) -> None:
    """`c.engine.trees.Get()`: the field `trees` of `Engine`, the declared type of `Context`'s
    field `engine`; three fields deep at most (`c.engine.trees.root.a.Get()` says nothing)."""
    files = {
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "types.go": ("package x\n\ntype Context struct {\n\tengine *Engine\n}\n\n"
                     "type Engine struct {\n\ttrees *Trees\n}\n\n"
                     "type Trees struct {\n\troot *Trees\n\ta *Trees\n}\n\n"
                     "func (t *Trees) Get() {}\n\n"
                     "type Other struct{}\n\nfunc (o *Other) Get() {}\n"),
        "use.go": ("package x\n\nfunc serve(c *Context) {\n"
                   "\tc.engine.trees.Get()\n"  # 4
                   "\tc.engine.trees.root.Get()\n"  # 5
                   "\tc.engine.trees.root.a.Get()\n}\n"),  # 6: four fields
    }
    trees, other = references(files, tmp_path, ("Trees.Get", "types.go"),
                              ("Other.Get", "types.go"))
    assert trees == [("use.go", 4), ("use.go", 5), ("use.go", 6)]
    assert other == [("use.go", 6)]


@pytest.mark.parametrize(("language", "source", "expected"), [
    ("go", "package x\n\ntype E struct {\n\tr *Router\n\ta, b int\n\tg gin.Group\n}\n",
     {"E.r": "Router", "E.a": "int", "E.b": "int", "E.g": "gin.Group"}),
    ("rust", "struct S { m: Box<M>, v: Vec<u8>, f: fn() }\n",
     {"S.m": "M", "S.v": "Vec", "S.f": ""}),
    ("typescript", "class A { private s: Store; n = 0 }\n", {"A.s": "Store", "A.n": ""}),
    ("python", "class C:\n    app: 'Flask'\n    n = 1\n", {"C.app": "Flask", "C.n": ""}),
])
def test_what_a_declaration_says_a_field_holds(
        language: str, source: str, expected: dict[str, str]) -> None:
    fields = {s.qualname: s.returns for s in parse_source(source.encode(), language).symbols
              if s.kind == "field"}
    assert fields == expected


def test_what_the_review_found_stays_a_value_of_unknown_type(tmp_path: Path) -> None:
    """A constant's method (`State::GLOBAL.lock()`), a parameter or variable called
    (`w = factory()` where `factory` is a parameter, not the module's function), a name
    assigned two types (`h = connect()`, then `h = serve()`; `r :=` in two `case`s) and a
    slice (`xs []Engine`) say no type: every member of the name stays possible."""
    files = {
        "Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n',
        "src/lib.rs": (
            "pub struct State;\npub struct Inner;\n"
            "impl State {\n    const GLOBAL: State = State;\n"
            "    pub fn lock(&self) -> Inner { Inner }\n    pub fn push(&self) {}\n}\n"
            "impl Inner {\n    pub fn push(&self) {}\n}\n"
            "pub fn f() {\n    let g = State::GLOBAL.lock();\n    g.push();\n}\n"),  # 13
        "a.py": (
            "class Server:\n    def start(self):\n        pass\n\n\n"
            "class Worker:\n    def start(self):\n        pass\n\n\n"
            "def factory() -> Server:\n    return Server()\n\n\n"
            "def run(factory):\n    w = factory()\n    w.start()\n\n\n"  # 17
            "def connect() -> Worker:\n    return Worker()\n\n\n"
            "def main():\n    h = factory()\n    h.start()\n"  # 26
            "    h = connect()\n    h.start()\n"),  # 28
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "r.go": (
            "package x\n\ntype JSON struct{}\n\ntype XML struct{}\n\n"
            "func (j JSON) Render() {}\n\nfunc (x XML) Render() {}\n\n"
            "func newJSON() JSON { return JSON{} }\n\nfunc newXML() XML { return XML{} }\n\n"
            "func pick(k string, xs []JSON) {\n\tswitch k {\n\tcase \"json\":\n"
            "\t\tr := newJSON()\n\t\tr.Render()\n"  # 19
            "\tcase \"xml\":\n\t\tr := newXML()\n\t\tr.Render()\n\t}\n"  # 22
            "\txs.Render()\n}\n"),  # 24
    }
    inner, worker, xml = references(files, tmp_path, ("Inner.push", "src/lib.rs"),
                                    ("Worker.start", "a.py"), ("XML.Render", "r.go"))
    assert inner == [("src/lib.rs", 13)]
    assert worker == [("a.py", 17), ("a.py", 26), ("a.py", 28)]
    assert xml == [("r.go", 19), ("r.go", 22), ("r.go", 24)]


@pytest.mark.parametrize(("language", "source"), [
    ("go", ("package x\n\nfunc New() *E { return nil }\n\n"
            "func f() {\n\tr := New()\n\tg := r.Group()\n\tg.Handle()\n}\n")),
    ("python", "def f():\n    app = create_app()\n    app.test_client().get()\n"),
])
def test_parsing_a_file_leaves_no_reference_cycle(language: str, source: str) -> None:
    """A file's scopes and tree are freed when its parse returns, not at the next
    collection: a qualifier that followed a returned value through a closure calling
    itself kept them alive (a worker's peak RSS on moby 20 MB higher)."""
    parse_source(source.encode(), language)  # grammars and queries loaded
    gc.collect()
    gc.disable()
    try:
        parse_source(source.encode(), language)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_call_or_index_between_fields_is_an_expression() -> None:
    """Only names are read as fields: `t.Field(0).Type.String()` with `t` typed is a call
    through an expression, as is Rust's `self.sep.clone().into_bytes()`."""
    go = ("package x\n\nimport \"reflect\"\n\nfunc f(x int) {\n\tt := reflect.TypeOf(x)\n"
          "\tt.Field(0).Type.String()\n\tt.Elem().Name()\n}\n")
    assert [q for name, q in qualifiers(go, "go") if name in ("String", "Name")] == ["?.", "?."]
    rust = ("struct A { sep: Vec<u8> }\nimpl A {\n    fn f(&self, a: &A) {\n"
            "        a.sep.clone().into_bytes();\n    }\n}\n")
    assert [q for name, q in qualifiers(rust, "rust") if name == "into_bytes"] == ["?."]
