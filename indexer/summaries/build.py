"""Directory summaries, built bottom-up and cached by a Merkle hash of each subtree.

A directory's hash is the blake2b of its children's names and hashes (files: their content
hash from the `files` table; directories: their own subtree hash), so a change to one file
changes exactly the hashes of its ancestor directories. `summarize()` reuses every cached
summary whose (path, subtree_hash) is in `dir_summaries` and rebuilds only the others,
deepest first, each from its own files plus its children's summaries:

- files, lines, languages: sums over the subtree;
- key symbols: top-level definitions ranked by how often their name is used in the
  repository (divided by how many definitions share the name; tests down-weighted), merged
  upward from the children;
- entry points: `__main__.py`, `main` functions (Go `cmd/`, Rust, C), Python
  `if __name__ == "__main__":` blocks, package.json `main`/`bin`;
- the README lead paragraph of the directory itself.

Import-based relations (`depends_on`, `used_by`, external packages) depend on files outside
the subtree, so they are computed live from `file_edges` at every call, not cached.

An optional LLM summary (a `sampler` callable: prompt -> text, e.g. MCP sampling) is cached
under the same (path, subtree_hash); when the hash moved on and no sampler is available, the
previous LLM summary is returned marked `stale`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import threading
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.core import duckdb
from indexer.graph import private_cursor
from indexer.store import GenerationCache, Store, atomic, generation_of, text_column
from indexer.summaries import FACTS_FORMAT
from indexer.summaries.facts import entry_points, key_symbols, readme_lead

log = logging.getLogger(__name__)

Sampler = Callable[[str], str]

KEY_SYMBOLS = 8
ENTRY_POINTS = 10
_DEF_KINDS = (
    "class",
    "function",
    "interface",
    "struct",
    "trait",
    "enum",
    "type",
    "module",
    "macro",
)
_TEST = re.compile(
    r"(^|/)(tests?|testing|__tests__|spec|testdata|fixtures?)/|_test\.go$|(^|/)test_[^/]*$|\.(test|spec)\.[jt]sx?$"
)
_README = re.compile(r"^readme(\.(md|rst|txt|markdown))?$", re.IGNORECASE)


@dataclass(slots=True)
class Built:
    """The cacheable part of one directory's summary."""

    path: str
    subtree_hash: str
    files: int = 0
    lines: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    key_symbols: list[tuple[float, str]] = field(default_factory=list)  # (score, text)
    entry_points: list[str] = field(default_factory=list)
    readme: str = ""
    children: list[str] = field(default_factory=list)
    llm_summary: str | None = None
    llm_stale: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {"format": FACTS_FORMAT} | {
                k: getattr(self, k)
                for k in (
                    "files",
                    "lines",
                    "languages",
                    "key_symbols",
                    "entry_points",
                    "readme",
                    "children",
                )
            }
        )

    @classmethod
    def from_json(cls, path: str, subtree_hash: str, text: str) -> Built | None:
        """The summary saved as `text`, or None when an older version of the facts wrote it
        (it is built again, once)."""
        data = json.loads(text)
        if data.pop("format", 1) != FACTS_FORMAT:
            return None
        data["key_symbols"] = [(float(s), str(t)) for s, t in data["key_symbols"]]
        return cls(path=path, subtree_hash=subtree_hash, **data)


def dir_of(path: str) -> str:
    return posixpath.dirname(path)


def ancestors(path: str) -> list[str]:
    """Directories containing `path`, innermost first, ending with the root ``""``."""
    out = []
    d = dir_of(path)
    while True:
        out.append(d)
        if not d:
            return out
        d = dir_of(d)


