"""Gitignore-style rules layered by directory, and the name-based skip rules.

Ignore files, by precedence (as ripgrep's `ignore` crate does it):

1. `.sextantignore` (plus `WalkOptions.extra_ignore`, appended to the root's rules)
2. `.ignore`
3. `.gitignore`
4. `.git/info/exclude` (root only)

Each kind is looked up from the deepest directory to the root; the first file of that kind
with a matching rule decides (last matching line wins inside one file, `!` re-includes).
A decision of a higher kind wins over any decision of a lower kind, so `!keep.txt` in a
`.sextantignore` re-includes a file that `.gitignore` ignores. Patterns are matched with
`pathspec.GitIgnoreSpec`, relative to the directory holding the file; directories are
matched with a trailing `/` so that `build/` patterns only match directories.

Git cannot re-include a path inside an excluded directory; the walker gets that for free by
never descending into one, and `is_path_ignored` checks every ancestor first.

`.gitignore` applies whether or not the root is a git checkout (corpora often are not);
files above the root and git's global `core.excludesFile` are not read.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

logger = logging.getLogger(__name__)


class SkipReason(StrEnum):
    """Why a path was not indexed; values are stable (stored and shown in status)."""

    GITIGNORED = "gitignored"  # .gitignore or .git/info/exclude
    IGNORED = "ignored"  # .ignore, .sextantignore, extra patterns
    VENDORED = "vendored"  # third-party code: vendor/, node_modules/, virtualenvs...
    GENERATED = "generated"  # lockfiles, *.min.js, source maps, `DO NOT EDIT` headers, caches
    BINARY = "binary"  # binary extension or NUL byte in the first 8 KiB
    TOO_LARGE = "too_large"  # larger than WalkOptions.max_file_bytes
    MINIFIED = "minified"  # very long lines (see WalkOptions)
    SECRET = "secret"  # credentials by file name (.env, *.pem, id_rsa...)
    SYMLINK_OUTSIDE = "symlink_outside"  # link whose target leaves the root
    SYMLINK_LOOP = "symlink_loop"  # link to an ancestor directory, or a link cycle
    SYMLINK = "symlink"  # link not followed (follow_symlinks_inside_root=False)
    DUPLICATE = "duplicate"  # directory already walked under another path (via a symlink)
    SPECIAL = "special"  # FIFO, socket, device
    UNREADABLE = "unreadable"  # permission denied, vanished, dangling link
    HIDDEN_DIR = "hidden_dir"  # .git, .hg, .svn, .sextant...
    NON_UTF8_NAME = "non_utf8_name"  # a name that is not valid UTF-8: no index can hold it


class RuleKind(IntEnum):
    """Ignore-file kinds, highest precedence first."""

    CUSTOM = 0
    IGNORE = 1
    GIT = 2
    EXCLUDE = 3


_KINDS = tuple(RuleKind)
IGNORE_FILE_KINDS: dict[str, RuleKind] = {
    ".sextantignore": RuleKind.CUSTOM,
    ".ignore": RuleKind.IGNORE,
    ".gitignore": RuleKind.GIT,
}
GIT_EXCLUDE = ".git/info/exclude"


@dataclass(frozen=True, slots=True)
class Rules:
    """One ignore file (or the extra patterns), compiled once."""

    source: str  # where the rules came from, e.g. `src/.gitignore`
    kind: RuleKind
    spec: GitIgnoreSpec
    # One regex that matches when any pattern matches: most paths match none, and one
    # search is much cheaper than pathspec's loop over every pattern.
    prefilter: re.Pattern[str] | None = None

    def check(self, key: str) -> tuple[bool | None, int | None]:
        if self.prefilter is not None and self.prefilter.match(key) is None:
            return None, None
        result = self.spec.check_file(key)
        return result.include, result.index


def _prefilter(spec: GitIgnoreSpec) -> re.Pattern[str] | None:
    sources: list[str] = []
    for pattern in spec.patterns:
        regex = getattr(pattern, "regex", None)
        if pattern.include is None:
            continue
        if not isinstance(regex, re.Pattern) or not isinstance(regex.pattern, str):
            return None
        sources.append(_NAMED_GROUP.sub("(?:", regex.pattern))
    try:
        return re.compile("|".join(f"(?:{src})" for src in sources) or "(?!)")
    except re.error:
        return None


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


@dataclass(frozen=True, slots=True)
class DirRules:
    """The compiled ignore files of one directory."""

    base: str  # the directory, relative to the root: "" or "a/b/" (trailing slash)
    by_kind: tuple[Rules | None, ...]  # indexed by RuleKind


@dataclass(frozen=True, slots=True)
class Match:
    kind: RuleKind
    source: str
    pattern: str

    @property
    def reason(self) -> SkipReason:
        git = self.kind in (RuleKind.GIT, RuleKind.EXCLUDE)
        return SkipReason.GITIGNORED if git else SkipReason.IGNORED

    @property
    def detail(self) -> str:
        return f"{self.source}: {self.pattern.strip()}"


@dataclass(frozen=True, slots=True)
class RuleStack:
    """Rules of a directory and its ancestors (root first); immutable, cheap to extend."""

    layers: tuple[DirRules, ...] = ()
    checks: tuple[tuple[str, Rules], ...] = ()  # (base, rules): precedence order

    def push(self, rules: DirRules | None) -> RuleStack:
        if rules is None:
            return self
        layers = (*self.layers, rules)
        checks = tuple(
            (layer.base, found)
            for kind in _KINDS
            for layer in reversed(layers)
            if (found := layer.by_kind[kind]) is not None
        )
        return RuleStack(layers, checks)

    def match(self, rel: str, is_dir: bool) -> Match | None:
        """The rule that ignores `rel` (POSIX, relative to the root), or None."""
        key = rel + "/" if is_dir else rel
        for base, rules in self.checks:
            if not key.startswith(base):
                continue
            include, index = rules.check(key[len(base) :])
            if include is None or index is None:
                continue
            if not include:
                return None  # re-included by `!`: lower kinds don't get a say
            pattern = rules.spec.patterns[index].pattern or ""
            return Match(rules.kind, rules.source, str(pattern))
        return None


def compile_rules(source: str, kind: RuleKind, lines: Iterable[str]) -> Rules | None:
    """Compile gitignore lines; a bad line is logged and dropped, not fatal. (pathspec is
    imported here, on the first rules compiled: a query that reads the index needs none.)"""
    from pathspec import GitIgnoreSpec

    kept: list[str] = []
    for line in lines:
        try:
            GitIgnoreSpec.from_lines([line])
        except ValueError as exc:
            logger.warning("ignoring bad pattern in %s: %r (%s)", source, line, exc)
            continue
        kept.append(line)
    if not any(line.strip() and not line.startswith("#") for line in kept):
        return None
    spec = GitIgnoreSpec.from_lines(kept)
    return Rules(source, kind, spec, _prefilter(spec))


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().splitlines()
    except OSError:
        return None


def load_dir_rules(
    dir_abs: str, base: str, names: Iterable[str], extra: Iterable[str] = ()
) -> DirRules | None:
    """Read the ignore files among `names` in `dir_abs`; at the root (`base == ""`) also
    `.git/info/exclude` and the `extra` patterns. None when there are no rules."""
    by_kind: list[Rules | None] = [None] * len(RuleKind)
    lines_by_kind: dict[RuleKind, tuple[str, list[str]]] = {}
    for name in names:
        kind = IGNORE_FILE_KINDS.get(name)
        lines = _read_lines(os.path.join(dir_abs, name)) if kind is not None else None
        if kind is not None and lines is not None:
            lines_by_kind[kind] = (base + name, lines)
    if base == "":
        extra = list(extra)
        if extra:
            source, lines = lines_by_kind.get(RuleKind.CUSTOM, ("extra patterns", []))
            lines_by_kind[RuleKind.CUSTOM] = (source, [*lines, *extra])
        exclude = _read_lines(os.path.join(dir_abs, GIT_EXCLUDE))
        if exclude is not None:
            lines_by_kind[RuleKind.EXCLUDE] = (GIT_EXCLUDE, exclude)
    for kind, (source, lines) in lines_by_kind.items():
        by_kind[kind] = compile_rules(source, kind, lines)
    if all(rules is None for rules in by_kind):
        return None
    return DirRules(base, tuple(by_kind))


class IgnoreCache:
    """Compiled ignore rules per directory, for checking single paths (the file watcher).

    Call `invalidate(dir)` when an ignore file in `dir` changes (or `note_changed(path)`
    with any changed path: it invalidates when the path is an ignore file).
    """

    def __init__(self, root: str | os.PathLike[str], extra: Iterable[str] = ()) -> None:
        self.root = os.fspath(root)
        self.extra = tuple(extra)
        self._rules: dict[str, DirRules | None] = {}

    def rules_for(self, dir_rel: str) -> DirRules | None:
        dir_rel = dir_rel.strip("/")
        if dir_rel not in self._rules:
            base = dir_rel + "/" if dir_rel else ""
            dir_abs = os.path.join(self.root, dir_rel)
            self._rules[dir_rel] = load_dir_rules(dir_abs, base, IGNORE_FILE_KINDS, self.extra)
        return self._rules[dir_rel]

    def stack_for(self, dir_rel: str) -> RuleStack:
        """Rules that apply to entries of `dir_rel` ("" for the root)."""
        parts = [p for p in dir_rel.strip("/").split("/") if p]
        stack = RuleStack().push(self.rules_for(""))
        for i in range(len(parts)):
            stack = stack.push(self.rules_for("/".join(parts[: i + 1])))
        return stack

    def invalidate(self, dir_rel: str = "") -> None:
        self._rules.pop(dir_rel.strip("/"), None)

    def invalidate_all(self) -> None:
        self._rules.clear()

    def note_changed(self, rel_path: str) -> bool:
        """Invalidate the directory of `rel_path` if it names an ignore file; True if so."""
        rel_path = rel_path.strip("/")
        if rel_path == GIT_EXCLUDE:
            self.invalidate("")
            return True
        head, _, name = rel_path.rpartition("/")
        if name in IGNORE_FILE_KINDS:
            self.invalidate(head)
            return True
        return False


# --- name-based rules --------------------------------------------------------------------

HIDDEN_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", ".jj", ".sextant"})
VENDORED_DIRS = frozenset(
    {
        "node_modules",
        "bower_components",
        "jspm_packages",
        "vendor",
        "third_party",
        "third-party",
        "site-packages",
        ".tox",
        ".nox",
    }
)
VENV_NAMES = frozenset({".venv", "venv", "env", ".env", "virtualenv"})
CACHE_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
LOCKFILES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "Cargo.lock",
        "poetry.lock",
        "Pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "go.sum",
        "composer.lock",
        "Gemfile.lock",
        "Podfile.lock",
        "pubspec.lock",
        "mix.lock",
        "flake.lock",
        "packages.lock.json",
        "gradle.lockfile",
        "Package.resolved",
    }
)
GENERATED_SUFFIXES = (".min.js", ".min.mjs", ".min.css", ".map")
# fmt: off
BINARY_EXTENSIONS = frozenset({
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "psd", "heic",
    "avif", "xcf", "zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "lz4", "7z", "rar", "jar",
    "war", "ear", "whl", "egg", "apk", "deb", "rpm", "dmg", "iso", "msi", "cab", "so", "dll",
    "dylib", "a", "o", "obj", "lib", "exe", "bin", "elf", "pyc", "pyo", "pyd", "class", "dex",
    "wasm", "lockb", "woff", "woff2", "ttf", "otf", "eot", "pdf", "doc", "docx", "xls", "xlsx",
    "ppt", "pptx", "odt", "ods", "odp", "mp3", "mp4", "m4a", "wav", "ogg", "flac", "avi", "mov",
    "mkv", "webm", "sqlite", "sqlite3", "db", "duckdb", "parquet", "arrow", "feather", "npy",
    "npz", "pkl", "pickle", "h5", "hdf5", "onnx", "pt", "pth", "gguf", "safetensors", "ckpt",
    "tflite", "swf", "ds_store",
})
# fmt: on
SECRET_NAMES = frozenset(
    {
        ".env",
        ".netrc",
        "_netrc",
        ".npmrc",
        ".pypirc",
        ".git-credentials",
        ".htpasswd",
        "credentials.json",
        "terraform.tfstate",
        "terraform.tfstate.backup",
    }
)
SECRET_PREFIXES = (".env.", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
SECRET_EXTENSIONS = frozenset({"pem", "key", "p12", "pfx", "keystore", "jks", "kdbx", "tfstate"})


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def dir_name_reason(name: str, skip_vendored: bool) -> SkipReason | None:
    """Skip reason for a directory from its name alone (virtualenvs need a look inside)."""
    if name in HIDDEN_DIRS:
        return SkipReason.HIDDEN_DIR
    if name in CACHE_DIRS:
        return SkipReason.GENERATED
    if skip_vendored and name in VENDORED_DIRS:
        return SkipReason.VENDORED
    return None


def path_rule(
    rel: str, abs_path: str, is_dir: bool, *, skip_vendored: bool, index_secrets: bool
) -> tuple[SkipReason, str] | None:
    """Skip reason and detail for a path that the ignore files let through, from its name
    (and, for a directory named like a virtualenv, whether it has an activate script)."""
    name = rel.rpartition("/")[2]
    if not is_dir:
        return file_name_reason(rel, name, index_secrets)
    reason = dir_name_reason(name, skip_vendored)
    if reason is not None:
        return reason, ""
    if skip_vendored and name in VENV_NAMES and _has_activate(abs_path):
        return SkipReason.VENDORED, "virtualenv"
    return None


def _has_activate(dir_abs: str) -> bool:
    scripts = ("bin", "Scripts")
    return any(os.path.isfile(os.path.join(dir_abs, sub, "activate")) for sub in scripts)


def file_name_reason(rel: str, name: str, index_secrets: bool) -> tuple[SkipReason, str] | None:
    """Skip reason and detail for a file from its path alone."""
    if name in HIDDEN_DIRS:  # `.git` file of a worktree or submodule
        return SkipReason.HIDDEN_DIR, ""
    ext = _extension(name)
    if not index_secrets and _is_secret(rel, name, ext):
        return SkipReason.SECRET, "credentials by file name (index_secrets=False)"
    if name in LOCKFILES:
        return SkipReason.GENERATED, "lockfile"
    if name.endswith(GENERATED_SUFFIXES):
        return SkipReason.GENERATED, "minified or source map by name"
    if ext in BINARY_EXTENSIONS:
        return SkipReason.BINARY, f".{ext} file"
    return None


def _is_secret(rel: str, name: str, ext: str) -> bool:
    if name in SECRET_NAMES or name.startswith(SECRET_PREFIXES) or ext in SECRET_EXTENSIONS:
        return True
    aws = rel == ".aws/credentials" or rel.endswith("/.aws/credentials")
    return name == "credentials" and aws
