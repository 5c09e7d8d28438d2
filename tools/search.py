"""search_code: hybrid retrieval over chunks.

1. The query is analysed (`plan_query`): code identifiers, dotted paths, file names and
   stack-trace frames (Python, Go, JavaScript) are pulled out of it; English stop words are
   dropped from the lexical query; a long text (an issue, a log) keeps what carries signal
   (identifiers, frames, error lines, code, its title) at full weight and its prose at
   `PROSE_WEIGHT`, and the embedder sees its salient sentences (`tools.query_analysis`);
   words bring their plural/singular and -ing/-ed stems where the index has them, and a
   hyphenated word its joined form (`v-for` -> vfor: `vFor`, `v_for`); the repository's
   own name, written as a word in prose ("how does ripgrep ..."), weighs `PROJECT_WEIGHT`
   (`project_weighted`).
2. Three retrievers produce candidates: BM25 (tantivy, identifier-aware, over the planned
   words), symbol definitions (DuckDB: exact names of the query's identifiers, prefixes for
   a short query) and `semantic` (the model's vectors in usearch, as far as background
   embedding got). The static tier (every chunk has a static vector from the moment it is
   indexed), among the chunks that have no model vector yet, ranks their candidates and
   its own nearest chunks, as a fourth ranking at half weight. The two vector spaces are
   never compared raw: each ranks, and the ranks are fused. A query of a sentence or two
   that names no identifier also retrieves, at low weight, the definitions whose every name
   word it spells (`tools.search_names.name_matches`: "a slice of int16 integers" -> `GetInt16Slice`), with a
   name's stop words where the sentence says them ("before" for `before_request`) and its
   verbs as names say them ("creates" -> make, new).
3. Weighted reciprocal-rank fusion, then multiplicative priors: where the code lives (tests,
   Rust unit tests inside source files too, vendored, generated, example code and prose
   rank lower, never hidden), whether the query names the file or its module (a stack
   frame's path by its last components), the
   file's import-graph centrality (`file_rank` and import edges among the candidate files,
   when the graph tables exist), vendored copies of other projects (`tools.vendored`), and,
   in a file answer to a query in words, the files that the past commits whose subjects
   read most like it changed (`tools.search_history`, from the repository's git log).
   Within each file, chunks whose defined name the query spells out move ahead of their
   file's other chunks (`NAME_BOOST`), and for a query describing behaviour, its functions
   move ahead of its types and constants (`DATA_KIND_PRIOR`); which file comes first is
   decided without either.
4. The pieces of one definition collapse into one hit (definitions sharing a name, a
   property's getter and setter, each keep theirs; an overload stub stands for its
   implementation: `tools.search_select`), overlapping chunks are de-duplicated, one file
   takes at most `PER_FILE` of the first k places, language and path filters apply, a hit
   on a block of merged small definitions narrows to the one the query's words single out
   (`tools.search_narrow`), near-identical copies in other files collapse into one hit that
   lists them (`tools.duplicates`), and the hits are rendered within the token budget
   (chunk text is read for those only, and for the few chunks that may be overload stubs).
   `granularity="file"` ranks files by all their ranked chunks instead (`tools.files`).
"""

from __future__ import annotations

import functools
import math
import posixpath
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from indexer.core import on_settle
from indexer.discover.places import LOW_VALUE_PATH, TEST_PATH
from indexer.lexical import PARTS_RE, WORD_RE, identifier_tokens
from indexer.live import Coverage, LiveIndex
from indexer.store import ChunkMeta, SearchTables, search_tables
from tools.budget import fit_answer
from tools.duplicates import collapse
from tools.errors import ArgumentError, ToolError
from tools.files import Evidence, RankedFile, evidence_lines, rank_files, walk
from tools.freshness import freshness as answer_freshness
from tools.models import Omitted, SearchHit, SearchResult, TierCoverage
from tools.query_analysis import PROSE_WEIGHT, dense_text, frames, names_file, weighted_terms
from tools.ranking_weights import ActiveWeights, active_weights
from tools.search_history import history_prior
from tools.search_kinds import behaviour_share
from tools.search_names import (
    STOP_WORDS,
    name_matches,
    names_all,
    said_in_names,
    spelled_out,
)
from tools.search_narrow import BlockHit, Narrowed, Similar, narrow_blocks
from tools.search_select import select
from tools.source import check_glob, in_scope
from tools.ties import Hits, Location, by_location, complete_ties
from tools.vendored import VENDORED_PRIOR, is_vendored, vendored

# Query embeddings overlap the lexical retrieval of the same call (a few in flight at once).
_SEMANTIC_POOL = ThreadPoolExecutor(4, thread_name_prefix="sextant-query-embed")

