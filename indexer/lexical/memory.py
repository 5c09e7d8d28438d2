"""Okapi BM25 over a small in-memory corpus of token lists (k1=1.2, b=0.75 by default).

For corpora too small or short-lived for a tantivy index: the subjects of a repository's
recent commits (`indexer.commits`) and the eval harness's whole-file and function
baselines (`evals.baselines`)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence


class MemoryBM25:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(docs)
        self.lengths = [len(d) for d in docs]
        self.avg = (sum(self.lengths) / self.n) if self.n else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                self.postings[term].append((i, tf))

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def ranked(self, query: Collection[str], k: int, least: int = 1) -> list[tuple[int, float]]:
        """The `k` best documents for the distinct terms of `query` that hold at least
        `least` of them, as (index, score), best first; equal scores by index."""
        scores: dict[int, float] = defaultdict(float)
        matched: Counter[int] = Counter()
        for term in set(query):
            idf = self.idf(term)
            for i, tf in self.postings.get(term, ()):
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg or 1))
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
                matched[i] += 1
        found = [(i, s) for i, s in scores.items() if matched[i] >= least]
        return sorted(found, key=lambda item: (-item[1], item[0]))[:k]

    def top(self, query: Sequence[str], k: int) -> list[int]:
        return [i for i, _ in self.ranked(query, k)]
