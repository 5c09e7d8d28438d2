"""The live index: file events -> pending set -> debounced batches -> pipeline.

Two threads share one `PendingPaths`:

- the *listener* runs `watchfiles.watch` (Rust `notify`, short debounce) and turns each
  batch of events into repository-relative file paths (`indexer.reconcile.expand_event`:
  directories expand to the files under them, ignored paths that were never indexed are
  dropped) and adds them to the pending set. Changes to ignore files, `.git/HEAD` (a
  branch switch), a batch over `MASS_CHANGE` paths, or a watcher error request a full
  reconcile instead.
- the *applier* waits for work, takes a snapshot of the pending set, applies it
  (`indexer.reconcile.apply_batch`: `update_paths` or `index_repository`, then embeds the
  new chunks), removes from the set exactly the entries it applied (a path changed again
  meanwhile stays pending), and calls `runtime.notify_changed()`.

A path is pending from the moment its event is seen until the store, the lexical index and
(when embeddings are on) the vectors reflect it. Tools report that through
`ToolContext.pending_paths`; `wait_until_fresh` lets a tool wait, bounded, until the files
it is about to answer from are fresh.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import watchfiles

from indexer.ignore import IgnoreCache
from indexer.reconcile import apply_batch, expand_event, is_reconcile_trigger, stale_paths

if TYPE_CHECKING:
    from tools.context import ToolContext

log = logging.getLogger(__name__)

MASS_CHANGE = 500  # more paths than this in one batch: one reconcile instead
_STEP_MS = 10  # quiet time that closes a batch
_RUST_TIMEOUT_MS = 1000
_RETRY_S = 1.0  # pause before re-starting a failed watcher


@dataclass(frozen=True, slots=True)
class Batch:
    paths: dict[str, int]  # path -> sequence number of its latest event
    reconcile: int  # sequence number of the reconcile request, 0 if none


class PendingPaths:
    """Paths seen changing but not yet applied to the index (thread-safe, callable)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paths: dict[str, int] = {}
        self._reconcile = 0
        self._seq = 0

    def __call__(self) -> set[str]:
        with self._cond:
            return set(self._paths)

    @property
    def reconciling(self) -> bool:
        with self._cond:
            return self._reconcile != 0

    def add(self, paths: Iterable[str], reconcile: bool = False) -> None:
        with self._cond:
            self._seq += 1
            for p in paths:
                self._paths[p] = self._seq
            if reconcile:
                self._reconcile = self._seq
            self._cond.notify_all()

    def take(self, timeout: float) -> Batch | None:
        """A snapshot of the pending work, waiting up to `timeout` s for some."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._paths or self._reconcile, timeout):
                return None
            return Batch(dict(self._paths), self._reconcile)

    def done(self, batch: Batch) -> None:
        """Forget what `batch` applied, keeping entries that changed again meanwhile."""
        with self._cond:
            for p, seq in batch.paths.items():
                if self._paths.get(p) == seq:
                    del self._paths[p]
            if self._reconcile == batch.reconcile:
                self._reconcile = 0
            self._cond.notify_all()

    def wait_fresh(self, paths: set[str] | None, timeout: float) -> bool:
        """Wait until none of `paths` (every path when None) is pending; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy(paths), timeout)

    def _busy(self, paths: set[str] | None) -> bool:
        if self._reconcile:
            return True
        if paths is None:
            return bool(self._paths)
        prefixes = tuple(q.rstrip("/") + "/" for q in paths if q not in ("", "."))
        if len(prefixes) < len(paths):  # the repository root was asked for
            return bool(self._paths)
        return any(p in paths or p.startswith(prefixes) for p in self._paths)


def wait_until_fresh(ctx: ToolContext, paths: Iterable[str] | None, timeout_s: float) -> bool:
    """Block until the index reflects `paths` (all pending changes when None), at most
    `timeout_s` seconds. True when fresh. Files named in `paths` whose stat differs from the
    index are queued first, so an edit the watcher has not reported yet is waited for too."""
    wanted = None if paths is None else {p.strip("/") or "." for p in paths}
    pending = ctx.pending_paths
    if not isinstance(pending, PendingPaths):
        return ctx.freshness(wanted).fresh
    if wanted and ctx.watching:
        stale = stale_paths(ctx.index, wanted)
        if stale:
            pending.add(stale)
    return pending.wait_fresh(wanted, timeout_s)


