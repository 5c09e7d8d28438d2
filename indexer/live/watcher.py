"""The file watcher of a live index: file events -> pending set -> batches -> the index.

Two threads share the live index's `PendingPaths`:

- the *listener* runs `watchfiles.watch` (Rust `notify`, short debounce) and resolves each
  batch of events against the ignore rules, once (`indexer.live.events.resolve`), into
  the paths it may change, which become pending. Changes to ignore files, `.git/HEAD` (a
  branch switch), a batch over `MASS_CHANGE` paths, or a watcher error request a full
  reconcile instead.
- the *applier* waits for work, takes a snapshot of the pending set, hands it to
  `LiveIndex.apply` (which also embeds the new chunks), removes from the set exactly the
  entries it applied (a path changed again meanwhile stays pending) and notifies the live
  index's listeners.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Protocol

import watchfiles

from indexer.build import IndexOptions, IndexStats
from indexer.discover import IgnoreCache
from indexer.disk import RepoIndex
from indexer.live.barrier import WatchBarrier
from indexer.live.events import is_reconcile_trigger, resolve
from indexer.live.pending import PendingPaths
from indexer.live.readers import Readers


class Watched(Protocol):
    """What the watcher needs of a live index (`indexer.live.LiveIndex` provides it)."""

    index: RepoIndex
    pending: PendingPaths
    barrier: WatchBarrier
    readers: Readers
    ready: threading.Event
    metrics: dict[str, float]

    @property
    def root(self) -> Path: ...

    @property
    def debounce_ms(self) -> int: ...

    @property
    def index_options(self) -> IndexOptions: ...

    root_identity: tuple[int, int] | None

    def ignore_rules(self) -> IgnoreCache: ...

    def apply(self, paths: list[str], removed: set[str], reconcile: bool,
              summaries: bool = True) -> IndexStats: ...

    def refresh_summaries(self) -> None: ...

    def notify_changed(self) -> None: ...

log = logging.getLogger(__name__)

MASS_CHANGE = 500  # more paths than this in one batch: one reconcile instead
_STEP_MS = 10  # quiet time that closes a batch
_RUST_TIMEOUT_MS = 1000
_RETRY_S = 1.0  # pause before re-starting a failed watcher
# reconciles for events on names that are not UTF-8 come at most this often; one owed meanwhile
# runs when the window ends (a file of such a name written again and again kept every answer
# stale, reconciling without end)
_UNDECODABLE_S = 5.0
_ROOT_POLL_S = 0.2  # how often a missing repository directory is looked for
_PAUSE_MAX_S = 2.0  # the longest rest between two applied batches (see `apply_loop`)


def root_identity(root: Path) -> tuple[int, int] | None:
    """(device, inode) of the directory at `root`; None when there is none."""
    try:
        st = os.stat(root)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _undecodable_path(exc: Exception) -> bool:
    """watchfiles' error for an event on a path that is not valid UTF-8, which it cannot hand
    to Python: the batch it was in is lost (the reconcile finds what it held), the watch
    ends, and nothing else is wrong."""
    return str(exc).startswith("Unable to decode path")


class Watcher:
    def __init__(self, live: Watched, stop: threading.Event) -> None:
        self.live = live
        self.stop = stop
        self.pending = live.pending
        self.root = live.root
        self.index_dir = live.index.paths.base
        self.barrier = live.barrier
        self._removed: set[str] = set()  # pending paths the rules now exclude
        self._removed_lock = threading.Lock()
        self._undecodable_at = -_UNDECODABLE_S  # when such a reconcile was last asked for
        self._undecodable_owed = False

    def run(self) -> None:
        applier = threading.Thread(target=self.apply_loop, name="sextant-apply", daemon=True)
        applier.start()
        try:
            self.listen_loop()
        finally:
            applier.join(timeout=5)

    # -- listener --------------------------------------------------------------------------

    def listen_loop(self) -> None:
        debounce = max(int(self.live.debounce_ms), _STEP_MS)
        while self._attach():
            try:
                for changes in watchfiles.watch(
                    self.root, *self._barrier_watch(), watch_filter=self._keep,
                    debounce=debounce, step=_STEP_MS,
                    rust_timeout=_RUST_TIMEOUT_MS, stop_event=self.stop, raise_interrupt=False,
                    yield_on_timeout=True,
                ):
                    self.barrier.arm()  # the watch runs: a barrier file written now is seen
                    self._pay_undecodable()
                    replaced = self._root_replaced()  # then everything is stale
                    changes = {c for c in changes if not self.barrier.owns(c[1])}
                    if changes and not replaced:
                        self.on_changes(changes)
                    self.barrier.release()  # what was written before it is pending now
                    if replaced:
                        break  # watch the directory now at the root instead
            except Exception as exc:  # the watcher must outlive a backend failure
                if self._root_replaced():
                    continue
                if _undecodable_path(exc):  # a routine event: restart at once, reconciling at
                    # most every `_UNDECODABLE_S` (a file of such a name written again and
                    # again would keep every answer stale)
                    log.warning("file watcher: %s (not indexed: `non_utf8_name`); "
                                "reconciling", exc)
                    self._undecodable_owed = True
                    self._pay_undecodable()
                    continue
                log.exception("file watcher failed; reconciling and restarting it")
                self.pending.add([], reconcile=True)
                self.stop.wait(_RETRY_S)
            finally:
                self.barrier.disarm()

    def _pay_undecodable(self) -> None:
        """The reconcile an undecodable name's lost batch owes, once its window allows."""
        now = time.monotonic()
        if self._undecodable_owed and now - self._undecodable_at >= _UNDECODABLE_S:
            self.pending.add([], reconcile=True)
            self._undecodable_at, self._undecodable_owed = now, False

    def _barrier_watch(self) -> list[Path]:
        """The barrier's folder, made now, as a path to watch beside the root when it lies
        outside the tree (one watch, one queue of events: `indexer.live.barrier`)."""
        try:
            self.barrier.folder.mkdir(parents=True, exist_ok=True)
        except OSError:  # no barrier file can be written either: callers wait as before
            return []
        return [] if self.barrier.inside else [self.barrier.folder]

    def _attach(self) -> bool:
        """Wait until the root is a directory and record which one is watched (a different
        one than before was put in place of the old: reconcile with it). False on stop."""
        identity = root_identity(self.root)
        while identity is None:
            if self.stop.wait(_ROOT_POLL_S):
                return False
            identity = root_identity(self.root)
        previous, self.live.root_identity = self.live.root_identity, identity
        if previous is not None and previous != identity:
            log.warning("repository directory %s was replaced; watching the new one and "
                        "reconciling with it", self.root)
            self.pending.add([], reconcile=True)
        return not self.stop.is_set()

    def _root_replaced(self) -> bool:
        """True (and everything stale) when the watched directory is no longer the root:
        removed, or moved away and another put in its place."""
        if root_identity(self.root) == self.live.root_identity:
            return False
        log.warning("repository directory %s was removed or replaced; the index is stale "
                    "until a directory is back there", self.root)
        self.pending.add([], reconcile=True)
        return True

    def _keep(self, _change: watchfiles.Change, path: str) -> bool:
        if self.barrier.note(path):
            return True  # a batch of barrier files alone is handed over too, and released
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
        rules = self.live.ignore_rules()
        reconcile = False
        for rel in rels:
            reconcile |= rules.note_changed(rel) or is_reconcile_trigger(rel)
        if reconcile:
            rules.invalidate_all()
        resolved = resolve(self.live.index, rels, self.live.index_options.walk, rules)
        paths = resolved.all()
        if resolved.removed:
            with self._removed_lock:
                self._removed |= resolved.removed
        if reconcile or len(paths) > MASS_CHANGE:
            log.info("%d changed paths%s: reconciling", len(paths),
                     " and ignore rules or HEAD changed" if reconcile else "")
            self.pending.add(paths or rels, reconcile=True)
        elif paths:
            self.pending.add(paths)

    # -- applier ---------------------------------------------------------------------------

    def apply_loop(self) -> None:
        while not self.stop.is_set() and not self.live.ready.wait(0.1):
            pass
        while not self.stop.is_set():
            if root_identity(self.root) != self.live.root_identity:
                self.stop.wait(_ROOT_POLL_S)  # never index a missing or unwatched root
                continue
            batch = self.pending.take(timeout=0.2)
            if batch is None:
                continue
            started = time.perf_counter()
            with self._removed_lock:
                removed = self._removed & batch.paths.keys()
                self._removed -= removed
            paths = [p for p in batch.paths if p not in removed]
            try:
                self.live.apply(paths, removed, bool(batch.reconcile), summaries=False)
            except Exception:  # top of a thread: log, keep following edits
                log.exception("applying %d changed paths failed", len(batch.paths))
                if not batch.reconcile:
                    self.pending.add([], reconcile=True)  # retry the whole tree once
            self.pending.done(batch)  # searchable now; the summaries above them follow
            try:
                self.live.refresh_summaries()
            except Exception:  # top of a thread too; reads build what they need meanwhile
                log.exception("refreshing the directory summaries failed")
            elapsed = time.perf_counter() - started
            self.live.metrics["last_update_ms"] = elapsed * 1000
            self.live.notify_changed()
            # Edits that keep coming are applied together: the next batch waits as long as
            # this one took (at most _PAUSE_MAX_S), so re-indexing (and reloading the
            # in-memory tables, seconds on a large repository) takes at most half the time
            # and leaves the rest to readers; while none reads, it does not wait
            # (`indexer.live.readers`). Paths changed meanwhile stay pending.
            self.live.readers.rest(min(elapsed, _PAUSE_MAX_S), self.stop)
