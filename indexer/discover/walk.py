"""File discovery: which files of a repository are indexed, and why the others are not.

`walk(root, opts)` streams `FileEntry` (to index) and `SkippedFile` (with a `SkipReason`)
in a deterministic order: each directory's entries sorted by name, depth first. A skipped
directory is reported once, as `dir/` with a trailing slash, and never descended into.
Only the entries of the directories on the current path are held in memory.

Path rules come first (cheap, from the directory listing): VCS/`.sextant` dirs, ignore
files (see `indexer.discover.ignore`), vendored and cache dirs, secrets, lockfiles, binary
extensions, size. Content rules need the bytes and run where the file is read (a parse
worker): `read_file` then `content_skip_reason` then `decode_text`.

Content thresholds (WalkOptions): binary = a NUL byte in the first 8 KiB (UTF-16 text with
a BOM is decoded, not skipped); generated = a comment line in the first 4 KiB saying
`generated ... DO NOT EDIT` (Go's `// Code generated ... DO NOT EDIT.`, protoc, ...) or
`@generated`; minified = a file of at least 2 KiB whose average line is over 500 bytes, or
any file with a line over 20,000 bytes.

Symlinks: a link whose target leaves the root is skipped (`symlink_outside`). A link to a
file inside the root is indexed under the link's path (its content may also be indexed under
the target's path). A link to a directory inside the root is followed; every real directory
(st_dev, st_ino) is walked once: a link back to an ancestor is `symlink_loop`, a second path
to a directory already walked is `duplicate` (whichever path comes first in walk order wins).
Ignore rules treat a link as a file (as git does), so `build/` does not match a link.

A file or directory whose name is not valid UTF-8 (Python gives its bytes as surrogate
escapes) is skipped before any other rule (`non_utf8_name`), and never entered: neither the
store, the lexical index nor a protocol message can carry such a path. It is reported with
the bytes that are not UTF-8 written as `\\xNN` escapes (`bad\\xe9.py`).

The walk goes depth first with a stack of the directories on the current path, not by
recursion, so a tree of any depth is walked (a directory path longer than the system allows
comes back `unreadable`, ENAMETOOLONG).
"""

from __future__ import annotations

import codecs
import errno
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.discover.ignore import (
    IgnoreCache,
    RuleStack,
    SkipReason,
    dir_name_reason,
    load_dir_rules,
    path_rule,
)

__all__ = [
    "FileEntry",
    "IgnoreCache",
    "SkipReason",
    "SkippedFile",
    "WalkOptions",
    "content_skip_reason",
    "decode_text",
    "is_path_ignored",
    "read_file",
    "walk",
]

logger = logging.getLogger(__name__)

BINARY_SNIFF_BYTES = 8192
HEADER_SNIFF_BYTES = 4096
_COMMENT = rb"^[ \t]*(?://|#|/\*|\*|--|;|<!--|%|\{-|\(\*)"
_GENERATED_RE = re.compile(
    _COMMENT + rb"[^\n]*?(?:\bgenerated\b[^\n]*\bdo not (?:edit|modify)\b|@generated\b)",
    re.IGNORECASE | re.MULTILINE,
)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True, slots=True)
class WalkOptions:
    max_file_bytes: int = 1 << 20
    follow_symlinks_inside_root: bool = True
    extra_ignore: tuple[str, ...] = ()  # gitignore-syntax patterns, as a root .sextantignore
    index_secrets: bool = False
    skip_vendored: bool = True
    minified_min_bytes: int = 2048  # the average-line rule applies from this size
    minified_avg_line: int = 500  # bytes per line on average
    minified_max_line: int = 20_000  # bytes in any one line


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # POSIX, relative to the root
    # as the walk found it (a str: a Path made for every file interned each of its parts,
    # and a walk of moby's tree grew the interpreter's table of interned strings by 3.8 MB;
    # the walk's CPU 80-83 -> 64-65 ms)
    abs_path: str | Path
    size: int
    mtime_ns: int
    known_hash: str | None = None  # the content hash indexed under this path, if any


@dataclass(frozen=True, slots=True)
class SkippedFile:
    path: str  # POSIX, relative to the root; directories end with "/"
    reason: str  # a SkipReason value
    detail: str = ""


# --- content rules -----------------------------------------------------------------------


