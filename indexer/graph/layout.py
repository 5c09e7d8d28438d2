"""What import resolution needs to know about a repository, gathered once per graph build.

`Layout.build()` takes the indexed file list (path, language) and reads a few project
manifests from disk: every go.mod (module path -> directory), Cargo.toml (crate name with
`-` -> `_` -> crate root file), tsconfig.json/jsconfig.json `compilerOptions.paths`, and
package.json names (workspace packages). Python module names are derived from `__init__.py`
chains, so `src/flask/sansio/app.py` is `flask.sansio.app`.
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

JS_LANGS = frozenset({"javascript", "typescript", "tsx", "vue", "svelte"})


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


def _named(path: str, name: str) -> bool:
    """Whether `path`'s last part is `name` (`posixpath.basename(path) == name` without
    making the basename: each builder looks at every file of a batch's build)."""
    return path.endswith(name) and (len(path) == len(name) or path[-len(name) - 1] == "/")


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
        names = {".".join(parts[len(parts) - keep :]) if keep else "", ".".join(parts)}
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
        if not _named(p, "go.mod"):
            continue
        m = re.search(r"^module\s+(\S+)", _read(root, p), re.MULTILINE)
        if m:
            mods.append((m.group(1).strip('"'), posixpath.dirname(p)))
    if not mods and (root / "go.mod").is_file():
        m = re.search(r"^module\s+(\S+)", _read(root, "go.mod"), re.MULTILINE)
        if m:
            mods.append((m.group(1), ""))
    return sorted(mods, key=lambda m: -len(m[0]))


def _rust_crates(root: Path, paths: set[str]) -> dict[str, str]:
    crates: dict[str, str] = {}
    manifests = [p for p in paths if _named(p, "Cargo.toml")]
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
    text = re.sub(
        r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.DOTALL
    )
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
                out.append(
                    (pattern, [posixpath.normpath(posixpath.join(base, t)) for t in targets])
                )
    return out


def _js_packages(root: Path, paths: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in paths:
        if not _named(p, "package.json") or "node_modules/" in p:
            continue
        data = _loose_json(_read(root, p))
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            out.setdefault(data["name"], posixpath.dirname(p))
    return out


def _stems(pairs: list[tuple[str, str | None]]) -> dict[str, list[str]]:
    """Every path suffix (without extension) of files in dotted-import and C-like languages."""
    out: dict[str, list[str]] = defaultdict(list)
    for p, lang in pairs:
        if lang is None or lang in ("python", "go", "rust") or lang in JS_LANGS:
            continue
        parts = p.split("/")
        for i in range(len(parts)):
            suffix = "/".join(parts[i:])
            out[suffix].append(p)
            stem, dot, _ = suffix.rpartition(".")
            if dot and stem:
                out[stem].append(p)
    return dict(out)
