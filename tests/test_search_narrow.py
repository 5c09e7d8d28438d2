"""A hit on a block of merged small definitions narrows to the one the query singles out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from indexer.build.pipeline import index_repository
from indexer.disk.repo import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from indexer.store.lookup import search_tables
from tests.mcp_helpers import live_over
from tools.search import search_code
from tools.search_narrow import BlockHit, narrow_blocks

# Small accessors: the chunker merges them into one `block` chunk.
GETTERS = """package settings

// S holds typed settings.
type S struct{ m map[string]string }

// Str returns k as text.
func (s *S) Str(k string) string { return s.m[k] }

// Uint returns k as a uint.
func (s *S) Uint(k string) uint { return toUint(s.m[k], 0) }

// Uint8 returns k as a uint8.
func (s *S) Uint8(k string) uint8 { return uint8(toUint(s.m[k], 8)) }

// Dur parses k as a time span like 90s.
func (s *S) Dur(k string) time.Duration { d, _ := time.ParseDuration(s.m[k]); return d }

// Has reports whether k is set.
func (s *S) Has(k string) bool { _, ok := s.m[k]; return ok }
"""


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[LiveIndex]:
    root = tmp_path / "repo"
    (root / "settings").mkdir(parents=True)
    (root / "settings" / "settings.go").write_text(GETTERS)
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        yield LiveIndex(index)


def _blocks(ctx: LiveIndex) -> list[tuple[int, int, int, int]]:
    return ctx.index.store.query(
        "SELECT chunk_id, file_id, start_line, end_line FROM chunks WHERE kind = 'block' "
        "AND end_line - start_line > 10")


def test_the_getters_share_one_block_chunk(ctx: LiveIndex) -> None:
    (block,) = _blocks(ctx)
    assert (block[2], block[3]) == (1, 19)  # package clause ... Has


def test_a_sentence_narrows_the_block_to_the_method_it_describes(ctx: LiveIndex) -> None:
    hit = search_code(ctx, "parse a time span like 90s", mode="lexical").results[0]
    assert hit.symbol == "S.Dur" and hit.kind == "method"
    assert (hit.start_line, hit.end_line) == (15, 16)  # its comment line, then the func
    assert "ParseDuration" in hit.snippet and "Uint" not in hit.snippet


def test_a_name_lookup_picks_that_member_not_a_longer_or_shorter_one(
        ctx: LiveIndex) -> None:
    for name, line in (("Uint8", 13), ("Uint", 10)):
        hit = search_code(ctx, name, mode="lexical").results[0]
        assert hit.symbol == f"S.{name}"
        assert hit.start_line <= line <= hit.end_line
        assert hit.end_line - hit.start_line == 1


def test_words_every_member_shares_leave_the_block_whole(ctx: LiveIndex) -> None:
    (hit,) = search_code(ctx, "func", mode="lexical").results  # in every method alike
    assert hit.kind == "block" and (hit.start_line, hit.end_line) == (1, 19)


def test_text_that_disagrees_with_the_line_range_is_left_alone(ctx: LiveIndex) -> None:
    (cid, fid, start, end) = _blocks(ctx)[0]
    hit = BlockHit(cid, fid, start, end)
    members = search_tables(ctx.index.store).members
    assert narrow_blocks(members, [hit], {cid: "one line only"}, ["duration"]) == {}
    text = "\n".join(GETTERS.split("\n")[start - 1:end])
    got = narrow_blocks(members, [hit], {cid: text}, ["duration"])
    assert got[cid].symbol == "S.Dur"


# The chunker merges a file's package clause and imports with its one small function.
SOLE = """package registry

import "encoding/base64"

func staticAuth(registryAuth string) PrivilegeFunc {
	return func(ctx context.Context) (string, error) { return registryAuth, nil }
}
"""


def _sole_block(tmp_path: Path) -> tuple[LiveIndex, BlockHit, dict[int, str]]:
    root = tmp_path / "sole"
    root.mkdir()
    (root / "auth.go").write_text(SOLE)
    index = RepoIndex(IndexPaths.for_repo(root, tmp_path / "sole-index"))
    index_repository(index)
    ctx = LiveIndex(index)
    (cid, fid, start, end, text), = ctx.index.store.query(
        "SELECT chunk_id, file_id, start_line, end_line, text FROM chunks")
    return ctx, BlockHit(cid, fid, start, end), {cid: text}


def test_a_block_with_one_definition_narrows_to_it_when_it_holds_a_query_word(
        tmp_path: Path) -> None:
    ctx, block, texts = _sole_block(tmp_path)
    try:
        assert (block.start_line, block.end_line) == (1, 7)  # one block chunk
        members = search_tables(ctx.index.store).members
        got = narrow_blocks(members, [block], texts, ["creates", "registry", "auth"])
        member = got[block.chunk_id]
        assert (member.symbol, member.start_line, member.end_line) == ("staticAuth", 5, 7)
        assert member.text.startswith("func staticAuth")
    finally:
        ctx.index.close()


def test_a_block_with_one_definition_stays_whole_when_only_its_imports_match(
        tmp_path: Path) -> None:
    ctx, block, texts = _sole_block(tmp_path)
    try:
        members = search_tables(ctx.index.store).members
        assert narrow_blocks(members, [block], texts, ["encoding", "base64"]) == {}
    finally:
        ctx.index.close()


# Members whose words tie: both contain "greater"; their names tell them apart.
COMPARE = """package versions