MODES = ("hybrid", "lexical", "semantic")
GRANULARITIES = ("chunk", "file")
FILE_POOL = 200  # chunks ranked per retriever when the answer is files
RRF_K = 60
# static: chosen on the tuning repositories with the fitted table (docstring MRR@10 of the
# static-only hybrid, mean of flask, werkzeug, click, moby-client: 0.1 -> 0.417, 0.3 ->
# 0.434, 0.5 -> 0.443, 0.7 -> 0.439, 1.0 -> 0.429; lexical alone 0.408), see docs/evals.md
# `names`: definitions whose every name word a sentence spells (`tools.search_names.name_matches`), chosen on
# the tuning docstring sets from 0.1 / 0.15 / 0.3 / 0.6 (docs/evals.md, "Fortieth session")
WEIGHTS = {"lexical": 1.0, "semantic": 1.0, "static": 0.5, "symbol": 1.5, "names": 0.15}
MAPPED_SHARE = 0.5  # of the model tier's weight, to the query map's list when there is one
STATIC_POOL = 60  # the static tier's own nearest, and candidates per retriever it re-ranks
SYMBOL_WEIGHT_PROSE = 0.4  # symbol matches of an identifier mentioned inside a sentence
NAME_QUERY_WORDS = 4  # a query this short that names an identifier is a name lookup
SNIPPET_LINES = 40
TEST_PRIOR = 0.4  # tests, fixtures and test data against the code they exercise
PROSE_PRIOR = 0.5  # chunks of prose and config (docs, READMEs, YAML) against code
PATH_BOOST = 0.1  # per query word naming the file's stem or a directory of it
NAMED_FILE_BOOST = 1.0  # the query names this file (`app.py`, `src/flask/app.py`)
RANK_BOOST = 0.15  # at most, for the most central file of the import graph
IMPORTER_BOOST = 0.05  # per other candidate file that imports this one (up to 4)
# x(1 + this x the share of a chunk's defined name words the query spells out x how many,
# up to `tools.search_names.NAME_WORDS`), within the chunk's file only: chosen on the flask
# and moby-client docstring sets, see docs/evals.md
NAME_BOOST = 0.25
# x this for a type, constant or variable against the functions of its file when the query
# describes behaviour (not a name lookup or a stack trace; scaled by how likely a sentence
# describes behaviour rather than a type, `tools.search_kinds`), within the file only like
# NAME_BOOST: chosen on moby-client, see docs/evals.md ("Kinds within a file")
DATA_KIND_PRIOR = 0.5
_DATA_KINDS = frozenset({"struct", "type", "interface", "enum", "constant", "variable", "field"})
# a class's head (its signature, docstring and fields) takes the same prior against its file's
# functions for a query of a sentence or two; a long text (an issue) often asks to change the
# head itself: chosen on the Python docstring sets and the tuning get_context tasks, see
# docs/evals.md ("Thirty-eighth session")
_HEAD_KINDS = frozenset({"class"})
PROJECT_WEIGHT = 0.1  # a BM25 term that is the repository's own name, written as prose
LONG_QUERY_WORDS = 40
MAX_QUERY_TOKENS = 48
MAX_IDENTIFIERS = 16

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CODE_LIKE = re.compile(r"_|\.|[a-z][A-Z]|[A-Z]{2,}[a-z]")
_FILE_NAME = re.compile(r"[\w./-]*\w\.(?:py|pyi|go|js|jsx|ts|tsx|rs|java|kt|rb|php|c|cc|cpp|h"
                        r"|hpp|cs|swift|scala|lua|sh|vue)\b")
_ALONE_BEFORE, _ALONE_AFTER = r"(?<![\w.:/`-])", r"(?![\w/`(-]|\.\w|::)"  # a word on its own
_GLUED = re.compile(r"([a-z]+)[0-9]")  # a word's letters before its number: int32 -> int
_LOWER_WORD = re.compile(_ALONE_BEFORE + "[a-z][a-z0-9]*" + _ALONE_AFTER)
_CALL = re.compile(r"([A-Za-z_][\w.]*)\(")
_BACKTICK = re.compile(r"`([^`\n]{1,120})`")
# a commit's hash ("reverted in 6c4a77b", "since a3f9e0c1"): it names a revision, not code, and
# its letters and digits split into runs ("ba", "dab", "ff") that match code at random
_COMMIT_HASH = re.compile(r"(?<![\w./-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}"
                          r"(?![\w/-]|\.\w)")
_DEFINITION_KINDS = ("class", "function", "method", "interface", "struct", "type", "trait",
                     "enum", "module")


@dataclass
class _Candidate:
    chunk_id: int
    score: float = 0.0
    matched_by: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """What each retriever is given for one query."""

    lexical: str
    terms: tuple[str, ...]  # the lexical tokens (`lexical` is them joined)
    weighted: tuple[tuple[str, float], ...]  # `terms` with their BM25 weights
    variants: tuple[str, ...]  # inflections of the words in `terms` (`word_variants`)
    semantic: str
    identifiers: list[str]
    files: list[str]
    words: frozenset[str]
    long: bool
    name_lookup: bool  # short and code-like: the user names what they want
    traced: bool  # stack-trace frames supplied the first identifiers
    # words written in lower case on their own (not `Flask`, `flask.json`, `Flask-CLI`)
    lower_words: frozenset[str] = frozenset()
    # `words` and their inflections (`variants`, and a four-letter verb's bare form, "sets"
    # -> set): what the query spells out of a name or path
    spelled: frozenset[str] = frozenset()
    # `spelled` and, in a query of a sentence or two, the stop words it says that are a name's
    # content words (`tools.search_names`: "before" for `before_request`; a long text, an issue or
    # a log, says most of them) and its verbs as names say them (`said_in_names`): what the
    # query spells out of a name
    spelled_names: frozenset[str] = frozenset()


def is_test_unit(path: str, symbol: str | None) -> bool:
    """A test by its path (a test, fixture or test data file), or a Rust unit test inside
    a source file: Rust keeps them beside the code (`#[cfg(test)] mod tests`), so only the
    name tells: in a `tests` module, or a function named `test_*`."""
    if TEST_PATH.search(path):
        return True
    if not symbol or not path.endswith(".rs"):
        return False
    parts = symbol.split(".")
    return "tests" in parts or parts[-1].startswith("test_")


def path_prior(path: str, symbol: str | None = None) -> float:
    """Multiplier for a result's score by where it lives (tests and examples rank lower);
    with `symbol`, Rust unit tests in source files count as tests too."""
    if is_test_unit(path, symbol):
        return TEST_PRIOR
    if LOW_VALUE_PATH.search(path):
        return 0.75
    return 1.0


def _trace_identifiers(query: str) -> tuple[list[str], list[str]]:
    """(function names, file paths) from stack-trace frames, innermost frame first."""
    found = frames(query)
    return [f.function for f in found], [f.path for f in found]


