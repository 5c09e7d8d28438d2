"""get_symbol: definitions by exact, qualified, inherited or fuzzy name, with bodies and uses."""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from indexer.graph import loaded_graph_tables
from indexer.graph.refs import MAX_USES
from indexer.graph.tables import GraphTables
from indexer.graph.uses import NameUses, name_uses
from indexer.live import LiveIndex
from indexer.store import Store, search_tables
from tools.budget import fit_answer
from tools.errors import ArgumentError
from tools.freshness import freshness as answer_freshness
from tools.models import Omitted, SymbolInfo, SymbolReference, SymbolResult
from tools.search import is_test_unit, path_prior
from tools.source import check_rel, normalize_rel, read_lines

MAX_CANDIDATES = 25
MAX_REFERENCES = 50
_NOTE_PATHS = 5  # files a note names where a name is defined outside the `path` asked for
_KIND_RANK = {"class": 0, "interface": 0, "struct": 0, "trait": 0, "function": 1, "method": 1,
              "enum": 2, "type": 2, "module": 2, "constant": 3, "macro": 3}

_COLS = """s.name, s.qualname, s.kind, f.path, s.start_line, s.end_line, f.language,
           s.signature, s.doc, s.bases"""


def dotted_name(name: str) -> str:
    """`Gitignore::matched` -> `Gitignore.matched`: qualified names are stored with dots
    whatever the language writes (`indexer.languages.text.split_qualified`), so a Rust or
    C++ path found nothing but fuzzy matches. A leading `crate::`, `self::`, `super::` or
    `::` names no definition and is dropped."""
    if "::" not in name:
        return name
    parts = name.split("::")
    while len(parts) > 1 and parts[0] in ("", "crate", "self", "super"):
        parts.pop(0)
    return ".".join(parts)


