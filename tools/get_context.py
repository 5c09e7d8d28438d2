"""get_context: the code a task needs, from several retrieval stages, within one budget.

1. **Find** (`_found`): `search_code`'s hybrid retrieval over the task text (a question, an
   issue report, a stack trace: its long-query handling applies). Each hit becomes a unit:
   the innermost definition holding it (a chunk of a definition too long to send whole); a
   definition starts at the comment, attribute and decorator lines right above it, as its
   chunk does (a Go doc comment).
   The best file (the one whose hits' scores sum highest), when it costs at most
   `WHOLE_FILE_SHARE` of the budget (`DOMINANT_SHARE` when its hits outvote the next
   file's `DOMINANCE` times), is also a unit of its own: the whole file (a change often
   touches several places of one file: its imports, a constant, two functions), ranked
   with its best hit; so is each of the next best files that is small
   (`SMALL_FILE_SHARE`: sending it whole costs little more than its parts); so is the class
   around each of the best hits
   (the change is often in a neighbouring method or the class body), and the top of the
   best files (imports, constants). A best hit's definition is whole even past
   `MAX_BODY_LINES` when it costs at most `LONG_SHARE` of the budget, and the definitions of
   the best files that the task names (its code identifiers, `tools.search.plan_query`) are
   units of their own.
2. **Neighbours** (`_neighbours`): from the best units, what they need and what needs them:
   callees and base classes (out), callers and subclasses (in, tests among them) from the
   reference graph, ranked by personalized PageRank (`indexer.graph.expand`) and weighted
   by the seed's relevance (a window of a definition too long to send is a seed for what
   its own lines call, and for the definition's callers and bases: not for everything a
   long class's methods call); from the best files, the `FILE_NEIGHBOURS` best ranked of the
   files they import and the files (tests among them) importing them, each as one line (a
   Go file "imports" its whole package: 29 such lines took a quarter of an 8k answer on
   gin). A neighbour is a signature unless there is evidence for its body: the
   task names it, or it is one of the best hit's `CALL_BODIES` best ranked callers and
   callees. Files the user edited lately (the watcher's recent paths) rank higher. A unit
   of a test file (a hit or a neighbour) is a signature unless the task names it
   (`TEST_BODIES`): a test that shares the task's words is found, where it is and what it
   is called are sent, and its body (often long) does not crowd out the code to change.
3. **Pack** (`tools.context_pack`): one budget, hierarchically: bodies for the few most
   relevant units, signatures with docstrings for neighbours, one line per relevant
   directory; nothing twice; what did not fit is listed with the call that fetches it; what
   this session already received is referred to, not resent (`tools.working_set`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from indexer.chunk import ATTACHED
from indexer.core import count_tokens
from indexer.graph import (
    DEF_COLS,
    Definition,
    Neighbourhood,
    Node,
    definition,
    expand,
    file_node,
    symbol_node,
    with_texts,
)
from indexer.graph import graph_ready as _graph_ready
from indexer.live import LiveIndex
from indexer.summaries import summarize
from tools.budget import MAX_MAX_TOKENS
from tools.context_models import ContextResult
from tools.context_pack import MAX_BODY_LINES, Source, Unit, pack
from tools.errors import ArgumentError
from tools.freshness import freshness as answer_freshness
from tools.models import SearchHit
from tools.search import is_test_unit, path_prior, plan_query, search_code
from tools.source import check_glob, in_scope, read_lines
from tools.working_set import WorkingSet

SEARCH_K = 15  # search hits per 6000 tokens of budget (at least this many)
MAX_TASK_CHARS = 20000  # the longest task (an issue with its traceback; not whole logs)
SEED_SYMBOLS = 6  # units whose graph neighbours are added
SEED_FILES = 3
NEIGHBOUR_WEIGHT = 0.6  # a neighbour's score against its seed's
FILE_WEIGHT = 0.25
FILE_NEIGHBOURS = 4  # files importing or imported by a best file, best ranked first
RECENT_BOOST = 1.5  # files the user edited lately
DIRECTORIES = 3
HEAD_LINES = 60  # at most this much of a file's top (imports, constants)
HEAD_WEIGHT = 0.5
HEAD_FILES = 5  # the best files whose top is a unit
NAMED_FILES = 5  # definitions the task names are looked for in the best files
NAMED_WEIGHT = 0.9  # against the best hit of their file
LONG_HITS = 3  # the best hits whose definition is sent whole even when long...
LONG_SHARE = 0.35  # ...when it costs at most this share of the budget
WHOLE_FILES = 1  # the best file sent whole when small enough
WHOLE_FILE_SHARE = 0.7  # of the budget, at most, per whole file
FILE_VOTES = True  # the best files by the summed scores of their hits (else the best hit's)
SMALL_FILES = 5  # of the files hit, the best this many are whole when they are small...
SMALL_FILE_SHARE = 0.15  # ...costing at most this share of the budget
ENCLOSING_HITS = 3  # the best hits whose enclosing class is sent whole when small enough
ENCLOSING_SHARE = 0.25
NAMED_NEIGHBOURS = True  # a graph neighbour the task names is a body, not a signature
CALL_BODIES = 2  # the best hit's callers and callees sent as bodies (the best ranked)
DOMINANT_SHARE = 0.85  # the best file's share when its hits outvote the next file's...
DOMINANCE = 1.5  # ...this many times (0 share: no such rule)
TEST_BODIES = False  # a unit of a test file is a signature unless the task names it
_DEF_KINDS = frozenset(("function", "method", "class", "interface", "struct", "trait", "enum",
                        "type", "module", "impl"))


def get_context(ctx: LiveIndex, task: str, max_tokens: int = 8000, path: str | None = None,
                working: WorkingSet | None = None, resend: bool = False) -> ContextResult:
    """Context for `task` within `max_tokens`; see the module docstring for the stages."""
    task = task.strip()
    if not task:
        raise ArgumentError("task is empty: describe the change, paste the issue or the traceback")
    if path:
        check_glob(path)
    budget = min(max_tokens, MAX_MAX_TOKENS)
    definitions = Definitions(ctx)
    units = gather(ctx, task, path, budget, k=search_k(max_tokens), definitions=definitions)
    freshness = answer_freshness(ctx, {u.path for u in units if u.kind != "directory"})
    source = Source(ctx.root, ctx.name, definitions.files)  # the lines the stages read
    return pack(source, task, units, budget, freshness, working=working, resend=resend)


def search_k(max_tokens: int) -> int:
    """How many search hits stage 1 takes for a budget of `max_tokens`."""
    return max(SEARCH_K, min(50, max_tokens * SEARCH_K // 6000))


def gather(ctx: LiveIndex, task: str, path: str | None, budget: int,
           k: int = SEARCH_K, definitions: Definitions | None = None) -> list[Unit]:
    """Stages 1 and 2: ranked units, best first, without duplicates; whole files only
    where one costs at most `WHOLE_FILE_SHARE` of `budget`."""
    hits = search_code(ctx, task, k=k, path=path, max_tokens=MAX_MAX_TOKENS).results
    defs = definitions if definitions is not None else Definitions(ctx)
    found = _found(defs, hits, budget)
    names = task_names(task)
    units: dict[tuple[str, int, int], Unit] = {}
    _merge(units, found)
    _merge(units, _whole_files(defs, found, budget))
    _merge(units, _enclosing(defs, found, budget))
    _merge(units, _named(defs, names, found))
    _merge(units, _module_heads(defs, found))
    if found and _graph_ready(ctx.index):
        _merge(units, _neighbours(ctx, defs, found, path, names))
    if not TEST_BODIES:
        for u in units.values():
            if u.kind != "file" and is_test_unit(u.path, u.symbol) and not _named_by(u, names):
                u.max_detail = _weaker(u.max_detail, "signature")
    recent = set(ctx.recently_changed())
    for u in units.values():
        if u.path in recent:
            u.score *= RECENT_BOOST
            u.reasons.append("edited lately")
    ranked = sorted(units.values(), key=lambda u: (-u.score, u.path, u.start))
    return ranked + _directories(ctx, ranked)


def _merge(units: dict[tuple[str, int, int], Unit], new: Iterable[Unit]) -> None:
    for u in new:
        old = units.get(u.key)
        if old is None:
            units[u.key] = u
            continue
        old.score = max(old.score, u.score)
        old.reasons += [r for r in u.reasons if r not in old.reasons]
        if _DETAIL_RANK[u.max_detail] < _DETAIL_RANK[old.max_detail]:
            old.max_detail = u.max_detail


_DETAIL_RANK = {"body": 0, "signature": 1, "line": 2}


def _weaker(a: str, b: str) -> str:
    return a if _DETAIL_RANK[a] >= _DETAIL_RANK[b] else b


def _named_by(u: Unit, names: set[str]) -> bool:
    return bool(u.symbol) and any(part in names for part in _NAME.findall(u.symbol or ""))


# -- stage 1 ----------------------------------------------------------------------------------


def _definitions(ctx: LiveIndex, paths: Iterable[str]) -> dict[str, list[Definition]]:
    wanted = sorted(set(paths))
    out: dict[str, list[Definition]] = {p: [] for p in wanted}
    if not wanted:
        return out
    rows = ctx.index.store.query(
        f"SELECT {DEF_COLS} FROM symbols s JOIN files f USING (file_id) "
        "WHERE f.path IN (SELECT unnest(?))", [wanted])
    for row in rows:
        d = definition(row)
        if d.kind in _DEF_KINDS:
            out[d.path].append(d)
    return out


LEADING_LINES = 40  # at most this many lines above a definition are its own


class Definitions:
    """The definitions of files, read from the store once per call: the stages ask for
    overlapping sets of files (the hits' files, then the best of them), and only the files
    not asked for before are queried."""

    def __init__(self, ctx: LiveIndex) -> None:
        self._ctx = ctx
        self._by_path: dict[str, list[Definition]] = {}
        self.files: dict[str, list[str]] = {}  # path -> lines, read once per call

    def lines(self, path: str) -> list[str]:
        """The lines of `path`, read once per call."""
        if path not in self.files:
            self.files[path] = read_lines(self._ctx.root, path)
        return self.files[path]

    def first_line(self, d: Definition) -> int:
        """Where `d` starts with the comment, attribute and decorator lines right above it
        (no blank line between: a Go or JSDoc doc comment, a Rust `#[...]`; the chunker's
        `ATTACHED`): they are part of it, its chunk holds them, and a hit that starts there
        is a hit of it."""
        lines = self.lines(d.path)
        start = d.start_line
        while (start > 1 and d.start_line - start < LEADING_LINES and start - 2 < len(lines)
               and lines[start - 2].lstrip().startswith(ATTACHED)):
            start -= 1
        return start

    def unit(self, d: Definition, score: float, reason: str,
             max_detail: str = "body") -> Unit:
        """`d` as a unit: from its first line (`first_line`), its signature where it is."""
        return Unit(d.path, self.first_line(d), d.end_line, d.kind, d.qualname, d.signature,
                    d.doc, score, [reason], max_detail, head=d.start_line)

    def of(self, paths: Iterable[str]) -> dict[str, list[Definition]]:
        wanted = sorted(set(paths))
        missing = [p for p in wanted if p not in self._by_path]
        if missing:
            self._by_path.update(_definitions(self._ctx, missing))
        return {p: self._by_path[p] for p in wanted}


def _innermost(definitions: Definitions, defs: list[Definition], start: int,
               end: int) -> Definition | None:
    holding = [d for d in defs if definitions.first_line(d) <= start and end <= d.end_line]
    return min(holding, key=lambda d: d.end_line - d.start_line, default=None)


def _found(definitions: Definitions, hits: list[SearchHit], budget: int) -> list[Unit]:
    if not hits:
        return []
    defs = definitions.of(h.path for h in hits)
    top = max(h.score for h in hits) or 1.0
    out: list[Unit] = []
    for rank, h in enumerate(hits):
        score = max(h.score / top, 0.05) / (1 + 0.05 * rank)
        d = _innermost(definitions, defs[h.path], h.start_line, h.end_line)
        if d is not None and (d.end_line - d.start_line < MAX_BODY_LINES or (
                rank < LONG_HITS and _fits(definitions, d, LONG_SHARE * budget))):
            out.append(definitions.unit(d, score, "match"))
            continue
        first = next((ln.strip() for ln in h.snippet.splitlines() if ln.strip()), "")
        out.append(Unit(h.path, h.start_line, h.end_line, h.kind if d is None else "chunk",
                        h.symbol, d.signature if d else first, d.doc if d else "", score,
                        ["match"]))
    return out


def _fits(definitions: Definitions, d: Definition, room: float) -> bool:
    """Whether `d`'s body costs at most `room` tokens (as JSON: about a tenth more)."""
    lines = definitions.lines(d.path)[d.start_line - 1:d.end_line]
    return count_tokens("\n".join(lines)) * 1.1 <= room


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def task_names(task: str) -> set[str]:
    """The names of definitions a task mentions: the parts of its code identifiers
    (`click.style` -> click, style; `Flask.make_response()`), dunders and short words left out."""
    names = {n for ident in plan_query(task).identifiers for n in _NAME.findall(ident)}
    return {n for n in names if len(n) >= 4 and not n.startswith("__")}


def _named(definitions: Definitions, names: set[str], found: list[Unit]) -> list[Unit]:
    """The definitions of the best files that the task names (`task_names`), as bodies
    when not too long (the task often names the function to change; search may rank
    another one first)."""
    best: dict[str, float] = {}
    for u in found:
        best.setdefault(u.path, u.score)
    if not names or not best:
        return []
    defs = definitions.of(list(best)[:NAMED_FILES])
    return [definitions.unit(d, best[p] * NAMED_WEIGHT, "named in the task")
            for p, found_defs in defs.items() for d in found_defs
            if d.name in names and d.end_line - d.start_line < MAX_BODY_LINES]


def _file_ranking(found: list[Unit]) -> list[tuple[str, float, float]]:
    """The files hit, best first, with the score of their best hit and the sum of their
    hits' scores (their votes); ranked by votes with `FILE_VOTES`, else by the best hit."""
    best: dict[str, float] = {}
    votes: dict[str, float] = {}
    for u in found:
        best.setdefault(u.path, u.score)
        votes[u.path] = votes.get(u.path, 0.0) + u.score
    order = sorted(best, key=lambda p: -votes[p]) if FILE_VOTES else list(best)
    return [(p, best[p], votes[p]) for p in order]


def _file_shares(ranking: list[tuple[str, float, float]]) -> list[float]:
    """The share of the budget each of the best files may cost to be sent whole: the first
    `WHOLE_FILES` up to `WHOLE_FILE_SHARE`, or `DOMINANT_SHARE` for the first when its
    votes are at least `DOMINANCE` times the next file's (the change is most likely there:
    spend the budget on it whole rather than on parts of others); the next small ones."""
    shares = [WHOLE_FILE_SHARE if rank < WHOLE_FILES else SMALL_FILE_SHARE
              for rank in range(min(len(ranking), max(WHOLE_FILES, SMALL_FILES)))]
    if shares and DOMINANT_SHARE and (
            len(ranking) == 1 or ranking[0][2] >= DOMINANCE * ranking[1][2]):
        shares[0] = max(shares[0], DOMINANT_SHARE)
    return shares


def _whole_files(definitions: Definitions, found: list[Unit], budget: int) -> list[Unit]:
    """The best files that fit their share of the budget (`_file_shares`), whole."""
    out: list[Unit] = []
    ranking = _file_ranking(found)
    for (p, score, _), share in zip(ranking, _file_shares(ranking), strict=False):
        lines = definitions.lines(p)
        # the answer is JSON: escaped newlines and quotes cost about a tenth more
        if lines and count_tokens("\n".join(lines)) * 1.1 <= share * budget:
            out.append(Unit(p, 1, len(lines), "file", None, "", "", score * 1.001,
                            ["whole file"], "body"))
    return out


def _enclosing(definitions: Definitions, found: list[Unit], budget: int) -> list[Unit]:
    """The class around each of the best hits, whole, when it fits `ENCLOSING_SHARE` of the
    budget (the hunks of a change often sit in a neighbouring method or the class body)."""
    seeds = found[:ENCLOSING_HITS]
    defs = definitions.of(u.path for u in seeds)
    out: list[Unit] = []
    for u in seeds:
        outer = [d for d in defs[u.path] if d.kind in ("class", "struct", "impl", "interface")
                 and definitions.first_line(d) <= u.start and u.end <= d.end_line
                 and (definitions.first_line(d), d.end_line) != (u.start, u.end)]
        d = min(outer, key=lambda d: d.end_line - d.start_line, default=None)
        if d is None:
            continue
        lines = definitions.lines(u.path)
        if count_tokens("\n".join(lines[d.start_line - 1:d.end_line])) * 1.1 <= (
                ENCLOSING_SHARE * budget):
            out.append(definitions.unit(d, u.score * 1.0005, "holds a match"))
    return out


def _module_heads(definitions: Definitions, found: list[Unit]) -> list[Unit]:
    """The top of the best files, before their first definition: imports, constants, the
    module docstring (what a change to the file often touches too)."""
    out: list[Unit] = []
    best: dict[str, float] = {}
    for u in found:
        best.setdefault(u.path, u.score)
    defs = definitions.of(list(best)[:HEAD_FILES])
    for p, found_defs in defs.items():
        first = min((definitions.first_line(d) for d in found_defs), default=HEAD_LINES + 1)
        end = min(first - 1, HEAD_LINES)
        if end >= 1:
            out.append(Unit(p, 1, end, "module", None, "", "", best[p] * HEAD_WEIGHT,
                            ["top of the file"], "body"))
    return out


# -- stage 2 ----------------------------------------------------------------------------------


def _neighbours(ctx: LiveIndex, definitions: Definitions, found: list[Unit], path: str | None,
                names: frozenset[str] | set[str] = frozenset()) -> list[Unit]:
    """Callers, callees, bases and subclasses of the best definitions; imports and importing
    tests of the best files. A neighbour is a signature unless there is evidence for its
    body: the task names it (`names`), or it calls or is called by the best hit."""
    out: list[Unit] = []
    defs = definitions.of(u.path for u in found[:SEED_SYMBOLS])
    seeds = [(u, d) for u in found[:SEED_SYMBOLS]
             for d in [_defn_of(definitions, defs[u.path], u)] if d is not None]
    for i, (unit, d) in enumerate(seeds):
        hood = expand(ctx.index.store, [symbol_node(d)], "both", 1)
        touched = _touched_by(hood, unit) if unit.kind == "chunk" else None
        nodes = [n for n in hood.nodes.values() if n.depth > 0 and n.defn is not None
                 and (touched is None or n.key in touched)]
        best = max((n.score for n in nodes), default=0.0) or 1.0
        partners = _call_partners(hood, nodes) if i == 0 else set()
        shown = with_texts(ctx.index.store, [n.defn for n in nodes if n.defn is not None])
        for n, nd in zip(nodes, shown, strict=True):
            reason = _edge_reason(hood, n.key, d)
            score = unit.score * NEIGHBOUR_WEIGHT * (0.3 + 0.7 * n.score / best)
            body = nd.end_line - nd.start_line < MAX_BODY_LINES and (
                (NAMED_NEIGHBOURS and nd.name in names) or n.key in partners)
            out.append(definitions.unit(nd, score * path_prior(nd.path, nd.qualname) ** 0.5,
                                        reason, "body" if body else "signature"))
    files = list(dict.fromkeys(u.path for u in found))[:SEED_FILES]
    for rank, p in enumerate(files):
        hood = expand(ctx.index.store, [file_node(p)], "both", 1)
        near = [(-n.score, n.path, n.key) for n in hood.nodes.values()
                if n.depth > 0 and n.kind == "file" and n.path is not None]
        for minus, n_path, key in sorted(near)[:FILE_NEIGHBOURS]:  # best ranked first
            n_score = -minus
            score = found[0].score * FILE_WEIGHT / (1 + rank) * (0.5 + n_score)
            out.append(Unit(n_path, 1, 1, "file", None, "", "", score,
                            [_file_reason(hood, key, p)], "line"))
    # `path` bounds where the task is searched and which files are named; what the code
    # found calls or is called by comes from wherever it is
    return [u for u in out if in_scope(u.path, path) or u.kind != "file"]


def _touched_by(hood: Neighbourhood, chunk: Unit) -> set[str]:
    """The neighbours of a long definition that concern the window `chunk` of it: what
    refers to the definition, and what the definition refers to from the window's lines (a
    chunk of a long class is not a seed for everything the class's methods call; its bases
    stay)."""
    seed = hood.seeds[0].key
    return {k for e in hood.edges.values()
            if e.target == seed or e.kind == "inherits" or chunk.start <= e.line <= chunk.end
            for k in (e.source, e.target)}


def _call_partners(hood: Neighbourhood, nodes: list[Node]) -> set[str]:
    """The `CALL_BODIES` best ranked neighbours joined to the seed by a call."""
    if not CALL_BODIES:
        return set()
    joined = {k for e in hood.edges.values() if e.kind == "calls" for k in (e.source, e.target)}
    ranked = sorted((n for n in nodes if n.key in joined), key=lambda n: -n.score)
    return {n.key for n in ranked[:CALL_BODIES]}


def _defn_of(definitions: Definitions, defs: list[Definition], u: Unit) -> Definition | None:
    if u.symbol is None:
        return None
    return next((d for d in defs if d.qualname == u.symbol and definitions.first_line(d) <= u.start
                 and u.end <= d.end_line), None)


_OUT = {"calls": "called by", "inherits": "base of", "uses": "used by"}
_IN = {"calls": "calls", "inherits": "subclass of", "uses": "uses"}


def _edge_reason(hood: Neighbourhood, key: str, seed: Definition) -> str:
    for e in hood.edges.values():
        if e.target == key:
            return f"{_OUT.get(e.kind, e.kind)} {seed.qualname}"
        if e.source == key:
            return f"{_IN.get(e.kind, e.kind)} {seed.qualname}"
    return f"near {seed.qualname}"


def _file_reason(hood: Neighbourhood, key: str, seed: str) -> str:
    for e in hood.edges.values():
        if e.target == key:
            return f"imported by {seed}"
        if e.source == key:
            return f"imports {seed}"
    return f"near {seed}"


# -- directories ------------------------------------------------------------------------------


def _directories(ctx: LiveIndex, ranked: list[Unit]) -> list[Unit]:
    """One unit per directory holding the most relevant units (by summed score)."""
    weight: dict[str, float] = {}
    for u in ranked:
        d = posixpath.dirname(u.path)
        weight[d] = weight.get(d, 0.0) + u.score
    best = sorted(weight, key=lambda d: (-weight[d], d))[:DIRECTORIES]
    out: list[Unit] = []
    for d in best:
        built = summarize(ctx.index.store, ctx.root, d)[0].get(d)
        if built is None:
            continue
        langs = ", ".join(list(built.languages)[:3])
        lead = built.readme.split(". ")[0][:120] if built.readme else ""
        keys = "; ".join(t.split(" - ")[0] for _, t in built.key_symbols[:4])
        text = f"{built.files} files ({langs})" + (f"; {lead}" if lead else "") + (
            f"; key: {keys}" if keys else "")
        out.append(Unit(d or ".", 0, 0, "directory", None, text, "", weight[d] * 0.01,
                        ["directory of the results"], "line"))
    return out
