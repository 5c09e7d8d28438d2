"""Sextant's indexer: repository files -> a fresh, queryable index."""
