"""What a call site says before the name (its qualifier) is read, stored, and migrated into an
older index."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.parse.treesitter import parse_source
from indexer.store import SCHEMA_VERSION, Store


def qualifiers(source: str, language: str) -> list[tuple[str, str | None]]:
    refs = parse_source(source.encode(), language).references
    return [(r.name, r.qualifier) for r in refs if r.kind == "call"]


def test_python_calls_carry_their_receiver_and_bare_calls_an_empty_qualifier() -> None:
    source = (
        "import flask.json\n"
        "from . import helpers\n\n\n"
        "class A(Base):\n"
        "    def __init__(self, app):\n"
        "        super().__init__()\n"
        "        self.url_for('x')\n"
        "        self.app.run()\n"
        "        helpers.url_for('y')\n"
        "        flask.json.dumps({})\n"
        "        url_for('z')\n"
        "        app.run()\n"
        "        make().close()\n"
    )
    assert qualifiers(source, "python") == [
        ("__init__", "super()."), ("url_for", "self."), ("run", "self.app."),
        ("url_for", "helpers."), ("dumps", "flask.json."), ("url_for", ""),
        ("run", "?."), ("make", ""), ("close", "?."),  # a local value, an expression
    ]


def test_rust_paths_and_receivers_are_told_apart() -> None:
    source = (
        "fn main() {\n"
        "    let g = Gitignore::new(root);\n"
        "    let e = io::Error::new(kind, err);\n"
        "    let v = Vec::<u8>::with_capacity(3);\n"
        "    g.strip(path);\n"
        "    Self::build();\n"
        "    helper();\n"
        "}\n"
    )
    assert qualifiers(source, "rust") == [
        ("new", "Gitignore::"), ("new", "io::Error::"), ("with_capacity", "Vec::"),
        ("strip", "(Gitignore)."),  # `let g = Gitignore::new(..)`: a Gitignore
        ("build", "Self::"), ("helper", ""),
    ]


def test_a_rust_path_starting_with_a_used_name_is_written_out() -> None:
    source = (
        "use std::{io, fmt};\nuse crate::gitignore::Gitignore;\nuse globset::GlobSetBuilder;\n"
        "use self::Kind::*;\n\n"
        "fn main() {\n"
        "    io::Error::new(kind, err);\n    Gitignore::new(root);\n"
        "    GlobSetBuilder::new();\n    grep::searcher::BinaryDetection::none();\n"
        "    Kind::make();\n"
        "}\n"
    )
    assert qualifiers(source, "rust") == [
        ("new", "std::io::Error::"), ("new", "crate::gitignore::Gitignore::"),
        ("new", "globset::GlobSetBuilder::"), ("none", "grep::searcher::BinaryDetection::"),
        ("make", "Kind::"),  # a wildcard binds what the module holds, not its name
    ]


def test_go_selector_calls_carry_the_package_they_name() -> None:
    source = (
        "package x\n\nimport (\n\t\"github.com/gin-gonic/gin/binding\"\n"
        "\t\"github.com/mattn/go-isatty\"\n)\n\nfunc f() {\n"
        "\tbinding.Default(\"GET\", \"\")\n\tDefault(\"GET\", \"\")\n"
        "\tisatty.IsTerminal(1)\n\tc.engine.Run()\n}\n"
    )
    assert qualifiers(source, "go") == [
        ("Default", "binding."), ("Default", ""), ("IsTerminal", "isatty."), ("Run", "?."),
    ]


def test_a_go_call_through_the_methods_receiver_is_written_self() -> None:
    source = (
        "package gin\n\n"
        "func (c *Context) JSON(code int) {\n"
        "\tc.Render(code)\n\tc.engine.Run()\n\tother.Render(1)\n"
        "\tf := func() { c.Next() }\n\tf()\n}\n\n"
        "func (Context) Reset() { c.Render(0) }\n\n"
        "func helper(c *Context) { c.Render(1) }\n"
    )
    assert qualifiers(source, "go") == [
        ("Render", "self."), ("Run", "self.engine."), ("Render", "?."), ("Next", "self."),
        ("f", ""), ("Render", "?."),  # a method whose receiver has no name
        ("Render", "(Context)."),  # a parameter declared `*Context`
    ]


@pytest.mark.parametrize(("language", "source", "expected"), [
    ("python",
     ("def f(app: Flask, bp: 'pkg.Blueprint' = None, *, cfg: Optional[Config] = None, n=1,\n"
     "      e: Flask | None = None, u: int | str = 0):\n"
     "    app.run(); bp.register(); cfg.get('x'); n.bit_length(); e.run(); u.real()\n"
     "    app.config.get('y')\n"
     "    def inner():\n        app.test_client()\n"),
     [("run", "(Flask)."), ("register", "(pkg.Blueprint)."), ("get", "(Config)."),
      ("bit_length", "?."), ("run", "(Flask)."), ("real", "?."),
      ("get", "(=(Flask).config)."),  # a field: what the graph finds `Flask.config` declared
      ("test_client", "(Flask).")]),
    ("go",
     ("package x\n\nfunc f(c *gin.Context, a, b Engine, w http.ResponseWriter) {\n"
     "\tc.JSON(1)\n\ta.Run()\n\tb.Run()\n\tw.Write(nil)\n\tc.engine.Run()\n}\n"),
     [("JSON", "(gin.Context)."), ("Run", "(Engine)."), ("Run", "(Engine)."),
      ("Write", "(http.ResponseWriter)."), ("Run", "(=(gin.Context).engine).")]),
    ("typescript",
     ("function f(c: Context, o?: ui.Panel, n = 1) { c.run(); o.show(); n.toFixed() }\n"
     "const g = (p: Foo): void => { p.x() }\n"
     "class A { m(q: Bar | undefined) { q.y(); this.z() } }\n"),
     [("run", "(Context)."), ("show", "(ui.Panel)."), ("toFixed", "?."), ("x", "(Foo)."),
      ("y", "(Bar)."), ("z", "this.")]),
    ("rust",
     ("fn f(g: &Gitignore, mut h: Builder, m: &mut grep::Matcher<'a>, b: Box<Foo>,\n"
     "     c: impl Fn()) {\n    g.strip(); h.build(); m.find(); b.go(); c.call();\n}\n"),
     [("strip", "(Gitignore)."), ("build", "(Builder)."), ("find", "(grep::Matcher)."),
      ("go", "(Foo)."), ("call", "?.")]),
])
def test_a_call_through_a_typed_parameter_carries_the_type(
    language: str, source: str, expected: list[tuple[str, str]],
) -> None:
    """What a parameter is declared as (a pointer or reference to it, `Optional[X]`,
    `X | None`, `Box<X>`, generic arguments dropped); a value of unknown type otherwise."""
    assert qualifiers(source, language) == expected


@pytest.mark.parametrize(("language", "source", "expected"), [
    ("python",
     ("import flask\n"
      "app = Flask(__name__)\n"
      "app.route('/')\n\n\n"
      "def f():\n"
      "    bp = flask.Blueprint('x', __name__)\n"
      "    bp.register(app)\n"
      "    cfg: Config = load()\n"
      "    cfg.get('x')\n"
      "    x = make()\n"
      "    x.run()\n\n\n"
      "def g(app):\n"
      "    app.run()\n\n\n"
      "def h():\n"
      "    app = make_app()\n"
      "    app.run()\n"),
     [("Flask", ""), ("route", "(Flask)."), ("Blueprint", "flask."),
      ("register", "(flask.Blueprint)."), ("load", ""), ("get", "(Config)."), ("make", ""),
      ("run", "(=make)."),  # a function's value: the type it returns, read by the graph
      ("run", "?."),  # an untyped parameter hides the module's `app`
      ("make_app", ""), ("run", "(=make_app).")]),  # so does a variable assigned again
    ("go",
     ("package x\n\nvar global Engine\n\n"
      "func f() {\n\tc := &Context{}\n\tc.JSON(1)\n\tvar e Engine\n\te.Run()\n"
      "\td := gin.Context{}\n\td.Next()\n\tr := New()\n\tr.Run()\n\tglobal.Run()\n}\n"),
     [("JSON", "(Context)."), ("Run", "(Engine)."), ("Next", "(gin.Context)."), ("New", ""),
      ("Run", "(=New)."), ("Run", "(Engine).")]),
    ("typescript",
     ("const app = new App()\napp.mount()\n"
      "function f(x) { let p: ui.Panel = make(); p.show(); const q = new ui.Dialog(); q.open();"
      " x.go() }\n"),
     [("App", ""), ("mount", "(App)."), ("make", ""), ("show", "(ui.Panel)."),
      ("Dialog", "?."), ("open", "(ui.Dialog)."), ("go", "?.")]),
    ("rust",
     ("fn f() {\n    let w = WalkBuilder::new(p);\n    w.build();\n"
      "    let m: Matcher = x;\n    m.find();\n    let s = Searcher { a: 1 };\n    s.search();\n"
      "    let r = RegexMatcher::new(p)?;\n    r.is_match();\n"
      "    let b = Foo::builder();\n    b.go();\n}\n"),
     [("new", "WalkBuilder::"), ("build", "(WalkBuilder)."), ("find", "(Matcher)."),
      ("search", "(Searcher)."), ("new", "RegexMatcher::"), ("is_match", "(RegexMatcher)."),
      ("builder", "Foo::"), ("go", "(=Foo::builder).")]),  # what `builder` says it returns
])
def test_a_call_through_a_variable_whose_assignment_says_its_type_carries_it(
    language: str, source: str, expected: list[tuple[str, str]],
) -> None:
    assert qualifiers(source, language) == expected


@pytest.mark.parametrize(("language", "source", "expected"), [
    ("javascript",
     ("const client = new Client()\nfunction f() {\n  const client = makeOther()\n"
      "  client.get()\n}\nfunction g() { client.put() }\n"
      "function h() { [1].map(client => client.del()) }\n"),
     [("Client", ""), ("makeOther", ""), ("get", "(=makeOther)."), ("put", "(Client)."),
      ("map", "?."), ("del", "?.")]),
    ("typescript",
     "function g(client: Client) {\n  for (const client of others) { client.get() }\n}\n",
     [("get", "?.")]),
    ("go",
     ("package p\n\nvar app Engine\n\nfunc f() {\n\tapp := NewServer()\n\tapp.Run()\n}\n\n"
      "func (c *Context) R() {\n\tfunc(c *Other) { c.P() }(nil)\n\tc.Q()\n}\n"),
     [("NewServer", ""), ("Run", "(=NewServer)."), ("P", "(Other)."), ("Q", "self.")]),
    ("rust",
     "fn f(m: Matcher) {\n    let m = m.inner();\n    m.find();\n}\n",
     [("inner", "?."), ("find", "?.")]),  # the whole function: before the `let` too
])
def test_another_declaration_of_a_name_hides_the_type_it_had(
    language: str, source: str, expected: list[tuple[str, str]],
) -> None:
    """A declaration that says no type (`const client = makeOther()`, a loop's variable,
    a callback's parameter, `let m = m.inner()`) hides the type the name has outside."""
    assert qualifiers(source, language) == expected


def test_javascript_and_typescript_calls_carry_this_super_a_receiver_or_nothing() -> None:
    source = (
        "import * as utils from './utils'\n"
        "class App extends Base {\n"
        "  mount() {\n"
        "    super.mount(); this.render(); this.el.focus(); utils.format(1)\n"
        "    render(); new Widget(); new ui.Panel(); make().close(); obj?.run()\n"
        "  }\n"
        "}\n"
    )
    for language in ("javascript", "typescript", "tsx"):
        assert qualifiers(source, language) == [
            ("mount", "super."), ("render", "this."), ("focus", "this.el."),
            ("format", "?."), ("render", ""), ("Widget", ""), ("Panel", "?."),
            ("make", ""), ("close", "?."), ("run", "?."),
        ], language


def test_an_index_of_the_last_schema_is_migrated_and_its_files_read_again(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("import helpers\n\n\ndef f() -> int:\n    helpers.url_for('x')\n")
    paths = IndexPaths.for_repo(root, tmp_path / "idx")
    with RepoIndex(paths) as index:
        index_repository(index)
    # as schema 1 left it: no qualifier column, no return types, and the extraction rules of
    # its time
    store = Store(paths.store, cache_path=paths.embeddings)
    store.query("ALTER TABLE refs DROP COLUMN qualifier")
    store.query("ALTER TABLE symbols DROP COLUMN returns")
    store.set_meta("schema_version", "1")
    store.set_meta("extraction_rules", "3")
    store.close()
    with RepoIndex(paths) as index:
        assert index.store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert index.store.query("SELECT name, qualifier FROM refs") == [("url_for", None)]
        assert index.store.query("SELECT name, returns FROM symbols") == [("f", None)]
        assert index_repository(index).indexed == 1
        assert index.store.query("SELECT name, qualifier FROM refs") == [("url_for", "helpers.")]
        assert index.store.query("SELECT name, returns FROM symbols") == [("f", "int")]
