"""Python's import aliases (`import werkzeug.routing as r`, `from . import datastructures as
ds`, `from jinja2 import Environment as BaseEnvironment`): a call through one is written as
through what it stands for, so the graph places it. Before, each was a value of unknown type
(`?.`), and `import a.b as r` bound `a`, which the file never names."""

from __future__ import annotations

from pathlib import Path

from indexer.parse.treesitter import parse_source
from tests.test_call_qualifiers import qualifiers
from tests.test_graph_typed_values import references

SOURCE = (
    "import typing as t\n"
    "import werkzeug.routing as r\n"
    "from jinja2 import Environment as BaseEnvironment\n"
    "from .models import Request as BaseRequest\n"
    "from . import views as v\n"
    "from .app import Flask as F\n\n\n"
    "class Environment(BaseEnvironment):\n"
    "    def __init__(self, app: F, it: t.Iterable, m: r.Map):\n"
    "        BaseEnvironment.__init__(self)\n"
    "        BaseRequest.__init__(self)\n"
    "        v.index()\n"
    "        app.run()\n"
    "        it.close()\n"
    "        m.bind()\n"
    "        made = r.make()\n"
    "        made.bind()\n"
    "        werkzeug.run()\n"
)


def calls(source: str) -> list[tuple[str, str | None]]:
    """(name, qualifier) of each call in a Python `source`."""
    return [(r.name, r.qualifier) for r in parse_source(source.encode(), "python").references
            if r.kind == "call"]


def test_a_call_through_an_alias_is_written_as_through_what_it_stands_for() -> None:
    found = [q for name, q in qualifiers(SOURCE, "python")
             if name in ("__init__", "index", "run", "close", "bind")]
    assert found == [
        "jinja2.Environment.",  # the module too: `Environment.` would be this file's class
        "models.Request.",
        "views.",  # `from . import views`: the module's own name
        "(app.Flask).",
        "(typing.Iterable).",
        "(werkzeug.routing.Map).",
        "(=werkzeug.routing.make).",
        "?.",  # `werkzeug` is not a name `import werkzeug.routing as r` binds
    ]


def test_calls_through_aliases_reach_what_the_aliases_stand_for(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/models.py": ("class Request:\n    def __init__(self):\n        pass\n\n"
                          "    def close(self):\n        pass\n"),
        "pkg/views.py": "def index():\n    pass\n",
        "pkg/other.py": ("def index():\n    pass\n\n\n"
                         "class Environment:\n    def close(self):\n        pass\n"),
        "pkg/env.py": (
            "from jinja2 import Environment as BaseEnvironment\n"
            "from .models import Request as BaseRequest\n"
            "from . import views as v\n\n\n"
            "class Environment(BaseEnvironment):\n"
            "    def __init__(self):\n"
            "        BaseEnvironment.__init__(self)\n"  # 8: jinja2's, not this class's
            "        v.index()\n\n"  # 9
            "    def go(self, r: BaseRequest):\n"
            "        r.close()\n"),  # 12
    }
    env_init, request_init, views_index, other_index, request_close, other_close = (
        references(files, tmp_path, ("Environment.__init__", "pkg/env.py"),
                   ("Request.__init__", "pkg/models.py"), ("index", "pkg/views.py"),
                   ("index", "pkg/other.py"), ("Request.close", "pkg/models.py"),
                   ("Environment.close", "pkg/other.py")))
    assert env_init == []
    assert request_init == []
    assert views_index == [("pkg/env.py", 9)]
    assert other_index == []
    assert request_close == [("pkg/env.py", 12)]
    assert other_close == []


def test_a_name_imported_under_an_alias_is_used_as_itself(tmp_path: Path) -> None:
    """`from .models import Request as BaseRequest`: `BaseRequest(...)` and
    `class Request(BaseRequest)` use `models.Request`, not the file's own `Request`. Before,
    the references were named `BaseRequest`, which the repository never defines; and
    `super()` in the subclass reaches the base's method, never the class's own."""
    files = {
        "pkg/__init__.py": "",
        "pkg/models.py": "class Request:\n    def close(self):\n        pass\n",
        "pkg/wrappers.py": (
            "from .models import Request as BaseRequest\n\n\n"
            "class Request(BaseRequest):\n"  # 4
            "    def copy(self) -> BaseRequest:\n"  # 5
            "        return BaseRequest()\n\n"  # 6
            "    def close(self):\n"
            "        super().close()\n"),  # 9
    }
    found = parse_source(files["pkg/wrappers.py"].encode(), "python")
    assert [s.bases for s in found.symbols if s.qualname == "Request"] == [("models.Request",)]
    uses = references(files, tmp_path, ("Request", "pkg/models.py"),
                      ("Request", "pkg/wrappers.py"), ("Request.close", "pkg/models.py"),
                      ("Request.close", "pkg/wrappers.py"))
    assert [sorted(set(u)) for u in uses] == [
        [("pkg/wrappers.py", 4), ("pkg/wrappers.py", 5), ("pkg/wrappers.py", 6)], [],
        [("pkg/wrappers.py", 9)], []]


def test_an_alias_bound_to_two_things_stands_for_neither() -> None:
    """A fallback import binds the alias to one of two modules, which the file cannot say."""
    source = (
        "try:\n    from .speedups import escape as esc\n"
        "except ImportError:\n    from ._native import escape as esc\n\n\n"
        "def f():\n    esc()\n    esc.go()\n")
    assert calls(source) == [("esc", ""), ("go", "?.")]


def test_a_parameter_or_variable_hides_an_alias_of_its_name() -> None:
    """A review's case: `t` is `typing` at the top of the file, but a loop's or a
    parameter's `t` inside a function is a value of unknown type."""
    source = (
        "import typing as t\nfrom .models import Request as R\n\n\n"
        "def f(tokens):\n    for t in tokens:\n        t.test()\n\n\n"
        "def g(t, R):\n    t.test()\n    R()\n\n\n"
        "def h():\n    t.cast(1)\n    R()\n")
    assert calls(source) == [("test", "?."), ("test", "?."), ("R", ""), ("cast", "typing."),
                     ("Request", "models.")]


def test_an_alias_the_file_binds_otherwise_too_stands_for_neither() -> None:
    """A review's case: a fallback to a plain import or to the file's own definition."""
    source = (
        "try:\n    from .c_impl import CParser as Parser\n"
        "except ImportError:\n    from .py_impl import Parser\n"
        "try:\n    from ._speedups import escape_c as escape\n"
        "except ImportError:\n    def escape(s):\n        return s\n\n\n"
        "def f():\n    Parser()\n    Parser.build()\n    escape('x')\n")
    assert calls(source) == [("Parser", ""), ("build", "Parser."), ("escape", "")]


def test_a_type_renamed_from_an_alias_keeps_its_module_beside_the_same_name() -> None:
    """A review's case: `UserModel` is `models.User`, and `schemas.User` in the same
    signature is a use of its own; a base keeps the module too."""
    source = (
        "from .models import User as UserModel\nfrom .schemas import User\n\n\n"
        "def create(u: UserModel, v: User):\n    pass\n\n\n"
        "class A(UserModel, User):\n    pass\n")
    found = parse_source(source.encode(), "python")
    assert [(r.name, r.qualifier) for r in found.references if r.kind == "type"] == [
        ("User", "models."), ("User", None)]
    assert [s.bases for s in found.symbols if s.name == "A"] == [("models.User", "User")]