def subtree_hashes(rows: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Merkle hash of every directory from (file path, content hash) rows."""
    entries: dict[str, list[str]] = defaultdict(list)
    for path, content in rows:
        entries[dir_of(path)].append(f"f {posixpath.basename(path)} {content}")
        for d in ancestors(path)[:-1]:
            entries.setdefault(dir_of(d), [])
            entries.setdefault(d, [])
    hashes: dict[str, str] = {}
    for d in sorted(entries, key=_deepest_first):
        h = hashes[d] = _dir_hash(entries[d])
        if d:
            entries[dir_of(d)].append(f"d {posixpath.basename(d)} {h}")
    return hashes


def _deepest_first(d: str) -> tuple[int, str]:
    """Sort key: directories deepest first (the root, "", last), then by path."""
    return (-d.count("/") - bool(d), d)


def _dir_hash(parts: Iterable[str]) -> str:
    """A directory's hash from its entries (`f name content-hash`, `d name subtree-hash`)."""
    return hashlib.blake2b("\n".join(sorted(parts)).encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


def subtree_hashes_updated(rows: dict[str, str], last: _Hashed) -> dict[str, str] | None:
    """`subtree_hashes(rows.items())` from `last` (the same tree's hashes and rows when they
    were computed): only the directories above a file whose content changed are hashed
    again. None when a file came or went (the directories may have changed; hash whole).

    Why: the live index's refresh after each batch of edits hashed every directory from
    every file (moby: ~39k `dirname` calls, ~30 ms a batch) to find the few that changed."""
    if rows.keys() != last.rows.keys():
        return None
    changed = [p for p, h in rows.items() if last.rows[p] != h]
    if not changed:
        return last.hashes
    dirty = {d for p in changed for d in ancestors(p)}
    own: dict[str, list[str]] = defaultdict(list)
    for p, content in rows.items():
        d = dir_of(p)
        if d in dirty:
            own[d].append(f"f {posixpath.basename(p)} {content}")
    children: dict[str, list[str]] = defaultdict(list)
    for d in last.hashes:
        if d and dir_of(d) in dirty:
            children[dir_of(d)].append(d)
    hashes = dict(last.hashes)
    for d in sorted(dirty, key=_deepest_first):
        hashes[d] = _dir_hash([*own[d], *(f"d {posixpath.basename(c)} {hashes[c]}"
                                          for c in children[d])])
    return hashes


@dataclass(frozen=True, slots=True)
class _Hashed:
    """The whole tree's subtree hashes, the file rows they hash and their store generation."""

    generation: int
    hashes: dict[str, str]
    rows: dict[str, str]  # file path -> content hash


def _under(path: str) -> tuple[str, list[str]]:
    return ("TRUE", []) if not path else ("starts_with(f.path, ?)", [path + "/"])


def build_summaries(store: Store, root: Path) -> list[str]:
    """Bring the stored summaries in line with the index (after every index update): every
    directory whose subtree hash changed is summarised again, bottom-up; the others are
    reused. Returns the directories rebuilt."""
    _, todo = _build(store, root, "", save=True, refresh=True)
    return todo


def read_summaries(store: Store, root: Path, path: str,
                   depth: int | None = None) -> dict[str, Built]:
    """Summaries of `path` and every directory below it, as stored (read only: a directory
    the last refresh did not reach is summarised in memory, not saved). `depth`: only the
    directories at most that many levels below `path` are wanted; when all of those are
    stored, only they are read (moby's `daemon` at depth 1: 24 of the 302 below it, whose
    reading and decoding were a third of a `summarize_dir`)."""
    built, _ = _summaries(store, root, path, save=False, depth=depth)
    return built


def _levels_below(d: str, path: str) -> int:
    """How many levels directory `d` (under `path`) is below `path`."""
    return d.count("/") - path.count("/") + (not path) if d != path else 0


def summarize(
    store: Store, root: Path, path: str, sampler: Sampler | None = None, want: Iterable[str] = ()
) -> tuple[dict[str, Built], list[str]]:
    """Summaries of `path` and every directory below it, saving what was rebuilt; returns
    (by dir, rebuilt dirs). `want`: directories that should get an LLM summary when a
    sampler is given (the sampler's answers are cached by subtree hash)."""
    built, todo = _summaries(store, root, path, save=True)
    attach_llm(store, built, [w for w in want if w in built], sampler,
               lambda d, h, text: save_llm_summary(store, d, h, text))
    return built, todo


def _all_hashes(store: Store, key: tuple[int, str | None]) -> dict[str, str]:
    written = _WRITTEN.get(store)
    if written is not None and written.generation == key[0]:
        return written.hashes  # the refresh after this generation's write hashed them
    return subtree_hashes(store.query("SELECT path, content_hash FROM files"))


# The whole tree's subtree hashes last computed by a build of the root (the live index's
# refresh after each write, `build_summaries`, or a read that built the root's summary),
# with the store generation whose files they hash: a read of that generation takes them
# instead of hashing every file again (moby: the first `summarize_dir` after each batch of
# edits did); the next build of the root hashes again only what changed since
# (`subtree_hashes_updated`)
_WRITTEN: weakref.WeakKeyDictionary[Store, _Hashed] = weakref.WeakKeyDictionary()


# every directory's subtree hash, per store generation: a directory's hash depends on its
# own subtree only, so one map serves every `path` (summarize_dir hashed its subtree's files
# on every call: 77 of its 100 ms on moby's `daemon`)
_HASHES: GenerationCache[dict[str, str]] = GenerationCache(_all_hashes)


# Stores whose directory summaries a live index refreshes after its latest write and has
# not yet (`LiveIndex.apply` with `summaries=False`, then its applier's `refresh_summaries`
# once the batch's paths are searchable): reads keep the last subtree hashes they loaded,
# whose summaries are stored, instead of building the edited subtrees' themselves (each
# read of an edited subtree would wait for one of them to build it, as under a batch's
# write, below); their answers say the changed paths are not fresh meanwhile
# (`LiveIndex.unsummarized`).
_DUE: weakref.WeakSet[Store] = weakref.WeakSet()


def summaries_due(store: Store, due: bool) -> None:
    """Mark `store`'s summaries as behind its files until the refresh that follows (True),
    or refreshed (False); see `_DUE`."""
    if due:
        _DUE.add(store)
    else:
        _DUE.discard(store)


def _read_hashes(store: Store) -> dict[str, str]:
    last = _HASHES.last(store) if store in _DUE else None
    return last if last is not None else _HASHES.get(store)


def _under_path(hashes: dict[str, str], path: str) -> dict[str, str]:
    return {d: h for d, h in hashes.items() if d == path or d.startswith(path + "/" if path else "")}


def _summaries(store: Store, root: Path, path: str, *, save: bool, depth: int | None = None,
               ) -> tuple[dict[str, Built], list[str]]:
    if save:
        return _build(store, root, path, save=True)
    # a read: every summary it needs is usually stored already. While a live index writes
    # a batch (`Store.loads_promised`), the last generation's hashes, whose summaries are
    # all stored, as the other reads keep the last tables: with the new ones, each read of
    # an edited subtree waited for one of them to build its summaries (1-1.6 s on moby with
    # 50 clients and 5 edits a second) before the refresh stores them
    hashes = _under_path(_read_hashes(store), path)
    shown = hashes if depth is None else {
        d: h for d, h in hashes.items() if _levels_below(d, path) <= depth}
    cached = _load_cached(store, shown)
    if shown and len(cached) == len(shown):
        return cached, []  # only what was asked for (see `read_summaries`)
    if shown is not hashes:  # one to build: it is built from those below it
        cached |= _load_cached(store, {d: h for d, h in hashes.items() if d not in shown})
    if hashes and len(cached) == len(hashes):
        return cached, []
    memo = _READ_BUILT.get(store, wait=True)  # this generation's
    cached |= memo.lookup(hashes, cached)
    if hashes and len(cached) == len(hashes):
        return cached, []
    with memo.building:  # one read builds them; the reads beside it wait and find them
        cached |= memo.lookup(hashes, cached)
        if hashes and len(cached) == len(hashes):
            return cached, []
        built, todo = _build(store, root, path, save=False, known=memo.lookup)
        memo.keep([built[d] for d in todo])
        return built, todo


def _build(store: Store, root: Path, path: str, *, save: bool,
           known: Callable[[dict[str, str], dict[str, Built]], dict[str, Built]] | None = None,
           refresh: bool = False) -> tuple[dict[str, Built], list[str]]:
    """The summaries of `path` and below: stored ones (and `known(hashes, stored)`) reused,
    the others built, deepest first, and saved when `save`. `refresh` (`build_summaries`):
    what is returned holds only the rebuilt directories and what they were built from."""
    where, params = _under(path)
    with store.reading() as cur:
        before = None if path else generation_of(cur)  # only a build of the root is kept
        rows = cur.execute(
            f"SELECT f.path, f.content_hash FROM files f WHERE {where}", params
        ).fetchall()
        if before is None:
            every = subtree_hashes(rows)
        else:
            now = dict(rows)
            last = _WRITTEN.get(store)
            every = (None if last is None else subtree_hashes_updated(now, last)
                     ) or subtree_hashes(rows)
            if generation_of(cur) == before:  # the files of one generation
                _WRITTEN[store] = _Hashed(before, every, now)
    hashes = _under_path(every, path)
    stored = _STORED.get(store, frozenset()) if refresh else frozenset()
    cached = _load_cached(store, {d: h for d, h in hashes.items() if (d, h) not in stored})
    if known is not None:
        cached |= known(hashes, cached)
    todo = sorted(
        (d for d in hashes if d not in cached and (d, hashes[d]) not in stored),
        key=_deepest_first
    )
    built = dict(cached)
    if todo:
        todo_set = set(todo)
        kids = _children_map(hashes)
        built |= _load_cached(store, {c: hashes[c] for d in todo for c in kids.get(d, [])
                                      if c not in todo_set and c not in built})
        own = _own_facts(store, root, [r[0] for r in rows if dir_of(r[0]) in todo_set], todo)
        for d in todo:
            built[d] = _combine(d, hashes[d], own.get(d), [built[c] for c in kids.get(d, [])])
        if save:
            _save(store, [built[d] for d in todo])
    if refresh:
        _STORED[store] = frozenset(hashes.items())
    return built, todo


# The (directory, subtree hash) pairs the last refresh left stored, every directory's: the
# next refresh reads and decodes only the summaries it rebuilds from (moby: all ~600 after
# each batch of edits, to rebuild the handful above the edited files)
_STORED: weakref.WeakKeyDictionary[Store, frozenset[tuple[str, str]]] = (
    weakref.WeakKeyDictionary())


class _ReadBuilt:
    """Summaries that reads built in memory, kept for one store generation (`_READ_BUILT`).

    Why: after a write, a directory whose subtree changed has no stored summary until the
    live index's refresh stores it, and a read does not store what it builds (tools only
    read). Under steady edits that window is nearly always open: every `summarize_dir` of an
    edited subtree built its summaries again (moby, 50 clients and 5 edits a second: 13% of
    the server's CPU, docs/benchmarks.md). Kept by (path, subtree hash) as their JSON (a
    summary handed out is the caller's to change)."""

    def __init__(self) -> None:
        self.building = threading.Lock()
        self._lock = threading.Lock()
        self._texts: dict[tuple[str, str], str] = {}

    def lookup(self, hashes: dict[str, str], have: dict[str, Built]) -> dict[str, Built]:
        with self._lock:
            texts = {d: self._texts.get((d, h)) for d, h in hashes.items() if d not in have}
        out: dict[str, Built] = {}
        for d, text in texts.items():
            b = None if text is None else Built.from_json(d, hashes[d], text)
            if b is not None:
                out[d] = b
        return out

    def keep(self, built: list[Built]) -> None:
        texts = {(b.path, b.subtree_hash): b.to_json() for b in built}
        with self._lock:
            self._texts.update(texts)


_READ_BUILT: GenerationCache[_ReadBuilt] = GenerationCache(lambda _store, _key: _ReadBuilt())


def _children_map(hashes: dict[str, str]) -> dict[str, list[str]]:
    """Every directory's children (what `_children` gives, for all directories in one pass:
    per directory it scanned all of them, 0.4 s for moby's ~500 directories)."""
    out: dict[str, list[str]] = defaultdict(list)
    for c in sorted(hashes):
        if c:
            out[dir_of(c)].append(c)
    return out


def _load_cached(store: Store, hashes: dict[str, str]) -> dict[str, Built]:
    if not hashes:
        return {}
    rows = store.query(
        "SELECT d.path, d.subtree_hash, d.summary, d.llm_summary FROM dir_summaries d "
        "JOIN (SELECT unnest(?) AS p, unnest(?) AS h) k ON d.path = k.p AND d.subtree_hash = k.h",
        [list(hashes), list(hashes.values())],
    )
    out: dict[str, Built] = {}
    for p, h, text, llm in rows:
        b = Built.from_json(p, h, text)
        if b is not None:
            b.llm_summary = llm
            out[p] = b
    return out


# Concurrent tool calls may build the same summaries; DuckDB's optimistic concurrency makes
# two transactions writing one key conflict, so saves take turns.
_SAVE_LOCK = threading.Lock()


def _save(store: Store, items: list[Built]) -> None:
    table = {
        "path": text_column([b.path for b in items]),
        "subtree_hash": text_column([b.subtree_hash for b in items]),
        "summary": text_column([b.to_json() for b in items]),
    }
    with _SAVE_LOCK, private_cursor(store) as cur:
        try:
            _insert(cur, table)
        except (duckdb.ConstraintException, duckdb.TransactionException):
            # a concurrent call saved the same (path, hash) first: the same content
            log.debug("directory summaries were saved concurrently; keeping the other copy")


def _insert(cur: duckdb.DuckDBPyConnection, table: dict[str, Any]) -> None:
    with atomic(cur):
        cur.register("_new", table)
        # older hashes of these paths are dropped, except those holding an LLM summary
        cur.execute(
            "DELETE FROM dir_summaries WHERE path IN (SELECT path FROM _new) "
            "AND llm_summary IS NULL"
        )
        # an LLM summary of the same (path, hash) stays: it describes the same files
        cur.execute(
            "INSERT OR REPLACE INTO dir_summaries SELECT n.path, n.subtree_hash, n.summary, "
            f"d.llm_summary, {time.time()} FROM _new n "
            "LEFT JOIN dir_summaries d USING (path, subtree_hash)"
        )
        cur.unregister("_new")


@dataclass(slots=True)
class _Own:
    files: int = 0
    lines: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    symbols: list[tuple[float, str]] = field(default_factory=list)
    entry_points: list[str] = field(default_factory=list)
    readme: str = ""


def _own_facts(store: Store, root: Path, files: list[str], dirs: list[str]) -> dict[str, _Own]:
    """Facts about the files directly inside each of `dirs` (one query per kind of fact)."""
    own: dict[str, _Own] = {d: _Own() for d in dirs}
    with private_cursor(store) as cur:
        cur.register("_fs", {"p": text_column(files)})
        for p, lang, lines in cur.execute(
            "SELECT path, language, lines FROM files WHERE path IN (SELECT p FROM _fs)"
        ).fetchall():
            o = own[dir_of(p)]
            o.files += 1
            o.lines += lines or 0
            o.languages[lang or "text"] += 1
        for p, score, text in key_symbols(cur):
            own[dir_of(p)].symbols.append((score * (0.3 if _TEST.search(p) else 1.0), text))
        for p in entry_points(root, cur):
            if dir_of(p) in own:
                own[dir_of(p)].entry_points.append(p)
    for p in files:
        if _README.match(posixpath.basename(p)):
            own[dir_of(p)].readme = own[dir_of(p)].readme or readme_lead(root, p)
    return own


def _combine(d: str, h: str, own: _Own | None, children: list[Built]) -> Built:
    own = own or _Own()
    langs: Counter[str] = Counter(own.languages)
    syms = list(own.symbols)
    entries = list(own.entry_points)
    files, lines = own.files, own.lines
    for c in children:
        files += c.files
        lines += c.lines
        langs.update(c.languages)
        syms += c.key_symbols
        entries += c.entry_points
    best = sorted({t: s for s, t in sorted(syms)}.items(), key=lambda kv: (-kv[1], kv[0]))
    return Built(
        path=d,
        subtree_hash=h,
        files=files,
        lines=lines,
        languages=dict(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))),
        key_symbols=[(s, t) for t, s in best[:KEY_SYMBOLS]],
        entry_points=sorted(entries, key=lambda p: (_TEST.search(p) is not None, p.count("/"), p))[
            :ENTRY_POINTS
        ],
        readme=own.readme,
        children=[c.path for c in children],
    )


