"""Vendored code: another project's package copied into this one.

A copy is recognised by its content as well as its folder's name:

- **its own version inside another package**: a Python package directory whose
  `__init__.py` assigns `__version__` (or that holds `__version__.py` / `_version.py`), nested
  inside another package (`requests/packages/urllib3/`, `pip/_vendor/rich/`);
- **its own project manifest inside a package** (`setup.py`, `pyproject.toml`,
  `package.json`, `go.mod`, `Cargo.toml` in a directory under a Python package);
- **a vendoring folder name**: `_vendor`, `vendor`, `vendored`, `extern`, `third_party`,
  `thirdparty`, `node_modules`, `bower_components`.

A monorepo's own packages (`packages/runtime-core/package.json` with no package above it)
are not vendored. Search multiplies a vendored chunk's score by `VENDORED_PRIOR` (it still
ranks when nothing else matches, and `path` filters reach it); `index_status` lists the
vendored roots with the reason each was recognised.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from indexer.store import GenerationCache, Store

VENDORED_PRIOR = 0.4  # as tests: someone else's code, ranked below this project's own
VENDOR_DIRS = frozenset({"_vendor", "vendor", "vendored", "extern", "third_party", "thirdparty",
                         "node_modules", "bower_components"})
_MANIFESTS = frozenset({"setup.py", "pyproject.toml", "package.json", "go.mod", "Cargo.toml"})
_VERSION_FILES = frozenset({"__version__.py", "_version.py"})
_VERSION = re.compile(r"^__version__\s*[:=]", re.MULTILINE)


def _ancestors(directory: str) -> list[str]:
    out: list[str] = []
    while directory:
        directory = posixpath.dirname(directory)
        if directory:
            out.append(directory)
    return out


def vendored_roots(paths: Iterable[str], versioned_inits: Iterable[str]) -> dict[str, str]:
    """Vendored directory -> why, outermost only. `paths` are the repository's files,
    `versioned_inits` those `__init__.py` files that assign `__version__`."""
    paths = list(paths)
    packages = {posixpath.dirname(p) for p in paths if p.endswith("/__init__.py")}
    found: dict[str, str] = {}
    for p in paths:
        parts = p.split("/")
        for i, part in enumerate(parts[:-1]):
            if part in VENDOR_DIRS:
                found.setdefault("/".join(parts[:i + 1]), f"folder named {part}")
                break
    own = {posixpath.dirname(p): "own __version__" for p in versioned_inits}
    for p in paths:
        name = posixpath.basename(p)
        if name in _VERSION_FILES or name in _MANIFESTS:
            own.setdefault(posixpath.dirname(p), f"own {name}")
    for directory, why in own.items():
        outer = next((a for a in reversed(_ancestors(directory)) if a in packages), None)
        if directory and outer is not None:
            found.setdefault(directory, f"{why} inside package {outer}")
    return {d: why for d, why in sorted(found.items())
            if not any(a in found for a in _ancestors(d))}


def is_vendored(path: str, roots: Mapping[str, str]) -> bool:
    """Whether a directory above `path` is one of the vendored `roots`. Asked of every
    search candidate: its directories are the prefixes before each "/" (moby's paths with
    its `vendor/` root: 0.8-0.9 us a path, 2.4-2.7 us through `_ancestors`' list)."""
    if not roots:
        return False
    cut = path.find("/")
    while cut > 0:
        if path[:cut] in roots:
            return True
        cut = path.find("/", cut + 1)
    return False


@dataclass(frozen=True, slots=True)
class _Roots:
    """The vendored roots and what they were found from: the files' paths (as a count and
    the XOR of their hashes) and each `__init__.py`'s file id (a file written again gets a
    new id)."""

    roots: dict[str, str]
    paths: tuple[int, int]
    inits: dict[str, int]


def _load(store: Store, _key: tuple[int, str | None]) -> _Roots:
    """The roots of the store's generation; the last generation's when no path came or went
    and no `__init__.py` changed (nothing else they depend on can change): every batch of
    edits made the first search after it scan every chunk's text for `__version__` (moby:
    52-59 ms of wall time, 37-50 ms of the caller's CPU; now 2-4 ms to learn that the last
    ones hold, and a load from nothing reads only the `__init__.py` files' chunks)."""
    # (separate reads: a write between them leaves a mix the next generation's load finds
    # changed and reads again)
    count, mix = store.query_one(
        "SELECT count(*), coalesce(bit_xor(hash(path)), 0) FROM files") or (0, 0)
    inits = dict(store.query(
        "SELECT path, file_id FROM files WHERE ends_with(path, '/__init__.py')"))
    last = _CACHE.last(store)
    if last is not None and last.paths == (count, mix) and last.inits == inits:
        return last
    paths = [p for (p,) in store.query("SELECT path FROM files")]
    return _Roots(vendored_roots(paths, _versioned(store, inits)), (count, mix), inits)


def _versioned(store: Store, inits: Mapping[str, int]) -> list[str]:
    """Those of the `inits` (`__init__.py` path -> file id) that assign `__version__`."""
    if not inits:
        return []
    found: set[str] = set()
    for path, text in store.query(
            "SELECT f.path, c.text FROM chunks c JOIN files f USING (file_id) "
            "WHERE list_contains(?, c.file_id) AND contains(c.text, '__version__')",
            [list(inits.values())]):
        if _VERSION.search(text or ""):
            found.add(path)
    return sorted(found)


_CACHE: GenerationCache[_Roots] = GenerationCache(_load)


def vendored(store: Store) -> dict[str, str]:
    """The vendored roots of the index (read again when a path comes or goes or an
    `__init__.py` changes: `_load`)."""
    return _CACHE.get(store).roots
