"""The name index after a batch of edits: carried to the next generation or built again.

    python -m evals.bench_name_index [--corpus moby] [--edits 12] [--out FILE]

A lexical index of the corpus is built in a temporary directory, its search tables loaded
and their name index (`tools.search_names._NameIndex`) built. Then, `--edits` times, one Go
or Python file gets a new function appended and is re-indexed (`apply_resolved`, not
measured), and the next generation's search tables are loaded from the last ones twice,
alternating which goes first: once with the last table's name index to carry
(`SymbolTable.derived`) and once without. Reported: the two loads, the first sentence
query's wait for the index on the carried table, and a build of the index from that table's
rows, with the name-word cache warm (a server between two settles) and emptied (a server
that settled). Each carried index is checked equal to the one built. The kind counts
(`tools.search_kinds.KindWords`, carried the same way) are timed and checked alike: their
wait on the carried table and a build from its rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from evals.bench_index import extract

_T = TypeVar("_T")


def _ms(xs: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(xs) * 1000, 2),
            "min_ms": round(min(xs) * 1000, 2), "max_ms": round(max(xs) * 1000, 2)}


def _timed(into: list[float], call: Callable[[Any], _T], arg: Any) -> _T:
    """`call(arg)`, its seconds appended to `into`."""
    began = time.perf_counter()
    out = call(arg)
    into.append(time.perf_counter() - began)
    return out


def run(corpus: str, edits: int) -> dict[str, Any]:
    from indexer.build import apply_resolved, index_repository
    from indexer.build.pipeline import IndexOptions
    from indexer.disk import IndexPaths, RepoIndex
    from indexer.store import lookup
    from tools import search_kinds, search_names

    times: dict[str, list[float]] = {"carried": [], "not carried": [], "query": [], "built": [],
                                     "built cold": [], "kinds query": [], "kinds built": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = extract(corpus, Path(tmp) / "src")
        with RepoIndex(IndexPaths.for_repo(root, Path(tmp) / "index")) as index:
            index_repository(index)
            store = index.store
            tables = lookup.build_search_tables(store, (store.generation, None), None)
            search_names._names_by_word(tables)
            search_kinds.kind_words(tables)
            target = next(p for p in sorted(tables.file_ids) if p.endswith((".go", ".py")))
            for i in range(edits):
                path = root / target
                line = (f"\nfunc frobnicateWidget{i}() {{}}\n" if target.endswith(".go")
                        else f"\n\ndef frobnicate_widget_{i}():\n    pass\n")
                path.write_text(path.read_text() + line)
                apply_resolved(index, [target], set(), IndexOptions())
                key = (store.generation, None)
                symbols, index_of_last = tables.symbols, tables.symbols.derived
                new = tables
                for carry in ((True, False) if i % 2 else (False, True)):
                    symbols.derived = dict(index_of_last) if carry else {}
                    began = time.perf_counter()
                    made = lookup.build_search_tables(store, key, tables)
                    times["carried" if carry else "not carried"].append(
                        time.perf_counter() - began)
                    if carry:
                        new = made
                symbols.derived = index_of_last
                carried = _timed(times["query"], search_names._names_by_word, new)
                built = _timed(times["built"], search_names._NameIndex.build, new.symbols.columns)
                search_names.name_words.cache_clear()  # as a server that settled has it
                _timed(times["built cold"], search_names._NameIndex.build, new.symbols.columns)
                if carried.as_dict() != built.as_dict():
                    raise AssertionError(f"edit {i}: the carried index differs from one built")
                counts = _timed(times["kinds query"], search_kinds.kind_words, new)
                anew = _timed(times["kinds built"], search_kinds.KindWords.build,
                              new.symbols.columns)
                if (counts.behaviour, counts.types, counts.documented) != (
                        anew.behaviour, anew.types, anew.documented):
                    raise AssertionError(f"edit {i}: the carried kind counts differ from built")
                tables = new
            symbols_n = len(tables.symbols.columns.qual)
    return {"corpus": corpus, "symbols": symbols_n, "edits": edits, "file": target,
            "tables_update_index_carried": _ms(times["carried"]),
            "tables_update_no_index": _ms(times["not carried"]),
            "first_sentence_query_wait": _ms(times["query"]),
            "index_built_anew": _ms(times["built"]),
            "index_built_anew_name_words_not_cached": _ms(times["built cold"]),
            "first_sentence_query_wait_kind_counts": _ms(times["kinds query"]),
            "kind_counts_built_anew": _ms(times["kinds built"]),
            "machine": platform.node()}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m evals.bench_name_index",
                                description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="moby")
    p.add_argument("--edits", type=int, default=12)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    result = run(args.corpus, args.edits)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
