"""Typed outputs of the tools. The MCP layer publishes these as output schemas."""

from __future__ import annotations

from typing import Any

from tools.schema import BaseModel, Field


class RepoFreshness(BaseModel):
    """One repository's part of a workspace answer's freshness."""

    repo: str
    fresh: bool
    pending_files: list[str] = Field(default_factory=list)
    generation: int


class MissingRepo(BaseModel):
    """A repository (shard) whose part of a workspace answer is missing."""

    repo: str
    reason: str = Field(description="Why: timed out, failed, restarting")


class Freshness(BaseModel):
    """Whether the answer reflects the working tree."""

    fresh: bool = Field(description="True when no relevant file changed since it was indexed")
    pending_files: list[str] = Field(default_factory=list,
                                     description="Changed files not yet re-indexed (first 20)")
    generation: int = Field(description=(
        "Store generation the answer was computed from (a workspace: the highest of its "
        "repositories', each listed in `repos`)"))
    repos: list[RepoFreshness] = Field(default_factory=list, description=(
        "A workspace answer: freshness per repository that answered"))


class Omitted(BaseModel):
    """What the token budget left out, and how to get it."""

    count: int = Field(description="Items left out")
    hint: str = Field(description="How to get them: a narrower call or a larger max_tokens")


class TierCoverage(BaseModel):
    """How many chunks each semantic tier can find by meaning, as counts."""

    chunks: int = Field(description="Chunks in the index")
    static: int = Field(description="Chunks with a static vector (the fast tier, distilled "
                        "from the model; given while a chunk is indexed)")
    model: int = Field(description="Chunks with a model (transformer) vector")
    model_state: str = Field(description="off, pending, running, partial, complete, failed: "
                             "complete only when every chunk has a model vector")


class SearchHit(BaseModel):
    path: str
    start_line: int
    end_line: int
    symbol: str | None
    kind: str
    language: str
    score: float
    snippet: str
    matched_by: list[str] = Field(default_factory=list,
                                  description="Retrievers that matched: lexical, symbol, "
                                  "names (every word of the definition's name is in the "
                                  "query), semantic (model vectors), mapped (model vectors, "
                                  "the query moved toward code by the repository's query "
                                  "map), static (static vectors)")
    duplicates: list[str] = Field(default_factory=list, description=(
        "Near-identical copies of this hit elsewhere (path:start-end), shown once"))
    repo: str | None = Field(default=None, description="Repository (workspace name) this comes from")


class SearchResult(BaseModel):
    results: list[SearchHit]
    took_ms: float
    truncated: bool = Field(description="True when the token budget shortened or dropped results")
    mode: str
    embedded_share: float = Field(description="Share of chunks that have model embeddings (0..1)")
    omitted: Omitted | None = None
    freshness: Freshness
    coverage: TierCoverage | None = Field(default=None, description=(
        "Chunks each semantic tier covered when this answer was computed"))
    missing_repos: list[MissingRepo] = Field(default_factory=list, description=(
        "Workspace: repositories whose part of the answer is missing (partial answer)"))


class SymbolReference(BaseModel):
    path: str
    line: int
    kind: str
    scope: str | None
    context: str = Field(description="The source line of the use")


class SymbolInfo(BaseModel):
    name: str
    qualname: str
    kind: str
    path: str
    start_line: int
    end_line: int
    language: str | None
    signature: str
    doc: str
    body: str | None = None
    match: str = Field(description="How the name matched: exact, qualified, inherited, fuzzy")
    references: list[SymbolReference] | None = None
    references_omitted: int = Field(default=0, description=(
        "Uses reaching this definition left out of `references` (resolved ones are listed "
        "first, then those its call site leaves possible; of a name's first 3,000 uses by "
        "path): past the 50 listed (chosen outside tests first, spread over files and "
        "directories) or cut by max_tokens"))
    repo: str | None = Field(default=None, description="Repository (workspace name) this comes from")


class SymbolResult(BaseModel):
    query: str
    symbols: list[SymbolInfo]
    truncated: bool
    omitted: Omitted | None = None
    note: str | None = Field(default=None, description=(
        "Why no definition is listed although the name is defined (none is in `path`; names "
        "the files that define it), or that a name's uses were too many to read them all"))
    freshness: Freshness
    missing_repos: list[MissingRepo] = Field(default_factory=list, description=(
        "Workspace: repositories whose part of the answer is missing (partial answer)"))


class DependencyEdge(BaseModel):
    source: str
    target: str
    kind: str = Field(description="imports, calls, inherits, external")
    detail: str = ""
    repo: str | None = Field(default=None, description="Repository (workspace name) this comes from")


