"""summarize_dir: deterministic directory summaries (plus an optional cached LLM summary).

The directory and its subdirectories down to `depth` levels come back largest first within
each level: size, languages, key symbols with their first doc line, entry points, README
lead, and the directories it depends on / is used by (from resolved imports). Summaries are
cached by subtree hash (`indexer.summaries.build`), so repeated calls cost a hash walk.
"""

from __future__ import annotations

import posixpath
import threading
import weakref
from collections import Counter
from collections.abc import Callable

from indexer.live import LiveIndex
from indexer.store import EDGES_GENERATION, Store
from indexer.summaries import Built, Sampler, attach_llm, read_summaries
from tools.budget import MAX_MAX_TOKENS, fit_answer
from tools.errors import ArgumentError, ToolError
from tools.freshness import freshness as answer_freshness
from tools.models import DirSummary, Freshness, Omitted, SummaryResult
from tools.source import normalize_rel, resolve_in_root

MAX_DEPTH = 6
RELATED = 8
ROOT_PACKAGE = "(root package)"


def summarize_dir(
    ctx: LiveIndex,
    path: str = ".",
    depth: int = 1,
    max_tokens: int = 4000,
    sampler: Sampler | None = None,
) -> SummaryResult:
    """Summaries of `path` and its subdirectories `depth` levels down, within `max_tokens`."""
    if not 0 <= depth <= MAX_DEPTH:
        raise ArgumentError(f"depth {depth} is out of range: give 0 to {MAX_DEPTH}")
    rel = normalize_rel(path)
    resolve_in_root(ctx.root, rel)
    built = read_summaries(ctx.store, ctx.root, rel, depth)
    if rel not in built:  # else it holds indexed files: no query needed to know it
        _check_dir(ctx, rel)
    attach_llm(ctx.store, built, [rel] if rel in built else [], sampler, ctx.save_llm_summary)
    chosen = _chosen(built, rel, depth)
    freshness = answer_freshness(ctx, {rel} if rel else None, summaries=True)
    items = [_summary(ctx, built[d], stale=not freshness.fresh) for d in chosen]
    return _render(rel or ".", items, freshness, min(max_tokens, MAX_MAX_TOKENS))


def _check_dir(ctx: LiveIndex, rel: str) -> None:
    if not rel:
        if ctx.index.store.query_one("SELECT 1 FROM files LIMIT 1") is None:
            raise ToolError("the index is empty: run `sextant index` first")
        return
    if ctx.index.store.query_one(
        "SELECT 1 FROM files WHERE starts_with(path, ?) LIMIT 1", [rel + "/"]
    ):
        return
    if ctx.index.store.query_one("SELECT 1 FROM files WHERE path = ?", [rel]):
        raise ToolError(
            f"{rel!r} is a file: use expand_dependencies or get_symbol for a file, "
            "summarize_dir for a directory"
        )
    parent = posixpath.dirname(rel)
    rows = ctx.index.store.query(
        "SELECT DISTINCT regexp_extract(substr(path, length(?) + 1), '^([^/]+)/', 1) AS d FROM files "
        "WHERE starts_with(path, ?) AND d <> '' ORDER BY jaro_winkler_similarity(d, ?) DESC LIMIT 5",
        [parent + "/" if parent else "", parent + "/" if parent else "", posixpath.basename(rel)],
    )
    names = [posixpath.join(parent, r[0]) for r in rows]
    hint = (
        f"directories nearby: {', '.join(names)}"
        if names
        else "paths are relative to the repository root"
    )
    raise ToolError(f"no indexed files under {rel!r}; {hint}")


def _chosen(built: dict[str, Built], rel: str, depth: int) -> list[str]:
    out: list[str] = []
    level = [rel]
    for _ in range(depth + 1):
        level = [d for d in level if d in built]
        out += sorted(level, key=lambda d: (-built[d].files, d))
        level = [c for d in level for c in built[d].children]
    return out


def _summary(ctx: LiveIndex, b: Built, stale: bool) -> DirSummary:
    depends, used, external = _relations(ctx, b.path)
    return DirSummary(
        path=b.path or ".",
        files=b.files,
        lines=b.lines,
        languages=b.languages,
        key_symbols=[t for _, t in b.key_symbols],
        entry_points=b.entry_points,
        readme=b.readme,
        depends_on=depends,
        used_by=used,
        external=external,
        subtree_hash=b.subtree_hash,
        stale=stale or b.llm_stale,
        llm_summary=b.llm_summary,
        children=b.children,
        repo=ctx.name,
    )


def _group(path: str, like: str, is_dir: bool = False) -> str:
    """The directory standing for `path` (a file, or a directory when `is_dir`: a Go
    package) at the depth of `like`, or below; a file at the root stands for itself, the
    package at the root (Go) for `ROOT_PACKAGE`."""
    if not path:
        return ROOT_PACKAGE
    parts = path.split("/")
    own = len(parts) if is_dir else len(parts) - 1
    keep = min(like.count("/") + 1 if like else 1, own)
    return "/".join(parts[:keep]) if keep else path


