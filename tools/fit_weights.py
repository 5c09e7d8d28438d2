"""`sextant eval --fit`: fusion weights fitted to the repository's own history.

The sampled commits (`tools.selfeval.eval_commits`: subject -> the non-test source files it
modified, searched in the current index) are split by age: the older `FIT_SHARE` fit the
weights, the newer ones judge them. Each commit's retrievers run once (`tools.search.
retrieve`); a weight setting only re-fuses and re-ranks. Coordinate ascent from the
defaults: each weight in turn takes the value of `GRID` that scores best on the older
commits, for up to `ROUNDS` rounds, replacing the current value only when it scores strictly
better (the lexical weight stays: RRF weights are relative to it). The score is the mean of
file MRR@10 and R@5 over the commits.

The fitted weights are saved in the index directory (`tools.ranking_weights`) only when they
differ from the defaults and score strictly better than the defaults on the newer commits
(at least `MIN_HELD_OUT` of them); otherwise any earlier fitted weights are removed and the
defaults stay.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.live import LiveIndex
from tools.errors import ToolError
from tools.ranking_weights import remove_weights, save_weights
from tools.retrieval_metrics import score_ranked, summarize
from tools.search import Retrieved, default_weights, ranked_paths, retrieve
from tools.selfeval import eval_commits

FIT_SHARE = 0.6  # the older share of the sampled commits fits; the newer judges
MIN_HELD_OUT = 8
MIN_FIT = 10
GRID = (0.0, 0.2, 0.4, 0.7, 1.0, 1.5, 2.0, 3.0)
ROUNDS = 2
DEPTH = 30  # chunk hits per query, as `sextant eval` and the eval harness ask
FIXED = "lexical"  # RRF weights are relative: the lexical retriever's stays at its default


@dataclass(frozen=True, slots=True)
class Question:
    sha: str
    got: Retrieved
    gold: tuple[str, ...]


def score(ctx: LiveIndex, questions: Sequence[Question], weights: Mapping[str, float]) -> float:
    """Mean of file MRR@10 and R@5 of the questions' searches fused with `weights`."""
    if not questions:
        return 0.0
    scores = [score_ranked(ranked_paths(ctx, q.got, weights, DEPTH), q.gold,
                           lambda a, b: a == b) for q in questions]
    metrics = summarize(scores, (5,))
    return round((metrics["MRR@10"] + metrics["R@5"]) / 2, 4)


def _free_keys(questions: Sequence[Question], defaults: Mapping[str, float]) -> list[str]:
    """The weights the questions can tell apart: those of retrievers that returned results
    (the symbol weight for sentences, `symbol_prose`, goes with the symbol retriever)."""
    used = {name for q in questions for name, ids in q.got.ranked.items() if ids}
    keys = [k for k in defaults if k != FIXED and k in used]
    if "symbol" in used and "symbol_prose" in defaults:
        keys.append("symbol_prose")
    return keys


def coordinate_ascent(ctx: LiveIndex, questions: Sequence[Question],
                      start: Mapping[str, float], keys: Sequence[str]) -> dict[str, float]:
    """Each weight in turn to its best value of GRID on `questions`, ROUNDS times."""
    best = dict(start)
    best_score = score(ctx, questions, best)
    for _ in range(ROUNDS):
        moved = False
        for key in keys:
            for value in GRID:
                trial = {**best, key: value}
                trial_score = score(ctx, questions, trial)
                if trial_score > best_score + 1e-9:
                    best, best_score, moved = trial, trial_score, True
        if not moved:
            break
    return best


@dataclass(frozen=True, slots=True)
class History:
    """Which commits to learn from: up to `n` (seeded sample) up to `until`, after `since`
    when given, from the root's repository or the git directory `git_dir`."""

    since: str | None = None
    n: int = 100
    seed: int = 0
    git_dir: Path | None = None
    until: str = "HEAD"


def _questions(ctx: LiveIndex, hist: History, mode: str) -> tuple[list[Question], int]:
    commits, skipped = eval_commits(ctx, hist.since, hist.n, hist.seed, hist.git_dir,
                                    hist.until)
    return [Question(c.sha, retrieve(ctx, c.subject, DEPTH, mode), c.files)
            for c in commits], skipped


def fit_weights(ctx: LiveIndex, hist: History | None = None,
                mode: str = "hybrid") -> dict[str, Any]:
    """Fit the fusion weights on the older sampled commits; save them when they beat the
    defaults on the newer ones, else keep (or go back to) the defaults."""
    started = time.perf_counter()
    questions, skipped = _questions(ctx, hist or History(), mode)
    cut = int(len(questions) * FIT_SHARE)
    older, newer = questions[:cut], questions[cut:]
    if len(older) < MIN_FIT or len(newer) < MIN_HELD_OUT:
        raise ToolError(f"{len(questions)} eligible commits: fitting needs at least "
                        f"{MIN_FIT + MIN_HELD_OUT}; sample more with -n or a longer --since")
    defaults = default_weights()
    fitted = coordinate_ascent(ctx, older, defaults, _free_keys(older, defaults))
    changed = {k: v for k, v in fitted.items() if v != defaults[k]}
    report: dict[str, Any] = {
        "commits": {"fit": len(older), "held_out": len(newer), "skipped": skipped},
        "newest_fit_commit": older[-1].sha[:10], "defaults": defaults, "fitted": changed,
        "fit_score": {"defaults": score(ctx, older, defaults), "fitted": score(ctx, older, fitted)},
        "held_out_score": {"defaults": score(ctx, newer, defaults),
                           "fitted": score(ctx, newer, fitted)},
        "score": "mean of file MRR@10 and R@5 (commit subject -> modified files)",
        "mode": mode}
    held = report["held_out_score"]
    report["saved"] = bool(changed) and held["fitted"] > held["defaults"]
    index_dir = ctx.index.paths.dir
    if report["saved"]:
        record = {k: report[k] for k in ("commits", "newest_fit_commit", "fit_score",
                                         "held_out_score", "score", "mode")}
        record["fitted_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        report["path"] = str(save_weights(index_dir, changed, defaults, record))
    else:
        report["removed_previous"] = remove_weights(index_dir)
    report["took_s"] = round(time.perf_counter() - started, 2)
    return report


def render(report: dict[str, Any]) -> str:
    """Human-readable fit report for the CLI."""
    c, fit, held = report["commits"], report["fit_score"], report["held_out_score"]
    weights = ", ".join(f"{k} {report['defaults'][k]:g} -> {v:g}"
                        for k, v in report["fitted"].items()) or "the defaults"
    lines = [(f"fitted on {c['fit']} older commits, judged on {c['held_out']} newer "
              f"({c['skipped']} skipped); score = {report['score']}"),
             f"weights: {weights}",
             f"older commits: defaults {fit['defaults']:.3f}, fitted {fit['fitted']:.3f}",
             f"newer commits: defaults {held['defaults']:.3f}, fitted {held['fitted']:.3f}"]
    if report["saved"]:
        lines.append(f"saved to {report['path']}: search uses these weights")
    else:
        lines.append("not saved: they do not beat the defaults on the newer commits; search "
                     "uses the defaults" + (" (earlier fitted weights removed)"
                                            if report.get("removed_previous") else ""))
    return "\n".join(lines)