// compare returns -1, 0 or 1 for two dotted versions.
func compare(v1, v2 string) int { return strings.Compare(v1, v2) }

// LessThan checks if a version is less than another
func LessThan(v, other string) bool { return compare(v, other) == -1 }

// GreaterThan checks if a version is greater than another
func GreaterThan(v, other string) bool { return compare(v, other) == 1 }

// GreaterThanOrEqualTo checks if a version is greater than or equal to another
func GreaterThanOrEqualTo(v, other string) bool { return compare(v, other) >= 0 }
"""


def test_members_whose_words_tie_are_told_apart_by_how_much_of_their_name_the_query_spells(
        tmp_path: Path) -> None:
    _first_hits_in_one_block(tmp_path, "compare.go", COMPARE, (
        ("checks if a version is greater than another", "GreaterThan"),
        ("checks if a version is greater than or equal to another", "GreaterThanOrEqualTo")))


def _first_hits_in_one_block(tmp_path: Path, name: str, source: str,
                             cases: Sequence[tuple[str, str]]) -> None:
    """`source`, chunked into a single block, answers each query's lexical search with the
    member named beside it first."""
    with live_over(tmp_path, {name: source}) as ctx:
        assert [r[0] for r in ctx.index.store.query("SELECT kind FROM chunks")] == ["block"]
        for query, symbol in cases:
            hit = search_code(ctx, query, mode="lexical").results[0]
            assert hit.symbol == symbol, (query, hit)


NARROW_IN_A_PROCESS = """
from tools.search_narrow import BlockHit, narrow_blocks
shared = ["alpha", "bravo", "charlie", "delta", "echo"]
query = shared + ["hotel", "india", "juliet", "kilo", "lima", "mike", "november", "oscar"]
members = [("Aaa", shared + ["zulu"]), ("Bbb", list(reversed(shared)) + ["yankee", "xray"])]
members += [(f"F{i}", shared[:i]) for i in range(1, 5)]
lines, defs, n = [], [], 1
for name, ws in members:
    lines += [f"func {name}() {{", "    " + " ".join(f"{w}()" for w in ws), "}"]
    defs.append((name, "function", n, n + 2))
    n += 3
