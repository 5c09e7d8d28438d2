"""Query tokens, and search by ready-made tokens in the lexical index."""

from __future__ import annotations

from pathlib import Path

from indexer.lexical.bm25 import LexicalDoc, LexicalIndex
from tests.mcp_helpers import live_over
from tools.search import plan_query, search_code


def _doc(cid: int, path: str, body: str, language: str = "python") -> LexicalDoc:
    return LexicalDoc(chunk_id=cid, path=path, language=language, name="", header="", body=body)


DOCS = [
    _doc(1, "pkg/serving.py", "def run_simple(host):\n    sock = make_socket(host)"),
    _doc(2, "pkg/serving.py", "def write_chunk(data):\n    return tempfile.mkstemp()"),
    _doc(3, "pkg/files.py", "class FileStorage:\n    def save(self, file): pass"),
]


def test_tokens_find_the_same_chunks_as_text_and_query_syntax_is_never_parsed(
        tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex")
    index.update(DOCS, (), 1)
    assert index.num_docs() == len(DOCS)
    by_text = index.search("mkstemp socket", 10)
    by_terms = index.search(["mkstemp", "socket"], 10)
    assert by_text == by_terms and {c for c, _ in by_terms} == {1, 2}
    assert index.search(["not a token", "path:x", "socket^9"], 10) == []


def test_query_tokens_keep_whole_words_but_not_the_bare_numbers_inside_them() -> None:
    plan = plan_query("use base64 instead of hex for the SHA1 digest")
    tokens = plan.lexical.split()
    assert {"base64", "base", "sha1", "sha", "hex", "digest"} <= set(tokens)
    assert "64" not in tokens and "1" not in tokens
    assert plan.terms == tuple(tokens)


def test_query_words_bring_their_inflections_and_unknown_forms_are_dropped(
        tmp_path: Path) -> None:
    from indexer.build.pipeline import index_repository
    from indexer.disk.repo import IndexPaths, RepoIndex
    from indexer.live import LiveIndex
    from tools.search import plan_query, search_code, word_variants

    assert word_variants(["handlers", "routing", "added", "properties", "class", "sha1",
                          "ids"]) == ["handler", "rout", "route", "add", "adde", "property"]
    assert plan_query("routing handlers").variants == ("rout", "route", "handler")

    root = tmp_path / "repo"
    root.mkdir()
    (root / "hooks.py").write_text("def register_handler(event, fn):\n    HOOKS[event] = fn\n")
    (root / "noise.py").write_text("def unrelated_thing():\n    return 'nothing to see'\n")
    with RepoIndex(IndexPaths.for_repo(root, tmp_path / "index")) as index:
        index_repository(index)
        assert index.lexical.known(["handler", "route", "adde"]) == ["handler"]
        hits = search_code(LiveIndex(index), "registering handlers", mode="lexical")
        assert hits.results and hits.results[0].symbol == "register_handler"


def test_weighted_terms_scale_scores_and_a_commit_hash_in_a_query_is_dropped_not_an_error(
        tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path / "lex")
    index.update(DOCS, (), 1)
    plain = dict(index.search(["socket", "mkstemp"], 10))
    weighted = dict(index.search([("socket", 1.0), ("mkstemp", 0.25)], 10))
    assert weighted[1] == plain[1] and weighted[2] < plain[2]
    assert index.search(["socket", "1049dd6b2a363e1ef302b4161c340fb8582f627a"], 10) == \
        index.search(["socket"], 10)


def test_the_commit_hashes_a_task_quotes_give_no_words_to_search_for() -> None:
    task = ("Reintroduce the retry backoff pushed by mistake in 6c4a77ba24854dab793a8ff72110a0a2 "
            "and reverted in bb7be1f6 (see a3f9e0c1.py and 1234567)")
    plan = plan_query(task)
    # the hashes' letter runs ("ba", "dab", "ff", "bb") would match code at random
    assert {"reintroduce", "retry", "backoff", "pushed", "mistake", "reverted",
            "1234567", "a3f9e0c1"} <= set(plan.terms), plan.terms
    parts = {"6c4a77ba24854dab793a8ff72110a0a2", "bb7be1f6", "ba", "dab", "ff", "bb", "fd"}
    assert not parts & (set(plan.terms) | plan.words), plan.terms
    assert "6c4a77b" not in plan.semantic and "retry backoff" in plan.semantic
    assert plan.files == ["a3f9e0c1.py"]  # a file name is not a hash
    assert plan_query("6c4a77ba2485").semantic == "6c4a77ba2485"  # only a hash: kept


def test_a_hyphenated_name_reaches_the_same_name_in_camel_or_snake_case(tmp_path: Path) -> None:
    """`v-for`, `--max-columns` and `keep-alive` are how users write names the code spells
    `vFor`, `max_columns` and `KeepAlive`; the words alone miss them (`v` is too short,
    `for` a stop word), the joined word (`tools.search.compounds`) does not."""
    from tools.search import compounds

    assert compounds("compile --max-columns and v-for, keep-alive") == [
        "maxcolumns", "vfor", "keepalive"]
    assert "vfor" in plan_query("how is v-for compiled").variants
    files = {
        "compiler/transforms/loop.ts": (
            "export function transformLoop(node, context) {\n"
            "  const vFor = findDirective(node, 'for')\n  return vFor\n}\n"),
        "compiler/transforms/other.ts": (
            "export function transformOther(node) {\n"
            "  return node.directive\n}\n"),
        **{f"compiler/parse/part{i}.ts": f"export function parsePart{i}(source) {{\n"
           f"  return source.slice({i})\n}}\n" for i in range(8)},
    }
    with live_over(tmp_path, files) as live:
        hits = search_code(live, "v-for transform", k=2, mode="lexical").results
    assert hits[0].path == "compiler/transforms/loop.ts", [h.path for h in hits]
