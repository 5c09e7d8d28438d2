"""Parser tests: per-language goldens, imports, references, docs, robustness, real corpora.

Regenerate goldens with `SEXTANT_REGEN_GOLDENS=1 pytest tests/test_parse.py`, then check every
changed line by eye: goldens must be right, not merely what the code printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from indexer.core.model import ParsedFile
from indexer.languages import LANGUAGES, language_for_path
from indexer.parse.treesitter import parse_source

FIXTURES = Path(__file__).parent / "fixtures" / "languages"
GOLDEN = FIXTURES / "golden"
REGEN = os.environ.get("SEXTANT_REGEN_GOLDENS") == "1"

SAMPLES = {
    "python": "sample.py",
    "javascript": "sample.js",
    "typescript": "sample.ts",
    "tsx": "sample.tsx",
    "go": "sample.go",
    "rust": "sample.rs",
    "java": "Sample.java",
    "c": "sample.c",
    "cpp": "sample.cpp",
    "csharp": "Sample.cs",
    "ruby": "sample.rb",
    "php": "sample.php",
    "kotlin": "sample.kt",
    "swift": "sample.swift",
    "scala": "sample.scala",
    "lua": "sample.lua",
    "bash": "sample.sh",
}


def parse_fixture(language: str) -> ParsedFile:
    return parse_source((FIXTURES / SAMPLES[language]).read_bytes(), language)


def symbol_rows(parsed: ParsedFile) -> list[list[object]]:
    return [[s.name, s.kind, s.qualname, s.start_line, s.end_line] for s in parsed.symbols]


def test_every_registered_language_has_a_sample_fixture() -> None:
    assert set(SAMPLES) == set(LANGUAGES)


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_symbols_match_the_checked_golden_file(language: str) -> None:
    parsed = parse_fixture(language)
    assert parsed.error is None
    golden = GOLDEN / f"{language}.json"
    rows = symbol_rows(parsed)
    if REGEN:
        golden.write_text("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n")
    assert rows == json.loads(golden.read_text())


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("src/app.py", "python"),
        ("web/App.jsx", "javascript"),
        ("lib/x.mjs", "javascript"),
        ("a/b.ts", "typescript"),
        ("a/b.tsx", "tsx"),
        ("main.go", "go"),
        ("lib.rs", "rust"),
        ("include/x.h", "c"),
        ("src/x.hpp", "cpp"),
        ("A.cs", "csharp"),
        ("build.gradle.kts", "kotlin"),
        ("Rakefile", "ruby"),
        ("run.sh", "bash"),
        ("README.md", None),
        ("Makefile", None),
    ],
)
def test_language_for_path_maps_extensions_and_special_names(
    path: str, language: str | None
) -> None:
    assert language_for_path(path) == language


def test_language_for_path_reads_a_shebang_of_an_extensionless_script() -> None:
    assert language_for_path("bin/deploy", b"#!/usr/bin/env bash\nset -e\n") == "bash"
    assert language_for_path("bin/tool", b"#!/usr/bin/python3.11\n") == "python"
    assert language_for_path("bin/blob", b"\x7fELF") is None


IMPORTS: dict[str, list[tuple[str, tuple[str, ...], int]]] = {
    "python": [
        ("math", (), 0),
        ("collections", ("abc",), 0),
        ("", ("util",), 1),
        ("geometry.points", ("Point", "Vector"), 2),
    ],
    "javascript": [
        ("fs", ("readFile",), 0),
        ("./path.js", ("Default", "path"), 0),
        ("lodash", (), 0),
    ],
    "typescript": [
        ("fs", ("readFile", "writeFile"), 0),
        ("./path", ("path",), 0),
        ("../default", ("Default",), 0),
        ("./helpers", ("helper",), 0),
        ("lodash", (), 0),
    ],
    "go": [("fmt", (), 0), ("math", (), 0)],
    "rust": [
        ("std::collections::HashMap", (), 0),
        ("crate::geometry", ("Point", "Vector"), 0),
        ("super::util", (), 0),
        ("helpers", (), 0),
    ],
    "java": [("java.util.List", (), 0), ("java.lang.Math.PI", (), 0)],
    "c": [("stdio.h", (), 0), ("shapes.h", (), 0)],
    "cpp": [("vector", (), 0), ("shape.hpp", (), 0)],
    "csharp": [("System", (), 0), ("System.Collections.Generic", (), 0)],
    "ruby": [("json", (), 0), ("shapes/base", (), 0)],
    "php": [
        ("App\\Contracts\\Shape", (), 0),
        ("App\\Support", ("Named", "Helper"), 0),
        ("/helpers.php", (), 0),
    ],
    "kotlin": [("kotlin.math.PI", (), 0), ("com.example.util.square", (), 0)],
    "swift": [("Foundation", (), 0), ("UIKit", (), 0)],
    "scala": [("scala.math.Pi", (), 0), ("com.example.util", ("square", "cube"), 0)],
    "lua": [("json", (), 0), ("shapes.util", (), 0)],
    "bash": [("./lib/common.sh", (), 0), ("$HOME/.profile", (), 0)],
}


@pytest.mark.parametrize("language", sorted(IMPORTS))
def test_imports_are_extracted_as_written(language: str) -> None:
    imports = parse_fixture(language).imports
    assert [(i.module, i.names, i.level) for i in imports] == IMPORTS[language]


def test_typescript_fixture_imports_cover_tsx_too() -> None:
    assert [i.module for i in parse_fixture("tsx").imports] == ["react", "./types"]


CALLS = {
    "python": ("square", "Circle.area"),
    "javascript": ("square", "Circle.area"),
    "typescript": ("square", "Circle.area"),
    "tsx": ("handle", "Button"),
    "go": ("square", "Circle.Area"),
    "rust": ("square", "Circle.area"),
    "java": ("square", "Circle.area"),
    "c": ("square", "circle_area"),
    "cpp": ("square", "geo.Circle.area"),
    "csharp": ("Square", "Shapes.Circle.Area"),
    "ruby": ("square", "Geometry.Circle.area"),
    "php": ("square", "Circle.area"),
    "kotlin": ("sq", "Circle.area"),
    "swift": ("square", "Circle.area"),
    "scala": ("square", "Circle.area"),
    "lua": ("square", "Circle.area"),
    "bash": ("greet", "main"),
}


@pytest.mark.parametrize("language", sorted(CALLS))
def test_a_call_inside_a_method_is_scoped_to_that_method(language: str) -> None:
    name, scope = CALLS[language]
    refs = parse_fixture(language).references
    assert any(r.name == name and r.kind == "call" and r.scope == scope for r in refs), refs


BASES = {
    "python": ("Circle", ("Shape", "Named")),
    "javascript": ("Circle", ("Shape",)),
    "typescript": ("Circle", ("Base", "Shape", "Named")),
    "tsx": ("Panel", ("React.Component",)),
    "go": ("Circle", ("Base",)),
    "rust": ("Circle", ("Shape",)),
    "java": ("Circle", ("Base", "Shape", "Named")),
    "cpp": ("geo.Circle", ("Shape", "Named")),
    "csharp": ("Shapes.Circle", ("Base", "IShape")),
    "ruby": ("Geometry.Circle", ("Base",)),
    "php": ("Circle", ("Base", "Shape", "Named")),
    "kotlin": ("Circle", ("Base", "Shape")),
    "swift": ("Circle", ("Base", "Shape")),
    "scala": ("Circle", ("Base", "Shape")),
}


@pytest.mark.parametrize("language", sorted(BASES))
def test_class_bases_come_from_the_inheritance_clause(language: str) -> None:
    qualname, bases = BASES[language]
    symbol = next(s for s in parse_fixture(language).symbols if s.qualname == qualname)
    assert symbol.bases == bases
    refs = parse_fixture(language).references
    inherit = {r.name for r in refs if r.kind == "inherit" and r.scope == qualname}
    assert inherit == {b.rsplit(".", 1)[-1] for b in bases}