def plan_query(query: str) -> QueryPlan:
    """Split a query into lexical words, symbol names, named files and dense text; the
    commit hashes it quotes among other words are left out of all of them (a query that is
    only a hash is searched as it is)."""
    unhashed = _COMMIT_HASH.sub(" ", query)
    query = unhashed if unhashed.strip() else query
    words = query.split()
    long = len(words) > LONG_QUERY_WORDS
    trace_names, trace_files = _trace_identifiers(query)
    idents = [*trace_names]
    for span in _BACKTICK.findall(query):
        idents.extend(_IDENT.findall(span))
    idents.extend(m for m in _CALL.findall(query))
    found = _IDENT.findall(query)
    if len(found) == 1 and not long:
        idents.extend(found)
    idents.extend(w for w in found if _CODE_LIKE.search(w))
    files = [*trace_files, *_FILE_NAME.findall(query)]
    idents = [i.strip(".") for i in idents if i.strip(".") and not _FILE_NAME.fullmatch(i)]
    idents = list(dict.fromkeys(i for i in idents if i.lower() not in STOP_WORDS))
    weighted = _weighted_terms(query, idents, long)
    terms = [t for t, _ in weighted]
    variants = tuple(word_variants(terms, compounds(query)))
    tokens = frozenset(identifier_tokens(query))
    plain = frozenset(t for t in tokens if t not in STOP_WORDS)
    # "int32" spells int32, not int: its letters alone name `Int` or `GetIntSlice`, which
    # the sentence does not (unless it says the word alone too)
    said = {w.lower() for w in WORD_RE.findall(query)}
    plain -= {m[1] for w in said if (m := _GLUED.match(w))} - said
    spelled = plain | frozenset(variants) | _short_singulars(plain)
    return QueryPlan(lexical=" ".join(terms), terms=tuple(terms), weighted=tuple(weighted),
                     variants=variants, semantic=dense_text(query) if long else query[:2000],
                     identifiers=idents[:MAX_IDENTIFIERS], files=list(dict.fromkeys(files)),
                     words=plain,
                     long=long, name_lookup=bool(idents) and len(words) <= NAME_QUERY_WORDS,
                     traced=bool(trace_names), lower_words=frozenset(_LOWER_WORD.findall(query)),
                     spelled=spelled,
                     spelled_names=spelled if long else spelled | said_in_names(tokens))


def project_token(name: str) -> str | None:
    """The word a query uses for the repository itself: its name's first part (`ripgrep`,
    `vue` of vue-core), at least 3 letters."""
    first = re.split(r"[^a-z0-9]+", name.lower())[0]
    return first if len(first) >= 3 else None


def project_weighted(plan: QueryPlan, name: str) -> list[tuple[str, float]]:
    """`plan.weighted` with the repository's own name, where the query says it in prose
    ("how does ripgrep decide a file is binary"), at `PROJECT_WEIGHT`: it names the whole
    project, not a place in it, and where it is rare in the code, packaging and docs that
    spell it out ranked first. Only a word in lower case on its own counts: `Flask` is
    also flask's main class, `Flask-CLI` another project, `ripgrep::` or `` `flask` ``
    code; alone, the query is left as it is."""
    token = _project_word(plan, name)
    if token is None:
        return list(plan.weighted)
    return [(t, w * PROJECT_WEIGHT if t == token else w) for t, w in plan.weighted]


def project_dense(plan: QueryPlan, name: str) -> str:
    """`plan.semantic` (what the embedders see) without the repository's own name where
    `project_weighted` lowers it: in a vector the name pulls toward the packaging and docs
    that spell it out as much as in BM25, and it cannot be weighted there, only left out."""
    token = _project_word(plan, name)
    if token is None:
        return plan.semantic
    text = re.sub(_ALONE_BEFORE + re.escape(token) + _ALONE_AFTER, "", plan.semantic)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _project_word(plan: QueryPlan, name: str) -> str | None:
    """The repository's name when `plan`'s query says it as a word of its prose (in lower
    case, on its own, beside other words, not inside an identifier it names), else None."""
    token = project_token(name)
    if (token is None or token not in plan.lower_words or token not in plan.terms
            or len(plan.terms) < 2
            or any(token in identifier_tokens(i) for i in plan.identifiers)):
        return None
    return token


_COMPOUND = re.compile(r"(?<![\w])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+(?![\w-])")


def compounds(query: str) -> list[str]:
    """Hyphenated words joined (`v-for` -> vfor, `--max-columns` -> maxcolumns,
    `keep-alive` -> keepalive): the identifier-joined token of the same name written in
    camelCase or snake_case (`vFor`, `max_columns`, `KeepAlive`), which the words alone
    (`v` is too short, `for` a stop word) do not reach."""
    return [m.replace("-", "").lower() for m in _COMPOUND.findall(query)]


def _short_singulars(words: frozenset[str]) -> frozenset[str]:
    """The singular of a four-letter word in -s ("sets" -> set, "gets" -> get, "runs" -> run),
    which `word_variants` leaves out (too short to search by): a definition's name spells
    the verb bare (`SetPath` for "sets the registered path")."""
    return frozenset(w[:-1] for w in words if len(w) == 4 and w.endswith("s")
                     and not w.endswith("ss") and w.isalpha())


def word_variants(terms: Sequence[str], joined: Sequence[str] = ()) -> list[str]:
    """Inflections of the query's words, since the index is not stemmed: plural and singular,
    and the stem of -ing and -ed forms ("handlers" -> handler; "routing" -> rout, route;
    "added" -> add, adde); and `joined` (`compounds`). Forms the index does not contain are
    dropped at search time."""
    out: list[str] = list(joined)
    for t in terms:
        if len(t) < 5 or t.isdigit():
            continue
        if t.endswith("ies"):
            out.append(t[:-3] + "y")
        elif t.endswith("es"):
            out += [t[:-2], t[:-1]]
        elif t.endswith("s") and not t.endswith("ss"):
            out.append(t[:-1])
        elif t.endswith("ing"):
            out += [t[:-3], t[:-3] + "e"]
        elif t.endswith("ed"):
            out += [t[:-2], t[:-1]]
    have = set(terms)
    return [v for v in dict.fromkeys(out) if v not in have]


