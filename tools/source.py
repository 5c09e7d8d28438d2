"""Reading repository files for tool output, confined to the repository root.

Every path a client gives is checked by `resolve_in_root` (or, for filters and globs that
never touch the file system, `check_rel` and `check_glob`): no NUL byte, not absolute, no
`..` component, and, after following symlinks, still inside the real root (compared by path
component); a glob must also be well formed.
`read_lines` re-checks at read time (a file indexed earlier may since have become a link
out of the root, a FIFO or a huge file), refuses a final-component symlink swapped in after
the check (O_NOFOLLOW), never blocks on a FIFO or device, and reads a bounded prefix.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from pathlib import Path, PurePosixPath

from indexer.discover import decode_text, read_at_most
from tools.errors import ArgumentError, ToolError

MAX_READ_BYTES = 8 << 20  # a file that grew past this since indexing is read up to here
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0))


def check_rel(rel: str) -> PurePosixPath:
    """`rel` as a relative POSIX path; ToolError when it has a NUL byte, is absolute or has
    a `..` component (checked without touching the file system: globs and filters)."""
    if "\x00" in rel:
        raise ArgumentError("path contains a NUL byte")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute():
        raise ArgumentError(f"path {rel!r} is absolute: give it relative to the repository root")
    if ".." in pure.parts:
        raise ArgumentError(f"path {rel!r} contains '..': give it relative to the repository root")
    return pure


def in_scope(path: str, scope: str | None) -> bool:
    """Whether `path` is within a tool's `path` argument: a glob it matches, or a directory
    it is under (no scope: everywhere)."""
    return not scope or fnmatch.fnmatch(path, scope) or path.startswith(scope.rstrip("/") + "/")


def check_glob(pattern: str) -> PurePosixPath:
    """`check_rel` for a path glob (fnmatch syntax: `*`, `?`, `[abc]`, `[!abc]`), which must
    also be well formed: a `[` that is never closed would match only a literal `[`, so that
    a typo silently finds nothing."""
    pure = check_rel(pattern)
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i] == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":  # a leading ']' is a member of the set
                j += 1
            j = pattern.find("]", j)
            if j < 0:
                raise ArgumentError(
                    f"path glob {pattern!r} has a '[' (at {i}) that is never closed: close the "
                    "set (e.g. 'src/[ab]*.py') or write '[[]' for a literal '['; globs take "
                    "* (any characters), ? (one character), [abc] and [!abc] (one of, or none "
                    "of, a set)")
            i = j
        i += 1
    return pure


def resolve_in_root(root: Path, rel: str) -> Path:
    """The real path of `rel` inside `root`; raises ToolError for anything that leaves it.

    The same answer as resolving `root` and then `root / rel` with `Path.resolve`, in fewer
    system calls: that took an `lstat` of every component of both, about ten for a file of
    moby, each of which gives the interpreter's lock away and, in a busy server, waits to
    take it back. The real root is kept while `root` and it are the same directory (two
    `stat`s); then each component of `rel` is looked at once, and only a symlink among them
    takes the full resolution."""
    pure = check_rel(rel)
    real_root = _real_root(root)
    here = str(real_root)
    for part in pure.parts:
        here = f"{here}/{part}"
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                return _resolve_links(real_root, pure, rel)
        except OSError:  # missing or unreadable: a component no link can follow (as resolve)
            break
    return real_root / pure


def _resolve_links(real_root: Path, pure: PurePosixPath, rel: str) -> Path:
    try:
        target = (real_root / pure).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ToolError(f"path {rel!r} cannot be resolved ({exc}): is it a symlink loop?") from None
    if target != real_root and real_root not in target.parents:
        raise ArgumentError(f"path {rel!r} leads outside the repository")
    return target


_REAL_ROOTS: dict[str, tuple[int, int, Path]] = {}  # root -> (st_dev, st_ino, real path)


def _real_root(root: Path) -> Path:
    """`root.resolve()`, kept while `root` and the real path kept both name the same
    directory: a root replaced under a server (moved away and copied back), a symlink
    pointed elsewhere, or the directory itself moved (its old path free for another) is
    resolved again."""
    key = str(root)
    try:
        st = os.stat(key)
    except OSError:
        return root.resolve()
    known = _REAL_ROOTS.get(key)
    if known is not None and known[:2] == (st.st_dev, st.st_ino):
        try:
            at = os.stat(known[2])
        except OSError:
            at = None
        if at is not None and (at.st_dev, at.st_ino) == known[:2]:
            return known[2]
    real = root.resolve()
    if len(_REAL_ROOTS) >= 64:
        _REAL_ROOTS.clear()
    _REAL_ROOTS[key] = (st.st_dev, st.st_ino, real)
    return real


def normalize_rel(rel: str) -> str:
    """A user-given relative path in the index's form: POSIX, no leading './' or trailing '/'."""
    rel = rel.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    rel = rel.rstrip("/") or rel  # "/" stays absolute, for resolve_in_root to refuse
    return "" if rel in ("", ".") else rel


def read_lines(root: Path, rel: str) -> list[str]:
    """Lines of a repository file, decoded as the indexer decodes it (UTF-8 with
    replacement, or UTF-16 by its BOM); [] when it cannot be read, is not a regular file, or
    leaves the root."""
    try:
        data = _read_regular(resolve_in_root(root, rel))
    except (OSError, ToolError):
        return []
    return decode_text(data).splitlines()


def _read_regular(path: Path) -> bytes:
    fd = os.open(path, _OPEN_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return read_at_most(fd, MAX_READ_BYTES)
    finally:
        os.close(fd)