SaveLlm = Callable[[str, str, str], None]  # (path, subtree hash, text)


def save_llm_summary(store: Store, path: str, subtree_hash: str, text: str) -> None:
    """Cache an LLM-written summary of `path` at `subtree_hash`."""
    with store.reading() as cur:
        cur.execute(
            "UPDATE dir_summaries SET llm_summary = ? WHERE path = ? AND subtree_hash = ?",
            [text, path, subtree_hash])


def attach_llm(store: Store, built: dict[str, Built], want: list[str],
               sampler: Sampler | None, save: SaveLlm | None = None) -> None:
    """Give the `want` directories their LLM summary: the cached one, else (with a sampler)
    a new one, handed to `save` to be cached."""
    if not want:
        return
    for d in want:
        b = built[d]
        if b.llm_summary:
            continue
        if sampler is not None:
            b.llm_summary = sampler(llm_prompt(b, built)).strip() or None
            if b.llm_summary and save is not None:
                save(d, b.subtree_hash, b.llm_summary)
            continue
        row = store.query_one(
            "SELECT llm_summary FROM dir_summaries WHERE path = ? AND llm_summary IS NOT NULL "
            "ORDER BY built_at DESC LIMIT 1",
            [d],
        )
        if row:
            b.llm_summary, b.llm_stale = str(row[0]), True


def llm_prompt(b: Built, built: dict[str, Built]) -> str:
    lines = [
        (
            f"Summarize the directory `{b.path or '.'}` of a code repository in 2-4 sentences for a "
            "programmer new to it: what it is for and how its parts fit. Facts:"
        ),
        f"- {b.files} files, {b.lines} lines; languages: {', '.join(b.languages)}",
    ]
    if b.readme:
        lines.append(f"- README: {b.readme}")
    lines += [f"- key symbol: {t}" for _, t in b.key_symbols]
    lines += [f"- entry point: {e}" for e in b.entry_points[:5]]
    for c in b.children[:12]:
        child = built.get(c)
        top = child.key_symbols[0][1] if child and child.key_symbols else ""
        lines.append(f"- subdirectory {c}: {child.files if child else '?'} files; {top}")
    return "\n".join(lines)
