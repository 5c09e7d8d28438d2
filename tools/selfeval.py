"""`sextant eval`: how well search finds the files of your own recent commits.

Each sampled commit's subject is a query; the gold is the non-test source files it
modified. The search runs against the *current* index (the working tree as indexed now),
not the parent tree of each commit: that takes seconds instead of one index build per
commit, at the price of an approximation: the files already contain the change (which
helps a little) and may have moved on since (which hurts a little). Gold files that no
longer exist are dropped; a commit with none left is skipped. For numbers that replay
history exactly, use `python -m evals --sets commits (a checkout of Sextant)`.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from indexer.live import LiveIndex
from tools import history
from tools.errors import ToolError
from tools.retrieval_metrics import Span, score_ranked, summarize, unique_paths
from tools.search import repository_weights, search_code

KS = (1, 3, 5, 10)


def git_dir(root: Path) -> Path:
    """The repository's git directory; ToolError when `root` is not in a git work tree."""
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--absolute-git-dir"],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise ToolError(f"{root} is not a git repository: `sextant eval` needs its history")
    return Path(done.stdout.strip())


def eval_commits(ctx: LiveIndex, since: str | None, n: int, seed: int,
                 repo_git: Path | None = None,
                 until: str = "HEAD") -> tuple[list[history.Commit], int]:
    """Up to `n` sampled commits up to `until` (oldest first; after `since` when given) with
    their gold cut to the files still indexed, and how many were skipped because none is
    left. The history is the root's repository unless `repo_git` names a git directory."""
    rev = f"{since}..{until}" if since else until
    try:
        sampled = history.sample(repo_git or git_dir(ctx.root), n, seed,
                                 window=max(500, n * 10), rev=rev)
    except subprocess.CalledProcessError as exc:
        raise ToolError(f"git log {rev} failed ({exc.stderr.strip()}): check --since") from None
    indexed = {r[0] for r in ctx.index.store.query("SELECT path FROM files")}
    out = [replace(c, files=tuple(p for p in c.files if p in indexed)) for c in sampled]
    kept = [c for c in out if c.files]
    return kept, len(out) - len(kept)


def self_eval(ctx: LiveIndex, since: str | None = None, n: int = 50,
              seed: int = 0) -> dict[str, Any]:
    """Recall@k of search_code on up to `n` commits (those after `since`, when given)."""
    sampled, skipped = eval_commits(ctx, since, n, seed)
    scores, misses = [], []
    for commit in sampled:
        gold = list(commit.files)
        hits = search_code(ctx, commit.subject, k=30, max_tokens=20000).results
        ranked = unique_paths(Span(h.path, h.start_line, h.end_line) for h in hits)
        score = score_ranked(ranked, gold, lambda a, b: a == b)
        scores.append(score)
        if score.first_rank is None or score.first_rank > 5:
            misses.append({"commit": commit.sha[:10], "subject": commit.subject,
                           "files": gold, "top": ranked[:5]})
    metrics = summarize(scores, KS)
    return {"commits": len(scores), "skipped": skipped, "since": since,
            "recall": {f"@{k}": metrics[f"R@{k}"] for k in KS},
            "hit_rate": {f"@{k}": metrics[f"Acc@{k}"] for k in KS},
            "mrr@10": metrics["MRR@10"], "misses": misses[:10],
            "weights": repository_weights(ctx).source,
            "method": "commit subject -> modified non-test source files, current index"}


def render(report: dict[str, Any]) -> str:
    """Human-readable report for the CLI."""
    if not report["commits"]:
        return ("no eligible commits (non-merge, modifying 1-4 non-test source files that "
                "are still indexed): try a longer range with --since or a larger -n")
    head = f"{report['commits']} commits ({report['skipped']} skipped): "
    lines = [head + f"MRR@10 {report['mrr@10']:.3f} ({report['weights']} weights)",
             "recall   " + "  ".join(f"{k} {v:.3f}" for k, v in report["recall"].items()),
             "hit rate " + "  ".join(f"{k} {v:.3f}" for k, v in report["hit_rate"].items())]
    for miss in report["misses"]:
        lines.append(f"  missed {miss['commit']} {miss['subject'][:60]!r}: "
                     f"{', '.join(miss['files'])}")
    return "\n".join(lines)
