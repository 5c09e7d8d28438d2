"""Whether a query reads like the repository's docstrings of functions or of its types.

`search_code` holds a file's types, constants and class heads behind its functions when a
query describes behaviour (`tools.search`'s kind priors, x0.5 within the file): the
docstring -> function sets gain from it. But a sentence can describe a thing as well as an
action ("Configuration for limits on the connections a pool keeps", "holds the options of a
build"), and then the type is the answer. Every repository says which is which in its own
docstrings: the first words of its functions' docstrings ("Return ...", "Creates ...",
"reports whether ...") and of its types' ("A ...", "Configuration for ...", "is the
interface that ..."). `behaviour_share` reads a query's first two words against both (naive
Bayes over the documented definitions' first two words, a Go doc comment's leading name
dropped, add-one smoothing, equal priors) and says how likely it is to describe behaviour;
the kind priors are scaled by it (`tools.search._rank`).

Measured in docs/evals.md ("Forty-ninth session: types asked by their docstrings"): the
docstring -> type sets' MRR@10 on tuning 0.269 -> 0.328 (five sets), held-out 0.195 ->
0.255; docstring -> function's tuning 0.528 -> 0.526, held-out 0.564 -> 0.559.

The counts are derived once per symbol table and carried to the next generation's table
(`indexer.store.lookup.Derived`): the rows cut taken out, the rows added counted in.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from indexer.store import SearchTables

BEHAVIOUR_KINDS = frozenset({"function", "method"})
TYPE_KINDS = frozenset({"class", "struct", "type", "interface", "enum"})
_KEY = "kind words"  # the counts' key in a symbol table's `derived`
_WORD = re.compile(r"[a-z]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def first_words(text: str, name: str | None = None) -> tuple[str, str]:
    """The first two words of `text`'s first sentence, lower-cased letters only, a leading
    `name` dropped (Go's "Render writes ..."); "" for a word it lacks."""
    sentence = _SENTENCE_END.split(" ".join(text.split()[:40]), maxsplit=1)[0]
    words = _WORD.findall(sentence.lower())
    if name and words and words[0] == name.lower():
        words = words[1:]
    return (words[0] if words else "", words[1] if len(words) > 1 else "")


def _features(words: tuple[str, str]) -> tuple[str, str]:
    return f"1:{words[0]}", f"2:{words[1]}"


class KindWords:
    """The first two words of each documented function or method and of each documented
    type, counted (`behaviour_share`)."""

    __slots__ = ("behaviour", "documented", "types", "vocabulary")

    def __init__(self) -> None:
        self.behaviour: Counter[str] = Counter()
        self.types: Counter[str] = Counter()
        self.documented = [0, 0]  # functions and methods, types
        self.vocabulary = 1  # the distinct first and second words of both, plus one

    @classmethod
    def build(cls, columns: Any) -> KindWords:
        out = cls()
        out._count(columns, range(len(columns.qual)), 1)
        return out._settled()

    def _settled(self) -> KindWords:
        self.behaviour, self.types = +self.behaviour, +self.types  # no word counted 0 times
        self.vocabulary = len(self.behaviour.keys() | self.types.keys()) + 1
        return self

    def _count(self, columns: Any, rows: Iterator[int] | range, sign: int) -> None:
        kinds, kind, docs, names = columns.kinds, columns.kind, columns.doc, columns.name
        for j in rows:
            k = kinds[kind[j]]
            behaviour = k in BEHAVIOUR_KINDS
            if not (behaviour or k in TYPE_KINDS):
                continue
            doc = docs[j]
            if not doc:
                continue
            counts = self.behaviour if behaviour else self.types
            for f in _features(first_words(doc, names[j])):
                counts[f] += sign
            self.documented[0 if behaviour else 1] += sign

    def updated(self, old: Any, new: Any, cut: Sequence[tuple[int, int]]) -> KindWords:
        """These counts for the rows `new` (`indexer.store.lookup.Derived`): the rows `cut`
        of `old` taken out, the rows `new` adds after the kept ones counted in."""
        out = KindWords()
        out.behaviour, out.types = Counter(self.behaviour), Counter(self.types)
        out.documented = list(self.documented)
        for lo, hi in cut:
            out._count(old, range(lo, hi), -1)
        kept = len(old.qual) - sum(hi - lo for lo, hi in cut)
        out._count(new, range(kept, len(new.qual)), 1)
        return out._settled()

    def share(self, text: str) -> float:
        """How likely `text` describes behaviour rather than a type, 0-1; 1 when the
        repository documents no function or no type (nothing to tell them apart by)."""
        functions, types = self.documented
        if functions <= 0 or types <= 0:
            return 1.0
        vocabulary = self.vocabulary
        logit = 0.0  # equal priors: functions outnumber types in every repository
        for f in _features(first_words(text)):
            p_behaviour = (self.behaviour[f] + 1) / (functions + vocabulary)
            p_type = (self.types[f] + 1) / (types + vocabulary)
            logit += math.log(p_behaviour / p_type)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


def kind_words(tables: SearchTables) -> KindWords:
    """The counts of `tables`' symbols, derived on first use (see `KindWords`)."""
    return tables.symbols.derive(_KEY, KindWords, KindWords.build)


def behaviour_share(tables: SearchTables, text: str) -> float:
    """How likely `text` describes behaviour (a function) rather than a thing (a type), as
    this repository's docstrings word them (see the module docstring)."""
    return kind_words(tables).share(text)