def content_skip_reason(path: str, data: bytes, opts: WalkOptions) -> SkippedFile | None:
    """Binary, generated or minified judged by content; None when the file is to be indexed."""
    if b"\0" in data[:BINARY_SNIFF_BYTES] and not data.startswith(_UTF16_BOMS):
        return SkippedFile(path, SkipReason.BINARY, "NUL byte in the first 8 KiB")
    match = _GENERATED_RE.search(data[:HEADER_SNIFF_BYTES])
    if match:
        line = match.group(0).decode("utf-8", "replace").strip()
        return SkippedFile(path, SkipReason.GENERATED, line[:120])
    return _minified(path, data, opts)


def _minified(path: str, data: bytes, opts: WalkOptions) -> SkippedFile | None:
    size = len(data)
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if size >= opts.minified_min_bytes and size / max(lines, 1) > opts.minified_avg_line:
        avg = size // max(lines, 1)
        return SkippedFile(path, SkipReason.MINIFIED, f"{avg} bytes per line on average")
    if size > opts.minified_max_line:
        longest = max(map(len, data.split(b"\n")))
        if longest > opts.minified_max_line:
            return SkippedFile(path, SkipReason.MINIFIED, f"a line of {longest} bytes")
    return None


def decode_text(data: bytes) -> str:
    """Text of a file: UTF-8 (BOM stripped, invalid bytes replaced) or BOM-marked UTF-16."""
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", errors="replace")
    return data.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace")


