"""Run Sextant (through its MCP tool) and the baselines over one repository's queries.

`Session` owns one index (a tree + index directory) and an MCP client answering from it.
The harness may change the tree and refresh the index between queries (commit -> files
replays history this way), embedding only what is new: the store's embedding cache is
keyed by chunk text, so unchanged chunks are never embedded twice.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client

from evals import baselines
from evals.mcp_client import call, serve
from evals.sets import Query
from indexer.build import index_repository
from indexer.commits import CommitLog, history_from_env
from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from tools.fit_weights import History, fit_weights
from tools.ranking_weights import weights_path
from tools.retrieval_metrics import QueryScore, Span, covers, score_ranked, summarize, unique_paths

DEPTH = 30  # results asked of every system; file-level metrics de-duplicate these
MAX_QUERY_CHARS = 4000  # the MCP tool's limit on `query`
SEXTANT = "sextant"  # hybrid with every semantic tier the session has
SEXTANT_LEXICAL = "sextant-lexical"
SEXTANT_FILES = "sextant-files"  # granularity="file": files ranked by all their evidence
SEXTANT_STATIC = "sextant-static"  # hybrid with the static tier only
SEXTANT_MODEL = "sextant-model"  # hybrid with the model tier only
SEXTANT_FITTED = "sextant-fitted"  # as `sextant`, with weights fitted to older history
SEXTANT_UNCHECKED = "sextant-fitted-unchecked"  # the same, even where the fit's check said no
_TIERS = {SEXTANT: (True, True), SEXTANT_FILES: (True, True), SEXTANT_STATIC: (True, False),
          SEXTANT_MODEL: (False, True), SEXTANT_FITTED: (True, True),
          SEXTANT_UNCHECKED: (True, True)}
_SEXTANT_ROWS = (SEXTANT, SEXTANT_LEXICAL, SEXTANT_FILES, SEXTANT_STATIC, SEXTANT_MODEL,
                 SEXTANT_FITTED, SEXTANT_UNCHECKED)


@dataclass
class Outcome:
    """Scores per (level, system) and Sextant's per-query latency."""

    scores: dict[tuple[str, str], list[QueryScore]] = field(
        default_factory=lambda: defaultdict(list))
    took_ms: list[float] = field(default_factory=list)
    misses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def extend(self, other: Outcome) -> None:
        for key, vals in other.scores.items():
            self.scores[key].extend(vals)
        self.took_ms.extend(other.took_ms)
        for key, ids in other.misses.items():
            self.misses[key].extend(ids)

    def table(self) -> dict[str, dict[str, float]]:
        return {f"{level}/{system}": summarize(vals)
                for (level, system), vals in sorted(self.scores.items())}

    def latency(self) -> dict[str, float]:
        if not self.took_ms:
            return {}
        ordered = sorted(self.took_ms)
        return {"p50_ms": round(statistics.median(ordered), 2),
                "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


class Session:
    """One indexed tree, its LiveIndex and an MCP client over it."""

    def __init__(self, root: Path, index_dir: Path, dense: bool, static: bool = True,
                 name: str | None = None) -> None:
        self.root = root
        self.index = RepoIndex(IndexPaths.for_repo(root, index_dir))
        # named as the repository, not its work directory ("tree"): search treats the
        # repository's own name in a query differently (`tools.search.project_weighted`);
        # the tree is a plain directory, its history a mirror's (`use_history`)
        self.ctx = LiveIndex(self.index, LiveOptions(name=name, history=False))
        self.dense = dense
        self.static = static
        self.client: Client | None = None
        self._files: baselines.UnitIndex | None = None
        self._functions: baselines.UnitIndex | None = None
        self._idents: baselines.UnitIndex | None = None
        self.fitting = False  # a `sextant-fitted` row (`fit`)
        self.fitted: str | None = None  # the weights file `fit` saved, when it saved one
        self.unchecked: dict[str, Any] | None = None  # what it fitted, saved or not

    def use_history(self, git_dir: Path | None, rev: str = "HEAD") -> None:
        """Search reads the history of `git_dir` up to `rev` (the commit the tree was
        written out at), as it reads a user's repository up to HEAD; None, or
        `SEXTANT_HISTORY=0` as for a user: no history."""
        self.ctx.history = None if git_dir is None or not history_from_env() else CommitLog(
            self.root, git_dir=git_dir, rev=rev)

    def fit(self, git_dir: Path, until: str, n: int, seed: int) -> dict[str, Any]:
        """`sextant eval --fit` on this index over the `n` sampled commits up to `until`
        (which the queries asked later must not include); the weights it saves are taken out
        of the index and put back only while `sextant-fitted` is asked."""
        self.fitting = True
        mode = "hybrid" if self.dense or self.static else "lexical"
        with self._tiers(SEXTANT):
            report = fit_weights(self.ctx, History(n=n, seed=seed, git_dir=git_dir,
                                                   until=until), mode)
        path = weights_path(self.index.paths.dir)
        if report["saved"]:
            self.fitted = path.read_text()
            path.unlink()
        self.unchecked = {"format": 1, "weights": report["fitted"], "defaults": report["defaults"]}
        return report

    @contextmanager
    def _weights(self, system: str) -> Iterator[None]:
        path = weights_path(self.index.paths.dir)
        text = self.fitted if system == SEXTANT_FITTED else None
        if system == SEXTANT_UNCHECKED and self.unchecked and self.unchecked["weights"]:
            text = json.dumps(self.unchecked)
        if text is None:
            yield
            return
        path.write_text(text)
        try:
            yield
        finally:
            path.unlink()

    def refresh(self) -> None:
        """Bring the index up to date with the tree (incremental), embeddings included: new
        chunks are embedded (from the store's cache when their text was seen before) into
        the vector index kept open across steps, rather than rebuilding it each step."""
        if self.static and self.index.static is None:
            self.ctx.attach_static()  # from now on the pipeline writes static vectors
        index_repository(self.index)
        self.index.compact_lexical()  # rank as a fresh index of this commit would
        self._files = self._functions = self._idents = None
        if not self.dense:
            return
        if self.ctx.embedder is None:  # later steps keep the open vector index: the pipeline
            self.ctx.attach_model()  # removed the vectors of replaced chunks
        self.ctx.embed_pending()  # and the cache embeds the new ones

    def close(self) -> None:
        self.index.close()

    @property
    def systems(self) -> list[str]:
        names = [SEXTANT, SEXTANT_LEXICAL, SEXTANT_FILES, "bm25-files", "bm25-functions",
                 "bm25-functions-ident"]
        if self.static and self.dense:
            names += [SEXTANT_STATIC, SEXTANT_MODEL]
        if self.fitting:
            names += [SEXTANT_FITTED, SEXTANT_UNCHECKED]
        return names + (["dense", "rrf"] if self.dense else [])

    @contextmanager
    def _tiers(self, system: str) -> Iterator[None]:
        """Only the semantic tiers `system` uses are attached while it is asked (the calls
        are sequential; the other tier is put back after)."""
        static, vectors = self.index.static, self.ctx.vectors
        use_static, use_model = _TIERS.get(system, (False, False))
        self.index.static = static if use_static else None
        self.ctx.vectors = vectors if use_model else None
        try:
            yield
        finally:
            self.index.static, self.ctx.vectors = static, vectors

    async def ranked(self, query: str, system: str) -> tuple[list[Span], float | None]:
        """Ranked spans of `system` for `query`, and Sextant's own took_ms."""
        if system in _SEXTANT_ROWS:
            assert self.client is not None
            semantic = self.dense or self.static
            mode = "hybrid" if system != SEXTANT_LEXICAL and semantic else "lexical"
            granularity = "file" if system == SEXTANT_FILES else "chunk"
            with self._tiers(system), self._weights(system):
                out = await call(self.client, "search_code", query=query[:MAX_QUERY_CHARS],
                                 k=DEPTH, mode=mode, max_tokens=20000, granularity=granularity)
            return [s for h in out["results"] for s in shown_spans(h)], float(out["took_ms"])
        if system == "bm25-files":
            self._files = self._files or baselines.file_units(self.index)
            return self._files.search(query, DEPTH), None
        if system == "bm25-functions":
            self._functions = self._functions or baselines.function_units(self.index)
            return self._functions.search(query, DEPTH), None
        if system == "bm25-functions-ident":
            self._idents = self._idents or baselines.function_units(self.index, identifiers=True)
            return self._idents.search(query, DEPTH), None
        if system == "dense":
            return baselines.dense(self.ctx, query, DEPTH), None
        return baselines.plain_rrf(self.ctx, query, DEPTH), None


def shown_spans(hit: dict) -> list[Span]:
    """A hit's span, then those of the near-identical copies it lists (shown with it)."""
    spans = [Span(hit["path"], hit["start_line"], hit["end_line"])]
    for copy in hit.get("duplicates") or ():
        path, _, lines = copy.rpartition(":")
        start, _, end = lines.partition("-")
        spans.append(Span(path, int(start), int(end)))
    return spans


@asynccontextmanager
async def session(root: Path, index_dir: Path, dense: bool, static: bool = True,
                  name: str | None = None, history: tuple[Path, str] | None = None
                  ) -> AsyncIterator[Session]:
    """A session over `root`; `history`: the git directory and revision it was written out
    from (`Session.use_history`)."""
    s = Session(root, index_dir, dense, static, name)
    if history is not None:
        s.use_history(*history)
    try:
        s.refresh()
        async with serve(s.ctx) as client:
            s.client = client
            yield s
    finally:
        s.close()


def _levels(query: Query) -> dict[str, Callable[[list[Span]], QueryScore]]:
    paths = list(dict.fromkeys(g.path for g in query.gold))

    def by_file(spans: list[Span]) -> QueryScore:
        return score_ranked(unique_paths(spans), paths, lambda a, b: a == b)

    def by_function(spans: list[Span]) -> QueryScore:
        return score_ranked(spans, query.gold, covers)

    if query.meta.get("level") == "file":
        return {"file": by_file}
    return {"function": by_function, "file": by_file}


async def evaluate(s: Session, queries: Sequence[Query], outcome: Outcome,
                   systems: Sequence[str] | None = None) -> None:
    """Run every system on every query and add the scores to `outcome`."""
    for q in queries:
        for system in systems or s.systems:
            spans, took = await s.ranked(q.text, system)
            if took is not None and system == SEXTANT:
                outcome.took_ms.append(took)
            for level, scorer in _levels(q).items():
                if level == "function" and system in ("bm25-files", SEXTANT_FILES):
                    continue
                score = scorer(spans)
                outcome.scores[(level, system)].append(score)
                if system == SEXTANT and (score.first_rank is None or score.first_rank > 10):
                    outcome.misses[level].append(q.qid)