def _word_tokens(word: str) -> list[str]:
    """Query tokens of one word: its identifier parts and the whole identifier, without the
    bare numbers of a word like `base64` or `sha1` (`64` matches any literal)."""
    parts = [p.lower() for p in PARTS_RE.findall(word)]
    if len(parts) <= 1:
        return parts
    return ["".join(parts)] + [p for p in parts if not p.isdigit()]


def _query_tokens(text: str) -> list[str]:
    tokens = [t for w in WORD_RE.findall(text) for t in _word_tokens(w)]
    return [t for t in tokens if t not in STOP_WORDS and len(t) > 1] or tokens


def _weighted_terms(query: str, idents: Sequence[str], long: bool) -> list[tuple[str, float]]:
    """BM25 terms and weights: every word at 1 for a short query; for a long one, the words
    of its identifiers, frames, error lines, code and title at 1 and its prose below
    (`tools.query_analysis`)."""
    if not long:
        return [(t, 1.0) for t in dict.fromkeys(_query_tokens(query))][:MAX_QUERY_TOKENS]
    named = [t for i in idents for w in WORD_RE.findall(i) for t in _word_tokens(w)]
    rest = weighted_terms(query, _query_tokens, MAX_QUERY_TOKENS)
    out = dict.fromkeys(named, 1.0)
    for t, w in rest:
        out.setdefault(t, w)
    return list(out.items())[:MAX_QUERY_TOKENS]


def default_weights() -> dict[str, float]:
    """The fusion weights of a repository without fitted ones (`tools.ranking_weights`):
    `WEIGHTS`, and `symbol_prose` for symbol matches named inside a sentence."""
    return {**WEIGHTS, "symbol_prose": SYMBOL_WEIGHT_PROSE}


def repository_weights(ctx: LiveIndex) -> ActiveWeights:
    """The weights fitted to this repository's history when they beat the defaults on its
    newer commits (`sextant eval --fit`), else the defaults."""
    return active_weights(ctx.index.paths.dir, default_weights())


def fusion_weights(plan: QueryPlan, base: Mapping[str, float] | None = None) -> dict[str, float]:
    """Symbol matches weigh fully for a name lookup or a stack trace; an identifier that a
    sentence merely mentions is more often a neighbour of the answer than the answer."""
    weights = dict(base if base is not None else default_weights())
    prose = weights.pop("symbol_prose", SYMBOL_WEIGHT_PROSE)
    if not (plan.name_lookup or plan.traced):
        weights["symbol"] = prose
    return weights


def _fuse(ranked: dict[str, Sequence[int]], weights: dict[str, float]) -> dict[int, _Candidate]:
    if "mapped" in ranked:
        # the model tier's weight, shared by its two lists: the query's neighbours and the
        # mapped query's (SEXTANT_QUERY_MAP=1; each at the full weight, commit -> files lost
        # R@5 on the tuning histories; docs/evals.md "Forty-eighth session")
        model = weights["semantic"]
        weights = {**weights, "semantic": model * (1 - MAPPED_SHARE),
                   "mapped": model * MAPPED_SHARE}
    out: dict[int, _Candidate] = {}
    for source, ids in ranked.items():
        for rank, cid in enumerate(ids):
            cand = out.setdefault(cid, _Candidate(cid))
            cand.score += weights[source] / (RRF_K + rank + 1)
            cand.matched_by.append(source)
    return out


def _name_matches(tables: SearchTables, plan: QueryPlan, limit: int) -> list[int]:
    """The definitions whose every name word a query of a sentence or two spells
    (`tools.search_names.name_matches`). Not for a long text (an issue, a log), which spells
    many names it is not about, nor where the query names identifiers itself (the symbol
    retriever's): "NamedTextIOWrapper: stop closing buffer" is about that class, not about
    every definition named with its words."""
    if plan.long or plan.identifiers:
        return []
    return name_matches(tables, plan.spelled_names, limit, path_prior)


def _symbol_matches(tables: SearchTables, plan: QueryPlan, limit: int) -> list[int]:
    """Chunks defining a symbol the query names, best first."""
    idents = plan.identifiers
    if not idents:
        return []
    names = [i.rsplit(".", 1)[-1] for i in idents]
    lowered = [n.lower() for n in names]
    found = [*lowered]
    if len(idents) <= 2 and len(lowered[0]) >= 4:
        found.extend(tables.with_prefix(lowered[0]))
    rows = [row for name in dict.fromkeys(found) for row in tables.symbols.get(name, ())]
    order = {n: i for i, n in reversed(list(enumerate(lowered)))}
    qualified = {i for i in idents if "." in i}

    def key(row: tuple[Any, ...]) -> tuple[Any, ...]:
        fid, name, qual, kind, line = row
        path = tables.files.get(fid, ("", None))[0]
        return (name.lower() not in order,
                qual not in qualified and not any(qual.endswith("." + q) for q in qualified),
                order.get(name.lower(), len(order)),
                not any(names_file(path, f) for f in plan.files), -path_prior(path),
                kind not in _DEFINITION_KINDS, name not in names, len(name), path, line)

    ids = (tables.chunk_at(r[0], r[4]) for r in sorted(rows, key=key)[:limit * 4])
    return list(dict.fromkeys(i for i in ids if i is not None))[:limit]


