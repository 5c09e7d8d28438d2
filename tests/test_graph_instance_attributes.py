"""An attribute a Python method gives the instance (`self.app = app` with `app: Flask`,
`self.session = Session()`, `self.made = make()`, `self.cfg: Config = ...`) is of that type
in every method of the class: a call through it reaches that type's methods only. Before,
`self.app.run()` reached every `run` the repository defines (flask's own code sets most of
its attributes this way, and none of its 59 calls through one was narrowed)."""

from __future__ import annotations

from pathlib import Path

from tests.test_call_qualifiers import qualifiers
from tests.test_graph_typed_values import references

CLIENT = (
    "from .app import Flask\n"
    "from .session import Session, make\n\n\n"
    "class Client:\n"
    "    def __init__(self, app: Flask, other, session=None):\n"
    "        self.app = app\n"
    "        self.other = other\n"
    "        self.session = Session()\n"
    "        self.made = make()\n"
    "        self.later = None\n"
    "        self.mixed = Session()\n"
    "        self.me = self\n\n"
    "    def open(self):\n"
    "        self.later = Session()\n"
    "        self.mixed = Flask()\n\n"
    "    def go(self):\n"
    "        self.app.run()\n"  # 20
    "        self.other.run()\n"  # 21: an untyped parameter
    "        self.session.close()\n"  # 22
    "        self.made.close()\n"  # 23: what `make` says it returns
    "        self.later.close()\n"  # 24: `None` first, then a Session
    "        self.mixed.close()\n"  # 25: a Session and a Flask: unknown
    "        self.app.config.get('x')\n"  # 26: a field of the attribute's type
    "\n"
    "        def inner():\n"
    "            self.app.run()\n"  # 29: a function inside a method: the same instance
    "        return inner\n\n\n"
    "def free(self):\n"
    "    self.app.run()\n"  # 34: no class around it
)


def test_python_calls_through_assigned_attributes_are_written_with_their_types() -> None:
    found = qualifiers(CLIENT, "python")
    calls = [q for name, q in found if name in ("run", "close", "get")]
    assert calls == [
        "(Flask).", "self.other.", "(Session).", "(=make).", "(Session).", "self.mixed.",
        "(=(Flask).config).", "(Flask).", "self.app.",
    ]


def test_a_class_does_not_see_another_classes_attributes() -> None:
    source = (
        "class A:\n    def __init__(self, s: Session):\n        self.s = s\n\n"
        "class B:\n    def go(self):\n        self.s.close()\n")
    assert [q for name, q in qualifiers(source, "python") if name == "close"] == ["self.s."]


def test_a_call_through_an_assigned_attribute_reaches_its_types_methods_only(
        tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/client.py": CLIENT,
        "pkg/app.py": (
            "class Config:\n    def get(self, k):\n        pass\n\n\n"
            "class Flask:\n    config: Config\n\n    def run(self):\n        pass\n"),
        "pkg/session.py": (
            "class Session:\n    def close(self):\n        pass\n\n    def run(self):\n"
            "        pass\n\n\n"
            "class Other:\n    def close(self):\n        pass\n\n    def get(self, k):\n"
            "        pass\n\n\n"
            "def make() -> Session:\n    return Session()\n"),
    }
    flask_run, session_run, session_close, other_close, config_get, other_get = references(
        files, tmp_path, ("Flask.run", "pkg/app.py"), ("Session.run", "pkg/session.py"),
        ("Session.close", "pkg/session.py"), ("Other.close", "pkg/session.py"),
        ("Config.get", "pkg/app.py"), ("Other.get", "pkg/session.py"))
    client = "pkg/client.py"
    # the untyped parameter's and the function's outside a class reach every `run`
    assert flask_run == [(client, 20), (client, 21), (client, 29), (client, 34)]
    assert session_run == [(client, 21), (client, 34)]
    assert session_close == [(client, 22), (client, 23), (client, 24), (client, 25)]
    assert other_close == [(client, 25)]  # the attribute of two types reaches both
    assert config_get == [(client, 26)]
    assert other_get == []


