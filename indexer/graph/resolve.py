"""Import resolution: an import statement as written -> the repository file or directory it names.

`Layout` (indexer.graph.layout) is built once per graph build; `resolve` maps one import of
one file to targets:

- Python: absolute modules against every source root (the parent of each top-level package,
  e.g. `src/`), relative imports by level, packages to `__init__.py`, `from pkg import mod` to
  the submodule file.
- JS/TS: relative specifiers with extension and `index` resolution; tsconfig `paths`
  (`*` wildcards) and workspace package names from package.json.
- Go: module paths from every go.mod (and `vendor/`) -> the package directory.
- Rust: `mod x;` -> x.rs / x/mod.rs; `crate::`, `self::`, `super::` and workspace crate names
  (Cargo.toml package names, `-` -> `_`) walked segment by segment to the deepest module file.
- Java/Kotlin/C#/Scala: dotted names -> files whose path ends with the package path.
- C/C++ and the rest: paths relative to the importer, then a unique path-suffix match.

Anything that does not resolve is external (`Target(kind="external")`).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from indexer.graph.layout import JS_LANGS, Layout

__all__ = ["Layout", "Target", "resolve", "rust_module_dir"]

_JS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".vue")
_DOTTED_LANGS = {"java", "kotlin", "scala", "csharp", "groovy"}


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # file, dir, external
    path: str  # repository path, or the external module name


# -- resolution -------------------------------------------------------------------------------


def resolve(
    layout: Layout,
    src: str,
    language: str | None,
    module: str,
    names: tuple[str, ...] = (),
    level: int = 0,
) -> list[Target]:
    """Targets of one import of file `src`; never empty (external when unresolved)."""
    module = module.strip()
    if language == "python":
        found = _python(layout, src, module, names, level)
    elif language in JS_LANGS:
        found = _js(layout, src, module)
    elif language == "go":
        found = _go(layout, module)
    elif language == "rust":
        found = _rust_with_names(layout, src, module, names)
    else:
        found = _generic(layout, src, module, language)
    if found:
        return found
    return [Target("external", _external_name(module, level))]


def _external_name(module: str, level: int) -> str:
    return "." * level + module if module or level else "?"


def _closest(cands: list[str], src: str) -> str:
    def shared(p: str) -> int:
        return len(posixpath.commonprefix([p, src]).rsplit("/", 1)[0])

    return min(cands, key=lambda p: (-shared(p), len(p), p))


def _py_file(layout: Layout, module: str, src: str) -> str | None:
    cands = layout.py_modules.get(module)
    return _closest(cands, src) if cands else None


def _py_in_dir(layout: Layout, d: str, dotted: str) -> str | None:
    base = posixpath.join(d, *dotted.split(".")) if dotted else d
    for cand in (f"{base}.py", f"{base}/__init__.py", f"{base}.pyi", f"{base}/__init__.pyi"):
        if cand in layout.files:
            return cand
    return None


def _python(
    layout: Layout, src: str, module: str, names: tuple[str, ...], level: int
) -> list[Target]:
    out: list[str] = []
    if level:
        d = posixpath.dirname(src)
        for _ in range(level - 1):
            d = posixpath.dirname(d)
        for name in names:
            sub = _py_in_dir(layout, d, f"{module}.{name}" if module else name)
            if sub:
                out.append(sub)
        if not out:
            base = _py_in_dir(layout, d, module)
            out += [base] if base else []
    else:
        for name in names:
            sub = _py_file(layout, f"{module}.{name}", src) if name != "*" else None
            if sub:
                out.append(sub)
        if not out:
            parts = module.split(".")
            while parts:
                hit = _py_file(layout, ".".join(parts), src)
                if hit:
                    out.append(hit)
                    break
                parts.pop()
    return [Target("file", p) for p in dict.fromkeys(out) if p != src]


def _js_file(layout: Layout, base: str) -> str | None:
    base = posixpath.normpath(base)
    if base in layout.files:
        return base
    stem = re.sub(r"\.(js|jsx|mjs|cjs)$", "", base)
    for cand in [stem + e for e in _JS_EXTS] + [f"{base}/index{e}" for e in _JS_EXTS]:
        if cand in layout.files:
            return cand
    return None


def _js(layout: Layout, src: str, module: str) -> list[Target]:
    module = module.split("?", 1)[0]
    hit: str | None = None
    if module.startswith("."):
        hit = _js_file(layout, posixpath.join(posixpath.dirname(src), module))
    elif module.startswith("/"):
        hit = _js_file(layout, module.lstrip("/"))
    else:
        hit = _ts_alias(layout, module) or _js_package(layout, module)
    return [Target("file", hit)] if hit and hit != src else []


def _ts_alias(layout: Layout, module: str) -> str | None:
    for pattern, targets in layout.ts_paths:
        head, star, tail = pattern.partition("*")
        if (
            star
            and module.startswith(head)
            and module.endswith(tail)
            and len(module) >= len(head) + len(tail)
        ):
            middle = module[len(head) : len(module) - len(tail)]
        elif not star and module == pattern:
            middle = ""
        else:
            continue
        for t in targets:
            hit = _js_file(layout, t.replace("*", middle))
            if hit:
                return hit
    return None


def _js_package(layout: Layout, module: str) -> str | None:
    parts = module.split("/")
    n = 2 if module.startswith("@") else 1
    pkg, rest = "/".join(parts[:n]), "/".join(parts[n:])
    d = layout.js_packages.get(pkg)
    if d is None:
        return None
    if rest:
        return _js_file(layout, posixpath.join(d, rest)) or _js_file(
            layout, posixpath.join(d, "src", rest)
        )
    for cand in ("src/index", "index", "src/main", "lib/index"):
        hit = _js_file(layout, posixpath.join(d, cand))
        if hit:
            return hit
    return None


def _go(layout: Layout, module: str) -> list[Target]:
    for mod, d in layout.go_modules:
        if module == mod or module.startswith(mod + "/"):
            pkg = posixpath.join(d, module[len(mod) :].lstrip("/")).rstrip("/")
            if _has_go(layout, pkg):
                return [Target("dir", pkg)]
    vendored = f"vendor/{module}"
    if _has_go(layout, vendored):
        return [Target("dir", vendored)]
    return []


def _has_go(layout: Layout, d: str) -> bool:
    return any(f.endswith(".go") for f in layout.dirs.get(d, ()))


def rust_module_dir(path: str) -> str:
    """Directory holding the child modules of the Rust module file `path`."""
    d, base = posixpath.split(path)
    if base in ("mod.rs", "lib.rs", "main.rs") or not base.endswith(".rs"):
        return d
    return posixpath.join(d, base[:-3])


def _rust_child(layout: Layout, mod_dir: str, name: str) -> str | None:
    for cand in (posixpath.join(mod_dir, f"{name}.rs"), posixpath.join(mod_dir, name, "mod.rs")):
        if cand in layout.files:
            return cand
    return None


def _rust_crate_root(layout: Layout, src: str) -> str | None:
    best: str | None = None
    for root_file in layout.crates.values():
        d = posixpath.dirname(root_file)
        if (src.startswith(d + "/") or not d) and (
            best is None or len(d) > len(posixpath.dirname(best))
        ):
            best = root_file
    return best


def _rust_with_names(layout: Layout, src: str, module: str, names: tuple[str, ...]) -> list[Target]:
    """`use a::b::{c, d}`: the module a::b, or its submodules c and d where they are files."""
    base = _rust(layout, src, module)
    if not base or not names:
        return base
    subs = [_rust_child(layout, rust_module_dir(base[0].path), n) for n in names if n != "self"]
    found = [Target("file", p) for p in dict.fromkeys(subs) if p and p != src]
    return found or base


def _rust(layout: Layout, src: str, module: str) -> list[Target]:
    head = module.split("{", 1)[0]
    segs = [s.strip() for s in head.split("::") if s.strip() and s.strip() != "*"]
    if not segs:
        return []
    if len(segs) == 1 and "::" not in module:  # `mod x;`
        hit = _rust_child(layout, rust_module_dir(src), segs[0])
        if hit:
            return [Target("file", hit)]
    start: str | None
    if segs[0] == "crate":
        start, segs = _rust_crate_root(layout, src), segs[1:]
    elif segs[0] in ("self", "super"):
        start = src
        while segs and segs[0] in ("self", "super"):
            start = _rust_parent(layout, start) if segs[0] == "super" else start
            segs = segs[1:]
    elif segs[0] in layout.crates:
        start, segs = layout.crates[segs[0]], segs[1:]
    else:
        start = _rust_child(layout, rust_module_dir(src), segs[0])
        segs = segs[1:]
    if start is None:
        return []
    current = start
    for seg in segs:
        child = _rust_child(layout, rust_module_dir(current), seg)
        if child is None:
            break
        current = child
    return [Target("file", current)] if current != src else []


def _rust_parent(layout: Layout, path: str) -> str:
    """The module file that declares the module `path` (`a/b.rs` -> `a.rs` or `a/mod.rs`)."""
    d = posixpath.dirname(path)
    if posixpath.basename(path) == "mod.rs":
        d = posixpath.dirname(d)
    for cand in (f"{d}/mod.rs", f"{d}.rs", f"{d}/lib.rs", f"{d}/main.rs"):
        if cand in layout.files and cand != path:
            return cand
    return path


def _generic(layout: Layout, src: str, module: str, language: str | None) -> list[Target]:
    module = module.strip("<>\"'")
    if not module:
        return []
    rel = posixpath.normpath(posixpath.join(posixpath.dirname(src), module))
    if rel in layout.files:
        return [Target("file", rel)]
    if module.startswith("."):
        stem_hit = [
            f for f in layout.dirs.get(posixpath.dirname(rel), ()) if f.rsplit(".", 1)[0] == rel
        ]
        return [Target("file", stem_hit[0])] if stem_hit else []
    key = module.replace("\\", "/")
    if language in _DOTTED_LANGS:
        key = module.removesuffix(".*").replace(".", "/")
        if module.endswith(".*"):
            dirs = [d for d in layout.dirs if d == key or d.endswith("/" + key)]
            return [Target("dir", _closest(dirs, src))] if dirs else []
    elif "::" in module:
        key = module.replace("::", "/")
    return _by_stem(layout, src, key, language)


def _by_stem(layout: Layout, src: str, key: str, language: str | None) -> list[Target]:
    parts = key.split("/")
    while parts:
        cands = layout.stems.get("/".join(parts), [])
        if cands:
            return [Target("file", _closest(cands, src))]
        if language not in _DOTTED_LANGS:
            return []
        parts.pop()  # `com.foo.Bar.baz` (static import) -> com/foo/Bar
        if len(parts) < 2:
            return []
    return []
