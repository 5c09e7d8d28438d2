"""A definition whose name the query spells out ranks above neighbours in its file that only
repeat the query's other words (`tools.search.NAME_BOOST`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.disk.repo import RepoIndex
from indexer.store import search_tables
from tests.mcp_helpers import live_over
from tools import search, search_names

NEIGHBOURS = ("defer_all", "run_pending", "on_first_run")
SOURCE = "".join(f'''
def {name}(request, hooks):
    """Prepares the given hooks lazily: the given hooks are prepared when the request
    first runs them, so preparing the given hooks costs nothing up front."""
    request.pending = list(hooks)

''' for name in NEIGHBOURS) + '''
def prepare_hooks(request, hooks):
    for event in hooks or []:
        request.register(event, hooks[event])
'''


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RepoIndex]:
    later = ('def run_later(request, hooks):\n    """Prepares the given hooks later."""\n'
             "    request.later = hooks\n")
    with live_over(tmp_path, {"hooks.py": SOURCE, "later.py": later}) as live:
        yield live.index


def _first(tmp_path: Path, files: dict[str, str], query: str, names: list[str]) -> str:
    """The symbol search ranks first among `names` of `files`, fused in that order."""
    with live_over(tmp_path, files) as live:
        return _ranked(live.index, query, {name: 1 / (61 + i) for i, name in enumerate(names)})[0]


def _ranked(index: RepoIndex, query: str, scores: dict[str, float]) -> list[str]:
    """Symbols in the order search ranks them when fusion gave them `scores`."""
    tables = search_tables(index.store)
    ids = {meta[3]: cid for cid, meta in tables.chunks.items() if meta[3]}
    fused = {ids[name]: search._Candidate(ids[name], score, ["lexical"])
             for name, score in scores.items()}
    ranked = search._rank(tables, fused, search.plan_query(query), None, None)
    return [r.meta[4] for r in ranked]


def test_the_function_a_sentence_names_overtakes_its_file_neighbours_fused_higher(
        index: RepoIndex) -> None:
    # the neighbours' docstrings repeat the query, so fusion puts them first, 1-3 places ahead
    scores = {name: 1 / (61 + i) for i, name in enumerate(NEIGHBOURS)}
    scores["prepare_hooks"] = 1 / (61 + len(NEIGHBOURS))
    assert _ranked(index, "prepares the given hooks", scores)[0] == "prepare_hooks"


def test_the_boost_never_decides_which_file_comes_first(index: RepoIndex) -> None:
    # commit -> files lost MRR@10 when it did (docs/evals.md, "Name words")
    scores = {"run_later": 1 / 50, "defer_all": 1 / 62, "prepare_hooks": 1 / 63}
    assert _ranked(index, "prepares the given hooks", scores) == [
        "run_later", "prepare_hooks", "defer_all"]


def test_a_name_the_query_does_not_spell_out_keeps_its_fused_place(index: RepoIndex) -> None:
    scores = {"defer_all": 1 / 61, "prepare_hooks": 1 / 62}
    assert _ranked(index, "lazily run them later", scores) == ["defer_all", "prepare_hooks"]


def test_name_words_leave_out_stop_words_and_bare_numbers() -> None:
    assert search_names.name_words("Context.GetIntSlice") == ("int", "slice")
    assert search_names.name_words("prepare_hooks") == ("prepare", "hooks")
    assert search_names.name_words("get") == ()
    assert search_names.name_words("get_int_8") == ("int",)  # a number on its own is no word


def test_a_number_stays_with_the_word_it_follows_in_a_name() -> None:
    assert search_names.name_words("Context.GetInt16Slice") == ("int16", "slice")
    assert search_names.name_words("ValueBinder.MustInt32s") == ("int32",)
    assert search_names.name_words("HTTP2Server") == ("http2", "server")
    assert search_names.name_words("x86_64") == ("x86",)
    assert search_names.name_words("_urllib3_request_context") == ("urllib3", "request", "context")


def test_a_word_ending_in_a_number_spells_itself_not_its_letters() -> None:
    assert "int" not in search.plan_query("returns a slice of int32 integers").spelled
    assert {"int", "int32"} <= search.plan_query("the int and int32 values").spelled
    # letters and numbers inside an identifier still split as before
    assert "int" in search.plan_query("GetInt8Slice returns").spelled


GO_SIBLINGS = "package binder\n" + "".join(f"""
// Get{name}Slice returns the value associated with the key as a slice.
func (c *Context) Get{name}Slice(key string) (s []{kind}) {{
\tif val, ok := c.Get(key); ok && val != nil {{
\t\ts, _ = val.([]{kind})
\t}}
\treturn
}}
""" for name, kind in (("Int", "int"), ("Int8", "int8"), ("Int32", "int32"), ("Int16", "int16")))


def test_siblings_whose_names_differ_by_a_number_rank_the_one_the_sentence_names_first(
        tmp_path: Path) -> None:
    # gin's GetInt8Slice / GetInt16Slice, echo's Int32 / Int64: their name words were all
    # (int, slice), so the one asked for ranked where fusion put it (docs/evals.md,
    # "Thirty-seventh session")
    names = ["Context.GetIntSlice", "Context.GetInt8Slice", "Context.GetInt32Slice",
             "Context.GetInt16Slice"]
    query = "returns the value associated with the key as a slice of int16 integers"
    assert _first(tmp_path, {"context.go": GO_SIBLINGS}, query, names) == "Context.GetInt16Slice"


def test_a_longer_name_spelled_out_counts_more_than_a_class_the_sentence_mentions() -> None:
    plan = search.plan_query("Builds a Response object from a urllib3 response.")
    spelled = plan.words | frozenset(plan.variants)
    builder = search_names.spelled_out("HTTPAdapter.build_response", spelled)
    assert builder > search_names.spelled_out("Response", spelled) > 0.0
    assert search_names.spelled_out("HTTPAdapter.send", spelled) == 0.0



HOOKS = "".join(f'''
def {name}(app, f):
    """Register a function to run {when}."""
    for blueprint in app.blueprints_of(f):
        app.{name}_funcs.setdefault(blueprint, []).append(f)
    app.check_setup_finished("{name}", f.__name__, f.__module__)
    return f
''' for name, when in (("before_request", "before each request"),
                      ("after_request", "after each request to this object"),
                      ("teardown_request", "when the request context is popped")))


def test_a_stop_word_the_query_says_counts_in_a_name_that_says_it_too(tmp_path: Path) -> None:
    # "before" and "after" are stop words of a query, and they were left out of names too:
    # `before_request` and `after_request` both spelled (request), and fusion's order stood
    names = ["after_request", "teardown_request", "before_request"]
    query = "registers a function to run before every request"
    assert _first(tmp_path, {"scaffold.py": HOOKS}, query, names) == "before_request"


def test_a_name_stop_word_the_query_does_not_say_never_counts_against_the_name() -> None:
    spelled = search.plan_query("returns a middleware with the default config").spelled_names
    # `New` and `Must` say nothing here: the name counts as its other words alone
    assert search_names.spelled_out("NewConfig", spelled) == search_names.spelled_out("Config", spelled) > 0.0
    assert search_names.spelled_out("MustConfig", spelled) == search_names.spelled_out("Config", spelled)
    said = search.plan_query("creates a new default config").spelled_names
    assert search_names.spelled_out("NewConfig", said) > search_names.spelled_out("Config", said)
    # a path is matched by what the query spells as before: "new" names no directory
    assert "new" in said and "new" not in search.plan_query("creates a new config").spelled
    # a long text (an issue, a log) says most of them: its names count as they did
    long = search.plan_query("creates a new default config " * 10)
    assert long.long and long.spelled_names == long.spelled


FORMATTERS = """
class HelpFormatter:
    \"\"\"Formats help text for the help and usage output of a command.\"\"\"

    def __init__(self, indent_increment=2, width=None, max_width=None):
        self.indent_increment = indent_increment
        self.width = width or 78
        self.max_width = max_width or 80


