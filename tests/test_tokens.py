"""Exact cl100k counting over cached line segments equals counting the whole text."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.core import tokens
from indexer.core.tokens import count_tokens, count_tokens_lines, count_tokens_upto

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


def test_counts_up_to_a_limit_are_exact_within_it_and_above_it_past_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_PART_CHARS", 64)  # many parts even in short texts
    rng = random.Random(11)
    for _ in range(600):
        text = "".join(_random_text(rng) for _ in range(rng.randint(1, 12)))
        n = count_tokens(text)
        for limit in (0, n // 3, n - 1, n, n + 1, 10 * n):
            got = count_tokens_upto(text, limit)
            assert got == n if n <= limit else got > limit, (repr(text), limit)


def test_a_count_up_to_a_limit_stops_soon_after_passing_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.core.textcache import TextCache

    monkeypatch.setattr(tokens, "_answer_parts", TextCache(1 << 20))
    seen: list[int] = []
    counted = tokens._ordinary_len
    monkeypatch.setattr(tokens, "_ordinary_len", lambda t: seen.append(len(t)) or counted(t))
    text = "".join(f'    "line {i}": "a value of some words",\n' for i in range(5000))
    assert count_tokens_upto(text, 4000) > 4000
    first = sum(seen)
    assert first < len(text) // 3  # ~40 chars a line, under 16 tokens: 4000 tokens in
    whole = count_tokens(text)
    seen.clear()
    assert count_tokens_upto(text, 10 ** 6) == whole
    assert first + sum(seen) == len(text)  # the parts counted first were not counted again


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
    assert tokens._answer_parts._max_chars <= 1 << 20


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
    for n in range(5):  # tables of other installs' BPE files (other mtimes): the newest two stay
        stale = tmp_path / "tokens" / f"cl100k_base-1-{n}.marshal"
        stale.write_bytes(b"old")
        os.utime(stale, (1000 + n, 1000 + n))
    cached.unlink()
    tokens._cl100k_config()
    assert sorted(p.name for p in (tmp_path / "tokens").iterdir()) == sorted(
        [cached.name, "cl100k_base-1-3.marshal", "cl100k_base-1-4.marshal"])
    import tiktoken

    enc = tiktoken.Encoding(**tokens._cl100k_config())
    text = "def add_url_rule(self, rule: str) -> None:\n    return None  # 数据 😀\n"
    assert len(enc.encode_ordinary(text)) == count_tokens(text)


# Plain ASCII pieces that decide cl100k's splits: contractions in both cases, letter runs
# after punctuation, digit runs longer than 3, punctuation runs before line breaks, trailing
# and mid-text whitespace runs.
_PLAIN_ALPHABET = ["\n", "\n\n", "\r", "\r\n", " ", " ", "   ", "\t", "a", "Foo", "bar_baz",
                   "'s", "'S", "'ll", "'LL", "'ve", "'re", "'d", "'t", "'x", "'", "1", "23",
                   "4567", ":", "-", "{", "}", "...", "#", "\"", "==", "=>", "/*", "*/",
                   "`", "~", "@decorator", "self.", "()", "0x1F", "zzqxj", "qwrtp"]


def _encoder_len(text: str) -> int:
    return len(tokens.encoding().encode_ordinary(text))


def test_lean_counts_equal_the_encoders_on_plain_text() -> None:
    """The Python count that spares a CLI search building the encoder is exact: random plain
    text built from the characters cl100k splits on, and this repository's own sources."""
    lean = tokens._Lean()
    lean.left = 1 << 40  # no budget here: every text is counted both ways
    rng = random.Random(11)
    texts = ["".join(rng.choice(_PLAIN_ALPHABET) for _ in range(rng.randint(1, 300)))
             for _ in range(3000)]
    root = Path(__file__).resolve().parent.parent
    sources = [p.read_text() for p in sorted(root.glob("*/*.py"))]
    plain = [t for t in sources if tokens._PLAIN.fullmatch(t)]
    assert len(plain) >= 50
    texts += plain
    texts += ["", " ", "\n", "  \n  ", "x  ", "'s", "a'sb", "12345678", "!!!\n\n\nx"]
    for text in texts:
        assert lean.count(text) == _encoder_len(text), repr(text[:200])


# Characters where Unicode classes decide cl100k's pieces: letters and numbers of other
# scripts, marks, every kind of space and line break (\x1c-\x1f are spaces to Python's
# `str.isspace`, not to Unicode's White_Space), symbols, emoji, CJK, byte-order marks.
_UNICODE_ALPHABET = (
    [chr(c) for c in [*range(0x250), *range(0x2000, 0x2070)]]
    + [chr(c) for c in (0x3000, 0x3042, 0x4E2D, 0x1F600, 0x85, 0xA0, 0x1680, 0x180E, 0x2028,
                        0x2029, 0x202F, 0x205F, 0xFEFF, 0x300, 0x301, 0x660, 0x966, 0x2160,
                        0xBC, 0xB2, 0x1C, 0x1F, 0x0B, 0x0C)]
    + [" ", "\n", "\r\n", "\t", "  ", "abc", "'s", "'LL", "123456", "naïve", "日本語"])


