"""`python -m evals.headroom`: where docstring -> function's misses are, and what fixing
each kind would be worth.

Each docstring query of the harness's sets (`evals.sets.docstrings`, the same seed, size and
work directories as `python -m evals`) is asked of Sextant's hybrid search in process, as the
harness asks it through MCP (30 hits), and its function-level rank is read three ways:

- `found`: the first hit that shows the gold function (`covers`), what the harness scores;
- `narrowed`: as if every hit on a merged block holding the gold function had been narrowed
  to it (the first hit inside a `block` chunk that contains the gold function counts);
- `in_file`: as if the gold function were the best of its file's hits (the first hit of its
  file counts): the ranking of files kept, the order within each file perfect.

The gap between `found` and `in_file` is what an order within files could win without moving
a single file, and so without touching commit -> files (which ranks distinct files).

`--json FILE` also keeps every query's ranks and first hits, and `--compare OLD NEW` reads
two such files (a change's before and after, in seconds instead of a harness run) and
prints each set's MRR@10 on both sides and the queries whose rank moved.

    python -m evals.headroom [--repos flask,werkzeug,click,moby-client,echo,requests,gin]
                             [--work DIR] [--json FILE]
    python -m evals.headroom --compare OLD.json NEW.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.__main__ import TUNING, docstring_set
from evals.harness import DEPTH, Session, shown_spans
from indexer.store import search_tables
from tools.retrieval_metrics import Span, covers
from tools.search import search_code

log = logging.getLogger("evals.headroom")
REPOS = "flask,werkzeug,click,moby-client,echo,requests,gin"


@dataclass(frozen=True, slots=True)
class Ranks:
    """One query's function-level rank (1-based, None when not among the hits), as scored
    and under the two perfect re-orderings (see the module docstring)."""

    found: int | None
    narrowed: int | None
    in_file: int | None


def ranks(hits: Sequence[Span], gold: Span, blocks: Sequence[Span]) -> Ranks:
    """`hits` in order; `blocks`: the merged-block chunks of the gold function's file."""
    holders = [b for b in blocks if b.path == gold.path and b.start <= gold.start
               and gold.end <= b.end]

    def first(test: Callable[[Span], bool]) -> int | None:
        return next((i for i, h in enumerate(hits, start=1) if test(h)), None)

    def in_holder(h: Span) -> bool:
        return covers(h, gold) or (h.path == gold.path and any(
            b.start <= h.start and h.end <= b.end for b in holders))

    return Ranks(first(lambda h: covers(h, gold)), first(in_holder),
                 first(lambda h: h.path == gold.path))


@dataclass(frozen=True, slots=True)
class Asked:
    """One query of a set: its id and text, its ranks, and its first hits (path:symbol:line)."""

    qid: str
    text: str
    ranks: Ranks
    top: tuple[str, ...]


def mrr10(found: Sequence[int | None]) -> float:
    return sum(1 / r for r in found if r is not None and r <= 10) / len(found) if found else 0.0


def measure(name: str, work: Path, n: int, seed: int) -> list[Asked]:
    """Build (or re-use) the harness's docstring set for `name` and read every query's ranks."""
    built = docstring_set(name, work, n, seed)
    if built is None:
        return []
    s = Session(built.base / "tree", built.base / "index", True, True, built.corpus)
    if built.history is not None:
        s.use_history(*built.history)
    try:
        s.refresh()
        tables = search_tables(s.ctx.index.store)
        paths = {fid: path for path, fid in tables.file_ids.items()}
        blocks = [Span(paths[fid], start, end) for fid, start, end, _, kind
                  in tables.chunks.values() if kind == "block" and fid in paths]
        out = []
        for q in built.queries:
            got = search_code(s.ctx, q.text, k=DEPTH, mode="hybrid", max_tokens=20000)
            hits = [span for h in got.results for span in shown_spans(h.model_dump())]
            gold = q.gold[0]
            out.append(Asked(q.qid, q.text,
                             ranks(hits, gold, [b for b in blocks if b.path == gold.path]),
                             tuple(f"{h.path}:{h.symbol}:{h.start_line}"
                                   for h in got.results[:5])))
        return out
    finally:
        s.close()


def dumped(rows: Mapping[str, Sequence[Asked]]) -> dict[str, list[dict[str, Any]]]:
    """`rows` as `--json` writes them."""
    return {name: [asdict(a) for a in asked] for name, asked in rows.items()}


def compared(old: Mapping[str, Sequence[Mapping[str, Any]]],
             new: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Lines for `--compare`: per set in both files, MRR@10 old -> new, then each query
    whose found rank moved (`old -> new | query | new first hits`), by query id."""
    out: list[str] = []
    for name in [n for n in old if n in new]:
        before = {a["qid"]: a for a in old[name]}
        after = {a["qid"]: a for a in new[name]}
        shared = [q for q in before if q in after]
        out.append(f"{name}: {mrr10([before[q]['ranks']['found'] for q in shared]):.4f} -> "
                   f"{mrr10([after[q]['ranks']['found'] for q in shared]):.4f} "
                   f"({len(shared)} queries)")
        for q in shared:
            a, b = before[q]["ranks"]["found"], after[q]["ranks"]["found"]
            if a != b:
                out.append(f"  {a} -> {b} | {after[q]['text'][:80]} | "
                           f"{', '.join(after[q]['top'][:3])}")
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    p = argparse.ArgumentParser(prog="python -m evals.headroom", description=__doc__.split("\n")[0])
    p.add_argument("--repos", default=REPOS)
    p.add_argument("-n", "--docstrings", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", type=Path, default=Path.home() / ".cache" / "sextant-evals")
    p.add_argument("--json", type=Path, default=None, help="also keep every query's ranks here")
    p.add_argument("--compare", type=Path, nargs=2, metavar=("OLD", "NEW"), default=None,
                   help="compare two --json files instead of searching")
    args = p.parse_args(argv)
    if args.compare:
        old, new = (json.loads(f.read_text()) for f in args.compare)
        print("\n".join(compared(old, new)))
        return 0
    asked: dict[str, list[Asked]] = {}
    for name in args.repos.split(","):
        asked[name] = measure(name, args.work, args.docstrings, args.seed)
    if args.json:
        args.json.write_text(json.dumps(dumped(asked), indent=1))
    rows = {name: [a.ranks for a in got] for name, got in asked.items()}
    print("| repository | set | n | fn MRR@10 | blocks narrowed perfectly | order within files perfect |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    groups = {"tuning": [r for n, rs in rows.items() if n in TUNING for r in rs],
              "held-out": [r for n, rs in rows.items() if n not in TUNING for r in rs]}
    for label, rs in [*((n, rs) for n, rs in rows.items()), *groups.items()]:
        if not rs:
            continue
        kind = label if label in groups else ("tuning" if label in TUNING else "held-out")
        print(f"| {label if label not in groups else 'all'} | {kind} | {len(rs)} "
              f"| {mrr10([r.found for r in rs]):.3f} | {mrr10([r.narrowed for r in rs]):.3f} "
              f"| {mrr10([r.in_file for r in rs]):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