def format_help(ctx, formatter):
    \"\"\"Writes the help into the formatter if it exists.\"\"\"
    formatter.write_usage(ctx.command_path, " ".join(ctx.pieces))
    formatter.write_paragraph()
    formatter.write_text(ctx.help)


def make_formatter(ctx):
    return HelpFormatter(width=ctx.terminal_width, max_width=ctx.max_content_width)
"""


def test_a_verb_of_the_sentence_spells_the_word_a_name_says_it_with(tmp_path: Path) -> None:
    # click's "Creates the HelpFormatter for the usage output": `make_formatter` spelled
    # half its name (formatter), as `HelpFormatter` did, fused ahead, until "creates" spelled
    # `make`
    names = ["format_help", "HelpFormatter", "make_formatter"]
    query = "Creates the formatter for the usage output."
    assert _first(tmp_path, {"formatting.py": FORMATTERS}, query, names) == "make_formatter"
    plan = search.plan_query("Register a rule for routing incoming requests")
    assert search_names.spelled_out("add_url_rule", plan.spelled_names) > search_names.spelled_out(
        "add_url_rule", plan.spelled)

GO_MIDDLEWARE = """package middleware

// RecoverConfig defines the config for Recover middleware.
type RecoverConfig struct {
\tSkipper    Skipper
\tStackSize  int
\tLogErrors  bool
}