def _rows(ctx: LiveIndex, where: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    return ctx.index.store.query(
        f"SELECT {_COLS} FROM symbols s JOIN files f USING (file_id) WHERE {where} "
        f"LIMIT {MAX_CANDIDATES * 4}", list(params))


def _inherited(ctx: LiveIndex, owner: str, member: str, seen: set[str]) -> list[tuple[Any, ...]]:
    """Follow base classes of `owner` to find `member` (e.g. Flask.add_url_rule -> App)."""
    if owner in seen or len(seen) > 16:
        return []
    seen.add(owner)
    classes = _rows(ctx, "(s.qualname = ? OR s.name = ?) AND len(s.bases) > 0", [owner, owner])
    for cls in classes:
        for base in cls[9] or []:
            base_name = base.split("[")[0].split("(")[0].rsplit(".", 1)[-1].strip()
            if not base_name:
                continue
            found: list[tuple[Any, ...]] = list(
                search_tables(ctx.index.store).definitions(f"{base_name}.{member}"))
            if found:
                return found
            deeper = _inherited(ctx, base_name, member, seen)
            if deeper:
                return deeper
    return []


def _candidates(ctx: LiveIndex, name: str) -> tuple[list[tuple[Any, ...]], str]:
    """Definitions of `name`: qualified or exact from the search tables (a scan of the
    symbols in DuckDB cost 4-8 ms a call on moby), then inherited and fuzzy in SQL."""
    tables = search_tables(ctx.index.store)
    rows: list[tuple[Any, ...]] = list(tables.definitions(name))
    if rows:
        return rows, "qualified" if "." in name else "exact"
    if "." in name:
        owner, member = name.rsplit(".", 1)
        rows = _inherited(ctx, owner.rsplit(".", 1)[-1], member, set())
        if rows:
            return rows, "inherited"
        name = member
    rows = list(tables.definitions(name, qualified=False))
    if rows:
        return rows, "exact"
    rows = _rows(ctx, "lower(s.name) = lower(?) OR (length(?) >= 3 AND s.name ILIKE '%' || ? || '%') "
                 "OR jaro_winkler_similarity(lower(s.name), lower(?)) >= 0.88", [name, name, name, name])
    return rows, "fuzzy"


def _rank_key(row: tuple[Any, ...], name: str) -> tuple[Any, ...]:
    exact = 0 if row[0] == name.rsplit(".", 1)[-1] else 1
    return (exact, -path_prior(row[3], row[1]), _KIND_RANK.get(row[2], 4), len(row[3]), row[4])


def _within(rows: list[tuple[Any, ...]], path: str, name: str, how: str,
            ) -> tuple[list[tuple[Any, ...]], str | None]:
    """The definitions in the file or directory `path`, and, when none is, a note that says
    where `name` is defined instead. The filter used to fall back to every definition when
    none matched it (`new` in a file with none: all 25 `new`s of ripgrep, unmarked)."""
    scope = normalize_rel(path)
    inside = [r for r in rows if not scope or r[3] == scope or r[3].startswith(scope + "/")]
    if inside or not rows:
        return inside, None
    paths = list(dict.fromkeys(r[3] for r in sorted(rows, key=lambda r: _rank_key(r, name))))
    where = ", ".join(paths[:_NOTE_PATHS]) + (
        f" and {len(paths) - _NOTE_PATHS} more files" if len(paths) > _NOTE_PATHS else "")
    what = f"names like {name!r} are" if how == "fuzzy" else f"{name!r} is"
    return [], (f"no definition of {name!r} in {scope!r}; {what} defined in {where}: pass one "
                "of these as path, or leave path out")


_RefRow = tuple[str, int, str, str | None]  # path, line, kind, scope
# the stamp of the files listed, their uses listed, how many uses reach the definition, and
# whether the name's uses were more than were read
_RefEntry = tuple[tuple[tuple[str, int, int], ...], list[SymbolReference], int, bool]
_RefKey = tuple[str, int, str, str, str, int, int]  # root, generation, name, path, qualname,
# start line, limit
_REF_CACHE: weakref.WeakKeyDictionary[Store, dict[_RefKey, _RefEntry]] = (
    weakref.WeakKeyDictionary()
)
_USES_CACHE: weakref.WeakKeyDictionary[Store, dict[tuple[str, int, str], NameUses]] = (
    weakref.WeakKeyDictionary()
)
_REF_CACHE_SIZE = 256
# names whose uses are kept: every definition of a name reads them in one call; a common
# name's are thousands of rows, so few are kept across calls
_USES_CACHE_SIZE = 8


def _stamp(root: Path, paths: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = os.stat(root / p)
            out.append((p, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((p, -1, -1))
    return tuple(out)


def _references(ctx: LiveIndex, row: tuple[Any, ...], limit: int,
                ) -> tuple[list[SymbolReference], int, bool]:
    """At most `limit` uses of the definition `row` (a `_COLS` row), with their source
    line, how many uses reach it in all, and whether its name has more uses than were read
    (`MAX_USES`, the first by path): the uses of its name that resolve to it, then
    those whose call site leaves it possible, never one whose call site names another owner
    (`indexer.graph.uses`); past `limit`, spread over the repository (`_spread`). Cached
    per store generation (the tables') and definition; a hit is checked against the files'
    mtime and size, so an edit not yet indexed still shows its current line."""
    store = ctx.index.store
    tables = loaded_graph_tables(store)
    generation = store.generation if tables is None else tables.key[0]
    key = (str(ctx.root), generation, row[0], row[3], row[1], row[4], limit)
    cache = _REF_CACHE.setdefault(store, {})
    hit = cache.get(key)
    if hit is not None and _stamp(ctx.root, [s[0] for s in hit[0]]) == hit[0]:
        return list(hit[1]), hit[2], hit[3]
    uses = _name_uses(ctx, tables, generation, row[0])
    capped = len(uses.uses) >= MAX_USES
    first, then = uses.tiers(row[3], row[1], row[4])
    reaching = [u[:4] for u in (*first, *then)]
    rows, total = _spread(reaching, limit, len(first)), len(reaching)
    out: list[SymbolReference] = []
    by_path: dict[str, list[str]] = {}
    stamp = _stamp(ctx.root, sorted({r[0] for r in rows}))
    for p, line, kind, scope in rows:
        if p not in by_path:
            by_path[p] = read_lines(ctx.root, p)
        lines = by_path[p]
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        out.append(SymbolReference(path=p, line=line, kind=kind, scope=scope, context=text[:200]))
    if len(cache) >= _REF_CACHE_SIZE:
        cache.pop(next(iter(cache)), None)
    cache[key] = (stamp, out, total, capped)
    return list(out), total, capped


def _spread(rows: list[_RefRow], limit: int, first: int = 0) -> list[_RefRow]:
    """`limit` of `rows` (the `first` of them resolved to the definition, then the uses it
    is possible for; each part in path order), listed in that order with the resolved
    first, then the uses outside tests: before any test's use, and the first use of every
    file before the second of any, the first file of every directory before the second.
    The first `limit` by path left out most of the repository (ripgrep's `new`, before
    uses were resolved by their call sites: 1,109 uses, the first 50 in build.rs,
    crates/cli and crates/core/flags; spread, they are 50 files' outside tests)."""
    if len(rows) <= limit:
        return rows
    in_file: dict[str, int] = {}  # uses of the file so far
    in_dir: dict[str, int] = {}  # files of the directory so far
    file_at: dict[str, int] = {}  # the file's place among its directory's
    test: dict[tuple[str, str | None], bool] = {}  # a regex a row cost most of the time
    keys = []
    for i, (path, _, _, scope) in enumerate(rows):
        if path not in file_at:
            folder = path.rpartition("/")[0]
            file_at[path] = in_dir[folder] = in_dir.get(folder, -1) + 1
        nth = in_file[path] = in_file.get(path, -1) + 1
        where = (path, scope)
        if where not in test:
            test[where] = is_test_unit(path, scope)
        keys.append((i >= first, test[where], nth, file_at[path], i))
    kept = sorted(sorted(range(len(rows)), key=keys.__getitem__)[:limit],
                  key=lambda i: (keys[i][0], keys[i][1], i))
    return [rows[i] for i in kept]


def _name_uses(ctx: LiveIndex, tables: GraphTables | None, generation: int,
               name: str) -> NameUses:
    """The uses of `name` with the definitions each reaches, by (path, line, then start
    byte): from the graph tables a server holds, else from the store. Cached per store
    generation and name (every definition of a common name asks for them)."""
    store = ctx.index.store
    key = (str(ctx.root), generation, name)
    cache = _USES_CACHE.setdefault(store, {})
    found = cache.get(key)
    if found is None:
        found = name_uses(store, tables, name)
        if len(cache) >= _USES_CACHE_SIZE:
            cache.pop(next(iter(cache)), None)
        cache[key] = found
    return found


def get_symbol(
    ctx: LiveIndex, name: str, path: str | None = None, include_body: bool = True,
    include_references: bool = False, max_tokens: int = 4000,
) -> SymbolResult:
    """Definitions of `name` (plain or qualified), best match first."""
    name = name.strip()
    if not name:
        raise ArgumentError("name is empty: give a symbol name such as `add_url_rule` or `Flask.route`")
    if path:
        check_rel(path)
    lookup = dotted_name(name)
    rows, how = _candidates(ctx, lookup)
    note = None
    if path:
        rows, note = _within(rows, path, lookup, how)
    rows = sorted(rows, key=lambda r: _rank_key(r, lookup))[:MAX_CANDIDATES]
    infos: list[SymbolInfo] = []
    for r in rows:
        body = None
        if include_body:
            body = "\n".join(read_lines(ctx.root, r[3])[r[4] - 1:r[5]])
        refs, uses, capped = _references(ctx, r, MAX_REFERENCES) if include_references else (
            None, 0, False)
        if capped and note is None:
            note = (f"{r[0]!r} is used more than {MAX_USES:,} times: its references were read "
                    f"among the first {MAX_USES:,} uses by path, so later files may be missing "
                    "from them and the counts are at least these")
        infos.append(SymbolInfo(
            name=r[0], qualname=r[1], kind=r[2], path=r[3], start_line=r[4], end_line=r[5],
            language=r[6], signature=r[7] or "", doc=r[8] or "", body=body, match=how,
            references=refs, references_omitted=uses - len(refs or ()), repo=ctx.name))
    return _render(ctx, name, infos, max_tokens, note)


def _levels() -> list[Any]:
    def full(s: SymbolInfo) -> SymbolInfo:
        return s

    def no_body(s: SymbolInfo) -> SymbolInfo:
        refs = s.references[:10] if s.references else s.references
        return s.model_copy(update={"body": None, "references": refs,
                                    "references_omitted": _refs_left(s, refs)})

    def minimal(s: SymbolInfo) -> SymbolInfo:
        return s.model_copy(update={"body": None, "doc": s.doc.split("\n", 1)[0][:200],
                                    "references": None,
                                    "references_omitted": _refs_left(s, None)})

    return [full, no_body, minimal]


def _refs_left(s: SymbolInfo, kept: list[SymbolReference] | None) -> int:
    """The uses of `s` left out once only `kept` of its listed ones are."""
    return s.references_omitted + len(s.references or ()) - len(kept or ())


def _render(ctx: LiveIndex, name: str, infos: list[SymbolInfo], max_tokens: int,
            note: str | None) -> SymbolResult:
    freshness = answer_freshness(ctx, {s.path for s in infos})

    def build(kept: list[SymbolInfo], omitted: int, degraded: bool) -> SymbolResult:
        hint = "pass path=... to pick one definition, or raise max_tokens"
        cut = degraded or omitted > 0 or any(s.references_omitted for s in kept)
        return SymbolResult(query=name, symbols=kept, truncated=cut,
                            omitted=Omitted(count=omitted, hint=hint) if omitted else None,
                            note=note, freshness=freshness)

    return fit_answer(infos, _levels(), max_tokens, build)
