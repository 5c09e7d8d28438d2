"""The static tier finds a batch's words with array operations (`static_words`): exactly
the words of the regular expressions it replaced (kept here as the reference), keyed by
their lower-cased bytes. No model needed."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexer.embed.static_words import WordSplitter, printable

# The words that carry meaning (runs of letters and digits; punctuation and symbols have
# zero rows), and the same with identifiers split at case changes (`getHTTPServer` -> get
# HTTP Server, `X509Cert` -> X509 Cert), as the static tier read them with `re` before.
_WPM_MEANING = re.compile(r"[a-z0-9]+")
_CASE_MEANING = re.compile(r"[a-z0-9]+|[A-Z](?:[A-Z]*(?=[A-Z][a-z])|[A-Z]*[a-z0-9]*)")


def meaning_words(text: str, split_case: bool = False) -> list[str]:
    return _CASE_MEANING.findall(text) if split_case else _WPM_MEANING.findall(text)

EDGES = [
    "", "a", "A", "9", "_", "getHTTPServer", "X509CertPool", "ABCdef", "AB1c", "aBC1",
    "parseURLQuery(rawQuery)", "HTTPS", "iOS", "IOError", "x2Y", "a1B2c3D4", "URLs",
    "snake_case_name", "  lead and trail  ", "CamelCase\nnext_line\tTAB", "ÀB" [1:],
    "x = y.z[0] + Foo.BAR_BAZ()", "ABCDEFghiJKL", "aA", "Aa", "AA", "AAa", "0A", "0a",
]


def _words_of(splitter: WordSplitter, texts: list[str]) -> list[list[str]]:
    joined = "\n".join(texts)
    data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    starts, ends = splitter.split(data)
    offsets = np.cumsum([0] + [len(t) + 1 for t in texts])
    text_of = np.searchsorted(offsets, starts, side="right") - 1
    out: list[list[str]] = [[] for _ in texts]
    for t, s, e in zip(text_of.tolist(), starts.tolist(), ends.tolist(), strict=True):
        out[t].append(joined[s:e])
    return out


def test_words_equal_the_regular_expressions_on_every_class_boundary() -> None:
    splitter = WordSplitter()
    alphabet = ["a", "z", "0", "A", "Z", " ", "_", "."]
    pairs = ["".join(p) for n in (1, 2, 3, 4) for p in itertools.product(alphabet, repeat=n)]
    texts = EDGES + pairs
    got = _words_of(splitter, texts)
    for text, words in zip(texts, got, strict=True):
        assert words == meaning_words(text, split_case=True), text
        lowered = _words_of(splitter, [text.lower()])[0]
        assert lowered == meaning_words(text.lower()), text


def test_words_equal_the_regular_expressions_on_real_code(
        corpus: Callable[[str], Path]) -> None:
    root = corpus("flask")
    texts = [p.read_text() for p in sorted(root.rglob("*.py"))]
    texts = [t for t in texts if t.isascii()]
    assert len(texts) > 50
    splitter = WordSplitter()
    for text, words in zip(texts, _words_of(splitter, texts), strict=True):
        assert words == meaning_words(text, split_case=True)


def test_keys_follow_the_lower_cased_word_and_tell_distinct_words_apart(
        corpus: Callable[[str], Path]) -> None:
    root = corpus("flask")
    texts = [t for t in (p.read_text() for p in sorted(root.rglob("*.py"))) if t.isascii()]
    splitter = WordSplitter()
    joined = "\n".join(texts)
    data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    starts, ends = splitter.split(data)
    keys = splitter.keys(data, starts, ends).tolist()
    words = [joined[s:e].lower() for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    by_word: dict[str, int] = {}
    for word, key in zip(words, keys, strict=True):
        assert by_word.setdefault(word, key) == key  # wherever the word stands, any case
    assert len(set(by_word.values())) == len(by_word) > 2000  # no two words share a key
    # the same word at another offset of another batch, in another case
    small = np.frombuffer(b"  Request REQUEST", dtype=np.uint8)
    s, e = splitter.split(small)
    assert splitter.keys(small, s, e).tolist() == [by_word["request"]] * 2


def test_printable_is_what_plain_text_may_hold() -> None:
    data = np.arange(256, dtype=np.uint8)
    allowed = {9, 10, 13, *range(32, 127)}
    assert np.flatnonzero(printable(data)).tolist() == sorted(allowed)


def test_texts_are_split_into_words_in_groups_of_bounded_size() -> None:
    """The arrays that find and key words take ~40 bytes a character: a call with many long
    texts is split into groups of about `_GROUP_CHARS`, in order, none left out."""
    from indexer.embed.static import _by_size

    rng = np.random.default_rng(7)
    texts = [(i, "x" * int(n)) for i, n in enumerate(rng.integers(0, 9000, 500))]
    groups = list(_by_size(texts, 1 << 16))
    assert [item for group in groups for item in group] == texts
    assert len(groups) > 20
    for group in groups:
        size = sum(len(t) + 1 for _, t in group)
        assert size - len(group[0][1]) - 1 < 1 << 16  # only its first text is past the bound


def test_a_run_with_a_non_ascii_character_is_one_native_word_keyed_as_it_is() -> None:
    """In UTF-8 text, a run of letters, digits and non-ASCII characters that holds one of
    the latter is one word, not split at case changes (llama.cpp reads it whole); the ASCII
    words around it split as before. Native words are keyed by their bytes as they are:
    `Ünter` and `ünter` are two words, as are `naïveString` and `naïvestring`."""
    text = "getHTTPServer naïveString über—alles x.Größe 中文 naïvestring Ünter ünter"
    raw = text.encode("utf-8")
    data = np.frombuffer(raw, dtype=np.uint8)
    splitter = WordSplitter()
    starts, ends, native = splitter.split_utf8(data)
    assert native is not None
    words = [raw[s:e].decode() for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    assert words == ["get", "HTTP", "Server", "naïveString", "über—alles", "x", "Größe", "中文",
                     "naïvestring", "Ünter", "ünter"]
    assert native.tolist() == [False] * 3 + [True, True, False] + [True] * 5
    keys = splitter.keys(data, starts, ends, native).tolist()
    assert len(set(keys)) == len(keys)
    ascii_only = np.frombuffer(b"getHTTPServer x", dtype=np.uint8)
    s, e, none = splitter.split_utf8(ascii_only)
    assert none is None
    assert splitter.keys(ascii_only, s, e).tolist() == keys[:3] + [keys[5]]


def test_printable_utf8_allows_non_ascii_bytes_but_no_control_character() -> None:
    data = np.arange(256, dtype=np.uint8)
    allowed = {9, 10, 13, *range(32, 127), *range(128, 256)}
    assert np.flatnonzero(printable(data, utf8=True)).tolist() == sorted(allowed)
