"""Exact cl100k counting over cached line segments equals counting the whole text."""

from __future__ import annotations

import random

import pytest

from indexer.core import tokens
from indexer.core.tokens import count_tokens, count_tokens_lines

# Characters that decide where cl100k's pre-tokenizer splits: line breaks, Python-only and
# Unicode whitespace, letters, digits, punctuation runs, contractions, CJK.
_ALPHABET = ["\n", "\n", "\n", "\r", "\r\n", " ", " ", "  ", "\t", "\u00a0", "\x0b", "\x0c",
             "\x1c", "\x1f", "\x85", "\u2028", "\u3000", "a", "b", "Foo", "bar", "'s", "'ll",
             "1", "23", "4567", ":", "-", "{", "}", "...", "#", "é", "数据", "😀", "\ufeff"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(60, 400)))


def test_line_segments_count_exactly_random_text() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        text = _random_text(rng)
        assert count_tokens_lines(text) == count_tokens(text), repr(text)


@pytest.mark.parametrize("text", [
    "key: value\n" * 60 + "  \n\n   \n",
    "a:\n  - b\n\n\n  - c\n" * 40,
    "line\r\n  \r\nnext\r\n" * 40,
    "x = 1\n\u00a0\u00a0\ny\n" * 50,
    "}\n\n\n" * 100 + "end",
    "word " * 80 + "\n" + " " * 300,
    "text\n\x1c\x1d\nmore\n" * 40,
])
def test_line_segments_count_exactly_edge_cases(text: str) -> None:
    assert count_tokens_lines(text) == count_tokens(text)
    assert count_tokens_lines(text) == count_tokens(text)  # again, from the cache


def test_segment_caches_keep_at_most_their_character_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.core.textcache import TextCache

    monkeypatch.setattr(tokens, "_segments", TextCache(500))
    monkeypatch.setattr(tokens, "_tails", TextCache(100))
    for i in range(200):  # ~70 KB of distinct lines
        text = "".join(f"line {i} {j} of a text\n" for j in range(20)) + f"tail {i}"
        assert count_tokens_lines(text) == count_tokens(text)
        assert tokens._segments.chars <= 500 and tokens._tails.chars <= 100
    assert count_tokens_lines(text) == count_tokens(text)  # still exact from the cache


def test_the_default_segment_caches_are_bounded_to_a_few_megabytes() -> None:
    assert tokens._segments._max_chars + tokens._tails._max_chars <= 4 << 20


def test_text_cache_keeps_values_until_its_character_budget_is_spent() -> None:
    from indexer.core.textcache import TextCache

    cache: TextCache[int] = TextCache(10)
    cache.put("abcd", 1)
    cache.put("efgh", 2)
    assert cache.get("abcd") == 1 and cache.get("efgh") == 2
    cache.put("ijkl", 3)  # 12 characters would exceed 10: the older entries go
    assert cache.get("abcd") is None and cache.get("efgh") is None and cache.get("ijkl") == 3


def test_token_table_is_cached_and_a_damaged_cache_is_rebuilt(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verified BPE table is kept in the user's cache (a CLI start reads it in ~30 ms, not
    0.35 s); a truncated or garbled cache file is replaced, and counts never change."""
    import marshal

    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(tmp_path))
    first = tokens._cl100k_config()
    (cached,) = (tmp_path / "tokens").iterdir()
    assert marshal.loads(cached.read_bytes())["mergeable_ranks"] == first["mergeable_ranks"]
    for damage in (cached.read_bytes()[: 1000], b"garbage", marshal.dumps({"name": "x"})):
        cached.write_bytes(damage)
        again = tokens._cl100k_config()
        assert again["mergeable_ranks"] == first["mergeable_ranks"]
        assert again["pat_str"] == first["pat_str"]
        assert marshal.loads(cached.read_bytes())["mergeable_ranks"] == first["mergeable_ranks"]
    import tiktoken

    enc = tiktoken.Encoding(**tokens._cl100k_config())
    text = "def add_url_rule(self, rule: str) -> None:\n    return None  # 数据 😀\n"
    assert len(enc.encode_ordinary(text)) == count_tokens(text)
