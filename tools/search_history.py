"""The repository's own history as evidence for a query's files.

A query that reads like the subject of earlier commits ("fix the proxy timeout") is likely
about the files those commits changed. The `SIMILAR` commits whose subjects best match the
query's words (`indexer.commits.CommitLog.similar`, BM25) lend their score to the files
they changed, split among them; each candidate file's chunks are then multiplied by
1 + `HISTORY_BOOST` x its share of the best file's evidence, so the history reorders files
the retrievers found and brings in none of its own.

Used by file answers only (`search_code(granularity="file")`): in chunk answers it moved
the function asked for down behind another file's (docstring -> function fell on two tuning
sets). File answers, commit -> files with the model tier, tuning histories (flask,
werkzeug, click, echo, cobra, fiber: 180 commits) R@5 0.852 -> 0.865, MRR@10 0.770 ->
0.826; held-out (requests, gin) R@5 0.872 -> 0.897, MRR@10 0.782 -> 0.808; docs/evals.md
"Forty-third session". Not for a name lookup or a stack trace: the query names what it
wants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from indexer.commits import CommitLog

HISTORY_BOOST = 0.5
SIMILAR = 5
LEAST = 1  # query words a subject must share (2: chunk answers' tuning MRR@10 0.824 -> 0.805)
# a history this short says little (one shared word decides; its word counts are no
# statistics): below it, no prior. Not tuned: every eval history has thousands of commits.
MIN_COMMITS = 30
# words most commit subjects say, whatever they change: no evidence for a file
COMMIT_WORDS = frozenset("""fix fixes fixed add adds added remove removes removed update
updates updated change changes changed allow allows support supports""".split())  # noqa: SIM905


def history_prior(log: CommitLog | None, terms: Collection[str]) -> dict[str, float]:
    """Multiplier per file (only files some similar commit changed; the rest are 1.0)."""
    terms = [t for t in terms if t not in COMMIT_WORDS]
    if log is None or not terms or log.size() < MIN_COMMITS:
        return {}
    evidence: dict[str, float] = defaultdict(float)
    for score, commit in log.similar(terms, SIMILAR, LEAST):
        for path in commit.files:
            evidence[path] += score / len(commit.files)
    if not evidence:
        return {}
    top = max(evidence.values())
    return {path: 1.0 + HISTORY_BOOST * share / top for path, share in evidence.items()}

