"""Import resolution: an import statement as written -> the repository file or directory it names.

`Layout` is built once per graph build from the indexed file list plus a few project files
read from disk (go.mod, Cargo.toml, tsconfig.json, package.json). `resolve` maps one import of
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

import json
import logging
import posixpath
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_JS_LANGS = {"javascript", "typescript", "tsx", "vue", "svelte"}
_JS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".vue")
_DOTTED_LANGS = {"java", "kotlin", "scala", "csharp", "groovy"}
_STEM_EXTS = {"java": ".java", "kotlin": ".kt", "scala": ".scala", "csharp": ".cs"}


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # file, dir, external
    path: str  # repository path, or the external module name


@dataclass(slots=True)
class Layout:
    """What resolution needs to know about the repository's files and project manifests."""

    files: set[str]
    dirs: dict[str, list[str]]  # directory -> files directly in it
    py_modules: dict[str, list[str]] = field(default_factory=dict)  # dotted name -> files
    go_modules: list[tuple[str, str]] = field(default_factory=list)  # (module path, dir)
    crates: dict[str, str] = field(default_factory=dict)  # crate name -> root file
    ts_paths: list[tuple[str, list[str]]] = field(default_factory=list)  # pattern -> targets
    js_packages: dict[str, str] = field(default_factory=dict)  # package name -> dir
    stems: dict[str, list[str]] = field(default_factory=dict)  # path-without-ext suffix -> files

    @classmethod
    def build(cls, root: Path, files: Iterable[tuple[str, str | None]]) -> Layout:
        pairs = list(files)
        paths = {p for p, _ in pairs}
        dirs: dict[str, list[str]] = defaultdict(list)
        for p in sorted(paths):
            dirs[posixpath.dirname(p)].append(p)
        layout = cls(files=paths, dirs=dict(dirs))
        layout.py_modules = _python_modules(paths)
        layout.go_modules = _go_modules(root, paths)
        layout.crates = _rust_crates(root, paths)
        layout.ts_paths = _ts_paths(root, paths)
        layout.js_packages = _js_packages(root, paths)
        layout.stems = _stems(pairs)
        return layout


# -- layout builders --------------------------------------------------------------------------


def _python_modules(paths: set[str]) -> dict[str, list[str]]:
    """Dotted module names of every Python file, under every plausible source root."""
    out: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        if not p.endswith((".py", ".pyi")):
            continue
        parts = p[: p.rfind(".")].split("/")
        is_init = parts[-1] == "__init__"
        if is_init:
            parts = parts[:-1]
        packages = 0  # consecutive package directories above the file
        d = posixpath.dirname(p)
        while d and (f"{d}/__init__.py" in paths or f"{d}/__init__.pyi" in paths):
            packages += 1
            d = posixpath.dirname(d)
        keep = packages if is_init else packages + 1
        names = {".".join(parts[len(parts) - keep:]) if keep else "", ".".join(parts)}
        for i in range(1, len(parts)):
            if parts[i - 1] in ("src", "lib", "python"):
                names.add(".".join(parts[i:]))
        for name in names:
            if name:
                out[name].append(p)
    return dict(out)


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _go_modules(root: Path, paths: set[str]) -> list[tuple[str, str]]:
    mods: list[tuple[str, str]] = []
    for p in paths:
        if posixpath.basename(p) != "go.mod":
            continue
        m = re.search(r"^module\s+(\S+)", _read(root, p), re.M)
        if m:
            mods.append((m.group(1).strip('"'), posixpath.dirname(p)))
    if not mods and (root / "go.mod").is_file():
        m = re.search(r"^module\s+(\S+)", _read(root, "go.mod"), re.M)
        if m:
            mods.append((m.group(1), ""))
    return sorted(mods, key=lambda m: -len(m[0]))


