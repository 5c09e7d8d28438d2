"""search_code shows one hit per definition: the pieces of a long function collapse into
its best one, but definitions that share a name (a property's getter and setter) each keep a
hit, and an overload stub (Python `@overload`, a TypeScript signature without a body) stands
for its implementation; before, the best-scored one hid the others (a setter hid the getter
a question described, an overload stub its implementation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.live import LiveIndex
from tests.mcp_helpers import live_over
from tools import search


def _body(name: str, lines: int, indent: str = "        ") -> str:
    return "".join(f"{indent}{name}_{i} = lookup_setting_value('{name}_{i}', default=None, "
                   f"section='core')\n" for i in range(lines))


SETTINGS = (
    "from typing import overload\n\n\n"
    "class Settings:\n"
    "    def __init__(self) -> None:\n" + _body("initial", 12) + "\n"
    "    @property\n"
    "    def debug(self) -> bool:\n"
    "        env = read_environment()\n"
    "        flag = env.get('verbose_tracing')\n" + _body("tracing", 8) +
    "        return bool(flag) or self._debug or tracing_requested(env)\n\n"
    "    @debug.setter\n"
    "    def debug(self, value: bool) -> None:\n"
    "        self._debug = value\n" + _body("stored", 8) +
    "        self.reload_debug_flags()\n\n\n"
    "@overload\n"
    "def edit(text: str, editor: str | None = None, env: Mapping[str, str] | None = None,\n"
    "         require_save: bool = True, extension: str = '.txt') -> str: ...\n\n\n"
    "@overload\n"
    "def edit(text: None = None, editor: str | None = None, env: Mapping[str, str] | None = None,\n"
    "         require_save: bool = True, extension: str = '.txt', filename: str = '') -> None: ...\n\n\n"
    "def edit(text=None, editor=None, env=None, require_save=True, extension='.txt', filename=''):\n"
    "    launcher = find_editor_launcher(editor)\n"
    "    temporary = write_temporary_file(text)\n" + _body("editing", 6, "    ") +
    "    launcher.run_editor_process(temporary)\n"
    "    return read_back_temporary_file(temporary)\n")
IMPLEMENTATION = SETTINGS.splitlines().index(
    "def edit(text=None, editor=None, env=None, require_save=True, extension='.txt', "
    "filename=''):") + 1
GETTER, SETTER = (SETTINGS.splitlines().index(f"    @{d}") + 1 for d in ("property", "debug.setter"))

LONG = "def migrate(rows):\n" + "".join(
    f"    batch_{i} = convert_rows_for_schema(rows, step={i}, table='accounts_{i}')\n"
    for i in range(120)) + "    return rows\n"


ELEMENT = """import { VNode, RawProps, RawChildren } from './vnode'

// an element: props, children and flags as the render function gives them
export function createElementNode(type: string, props?: RawProps | null,
  children?: RawChildren, patchFlag?: number, dynamicProps?: string[] | null): VNode
// a component: props and an object of slots for its children
export function createElementNode(type: object, props?: RawProps | null,
  children?: RawChildren | Record<string, unknown>, patchFlag?: number): VNode

export function createElementNode(type: any, props?: any, children?: any, flag?: any): VNode {
  const normalized = normalizeElementChildren(children)
  const vnode = createBaseVNode(type, props, normalized, flag)
  registerElementNode(vnode)
  return vnode
}
"""
TS_IMPLEMENTATION = ELEMENT.splitlines().index(
    "export function createElementNode(type: any, props?: any, children?: any, flag?: any): "
    "VNode {") + 1


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIndex]:
    with live_over(tmp_path, {"settings.py": SETTINGS, "migrate.py": LONG,
                              "element.ts": ELEMENT}) as live:
        yield live


def _hits(live: LiveIndex, query: str) -> list[tuple[str, str | None, int, int]]:
    got = search.search_code(live, query, k=10, mode="lexical", max_tokens=20000)
    return [(h.path, h.symbol, h.start_line, h.end_line) for h in got.results]


def test_a_property_getter_and_its_setter_each_keep_a_hit(live: LiveIndex) -> None:
    hits = [h for h in _hits(live, "debug flags of the settings") if h[1] == "Settings.debug"]
    assert sorted(h[2] for h in hits) == [GETTER, SETTER]  # each with its decorator


def test_an_overload_stub_stands_for_its_implementation(live: LiveIndex) -> None:
    # the stubs are short, so BM25 ranks them first: the hit shows the implementation
    # once, in the best stub's place, not a stub that tells nothing of what `edit` does
    hits = _hits(live, "edit text in the editor")
    assert [h[2] for h in hits if h[1] == "edit"] == [IMPLEMENTATION]
    assert hits[0][1] == "edit"


def test_a_typescript_overload_signature_stands_for_its_implementation(live: LiveIndex) -> None:
    hits = [h for h in _hits(live, "create element node with props and children")
            if h[1] == "createElementNode"]
    assert [h[2] for h in hits] == [TS_IMPLEMENTATION]


def test_the_pieces_of_one_long_function_still_collapse_into_one_hit(live: LiveIndex) -> None:
    from indexer.store import search_tables

    tables = search_tables(live.index.store)
    pieces = [c for c in tables.chunks.values() if c[3] == "migrate"]
    assert len(pieces) > 1  # the function is long enough to be split
    hits = [h for h in _hits(live, "convert rows for schema accounts") if h[1] == "migrate"]
    assert len(hits) == 1


@pytest.mark.parametrize(("text", "language", "stub"), [
    ("@overload\ndef edit(text: str) -> str: ...", "python", True),
    ("@typing.overload  # str in, str out\ndef edit(text: str) -> str: ...", "python", True),
    ("@property\ndef debug(self) -> bool:\n    return self._debug", "python", False),
    ("// a component\nexport function h(type: object, props?: Props): VNode", "typescript", True),
    ("export function h(type: string): VNode;", "typescript", True),
    ("export function h(type: any): VNode {\n  return create(type)\n}\n// end", "typescript", False),
    ("get value(): number {\n  return this._value\n}", "tsx", False),
    ("/* parse one header line */\nstatic int parse_header(const char *line, size_t n);", "c", True),
    ("static int parse_header(const char *line, size_t n)\n{\n    return scan(line, n);\n}",
     "c", False),
])
def test_what_counts_as_an_overload_stub(text: str, language: str, stub: bool) -> None:
    from tools.search_select import is_stub

    assert is_stub(text, language) is stub
