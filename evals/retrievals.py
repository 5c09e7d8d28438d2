"""`python -m evals.retrievals`: replay commit histories once, re-rank them offline.

Scoring a re-ranking idea on commit -> files with the harness replays every history step
(re-indexing and embedding what changed: minutes per repository on a loaded machine). This
tool replays once and keeps, per sampled commit, what ranking starts from: the query's plan
and each retriever's ranked chunks (`tools.search.retrieve`), the search tables of the
commit's parent tree and its vendored copies. `ranked_files` then ranks one kept commit as
`search_code` would (without collapsing near-identical copies), so a change to the code
after retrieval (priors, boosts, selection) is scored on many commits in seconds.

    python -m evals.retrievals dump --repos flask,click --out DIR [--no-dense]
    python -m evals.retrievals score --repos flask,click --out DIR
    python -m evals.retrievals misses --repos flask,click --out DIR   # what R@5 misses
"""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

from evals.harness import Session
from evals.sets import commits as commit_set
from indexer.store import SearchTables, search_tables
from tools.retrieval_metrics import score_ranked, summarize
from tools.search import Retrieved, files_of, retrieve
from tools.vendored import vendored

log = logging.getLogger("evals.retrievals")
DEPTH = 30  # hits asked, as the harness's `search_code` calls


@dataclass(frozen=True, slots=True)
class Kept:
    """One commit's retrieval at its parent tree."""

    sha: str
    subject: str
    gold: tuple[str, ...]
    got: Retrieved
    tables: SearchTables
    copies: dict[str, str]


def keep(s: Session, commit: commit_set.Commit) -> Kept:
    got = retrieve(s.ctx, commit.subject, DEPTH, "hybrid" if s.dense else "lexical")
    return Kept(commit.sha, commit.subject, tuple(commit.files), got,
                search_tables(s.ctx.index.store), dict(vendored(s.ctx.index.store)))


def dump(git_dir: Path, sampled: list[commit_set.Commit], work: Path, dense: bool) -> list[Kept]:
    """Replay `sampled` (oldest first) in `work` and keep each commit's retrieval."""
    commit_set.materialize(git_dir, sampled[0].parent, work / "tree")
    s = Session(work / "tree", work / "index", dense, False)
    kept: list[Kept] = []
    try:
        s.refresh()
        for previous, commit in zip([sampled[0], *sampled], sampled, strict=False):
            if previous.parent != commit.parent:
                commit_set.advance(git_dir, previous.parent, commit.parent, work / "tree")
                s.refresh()
            s.use_history(git_dir, commit.parent)
            kept.append(keep(s, commit))
    finally:
        s.close()
    return kept


def ranked_files(k: Kept) -> list[str]:
    """The distinct files of `search_code`'s hits for a kept commit, best first."""
    return files_of(k.tables, k.got, k.copies, None, 2 * DEPTH)


def score(kept: list[Kept]) -> dict[str, float]:
    return summarize([score_ranked(ranked_files(k), list(k.gold), lambda a, b: a == b)
                      for k in kept])


def missed(kept: list[Kept], top: int = 5) -> list[str]:
    """A line per kept commit with a gold file outside the first `top` files: its subject,
    each such file with its rank (None: not among the files ranked), and the first three."""
    out = []
    for k in kept:
        files = ranked_files(k)
        ranks = {g: files.index(g) + 1 if g in files else None for g in k.gold}
        left = [(g, r) for g, r in ranks.items() if r is None or r > top]
        if left:
            out.append(f"{k.subject[:80]} | {', '.join(f'{g} {r}' for g, r in left)} | "
                       f"first: {', '.join(files[:3])}")
    return out


def main(argv: list[str] | None = None) -> int:
    from evals.__main__ import HISTORY, MIRRORS

    p = argparse.ArgumentParser(prog="python -m evals.retrievals", description=__doc__)
    p.add_argument("action", choices=("dump", "score", "misses"))
    p.add_argument("--repos", default="flask,werkzeug,click")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--commits", type=int, default=30)
    p.add_argument("--window", type=int, default=800)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-dense", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    for repo in args.repos.split(","):
        path = args.out / f"{repo}.pkl"
        if args.action == "dump":
            git_dir = MIRRORS / HISTORY.get(repo, repo) / "repo"
            sampled = commit_set.sample(git_dir, args.commits, args.seed, args.window)
            try:
                kept = dump(git_dir, sampled, args.out / repo, not args.no_dense)
            except commit_set.HistoryError as exc:
                log.warning("%s skipped: %s", repo, exc)
                continue
            path.write_bytes(pickle.dumps(kept))
        kept = pickle.loads(path.read_bytes())
        if args.action == "misses":
            print("\n".join(f"{repo} | {line}" for line in missed(kept)))
            continue
        m = score(kept)
        print(f"{repo}: R@5 {m['R@5']:.3f} MRR@10 {m['MRR@10']:.3f} ({len(kept)} commits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
