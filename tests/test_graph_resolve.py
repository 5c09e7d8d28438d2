"""Import resolution on file layouts (no parsing): every language's rules, and real corpora."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from indexer.discover.walk import FileEntry, walk
from indexer.graph.resolve import Layout, Target, resolve
from indexer.languages import language_for_path


def _layout(tmp_path: Path, files: dict[str, str]) -> Layout:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return Layout.build(tmp_path, ((p, language_for_path(p)) for p in files))


def _corpus_layout(root: Path) -> Layout:
    entries = [e for e in walk(root) if isinstance(e, FileEntry)]
    return Layout.build(root, ((e.path, language_for_path(e.path)) for e in entries))


def test_python_absolute_import_finds_module_under_a_src_root(tmp_path: Path) -> None:
    layout = _layout(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/sub/__init__.py": "",
            "src/pkg/sub/app.py": "",
            "src/pkg/main.py": "",
        },
    )
    assert resolve(layout, "src/pkg/main.py", "python", "pkg.sub.app") == [
        Target("file", "src/pkg/sub/app.py")
    ]
    assert resolve(layout, "src/pkg/main.py", "python", "pkg.sub") == [
        Target("file", "src/pkg/sub/__init__.py")
    ]


def test_python_from_package_import_submodule_names_the_submodule_file(tmp_path: Path) -> None:
    layout = _layout(
        tmp_path, {"pkg/__init__.py": "", "pkg/json/__init__.py": "", "pkg/app.py": ""}
    )
    assert resolve(layout, "pkg/app.py", "python", "pkg", ("json",)) == [
        Target("file", "pkg/json/__init__.py")
    ]
    assert resolve(layout, "pkg/app.py", "python", "", ("json",), level=1) == [
        Target("file", "pkg/json/__init__.py")
    ]


def test_python_relative_import_climbs_one_package_per_extra_dot(tmp_path: Path) -> None:
    layout = _layout(
        tmp_path, {"a/__init__.py": "", "a/util.py": "", "a/b/__init__.py": "", "a/b/c.py": ""}
    )
    assert resolve(layout, "a/b/c.py", "python", "util", ("x",), level=2) == [
        Target("file", "a/util.py")
    ]


def test_unresolved_python_import_is_kept_as_external(tmp_path: Path) -> None:
    layout = _layout(tmp_path, {"a.py": ""})
    assert resolve(layout, "a.py", "python", "werkzeug.routing") == [
        Target("external", "werkzeug.routing")
    ]


def test_js_relative_import_tries_extensions_and_index_files(tmp_path: Path) -> None:
    layout = _layout(tmp_path, {"src/a.ts": "", "src/util/index.ts": "", "src/b.js": ""})
    assert resolve(layout, "src/a.ts", "typescript", "./util") == [
        Target("file", "src/util/index.ts")
    ]
    assert resolve(layout, "src/a.ts", "typescript", "./b.js") == [Target("file", "src/b.js")]


def test_ts_paths_alias_maps_scoped_package_to_its_source(tmp_path: Path) -> None:
    tsconfig = '{ // comment\n "compilerOptions": {"paths": {"@my/*": ["./packages/*/src"]},},}'
    layout = _layout(
        tmp_path,
        {
            "tsconfig.json": tsconfig,
            "packages/shared/src/index.ts": "",
            "packages/core/src/x.ts": "",
        },
    )
    assert resolve(layout, "packages/core/src/x.ts", "typescript", "@my/shared") == [
        Target("file", "packages/shared/src/index.ts")
    ]


def test_go_import_under_the_module_path_resolves_to_the_package_directory(tmp_path: Path) -> None:
    layout = _layout(
        tmp_path,
        {
            "go.mod": "module example.com/m\n\ngo 1.22\n",
            "main.go": "",
            "render/json.go": "",
            "render/xml.go": "",
        },
    )
    assert resolve(layout, "main.go", "go", "example.com/m/render") == [Target("dir", "render")]
    assert resolve(layout, "main.go", "go", "fmt") == [Target("external", "fmt")]


def test_rust_mod_declaration_finds_sibling_file_or_mod_rs(tmp_path: Path) -> None:
    layout = _layout(
        tmp_path,
        {
            "Cargo.toml": '[package]\nname = "my-crate"\n',
            "src/lib.rs": "",
            "src/a.rs": "",
            "src/b/mod.rs": "",
            "src/a/inner.rs": "",
        },
    )
    assert resolve(layout, "src/lib.rs", "rust", "a") == [Target("file", "src/a.rs")]
    assert resolve(layout, "src/lib.rs", "rust", "b") == [Target("file", "src/b/mod.rs")]
    assert resolve(layout, "src/a.rs", "rust", "inner") == [Target("file", "src/a/inner.rs")]
    assert resolve(layout, "src/b/mod.rs", "rust", "crate::a::inner::Thing") == [
        Target("file", "src/a/inner.rs")
    ]
    assert resolve(layout, "src/a/inner.rs", "rust", "super::super::b") == [
        Target("file", "src/b/mod.rs")
    ]


def test_java_import_finds_the_class_file_by_package_path(tmp_path: Path) -> None:
    layout = _layout(
        tmp_path, {"src/main/java/com/acme/Foo.java": "", "src/main/java/com/acme/app/App.java": ""}
    )
    assert resolve(layout, "src/main/java/com/acme/app/App.java", "java", "com.acme.Foo") == [
        Target("file", "src/main/java/com/acme/Foo.java")
    ]


def test_c_include_resolves_relative_to_the_including_file(tmp_path: Path) -> None:
    layout = _layout(tmp_path, {"lib/x.c": "", "lib/x.h": "", "include/y.h": ""})
    assert resolve(layout, "lib/x.c", "c", "x.h") == [Target("file", "lib/x.h")]
    assert resolve(layout, "lib/x.c", "c", "y.h") == [Target("file", "include/y.h")]


def test_ripgrep_use_paths_resolve_across_workspace_crates(corpus: Callable[[str], Path]) -> None:
    layout = _corpus_layout(corpus("ripgrep"))
    assert layout.crates["grep_searcher"] == "crates/searcher/src/lib.rs"
    assert resolve(layout, "crates/core/main.rs", "rust", "grep_searcher::Searcher") == [
        Target("file", "crates/searcher/src/lib.rs")
    ]
    assert resolve(layout, "crates/core/main.rs", "rust", "flags") == [
        Target("file", "crates/core/flags/mod.rs")
    ]
    assert resolve(layout, "crates/core/main.rs", "rust", "std::io") == [
        Target("external", "std::io")
    ]


def test_vue_workspace_imports_resolve_through_tsconfig_paths(
    corpus: Callable[[str], Path],
) -> None:
    layout = _corpus_layout(corpus("vue-core"))
    found = resolve(layout, "packages/runtime-core/src/index.ts", "typescript", "@vue/shared")
    assert found == [Target("file", "packages/shared/src/index.ts")]


def test_gin_subpackage_import_resolves_to_its_directory(corpus: Callable[[str], Path]) -> None:
    layout = _corpus_layout(corpus("gin"))
    assert resolve(layout, "context.go", "go", "github.com/gin-gonic/gin/render") == [
        Target("dir", "render")
    ]


def test_a_manifest_is_found_by_its_whole_file_name() -> None:
    """The layout's builders find `go.mod`, `Cargo.toml` and `package.json` by the path's
    last part (as `posixpath.basename`), not by any path that ends with those letters."""
    from indexer.graph.layout import _named

    for path, name in [("go.mod", "go.mod"), ("a/b/go.mod", "go.mod"),
                       ("crates/x/Cargo.toml", "Cargo.toml"), ("package.json", "package.json")]:
        assert _named(path, name)
    for path, name in [("a/xgo.mod", "go.mod"), ("go.mod.bak", "go.mod"), ("xgo.mod", "go.mod"),
                       ("my-package.json", "package.json"), ("a/b", "go.mod")]:
        assert not _named(path, name)
