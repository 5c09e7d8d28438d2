"""Where a value's type is known, and where it is not: the cases a review found, each a
small repository parsed and indexed for real. A call through a value of a known type
reaches that type's methods only; a type that any other may stand for (an interface, a
`Protocol`, a TypeScript object type), one outside the repository, or a name whose type
another declaration hides keeps every member of the name possible."""

from __future__ import annotations

from pathlib import Path

from tests.mcp_helpers import live_over
from tools.symbols import get_symbol


def references(files: dict[str, str], tmp_path: Path,
               *wanted: tuple[str, str]) -> list[list[tuple[str, int]]]:
    """For each (name, file), the (path, line) of the references of its definition there."""
    with live_over(tmp_path, files) as live:
        out = []
        for name, path in wanted:
            found = get_symbol(live, name, path=path, include_body=False,
                               include_references=True, max_tokens=20_000)
            symbol = next(s for s in found.symbols if s.path == path)
            out.append([(r.path, r.line) for r in symbol.references or []])
        return out


def test_a_variable_of_an_anonymous_callback_is_that_callbacks_own(tmp_path: Path) -> None:
    """Before: both callbacks' `c` were assigned to the file's top level, the last one won,
    and `RedisClient.get` lost its call to `HttpClient.get`."""
    files = {
        "src/redis.js": "export class RedisClient {\n  get(k) { return 1 }\n}\n",
        "src/http.js": "export class HttpClient {\n  get(u) { return 2 }\n}\n",
        "test/a.test.js": (
            "const { RedisClient } = require('../src/redis')\n"
            "const { HttpClient } = require('../src/http')\n"
            "describe('x', () => {\n"
            "  it('a', () => { const c = new RedisClient(); c.get('a') })\n"
            "  it('b', () => { const c = new HttpClient(); c.get('b') })\n"
            "})\n"),
    }
    redis, http = references(files, tmp_path, ("RedisClient.get", "src/redis.js"),
                             ("HttpClient.get", "src/http.js"))
    assert redis == [("test/a.test.js", 4)]
    assert http == [("test/a.test.js", 5)]


def test_a_go_value_of_an_imported_packages_type_is_not_the_repositorys_same_name(
        tmp_path: Path) -> None:
    """`ctx context.Context` is the standard library's: before, it was read as the
    repository's `Context`, and `timerCtx.Done` lost the call."""
    files = {
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "context.go": ("package x\n\ntype Context struct{}\n\n"
                       "func (c *Context) Done() <-chan struct{} { return nil }\n"),
        "timer.go": ("package x\n\ntype timerCtx struct{}\n\n"
                     "func (t *timerCtx) Done() <-chan struct{} { return nil }\n"),
        "wait.go": ("package x\n\nimport \"context\"\n\n"
                    "func wait(ctx context.Context) {\n\t<-ctx.Done()\n}\n"),
    }
    context, timer = references(files, tmp_path, ("Context.Done", "context.go"),
                                ("timerCtx.Done", "timer.go"))
    assert context == timer == [("wait.go", 6)]


def test_a_rust_enum_variant_makes_a_value_of_the_enum(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "x"\nversion = "0.1.0"\n',
        "src/lib.rs": "mod glob;\nmod kind;\n",
        "src/glob.rs": ("pub struct Glob { p: String }\n\n"
                        "impl Glob {\n    pub fn is_empty(&self) -> bool { true }\n}\n"),
        "src/kind.rs": (
            "use crate::glob::Glob;\n\n"
            "pub enum Kind { Glob(Glob), Any }\n\n"
            "impl Kind {\n    pub fn is_empty(&self) -> bool { false }\n}\n\n"
            "pub fn check(g: Glob) -> bool {\n    let k = Kind::Glob(g);\n    k.is_empty()\n}\n"),
    }
    kind, glob = references(files, tmp_path, ("Kind.is_empty", "src/kind.rs"),
                            ("Glob.is_empty", "src/glob.rs"))
    assert kind == [("src/kind.rs", 11)] and glob == []


def test_a_protocol_or_an_object_type_keeps_every_implementation(tmp_path: Path) -> None:
    files = {
        "pkg/store.py": ("from typing import Protocol\n\n"
                         "class Store(Protocol):\n    def get(self, k): ...\n"),
        "pkg/redis.py": "class Redis:\n    def get(self, k):\n        return 1\n",
        "pkg/use.py": "from .store import Store\n\ndef use(s: Store):\n    return s.get(1)\n",
        "src/api.ts": "export type Api = {\n  load(): void\n}\n",
        "src/impl.ts": "export class Impl {\n  load(): void {}\n}\n",
        "src/use.ts": ("import { Api } from './api'\n"
                       "export function use(a: Api) {\n  a.load()\n}\n"),
    }
    redis, impl = references(files, tmp_path, ("Redis.get", "pkg/redis.py"),
                             ("Impl.load", "src/impl.ts"))
    assert redis == [("pkg/use.py", 4)] and impl == [("src/use.ts", 3)]


def test_a_go_variable_named_super_is_a_variable(tmp_path: Path) -> None:
    files = {
        "go.mod": "module example.com/x\n\ngo 1.21\n",
        "a.go": ("package x\n\ntype Node struct{}\n\nfunc (n *Node) Run() {}\n\n"
                 "func New() *Node { return &Node{} }\n\n"
                 "func f() {\n\tsuper := New()\n\tsuper.Run()\n}\n"),
    }
    assert references(files, tmp_path, ("Node.Run", "a.go")) == [[("a.go", 11)]]