def _semantic(ctx: LiveIndex, text: str, limit: int) -> tuple[Hits, Hits]:
    """The model tier's neighbours of the query's vector, and of that vector moved toward
    code by the repository's query map (`indexer.live.query_map`; none without a map), each
    with every one tied with the last (`tools.ties`)."""
    vectors, embedder = ctx.vectors, ctx.embedder
    if vectors is None or embedder is None or len(vectors) == 0:
        return [], []
    with ctx.embed_lock:
        vec = embedder.embed_query(text)
    qmap = ctx.query_map  # loaded with the embedder, for its model (LiveIndex.attach_model)
    mapped = qmap.apply(vec) if qmap is not None else None
    return (complete_ties(lambda n: vectors.search(vec, n), limit),
            [] if mapped is None else complete_ties(lambda n: vectors.search(mapped, n), limit))


def _static(ctx: LiveIndex, text: str, ranked: Mapping[str, Sequence[int]],
            where: Callable[[int], Location], retrieve: int = 0) -> list[int]:
    """The static tier's ranking of the chunks that have no model vector yet among the other
    retrievers' first `STATIC_POOL` candidates and its own `STATIC_POOL` nearest: most
    similar to `text` in the static space first (its embedder is thread-safe: no lock);
    with `retrieve` (mode "semantic": nothing else retrieved), its own nearest `retrieve`
    chunks, ties complete and by location (`tools.ties`). Once the model tier covers a
    chunk, the static tier has no say on it (docs/evals.md: as a separate retriever at
    weight 1.0 it lowered MRR@10 with the model tier, 0.543 -> 0.487 held-out)."""
    static = ctx.static
    if static is None:
        return []
    vectors = ctx.vectors
    # once the model tier covers as many chunks as the static tier, its own nearest would
    # all be dropped below: skip the search (in mode "semantic" too, where it read the whole
    # matrix on every call to return nothing)
    covered = vectors is not None and len(vectors) >= len(static)
    own = [] if covered else by_location(
        complete_ties(lambda n: static.scored(text, n), retrieve or STATIC_POOL),
        retrieve or STATIC_POOL, where)
    cands = own if retrieve else list(dict.fromkeys(
        [*(i for ids in ranked.values() for i in ids[:STATIC_POOL]), *own]))
    if vectors is not None and len(vectors) and cands:
        has = vectors.contains_many(cands)
        cands = [c for c, h in zip(cands, has, strict=True) if not h]
    # rerank sorts stably: equal similarities keep the candidates' (location-stable) order
    return cands if retrieve else static.rerank(text, cands)


def _has_vectors(ctx: LiveIndex) -> bool:
    static = ctx.static
    return bool((ctx.vectors is not None and len(ctx.vectors)) or
                (static is not None and len(static)))


def _load_text(ctx: LiveIndex, ids: Sequence[int]) -> dict[int, str]:
    return ctx.index.store.chunk_texts(list(ids)) if ids else {}


def _graph_prior(tables: SearchTables, paths: Sequence[str]) -> dict[str, float]:
    """Multiplier per candidate file from the import graph: global PageRank, and how many
    other candidate files import it (or its Go package directory). Neutral before the
    graph is built."""
    candidates = set(paths[:30])
    out: dict[str, float] = {}
    for p in paths:
        boost = 1.0 + RANK_BOOST * math.sqrt(tables.rank.get(p, 0.0))
        importers = tables.importers.get(p, set()) | tables.importers.get(posixpath.dirname(p),
                                                                          set())
        n = len((importers & candidates) - {p})
        out[p] = boost * (1.0 + IMPORTER_BOOST * min(n, 4))
    return out


@functools.lru_cache(maxsize=1 << 16)
def _path_words(path: str) -> frozenset[str]:
    """Words of a path's directories and stem (`src/flask/json/tag.py` -> src flask json tag)."""
    parts = path.rsplit(".", 1)[0].split("/")
    return frozenset(t for part in parts for t in identifier_tokens(part) if len(t) > 2)


def _path_match(path: str, plan: QueryPlan) -> float:
    """Multiplier when the query names the file, its module or one of its directories (a
    word or its inflection: "networks" names `network_list.go`)."""
    boost = 1.0
    if any(names_file(path, f) for f in plan.files):
        boost += NAMED_FILE_BOOST
    hits = len(_path_words(path) & plan.spelled)
    if hits and not plan.long:
        boost += PATH_BOOST * min(hits, 2)
    return boost


on_settle(_path_words.cache_clear)  # up to 64k entries each: a settled server forgets them


def _name_cover(tables: SearchTables, chunk: ChunkMeta, spelled: frozenset[str],
                owners: bool, project: str | None) -> float:
    """How much of the chunk's defined name the query spells out (`spelled_out`, words or
    their inflections, with its owner's words when `owners`, less `project`); for a block of
    merged definitions, its best member's. A definition the
    query describes by name should rank above a neighbour whose comment repeats the
    query's other words (docs/evals.md: "Name words")."""
    fid, start, end, symbol, kind = chunk
    if symbol:
        return spelled_out(symbol, spelled, owners, project)
    if kind != "block":
        return 0.0
    return max((spelled_out(qual, spelled, owners, project)
                for qual, _, lo, hi in tables.members.get(fid, ())
                if lo >= start and hi <= end), default=0.0)


@dataclass(slots=True)
class _Ranked:
    cid: int
    score: float
    meta: tuple[Any, ...]
    matched_by: list[str]
    boost: float = 1.0  # name words and kind (`DATA_KIND_PRIOR`), within the chunk's file


@dataclass(frozen=True, slots=True)
class RepoPriors:
    """What ranking knows of the repository beyond the query's candidates: its vendored
    copies (`tools.vendored`), its own name (no owner's word in the name-words boost,
    `spelled_out`) and the files that past commits like the query changed, as multipliers
    (`tools.search_history`)."""

    copies: Mapping[str, str] = field(default_factory=dict)
    project: str | None = None
    history: Mapping[str, float] = field(default_factory=dict)


