"""`LiveIndex`: one repository's index as a living thing.

It owns everything that changes while a repository is served or queried: the index on disk
(`RepoIndex`: store + lexical + the static tier's vectors), the model tier's vectors and
embedder, the set of paths seen
changing but not yet indexed, freshness, the embedding state, and the background work
(reconcile on start, the file watcher, background embedding). The protocol layer holds one
per served repository and counts the sessions using it; the CLI opens one for a command;
tools read it through its typed attributes and methods and never write.

Writers take turns on `write_lock` (the start-up reconcile, watcher batches, `refresh`);
readers never take it. After every write the listeners added with `add_listener` run (in
the writing thread): the protocol layer turns that into resource-update notifications.

Two semantic tiers (docs/embeddings.md): the static tier (`options.static`) gives every chunk
a vector while it is indexed; the model tier (`options.embed`) embeds in the background, most
valuable chunks first. `start` opens both tiers' saved vectors before it returns, so the
first query is answered with every vector the index has.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Self

from indexer.commits import HISTORY_CACHE, CommitLog, history_from_env
from indexer.discover import IgnoreCache, WalkOptions
from indexer.disk import RepoIndex
from indexer.live.barrier import WatchBarrier
from indexer.live.compaction import Compactor
from indexer.live.pending import PendingPaths, RecentPaths
from indexer.live.quiet import QuietTimer
from indexer.live.readers import Readers
from indexer.live.state import Coverage, EmbeddingState

if TYPE_CHECKING:
    from indexer.build import IndexOptions, IndexStats, ProgressFn, StopFn
    from indexer.disk import StaticTier
    from indexer.embed import Embedder
    from indexer.lexical import LexicalIndex
    from indexer.live.query_map import QueryMap
    from indexer.store import Store
    from indexer.vectors import VectorIndex

log = logging.getLogger(__name__)

SUMMARIES_GENERATION = "summaries_generation"  # meta key: the store generation summarised

# chunks without a model vector that an applied batch embeds itself (an edit's, at tens a
# second on a CPU); more go to a background pass (`LiveIndex._embed_applied`)
EMBED_INLINE = 256
_JOIN_S = 5.0  # how long `stop` waits for a background thread before leaving it (daemon)


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """How a live index behaves. `walk` holds the flags given on the command line; the size
    limit and secrets choice an index was built with are kept unless a flag overrides them.
    `static`: the static tier (off here; the protocol layer and the CLI turn it on unless
    `--no-static` or `SEXTANT_STATIC=0`); `embed`: the model tier in the background;
    `name`: the repository's name in answers (`repo`; default: the root directory's name);
    `warm`: reads run once, after the first reconcile and the tables' load (the protocol
    layer passes `tools.warm.warm_reads`: one call of each read tool, so the first calls
    cost what later ones do); `history`: read the repository's git log for search
    (`indexer.commits`; off with `SEXTANT_HISTORY=0`)."""

    walk: WalkOptions = field(default_factory=WalkOptions)
    watch: bool = False
    embed: bool = False
    static: bool = False
    model: str | None = None
    gpu_layers: int | None = None
    debounce_ms: int = 50
    name: str | None = None
    warm: Callable[[LiveIndex], object] | None = None
    history: bool = field(default_factory=history_from_env)


class LiveIndex:
    """One repository's live index (see the module docstring)."""

    def __init__(self, index: RepoIndex, options: LiveOptions | None = None,
                 ready: threading.Event | None = None) -> None:
        self.index = index
        self.options = options or LiveOptions()
        self.vectors: VectorIndex | None = None
        self.embedder: Embedder | None = None
        self.embedding = EmbeddingState()
        # the repository's query map for the model tier (`indexer.live.query_map`), and the
        # number of documented functions its last fit (or failed fit) was tried on
        self.query_map: QueryMap | None = None
        self._query_map_tried: int | None = None
        self.embed_lock = threading.Lock()  # the model is used by one thread at a time
        self.write_lock = threading.RLock()  # writers take turns; readers never take it
        self.pending = PendingPaths()
        # paths written whose directory summaries are not refreshed yet: the applier
        # refreshes them once the batch's paths are searchable (`apply(summaries=False)`)
        self.unsummarized = PendingPaths()
        self.recent = RecentPaths()  # files the watcher saw change, newest last
        # set after the reconcile on start; an owner may pass an event it waits on before the
        # live index exists (an HTTP server's readiness)
        self.ready = ready if ready is not None else threading.Event()
        self._started = False  # `start` ran: answers are stale until `ready`
        self.metrics: dict[str, float] = {}
        self.watching = False
        self.root_identity: tuple[int, int] | None = None  # the directory watched at root
        # a tool call's wait for the changes made before it (`indexer.live.barrier`)
        self.barrier = WatchBarrier(index.paths.dir / "barrier", index.root)
        self.readers = Readers()  # the tool calls reading now (the applier rests for them)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.static_error: str | None = None  # why the static tier is off, when it failed
        # the repository's recent commits (read on first use, again when HEAD moves); the
        # eval harness puts a replayed history's log here
        self.history: CommitLog | None = CommitLog(
            index.root, cache=index.paths.dir / HISTORY_CACHE) if self.options.history else None
        self._index_options: IndexOptions | None = None
        self._ignore: IgnoreCache | None = None
        self._ignore_lock = threading.Lock()
        self._recovering: set[str] = set()  # what is being rebuilt: "store", "lexical"
        # the background embedding pass (`embed_in_background`): one at a time
        self._backlog_lock = threading.Lock()
        self._backlog_running = False
        self._backlog_again = False
        # settles once neither writes nor reads have come for a while (`indexer.live.quiet`)
        self.quiet = QuietTimer(self.settle, self._stop)
        # rebuilds the lexical index once writes are quiet, when it holds deleted documents;
        # a compaction sorts every chunk's text in DuckDB: a write, settled after as edits are
        self.compactor = Compactor(lambda: self.index, self._writing, self._stop,
                                   after=self.quiet.touch, damaged=self.recover_if_damaged)

    @classmethod
    def open(cls, root: Path, index_dir: Path | None = None, options: LiveOptions | None = None,
             ready: threading.Event | None = None) -> LiveIndex:
        return cls(RepoIndex.open(root, index_dir), options, ready)

    # -- what tools read ---------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.index.root

    @property
    def name(self) -> str:
        """The repository's name, as every answer's items carry it (`repo`)."""
        return self.options.name or self.index.root.name

    @property
    def store(self) -> Store:
        return self.index.store

    @property
    def lexical(self) -> LexicalIndex:
        return self.index.lexical

    @property
    def static(self) -> StaticTier | None:
        """The static tier (embedder + vectors), when attached."""
        return self.index.static

    def coverage(self, chunks: int | None = None) -> Coverage:
        """How many chunks each semantic tier has a vector for, as counts (`chunks`: the
        store's chunk count when the caller has read it already)."""
        chunks = self.store.count_chunks() if chunks is None else chunks
        static = len(self.index.static) if self.index.static is not None else 0
        model = len(self.vectors) if self.vectors is not None else 0
        return Coverage(chunks=chunks, static=min(static, chunks), model=min(model, chunks))

    def model_state(self, coverage: Coverage | None = None) -> str:
        """The model tier's state, never `complete` unless every chunk has a model vector."""
        state = self.embedding.state
        if state not in ("complete", "partial"):
            return state
        cov = coverage or self.coverage()
        return "complete" if cov.model >= cov.chunks else "partial"

    @property
    def generation(self) -> int:
        return self.index.store.generation

    @property
    def debounce_ms(self) -> int:
        return self.options.debounce_ms

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def recently_changed(self, limit: int = 50) -> list[str]:
        """Files the watcher re-indexed lately (edited by the user), most recent first."""
        return self.recent.latest(limit)

    def pending_paths(self) -> set[str]:
        return self.pending()

    @property
    def reconciling(self) -> bool:
        """True while every answer is stale: a full reconcile is pending or running, or
        the watched repository directory was removed or replaced (checked now)."""
        self.check_root()
        return self.pending.reconciling

    @property
    def catching_up(self) -> bool:
        """True from `start` until its reconcile with the working tree has finished: until
        then answers come from the index as it was saved, whatever changed meanwhile."""
        return self._started and not self.ready.is_set()

    def changed_on_disk(self, paths: Iterable[str]) -> list[str]:
        """Of `paths`, the indexed files changed on disk since they were indexed (stat), or
        vanished: the watcher may not have reported them yet, or no watcher runs."""
        from indexer.live.events import changed_since_indexed

        return changed_since_indexed(self.index, paths)

    def check_root(self) -> None:
        """Make everything stale when the directory at the root is not the one watched (the
        watcher notices it too, within a second, re-attaches and reconciles)."""
        if self.watching and self.root_identity is not None:
            from indexer.live.watcher import root_identity

            if root_identity(self.root) != self.root_identity:
                self.pending.add([], reconcile=True)

    def _writing(self) -> bool:
        """True while a write is pending or the reconcile on start has not finished."""
        return bool(self.pending()) or self.pending.reconciling or not self.ready.is_set()

    def wait_compacted(self, timeout_s: float) -> bool:
        """Block until nothing is pending and the lexical index holds no deleted document,
        so it ranks exactly as a fresh build of the same files would (a server compacts in
        the background once writes are quiet: `indexer.live.compaction`), at most
        `timeout_s` seconds; True when so."""
        return self.compactor.wait(timeout_s)

    def pending_under(self, paths: Iterable[str] | None) -> list[str]:
        """Pending paths equal to or under any of `paths` (every pending path when None)."""
        return self.pending.under(paths)

    def unsummarized_under(self, paths: Iterable[str] | None) -> list[str]:
        """Paths equal to or under any of `paths` (all when None) that are indexed but whose
        directory summaries are not refreshed yet (`apply(summaries=False)`)."""
        return self.unsummarized.under(paths)

    def wait_fresh(self, paths: Iterable[str] | None, timeout_s: float,
                   summaries: bool = False) -> bool:
        """Block until the index reflects `paths` (all pending changes when None), at most
        `timeout_s` seconds; True when fresh. A change made before the call that the watcher
        has not reported yet is waited for too: the watch barrier makes every change made
        before the call pending (`indexer.live.barrier`); where no barrier file can be
        written, named files whose stat differs from the index are queued instead. Without a
        watcher (`--no-watch`) those files are indexed here. Until the reconcile on start
        has run, it is waited for first. `summaries`: for an answer made of directory summaries, their refresh after the
        changes is waited for too (`unsummarized`)."""
        wanted = None if paths is None else {p.strip("/") or "." for p in paths}
        deadline = time.monotonic() + timeout_s
        self.check_root()
        if self.catching_up and not self.ready.wait(timeout_s):
            return False  # the reconcile on start brings every change in: wait for it
        left = max(0.0, deadline - time.monotonic())
        passed = self.barrier.pass_through(left) if self.watching else None
        if passed is False:
            return False
        if passed is None and wanted and self.watching and not self.pending.reconciling:
            from indexer.live.events import stale_paths

            stale = stale_paths(self.index, wanted, self.index_options.walk,
                                self.ignore_rules())
            if stale:
                self.pending.add(stale)
        elif wanted and not self.watching and not self.pending.reconciling:
            # no watcher follows edits (`--no-watch`): the files asked about are brought up
            # to date here, as the watcher's applier would
            from indexer.discover import is_path_ignored
            from indexer.live.events import stale_paths

            walk, rules = self.index_options.walk, self.ignore_rules()
            stale = stale_paths(self.index, wanted, walk, rules)
            # an indexed file the rules now exclude is removed, as the watcher's resolve does
            removed = {p for p in stale if is_path_ignored(self.root, p, walk, rules) is not None}
            if stale:
                self.apply([p for p in stale if p not in removed], removed, reconcile=False)
        return self.pending.wait_fresh(wanted, max(0.0, deadline - time.monotonic())) and (
            not summaries
            or self.unsummarized.wait_fresh(wanted, max(0.0, deadline - time.monotonic())))

    # -- options and ignore rules ------------------------------------------------------------

    @property
    def index_options(self) -> IndexOptions:
        """The flags given, else what the index was last built with."""
        if self._index_options is None:
            from indexer.build import IndexOptions, saved_walk_options

            flags = self.options.walk
            saved = saved_walk_options(self.index)
            self._index_options = IndexOptions(walk=replace(
                flags, index_secrets=flags.index_secrets or saved.index_secrets,
                max_file_bytes=(saved.max_file_bytes if flags.max_file_bytes ==
                                WalkOptions().max_file_bytes else flags.max_file_bytes)))
        return self._index_options

    def ignore_rules(self) -> IgnoreCache:
        """The one cache of compiled ignore rules every single-path check uses."""
        with self._ignore_lock:
            if self._ignore is None:
                self._ignore = IgnoreCache(self.root, self.index_options.walk.extra_ignore)
            return self._ignore

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[], None]) -> None:
        """`listener()` runs after every index update, in the thread that wrote it."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def notify_changed(self) -> None:
        self.compactor.changed()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a listener must not break indexing
                log.exception("index-changed listener failed")

    # -- writing -----------------------------------------------------------------------------

    def refresh(self, progress: ProgressFn | None = None,
                should_stop: StopFn | None = None) -> IndexStats:
        """Bring the index in line with the working tree now, then give new chunks vectors.

        Runs in the caller's thread, taking turns with other writers; raises
        `IndexingStopped` when `should_stop` turns true between batches."""
        from indexer.build import index_repository

        try:
            with self.quiet.busy(), self.write_lock:
                stats = index_repository(self.index, self.index_options, progress, should_stop)
                self.refresh_summaries()
                self._release_static()
        finally:
            self.notify_changed()
        if self.embedding.state != "running" and not self._stop.is_set() and (
                should_stop is None or not should_stop()):
            self.embed_missing()
        return stats

    def apply(self, paths: list[str], removed: set[str], reconcile: bool,
              summaries: bool = True) -> IndexStats:
        """Apply a watcher batch: `paths` were resolved against the ignore rules once by the
        watcher (`removed` are indexed paths the rules now exclude), or reconcile all.
        `summaries=False`: the directory summaries above them are left for the caller's
        `refresh_summaries`, after it has marked the paths searchable (the watcher's
        applier: a third of a one-file batch on flask); until then they are `unsummarized`
        and reads keep the last summaries (`indexer.summaries.summaries_due`)."""
        from indexer.build import apply_resolved, index_repository

        # the in-memory tables of the new generation are loaded here (`_warm`) while readers
        # use the last ones: `paths` stay pending (not fresh) until it returns
        with self.quiet.busy():
            with self.write_lock, self.store.loads_promised():
                if reconcile:
                    self.ignore_rules().invalidate_all()
                    stats = index_repository(self.index, self.index_options)
                else:
                    stats = apply_resolved(self.index, paths, removed, self.index_options)
                    self.recent.add(paths)
                self._release_static()
                self._warm()
                if summaries:
                    self.refresh_summaries()
                else:
                    from indexer.summaries import summaries_due

                    self.unsummarized.add([*paths, *removed], reconcile=reconcile)
                    summaries_due(self.store, True)
            self._embed_applied(None if reconcile else paths)
        return stats

    def _embed_applied(self, paths: list[str] | None) -> None:
        """Model vectors for what a batch wrote (`paths`; everything after a reconcile): an
        edit's few chunks now, in the applier, so the search right after it has them; more
        than `EMBED_INLINE` (a checkout, a reconcile) by a background pass, so the applier
        goes on to the next batch. Embedding a checkout's backlog in the applier held every
        later edit back until it was done (3 min 38 s in one damage-test run on flask)."""
        from indexer.live.embedding import embed_new_chunks, without_vectors

        vectors, embedder = self.vectors, self.embedder
        if vectors is None or embedder is None or self._stop.is_set():
            return
        if paths is None:  # a reconcile: not even counted here (the pass orders them all)
            self.embed_in_background()
            return
        ids = without_vectors(self.index, vectors, embedder, paths)
        if len(ids) <= EMBED_INLINE:
            embed_new_chunks(self.index, vectors, embedder, paths, self.embed_lock, ids)
        else:
            self.embed_in_background()

    def embed_in_background(self) -> None:
        """Give every chunk without a vector one in a background pass (`embed_pending`); a
        pass already running runs once more when it ends, for what was written meanwhile."""
        with self._backlog_lock:
            if self._backlog_running:
                self._backlog_again = True
                return
            self._backlog_running, self._backlog_again = True, False
        started = False
        try:
            started = self._spawn(self._embed_backlog, "sextant-embed")
        finally:
            if not started:  # stopping, or no thread could start: a later call tries again
                with self._backlog_lock:
                    self._backlog_running = False

    def _embed_backlog(self) -> None:
        while not self._stop.is_set():
            self._embed()
            with self._backlog_lock:
                if not self._backlog_again or self._stop.is_set():
                    self._backlog_running = False
                    return
                self._backlog_again = False
        with self._backlog_lock:
            self._backlog_running = False

    def note_read(self) -> None:
        """A tool call has read the index: the live index settles once reads, like writes,
        have stopped a while (`indexer.live.quiet`)."""
        self.quiet.touch()

    def settle(self) -> None:
        """Once the live index has been quiet a while after writes (a lexical compaction
        too) or tool calls (`indexer.live.quiet`): give back what their reads
        and writes left cached (DuckDB's pages, the heap's free pages), so that a server's
        memory comes back down when the edits and the calls stop.

        The static vectors are saved too: the first edit's new rows copied the whole matrix
        from its mapped file into memory (moby: 22 MB), and a saved file is mapped again
        (`FlatVectors.save`), its pages shared with the page cache; the pages the calls'
        scans read are then unmapped (`FlatVectors.release_pages`: every scan reads the
        whole matrix, moby's 19 MB, which would stay counted in the process), and the
        static embedder's word-piece table (2.2 MB), built by the first words it matches
        (an edit's chunks, a query's new word), is dropped until words need it again
        (`StaticTier.release_idle`). The model tier's vectors likewise
        (`_settle_model_vectors`), and the model file's pages; the lexical index's writer is closed
        (`LexicalIndex.release_writer`) and the pages of its segments that tantivy maps
        released (`LexicalIndex.release_pages`); DuckDB's connection is opened again
        (`Store.recycle`). The parse workers the writes started are shut down (65-90 MB each
        on moby, one per core after a large batch; the next batch starts one again, ~0.2 s),
        and so is the model tier's encoding worker (`_release_embedder`) and then
        multiprocessing's resource tracker once nothing needs it (`stop_resource_tracker`)."""
        from indexer.core import forget_settled, stop_resource_tracker, trim_heap

        with self.write_lock:
            forget_settled()  # the token caches, the answers' counts, the tools' word caches
            if self.index.workers is not None:
                self.index.workers.close()  # writes hold the write lock: no batch is in
            try:
                self.index.save_static()
            except OSError:  # derived and checked on open: a failed save costs a re-embed
                log.exception("saving the static vectors failed")
            if self.index.static is not None:
                self.index.static.release_idle()
            self._settle_model_vectors()
            # the model file's pages that loading and the queries read (moby's server: 23
            # MB; `GGUFEmbedder.release_pages`; a fake embedder maps no file)
            release_model_pages = getattr(self.embedder, "release_pages", None)
            if release_model_pages is not None:
                release_model_pages()
            self._release_embedder()
            self.index.lexical.release_writer()
            self.index.lexical.release_pages()
            self.store.release_pages()
            self.store.recycle()  # skipped while a read is in
        stop_resource_tracker()  # not while a lexical rebuild's child runs
        trim_heap()

    def _release_embedder(self) -> None:
        """What the model's document encoding holds beside the query model: its worker
        process (`NumpyBertEmbedder`, apart) or float32 layers; nothing while a call embeds
        (it releases them itself 30 s after its last one)."""
        release = getattr(self.embedder, "release", None)  # not in the `Embedder` protocol
        if release is not None:
            release()

    def _settle_model_vectors(self) -> None:
        """The model tier's vectors as the static tier's: an index that edits copied into
        memory is saved and searched from its file again, and the file's pages the
        searches read are taken out of the process (`VectorIndex.release_pages`)."""
        vectors = self.vectors
        if vectors is None:
            return
        try:
            if vectors.dirty:
                vectors.save(self.generation)
        except OSError:  # derived and checked on open: a failed save costs a rebuild
            log.exception("saving the model vectors failed")
        vectors.release_pages()

    # -- the static tier ---------------------------------------------------------------------

    def _release_static(self) -> None:
        """After a write: the static embedder's word vectors of what was just written are
        not worth their memory (up to 64 MB) to a process that goes on serving."""
        if self.index.static is not None:
            from indexer.core import trim_heap

            self.index.static.release_caches()
            trim_heap()

    def attach_static(self) -> bool:
        """Load the static tier's table and open its vectors (in line with the store); False,
        logged, when the model it is distilled from is unavailable (search stays lexical
        until the model tier has vectors)."""
        from indexer.embed import EmbedderError, load_static_tier

        if self.index.static is not None:
            return True
        try:
            embedder = load_static_tier(self.options.model, self.options.gpu_layers)
            with self.write_lock:
                self.index.attach_static(embedder)
        except (EmbedderError, OSError) as exc:
            log.warning("static tier unavailable (%s); continuing without it", exc)
            self.static_error = str(exc)
            return False
        return True

    def open_tiers(self) -> None:
        """Open what exists of both semantic tiers now, before the first query: the static
        tier (`options.static`) and, when the model tier is on and its vectors were saved,
        the model with them (rebuilt from the embedding cache when behind the store)."""
        if self.options.static:
            self.attach_static()
        from indexer.embed import EmbedderError

        if self.options.embed and self.index.paths.vectors.exists():
            try:
                self.attach_existing_vectors()
            except (EmbedderError, OSError, RuntimeError, ValueError) as exc:
                # the background pass tries again and reports what fails
                log.warning("opening the saved model vectors failed (%s)", exc)
                self.vectors = self.embedder = None
                self.embedding.state = "off"

    def refresh_summaries(self) -> None:
        """Rebuild the directory summaries whose subtree changed (after every index update,
        so that reading tools find them built). Nothing to do, and nothing imported, when the
        store has not changed since the last refresh (the store records its generation)."""
        from indexer.summaries import FACTS_FORMAT  # a constant: imports nothing else

        # a write marks its paths unsummarized under the write lock too
        with self.quiet.busy(), self.write_lock:
            due = self.unsummarized.take(0)
            try:
                self._refresh_summaries(f"{self.store.generation} facts {FACTS_FORMAT}")
            finally:  # a failed build leaves reads to build what they need themselves
                if due is not None:
                    from indexer.summaries import summaries_due

                    summaries_due(self.store, False)
                    self.unsummarized.done(due)

    def _refresh_summaries(self, generation: str) -> None:
        # the store's generation, and the version of the facts (a new one rebuilds them once)
        if self.store.get_meta(SUMMARIES_GENERATION) == generation:
            return
        from indexer.summaries import build_summaries

        started = time.perf_counter()
        rebuilt = build_summaries(self.store, self.root)
        self.store.set_meta(SUMMARIES_GENERATION, generation)
        if rebuilt:
            log.debug("%d directory summaries rebuilt in %.2f s", len(rebuilt),
                      time.perf_counter() - started)

    def save_llm_summary(self, path: str, subtree_hash: str, text: str) -> None:
        """Cache a summary the client's model wrote (MCP sampling) for `path`."""
        from indexer.summaries import save_llm_summary

        with self.write_lock:
            save_llm_summary(self.store, path, subtree_hash, text)

    def recover_if_damaged(self, error: BaseException) -> bool:
        """If `error` says the store is damaged, rebuild it in the background (once at a
        time; `indexer.live.recover`) and return True; the same for a damaged lexical index
        (`LexicalCorrupt`), rebuilt from the store."""
        from indexer.lexical import LexicalCorrupt
        from indexer.store import looks_damaged

        kind = ("lexical" if isinstance(error, LexicalCorrupt) else
                "store" if looks_damaged(error) else None)
        if kind is None or self._stop.is_set():
            return False
        with self._ignore_lock:
            if self._recovering & {kind, "store"}:  # a store's rebuild makes a new lexical too
                return True
            self._recovering.add(kind)
        if kind == "store":
            log.error("the index store is damaged (%s); rebuilding it", error)
            self.pending.add([], reconcile=True)  # every answer is stale until it is rebuilt
        if not self._spawn(self._recover, f"sextant-recover-{kind}", kind, error):
            with self._ignore_lock:  # stopping: the next start repairs it on open
                self._recovering.discard(kind)
        return True

    def _recover(self, kind: str, error: BaseException) -> None:
        from indexer.live.recover import rebuild_damaged, repair_lexical

        try:
            (rebuild_damaged if kind == "store" else repair_lexical)(self, error)
        except Exception:  # top level of a thread
            log.exception("rebuilding the damaged %s failed", kind)
        finally:
            with self._ignore_lock:
                self._recovering.discard(kind)

    # -- the model tier ----------------------------------------------------------------------

    def attach_model(self) -> None:
        """Load the embedder and open its vector index (rebuilt from the cache when behind)."""
        from indexer.embed import load_embedder
        from indexer.live.embedding import open_vectors

        self.embedding.state = "pending"
        log.info("loading the embedding model (%s)", self.options.model or "default")
        embedder = self._load_unless_stopped(
            lambda: load_embedder(self.options.model, self.options.gpu_layers, apart=True))
        if embedder is None:
            return
        vectors = open_vectors(self.index, embedder, self._stop.is_set)
        if self._stop.is_set():  # a rebuild from the cache cut short is not kept
            return
        self.vectors = vectors
        self.embedder = embedder
        self._load_query_map(embedder)

    def _load_query_map(self, embedder: Embedder) -> None:
        from indexer.live import query_map

        path = query_map.map_path(self.index.paths.dir)
        self.query_map = (query_map.load(path, embedder.model_id, embedder.dim)
                          if query_map.enabled() else None)
        self._query_map_tried = self.query_map.documented if self.query_map else None

    def refit_query_map(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Fit the query map (`indexer.live.query_map`) when the model tier covers the index
        and the map is missing or stale: the documented functions have moved by more than
        `REFIT_SHARE` since the last try (a try that found too few examples counts too)."""
        from indexer.live import query_map

        vectors, embedder = self.vectors, self.embedder
        if (vectors is None or embedder is None or not query_map.enabled()
                or self.embedding.state != "complete" or should_stop()):
            return
        documented = query_map.documented_count(self.store)
        if not query_map.stale(self._query_map_tried, documented):
            return
        fitted = query_map.fit(self.store, vectors, embedder, self.embed_lock, should_stop)
        if fitted is None and should_stop():
            return
        self._query_map_tried = documented
        path = query_map.map_path(self.index.paths.dir)
        if fitted is None:
            self.query_map = None
            path.unlink(missing_ok=True)
            return
        query_map.save(fitted, path)
        self.query_map = fitted

    def _load_unless_stopped(self, load: Callable[[], Embedder]) -> Embedder | None:
        """`load()` in a helper thread, waited for until it ends or the live index stops
        (None then, at once: a model load cannot be interrupted, and stopping must not wait
        seconds for a model nobody will use; the daemon helper ends alone, its model dropped).
        """
        result: list[Embedder | Exception] = []
        done = threading.Event()

        def run() -> None:
            try:
                result.append(load())
            except Exception as exc:  # noqa: BLE001 - top of a thread: re-raised by the waiter
                result.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name="sextant-model-load", daemon=True).start()
        while not done.wait(0.05):
            if self._stop.is_set():
                log.info("stopping: the embedding model load is abandoned")
                return None
        if isinstance(result[0], Exception):
            raise result[0]
        return None if self._stop.is_set() else result[0]

    def attach_existing_vectors(self) -> bool:
        """Attach the model tier only when vectors exist (CLI queries); False otherwise."""
        if not self.index.paths.vectors.exists():
            return False
        self.attach_model()
        from indexer.live.embedding import missing_chunks

        missing = len(missing_chunks(self.index, self.vectors)) if self.vectors is not None else 0
        total = self.store.count_chunks()
        self.embedding.done, self.embedding.total = total - missing, total
        self.embedding.state = "complete" if missing == 0 else "partial"
        return True

    def embed_pending(self, stop: threading.Event | None = None) -> None:
        """Give every chunk without a model vector one, most valuable first; stops on `stop`
        or when the live index stops."""
        from indexer.live.embedding import embed_pending

        if self.vectors is None or self.embedder is None:
            return
        events = [e for e in (stop, self._stop) if e is not None]

        def stopping() -> bool:
            return any(e.is_set() for e in events)

        embed_pending(self.index, self.vectors, self.embedder, self.embedding, stopping,
                      self.embed_lock)
        self.refit_query_map(stopping)

    def embed_missing(self, paths: list[str] | None = None) -> int:
        """Embed the chunks of `paths` (every chunk when None) that have no vector yet."""
        from indexer.live.embedding import embed_new_chunks

        if self.vectors is None or self.embedder is None or self._stop.is_set():
            return 0
        return embed_new_chunks(self.index, self.vectors, self.embedder, paths, self.embed_lock)

    # -- background work ---------------------------------------------------------------------

    def start(self) -> None:
        """Open the saved vectors of both tiers (`open_tiers`, before returning: the first
        query uses them); then reconcile with the working tree and embed (`options.embed`)
        in the background; follow file changes (`options.watch`) from before the reconcile,
        so no edit is lost."""
        from indexer.core import WorkerPool

        self.index.workers = WorkerPool()  # a grammar crash kills a worker, never the server
        self._stop.clear()
        self._started = True
        self.open_tiers()
        if self.options.watch:
            self._spawn(self._watch, "sextant-watch")
        self._spawn(self._background, "sextant-index")
        self._spawn(self.compactor.run, "sextant-compact")
        self._spawn(self.quiet.run, "sextant-settle")

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> bool:
        """Start a background thread, unless the live index is stopping (`stop` then waits
        for every thread started before); True when started."""
        with self._threads_lock:
            if self._stop.is_set():
                return False
            thread = threading.Thread(target=target, name=name, args=args, daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()
        return True

    def request_stop(self) -> None:
        """Ask the background work to stop, without waiting: safe from a signal handler (it
        only sets an event), so nothing new starts between a signal and `stop()`."""
        self._stop.set()

    def stop(self) -> None:
        """Stop the background work: no new work starts; running work stops at its next
        batch boundary (bounded wait; the threads are daemons)."""
        self.request_stop()
        self.compactor.changed()  # wakes its thread, which then sees the stop
        self.quiet.wake()
        deadline = time.monotonic() + _JOIN_S
        with self._threads_lock:  # no thread starts once the stop is set (`_spawn`)
            threads = [t for t in self._threads if t is not threading.current_thread()]
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        with self._threads_lock:
            self._threads = [t for t in self._threads if t.is_alive()]

    def close(self) -> None:
        self.stop()
        self._release_embedder()  # its worker process, if it encodes apart
        self.barrier.close()
        if self.vectors is not None and self.vectors.dirty:
            self.vectors.save(self.generation)
        self.index.close()
        self.ready.clear()
        self._started = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _background(self) -> None:
        from indexer.build import index_repository
        from indexer.core import count_in_python

        try:
            count_in_python()  # the rank table loaded now, not on the first tool call
            with self.write_lock:
                stats = index_repository(self.index, self.index_options,
                                         should_stop=self._stop.is_set)
                self.refresh_summaries()
            log.info("index reconciled: %s", stats.as_dict())
        except Exception as exc:  # top level of a thread: log, keep serving
            if self._stop.is_set():
                return
            if not self.recover_if_damaged(exc):
                log.exception("reconciling the index failed; serving what is indexed")
        self.ready.set()
        self._warm()
        self.notify_changed()
        self._warm_reads()
        self.quiet.touch()  # settles a while after the reconcile and the warm reads
        if self.options.embed and not self._stop.is_set():
            self.embed_in_background()

    def _warm(self) -> None:
        """Load the search and graph in-memory tables of the store's generation now, not on
        a tool call; then give the freed memory of the previous ones back to the system."""
        try:
            from indexer.graph import graph_tables
            from indexer.store import search_tables

            search_tables(self.store, wait=True)
            graph_tables(self.store, wait=True)
        except Exception:  # an optimisation: the tools load them on demand
            log.exception("preloading the in-memory tables failed")
        from indexer.core import trim_heap

        trim_heap()

    def _warm_reads(self) -> None:
        """Once, after the first reconcile: the reads of `options.warm` (a tool call that
        comes meanwhile is served as ever; it may find some of their work done)."""
        if self.options.warm is None or self._stop.is_set():
            return
        started = time.perf_counter()
        try:
            self.options.warm(self)
        except Exception as exc:  # an optimisation: a read that fails here fails on its call
            if not self.recover_if_damaged(exc):  # too, unless it was damage, now repaired
                log.exception("the warm reads failed")
        log.info("warm reads done in %.2f s", time.perf_counter() - started)

    def _embed(self) -> None:
        try:
            if self.vectors is None or self.embedder is None:
                self.attach_model()
            self.embed_pending()
        except Exception as exc:  # top level of a thread: search continues lexically
            log.exception("embedding failed; search continues lexically")
            self.embedding.state = "failed"
            self.embedding.error = str(exc)

    def _watch(self) -> None:
        from indexer.live.watcher import Watcher

        self.watching = True
        try:
            Watcher(self, self._stop).run()
        except Exception:  # top level of a thread
            log.exception("the file watcher stopped; the index will not follow edits")
        finally:
            self.watching = False
