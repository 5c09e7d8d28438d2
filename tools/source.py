"""Reading repository files for tool output, confined to the repository root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from tools.context import ToolError


def resolve_in_root(root: Path, rel: str) -> Path:
    """The real path of `rel` inside `root`; raises ToolError for anything that leaves it."""
    if "\x00" in rel:
        raise ToolError("path contains a NUL byte")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute():
        raise ToolError(f"path {rel!r} is absolute: give it relative to the repository root")
    if ".." in pure.parts:
        raise ToolError(f"path {rel!r} contains '..': give it relative to the repository root")
    real_root = root.resolve()
    target = (real_root / pure).resolve()
    if target != real_root and real_root not in target.parents:
        raise ToolError(f"path {rel!r} leads outside the repository")
    return target


def normalize_rel(rel: str) -> str:
    """A user-given relative path in the index's form: POSIX, no leading './' or trailing '/'."""
    rel = rel.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    rel = rel.rstrip("/")
    return "" if rel in ("", ".") else rel


def read_lines(root: Path, rel: str) -> list[str]:
    """Lines of a repository file (decoded with replacement); [] when it cannot be read."""
    try:
        data = resolve_in_root(root, rel).read_bytes()
    except (OSError, ToolError):
        return []
    return data.decode("utf-8", errors="replace").splitlines()
