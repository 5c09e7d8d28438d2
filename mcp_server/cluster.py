"""Beyond one machine, on Ray: bulk shard builds as Ray tasks, serving through Ray actors.

A shard is one repository of a workspace, indexed as an ordinary Sextant index in its own
index directory. Ray does the placement, retries and restarts; Sextant only says what runs:

- `cluster_index`: one `build_shard` task per repository (1 CPU each, so a cluster with N
  CPUs builds N shards at a time); the model tier in one `EmbedService` actor that holds
  the model and the build's shared embedding cache, on a GPU (`num_gpus=1`) where the
  cluster has one and on a CPU otherwise (see `mcp_server.cluster_actors`).
- `ClusterShards`: one `ShardHost` actor per repository holding its opened live index
  (`max_restarts`: Ray restarts a dead actor, which reopens the shard from disk). A call
  goes to every chosen actor at once; an actor that fails, dies or does not answer within
  the timeout is reported missing, and the others' answers are merged (`tools.merge`).

Without an address, a local Ray instance is started (`num_cpus=2`); with one, Sextant must
be installed on every node and the repositories must be at the same paths there (a shared
file system), because a shard is opened where its actor runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from indexer.live import LiveOptions
from mcp_server.runtime import live_options
from mcp_server.settings import Settings
from mcp_server.usage import UsageError
from mcp_server.workspace import (
    SHARD_TIMEOUT_S,
    TOOLS,
    Fanout,
    Overrides,
    Workspace,
    repo_settings,
)

log = logging.getLogger(__name__)

INSTALL_HINT = ("Ray is not installed: install the cluster extra with "
                "`pip install -e '.[cluster]'` (or `pip install 'ray>=2.9'`)")
LOCAL_CPUS = 2
MAX_RESTARTS = 5
ACTOR_THREADS = 8  # concurrent calls one shard actor serves


def require_ray() -> Any:
    """The `ray` module, or a usage error (exit 2) that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return ray


def init_ray(address: str | None, num_cpus: int = LOCAL_CPUS) -> bool:
    """Connect to the cluster at `address`, or start a local instance; True when this call
    started (and so should shut down) Ray. Workers of a local instance import this
    checkout of Sextant and see the SEXTANT_* settings of this process."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    env = {k: v for k, v in os.environ.items() if k.startswith("SEXTANT_")}
    if address is None:
        source = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {**env, "PYTHONPATH": path}})
    else:
        ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": env})
    return True


def _cluster_gpus() -> float:
    ray = require_ray()
    return float(ray.cluster_resources().get("GPU", 0))


def cluster_index(workspace: Workspace, settings: Settings, *,
                  embed: bool = True) -> dict[str, Any]:
    """Build every repository's shard as a Ray task (Ray must be initialised; it runs as
    many at a time as the cluster has CPUs); the shards' measurements, the embedding
    service's counts and the wall time."""
    ray = require_ray()
    started = time.perf_counter()
    service = None
    if embed:
        # No CPU slot reserved: on a CPU-only cluster the model shares the CPUs with the
        # parsing tasks instead of taking a slot for the whole build (on a 1-CPU instance a
        # reserved slot would leave none for the tasks that call it).
        gpus = 1 if _cluster_gpus() >= 1 else 0
        actor = ray.remote(num_gpus=gpus, num_cpus=0)(_EmbedActor)
        service = actor.remote(settings.model, settings.gpu_layers)
    task = ray.remote(num_cpus=1, max_retries=2)(_build_task)
    walk = live_options(settings).walk
    # largest first: the biggest shard bounds the build's wall time, so it must not start last
    refs = [task.remote(
        r.name, str(r.path), str(r.index_dir) if r.index_dir else None, service, walk)
        for r in sorted(workspace.repos, key=lambda r: -tree_bytes(r.path))]
    shards = ray.get(refs)
    out: dict[str, Any] = {"shards": shards, "seconds": round(time.perf_counter() - started, 3)}
    if service is not None:
        out["embedding"] = ray.get(service.stats.remote())
        ray.kill(service)
    return out