def _rust_crates(root: Path, paths: set[str]) -> dict[str, str]:
    crates: dict[str, str] = {}
    manifests = [p for p in paths if posixpath.basename(p) == "Cargo.toml"]
    if not manifests and (root / "Cargo.toml").is_file():
        manifests = ["Cargo.toml"]
    for man in manifests:
        try:
            data = tomllib.loads(_read(root, man))
        except tomllib.TOMLDecodeError:
            continue
        pkg = data.get("package")
        if not isinstance(pkg, dict) or "name" not in pkg:
            continue
        base = posixpath.dirname(man)
        lib = data.get("lib", {}) if isinstance(data.get("lib"), dict) else {}
        candidates = [lib.get("path"), "src/lib.rs", "src/main.rs"]
        bins = data.get("bin", [])
        if isinstance(bins, list):
            candidates += [b.get("path") for b in bins if isinstance(b, dict)]
        for cand in candidates:
            if isinstance(cand, str):
                rel = posixpath.normpath(posixpath.join(base, cand))
                if rel in paths:
                    crates[str(lib.get("name") or pkg["name"]).replace("-", "_")] = rel
                    break
    return crates


def _loose_json(text: str) -> object:
    """JSON with // and /* */ comments and trailing commas (tsconfig)."""
    text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _ts_paths(root: Path, paths: set[str]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for cfg in ("tsconfig.json", "jsconfig.json"):
        if cfg not in paths and not (root / cfg).is_file():
            continue
        data = _loose_json(_read(root, cfg))
        opts = data.get("compilerOptions", {}) if isinstance(data, dict) else {}
        if not isinstance(opts, dict):
            continue
        base = str(opts.get("baseUrl", "."))
        for pattern, targets in (opts.get("paths") or {}).items():
            if isinstance(targets, list):
                out.append((pattern, [posixpath.normpath(posixpath.join(base, t)) for t in targets]))
    return out


def _js_packages(root: Path, paths: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        if posixpath.basename(p) != "package.json" or "node_modules/" in p:
            continue
        data = _loose_json(_read(root, p))
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            out.setdefault(data["name"], posixpath.dirname(p))
    return out


def _stems(pairs: list[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Every path suffix (without extension) of files in dotted-import and C-like languages."""
    out: dict[str, list[str]] = defaultdict(list)
    for p, lang in pairs:
        if lang is None or lang in ("python", "go", "rust") or lang in _JS_LANGS:
            continue
        parts = p.split("/")
        for i in range(len(parts)):
            suffix = "/".join(parts[i:])
            out[suffix].append(p)
            stem, dot, _ = suffix.rpartition(".")
            if dot and stem:
                out[stem].append(p)
    return dict(out)


# -- resolution -------------------------------------------------------------------------------


def resolve(layout: Layout, src: str, language: str | None, module: str,
            names: tuple[str, ...] = (), level: int = 0) -> list[Target]:
    """Targets of one import of file `src`; never empty (external when unresolved)."""
    module = module.strip()
    if language == "python":
        found = _python(layout, src, module, names, level)
    elif language in _JS_LANGS:
        found = _js(layout, src, module)
    elif language == "go":
        found = _go(layout, module)
    elif language == "rust":
        found = _rust(layout, src, module)
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

    return sorted(cands, key=lambda p: (-shared(p), len(p), p))[0]


def _py_file(layout: Layout, module: str, src: str) -> str | None:
    cands = layout.py_modules.get(module)
    return _closest(cands, src) if cands else None


def _py_in_dir(layout: Layout, d: str, dotted: str) -> str | None:
    base = posixpath.join(d, *dotted.split(".")) if dotted else d
    for cand in (f"{base}.py", f"{base}/__init__.py", f"{base}.pyi", f"{base}/__init__.pyi"):
        if cand in layout.files:
            return cand
    return None


def _python(layout: Layout, src: str, module: str, names: tuple[str, ...], level: int) -> list[Target]:
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
        if star and module.startswith(head) and module.endswith(tail) and len(module) >= len(head) + len(tail):
            middle = module[len(head): len(module) - len(tail)]
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
        return _js_file(layout, posixpath.join(d, rest)) or _js_file(layout, posixpath.join(d, "src", rest))
    for cand in ("src/index", "index", "src/main", "lib/index"):
        hit = _js_file(layout, posixpath.join(d, cand))
        if hit:
            return hit
    return None


def _go(layout: Layout, module: str) -> list[Target]:
    for mod, d in layout.go_modules:
        if module == mod or module.startswith(mod + "/"):
            pkg = posixpath.join(d, module[len(mod):].lstrip("/")).rstrip("/")
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
        if (src.startswith(d + "/") or not d) and (best is None or len(d) > len(posixpath.dirname(best))):
            best = root_file
    return best


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
        stem_hit = [f for f in layout.dirs.get(posixpath.dirname(rel), ()) if f.rsplit(".", 1)[0] == rel]
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