def _rank(tables: SearchTables, fused: dict[int, _Candidate], plan: QueryPlan,
          language: str | None, path: str | None, repo: RepoPriors | None = None,
          names: bool = True) -> list[_Ranked]:
    """Fused candidates with the priors applied, best first; `names`: the name-words boost
    (chunk answers; files are ranked by all their chunks, `tools.files`, without it). The
    history's multipliers weigh the same first files the graph prior weighs."""
    repo = repo or RepoPriors()
    copies, project = repo.copies, repo.project
    out: list[_Ranked] = []
    spelled = plan.spelled_names if names else frozenset()
    data_prior, head_prior = _kind_priors(tables, plan, names)
    for cand in fused.values():
        chunk = tables.chunks.get(cand.chunk_id)
        if chunk is None:
            continue
        fid, start, end, symbol, kind = chunk
        p, lang = tables.files.get(fid, ("", None))
        row = (cand.chunk_id, p, start, end, symbol, kind, lang)
        if language and (lang or "text") != language.lower():
            continue
        if not in_scope(p, path):
            continue
        score = cand.score * path_prior(p, symbol) * _path_match(p, plan)
        if copies and is_vendored(p, copies):
            score *= VENDORED_PRIOR
        if lang is None:
            score *= PROSE_PRIOR
        boost = 1.0 if lang is None else 1.0 + NAME_BOOST * _name_cover(
            tables, chunk, spelled, not plan.long, project)
        if kind in _DATA_KINDS:
            boost *= data_prior
        elif kind in _HEAD_KINDS and not names_all(symbol, spelled):
            boost *= head_prior
        out.append(_Ranked(cand.chunk_id, score, row, cand.matched_by, boost))
    out.sort(key=_order)
    files = list(dict.fromkeys(r.meta[1] for r in out))
    graph = _graph_prior(tables, files[:60])
    for p, lift in repo.history.items():
        if p in graph:
            graph[p] *= lift
    for r in out:
        r.score *= graph.get(r.meta[1], 1.0)
    out.sort(key=_order)
    return _reorder_within_files(out)


def _kind_priors(tables: SearchTables, plan: QueryPlan, names: bool) -> tuple[float, float]:
    """The multipliers of a type, constant or variable and of a class head against their
    file's functions: `DATA_KIND_PRIOR` for a query that describes behaviour, scaled by how
    likely it does rather than describe a type, as the repository's docstrings word each
    (`tools.search_kinds`); none for a name lookup or a stack trace, and none for a class
    head asked by a long text (an issue often asks to change the head itself)."""
    if not names or plan.name_lookup or plan.traced:
        return 1.0, 1.0
    data = 1.0 - (1.0 - DATA_KIND_PRIOR) * behaviour_share(tables, plan.semantic)
    return data, 1.0 if plan.long else data


def _reorder_within_files(ranked: list[_Ranked]) -> list[_Ranked]:
    """Each file keeps the places its chunks hold; within them, its chunks are ordered
    with the name-words boost. Which file comes first is decided without it: across files
    the boost lowered held-out commit -> files MRR@10 by 0.035 (docs/evals.md). A chunk
    takes the score of the place it lands in, so scores still descend down the list (what
    re-sorts by score downstream, e.g. get_context, keeps the boosted order)."""
    slots: dict[str, list[int]] = {}
    for i, r in enumerate(ranked):
        slots.setdefault(r.meta[1], []).append(i)
    out = list(ranked)
    for places in slots.values():
        mine = sorted((ranked[i] for i in places), key=_boosted_order)
        scores = [ranked[i].score for i in places]
        for i, r, score in zip(places, mine, scores, strict=True):
            r.score = score
            out[i] = r
    return out


def _boosted_order(r: _Ranked) -> tuple[Any, ...]:
    return (-r.score * r.boost, *_order(r)[1:])


def _order(r: _Ranked) -> tuple[Any, ...]:
    """Best score first; equal scores by place (path, lines, symbol, kind), never by chunk
    id or insertion order, which differ between a fresh and an updated index."""
    _, path, start, end, symbol, kind, _ = r.meta
    return (-r.score, path, start, end, symbol or "", kind)


def _snippet(text: str, max_lines: int) -> str:
    lines = text.splitlines()
    if len(lines) <= max_lines:
        return text
    return "\n".join(lines[:max_lines]) + f"\n... ({len(lines) - max_lines} more lines)"


def _levels() -> list[Any]:
    def full(h: SearchHit) -> SearchHit:
        return h

    def short(h: SearchHit) -> SearchHit:
        return h.model_copy(update={"snippet": _snippet(h.snippet, 6)})

    def line(h: SearchHit) -> SearchHit:
        first = next((ln.strip() for ln in h.snippet.splitlines() if ln.strip()), "")
        return h.model_copy(update={"snippet": first[:160]})

    return [full, short, line]


def _check(query: str, mode: str, granularity: str = "chunk") -> str:
    query = query.strip()
    if not query:
        raise ArgumentError("query is empty: describe the code you are looking for, or name it")
    if mode not in MODES:
        raise ArgumentError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if granularity not in GRANULARITIES:
        raise ArgumentError(f"granularity must be one of {', '.join(GRANULARITIES)}, "
                            f"not {granularity!r}")
    return query


@dataclass(frozen=True, slots=True)
class Retrieved:
    """One query's plan and each retriever's ranked chunk ids, before fusion."""

    plan: QueryPlan
    ranked: dict[str, Sequence[int]]


def _pool(k: int, filtered: bool, granularity: str) -> int:
    pool = max(60, k * 6) * (8 if filtered else 1)
    return max(pool, FILE_POOL) if granularity == "file" else pool