def watch_repository(runtime: Any, ctx: ToolContext, stop: threading.Event) -> None:
    """Follow file changes under the repository until `stop` is set.

    Exposes the pending set as `ctx.pending_paths`. Batches are applied only after
    `runtime.ready` is set (the reconcile on start), so this may start before it."""
    watcher = Watcher(runtime, ctx, stop)
    ctx.pending_paths = watcher.pending
    applier = threading.Thread(target=watcher.apply_loop, name="sextant-apply", daemon=True)
    applier.start()
    try:
        watcher.listen_loop()
    finally:
        applier.join(timeout=60)


class Watcher:
    def __init__(self, runtime: Any, ctx: ToolContext, stop: threading.Event) -> None:
        self.runtime = runtime
        self.ctx = ctx
        self.stop = stop
        self.pending = PendingPaths()
        self.root = ctx.index.root
        self.index_dir = ctx.index.paths.base
        self.cache = IgnoreCache(self.root, runtime.options.walk.extra_ignore)
        self.apply_cache = IgnoreCache(self.root, runtime.options.walk.extra_ignore)

    # -- listener --------------------------------------------------------------------------

    def listen_loop(self) -> None:
        debounce = max(int(self.runtime.settings.debounce_ms), _STEP_MS)
        while not self.stop.is_set():
            try:
                for changes in watchfiles.watch(
                    self.root, watch_filter=self._keep, debounce=debounce, step=_STEP_MS,
                    rust_timeout=_RUST_TIMEOUT_MS, stop_event=self.stop, raise_interrupt=False,
                ):
                    self.on_changes(changes)
            except Exception:  # the watcher must outlive a backend failure
                log.exception("file watcher failed; reconciling and restarting it")
                self.pending.add([], reconcile=True)
                self.stop.wait(_RETRY_S)

    def _keep(self, _change: watchfiles.Change, path: str) -> bool:
        rel = self._rel(path)
        if rel is None:
            return False
        if rel == ".git" or rel.startswith(".git/"):
            return is_reconcile_trigger(rel)
        return not Path(path).is_relative_to(self.index_dir)

    def _rel(self, path: str) -> str | None:
        rel = os.path.relpath(path, self.root).replace(os.sep, "/")
        return None if rel == "." or rel.startswith("../") or rel == ".." else rel

    def on_changes(self, changes: set[tuple[watchfiles.Change, str]]) -> None:
        rels = sorted({r for _, p in changes if (r := self._rel(p)) is not None})
        reconcile = False
        for rel in rels:
            reconcile |= self.cache.note_changed(rel) or is_reconcile_trigger(rel)
        if reconcile:
            self.cache.invalidate_all()
            self.apply_cache.invalidate_all()
        paths: set[str] = set()
        for rel in rels:
            paths |= expand_event(self.ctx.index, rel, self.runtime.options.walk, self.cache)
        if reconcile or len(paths) > MASS_CHANGE:
            log.info("%d changed paths%s: reconciling", len(paths),
                     " and ignore rules or HEAD changed" if reconcile else "")
            self.pending.add(paths or rels, reconcile=True)
        elif paths:
            self.pending.add(paths)

    # -- applier ---------------------------------------------------------------------------

    def apply_loop(self) -> None:
        while not self.stop.is_set() and not self.runtime.ready.wait(0.1):
            pass
        while not self.stop.is_set():
            batch = self.pending.take(timeout=0.2)
            if batch is None:
                continue
            started = time.perf_counter()
            try:
                apply_batch(self.ctx, list(batch.paths), bool(batch.reconcile),
                            self.runtime.options, self.apply_cache,
                            getattr(self.runtime, "index_lock", None))
            except Exception:  # top of a thread: log, keep following edits
                log.exception("applying %d changed paths failed", len(batch.paths))
                if not batch.reconcile:
                    self.pending.add([], reconcile=True)  # retry the whole tree once
            self.pending.done(batch)
            self.ctx.metrics["last_update_ms"] = (time.perf_counter() - started) * 1000
            self.runtime.notify_changed()