def test_counts_of_any_text_in_python_equal_the_encoders() -> None:
    """`count_in_python`'s counter (`_Lean.count_any`: the encoder's own pattern through the
    `regex` package) is exact on any text: random Unicode from the characters whose classes
    decide the pieces, plain random text, this repository's sources, text ending in
    whitespace or line breaks (where Python's `$` and Rust's differ) and lone surrogates
    (which tiktoken counts as U+FFFD)."""
    lean = tokens._Lean()
    rng = random.Random(5)
    texts = ["".join(rng.choice(_UNICODE_ALPHABET) for _ in range(rng.randint(1, 80)))
             for _ in range(3000)]
    texts += ["".join(rng.choice(_PLAIN_ALPHABET) for _ in range(rng.randint(1, 300)))
              for _ in range(500)]
    root = Path(__file__).resolve().parent.parent
    texts += [p.read_text() for p in sorted(root.glob("*/*.py"))]
    texts += ["", "a\n", "a \n", "x\n\n", "é\n", "é \n\n", "\u3000\n", "word\u00a0\n",
              "bad \ud800 surrogate", "\udfff", "end\udc80\n"]
    for text in texts:
        assert lean.count_any(text) == _encoder_len(text), repr(text[:200])


def test_a_process_counting_in_python_never_builds_the_encoder() -> None:
    """A serving process counts every text in Python (`count_in_python`): 12 MB of ranks
    instead of the encoder's 22 MB, plain or not, long or not."""
    root = Path(__file__).resolve().parent.parent
    texts = ["def f(x):\n    return x + 1\n" * 50000, "naïve café, 日本語 ☕\n" * 100]
    code = ("import json, sys\n"
            "from indexer.core import count_in_python, tokens\n"
            "count_in_python()\n"
            "texts = json.loads(sys.stdin.read())\n"
            "print(json.dumps([[tokens.count_tokens(t) for t in texts],"
            " tokens.count_tokens_lines(texts[0]), tokens.count_tokens_upto(texts[1], 10),"
            " tokens.encoding.cache_info().currsize]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root, input=json.dumps(texts))
    counts, lines, upto, built = json.loads(out.stdout)
    assert built == 0
    assert counts == [_encoder_len(t) for t in texts]
    assert lines == counts[0] and upto > 10


def test_pieces_merged_in_python_are_kept_within_a_bound_and_forgotten_on_settling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_MERGED_KEPT", 50)
    lean = tokens._Lean()
    monkeypatch.setattr(tokens, "_lean", lean)
    words = [f"zq{i}xv{i * 7}" for i in range(400)]  # each several tokens
    for word in words:
        assert lean.count_any(word) == _encoder_len(word)
        assert len(lean.pieces) <= 50
    assert lean.pieces
    tokens.forget_answer_counts()
    assert not lean.pieces


def test_other_text_and_long_runs_go_to_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    lean = tokens._Lean()
    assert lean.count("naïve") is None and lean.count("form\x0cfeed") is None
    monkeypatch.setattr(tokens, "_LEAN_CHARS", 100)
    small = tokens._Lean()
    assert small.count("x" * 60) == _encoder_len("x" * 60)
    assert small.count("y" * 60) is None  # past the budget: the encoder counts


def test_a_process_that_counts_little_plain_text_builds_no_encoder() -> None:
    """A CLI search counts its answer without building the encoder (~65 ms of its start)."""
    root = Path(__file__).resolve().parent.parent
    code = ("from indexer.core import tokens\n"
            "n = tokens.count_tokens('def f(x):\\n    return x + 1\\n' * 50)\n"
            "print(n, tokens.encoding.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root)
    n, built = out.stdout.split()
    assert int(built) == 0
    assert int(n) == _encoder_len("def f(x):\n    return x + 1\n" * 50)


def test_a_count_up_to_a_limit_stops_inside_a_long_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON answer holds code as one line ("\\n" escaped): a count up to a limit cuts it
    between words too, so it stops soon after the limit, not at the line's end; exact
    whatever the cuts (`test_counts_up_to_a_limit_are_exact_within_it_and_above_it_past_it`
    cuts random text between its words as well)."""
    seen: list[int] = []
    counted = tokens._ordinary_len
    monkeypatch.setattr(tokens, "_ordinary_len", lambda t: seen.append(len(t)) or counted(t))
    body = "func (d *Daemon) restore(cfg *config.Config) error {\\n\\treturn nil\\n}\\n" * 2000
    text = '{\n  "text": "' + body + '"\n}'
    assert count_tokens_upto(text, 2000) > 2000
    assert sum(seen) < len(text) // 10
    seen.clear()
    assert count_tokens_upto(text, 10 ** 6) == count_tokens(text)


def test_lines_counted_in_one_answer_are_not_counted_again_in_another(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer trimmed item by item is measured again, and answers of other calls show
    the same items: lines counted before at the same depth are counted once, wherever they
    sit in the text (a part ends where its last line's own text says), the counts exact."""
    from indexer.core.textcache import TextCache

    monkeypatch.setattr(tokens, "_answer_parts", TextCache(1 << 20))
    seen: list[int] = []
    counted = tokens._ordinary_len
    monkeypatch.setattr(tokens, "_ordinary_len", lambda t: seen.append(len(t)) or counted(t))
    items = [f'    "item {i}": "some words of item {i}",\n' for i in range(400)]
    first = '{\n  "results": {\n' + "".join(items) + '    "end": "one"\n  }\n}'
    second = ('{\n  "query": "another call",\n  "omitted": 100,\n  "results": {\n'
              + "".join(items[37:300]) + '    "end": "two", "more": 3\n  }\n}')
    assert count_tokens_upto(first, 10 ** 6) == counted(first)
    seen.clear()
    assert count_tokens_upto(second, 10 ** 6) == counted(second)
    assert 0 < sum(seen) < len(second) // 5  # where they differ, and a part on each side