# --- reading -----------------------------------------------------------------------------

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_file(entry: FileEntry, opts: WalkOptions) -> bytes | SkippedFile:
    """Read at most max_file_bytes+1 bytes; vanished, unreadable, special or grown files
    come back as a SkippedFile. Never blocks on a FIFO (opened non-blocking, fstat first)."""
    try:
        fd = os.open(entry.abs_path, _OPEN_FLAGS)
    except OSError as exc:
        return SkippedFile(entry.path, SkipReason.UNREADABLE, _os_error(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return SkippedFile(entry.path, SkipReason.SPECIAL, _file_type(st.st_mode))
        if st.st_size > opts.max_file_bytes:
            return _too_large(entry.path, st.st_size, opts)
        data = read_at_most(fd, opts.max_file_bytes + 1)
    except OSError as exc:
        return SkippedFile(entry.path, SkipReason.UNREADABLE, _os_error(exc))
    finally:
        os.close(fd)
    if len(data) > opts.max_file_bytes:
        return _too_large(entry.path, len(data), opts)
    return data


def read_at_most(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes from an open file descriptor."""
    parts: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _too_large(path: str, size: int, opts: WalkOptions) -> SkippedFile:
    return SkippedFile(path, SkipReason.TOO_LARGE, f"{size} bytes > {opts.max_file_bytes}")


def _os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "OSError")
    return f"{name}: {exc.strerror or exc}"


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"


# --- walking -----------------------------------------------------------------------------

_Reason = tuple[SkipReason, str]


def walk(root: Path, opts: WalkOptions | None = None) -> Iterator[FileEntry | SkippedFile]:
    """Stream the files under `root` to index, and the skipped paths with their reason."""
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory: pass a repository root")
    return _Walker(root, opts or WalkOptions()).run()


def _name_rules(rel: str, abs_path: str, is_dir: bool, opts: WalkOptions) -> _Reason | None:
    return path_rule(
        rel,
        abs_path,
        is_dir,
        skip_vendored=opts.skip_vendored,
        index_secrets=opts.index_secrets,
    )


def _inside(path: str, real_root: str) -> bool:
    return path == real_root or path.startswith(real_root.rstrip(os.sep) + os.sep)


def _utf8(name: str) -> bool:
    """Whether `name` is valid UTF-8 on disk (no surrogate escapes in it)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(path: str) -> str:
    """`path` as the index can hold and show it: the bytes of its name that are not UTF-8
    written as `\\xNN` escapes (a valid path comes back as it is)."""
    if _utf8(path):
        return path
    return os.fsencode(path).decode("utf-8", "backslashreplace")


_NON_UTF8 = "the name is not valid UTF-8: rename it to have it indexed"


def _link_target(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


@dataclass(slots=True)
class _OpenDir:
    """A directory on the walk's current path: its entries not yet visited, its path as
    shown (`""` or ending in "/"), the ignore rules in force in it and its identity."""

    entries: Iterator[os.DirEntry[str]]
    rel: str
    stack: RuleStack
    key: tuple[int, int]


class _Walker:
    """Depth first with a stack of open directories, not recursion: a tree of any depth is
    walked (a recursive walk ran out of Python's recursion limit ~330 levels down and lost
    the whole tree)."""

    def __init__(self, root: Path, opts: WalkOptions) -> None:
        self.root = root
        self.opts = opts
        self.real_root = os.path.realpath(root)
        self.visited: dict[tuple[int, int], str] = {}
        self.ancestors: set[tuple[int, int]] = set()
        self.open_dirs: list[_OpenDir] = []  # the current path, innermost last

    def run(self) -> Iterator[FileEntry | SkippedFile]:
        st = os.stat(self.root)
        key = (st.st_dev, st.st_ino)
        self.visited[key] = "./"
        skipped = self._enter(os.fspath(self.root), "", RuleStack(), key)
        if skipped is not None:
            yield skipped
        open_dirs = self.open_dirs
        while open_dirs:
            current = open_dirs[-1]
            entry = next(current.entries, None)
            if entry is None:
                open_dirs.pop()
                self.ancestors.discard(current.key)
                continue
            item = self._visit(entry, current.rel, current.stack)
            if item is not None:  # None: a directory entered, its entries come next
                yield item

    def _enter(
        self, dir_abs: str, rel: str, stack: RuleStack, key: tuple[int, int]
    ) -> SkippedFile | None:
        """Open a directory on top of the current path, or say why it is skipped."""
        try:
            with os.scandir(dir_abs) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            return SkippedFile(rel or "./", SkipReason.UNREADABLE, _os_error(exc))
        names = {e.name for e in entries}
        if rel and self.opts.skip_vendored and "pyvenv.cfg" in names:
            return SkippedFile(rel, SkipReason.VENDORED, "virtualenv (pyvenv.cfg)")
        present = [n for n in (".sextantignore", ".ignore", ".gitignore") if n in names]
        if present or not rel:
            extra = self.opts.extra_ignore if not rel else ()
            stack = stack.push(load_dir_rules(dir_abs, rel, present, extra))
        self.ancestors.add(key)
        self.open_dirs.append(_OpenDir(iter(entries), rel, stack, key))
        return None

    def _visit(
        self, entry: os.DirEntry[str], rel: str, stack: RuleStack
    ) -> FileEntry | SkippedFile | None:
        child = rel + entry.name
        try:  # file types come from the listing: no system call on most file systems
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError as exc:
            return SkippedFile(_printable(child), SkipReason.UNREADABLE, _os_error(exc))
        shown = child + "/" if is_dir else child
        if not _utf8(entry.name):
            return SkippedFile(_printable(shown), SkipReason.NON_UTF8_NAME, _NON_UTF8)
        if dir_name_reason(entry.name, False) is SkipReason.HIDDEN_DIR:
            return SkippedFile(shown, SkipReason.HIDDEN_DIR)
        match = stack.match(child, is_dir)
        if match is not None:
            return SkippedFile(shown, match.reason, match.detail)
        if is_link:
            return self._visit_link(entry, child, stack)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            return SkippedFile(shown, SkipReason.UNREADABLE, _os_error(exc))
        if is_dir:
            return self._visit_dir(entry.path, child, stack, st)
        return self._file(entry.path, child, st)

    def _visit_link(
        self, entry: os.DirEntry[str], child: str, stack: RuleStack
    ) -> FileEntry | SkippedFile | None:
        target = _link_target(entry.path)
        if not self.opts.follow_symlinks_inside_root:
            return SkippedFile(child, SkipReason.SYMLINK, f"-> {target} (not followed)")
        if not _inside(os.path.realpath(entry.path), self.real_root):
            return SkippedFile(child, SkipReason.SYMLINK_OUTSIDE, f"-> {target}")
        try:
            st = os.stat(entry.path)
        except OSError as exc:
            loop = exc.errno == errno.ELOOP
            reason = SkipReason.SYMLINK_LOOP if loop else SkipReason.UNREADABLE
            return SkippedFile(child, reason, f"-> {target} ({_os_error(exc)})")
        if stat.S_ISDIR(st.st_mode):
            return self._visit_dir(entry.path, child, stack, st)
        return self._file(entry.path, child, st)

    def _visit_dir(
        self, dir_abs: str, child: str, stack: RuleStack, st: os.stat_result
    ) -> SkippedFile | None:
        shown = child + "/"
        rule = _name_rules(child, dir_abs, True, self.opts)
        if rule is not None:
            return SkippedFile(shown, *rule)
        key = (st.st_dev, st.st_ino)
        seen = self.visited.get(key)
        if seen is not None:
            reason = SkipReason.SYMLINK_LOOP if key in self.ancestors else SkipReason.DUPLICATE
            return SkippedFile(shown, reason, f"same directory as {seen}")
        self.visited[key] = shown
        return self._enter(dir_abs, shown, stack, key)

    def _file(self, abs_path: str, child: str, st: os.stat_result) -> FileEntry | SkippedFile:
        rule = _name_rules(child, abs_path, False, self.opts)
        if rule is not None:
            return SkippedFile(child, *rule)
        if not stat.S_ISREG(st.st_mode):
            return SkippedFile(child, SkipReason.SPECIAL, _file_type(st.st_mode))
        if st.st_size > self.opts.max_file_bytes:
            return _too_large(child, st.st_size, self.opts)
        return FileEntry(child, abs_path, st.st_size, st.st_mtime_ns)


# --- single paths (the watcher) ----------------------------------------------------------


def is_path_ignored(
    root: Path, rel_path: str, opts: WalkOptions | None = None, cache: IgnoreCache | None = None
) -> SkippedFile | None:
    """Path rules for one path, as `walk` would apply them (content and size are not
    checked; a path that no longer exists is judged as a file). Pass a long-lived `cache`
    and invalidate it when ignore files change."""
    opts = opts or WalkOptions()
    checker = _PathChecker(os.fspath(root), opts, cache or IgnoreCache(root, opts.extra_ignore))
    parts = [p for p in rel_path.strip("/").split("/") if p not in ("", ".")]
    for i in range(len(parts)):
        rel = "/".join(parts[: i + 1])
        last = i == len(parts) - 1
        rule, shown = checker.rule(rel, default_dir=not last)
        if rule is not None:
            under = "" if last else f"under {_printable(shown)}"
            detail = "; ".join(filter(None, (rule[1], under)))
            return SkippedFile(_printable(rel_path), rule[0], detail)
    return None


@dataclass(frozen=True, slots=True)
class _PathChecker:
    root: str
    opts: WalkOptions
    cache: IgnoreCache

    def rule(self, rel: str, default_dir: bool) -> tuple[_Reason | None, str]:
        """The rule skipping `rel` (its ancestors already passed) and how it is shown."""
        abs_path = os.path.join(self.root, rel)
        try:
            mode = os.lstat(abs_path).st_mode
            is_dir, is_link = stat.S_ISDIR(mode), stat.S_ISLNK(mode)
        except OSError:
            is_dir, is_link = default_dir, False
        shown = rel + "/" if is_dir else rel
        if not _utf8(rel.rpartition("/")[2]):
            return (SkipReason.NON_UTF8_NAME, _NON_UTF8), shown
        if dir_name_reason(rel.rpartition("/")[2], False) is SkipReason.HIDDEN_DIR:
            return (SkipReason.HIDDEN_DIR, ""), shown
        match = self.cache.stack_for(rel.rpartition("/")[0]).match(rel, is_dir)
        if match is not None:
            return (match.reason, match.detail), shown
        if is_link:
            if not self.opts.follow_symlinks_inside_root:
                return (SkipReason.SYMLINK, "not followed"), shown
            if not _inside(os.path.realpath(abs_path), os.path.realpath(self.root)):
                return (SkipReason.SYMLINK_OUTSIDE, f"-> {_link_target(abs_path)}"), shown
            is_dir = os.path.isdir(abs_path)
        venv_cfg = os.path.join(abs_path, "pyvenv.cfg")
        if is_dir and self.opts.skip_vendored and os.path.isfile(venv_cfg):
            return (SkipReason.VENDORED, "virtualenv (pyvenv.cfg)"), shown
        return _name_rules(rel, abs_path, is_dir, self.opts), shown