def test_a_type_inside_a_function_is_no_modules_attribute(tmp_path: Path) -> None:
    """`it: t.Iterable` after `import typing as t`: no import edge is known by `t`, and the
    only `Iterable` the repository defines is a test's own class inside its function. Before,
    the call reached that class's `close` alone; it is a value of unknown type now."""
    files = {
        "pkg/__init__.py": "",
        "pkg/lint.py": (
            "import typing as t\n\n\n"
            "class Guard:\n"
            "    def __init__(self, it: t.Iterable[bytes]):\n"
            "        self._it = it\n\n"
            "    def close(self):\n"
            "        self._it.close()\n"),  # 9
        "pkg/files.py": "class Stream:\n    def close(self):\n        pass\n",
        "tests/test_lint.py": (
            "def test_close():\n"
            "    class Iterable:\n"
            "        def close(self):\n"
            "            pass\n"),
    }
    # both `close` methods stay possible: the one in `pkg/files.py` and the test's own
    assert references(files, tmp_path, ("Stream.close", "pkg/files.py"),
                      ("test_close.Iterable.close", "tests/test_lint.py")) == [
        [("pkg/lint.py", 9)], [("pkg/lint.py", 9)]]


def test_what_a_review_found_leaves_an_attribute_of_unknown_type() -> None:
    """A parameter declared of a type and assigned a default of another (`loader =
    FileSystemLoader()` when `loader: BaseLoader | None` is None), a call on the assigning
    method's own parameter (`conn.cursor()`: another method's `conn` is another value), and
    an assignment the query reads as one of unknown type (`self.z, self.w = ...`,
    `for self.i in ...`). An untyped parameter takes the type assigned (`s = Session()`),
    as a variable does."""
    source = (
        "class Env:\n"
        "    def __init__(self, conn, loader: BaseLoader | None = None, s=None):\n"
        "        if loader is None:\n            loader = FileSystemLoader()\n"
        "        if s is None:\n            s = Session()\n"
        "        self.loader = loader\n        self.s = s\n"
        "        self.cur = conn.cursor()\n"
        "        self.z, self.w = Foo(), Bar()\n"
        "        for self.i in range(3):\n            pass\n\n"
        "    def reset(self, conn: Engine):\n"
        "        self.z = Bar()\n        self.i = Foo()\n\n"
        "    def go(self, conn: Engine):\n"
        "        self.loader.get()\n        self.s.get()\n        self.cur.get()\n"
        "        self.z.get()\n        self.i.get()\n")
    assert [q for name, q in qualifiers(source, "python") if name == "get"] == [
        "self.loader.", "(Session).", "self.cur.", "self.z.", "self.i."]


def test_an_aliased_optional_is_what_it_holds() -> None:
    source = ("import typing as t\n\n\nclass C:\n    def __init__(self, e: t.Optional[Engine]):\n"
              "        self.e = e\n\n    def go(self):\n        self.e.run()\n")
    assert [q for name, q in qualifiers(source, "python") if name == "run"] == ["(Engine)."]


def test_a_type_inside_a_module_of_its_file_is_still_that_modules(tmp_path: Path) -> None:
    """A review's case: Rust's inline `mod config { struct Settings }` is a module, not a
    function: `s: config::Settings` reaches `Settings`' method alone."""
    files = {
        "Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n',
        "src/lib.rs": ("pub mod config {\n    pub struct Settings;\n    impl Settings {\n"
                       "        pub fn get(&self) {}\n    }\n}\n"
                       "pub struct Other;\nimpl Other {\n    pub fn get(&self) {}\n}\n"
                       "pub fn f(s: config::Settings) {\n    s.get();\n}\n"),  # 12
    }
    settings, other = references(files, tmp_path, ("config.Settings.get", "src/lib.rs"),
                                 ("Other.get", "src/lib.rs"))
    assert (settings, other) == ([("src/lib.rs", 12)], [])
