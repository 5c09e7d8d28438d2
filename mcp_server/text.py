"""Compact text renderings of tool answers, for the model to read.

A tool's structured content (its pydantic result, validated against the output schema)
stays as it is: programs and outside checks read it. The text content is what the model
reads, and it used to be the same JSON indented by two, fields repeated in every item. Here
it is a compact rendering of the same content: `path:start-end kind name` headers, the code
as it is in the file, one line per reference, edge or setting. Scores, hashes and other
numbers meant for programs stay in the structured content only.

`compact(result)` returns the `CallToolResult` a tool hands the SDK: the SDK validates its
structured content against the tool's output schema (tools declare their return type as
`Annotated[CallToolResult, Model]`, which keeps the schema). A workspace server's answers
(`workspace_compact`) name each item's repository before its path (`gin:render/json.go:12`);
a single repository's do not, so every path in its text can be opened as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tools.context_models import ContextItem, ContextResult
from tools.models import (
    DependencyResult,
    DirSummary,
    Freshness,
    IndexStatus,
    Omitted,
    SearchResult,
    SummaryResult,
    SymbolInfo,
    SymbolResult,
    WorkspaceStatus,
)

if TYPE_CHECKING:
    from mcp.types import CallToolResult
    from pydantic import BaseModel


def compact(result: BaseModel, *, workspace: bool = False) -> CallToolResult:
    """The tool result: compact text for the model, the model's JSON as structured content."""
    from mcp.types import CallToolResult, TextContent  # here: `sextant context` renders
    # with this module and imports no MCP SDK (~1 s and ~50 MB)

    return CallToolResult(content=[TextContent(type="text", text=render(result, workspace))],
                          structured_content=result.model_dump(mode="json", by_alias=True))


def workspace_compact(result: BaseModel) -> CallToolResult:
    """`compact` for a workspace server: paths are prefixed with their repository."""
    return compact(result, workspace=True)


def render(result: BaseModel, workspace: bool = False) -> str:
    for kind, fn in _RENDERERS:
        if isinstance(result, kind):
            return fn(result, workspace).rstrip() + "\n"
    return _generic(result)


def _in(repo: str | None, workspace: bool) -> str:
    """The prefix naming an item's repository: in a workspace answer only."""
    return f"{repo}:" if workspace and repo else ""


def _generic(result: BaseModel) -> str:
    """`key: value` lines, nested models inline (small answers such as reindex's)."""
    lines = []
    for key, value in result.model_dump(mode="json").items():
        if key == "freshness":
            lines.append(_freshness(result.freshness))  # type: ignore[attr-defined]
        elif isinstance(value, dict):
            lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in value.items()))
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def _freshness(f: Freshness) -> str:
    if f.fresh:
        return "index: fresh"
    return (f"index: NOT fresh, {len(f.pending_files)} changed file(s) not re-indexed yet: "
            + ", ".join(f.pending_files[:5]))


def _omitted(o: Omitted | None) -> list[str]:
    return [f"left out: {o.count} more ({o.hint})"] if o else []


def _span(path: str, start: int, end: int) -> str:
    return f"{path}:{start}" if start == end else f"{path}:{start}-{end}"


# -- search_code ------------------------------------------------------------------------------


def _search(r: SearchResult, ws: bool) -> str:
    head = f"{len(r.results)} result(s), {r.mode}"
    if r.mode != "lexical" and r.embedded_share < 1:
        tiers = f"model vectors cover {r.embedded_share:.0%} of the code"
        c = r.coverage
        if c is not None and c.chunks and c.static:  # the static tier ranks the rest
            tiers += f", static vectors {c.static / c.chunks:.0%}"
        head += f" ({tiers})"
    out = [head, _freshness(r.freshness), *_omitted(r.omitted)]
    for h in r.results:
        name = f" {h.symbol}" if h.symbol else ""
        out.append(f"\n## {_in(h.repo, ws)}{_span(h.path, h.start_line, h.end_line)}"
                   f" {h.kind}{name} [{','.join(h.matched_by)}]")
        out.append(h.snippet)
    return "\n".join(out)


# -- get_symbol -------------------------------------------------------------------------------


def _symbol(r: SymbolResult, ws: bool) -> str:
    out = [f"{len(r.symbols)} definition(s) of {r.query}", _freshness(r.freshness),
           *_omitted(r.omitted), *([r.note] if r.note else [])]
    for s in r.symbols:
        out.append(f"\n## {_in(s.repo, ws)}{_span(s.path, s.start_line, s.end_line)} {s.kind}"
                   f" {s.qualname} ({s.match})")
        out.append(s.body if s.body is not None else _signature(s))
        if s.references is not None or s.references_omitted:
            refs = s.references or []
            left = f" of {len(refs) + s.references_omitted}, {s.references_omitted} left out" if (
                s.references_omitted) else ""
            out.append(f"references ({len(refs)}{left}):")
            out += [f"  {ref.path}:{ref.line} {ref.kind}"
                    + (f" in {ref.scope}" if ref.scope else "") + f": {ref.context.strip()}"
                    for ref in refs]
    return "\n".join(out)


def _signature(s: SymbolInfo) -> str:
    return s.signature + (f"\n{s.doc}" if s.doc else "")