def _retrieve(ctx: LiveIndex, tables: SearchTables, plan: QueryPlan, mode: str,
              pool: int) -> dict[str, Sequence[int]]:
    ranked: dict[str, Sequence[int]] = {}
    # The query embedding (native code, GIL released) runs while the lexical retrievers do.
    dense = mode in ("hybrid", "semantic")
    text = project_dense(plan, ctx.name) if dense else ""
    semantic = _SEMANTIC_POOL.submit(_semantic, ctx, text, pool) if dense else None
    if mode in ("hybrid", "lexical"):
        weight = PROSE_WEIGHT if plan.long else 1.0
        terms = [*project_weighted(plan, ctx.name),
                 *((v, weight) for v in ctx.index.lexical.known(plan.variants))
                 ][:MAX_QUERY_TOKENS]
        lexical = ctx.index.lexical
        ranked["lexical"] = by_location(
            complete_ties(lambda n: lexical.search(terms, n), pool), pool, tables.location)
        ranked["symbol"] = _symbol_matches(tables, plan, 20)
        ranked["names"] = _name_matches(tables, plan, 20)
    if semantic is not None:
        plain, mapped = semantic.result()
        ranked["semantic"] = by_location(plain, pool, tables.location)
        if mapped:
            ranked["mapped"] = by_location(mapped, pool, tables.location)
        ranked["static"] = _static(ctx, text, ranked, tables.location,
                                   pool if mode == "semantic" else 0)
    if mode == "semantic" and not _has_vectors(ctx):
        raise ToolError("semantic search needs embeddings, and none exist yet: use mode "
                        "'hybrid' or 'lexical', or wait for embedding (see index_status)")
    return ranked


def retrieve(ctx: LiveIndex, query: str, k: int = 10, mode: str = "hybrid") -> Retrieved:
    """What `search_code(ctx, query, k, mode=mode)` retrieves before fusing (for fitting
    the fusion weights: retrieve once, fuse with many weights)."""
    plan = plan_query(_check(query, mode))
    tables = search_tables(ctx.index.store)
    return Retrieved(plan, _retrieve(ctx, tables, plan, mode, _pool(k, False, "chunk")))


def _history(ctx: LiveIndex, plan: QueryPlan) -> dict[str, float]:
    """The files similar past commits changed, as multipliers (`tools.search_history`); none
    for a name lookup or a stack trace, which name what they want."""
    if plan.name_lookup or plan.traced:
        return {}
    return history_prior(ctx.history, {*plan.terms, *plan.variants})


def ranked_paths(ctx: LiveIndex, got: Retrieved, weights: Mapping[str, float],
                 k: int = 10) -> list[str]:
    """The distinct files of `search_code`'s first k chunk hits for `got`, fused with
    `weights` (near-identical copies are not collapsed here)."""
    return files_of(search_tables(ctx.index.store), got, vendored(ctx.index.store), weights, k)


def files_of(tables: SearchTables, got: Retrieved, copies: Mapping[str, str],
             weights: Mapping[str, float] | None = None, k: int = 10) -> list[str]:
    """`ranked_paths` over given tables and vendored copies (`evals.retrievals` re-ranks
    kept retrievals of past index states with it); `weights`: the defaults when None."""
    fused = _fuse(got.ranked, fusion_weights(got.plan, weights))
    ordered = _rank(tables, fused, got.plan, None, None, RepoPriors(copies))
    return list(dict.fromkeys(r.meta[1] for r in select(tables, ordered, k)))


def search_code(
    ctx: LiveIndex, query: str, k: int = 10, language: str | None = None,
    path: str | None = None, mode: str = "hybrid", max_tokens: int = 4000,
    granularity: str = "chunk",
) -> SearchResult:
    """Find code by meaning and by name; see the module docstring for the ranking.
    `granularity="file"` answers with files ranked by all their evidence (`tools.files`)."""
    started = time.perf_counter()
    plan = plan_query(_check(query, mode, granularity))
    if path:
        check_glob(path)
    tables = search_tables(ctx.index.store)
    ranked = _retrieve(ctx, tables, plan, mode, _pool(k, bool(language or path), granularity))
    weights = fusion_weights(plan, repository_weights(ctx).weights)
    if mode == "semantic":  # the static tier retrieved what the model tier cannot reach yet
        weights["static"] = weights["semantic"]
    fused = _fuse(ranked, weights)
    copies = vendored(ctx.index.store)
    project = project_token(ctx.name)
    # the history is evidence about files: a chunk answer's order within and across files
    # is the retrievers' (with it, docstring -> function fell on two of five tuning sets)
    history = _history(ctx, plan) if granularity == "file" else {}
    ordered = _rank(tables, fused, plan, language, path, RepoPriors(copies, project, history),
                    granularity == "chunk")
    if granularity == "file":
        files = _rank_files(ordered)
        if not (language or path):  # a neighbour could be outside the filters
            files = walk(files, tables.importers, functools.partial(_file_prior, tables, copies))
        files = files[:k]
        return _render(ctx, _file_hits(ctx, files), mode, max_tokens, started)
    # room for copies that collapse into one hit
    best = select(tables, ordered, 2 * k, ctx.index.store.chunk_texts)
    texts = _load_text(ctx, [r.cid for r in best])
    best, same = _collapse_copies(best, texts, k)
    narrowed = narrow_blocks(tables.members, [
        BlockHit(r.cid, tables.chunks[r.cid][0], r.meta[2], r.meta[3]) for r in best
        if r.meta[5] == "block" and r.meta[6] is not None], texts, plan.terms, _named(plan),
        lambda qualname: spelled_out(qualname, plan.spelled_names, not plan.long, project),
        _static_closeness(ctx, plan) if mode != "lexical" else None)
    hits = [_hit(r, texts.get(r.cid, ""), narrowed.get(r.cid), same.get(r.cid, []))
            for r in best]
    return _render(ctx, hits, mode, max_tokens, started)


