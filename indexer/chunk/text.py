"""Text-file structure for chunking: section starts of Markdown, reStructuredText,
YAML, TOML and INI files, and the comment marker of a language's chunk headers.

The functions read a chunking context (`indexer.chunk.context.Ctx`: `data`, `nlines`, `raw`,
`line_of`) and return (0-based start line, heading trail) marks; `indexer.chunk.chunker` turns
the marks into sections fitted to the token budget.
"""

from __future__ import annotations

import re
from typing import Protocol


class TextContext(Protocol):
    data: bytes
    nlines: int

    def raw(self, start: int, end: int) -> bytes: ...

    def line_of(self, pos: int) -> int: ...


Marks = list[tuple[int, tuple[str, ...]]]

_HASH_COMMENT = frozenset(
    {"python", "ruby", "bash", "shell", "perl", "r", "elixir", "julia", "nim", "powershell"}
)
_DASH_COMMENT = frozenset({"lua", "sql", "haskell", "elm", "ada"})
_TEXT_FORMATS = {
    ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown", ".rst": "rst",
    ".yml": "yaml", ".yaml": "yaml", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
}  # fmt: skip
_FORMAT_ALIASES = {"md": "markdown", "restructuredtext": "rst", "yml": "yaml"}
# A fence line (checked first, as CommonMark does) or an ATX heading line, found in one scan
_MD_LINE = re.compile(
    rb"^ {0,3}(?:(`{3,}|~{3,})|(#{1,6})(?:[ \t]+(.*?))?[ \t#]*$)", re.MULTILINE)
_RST_ADORN = re.compile(rb"^([=\-~^\"'`#*+:._])\1{2,}[ \t]*$")
YAML_KEY = re.compile(rb"^([A-Za-z0-9_\"'.][^:#\n]*):(?:[ \t]|\r?$)", re.MULTILINE)
TOML_TABLE = re.compile(rb"^[ \t]*(\[\[?[^\]\n]+\]\]?)", re.MULTILINE)


def comment_marker(language: str | None) -> str | None:
    if language is None or _canonical(language) in (*_TEXT_FORMATS.values(), "json", "text"):
        return None
    if language in _HASH_COMMENT:
        return "#"
    return "--" if language in _DASH_COMMENT else "//"


def _canonical(language: str) -> str:
    return _FORMAT_ALIASES.get(language.lower(), language.lower())


def text_format(path: str, language: str | None) -> str:
    if language:
        return _canonical(language)
    dot = path.rfind(".")
    return _TEXT_FORMATS.get(path[dot:].lower(), "text") if dot >= 0 else "text"


def key_marks(ctx: TextContext, pattern: re.Pattern[bytes]) -> Marks:
    marks: list[tuple[int, tuple[str, ...]]] = []
    for m in pattern.finditer(ctx.data):
        key = clip(m.group(1).decode("utf-8", "replace").strip(), 60)
        marks.append((ctx.line_of(m.start()), (key,)))
    return marks


def _push(trail: list[tuple[int, str]], level: int, title: str) -> tuple[str, ...]:
    while trail and trail[-1][0] >= level:
        trail.pop()
    trail.append((level, title))
    return tuple(t for _, t in trail)


def markdown_marks(ctx: TextContext) -> Marks:
    marks: list[tuple[int, tuple[str, ...]]] = []
    trail: list[tuple[int, str]] = []
    fence: bytes | None = None
    for m in _MD_LINE.finditer(ctx.data):  # only fence and heading lines: one regex scan
        f = m.group(1)
        if f is not None:
            fence = None if fence and f.startswith(fence) else fence or f
            continue
        if fence is None:
            title = (m.group(3) or b"").decode("utf-8", "replace").strip()
            marks.append((ctx.line_of(m.start()), _push(trail, len(m.group(2)), title)))
    return marks


def rst_marks(ctx: TextContext) -> Marks:
    marks: list[tuple[int, tuple[str, ...]]] = []
    trail: list[tuple[int, str]] = []
    styles: list[bytes] = []
    for i in range(1, ctx.nlines):
        under, title = ctx.raw(i, i + 1), ctx.raw(i - 1, i).strip()
        m = _RST_ADORN.match(under)
        if not m or not title or _RST_ADORN.match(title) or len(under.rstrip()) < len(title):
            continue
        over = i >= 2 and ctx.raw(i - 2, i - 1).rstrip() == under.rstrip()
        style = m.group(1) + (b"o" if over else b"")
        if style not in styles:
            styles.append(style)
        start = i - 2 if over else i - 1
        text = title.decode("utf-8", "replace")
        marks.append((start, _push(trail, styles.index(style) + 1, text)))
    return marks

def clip(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 3] + "..."