got = narrow_blocks({1: defs}, [BlockHit(7, 1, 1, n - 1)], {7: "\\n".join(lines)}, query)
print(got[7].symbol if 7 in got else None)
"""


def test_members_that_tie_tie_in_every_process_whatever_its_hash_seed() -> None:
    # Aaa and Bbb hold the same five query words: a tie, so the block stays whole. Their
    # scores were sums in the order of a set of words, which follows the process's hash
    # seed; under seeds 3 and 38 the two sums differed in their last bit and Bbb "won"
    # (a search answered differently from one server process to the next)
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    answers = set()
    for seed in ("0", "3", "38"):
        out = subprocess.run([sys.executable, "-c", NARROW_IN_A_PROCESS], check=True, text=True,
                             capture_output=True, cwd=root,
                             env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)})
        answers.add(out.stdout.strip())
    assert answers == {"None"}


# -- where the words decide nothing: the static tier's closeness --------------------------

STACK = '''import threading

_local = threading.local()


def push_context(ctx):
    _local.__dict__.setdefault("stack", []).append(ctx)


def pop_context():
    _local.stack.pop()
'''


def test_where_the_words_tie_the_member_closest_in_the_static_tier_wins_in_hybrid_search(
        tmp_path: Path) -> None:
    # click's globals.py: "Removes the top level from the stack." shares "stack" with both
    # functions, which the chunker merges with the imports into one block; only the
    # meaning tells `pop_context` (docs/evals.md, "Thirty-eighth session")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "globals.py").write_text(STACK)
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(static=True)) as live:
        assert live.attach_static()
        index_repository(live.index)
        query = "Removes the top level from the stack."
        hit = search_code(live, query, mode="hybrid").results[0]
        assert (hit.symbol, hit.start_line, hit.end_line) == ("pop_context", 10, 11)
        # lexical search reads words only: the block stays whole
        hit = search_code(live, query, mode="lexical").results[0]
        assert hit.kind == "block" and (hit.start_line, hit.end_line) == (1, 11)


def test_closeness_decides_only_among_the_members_the_words_leave_and_a_tie_stays_whole(
        ctx: LiveIndex) -> None:
    (cid, fid, start, end) = _blocks(ctx)[0]
    hit = BlockHit(cid, fid, start, end)
    members = search_tables(ctx.index.store).members
    text = "\n".join(GETTERS.split("\n")[start - 1:end])
    asked: list[list[str]] = []

    def close_to_has(texts: Sequence[str]) -> list[float]:
        asked.append(list(texts))
        return [1.0 if "Has" in t else 0.0 for t in texts]

    # no member holds a query word: every member is a candidate, the closest wins
    got = narrow_blocks(members, [hit], {cid: text}, ["checks"], similar=close_to_has)
    assert got[cid].symbol == "S.Has" and len(asked[-1]) == 6  # the type S and its methods
    # the words single one out: closeness is not asked
    got = narrow_blocks(members, [hit], {cid: text}, ["duration"], similar=close_to_has)
    assert got[cid].symbol == "S.Dur" and len(asked) == 1
    # a tie of closeness leaves the block whole
    assert narrow_blocks(members, [hit], {cid: text}, ["checks"],
                         similar=lambda texts: [0.5] * len(texts)) == {}


def test_a_settled_server_forgets_the_word_vectors_that_narrowing_by_closeness_cached(
        tmp_path: Path) -> None:
    """Narrowing embeds the members' code in the static tier, whose embedder caches each
    word's vector (up to 64 MB, released after writes only): a server that answered calls
    and no edits kept them (moby: +3 MB after 200 calls); settling now gives them back."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "globals.py").write_text(STACK)
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(static=True)) as live:
        assert live.attach_static() and live.static is not None
        index_repository(live.index)
        live.static.release_caches()
        query = "Removes the top level from the stack."
        assert search_code(live, query, mode="hybrid").results[0].symbol == "pop_context"
        words = live.static.embedder._words  # type: ignore[attr-defined]
        assert words._size > 0
        live.settle()
        assert live.static.embedder._words._size == 0  # type: ignore[attr-defined]
        assert search_code(live, query, mode="hybrid").results[0].symbol == "pop_context"


# -- a member's name weighs its words: a sibling's comment repeating a word or two loses ---

ACCESSORS = """package web

// Context is one request's state.
type Context struct {
	echo   *Echo
	logger *Logger
	path   string
}

// SetPath sets the registered path for the handler.
func (c *Context) SetPath(p string) { c.path = p }

// Echo returns the Echo instance.
func (c *Context) Echo() *Echo { return c.echo }

func (c *Context) Logger() *Logger { return c.logger }
"""


def test_a_member_the_query_names_outweighs_a_sibling_whose_comment_holds_a_rarer_word(
        tmp_path: Path) -> None:
    # echo's context.go: `Logger` has no comment; "returns", a word only `Echo`'s comment
    # holds, outweighed "logger", which the struct's field shares, and the block narrowed to
    # `Echo`. A member's word score now grows with how much of its name the query spells
    # (`named_by`), as a whole chunk's score does (`tools.search._name_cover`)
    _first_hits_in_one_block(tmp_path, "context.go", ACCESSORS, (
        ("returns logger in Context", "Context.Logger"),
        ("sets the registered path for the handler.", "Context.SetPath"),
        ("returns the Echo instance", "Context.Echo")))


SETTERS = """package web

type Context struct {
	path string
	name string
}

func (c *Context) SetPath(p string) { c.path = p }

func (c *Context) Path() string { return c.path }

func (c *Context) SetName(n string) { c.name = n }

func (c *Context) Name() string { return c.name }
"""


def test_a_short_verb_in_s_spells_the_bare_verb_of_a_name(tmp_path: Path) -> None:
    # "sets" is too short for the index's inflections (`word_variants`), and `SetPath`'s
    # name says "set": without the bare verb the query spelled half of `SetPath`'s name
    # and all of `Path`'s, and the block narrowed to the getter
    _first_hits_in_one_block(tmp_path, "context.go", SETTERS, (
        ("sets the path of the request", "Context.SetPath"),
        ("returns the path of the request", "Context.Path"),
        ("sets the name", "Context.SetName")))
