"""search_code: hybrid retrieval over chunks.

Candidates come from three retrievers: BM25 (tantivy, identifier-aware), dense vectors
(usearch, when embeddings exist) and symbol names (DuckDB: exact and prefix matches of the
query's identifiers). They are fused by weighted reciprocal rank, then adjusted by path
priors (tests, vendored, generated and example code are down-ranked, never hidden),
de-duplicated where chunks overlap, filtered by language and path glob, and rendered within
the token budget.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from indexer.lexical import identifier_tokens
from tools.budget import fit_items, json_tokens
from tools.context import ToolContext, ToolError
from tools.models import Omitted, SearchHit, SearchResult
from tools.source import check_rel

MODES = ("hybrid", "lexical", "semantic")
RRF_K = 60
WEIGHTS = {"lexical": 1.0, "semantic": 1.0, "symbol": 1.2}
SNIPPET_LINES = 40

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|spec|testing|testdata|fixtures?)(/|$)|(^|/)test_[^/]*$"
    r"|_test\.[a-z]+$|\.(test|spec)\.[a-z]+$|Tests?\.[a-z]+$")
_LOW_PRIOR = re.compile(r"(^|/)(vendor|third_party|node_modules|examples?|docs?|benchmarks?)(/|$)")


@dataclass
class _Candidate:
    chunk_id: int
    score: float = 0.0
    matched_by: list[str] = field(default_factory=list)


def path_prior(path: str) -> float:
    """Multiplier for a result's score by where it lives (tests and examples rank lower)."""
    if _TEST_PATH.search(path):
        return 0.55
    if _LOW_PRIOR.search(path):
        return 0.75
    return 1.0


def query_identifiers(query: str) -> list[str]:
    """Identifiers in the query worth an exact symbol lookup (code-like or a single word)."""
    words = _IDENT.findall(query)
    if len(words) == 1:
        return words
    return [w for w in words if "_" in w or "." in w or re.search(r"[a-z][A-Z]", w)]


def _fuse(ranked: dict[str, Sequence[int]]) -> dict[int, _Candidate]:
    out: dict[int, _Candidate] = {}
    for source, ids in ranked.items():
        for rank, cid in enumerate(ids):
            cand = out.setdefault(cid, _Candidate(cid))
            cand.score += WEIGHTS[source] / (RRF_K + rank + 1)
            cand.matched_by.append(source)
    return out


def _symbol_matches(ctx: ToolContext, query: str, limit: int) -> list[int]:
    idents = query_identifiers(query)
    if not idents:
        return []
    exact: list[int] = []
    for ident in idents[:8]:
        name = ident.rsplit(".", 1)[-1]
        rows = ctx.index.store.query(
            """SELECT c.chunk_id, s.qualname = ? AS q, s.name = ? AS e
               FROM symbols s JOIN chunks c ON c.file_id = s.file_id
                 AND s.start_line BETWEEN c.start_line AND c.end_line
               WHERE lower(s.name) = lower(?) OR (length(?) >= 4 AND s.name ILIKE ? || '%')
               ORDER BY q DESC, e DESC, length(s.name), c.chunk_id LIMIT ?""",
            [ident, name, name, name, name, limit])
        exact.extend(r[0] for r in rows)
    return list(dict.fromkeys(exact))


def _semantic(ctx: ToolContext, query: str, limit: int) -> list[int]:
    if ctx.vectors is None or ctx.embedder is None or len(ctx.vectors) == 0:
        return []
    with ctx.embed_lock:
        vec = ctx.embedder.embed_query(query)
    return [key for key, _ in ctx.vectors.search(vec, limit)]


def _load_chunks(ctx: ToolContext, ids: Sequence[int]) -> dict[int, tuple]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = ctx.index.store.query(
        f"""SELECT c.chunk_id, f.path, c.start_line, c.end_line, c.symbol, c.kind,
                   coalesce(f.language, 'text'), c.text
            FROM chunks c JOIN files f USING (file_id) WHERE c.chunk_id IN ({marks})""",
        list(ids))
    return {r[0]: r for r in rows}


def _overlaps(hit: SearchHit, kept: Sequence[SearchHit]) -> bool:
    return any(k.path == hit.path and hit.start_line <= k.end_line and k.start_line <= hit.end_line
               for k in kept)