def tree_bytes(root: Path) -> int:
    """Bytes of the files under `root`, outside dot-directories: a shard's size estimate."""
    total = 0
    for path, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_size
            except OSError:
                continue
    return total


class _EmbedActor:
    """`EmbedService` as an actor (its methods are called through Ray handles)."""

    def __init__(self, model: str | None, gpu_layers: int | None) -> None:
        from mcp_server.cluster_actors import EmbedService

        self.service = EmbedService(model, gpu_layers)

    def info(self) -> tuple[str, int, int]:
        return self.service.info()

    def embed_documents(self, texts: list[str]) -> Any:
        return self.service.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        return self.service.embed_query(text)

    def stats(self) -> dict[str, float]:
        return self.service.stats()


class _ActorCalls:
    """The `EmbedCall` seam over a Ray actor handle (one blocking call per method)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def info(self) -> tuple[str, int, int]:
        return require_ray().get(self.handle.info.remote())

    def embed_documents(self, texts: Any) -> Any:
        return require_ray().get(self.handle.embed_documents.remote(list(texts)))

    def embed_query(self, text: str) -> Any:
        return require_ray().get(self.handle.embed_query.remote(text))


def _build_task(name: str, root: str, index_dir: str | None, service: Any,
                walk: Any) -> dict[str, Any]:
    from mcp_server.cluster_actors import RemoteEmbedder, build_shard

    embedder = RemoteEmbedder(_ActorCalls(service)) if service is not None else None
    return build_shard(name, root, index_dir, embedder, walk)


class _ShardActor:
    """`ShardHost` as an actor."""

    def __init__(self, name: str, root: str, index_dir: str | None,
                 options: LiveOptions) -> None:
        from mcp_server.cluster_actors import ShardHost

        self.host = ShardHost(name, root, index_dir, options)

    def ready(self, timeout_s: float) -> bool:
        return self.host.ready(timeout_s)

    def pid(self) -> int:
        return self.host.pid()

    def peak_rss_mb(self) -> float:
        return self.host.peak_rss_mb()

    def call(self, tool: str, kwargs: dict[str, Any], wait_fresh: bool = False,
             fresh_paths: list[str] | None = None) -> tuple[str, Any]:
        return self.host.call(tool, kwargs, wait_fresh, fresh_paths)


class ClusterShards:
    """A workspace's repositories served by Ray actors (see the module docstring)."""

    def __init__(self, workspace: Workspace, settings: Settings, address: str | None = None,
                 timeout_s: float = SHARD_TIMEOUT_S) -> None:
        self.workspace = workspace
        self.settings = settings
        self.address = address
        self.names = workspace.names
        self.timeout_s = timeout_s
        self.actors: dict[str, Any] = {}
        self._restarting: dict[str, Any] = {}  # shard -> its restarted actor's `ready`
        self.in_flight = 0  # calls sent to the actors and not yet collected
        self.sent = threading.Condition()  # notified when a call has been sent
        self._started_ray = False

    def open(self) -> None:
        ray = require_ray()
        self._started_ray = init_ray(self.address)
        actor = ray.remote(_ShardActor).options(
            max_restarts=MAX_RESTARTS, max_task_retries=0, max_concurrency=ACTOR_THREADS,
            num_cpus=0)
        for spec in self.workspace.repos:
            options = live_options(repo_settings(self.settings, spec))
            self.actors[spec.name] = actor.remote(
                spec.name, str(spec.path), str(spec.index_dir) if spec.index_dir else None,
                options)

    def wait_ready(self, timeout_s: float) -> bool:
        ray = require_ray()
        refs = [a.ready.remote(timeout_s) for a in self.actors.values()]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
        try:
            return len(done) == len(refs) and all(ray.get(done))
        except ray.exceptions.RayError:  # an actor died or was stopped meanwhile
            return False

    def call(self, tool: str, kwargs: dict[str, Any], repos: list[str],
             wait_fresh: bool = False, fresh_paths: list[str] | None = None,
             overrides: Overrides | None = None) -> Fanout:
        ray = require_ray()
        deadline = time.monotonic() + self.timeout_s
        out = Fanout()
        live = self._await_restarts(repos, deadline, out)
        refs = {name: self.actors[name].call.remote(
            tool, {**kwargs, **(overrides or {}).get(name, {})}, wait_fresh, fresh_paths)
            for name in live}
        with self.sent:
            self.in_flight += 1
            self.sent.notify_all()
        try:
            ray.wait(list(refs.values()), num_returns=len(refs),
                     timeout=max(0.0, deadline - time.monotonic()))
            _, model = TOOLS[tool]
            for name, ref in refs.items():
                self._collect(out, name, ref, model)
            return out
        finally:
            with self.sent:
                self.in_flight -= 1

    def _await_restarts(self, repos: list[str], deadline: float, out: Fanout) -> list[str]:
        """`repos` whose actor is up: a shard whose actor died is asked again only once
        Ray has restarted it (waiting until `deadline`); else it is reported missing."""
        ray = require_ray()
        waiting = {n: self._restarting[n] for n in repos if n in self._restarting}
        if waiting:
            ray.wait(list(waiting.values()), num_returns=len(waiting),
                     timeout=max(0.0, deadline - time.monotonic()))
        for name, ref in waiting.items():
            if ray.wait([ref], timeout=0)[0]:
                del self._restarting[name]
            else:
                out.missing[name] = "shard actor is restarting"
        return [n for n in repos if n not in out.missing]

    def _collect(self, out: Fanout, name: str, ref: Any, model: Any) -> None:
        ray = require_ray()
        ready, _ = ray.wait([ref], timeout=0)
        if not ready:
            out.missing[name] = f"timed out after {self.timeout_s:g} s"
            ray.cancel(ref)
            return
        try:
            status, value = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            log.warning("shard %s: its actor died (%s); Ray restarts it", name, exc)
            out.missing[name] = "shard actor died; Ray is restarting it"
            # retried through the restart: resolves once the new actor has opened the shard
            self._restarting[name] = self.actors[name].ready.options(
                max_task_retries=-1).remote(self.timeout_s)
            return
        except ray.exceptions.RayError as exc:
            out.missing[name] = f"failed: {type(exc).__name__}"
            return
        if status == "ok":
            out.results[name] = model.model_validate(value)
        else:
            out.errors[name] = value
            if status == "invalid":
                out.invalid.add(name)

    def pid(self, name: str) -> int:
        """The process id of the actor holding shard `name` (for operators and tests)."""
        return int(require_ray().get(self.actors[name].pid.remote()))

    def peak_rss_mb(self) -> dict[str, float]:
        """Peak resident memory of each shard's actor, in MB."""
        ray = require_ray()
        return dict(zip(self.actors, ray.get([a.peak_rss_mb.remote()
                                              for a in self.actors.values()]), strict=True))

    def shutting_down(self) -> None:
        """Nothing here: the actors' background work stops when `close` ends them (a signal
        handler makes no remote calls)."""

    def close(self) -> None:
        ray = require_ray()
        for actor in self.actors.values():
            ray.kill(actor, no_restart=True)
        self.actors.clear()
        if self._started_ray:
            ray.shutdown()


def cluster_index_command(workspace_file: str, address: str | None, *,
                          embed: bool = True) -> dict[str, Any]:
    """`sextant cluster index`: Ray first (exit 2 without it), then the workspace."""
    ray = require_ray()
    from mcp_server.workspace import load_workspace

    workspace = load_workspace(Path(workspace_file))
    started = init_ray(address)
    try:
        return cluster_index(workspace, Settings(root=workspace.file.parent), embed=embed)
    finally:
        if started:
            ray.shutdown()