// Recover returns a middleware which recovers from panics anywhere in the chain.
func Recover() MiddlewareFunc {
\tconfig := DefaultRecoverConfig
\tconfig.StackSize = 4 << 10
\treturn RecoverWithConfig(config)
}

// RecoverWithConfig returns a Recovery middleware with config or panics on invalid configuration.
func RecoverWithConfig(config RecoverConfig) MiddlewareFunc {
\tmw, err := config.ToMiddleware()
\tif err != nil {
\t\tpanic(err)
\t}
\treturn mw
}

func (config RecoverConfig) ToMiddleware() (MiddlewareFunc, error) {
\tif config.Skipper == nil {
\t\tconfig.Skipper = DefaultSkipper
\t}
\tif config.StackSize == 0 {
\t\tconfig.StackSize = 4 << 10
\t}
\treturn func(next HandlerFunc) HandlerFunc { return next }, nil
}
"""


def test_a_method_whose_type_and_name_the_sentence_spells_overtakes_its_file_neighbours(
        tmp_path: Path) -> None:
    # echo's "converts RecoverConfig to middleware or returns an error for invalid
    # configuration": `RecoverWithConfig` spelled two words of its name (recover, config),
    # `ToMiddleware` one (middleware); read with its receiver, three (docs/evals.md,
    # "Thirty-eighth session")
    files = {"recover.go": GO_MIDDLEWARE}
    names = ["RecoverWithConfig", "Recover", "RecoverConfig.ToMiddleware"]
    query = "converts RecoverConfig to middleware or returns an error for invalid configuration"
    assert _first(tmp_path / "short", files, query, names) == "RecoverConfig.ToMiddleware"
    # a long text (an issue, a log) says most words of any type somewhere: there the
    # method's own words count alone, and fusion's order stays
    long = query + ". " + " ".join(["the handler chain keeps running after a panic"] * 5)
    assert search.plan_query(long).long
    assert _first(tmp_path / "long", files, long, names) == "RecoverWithConfig"


def test_a_class_the_sentence_names_adds_to_its_methods_names_and_never_takes_away() -> None:
    spelled = search.plan_query("Add a new header to the set.").spelled
    add = search_names.spelled_out("HeaderSet.add", spelled, owners=True)
    assert add > search_names.spelled_out("add", spelled, owners=True) > 0.0
    assert search_names.spelled_out("HeaderSet.remove", spelled, owners=True) < add
    assert search_names.spelled_out("HeaderSet.add", spelled) == search_names.spelled_out("add", spelled)
    # a class the sentence does not name leaves its method's own words as they count alone
    spelled = search.plan_query("Builds a Response object from a urllib3 response.").spelled
    assert (search_names.spelled_out("HTTPAdapter.build_response", spelled, owners=True)
            == search_names.spelled_out("build_response", spelled))
    # nor does the repository's own name, nor a nested function's enclosing function
    spelled = search.plan_query("Runs the Flask application on a local server.").spelled
    assert search_names.spelled_out("Flask.run", spelled, owners=True) > search_names.spelled_out("run", spelled)
    assert (search_names.spelled_out("Flask.run", spelled, owners=True, project="flask")
            == search_names.spelled_out("run", spelled))
    spelled = search.plan_query("Writes the help record options.").spelled
    assert (search_names.spelled_out("Option.get_help_record._write_opts", spelled, owners=True)
            == search_names.spelled_out("_write_opts", spelled))


def test_a_boosted_chunk_takes_the_score_of_its_new_place_so_scores_still_descend(
        index: RepoIndex) -> None:
    scores = {name: 1 / (61 + i) for i, name in enumerate(NEIGHBOURS)}
    scores["prepare_hooks"] = 1 / (61 + len(NEIGHBOURS))
    tables = search_tables(index.store)
    ids = {meta[3]: cid for cid, meta in tables.chunks.items() if meta[3]}
    fused = {ids[n]: search._Candidate(ids[n], s, ["lexical"]) for n, s in scores.items()}
    ranked = search._rank(tables, fused, search.plan_query("prepares the given hooks"),
                          None, None)
    assert ranked[0].meta[4] == "prepare_hooks"
    got = [r.score for r in ranked]
    assert got == sorted(got, reverse=True)  # a re-sort by score keeps the boosted order


WIDEN = '''
def widen_integer_slices(values):
    """Convert the values to a slice of integers: int16 values to a slice of int32 integers,
    int32 values to int64 integers, keeping the order of the values in the slice."""
    return [int(v) for v in values]
'''
CASTS = '''
def int16_slice(items):
    return [cast(item) for item in items if item is not None]
'''


def test_a_definition_whose_every_name_word_the_sentence_spells_is_found_by_its_name(
        tmp_path: Path) -> None:
    # `int16_slice` has no docstring: the words of `widen_integer_slices`'s (another file)
    # matched more of the sentence, and the name boost orders chunks only within their file
    files = {"widen.py": WIDEN, "casts.py": CASTS}
    query = "convert the values to a slice of int16 integers"
    with live_over(tmp_path, files) as ctx:
        tables = search_tables(ctx.index.store)
        plan = search.plan_query(query)
        found = search._name_matches(tables, plan, 20)
        assert [tables.chunks[c][3] for c in found] == ["int16_slice"]
        assert search.search_code(ctx, query, mode="lexical").results[0].symbol == "int16_slice"
        # a long text spells many names it is not about; a query naming identifiers itself is
        # about those (the symbol retriever's)
        assert search._name_matches(tables, search.plan_query(query + " now" * 40), 20) == []
        assert search._name_matches(tables, search.plan_query("int16_slice"), 20) == []
        named = search.plan_query("widen_integer_slices: convert the values to int16 slices")
        assert search._name_matches(tables, named, 20) == []


def test_the_name_index_is_built_once_per_symbol_table_and_goes_with_it() -> None:
    # a workspace searches every repository's tables on each query: each keeps its index
    # while it lives, and a table replaced by the next generation's takes its index along
    from types import SimpleNamespace

    from indexer.store.lookup import SymbolTable, _SymbolRows

    def table(names: list[str]) -> SimpleNamespace:
        rows, kinds = _SymbolRows(), {}
        for line, name in enumerate(names, 1):
            rows.add((1, name, name, "function", line, line, f"def {name}()", "", 1), kinds)
        return SimpleNamespace(symbols=SymbolTable(rows))

    first, second = table(["int16_slice", "parse_header"]), table(["parse_header", "run"])
    index = search_names._names_by_word(first)  # type: ignore[arg-type]
    assert index.as_dict() == {"int16": [0], "slice": [0], "parse": [1], "header": [1]}
    assert search_names._names_by_word(first) is index  # type: ignore[arg-type]
    assert search_names._names_by_word(second).as_dict() == {"parse": [0], "header": [0]}  # type: ignore[arg-type]
    assert first.symbols.derived == {search_names._INDEX: index}  # it lives as long as it


def test_a_carried_name_index_forgets_its_words_once_most_name_nothing() -> None:
    # a word whose names are gone keeps its id while it is one of a few (the carry moves
    # rows, it does not rebuild the words); once most words name nothing, it is built anew
    from indexer.store.lookup import _SymbolRows

    rows, kinds = _SymbolRows(), {}
    for fid, name in enumerate(["parse_header", "read_body", "write_chunk", "close_stream"], 1):
        rows.add((fid, name, name, "function", 1, 2, f"def {name}()", "", 1), kinds)
    index = search_names._NameIndex.build(rows)
    fewer, cut = rows.updated([1], [])
    carried = index.updated(rows, fewer, cut)
    assert carried.as_dict() == {"read": [0], "body": [0], "write": [1], "chunk": [1],
                                 "close": [2], "stream": [2]}
    assert "parse" in carried._ids  # one dead word of eight: kept, with no rows
    least, cut = fewer.updated([2, 3], [(5, "open_file", "open_file", "function", 1, 2, "", "", 1)])
    last = carried.updated(fewer, least, cut)
    assert last.as_dict() == {"close": [0], "stream": [0], "open": [1], "file": [1]}
    assert len(last._ids) == 10  # six of them dead now: the next carry builds it anew
    after, cut = least.updated([4], [])
    assert set(last.updated(least, after, cut)._ids) == {"open", "file"}


def test_the_name_index_is_carried_to_the_next_generation_equal_to_one_built_anew(
        tmp_path: Path) -> None:
    """After a batch of edits the next generation's symbol table comes with the name index
    (`SymbolTable.updated` -> `_NameIndex.updated`), not built again on its first sentence
    query: rows of files gone left out, rows after them moved, a new file's names and a new
    word read; equal to the index built from the new table, and found by the retriever. A
    batch that has the tables read whole has the index built with them."""
    from indexer.build import apply_resolved
    from indexer.store.lookup import build_search_tables

    files = {f"pkg/m{i:02d}.py": f"def parse_header_{i}(x):\n    return x\n\n\n"
             f"class Box{i}:\n    def read_value(self):\n        return {i}\n" for i in range(30)}
    with live_over(tmp_path, files) as live:
        store, root = live.index.store, live.root
        before = search_tables(store, wait=True)
        built = search_names._names_by_word(before)
        assert built.rows_of("read") and not built.rows_of("frobnicate")
        (root / "pkg/m03.py").write_text("def frobnicate_widget(x):\n    return x\n")
        (root / "pkg/new.py").write_text("def read_value_twice(y):\n    return y\n")
        (root / "pkg/m00.py").unlink()
        apply_resolved(live.index, ["pkg/m03.py", "pkg/new.py", "pkg/m00.py"], set(),
                       live.index_options)
        after = search_tables(store, wait=True)
        assert after.symbols is not before.symbols
        carried = after.symbols.derived[search_names._INDEX]  # before any query asked
        assert isinstance(carried, search_names._NameIndex) and carried is not built
        anew = search_names._NameIndex.build(
            build_search_tables(store, (store.generation, None), None).symbols.columns)
        assert carried.as_dict() == anew.as_dict()
        assert (len(built.rows_of("parse")), len(carried.rows_of("parse"))) == (30, 28)
        found = search._name_matches(after, search.plan_query("frobnicate the widget"), 20)
        assert [after.chunks[c][3] for c in found] == ["frobnicate_widget"]

        edited = [f"pkg/m{i:02d}.py" for i in range(10, 20)]  # a third: the tables read whole
        for path in edited:
            (root / path).write_text(f"def write_record_{path[5:7]}(x):\n    return x\n")
        apply_resolved(live.index, edited, set(), live.index_options)
        whole = search_tables(store, wait=True)
        rebuilt = whole.symbols.derived[search_names._INDEX]  # built by the loader, not a query
        assert isinstance(rebuilt, search_names._NameIndex)
        assert rebuilt.as_dict() == search_names._NameIndex.build(whole.symbols.columns).as_dict()
        assert len(rebuilt.rows_of("write")) == 10 and len(rebuilt.rows_of("parse")) == 18


def test_a_class_named_with_the_question_s_words_is_not_retrieved_by_its_name(
        tmp_path: Path) -> None:
    # issue 16's "where is the retry logic for connection errors": the exception classes
    # already ranked first by their words; retrieving them by name too pushed the adapter's
    # retry set-up further down
    files = {"exceptions.py": "class ConnectionError(OSError):\n    pass\n\n\n"
                              "class RetryError(ConnectionError):\n    pass\n",
             "adapters.py": "def retry_connection_errors(send, tries):\n"
                            "    return Retry(total=tries, connect=tries)(send)\n"}
    with live_over(tmp_path, files) as ctx:
        tables = search_tables(ctx.index.store)
        plan = search.plan_query("where is the retry logic for connection errors")
        found = search._name_matches(tables, plan, 20)
        assert [tables.chunks[c][3] for c in found] == ["retry_connection_errors"]


def test_a_pickled_symbol_table_leaves_its_name_index_behind_and_builds_it_again() -> None:
    # `evals.retrievals` pickles the search tables of each commit it keeps and scores them
    # later: the index is not pickled, and a table read back (made before the index existed
    # too) builds it when a query asks
    import pickle
    from types import SimpleNamespace

    from indexer.store.lookup import SymbolTable, _SymbolRows

    rows, kinds = _SymbolRows(), {}
    rows.add((1, "int16_slice", "int16_slice", "function", 1, 1, "def int16_slice()", "", 1), kinds)
    table = SymbolTable(rows)
    index = search_names._names_by_word(SimpleNamespace(symbols=table))  # type: ignore[arg-type]
    again = pickle.loads(pickle.dumps(table))  # its state has no `derived`, as an old one's
    assert table.derived and again.derived == {} and again["int16_slice"] == table["int16_slice"]
    rebuilt = search_names._names_by_word(SimpleNamespace(symbols=again))  # type: ignore[arg-type]
    assert rebuilt.as_dict() == index.as_dict() == {"int16": [0], "slice": [0]}