def _snippet(text: str, max_lines: int) -> str:
    lines = text.splitlines()
    if len(lines) <= max_lines:
        return text
    return "\n".join(lines[:max_lines]) + f"\n... ({len(lines) - max_lines} more lines)"


def _levels() -> list:
    def full(h: SearchHit) -> SearchHit:
        return h

    def short(h: SearchHit) -> SearchHit:
        return h.model_copy(update={"snippet": _snippet(h.snippet, 6)})

    def line(h: SearchHit) -> SearchHit:
        first = next((ln.strip() for ln in h.snippet.splitlines() if ln.strip()), "")
        return h.model_copy(update={"snippet": first[:160]})

    return [full, short, line]


def search_code(
    ctx: ToolContext, query: str, k: int = 10, language: str | None = None,
    path: str | None = None, mode: str = "hybrid", max_tokens: int = 4000,
) -> SearchResult:
    """Find code by meaning and by name; see the module docstring for the ranking."""
    started = time.perf_counter()
    query = query.strip()
    if not query:
        raise ToolError("query is empty: describe the code you are looking for, or name it")
    if mode not in MODES:
        raise ToolError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if path:
        check_rel(path)
    filtered = bool(language or path)
    pool = max(60, k * 6) * (8 if filtered else 1)
    ranked: dict[str, Sequence[int]] = {}
    if mode in ("hybrid", "lexical"):
        ranked["lexical"] = [cid for cid, _ in ctx.index.lexical.search(query, pool)]
        ranked["symbol"] = _symbol_matches(ctx, query, 20)
    if mode in ("hybrid", "semantic"):
        ranked["semantic"] = _semantic(ctx, query, pool)
    if mode == "semantic" and (ctx.vectors is None or len(ctx.vectors) == 0):
        raise ToolError("semantic search needs embeddings, and none exist yet: use mode "
                        "'hybrid' or 'lexical', or wait for embedding (see index_status)")
    fused = _fuse(ranked)
    rows = _load_chunks(ctx, list(fused))
    hits: list[SearchHit] = []
    for cand in fused.values():
        row = rows.get(cand.chunk_id)
        if row is None:
            continue
        _, p, start, end, symbol, kind, lang, text = row
        if language and lang != language.lower():
            continue
        if path and not fnmatch.fnmatch(p, path) and not p.startswith(path.rstrip("/") + "/"):
            continue
        hits.append(SearchHit(
            path=p, start_line=start, end_line=end, symbol=symbol, kind=kind, language=lang,
            score=round(cand.score * path_prior(p) * 1000, 3), snippet=_snippet(text, SNIPPET_LINES),
            matched_by=sorted(set(cand.matched_by))))
    hits.sort(key=lambda h: (-h.score, h.path, h.start_line))
    deduped: list[SearchHit] = []
    for h in hits:
        if not _overlaps(h, deduped):
            deduped.append(h)
        if len(deduped) >= k:
            break
    return _render(ctx, deduped, mode, max_tokens, started)


def _render(ctx: ToolContext, hits: list[SearchHit], mode: str, max_tokens: int,
            started: float) -> SearchResult:
    freshness = ctx.freshness({h.path for h in hits})
    total = ctx.index.store.query_one("SELECT count(*) FROM chunks")[0] or 0
    share = min(1.0, len(ctx.vectors) / total) if ctx.vectors is not None and total else 0.0

    def build(kept: list[SearchHit], omitted: int, degraded: bool) -> SearchResult:
        return SearchResult(
            results=kept, took_ms=round((time.perf_counter() - started) * 1000, 2),
            truncated=degraded or omitted > 0, mode=mode, embedded_share=round(share, 4),
            omitted=Omitted(count=omitted, hint="raise max_tokens, lower k, or narrow with "
                            "path/language") if omitted else None,
            freshness=freshness)

    envelope = json_tokens(build([], 0, False)) + 40
    kept, omitted, degraded = fit_items(hits, _levels(), max(0, max_tokens - envelope))
    result = build(kept, omitted, degraded)
    while kept and json_tokens(result) > max_tokens:
        kept = kept[:-1]
        omitted += 1
        result = build(kept, omitted, True)
    return result
