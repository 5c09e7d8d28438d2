"""What carries signal in a long query (an issue report, a traceback, a log, pasted code).

A long text is mostly prose; the words that find the code are its identifiers, dotted
names, file paths, error lines, code blocks and stack-trace frames. `analyse` separates
them:

- **frames**: Python (`File "x/y.py", line 3, in fn`), Go (`pkg.(*T).Method(...)` followed by
  `/path/file.go:12`) and JavaScript/Java (`at Type.fn (path/file.js:1:2)`) stack frames,
  innermost first, each a (path, function) pair;
- **signal**: the title line, identifiers (snake, camel, dotted, calls, backticks), error
  lines (`ValueError: ...`, `panic: ...`, `error: ...`) and code blocks (fenced or indented);
- **prose**: the rest.

`weighted_terms` turns that into BM25 terms (`token^w`): signal words weigh 1, prose words
`PROSE_WEIGHT`, so the prose of a report ranks what its identifiers leave tied instead of
drowning them. `dense_text` is what the embedder sees of a long query: the title, the
frames, the error lines and the sentences densest in identifiers, up to `DENSE_WORDS` words,
instead of the first window of the text (usually its preamble).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

PROSE_WEIGHT = 0.5  # a prose word of a long query against a signal word (1.0)
DENSE_WORDS = 180  # about the embedder's window (256 word pieces)

_PY_FRAME = re.compile(r'File "([^"]+)", line \d+, in ([\w<>]+)')
_GO_FUNC = re.compile(r"^\s*(?:[\w.-]+/)*[\w.-]+?\.(?:\(\*?(\w+)\)\.)?(\w+)\(.*\)\s*$")
_GO_FILE = re.compile(r"^\s+(\S+\.go):\d+")
_AT_FRAME = re.compile(r"^\s*at (?:async )?([\w$.<>]+) \(?([^()\s]+?\.\w+):\d+(?::\d+)?\)?\s*$")
_ERROR_LINE = re.compile(
    r"^\s*(?:[\w.]*(?:Error|Exception|Warning|Exit|Interrupt)\b.*|panic: .*|(?:fatal )?error: .*"
    r"|E\s{2,}.*)$", re.IGNORECASE)
_TRACE_LINE = re.compile(r"^\s*(Traceback \(most recent|File \"[^\"]+\", line \d+|goroutine \d+ \[)"
                         r"|^\s*at \S+ \(|^\s+\S+\.go:\d+")
_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|$)", re.DOTALL)
_CODE_LINE = re.compile(r"^(?: {4}|\t|>>> |\$ |\.\.\. )")
_CODE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|[A-Za-z0-9]*_\w*"
                        r"|[a-z]+[A-Z]\w*|[A-Z]{2,}[a-z]\w*|[A-Z][a-z0-9]+[A-Z]\w*")
_BACKTICK = re.compile(r"`([^`\n]{1,120})`")
_CALL = re.compile(r"[A-Za-z_][\w.]*\(")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


@dataclass(frozen=True, slots=True)
class Frame:
    path: str
    function: str


@dataclass(frozen=True, slots=True)
class Salience:
    frames: tuple[Frame, ...]  # innermost first
    signal: str  # title, error lines, code, frame functions, identifiers
    prose: str
    errors: tuple[str, ...]


def frames(text: str) -> list[Frame]:
    """Stack-trace frames of `text`, innermost first (Python prints outermost first; Go,
    JavaScript and Java innermost first)."""
    py = [Frame(p, fn) for p, fn in _PY_FRAME.findall(text)][::-1]
    other: list[Frame] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _AT_FRAME.match(line)
        if m:
            other.append(Frame(m.group(2), m.group(1).rsplit(".", 1)[-1]))
            continue
        g = _GO_FUNC.match(line)
        f = _GO_FILE.match(lines[i + 1]) if g and i + 1 < len(lines) else None
        if g and f:
            other.append(Frame(f.group(1), g.group(2)))
    return [f for f in py + other if not f.function.startswith("<")]


def _code_lines(text: str) -> tuple[list[str], str]:
    """(code lines: fenced blocks and indented or prompt lines, the text without them)."""
    code = [ln for block in _FENCE.findall(text) for ln in block.splitlines()]
    rest: list[str] = []
    for line in _FENCE.sub("\n", text).splitlines():
        (code if _CODE_LINE.match(line) else rest).append(line)
    return code, "\n".join(rest)


def analyse(text: str) -> Salience:
    """Split a query into what carries signal and the prose around it."""
    found = frames(text)
    code, rest = _code_lines(text)
    code = [ln for ln in code if not _TRACE_LINE.match(ln)]
    lines = rest.splitlines()
    title = next((ln for ln in lines if ln.strip()), "")
    errors = [ln.strip() for ln in [*lines, *code] if _ERROR_LINE.match(ln)]
    prose_lines = [ln for ln in lines if ln is not title and not _ERROR_LINE.match(ln)
                   and not _TRACE_LINE.match(ln)]
    prose = "\n".join(prose_lines)
    marked = [*_BACKTICK.findall(prose), *(c[:-1] for c in _CALL.findall(prose)),
              *_CODE_WORD.findall(prose)]
    where = [f"{f.function} {'/'.join(f.path.split('/')[-2:]).rsplit('.', 1)[0]}"
             for f in found]
    signal = "\n".join([title, *errors, *where, *code, *marked])
    return Salience(tuple(found), signal, prose, tuple(errors))


def weighted_terms(text: str, tokens: Callable[[str], list[str]], limit: int,
                   prose_weight: float = PROSE_WEIGHT) -> list[tuple[str, float]]:
    """BM25 terms of a long query with their weights: signal tokens first (weight 1), then
    prose tokens by how often the text repeats them (weight `prose_weight`), `limit` in all."""
    s = analyse(text)
    signal = list(dict.fromkeys(tokens(s.signal)))[:limit]
    seen = set(signal)
    prose = Counter(t for t in tokens(s.prose) if t not in seen)
    ranked = sorted(prose, key=lambda t: -prose[t])[:max(0, limit - len(signal))]
    return [(t, 1.0) for t in signal] + [(t, prose_weight) for t in ranked]


def _density(sentence: str) -> float:
    words = sentence.split()
    if not words:
        return 0.0
    code = len(_CODE_WORD.findall(sentence)) + len(_BACKTICK.findall(sentence))
    return code / math.sqrt(len(words))


def dense_text(text: str, words: int = DENSE_WORDS) -> str:
    """What the embedder sees of a long query: title, frames, error lines, then the
    sentences densest in identifiers, in their original order, within `words` words."""
    if len(text.split()) <= words:
        return text
    s = analyse(text)
    head = [next((ln.strip() for ln in text.splitlines() if ln.strip()), "")]
    head += [f"{f.function} in {f.path}" for f in s.frames[:5]] + list(s.errors[:3])
    budget = words - sum(len(h.split()) for h in head)
    sentences = [x.strip() for x in _SENTENCE.split(s.prose) if x.strip()]
    order = sorted(range(len(sentences)), key=lambda i: (-_density(sentences[i]), i))
    keep: set[int] = set()
    for i in order:
        n = len(sentences[i].split())
        if n <= budget:
            keep.add(i)
            budget -= n
    return "\n".join([*head, *(sentences[i] for i in sorted(keep))])


def names_file(path: str, mentioned: str) -> bool:
    """Whether a path the query mentions (`app.py`, `src/flask/app.py`, or a frame's absolute
    `/usr/lib/python3/site-packages/flask/app.py`) is the repository file `path`: their
    last components agree, two of them at least when both have two."""
    want = [p for p in mentioned.replace("\\", "/").split("/") if p not in ("", ".")]
    have = path.split("/")
    n = min(len(want), len(have), 2)
    if n == 0 or want[-n:] != have[-n:]:
        return False
    return len(want) <= len(have) or n >= 2 or len(have) == 1
