"""Workspaces: several repositories behind one server.

A workspace file is TOML with one `[[repo]]` table per repository::

    [[repo]]
    name = "flask"            # what tools take as `repo` and results carry as `repo`
    path = "../flask"         # relative to the workspace file
    # index_dir = "..."       # optional; default PATH/.sextant/

Each repository keeps its own index and its own live index (watcher, background
embedding). A `Shards` object answers one tool call on a set of repositories in parallel
and reports, per repository, an answer, a tool error (e.g. no such symbol there) or why it
is missing (timed out, failed). `LocalShards` runs them in this process; the Ray-backed
`mcp_server.cluster.ClusterShards` asks actors that hold them. `tools.merge` merges;
`get_context` takes two rounds (`context_answer`, `tools.merge_context`).
"""

from __future__ import annotations

import logging
import threading
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from indexer.disk import IndexDirError, IndexPaths
from indexer.live import LiveIndex
from mcp_server.runtime import Runtime, read_tool
from mcp_server.settings import Settings
from mcp_server.usage import UsageError
from tools import merge
from tools.budget import DEFAULT_MAX_TOKENS, MAX_MAX_TOKENS
from tools.context_models import ContextResult
from tools.deps import expand_dependencies
from tools.errors import ArgumentError, ToolError
from tools.get_context import get_context, search_k
from tools.merge_context import context_shares, merge_context, record_sent, reserve, skipped_repos
from tools.models import (
    DependencyResult,
    Freshness,
    IndexStatus,
    SearchHit,
    SearchResult,
    SummaryResult,
    SymbolResult,
)
from tools.search import search_code
from tools.status import index_status
from tools.summary import summarize_dir
from tools.symbols import get_symbol
from tools.working_set import WorkingSet

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

SHARD_TIMEOUT_S = 30.0  # a repository that has not answered by then is reported missing

TOOLS: dict[str, tuple[Any, type[BaseModel]]] = {
    "search_code": (search_code, SearchResult),
    "get_symbol": (get_symbol, SymbolResult),
    "expand_dependencies": (expand_dependencies, DependencyResult),
    "summarize_dir": (summarize_dir, SummaryResult),
    "index_status": (index_status, IndexStatus),
    "get_context": (get_context, ContextResult),
}
DEFAULT_CONTEXT_TOKENS = 8000
Overrides = dict[str, dict[str, Any]]  # repository -> arguments that differ for it


@dataclass(frozen=True)
class RepoSpec:
    name: str
    path: Path
    index_dir: Path | None = None


@dataclass(frozen=True)
class Workspace:
    file: Path
    repos: tuple[RepoSpec, ...]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.repos]


def load_workspace(file: Path) -> Workspace:
    """Parse and check a workspace file; `UsageError` says what is wrong with it."""
    try:
        data = tomllib.loads(file.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read workspace file {str(file)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"workspace file {str(file)!r} is not valid TOML: {exc}") from None
    tables = data.get("repo")
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"workspace file {str(file)!r} has no [[repo]] tables: add one per "
                         "repository, each with name and path")
    repos = tuple(_repo_spec(file, t) for t in tables)
    names = [r.name for r in repos]
    if len(set(names)) != len(names):
        raise UsageError(f"workspace file {str(file)!r} repeats a repository name: {names}")
    return Workspace(file=file.resolve(), repos=repos)


def _repo_spec(file: Path, table: object) -> RepoSpec:
    if not isinstance(table, dict) or not isinstance(table.get("name"), str) or not \
            isinstance(table.get("path"), str) or not table["name"].strip():
        raise UsageError(f"workspace file {str(file)!r}: every [[repo]] needs name and path "
                         "strings")
    base = file.resolve().parent
    path = (base / Path(table["path"]).expanduser()).resolve()
    if not path.is_dir():
        raise UsageError(f"workspace repo {table['name']!r}: {str(path)!r} is not a directory")
    raw = table.get("index_dir")
    index_dir = (base / raw).resolve() if isinstance(raw, str) else None
    try:
        IndexPaths.for_repo(path, index_dir).check()
    except IndexDirError as exc:
        raise UsageError(f"workspace repo {table['name']!r}: {exc}") from None
    return RepoSpec(name=table["name"].strip(), path=path, index_dir=index_dir)


def repo_settings(settings: Settings, spec: RepoSpec) -> Settings:
    return replace(settings, root=spec.path, index_dir=spec.index_dir, repo_name=spec.name)