# -- expand_dependencies ----------------------------------------------------------------------


def _deps(r: DependencyResult, ws: bool) -> str:
    name = r.target if r.resolved == r.target else f"{r.target} -> {r.resolved}"
    out = [f"{name} (direction {r.direction}, depth {r.depth}): {len(r.nodes)} node(s)",
           _freshness(r.freshness), *_omitted(r.omitted)]
    for n in r.nodes:
        where = f" {_span(n.path, n.line, n.line)}" if n.path and n.line else (
            f" {n.path}" if n.path and n.path != n.id else "")
        line = f"[{n.depth}] {n.kind} {_in(n.repo, ws)}{n.id}{where}"
        if n.signature:
            line += f"\n    {n.signature.splitlines()[0]}"
        if n.doc:
            line += f"\n    {n.doc.splitlines()[0]}"
        out.append(line)
    if r.edges:
        out.append("edges:")
        out += [f"  {e.source} -{e.kind}-> {e.target}" + (f" ({e.detail})" if e.detail else "")
                for e in r.edges]
    return "\n".join(out)


# -- summarize_dir ----------------------------------------------------------------------------


def _summary(r: SummaryResult, ws: bool) -> str:
    out = [_freshness(r.freshness), *_omitted(r.omitted)]
    out += [_dir(s, ws) for s in r.summaries]
    return "\n".join(out)


def _dir(s: DirSummary, ws: bool) -> str:
    langs = ", ".join(f"{k} {v}" for k, v in s.languages.items())
    out = [f"\n## {_in(s.repo, ws)}{s.path}/: {s.files} files, {s.lines} lines ({langs})"
           + (" [summary stale]" if s.stale else "")]
    if s.llm_summary:
        out.append(s.llm_summary)
    if s.readme:
        out.append(f"readme: {s.readme}")
    out += [f"{label}: {', '.join(values)}" for label, values in (
        ("entry points", s.entry_points), ("depends on", s.depends_on),
        ("used by", s.used_by), ("external", s.external), ("subdirectories", s.children))
        if values]
    if s.key_symbols:
        out.append("key symbols:")
        out += [f"  {k}" for k in s.key_symbols]
    return "\n".join(out)


# -- index_status -----------------------------------------------------------------------------


def _status(r: IndexStatus, ws: bool = False) -> str:
    langs = ", ".join(f"{k} {v}" for k, v in r.languages.items())
    skipped = ", ".join(f"{k} {v}" for k, v in r.skipped.items()) or "none"
    out = [f"root: {r.root}" + (f" (repo {r.repo})" if r.repo else ""), (f"files {r.files}, symbols {r.symbols}, chunks {r.chunks} "
           f"(generation {r.generation})"), f"languages: {langs}", f"skipped: {skipped}",
           (f"embeddings: {r.embedding_state}, {r.embedded_chunks}/{r.chunks} chunks, model "
           f"{r.embedding_model or 'none'}"),
           f"watching: {'yes' if r.watching else 'no'}, pending files {r.pending_files}"]
    if r.changed_since_indexed is not None:
        out.append(f"changed since indexed: {r.changed_since_indexed} file(s)")
    if r.metrics:
        out.append("metrics: " + ", ".join(f"{k} {v:g}" for k, v in r.metrics.items()))
    return "\n".join(out)


def _workspace_status(r: WorkspaceStatus, ws: bool) -> str:
    out = [_status(s) for s in r.repos]
    out += [f"missing: {m.repo} ({m.reason})" for m in r.missing_repos]
    return "\n\n".join(out)


# -- get_context ------------------------------------------------------------------------------


def _context(r: ContextResult, ws: bool) -> str:
    out = [f"context for the task: {len(r.items)} item(s), {r.tokens} tokens",
           _freshness(r.freshness)]
    for item in r.items:
        out.append(_context_item(item, ws))
    if r.already_sent:
        out.append("\nalready sent in this session (resend=true to repeat): "
                   + ", ".join(r.already_sent))
    if r.left_out_count:
        out.append(f"\nleft out ({r.left_out_count}), fetch with:")
        out += [f"  {lo.fetch}" for lo in r.left_out]
    return "\n".join(out)


def _context_item(item: ContextItem, ws: bool) -> str:
    why = f" ({item.reason})" if item.reason else ""
    where = _in(item.repo, ws)
    if item.kind == "directory" or (item.kind == "file" and item.detail == "line"):
        return f"\n{item.kind} {where}{item.path}: {item.text}{why}"
    name = f" {item.symbol}" if item.symbol else ""
    head = f"{where}{_span(item.path, item.start_line, item.end_line)} {item.kind}{name}{why}"
    if item.detail == "line":
        return f"\n{head}: {item.text}"
    marker = "##" if item.detail == "body" else "## signature"
    return f"\n{marker} {head}\n{item.text}"


_RENDERERS: list[tuple[type[Any], Callable[[Any, bool], str]]] = [
    (SearchResult, _search),
    (SymbolResult, _symbol),
    (DependencyResult, _deps),
    (SummaryResult, _summary),
    (IndexStatus, _status),
    (WorkspaceStatus, _workspace_status),
    (ContextResult, _context),
]
