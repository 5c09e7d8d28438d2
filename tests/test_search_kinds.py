"""Whether a query describes behaviour or a type, as the repository's own docstrings word
each (`tools.search_kinds`), and the kind priors of `search_code` scaled by it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from indexer.store import search_tables
from indexer.store.lookup import SymbolTable, _SymbolRows
from tests.mcp_helpers import live_over
from tools import search, search_kinds

FUNCTION_DOCS = ["Return the value stored under a key.", "Return the number of open files.",
                 "Create a session for the given user.", "Returns the parsed header value.",
                 "Create the default configuration file."]
TYPE_DOCS = ["Configuration for the retries a client makes.", "A queue of pending jobs.",
             "Configuration for the cookies a response sets.", "A parsed URL.",
             "Configuration for the proxy a client uses."]


def _rows(docs: list[tuple[str, str, str]], first: int = 1) -> _SymbolRows:
    rows, kinds = _SymbolRows(), {}
    for fid, (kind, name, doc) in enumerate(docs, first):
        rows.add((fid, name, name, kind, 1, 5, f"def {name}()", doc, 1), kinds)
    return rows


def _documented() -> list[tuple[str, str, str]]:
    return ([("function", f"f{i}", d) for i, d in enumerate(FUNCTION_DOCS)]
            + [("class", f"C{i}", d) for i, d in enumerate(TYPE_DOCS)]
            + [("variable", "v", "Configuration for nothing in particular here.")])


def test_a_sentence_is_read_against_the_first_words_of_functions_and_types() -> None:
    tables = SimpleNamespace(symbols=SymbolTable(_rows(_documented())))
    share = search_kinds.behaviour_share
    assert share(tables, "Return the timeout of a pool.") > 0.8  # type: ignore[arg-type]
    assert share(tables, "Configuration for the pool limits.") < 0.2  # type: ignore[arg-type]
    unknown = share(tables, "how is the pool size limited")  # type: ignore[arg-type]
    assert 0.3 < unknown < 0.7  # words neither says: no lean (equal priors)
    words = search_kinds.kind_words(tables)  # type: ignore[arg-type]
    assert words.documented == [5, 5]  # a variable's doc is neither
    # Go's doc comments start with the name they document
    assert search_kinds.first_words("Limits configures the pool. More.", "Limits") == (
        "configures", "the")


def test_without_documented_types_every_query_describes_behaviour() -> None:
    only = [("function", f"f{i}", d) for i, d in enumerate(FUNCTION_DOCS)]
    tables = SimpleNamespace(symbols=SymbolTable(_rows(only)))
    assert search_kinds.behaviour_share(tables, "A queue of jobs.") == 1.0  # type: ignore[arg-type]


def test_carried_counts_equal_counts_built_anew() -> None:
    """The next generation's table takes the counts along (`Derived.updated`): the rows of
    files gone taken out, the new rows counted in, equal to the counts of the new rows."""
    rows = _rows(_documented())
    built = search_kinds.KindWords.build(rows)
    fewer, cut = rows.updated([1, 6], [(20, "g", "g", "function", 1, 2, "", "Return a queue.", 1),
                                       (21, "Q", "Q", "struct", 1, 2, "", "Q is a queue.", 1)])
    carried = built.updated(rows, fewer, cut)
    anew = search_kinds.KindWords.build(fewer)
    assert (carried.behaviour, carried.types, carried.documented, carried.vocabulary) == (
        anew.behaviour, anew.types, anew.documented, anew.vocabulary)
    assert carried.documented == [5, 5] and carried.types["1:is"] == 1


TOPICS = ["retries", "cookies", "proxies", "redirects", "timeouts", "headers", "caches", "logs"]
MODULES = {f"pkg/m{i}.py": f'''def helper_{i}(x):
    """Return the {topic} of a request as a list."""
    return x


class Holder{i}:
    """Configuration for the {topic} a client keeps."""

    value = {i}
''' for i, topic in enumerate(TOPICS)}
# code about connections elsewhere, which a sentence about the pool's limits matches too
MODULES.update({f"pkg/net{i}.py": f'''def open_connections_{i}(max_connections, keepalive):
    connections = [object() for _ in range(max_connections)]
    return connections[:keepalive]
''' for i in range(4)})
# one file with a class and the function that makes it
MODULES["pkg/pool.py"] = '''class PoolLimits:
    max_connections: int = 10
    keepalive_connections: int = 5
    keepalive_expiry_seconds: float = 5.0
    retries_before_giving_up: int = 3
    backoff_factor_between_retries: float = 0.5


def pool_limits(size, alive):
    limits = PoolLimits()
    limits.retries_before_giving_up = int(size) + int(alive)
    return limits
'''


def test_a_sentence_describing_a_type_no_longer_puts_the_type_behind_the_function(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The class matches a sentence about it better than the function that makes it; the
    prior at full strength (every query read as behaviour, as before) put the function
    first in their file, the sentence read as describing a type puts the class first."""
    with live_over(tmp_path, MODULES) as ctx:
        tables = search_tables(ctx.index.store)

        def order(query: str) -> list[str | None]:
            hits = search.search_code(ctx, query, k=10, mode="lexical").results
            return [h.symbol for h in hits if h.path == "pkg/pool.py"]

        thing = "Configuration for the max connections and keepalive connections of a pool."
        action = "Return the max connections and keepalive connections of a pool."
        assert search_kinds.behaviour_share(tables, thing) < 0.5
        assert search_kinds.behaviour_share(tables, action) > 0.5
        assert order(thing)[0] == "PoolLimits"
        assert order(action)[0] == "pool_limits"
        with monkeypatch.context() as m:
            m.setattr(search, "behaviour_share", lambda tables, text: 1.0)
            assert order(thing)[0] == "pool_limits"
        data, head = search._kind_priors(tables, search.plan_query(thing), True)
        assert head == data > search.DATA_KIND_PRIOR  # scaled toward 1 for a type
        assert search._kind_priors(tables, search.plan_query("pool_limits"), True) == (1.0, 1.0)
