"""The words of definitions' names, and how much of a name a query spells out.

A definition's name words are the parts of its own name (`Context.GetIntSlice` -> int,
slice), less stop words and bare numbers. `search_code` uses them three ways
(`tools.search`): a boost that orders a file's chunks by how much of their name the query
spells (`spelled_out`), the narrowing of a block hit to one member (`tools.search_narrow`),
and a retriever of the definitions whose every name word a sentence spells
(`name_matches`). What a query spells is its words and their inflections, with, for a
sentence or two, the stop words that are a name's content words where it says them
("before" for `before_request`) and its verbs as names say them ("creates" -> make, new:
`said_in_names`).
"""

from __future__ import annotations

import functools
import itertools
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from indexer.core import on_settle
from indexer.lexical import NUMBERED_PARTS_RE
from indexer.store import SearchTables

NAME_WORDS = 3  # a name spelled out counts its words up to this many (`spelled_out`)

# English stop words: left out of a query's searched words and of a name's words
STOP_WORDS = frozenset("""a about above after again against all also am an and any are as at be
because been before being below between both but by can could did do does doing down during
each else etc few for from further had has have having he her here hers him his how i if in
into is it its itself just let like may me might more most must my no nor not now of off on
once only or other our ours out over own please same she should so some such than that the
their them then there these they this those through to too under until up us very via was we
were what when where which while who whom why will with would you your yours e g ie eg get
gets got use used uses using want wants see seems seem way new make makes one two""".split())  # noqa: SIM905
# stop words of a query that are content words in a name (`Response.Before`, `New`, `MustGet`)
_NAME_CONTENT = frozenset("""before after new must make all any once only over under off up
down between each more most other same own out into again above below during until through
against few one two use why how what when where which who here there now then not no both
can will should do does did some such just than get has is""".split())  # noqa: SIM905
# a verb of a sentence and the words a name says it with ("Creates the formatter":
# `make_formatter`; "Register a rule": `add_url_rule`), for a query of a sentence or two
_NAME_SYNONYMS = {
    "create": ("make", "new", "build"), "creates": ("make", "new", "build"),
    "construct": ("make", "new", "build"), "constructs": ("make", "new", "build"),
    "check": ("is", "has"), "checks": ("is", "has"), "whether": ("is", "has"),
    "remove": ("delete", "del"), "removes": ("delete", "del"), "delete": ("remove", "del"),
    "deletes": ("remove", "del"), "add": ("register",), "adds": ("register",),
    "register": ("add",), "registers": ("add",),
}


def said_in_names(tokens: frozenset[str]) -> frozenset[str]:
    """What a sentence's words say of a name beyond `QueryPlan.spelled`: the stop words that
    are a name's content words (`_NAME_CONTENT`), and the words a name says its verbs with
    (`_NAME_SYNONYMS`)."""
    return (_NAME_CONTENT & tokens) | frozenset(
        w for t in tokens for w in _NAME_SYNONYMS.get(t, ()))


# what a sentence describes: a function's name says what it does; a class or an exception
# named with a question's words ("where is the retry logic for connection errors":
# `ConnectionError`, `RetryError`) is found by its words already, and is seldom the answer
_BEHAVIOUR = frozenset({"function", "method"})


def name_matches(tables: SearchTables, spelled: frozenset[str], limit: int,
                 prior: Callable[[str, str], float]) -> list[int]:
    """Chunks defining a function or method whose name of two words or more has every word
    in `spelled` ("returns the value associated with the key as a slice of int16 integers":
    `GetInt16Slice`), most words first, then by `prior(path, qualname)`: a definition whose
    own text says little of what it does (no docstring, a one-line body) is found by its
    name, not only ordered by it within its file once found. A count shared by more
    definitions than `limit` singles none of them out and is left out, with every lower
    count."""
    by_word = _names_by_word(tables)
    counts: dict[int, int] = {}
    for word in spelled:
        for j in by_word.rows_of(word):
            counts[j] = counts.get(j, 0) + 1
    cols = tables.symbols.columns
    found = []
    for j, n in counts.items():
        if n == len(name_words(cols.qual[j])):
            path = tables.files.get(cols.file[j], ("", None))[0]
            found.append((-n, -prior(path, cols.qual[j]), path, cols.start[j], j))
    found.sort()
    kept: list[tuple[Any, ...]] = []
    for _, group in itertools.groupby(found, key=lambda f: f[0]):
        more = list(group)
        if len(kept) + len(more) > limit:  # a count shared by more definitions than are
            break  # asked for singles none out (`refund_voucher_1` ... `_40`, "refund voucher")
        kept += more
    ids = (tables.chunk_at(cols.file[f[-1]], cols.start[f[-1]]) for f in kept)
    return list(dict.fromkeys(i for i in ids if i is not None))


