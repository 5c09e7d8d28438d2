"""Docstring -> function (CodeSearchNet style), on a copy of a repository.

Documented functions are sampled (seeded), their docstrings are removed from a copy of the
tree (Python: the docstring statement, replaced by `pass` when it was the whole body; Go:
the comment block right above `func`), and the first sentence of each docstring becomes
the query. Gold is the function's line span in the stripped copy. A Go doc comment starts
with the function's name by convention; that leading name is dropped from the query, or
every Go query would be an exact-name lookup.

`kind="type"` builds the same set from documented types instead (docstring -> type): Python
classes (gold: the class's head, from its first decorator or `class` line to the line before
its first method, the whole class when it has none) and Go `type` declarations (gold: the
declaration, to its closing brace). The function set never asks for a type, so a ranking
choice that holds types back (`tools.search`'s kind priors) can only gain there; this set
is where it can lose.
"""

from __future__ import annotations

import ast
import random
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evals.sets import Query, is_source
from tools.retrieval_metrics import Span

MIN_WORDS = 4
MAX_WORDS = 40


@dataclass(frozen=True, slots=True)
class Documented:
    """A documented function in the original tree."""

    path: str
    qualname: str
    name: str
    sentence: str
    remove: tuple[int, int]  # 1-based inclusive lines to delete
    needs_pass: bool  # the docstring was the whole body (Python)
    indent: str
    occurrence: int = 0  # which of its file's definitions of `qualname` (a property's
    # getter, setter and deleter share one): the gold is this one, not the last


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, whitespace collapsed."""
    para = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0]
    para = " ".join(para.split())
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z(`\"'])", para)
    sentence = para[:match.start()] if match else para
    return " ".join(sentence.split()[:MAX_WORDS])


def _words_ok(sentence: str) -> bool:
    return len(re.findall(r"[A-Za-z]{2,}", sentence)) >= MIN_WORDS


# -- Python ----------------------------------------------------------------------------------

_Function = ast.FunctionDef | ast.AsyncFunctionDef
_Documentable = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _python_definitions(tree: ast.AST) -> list[tuple[str, _Documentable]]:
    """(qualified name, definition) of every function and class, in file order."""
    out: list[tuple[str, _Documentable]] = []

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{scope}.{child.name}" if scope else child.name
                out.append((qual, child))
                visit(child, qual)
    visit(tree, "")
    return out


def _python_functions(tree: ast.AST) -> list[tuple[str, int, _Function]]:
    """(qualified name, occurrence, definition) in file order; the occurrence tells apart
    definitions sharing a name (a property's getter 0, its setter 1, its deleter 2)."""
    out: list[tuple[str, int, _Function]] = []
    seen: Counter[str] = Counter()
    for qual, node in _python_definitions(tree):
        if not isinstance(node, ast.ClassDef):
            out.append((qual, seen[qual], node))
            seen[qual] += 1
    return out


def _python_documented(path: str, source: str,
                       definitions: Callable[[ast.AST], list[tuple[str, int, _Documentable]]]
                       ) -> list[Documented]:
    """The `definitions` of a module whose docstring stands on lines of its own (not on the
    `def` or `class` line, its closing quotes ending a line) and says enough."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    out: list[Documented] = []
    for qual, occurrence, node in definitions(tree):
        doc = ast.get_docstring(node, clean=True)
        first = node.body[0]
        end = first.end_lineno or first.lineno
        if (not doc or first.lineno == node.lineno
                or lines[end - 1].rstrip()[-3:] not in ('"""', "'''")):
            continue  # one-line def or a docstring sharing its line with other code
        sentence = first_sentence(doc)
        if _words_ok(sentence):
            indent = lines[first.lineno - 1][:first.col_offset]
            out.append(Documented(path, qual, node.name, sentence, (first.lineno, end),
                                  len(node.body) == 1, indent, occurrence))
    return out


def python_documented(path: str, source: str) -> list[Documented]:
    return _python_documented(path, source, lambda tree: [
        (qual, occurrence, fn) for qual, occurrence, fn in _python_functions(tree)
        if not fn.name.startswith("__")])


def python_gold(path: str, source: str, qualnames: set[str]) -> dict[tuple[str, int], Span]:
    """The span of each definition named in `qualnames`, by name and occurrence (the first
    of a name is 0): stripping docstrings keeps the definitions and their order."""
    spans: dict[tuple[str, int], Span] = {}
    for qual, occurrence, fn in _python_functions(ast.parse(source)):
        if qual in qualnames:
            start = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
            spans[qual, occurrence] = Span(path, start, fn.end_lineno or fn.lineno)
    return spans


def _python_classes(tree: ast.AST) -> list[tuple[str, ast.ClassDef]]:
    """(qualified name, definition) of every class, in file order."""
    return [(qual, node) for qual, node in _python_definitions(tree)
            if isinstance(node, ast.ClassDef)]


def python_documented_types(path: str, source: str) -> list[Documented]:
    return _python_documented(path, source, lambda tree: [
        (qual, 0, cls) for qual, cls in _python_classes(tree)])


WHOLE_CLASS_TOKENS = 384  # a class this small is one chunk (the chunker's `max_tokens`)


def python_type_gold(path: str, source: str, qualnames: set[str]
                     ) -> dict[tuple[str, int], Span]:
    """Each named class as an answer shows it: the whole class when it is small enough to be
    one chunk (`WHOLE_CLASS_TOKENS`) or has no method; else its head, from its first
    decorator or `class` line to the line before its first method."""
    from indexer.chunk.context import estimate_tokens

    lines = source.splitlines()
    spans: dict[tuple[str, int], Span] = {}
    for qual, cls in _python_classes(ast.parse(source)):
        if qual in qualnames and (qual, 0) not in spans:
            start = min([cls.lineno, *(d.lineno for d in cls.decorator_list)])
            end = cls.end_lineno or cls.lineno
            methods = [min([f.lineno, *(d.lineno for d in f.decorator_list)])
                       for f in cls.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
            text = "\n".join(lines[start - 1:end]).encode()
            if methods and estimate_tokens(text) > WHOLE_CLASS_TOKENS:
                end = max(start, methods[0] - 1)
            spans[qual, 0] = Span(path, start, end)
    return spans


# -- Go --------------------------------------------------------------------------------------

_GO_FUNC = re.compile(r"^func (?:\(\s*\w*\s*\*?(?P<recv>\w+)[^)]*\)\s*)?(?P<name>\w+)")


_GO_TYPE = re.compile(r"^type (?P<name>\w+)\b(?!\s*=)")


def _go_documented(path: str, source: str, declaration: re.Pattern[str],
                   qual_of: Callable[[re.Match[str]], str]) -> list[Documented]:
    """The lines matching `declaration` right under a comment block that says enough (its
    leading name dropped: Go's doc comments start with the name they document)."""
    lines = source.splitlines()
    out: list[Documented] = []
    for i, line in enumerate(lines):
        m = declaration.match(line)
        if not m or i == 0 or not lines[i - 1].startswith("//"):
            continue
        j = i
        while j > 0 and lines[j - 1].startswith("//"):
            j -= 1
        text = " ".join(ln[2:].strip() for ln in lines[j:i])
        name = m.group("name")
        if text.split(" ", 1)[0] == name:
            text = text.split(" ", 1)[1] if " " in text else ""
        sentence = first_sentence(text)
        if _words_ok(sentence) and not text.lower().startswith("deprecated"):
            out.append(Documented(path, qual_of(m), name, sentence, (j + 1, i), False, ""))
    return out


def go_documented(path: str, source: str) -> list[Documented]:
    return _go_documented(path, source, _GO_FUNC, lambda m: (
        f"{m.group('recv')}.{m.group('name')}" if m.group("recv") else m.group("name")))


def go_documented_types(path: str, source: str) -> list[Documented]:
    return _go_documented(path, source, _GO_TYPE, lambda m: m.group("name"))


def go_type_gold(path: str, source: str, qualnames: set[str]) -> dict[tuple[str, int], Span]:
    """Each named type's declaration, to its closing brace when it opens one."""
    lines = source.splitlines()
    spans: dict[tuple[str, int], Span] = {}
    for i, line in enumerate(lines):
        m = _GO_TYPE.match(line)
        if not m or m.group("name") not in qualnames or (m.group("name"), 0) in spans:
            continue
        end = i
        if line.rstrip().endswith("{"):
            end = next((k for k in range(i, len(lines)) if lines[k] == "}"), i)
        spans[m.group("name"), 0] = Span(path, i + 1, end + 1)
    return spans


def go_gold(path: str, source: str, qualnames: set[str]) -> dict[tuple[str, int], Span]:
    lines = source.splitlines()
    spans: dict[tuple[str, int], Span] = {}
    for i, line in enumerate(lines):
        m = _GO_FUNC.match(line)
        if not m:
            continue
        qual = f"{m.group('recv')}.{m.group('name')}" if m.group("recv") else m.group("name")
        if qual in qualnames and (qual, 0) not in spans:
            end = next((k for k in range(i, len(lines)) if lines[k] == "}"), i)
            spans[qual, 0] = Span(path, i + 1, end + 1)
    return spans


# -- the set ---------------------------------------------------------------------------------

def collect(root: Path, languages: tuple[str, ...], kind: str = "function") -> list[Documented]:
    python, go = ((python_documented, go_documented) if kind == "function"
                  else (python_documented_types, go_documented_types))
    found: list[Documented] = []
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root).as_posix()
        if not file.is_file() or not is_source(rel) or "/." in f"/{rel}":
            continue
        if file.suffix == ".py" and "python" in languages:
            found.extend(python(rel, file.read_text(errors="replace")))
        elif file.suffix == ".go" and "go" in languages:
            found.extend(go(rel, file.read_text(errors="replace")))
    counts = Counter(d.sentence.lower() for d in found)
    return [d for d in found if counts[d.sentence.lower()] == 1]


def strip_source(source: str, chosen: list[Documented]) -> str:
    lines = source.splitlines(keepends=True)
    for d in sorted(chosen, key=lambda d: -d.remove[0]):
        start, end = d.remove
        lines[start - 1:end] = [f"{d.indent}pass\n"] if d.needs_pass else []
    return "".join(lines)


def build(source_root: Path, dest: Path, n: int, seed: int, name: str,
          languages: tuple[str, ...] = ("python", "go"), kind: str = "function") -> list[Query]:
    """Copy `source_root` to `dest`, strip `n` sampled docstrings there (of functions, or of
    types with `kind="type"`), return the queries."""
    pool = collect(source_root, languages, kind)
    chosen = random.Random(seed).sample(pool, min(n, len(pool)))
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source_root, dest, symlinks=True)
    by_file: dict[str, list[Documented]] = defaultdict(list)
    for d in chosen:
        by_file[d.path].append(d)
    queries: list[Query] = []
    for rel, docs in sorted(by_file.items()):
        stripped = strip_source((source_root / rel).read_text(errors="replace"), docs)
        (dest / rel).write_text(stripped)
        if kind == "function":
            gold_of = python_gold if rel.endswith(".py") else go_gold
        else:
            gold_of = python_type_gold if rel.endswith(".py") else go_type_gold
        spans = gold_of(rel, stripped, {d.qualname for d in docs})
        named = Counter(d.qualname for d in docs)
        queries.extend(Query(f"{name}:{rel}:{d.qualname}"
                             + (f"#{d.occurrence}" if named[d.qualname] > 1 else ""),
                             d.sentence, [spans[d.qualname, d.occurrence]],
                             {"qualname": d.qualname})
                       for d in docs if (d.qualname, d.occurrence) in spans)
    return sorted(queries, key=lambda q: q.qid)