def _static_closeness(ctx: LiveIndex, plan: QueryPlan) -> Similar | None:
    """How close texts are to the query in the static tier's space (narrowing a block where
    the query's words decide nothing; `tools.search_narrow`), None without the static tier.
    The query is embedded once, when first asked; its text is the dense side's."""
    static = ctx.static
    if static is None:
        return None
    import numpy as np  # the static tier has it loaded; a lexical CLI search never does

    embedder = static.embedder
    query: list[np.ndarray] = []

    def closeness(texts: Sequence[str]) -> Sequence[float]:
        if not query:
            query.append(np.asarray(embedder.embed_query(project_dense(plan, ctx.name))))
        sims: list[float] = (np.asarray(embedder.embed_documents(list(texts)))
                             @ query[0]).tolist()
        return sims
    return closeness


def _file_prior(tables: SearchTables, copies: Mapping[str, str], path: str) -> float:
    """Path and vendoring priors of a file the graph walk reaches; 0 for a directory."""
    if path not in tables.file_ids:
        return 0.0
    return path_prior(path) * (VENDORED_PRIOR if is_vendored(path, copies) else 1.0)


def _rank_files(ranked: list[_Ranked]) -> list[RankedFile]:
    return rank_files((Evidence(r.cid, r.meta[1], r.score, r.meta[2], r.meta[3], r.meta[4],
                                r.meta[5]), r.matched_by) for r in ranked)


def _file_hits(ctx: LiveIndex, files: list[RankedFile]) -> list[SearchHit]:
    """One hit per file: its whole line range, the chunks that matched, and the best one."""
    texts = _load_text(ctx, [f.evidence[0].chunk_id for f in files if f.evidence])
    rows = ctx.index.store.query("SELECT path, lines, language FROM files WHERE "
                                 "list_contains(?, path)", [[f.path for f in files]])
    meta = {r[0]: (r[1] or 1, r[2]) for r in rows}
    hits = []
    for f in files:
        lines, language = meta.get(f.path, (1, None))
        best = texts.get(f.evidence[0].chunk_id, "") if f.evidence else ""
        snippet = (evidence_lines(f) + "\n" + _snippet(best, SNIPPET_LINES // 2)).strip() or (
            "imports or is imported by the files above")
        hits.append(SearchHit(path=f.path, start_line=1, end_line=max(1, lines), symbol=None,
                              kind="file", language=language or "text",
                              score=round(f.score * 1000, 3), snippet=snippet,
                              matched_by=sorted(f.matched_by)))
    return hits


def _named(plan: QueryPlan) -> list[str]:
    """Identifiers the query names outright: all of them in a name lookup or a stack trace,
    else those written as calls or in backticks (a sentence's other capitalised words are
    often neighbours: "(MsgPack) encodes ..." documents MsgPack.Render)."""
    if plan.name_lookup or plan.traced:
        return plan.identifiers
    text = plan.semantic
    return [*_CALL.findall(text), *(i for span in _BACKTICK.findall(text)
                                    for i in _IDENT.findall(span))]


def _collapse_copies(best: list[_Ranked], texts: dict[int, str], k: int
                     ) -> tuple[list[_Ranked], dict[int, list[str]]]:
    """The first k hits once near-identical copies in other files collapse into the best
    of them (`tools.duplicates`), and where each hit's copies are (`path:start-end`)."""
    groups = collapse([r.meta[1] for r in best], [texts.get(r.cid, "") for r in best])[:k]
    copies = {best[g[0]].cid: [f"{best[i].meta[1]}:{best[i].meta[2]}-{best[i].meta[3]}"
                               for i in g[1:]] for g in groups if len(g) > 1}
    return [best[g[0]] for g in groups], copies


def _hit(r: _Ranked, text: str, member: Narrowed | None,
         duplicates: list[str] | None = None) -> SearchHit:
    _, path, start, end, symbol, kind, language = r.meta
    if member is not None:  # a merged block, narrowed to the definition the query names
        start, end, symbol, kind, text = (member.start_line, member.end_line, member.symbol,
                                          member.kind, member.text)
    return SearchHit(path=path, start_line=start, end_line=end, symbol=symbol, kind=kind,
                     language=language or "text", score=round(r.score * 1000, 3),
                     snippet=_snippet(text, SNIPPET_LINES), matched_by=sorted(set(r.matched_by)),
                     duplicates=duplicates or [])


def _coverage(ctx: LiveIndex) -> TierCoverage:
    """Both tiers' counts; the chunk count from the in-memory tables of this generation."""
    total = len(search_tables(ctx.index.store).chunks)
    static, vectors = ctx.static, ctx.vectors
    cov = Coverage(chunks=total, static=min(total, len(static)) if static is not None else 0,
                   model=min(total, len(vectors)) if vectors is not None else 0)
    return TierCoverage(chunks=cov.chunks, static=cov.static, model=cov.model,
                        model_state=ctx.model_state(cov))


def _render(ctx: LiveIndex, hits: list[SearchHit], mode: str, max_tokens: int,
            started: float) -> SearchResult:
    hits = [h.model_copy(update={"repo": ctx.name}) for h in hits]  # counted by the fit
    freshness = answer_freshness(ctx, {h.path for h in hits})
    coverage = _coverage(ctx)
    share = round(coverage.model / coverage.chunks, 4) if coverage.chunks else 0.0

    def build(kept: list[SearchHit], omitted: int, degraded: bool) -> SearchResult:
        return SearchResult(
            results=kept, took_ms=round((time.perf_counter() - started) * 1000, 2),
            truncated=degraded or omitted > 0, mode=mode, embedded_share=share,
            omitted=Omitted(count=omitted, hint="raise max_tokens, lower k, or narrow with "
                            "path/language") if omitted else None,
            freshness=freshness, coverage=coverage)

    return fit_answer(hits, _levels(), max_tokens, build)
