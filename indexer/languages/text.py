"""Small text helpers for the parser: comment markers, docstrings, names, module strings."""

from __future__ import annotations

import inspect
import re

from tree_sitter import Node

_GENERIC = re.compile(r"<[^<>]*>|\[[^\[\]]*\]")
_LINE_MARKER = re.compile(r"^\s*(?:/\*+!?|\*+/|\*(?!/)|///?!?|#+'?|--+(?:\[=*\[)?|;+|%+)\s?")
_LINE_END = re.compile(r"\s*(?:\*+/|\]=*\])\s*$")
_QUALIFIER = re.compile(r"::|:|\.|->|\\")
_DOC_CAP = 4000


def collapse(text: str) -> str:
    """Whitespace runs -> one space, stripped."""
    return " ".join(text.split())


def strip_generics(text: str) -> str:
    for _ in range(4):  # nested generics, bounded
        stripped = _GENERIC.sub("", text)
        if stripped == text:
            break
        text = stripped
    return text


def last_segment(text: str) -> str:
    """`pkg.Base[T]` -> `Base`; `*Context` -> `Context`; `a::b::C<T>` -> `C`."""
    if text.isidentifier():
        return text
    text = strip_generics(collapse(text)).strip("*&() ")
    parts = [p for p in _QUALIFIER.split(text) if p]
    last = parts[-1] if parts else text
    return last.strip("*&() ")


def split_qualified(text: str) -> tuple[str, str]:
    """`Foo::bar` -> (`Foo`, `bar`); `bar` -> (``, `bar`). The qualifier uses dots."""
    if text.isidentifier():
        return "", text
    text = strip_generics(collapse(text))
    parts = [p.strip("*&~ ") or p for p in _QUALIFIER.split(text) if p]
    if len(parts) <= 1:
        return "", text
    return ".".join(parts[:-1]), parts[-1]


_IMPORT_KEYWORDS = re.compile(r"^(?:(?:import|using|use|static|global|from)\s+)+")
_IMPORT_TAIL = re.compile(r"(?:\s*\{.*\}|\._|\.\*|::\*|;)+$")


def strip_module(text: str) -> str:
    """A module string as written: no quotes, brackets, keywords or selector lists."""
    text = _IMPORT_KEYWORDS.sub("", collapse(text))
    text = _IMPORT_TAIL.sub("", text).rstrip(".:")
    return text.strip("\"'`<>").strip()


def _slash_line(line: str) -> str | None:
    """A `//` line without its marker, exactly as the two regexes would give it; None for
    a line they must see (one ending in `/` or `]` may hold an end marker)."""
    if line.rstrip().endswith(("/", "]")):
        return None
    i = 3 if line.startswith("/", 2) else 2  # `///?!?\s?`
    if line.startswith("!", i):
        i += 1
    if line[i : i + 1].isspace():
        i += 1
    return line[i:].rstrip()


def clean_comment(comments: list[str]) -> str:
    """Join comment nodes and strip their markers (`//`, `#`, `/** */`, `--`, `///`)."""
    lines: list[str] = []
    for comment in comments:
        for line in comment.splitlines():
            if line.startswith("//"):  # most doc lines: no regex needed
                cleaned = _slash_line(line)
                if cleaned is not None:
                    lines.append(cleaned)
                    continue
            line = _LINE_END.sub("", line)
            lines.append(_LINE_MARKER.sub("", line, count=1).rstrip())
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)[:_DOC_CAP]


def python_docstring(node: Node, source: bytes) -> str:
    """The docstring of a Python function or class node ("" when none)."""
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return ""
    first = body.named_children[0]
    if first.type != "expression_statement" or first.named_child_count != 1:
        return ""
    string = first.named_children[0]
    if string.type != "string":
        return ""
    parts = [c for c in string.named_children if c.type == "string_content"]
    raw = b"".join(source[c.start_byte : c.end_byte] for c in parts)
    return inspect.cleandoc(raw.decode("utf-8", "replace"))[:_DOC_CAP]