_INDEX = "name words"  # the name index's key in a symbol table's `derived`


class _NameIndex:
    """Name word -> the rows of the functions and methods whose names of two words or more
    hold it (`rows_of`), as one array of rows grouped by word: built once per symbol table
    (the tables of a store generation share it while no file changed) and carried to the next
    generation's table (`updated`: about 1 ms more on a batch's table update), not built
    again on the first sentence query after every batch of edits (moby's 26k symbols: 11 ms
    with their words cached, 33 ms once the server had settled and forgotten them; docs/
    benchmarks.md "Forty-first session")."""

    __slots__ = ("_ids", "_rows", "_starts")

    def __init__(self, ids: dict[str, int], rows: array[int], starts: array[int]) -> None:
        """The rows of the word `w` are `rows[starts[ids[w]]:starts[ids[w] + 1]]`, ascending."""
        self._ids, self._rows, self._starts = ids, rows, starts

    @classmethod
    def build(cls, columns: Any) -> _NameIndex:
        by_word: dict[str, list[int]] = {}
        for j, words in _named_rows(columns, 0):
            for w in words:
                by_word.setdefault(w, []).append(j)
        ids: dict[str, int] = {}
        rows, starts = array("i"), array("i", [0])
        for w, found in by_word.items():
            ids[w] = len(ids)
            rows.extend(found)
            starts.append(len(rows))
        return cls(ids, rows, starts)

    def rows_of(self, word: str) -> Sequence[int]:
        i = self._ids.get(word)
        return () if i is None else self._rows[self._starts[i]:self._starts[i + 1]]

    def as_dict(self) -> dict[str, list[int]]:
        """Every word with rows, and its rows (tests compare a carried index with a built one)."""
        return {w: list(found) for w in self._ids if (found := self.rows_of(w))}

    def updated(self, old: Any, new: Any, cut: Sequence[tuple[int, int]]) -> _NameIndex:
        """This index for the rows `new` (`indexer.store.lookup.Derived`): the rows kept
        moved to where they are now, those in `cut` left out, the rows `new` adds after them
        read. A word no row holds any more keeps its id, with no rows, until such words are
        most of them; with every row cut (a table read whole) it is built again."""
        import numpy as np  # a server's update only (see `indexer.store.lookup.ChunkTable`)

        from indexer.core.arrays import kept_rows

        keep = kept_rows(len(old.file), cut)
        sizes: np.ndarray = np.diff(np.frombuffer(self._starts, dtype=np.int32))
        if not keep.any() or 2 * int(np.count_nonzero(sizes)) < len(sizes):
            return _NameIndex.build(new)  # all read again, or most words held by no name
        moved = np.cumsum(keep, dtype=np.int64) - 1  # an old row's position in `new`
        rows = np.frombuffer(self._rows, dtype=np.int32)
        word = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
        alive = keep[rows]
        ids = dict(self._ids)  # this index is still read by queries of the last generation
        added_word, added_row = [], []
        for j, said in _named_rows(new, int(keep.sum())):
            for w in said:
                added_word.append(ids.setdefault(w, len(ids)))
                added_row.append(j)
        of = np.concatenate([word[alive], np.asarray(added_word, dtype=np.int32)])
        at = np.concatenate([moved[rows[alive]], np.asarray(added_row, dtype=np.int64)])
        order = np.argsort(of, kind="stable")  # kept rows ascending, then the added ones
        starts = np.searchsorted(of[order], np.arange(len(ids) + 1)).astype(np.int32)
        return _NameIndex(ids, array("i", at[order].astype(np.int32).tobytes()),
                          array("i", starts.tobytes()))


