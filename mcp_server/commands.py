"""Implementations of the CLI commands (argument parsing lives in cli.py).

`sextant index` imports only the indexer: pydantic and the tools are imported by the
commands that use them (they cost the indexing process ~9 MB of resident memory). A read
command imports the indexing pipeline (worker processes, the walk, the ignore rules) only when
it refreshes the index first: `search --no-refresh` starts without them.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from indexer.disk import IndexPaths, RepoIndex
from indexer.live import LiveIndex, LiveOptions
from mcp_server import render
from mcp_server.progress import Progress
from mcp_server.settings import Settings, static_from_env
from mcp_server.usage import CliError, UsageError, repo_path

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import BaseModel

Emit = Callable[[argparse.Namespace, Any, Callable[[Any], str]], None]


def _paths(args: argparse.Namespace) -> IndexPaths:
    """The index's paths; an index directory that would mix with the repository's own files
    is a usage error (`IndexPaths.check`)."""
    from pathlib import Path

    from indexer.disk import IndexDirError

    paths = IndexPaths.for_repo(repo_path(args), Path(args.index_dir) if args.index_dir else None)
    try:
        paths.check()
    except IndexDirError as exc:
        raise UsageError(str(exc)) from None
    return paths


def set_aside_damaged_index(args: argparse.Namespace, error: BaseException) -> None:
    from indexer.disk import set_aside_damaged

    set_aside_damaged(_paths(args), error)


def mark_lexical_damaged(args: argparse.Namespace, error: BaseException) -> None:
    """Have the next open rebuild the lexical index from the store (a read failed on it)."""
    from indexer.lexical import mark_stale

    sys.stderr.write(f"sextant: {error}; rebuilding it from the store\n")
    mark_stale(_paths(args).lexical)


@contextmanager
def open_context(args: argparse.Namespace, *, embed: bool = False,
                 refresh: bool = True) -> Iterator[LiveIndex]:
    """The repository's live index for one command: built first when none exists, else first
    brought up to date with the files on disk (incremental: only changed files are read),
    unless `refresh` is off or the user passed `--no-refresh`. No watcher, no background
    work: `embed` attaches the semantic tiers only where their vectors exist (the static
    tier first, so that a refresh gives changed chunks static vectors too)."""
    paths = _paths(args)
    fresh = not paths.exists()
    refresh = fresh or (refresh and not getattr(args, "no_refresh", False))
    with LiveIndex(RepoIndex(paths), LiveOptions(static=static_from_env())) as live:
        if refresh:
            from indexer.build import IndexOptions, index_repository
            from indexer.core import WorkerPool

            live.index.workers = WorkerPool()
        if embed and live.options.static and paths.static_vectors.exists():
            live.attach_static()
        if fresh:
            sys.stderr.write("sextant: no index yet; indexing (lexical + symbols) first\n")
            index_repository(live.index, IndexOptions(), Progress())
        elif refresh:
            stats = index_repository(live.index, live.index_options, None)
            if stats.indexed or stats.deleted:
                sys.stderr.write(f"sextant: refreshed the index first ({stats.indexed} changed, "
                                 f"{stats.deleted} deleted files)\n")
            live.index.compact_lexical(bounded=True)  # when cheap: see COMPACT_ALWAYS_BELOW
        live.refresh_summaries()
        if embed:
            _attach_existing_vectors(live)
        yield live


def _attach_existing_vectors(live: LiveIndex) -> None:
    """Use embeddings that exist, embedding nothing new (search stays fast)."""
    try:
        live.attach_existing_vectors()
    except Exception as exc:  # noqa: BLE001 - semantic search is optional for the CLI
        sys.stderr.write(f"sextant: embeddings unavailable ({exc}); searching lexically\n")
        live.embedder = None
        live.vectors = None


M = TypeVar("M", bound="BaseModel")


def _live_server_tool(args: argparse.Namespace, name: str, arguments: dict[str, Any],
                      model: type[M]) -> M | None:
    """The answer of the live server that owns the index (owner.py), or None when none does.
    The MCP client (~1 s of imports) is imported only when a live owner is recorded."""
    paths = _paths(args)
    if not paths.server_file.exists():
        return None
    from mcp_server.owner import read_owner

    owner = read_owner(paths)
    if owner is None:
        return None
    from mcp_server.proxy import RemoteArgumentError, RemoteToolError, call_tool_sync

    try:
        return model.model_validate(call_tool_sync(owner, name, arguments))
    except RemoteArgumentError as exc:
        raise UsageError(str(exc)) from None
    except RemoteToolError as exc:
        raise CliError(str(exc)) from None


def _run_tool(args: argparse.Namespace, fn: Callable[..., M], model: type[M], *,
              embed: bool = False, **arguments: Any) -> M:
    """Run a read tool: through the live server owning the index, else on the index itself."""
    remote = _live_server_tool(args, fn.__name__, arguments, model)
    if remote is not None:
        return remote
    with open_context(args, embed=embed) as ctx:
        return fn(ctx, **arguments)


def cmd_index(args: argparse.Namespace, emit: Emit) -> int:
    from indexer.build import IndexOptions, index_repository
    from indexer.core import WorkerPool
    from indexer.discover import WalkOptions

    opts = IndexOptions(walk=WalkOptions(max_file_bytes=args.max_file_bytes,
                                         index_secrets=args.index_secrets))
    paths = _paths(args)
    if args.dry_run:
        from indexer.build import dry_run

        report = dry_run(paths.root, opts, embed=not args.no_embed, verbose=args.verbose)
        emit(args, report, render.dry_run)
        return 0
    imported = _import_snapshot(args, paths) if args.import_file else None
    progress = Progress()
    started = time.perf_counter()
    static = (static_from_env() or args.static) and not args.no_static
    with LiveIndex(RepoIndex(paths), LiveOptions(static=static)) as live:
        live.index.workers = WorkerPool(opts.workers)  # crash isolation even for a few files
        if static:
            live.attach_static()  # new chunks get static vectors as they are written
        stats = index_repository(live.index, opts, progress)
        live.refresh_summaries()  # every index update, so that reading commands only read
        result: dict[str, Any] = stats.as_dict()
        # deleted documents skew BM25 statistics: rank as a fresh build of these files would
        result["lexical_compacted"] = live.index.compact_lexical()
        if live.static is not None:
            result["static"] = {"model": live.static.model_id, "vectors": len(live.static)}
        result["seconds_to_usable"] = round(time.perf_counter() - started, 3)
        if not args.no_embed:
            sys.stderr.write(f"sextant: index ready ({_tiers(live)}) in "
                             f"{result['seconds_to_usable']} s; embedding with the model, most "
                             "valuable chunks first (Ctrl-C stops; the next run resumes)\n")
            result["embedding"] = _embed_all(live, progress)
        if imported is not None:
            result["imported"] = imported
        if args.export:
            result["exported"] = _export_snapshot(live.index, args.export)
    emit(args, result, render.index_stats)
    return 130 if result.get("embedding", {}).get("interrupted") else 0


def _import_snapshot(args: argparse.Namespace, paths: IndexPaths) -> dict[str, Any]:
    from pathlib import Path

    from indexer.disk import SnapshotError, import_snapshot

    try:
        return import_snapshot(Path(args.import_file), paths).as_dict()
    except SnapshotError as exc:
        raise CliError(f"{exc} (the index was left as it was)") from None


def _export_snapshot(index: RepoIndex, dest: str) -> dict[str, Any]:
    from pathlib import Path

    from indexer.disk import SnapshotError, export_snapshot

    try:
        return export_snapshot(index, Path(dest)).as_dict()
    except (SnapshotError, OSError) as exc:
        raise CliError(f"cannot write the snapshot {dest}: {exc}") from None


def _tiers(live: LiveIndex) -> str:
    return "lexical + symbols" + (" + static vectors" if live.static is not None else "")


def _embed_all(live: LiveIndex, progress: Progress) -> dict[str, Any]:
    """Embed every chunk without a model vector, with a progress bar (rate, ETA). Ctrl-C
    stops it between two batches' worth of work: what was embedded is saved (the vectors,
    and every batch in the embedding cache), the index stays usable, a later run resumes."""
    started = time.perf_counter()
    live.attach_model()
    state = live.embedding
    done = threading.Event()

    def report() -> None:
        while not done.wait(0.5):
            progress(state.done, state.total or None, "embedding")

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    interrupted = False
    try:
        live.embed_pending()
    except KeyboardInterrupt:
        interrupted = True
        state.state = "partial"
    finally:
        done.set()
        reporter.join()
    assert live.embedder is not None and live.vectors is not None
    if live.vectors.dirty:
        live.vectors.save(live.generation)
    if interrupted:
        sys.stderr.write(f"\nsextant: stopped; {len(live.vectors)} of {state.total} chunks have "
                         "model vectors; the index is usable (run `sextant index` again to "
                         "embed the rest)\n")
    else:
        progress(state.done, state.total or None, "embedding")
    return {"model": live.embedder.model_id, "embedded": len(live.vectors),
            "chunks": state.total, "vectors": len(live.vectors),
            "computed": state.computed,
            "seconds": round(time.perf_counter() - started, 2), "interrupted": interrupted}


def cmd_search(args: argparse.Namespace, emit: Emit) -> int:
    from tools.models import SearchResult
    from tools.search import search_code

    result = _run_tool(args, search_code, SearchResult, embed=args.mode != "lexical",
                       query=args.query, k=args.k, language=args.lang, path=args.path,
                       mode=args.mode, max_tokens=args.max_tokens,
                       granularity=args.granularity)
    emit(args, result, render.search)
    return 0


def cmd_context(args: argparse.Namespace, emit: Emit) -> int:
    from tools.context_models import ContextResult
    from tools.get_context import MAX_TASK_CHARS, get_context

    task = sys.stdin.read() if args.task == "-" else args.task
    if not task.strip():
        raise UsageError("the task is empty: describe the change, or pipe the issue report or "
                         "traceback into `sextant context -`")
    if len(task) > MAX_TASK_CHARS:
        raise UsageError(f"the task is {len(task):,} characters, over the {MAX_TASK_CHARS:,} "
                         "get_context takes: keep the description and the failing part (the "
                         "traceback, the error lines), not the whole log")
    result = _run_tool(args, get_context, ContextResult, embed=True, task=task,
                       max_tokens=args.max_tokens, path=args.path)
    emit(args, result, render.context)
    return 0


def cmd_symbol(args: argparse.Namespace, emit: Emit) -> int:
    from tools.models import SymbolResult
    from tools.symbols import get_symbol

    result = _run_tool(args, get_symbol, SymbolResult, name=args.name, path=args.path,
                       include_body=not args.no_body, include_references=args.refs,
                       max_tokens=args.max_tokens)
    if result.symbols or args.json:  # --json: stdout stays one JSON document
        emit(args, result, render.symbols)
    if not result.symbols and result.note:  # defined, but not in --path
        sys.stderr.write(f"sextant: {result.note}\n")
        return 1
    if not result.symbols:
        sys.stderr.write(f"sextant: no symbol named {args.name!r}: check the spelling, or find "
                         f"it with `sextant search {args.name}`\n")
        return 1
    return 0


def cmd_deps(args: argparse.Namespace, emit: Emit) -> int:
    from tools.deps import expand_dependencies
    from tools.models import DependencyResult

    result = _run_tool(args, expand_dependencies, DependencyResult, target=args.target,
                       direction=args.direction, depth=args.depth, max_tokens=args.max_tokens)
    emit(args, result, render.deps)
    return 0


def cmd_summary(args: argparse.Namespace, emit: Emit) -> int:
    from tools.models import SummaryResult
    from tools.summary import summarize_dir

    result = _run_tool(args, summarize_dir, SummaryResult, path=args.dir, depth=args.depth,
                       max_tokens=args.max_tokens)
    emit(args, result, render.summary)
    return 0


def cmd_status(args: argparse.Namespace, emit: Emit) -> int:
    from tools.models import IndexStatus
    from tools.status import index_status

    paths = _paths(args)
    if not paths.exists():
        raise CliError(f"no index at {paths.dir}: run `sextant index` in the repository first")
    remote = _live_server_tool(args, "index_status", {}, IndexStatus)
    if remote is not None:
        emit(args, remote, render.status)
        return 0
    with open_context(args, embed=True, refresh=False) as live:  # status reports staleness
        result = index_status(live)
    emit(args, result, render.status)
    return 0


def cmd_model(args: argparse.Namespace, emit: Emit) -> int:
    from indexer.embed.convert import model_info, provision_default_model

    path = provision_default_model(args.quant) if args.action == "setup" else None
    if path is None:
        import os
        from pathlib import Path

        env = os.environ.get("SEXTANT_MODEL")
        path = Path(env) if env else provision_default_model(args.quant)
    info = dict(model_info(path))
    info["path"] = str(path)
    if args.action == "setup" and static_from_env():
        info["static_table"] = _static_table(path)
    emit(args, info, render.model)
    return 0


def _static_table(path: Path) -> str:
    """The static tier's table of the model at `path`, distilled now unless cached (once per
    model: about a minute on 2 cores for MiniLM, which the first index would otherwise wait for)."""
    from indexer.embed import EmbedderError, load_static_tier

    started = time.perf_counter()
    try:
        embedder = load_static_tier(str(path))
    except (EmbedderError, OSError) as exc:
        return f"unavailable ({exc})"
    embedder.close()
    return f"{embedder.model_id} (ready in {time.perf_counter() - started:.1f} s)"


def cmd_serve(args: argparse.Namespace, emit: Emit) -> int:
    from pathlib import Path

    from mcp_server.serve import serve

    settings = Settings(
        root=repo_path(args), index_dir=Path(args.index_dir) if args.index_dir else None,
        watch=not args.no_watch, embed=not args.no_embed,
        static=(static_from_env() or args.static) and not args.no_static, transport=args.transport,
        host=args.host, port=args.port, token=args.token or Settings(root=repo_path(args)).token,
        index_secrets=args.index_secrets, **_http_overrides(args))
    if args.workspace or args.cluster:
        from mcp_server.workspace_server import serve_workspace

        serve_workspace(settings, args.workspace, cluster=args.cluster, address=args.address)
        return 0
    _paths(args)  # the index directory is checked before the server starts
    serve(settings)
    return 0


def cmd_cluster(args: argparse.Namespace, emit: Emit) -> int:
    from mcp_server.cluster import cluster_index_command

    result = cluster_index_command(args.workspace, args.address, embed=not args.no_embed)
    emit(args, result, render.cluster_index)
    return 0


def _http_overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.allowed_host:
        out["allowed_hosts"] = tuple(args.allowed_host)
    if args.allowed_origin:
        out["allowed_origins"] = tuple(args.allowed_origin)
    if args.no_attach:
        out["attach_listener"] = False
    return out


def cmd_eval(args: argparse.Namespace, emit: Emit) -> int:
    from tools.selfeval import git_dir, self_eval
    from tools.selfeval import render as render_eval

    git_dir(_paths(args).root)  # fail before indexing a directory without history
    with open_context(args, embed=True) as ctx:
        if args.fit:
            from tools.fit_weights import History, fit_weights
            from tools.fit_weights import render as render_fit

            emit(args, fit_weights(ctx, History(since=args.since, n=args.n)), render_fit)
            return 0
        report = self_eval(ctx, since=args.since, n=args.n)
    emit(args, report, render_eval)
    return 0