class DependencyNode(BaseModel):
    id: str = Field(description="File path, symbol qualname, or external module")
    kind: str = Field(description="file, symbol or external")
    path: str | None = None
    line: int | None = None
    depth: int
    score: float
    signature: str = ""
    doc: str = ""
    repo: str | None = Field(default=None, description="Repository (workspace name) this comes from")


class DependencyResult(BaseModel):
    target: str
    resolved: str = Field(description="What the target resolved to (file path or symbol)")
    direction: str
    depth: int
    nodes: list[DependencyNode]
    edges: list[DependencyEdge]
    truncated: bool
    omitted: Omitted | None = None
    freshness: Freshness
    missing_repos: list[MissingRepo] = Field(default_factory=list, description=(
        "Workspace: repositories whose part of the answer is missing (partial answer)"))


class DirSummary(BaseModel):
    path: str
    files: int
    lines: int
    languages: dict[str, int]
    key_symbols: list[str] = Field(default_factory=list,
                                   description="Most-referenced symbols: `qualname - first doc line`")
    entry_points: list[str] = Field(default_factory=list)
    readme: str = ""
    depends_on: list[str] = Field(default_factory=list)
    used_by: list[str] = Field(default_factory=list)
    external: list[str] = Field(default_factory=list,
                                description="Most-imported modules from outside the repository")
    subtree_hash: str = ""
    stale: bool = False
    llm_summary: str | None = None
    children: list[str] = Field(default_factory=list)
    repo: str | None = Field(default=None, description="Repository (workspace name) this comes from")


class SummaryResult(BaseModel):
    path: str
    summaries: list[DirSummary]
    truncated: bool
    omitted: Omitted | None = None
    freshness: Freshness
    missing_repos: list[MissingRepo] = Field(default_factory=list, description=(
        "Workspace: repositories whose part of the answer is missing (partial answer)"))


class IndexStatus(BaseModel):
    repo: str | None = Field(default=None, description="Repository (workspace name)")
    root: str
    index_dir: str
    generation: int
    files: int
    symbols: int
    chunks: int
    languages: dict[str, int]
    skipped: dict[str, int]
    embedded_chunks: int
    embedding_model: str | None
    embedding_state: str = Field(description=(
        "The model tier: off, pending, running, partial, complete, failed (complete only "
        "when every chunk has a model vector)"))
    static_chunks: int = Field(0, description="Chunks with a static-tier vector")
    static_model: str | None = Field(None, description="The static tier's table, when on")
    coverage: TierCoverage | None = Field(default=None, description="Both tiers' counts in one place")
    embedding_rate: float | None = Field(None, description="Model-tier chunks/s of this pass")
    embedding_eta_s: float | None = Field(None, description="Seconds left for the model tier")
    watching: bool
    pending_files: int
    lexical_deleted_docs: int = Field(0, description=(
        "Deleted chunks the lexical index still counts in its ranking statistics (BM25 "
        "document counts and frequencies); while above 0, lexical ranking can differ slightly "
        "from a fresh build of the same files, until the compaction rebuilds it"))
    lexical_compaction: str = Field("none", description=(
        "none (ranks as a fresh build would), pending (waits for writes to be quiet, or for "
        "`sextant index`) or running"))
    last_indexed_at: float | None
    changed_since_indexed: int | None = Field(None, description=(
        "Files added, changed or deleted in the working tree since they were indexed (a stat "
        "walk; None while a watcher keeps the index fresh: see pending_files)"))
    metrics: dict[str, float] = Field(default_factory=dict)
    vendored: dict[str, str] = Field(default_factory=dict, description=(
        "Directories recognised as copies of other projects (their own version or manifest "
        "inside a package, or a vendoring folder name) -> why; ranked below the project's "
        "own code"))
    ranking_weights: dict[str, Any] = Field(default_factory=dict, description=(
        "The fusion weights search uses: source `defaults`, or `fitted` by `sextant eval "
        "--fit` on this repository's older commits (used only because they beat the "
        "defaults on its newer ones: held_out_score)"))
    query_map: dict[str, Any] = Field(default_factory=dict, description=(
        "The model tier's query map, fitted on this repository's documented functions "
        "(search also asks the model tier with the question moved toward code): `pairs` "
        "fitted on and `fitted_at`; empty when there is none (off unless "
        "SEXTANT_QUERY_MAP=1; no model tier yet; fewer than 32 documented functions)"))
    history: dict[str, Any] = Field(default_factory=dict, description=(
        "The git history search reads (files that past commits like a query changed rank "
        "higher): `commits` remembered and `head`, the commit read at, or `error`, why there "
        "is none (not a git work tree, git missing); empty when off (SEXTANT_HISTORY=0)"))


class WorkspaceStatus(BaseModel):
    """`index_status` of a workspace: one status per repository."""

    repos: list[IndexStatus]
    missing_repos: list[MissingRepo] = Field(default_factory=list)