def _named_rows(columns: Any, first: int) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(row, its name words) of the rows from `first` on that `_NameIndex` holds: functions
    and methods whose names have two words or more."""
    kinds, kind, quals = columns.kinds, columns.kind, columns.qual
    for j in range(first, len(quals)):
        if kinds[kind[j]] in _BEHAVIOUR:
            words = name_words(quals[j])
            if len(words) >= 2:
                yield j, words


def _names_by_word(tables: SearchTables) -> _NameIndex:
    """The name index of `tables`' symbols, built on first use (see `_NameIndex`)."""
    return tables.symbols.derive(_INDEX, _NameIndex, _NameIndex.build)


@functools.lru_cache(maxsize=1 << 16)
def name_words(qualname: str) -> tuple[str, ...]:
    """The words of a definition's own name (`Context.GetIntSlice` -> int, slice): parts
    of two letters or more, no bare numbers, no stop words (`get`, `is`); a number stays
    joined to the word before it (`ValueBinder.Int32s` -> int32), so that "bind to int32"
    tells `Int32` from its siblings `Int8` and `Int64`."""
    return tuple(dict.fromkeys(w for w in _own_parts(qualname) if len(w) > 1
                               and not w.isdigit() and w not in STOP_WORDS))


@functools.lru_cache(maxsize=1 << 16)
def _content_words(qualname: str) -> tuple[str, ...]:
    """The words of a definition's own name that `name_words` leaves out as stop words but
    that say what it does where a query says them too (`_NAME_CONTENT`: `Response.Before`,
    `before_app_request`, `is_bool_flag`)."""
    return tuple(dict.fromkeys(w for w in _own_parts(qualname) if w in _NAME_CONTENT))


def _own_parts(qualname: str) -> list[str]:
    """The lower-cased parts of a definition's own name, a number kept with the word it
    follows (`ValueBinder.MustInt32s` -> must, int32, s)."""
    return [p.lower() for p in NUMBERED_PARTS_RE.findall(qualname.rsplit(".", 1)[-1])]


on_settle(name_words.cache_clear)  # up to 64k entries each: a settled server forgets them
on_settle(_content_words.cache_clear)


def spelled_out(qualname: str, spelled: frozenset[str], owners: bool = False,
                project: str | None = None) -> float:
    """How much of a definition's name the query spells out: the share of its name words
    the query contains, times how many (up to 3): `build_response` for "Builds a response"
    (2) counts more than the class `Response` (1) the sentence mentions. A method's name is
    read with its class's or receiver's too where that spells more ("converts RecoverConfig
    to middleware": `RecoverConfig.ToMiddleware` 3 against `RecoverWithConfig` 2; "Add a new
    header to the set": `HeaderSet.add`), never less (a sentence rarely names the class),
    with `owners`: for a query of a sentence or two, not for a long text (an issue, a log),
    which says most words of any class somewhere.
    Only a two-part name is read so (a nested function's owner is the function around it,
    not a class), and the repository's own name (`project`) is no owner's word: "Flask" in
    a question about flask says nothing of which of `Flask`'s methods it is about."""
    words = name_words(qualname)
    said = [w for w in _content_words(qualname) if w in spelled]
    if said:  # counted where the query says them, never against a name where it does not
        words = (*words, *said)
    n = sum(w in spelled for w in words)
    own = n / len(words) * min(n, NAME_WORDS) if n else 0.0
    owned = _owner_words(qualname, project) if owners else ()
    if not owned:
        return own
    m = n + sum(w in spelled for w in owned)
    whole = len(words) + len(owned)
    return max(own, m / whole * min(m, NAME_WORDS)) if m > n else own


def names_all(qualname: str | None, spelled: frozenset[str]) -> bool:
    """Whether the query spells every word of a definition's own name of two words or more
    ("the general ledger" for `GeneralLedger`): a class it names whole may be what it asks
    about; one word ("the config" for `Config`) is too common to say so."""
    words = name_words(qualname) if qualname else ()
    return len(words) >= 2 and all(w in spelled for w in words)


@functools.lru_cache(maxsize=1 << 16)
def _owner_words(qualname: str, project: str | None) -> tuple[str, ...]:
    """The words a two-part name's owner adds to its own (`RecoverConfig.ToMiddleware` ->
    recover, config), less the repository's own name; () for a name of one part or of
    three or more (a nested function's owner is the function around it)."""
    owner, dot, _ = qualname.rpartition(".")
    if not dot or "." in owner:
        return ()
    words = name_words(qualname)
    return tuple(w for w in name_words(owner) if w != project and w not in words)


on_settle(_owner_words.cache_clear)