_Relations = dict[str, tuple[Counter[str], Counter[str], Counter[str]]]
_REL_CACHE: weakref.WeakKeyDictionary[Store, tuple[tuple[object, ...], _Relations]] = (
    weakref.WeakKeyDictionary()
)
_REL_LOCK = threading.Lock()


def _relations(ctx: LiveIndex, d: str) -> tuple[list[str], list[str], list[str]]:
    depends, used, external = _all_relations(ctx).get(d, (Counter(), Counter(), Counter()))
    return (
        [k for k, _ in depends.most_common(RELATED)],
        [k for k, _ in used.most_common(RELATED)],
        [k for k, _ in external.most_common(RELATED)],
    )


def _dirs_above(path: str) -> list[str]:
    """Directories d with `path` under d (d + "/" a prefix of path), the root "" included."""
    parts = path.split("/")[:-1]
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


def _all_relations(ctx: LiveIndex) -> _Relations:
    """Every directory's depends-on / used-by / external counters, computed in one pass over
    `file_edges` and kept per store until the edges are written again (a query per
    directory cost 3-5 ms on moby; a root summary shows ~20 directories). The edges' mark
    (meta `edges_generation`, `indexer.graph.build`) moves only when `file_edges` is
    written: an edit that keeps its file's imports leaves it, and the counters stay (kept
    per store generation, they were counted again from every edge by the first
    `summarize_dir` after each batch of edits: docs/benchmarks.md, "Load").

    An edge counts for directory d when exactly one of its ends lies under d: its source
    (d depends on the target, or on an external module) or its target (d is used by the
    source). The target of a Go import is a package directory, which lies under itself."""
    store = ctx.index.store
    mark = store.get_meta(EDGES_GENERATION)
    key: tuple[object, ...] = ((EDGES_GENERATION, mark) if mark is not None
                               else (store.generation, store.get_meta("graph_generation")))
    with _REL_LOCK:
        hit = _REL_CACHE.get(store)
        if hit is not None and hit[0] == key:
            return hit[1]
        out: _Relations = {}

        def counters(d: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
            c = out.get(d)
            if c is None:
                c = out[d] = (Counter(), Counter(), Counter())
            return c

        rows = store.query(
            "SELECT src_path, dst_path, dst_kind FROM file_edges ORDER BY src_path, dst_path, dst_kind"
        )
        for src, dst, kind in rows:
            src_dirs = _dirs_above(src)
            if kind == "external":
                for d in src_dirs:
                    counters(d)[2][_module_root(dst)] += 1
                continue
            is_dir = kind == "dir"  # a Go package import names the package's directory
            dst_dirs = _dirs_above(dst) + ([dst] if is_dir and dst else [])
            dst_set = set(dst_dirs)
            src_set = set(src_dirs)
            for d in src_dirs:
                if d not in dst_set:
                    counters(d)[0][_group(dst, d, is_dir)] += 1
            for d in dst_dirs:
                if d not in src_set:
                    counters(d)[1][_group(src, d)] += 1
        _REL_CACHE[store] = (key, out)
        return out


def _module_root(module: str) -> str:
    if "/" in module and "." in module.split("/", 1)[0]:  # github.com/x/y/...
        return "/".join(module.split("/")[:3])
    return module.lstrip(".").split(".")[0].split("::")[0].split("/")[0] or module


def _levels() -> list[Callable[[DirSummary], DirSummary]]:
    def full(s: DirSummary) -> DirSummary:
        return s

    def lean(s: DirSummary) -> DirSummary:
        return s.model_copy(
            update={
                "readme": s.readme[:160],
                "key_symbols": [k[:100] for k in s.key_symbols[:4]],
                "entry_points": s.entry_points[:3],
                "depends_on": s.depends_on[:4],
                "used_by": s.used_by[:4],
                "external": s.external[:4],
                "children": s.children[:10],
                "llm_summary": s.llm_summary[:300] if s.llm_summary else None,
            }
        )

    def minimal(s: DirSummary) -> DirSummary:
        return DirSummary(
            path=s.path,
            files=s.files,
            lines=s.lines,
            languages=dict(list(s.languages.items())[:3]),
            subtree_hash=s.subtree_hash,
            stale=s.stale,
            repo=s.repo,
        )

    return [full, lean, minimal]


def _render(
    path: str, items: list[DirSummary], freshness: Freshness, max_tokens: int
) -> SummaryResult:
    def build(kept: list[DirSummary], omitted: int, degraded: bool) -> SummaryResult:
        hint = "summarize a subdirectory, lower depth, or raise max_tokens"
        return SummaryResult(
            path=path,
            summaries=kept,
            truncated=degraded or omitted > 0,
            omitted=Omitted(count=omitted, hint=hint) if omitted else None,
            freshness=freshness,
        )

    return fit_answer(items, _levels(), max_tokens, build)