def run_tool(live: LiveIndex, tool: str, kwargs: dict[str, Any], wait_fresh: bool = False,
             fresh_paths: list[str] | None = None) -> BaseModel:
    """Run read tool `tool` on one repository, as the single-repo server does."""
    fn, _ = TOOLS[tool]
    result: BaseModel = read_tool(live, fn, wait_fresh=wait_fresh, fresh_paths=fresh_paths,
                                  **kwargs)
    return result


@dataclass
class Fanout:
    """One call's outcome per repository."""

    results: dict[str, BaseModel] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # ToolError messages
    invalid: set[str] = field(default_factory=set)  # whose error is an ArgumentError

    def error(self) -> ToolError:
        """The error of a call every repository refused: an `ArgumentError` when each
        refused its arguments (a usage error wherever it is asked)."""
        text = "; ".join(f"{n}: {m}" for n, m in sorted(self.errors.items()))
        return ArgumentError(text) if self.invalid >= set(self.errors) else ToolError(text)
    missing: dict[str, str] = field(default_factory=dict)  # repository -> why no answer


class Shards(Protocol):
    """The repositories of a workspace, answering tool calls in parallel."""

    names: list[str]

    def open(self) -> None: ...

    def wait_ready(self, timeout_s: float) -> bool: ...

    def call(self, tool: str, kwargs: dict[str, Any], repos: list[str],
             wait_fresh: bool = False, fresh_paths: list[str] | None = None,
             overrides: Overrides | None = None) -> Fanout: ...

    def close(self) -> None: ...

    def shutting_down(self) -> None:
        """A stop signal arrived: start no new background work (called in the signal
        handler: set flags only, no waiting and no remote calls)."""


def merge_fanout(tool: str, fan: Fanout, kwargs: dict[str, Any]) -> BaseModel:
    """One answer from every repository's: merged by rank (`tools.merge`). Tool errors in
    some repositories drop them (search: they are named missing); in all, a `ToolError`."""
    _, model = TOOLS[tool]
    parts = {n: r if isinstance(r, model) else model.model_validate(r)
             for n, r in fan.results.items()}
    if not parts and fan.errors:
        raise fan.error()
    max_tokens = int(kwargs.get("max_tokens", DEFAULT_MAX_TOKENS))
    if tool == "search_code":
        return merge.merge_search(parts, kwargs.get("k", 10), max_tokens,  # type: ignore[arg-type]
                                  {**fan.errors, **fan.missing})
    if tool == "get_symbol":
        return merge.merge_symbols(parts, kwargs["name"], max_tokens,  # type: ignore[arg-type]
                                   fan.missing)
    if tool == "expand_dependencies":
        return merge.merge_dependencies(
            parts, kwargs["target"], kwargs.get("direction", "out"),  # type: ignore[arg-type]
            kwargs.get("depth", 1), max_tokens, fan.missing)
    if tool == "summarize_dir":
        return merge.merge_summaries(parts, kwargs.get("path", "."),  # type: ignore[arg-type]
                                     max_tokens, fan.missing)
    return merge.merge_status(parts, {**fan.errors, **fan.missing})  # type: ignore[arg-type]


def answer(shards: Shards, tool: str, kwargs: dict[str, Any], repos: list[str] | None = None,
           wait_fresh: bool = False, fresh_paths: list[str] | None = None,
           working: RepoWorkingSets | None = None) -> BaseModel:
    """Ask `repos` (default: all) of `shards` and merge their answers; `working`: the
    session's working sets (get_context)."""
    if tool == "get_context":
        return context_answer(shards, kwargs, repos, working)
    fan = shards.call(tool, kwargs, list(shards.names) if repos is None else repos,
                      wait_fresh, fresh_paths)
    return merge_fanout(tool, fan, kwargs)


RepoWorkingSets = dict[str, WorkingSet]  # one session's working set per repository


