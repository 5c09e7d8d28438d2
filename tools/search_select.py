"""Which ranked chunks become hits (`tools.search`): the best k, one hit per definition,
no overlaps, at most `PER_FILE` from one file before the rest.

The pieces of one definition (a class split into head pieces, windows of a long function)
collapse into the best-ranked one. Definitions that share a name each keep a hit: a
property's getter and setter, or Java's overloads, are different code, and a question may
describe either (one hit per name showed only the better-scored, so a setter hid the getter
a sentence described). A Python overload stub (`@overload`, `@typing.overload`) stands for
the implementation that follows its stubs: BM25 favours the short stub, which says nothing
of what the function does, and the implementation of the same name was never shown. So does
a TypeScript overload signature, or a C or C++ prototype (a declaration without a body), for
the implementation of the same name after it. Stubs are looked for only among short chunks
of those languages whose name their file defines twice (their text is read for that:
`SearchTables` has no decorators). A selection reads a file's definitions only for a symbol
it meets twice or such a chunk.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from indexer.store import SearchTables

PER_FILE = 5  # most hits from one file among the first k (the rest follow)
Texts = Callable[[list[int]], dict[int, str]]  # chunk ids -> their texts (`Store.chunk_texts`)
STUB_LINES = 12  # an overload stub's chunk is shorter (its decorator, a long signature, `...`)
_OVERLOAD = re.compile(r"^[ \t]*@(?:[\w.]+\.)?overload[ \t]*(?:#.*)?$", re.MULTILINE)
_STUB_LANGUAGES = frozenset({"python", "typescript", "tsx", "c", "cpp"})


def is_stub(text: str, language: str | None) -> bool:
    """Whether a chunk's text is an overload stub: in Python a definition decorated
    `@overload`; in TypeScript a signature without a body, in C and C++ a prototype (its
    last line of code does not close a body)."""
    if language == "python":
        return _OVERLOAD.search(text) is not None
    lines = [ln.strip() for ln in text.splitlines()]
    code = [ln for ln in lines if ln and not ln.startswith(("//", "/*", "*"))]
    return bool(code) and not code[-1].rstrip(";").endswith("}")


class Ranked(Protocol):
    """A ranked chunk: its id and (id, path, start, end, symbol, kind, language)."""

    cid: int
    meta: tuple[Any, ...]


R = TypeVar("R", bound=Ranked)


class _Definitions:
    """The definitions of the symbols a selection meets (`SearchTables.members`, read for a
    symbol met twice or a chunk short enough to be an overload stub), and which of them are
    overload stubs (their chunks' text)."""

    def __init__(self, tables: SearchTables, texts: Texts | None) -> None:
        self.tables, self.texts = tables, texts
        self._files: dict[str, dict[str, list[tuple[int, int]]]] = {}

    def spans(self, path: str, symbol: str) -> list[tuple[int, int]]:
        by_name = self._files.get(path)
        if by_name is None:  # each file's definitions read once per selection
            by_name = self._files[path] = {}
            for qual, _, start, end in self.tables.members.get(
                    self.tables.file_ids.get(path, -1), ()):
                by_name.setdefault(qual, []).append((start, end))
        return by_name.get(symbol, [])

    def of(self, path: str, symbol: str, line: int) -> int | None:
        """The first line of the definition of `symbol` that holds `line`."""
        return next((s for s, e in self.spans(path, symbol) if s <= line <= e), None)

    def implementation(self, r: R) -> R:
        """`r`, or when it is an overload stub, the chunk of the implementation that follows
        its stubs, in `r`'s place (a stub tells little of what the function does)."""
        _, path, start, end, symbol, _, language = r.meta
        if (self.texts is None or language not in _STUB_LANGUAGES or not symbol
                or end - start >= STUB_LINES or len(self.spans(path, symbol)) < 2):
            return r
        fid = self.tables.file_ids.get(path, -1)
        later = [s for s, _ in self.spans(path, symbol) if s > start]
        ids = [cid for cid in (r.cid, *(self.tables.chunk_at(fid, s) for s in later))
               if cid is not None]
        texts = self.texts(ids)
        if not is_stub(texts.get(r.cid, ""), language):
            return r
        impl = next((cid for cid in ids[1:] if cid in texts and not is_stub(texts[cid], language)),
                    None)
        chunk = self.tables.chunks.get(impl) if impl is not None else None
        if impl is None or chunk is None:
            return r  # stubs only (a `.pyi`-like module): show the stub
        _, lo, hi, sym, kind = chunk
        stands = copy.copy(r)
        stands.cid, stands.meta = impl, (impl, path, lo, hi, sym, kind, language)
        return stands


def select(tables: SearchTables, ranked: list[R], k: int, texts: Texts | None = None) -> list[R]:
    """Best k, one hit per definition (the pieces of a long one collapse into the best;
    definitions sharing a name, a property's getter and setter, each keep theirs, and an
    overload stub stands for its implementation when `texts` reads chunk texts), no
    overlaps, at most PER_FILE per file before the rest."""
    kept: list[R] = []
    later: list[R] = []
    definitions = _Definitions(tables, texts)
    shown: dict[tuple[str, str], list[int]] = {}  # last lines of the hits of each symbol
    per_file: dict[str, int] = {}
    for r in ranked:
        r = definitions.implementation(r)
        _, p, start, end, symbol, _, _ = r.meta
        if symbol and (p, symbol) in shown:  # a piece of a shown definition, or another one
            mine = definitions.of(p, symbol, end)
            if mine is None or mine in {definitions.of(p, symbol, line)
                                        for line in shown[(p, symbol)]}:
                continue
        if any(k2.meta[1] == p and start <= k2.meta[3] and k2.meta[2] <= end
               for k2 in kept + later):
            continue
        if symbol:
            shown.setdefault((p, symbol), []).append(end)
        if per_file.get(p, 0) >= PER_FILE:
            later.append(r)
            continue
        per_file[p] = per_file.get(p, 0) + 1
        kept.append(r)
        if len(kept) >= k:
            break
    return (kept + later)[:k]