def context_answer(shards: Shards, kwargs: dict[str, Any], repos: list[str] | None = None,
                   working: RepoWorkingSets | None = None) -> ContextResult:
    """get_context over `repos` (default: all) within one budget: a merged search decides
    each repository's share, then each chosen repository assembles its part within it
    (`tools.merge_context`). `working`: the session's working sets, which the repositories
    read (a copy each) and which then record what the merged answer sent."""
    names = list(shards.names) if repos is None else repos
    task, max_tokens = kwargs["task"], int(kwargs.get("max_tokens", DEFAULT_CONTEXT_TOKENS))
    hits: dict[str, list[SearchHit]] = {}
    fresh: dict[str, Freshness] = {}
    gone: dict[str, str] = {}  # repository -> why its part is missing
    shares = {names[0]: max(0, max_tokens - reserve(1))}
    if len(names) > 1:  # stage 1: where the budget goes
        found = _checked(shards.call("search_code", {
            "query": task, "k": search_k(max_tokens), "path": kwargs.get("path"),
            "max_tokens": MAX_MAX_TOKENS}, names), SearchResult, gone)
        hits = {n: r.results for n, r in found.items()}
        fresh = {n: r.freshness for n, r in found.items()}
        shares = context_shares(hits, search_k(max_tokens), max_tokens)
    parts: dict[str, ContextResult] = {}
    if shares:  # stage 2: each chosen repository's part within its share
        parts = _checked(shards.call(
            "get_context", {k: kwargs[k] for k in ("task", "path", "resend") if k in kwargs},
            list(shares), overrides={n: {"max_tokens": share, "working": _copy(working, n)}
                                     for n, share in shares.items()}), ContextResult, gone)
        fresh = {n: f for n, f in fresh.items() if n not in gone}
        fresh.update({n: p.freshness for n, p in parts.items()})
    merged = merge_context(parts, task, max_tokens, freshness=fresh, missing=gone,
                           skipped=skipped_repos(hits, shares, task))
    if working is not None:
        record_sent(merged, lambda repo, item: working.setdefault(repo, WorkingSet()).record(
            item.path, item.start_line, item.end_line, item.text))
    return merged


def _checked(fan: Fanout, model: type[M], gone: dict[str, str]) -> dict[str, M]:
    """The answers of `fan`; a `ToolError` when every repository erred; the repositories
    that erred or did not answer are added to `gone`."""
    if not fan.results and fan.errors:
        raise fan.error()
    gone.update({**fan.errors, **fan.missing})
    return {n: r if isinstance(r, model) else model.model_validate(r)
            for n, r in fan.results.items()}


def _copy(working: RepoWorkingSets | None, repo: str) -> WorkingSet | None:
    return None if working is None else working.setdefault(repo, WorkingSet()).snapshot()


class LocalShards:
    """Every repository's live index in this process, one runtime each."""

    def __init__(self, workspace: Workspace, settings: Settings,
                 timeout_s: float = SHARD_TIMEOUT_S) -> None:
        self.names = workspace.names
        self.runtimes = {r.name: Runtime(repo_settings(settings, r)) for r in workspace.repos}
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max(4, 2 * len(self.names)), "sextant-shard")
        self._live: dict[str, LiveIndex] = {}

    def open(self) -> None:
        for name, runtime in self.runtimes.items():
            self._live[name] = runtime.acquire()

    def wait_ready(self, timeout_s: float) -> bool:
        return all(r.ready.wait(timeout_s) for r in self.runtimes.values())

    def call(self, tool: str, kwargs: dict[str, Any], repos: list[str],
             wait_fresh: bool = False, fresh_paths: list[str] | None = None,
             overrides: Overrides | None = None) -> Fanout:
        futures: dict[str, Future[BaseModel]] = {
            name: self._pool.submit(run_tool, self._live[name], tool,
                                    {**kwargs, **(overrides or {}).get(name, {})}, wait_fresh,
                                    fresh_paths) for name in repos}
        wait_futures(futures.values(), timeout=self.timeout_s)
        out = Fanout()
        for name, future in futures.items():
            collect(out, name, future)
        return out

    def shutting_down(self) -> None:
        for runtime in self.runtimes.values():
            runtime.shutting_down()

    def close(self) -> None:
        for name, runtime in self.runtimes.items():
            if name in self._live:
                runtime.release()
        self._live.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


def collect(out: Fanout, name: str, future: Future[BaseModel]) -> None:
    """Record one repository's outcome: its answer, its tool error, or why it is missing."""
    if not future.done():
        out.missing[name] = "timed out"
        return
    try:
        out.results[name] = future.result()
    except ToolError as exc:
        out.errors[name] = str(exc)
        if isinstance(exc, ArgumentError):
            out.invalid.add(name)
    except Exception as exc:  # one repository's failure must not fail the whole call
        log.exception("repository %s failed to answer", name)
        out.missing[name] = f"failed: {type(exc).__name__}: {exc}"


class WorkspaceRuntime(Runtime):
    """The HTTP front's view of a workspace (metrics, /healthz): `ready` is set once every
    repository has reconciled (`follow`, after the shards are opened)."""

    READY_WAIT_S = 24 * 3600.0

    def __init__(self, settings: Settings, shards: Shards) -> None:
        super().__init__(settings)
        self.shards = shards

    def follow(self) -> None:
        """Set `ready` once every shard is (in a daemon thread; returns at once)."""
        def wait() -> None:
            if self.shards.wait_ready(self.READY_WAIT_S):
                self.ready.set()

        threading.Thread(target=wait, name="sextant-workspace-ready", daemon=True).start()

    def shutting_down(self) -> None:
        self.shards.shutting_down()
