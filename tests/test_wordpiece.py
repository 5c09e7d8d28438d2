"""WordPiece in Python (`indexer.embed.wordpiece`): llama.cpp's ids without llama.cpp.

A one-shot search and every parse worker load the static tier from its cache; they used to
open llama.cpp's bindings and vocabulary to tokenize the words they had not seen. The
Python match must give exactly llama.cpp's ids, or the static vectors would depend on which
process computed them.
"""

from __future__ import annotations

import random
import re
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexer.embed.convert import provision_default_model
from indexer.embed.static_vocab import CASE_BOUNDARY, ModelVocab
from indexer.embed.wordpiece import TableVocab, WordPieces, pack_texts, token_texts
from tests.model_marks import needs_model

_WORD = re.compile(r"[a-z0-9]+")


@pytest.fixture(scope="module")
def vocab() -> ModelVocab:
    return ModelVocab(provision_default_model())


def _code_words(root: Path) -> set[str]:
    """The lower-cased words of letters and digits of a repository's text files, split at
    case changes as the static tier reads them."""
    words: set[str] = set()
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".rst", ".md", ".txt", ".toml", ".cfg"):
            text = path.read_text("utf-8", "replace")
            words.update(_WORD.findall(CASE_BOUNDARY.sub(" ", text).lower()))
    return words


@needs_model
def test_python_wordpiece_gives_llama_cpps_ids_for_the_vocabulary_real_code_and_random_words(
    vocab: ModelVocab, corpus: Callable[[str], Path],
) -> None:
    """Every word-initial token's word, every word of flask, 3,000 random words of letters
    and digits (up to 40 characters, past the longest token) and one of 300: the same ids
    as llama.cpp's WordPiece, word by word."""
    texts = [vocab.text_bytes(t) for t in range(vocab.size)]
    pieces = WordPieces(texts)
    words = {t.decode()[1:] for t in texts
             if t.startswith("\u2581".encode()) and _WORD.fullmatch(t.decode()[1:])}
    assert len(words) > 15_000
    words |= _code_words(corpus("flask"))
    rnd = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    words |= {"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40)))
              for _ in range(3000)}
    words.add("x" * 300)
    ordered = sorted(words)
    ids, offsets = vocab.words_ids_flat(ordered)
    mine = [pieces.word(w.encode()) for w in ordered]
    wrong = [(w, got, ids[offsets[i]:offsets[i + 1]].tolist())
             for i, (w, got) in enumerate(zip(ordered, mine, strict=True))
             if got != ids[offsets[i]:offsets[i + 1]].tolist()]
    assert not wrong, wrong[:5]
    assert sum(len(m or ()) > 1 for m in mine) > 3000  # many words of several pieces


def test_a_word_no_token_matches_is_left_to_llama_cpp() -> None:
    """Where some part of a word matches no token, llama.cpp gives the unknown token for the
    whole word: Python answers None and leaves it to llama.cpp."""
    texts = [b"[UNK]", "\u2581ab".encode(), b"c", "\u2581a".encode(), b"b"]
    pieces = WordPieces(texts)
    assert pieces.word(b"abc") == [1, 2]  # the longest first piece, then the rest
    assert pieces.word(b"ab") == [1]
    assert pieces.word(b"abd") is None
    blob, ends = pack_texts(texts)
    assert token_texts(blob, ends) == texts


@needs_model
def test_table_vocab_opens_llama_cpp_only_for_what_python_leaves(vocab: ModelVocab) -> None:
    """A `TableVocab` matches words of letters and digits itself; a word with other
    characters (here non-ASCII) opens the vocabulary through llama.cpp, once, with the same
    ids as llama.cpp gives for all of them."""
    texts = [vocab.text_bytes(t) for t in range(vocab.size)]
    table = TableVocab(vocab.path, vocab.size, vocab.window(), vocab.splits_words,
                       vocab.word_start(), texts)
    plain = ["getcontainer", "restart", "policy", "x509", "zzqqzz"]
    ids, offsets = table.words_ids_flat(plain)
    assert not table.opened_native
    want_ids, want_offsets = vocab.words_ids_flat(plain)
    assert np.array_equal(ids, want_ids) and np.array_equal(offsets, want_offsets)
    mixed = ["caf\u00e9", "restart", "na\u00efve"]
    ids, offsets = table.words_ids_flat(mixed)
    assert table.opened_native
    want_ids, want_offsets = vocab.words_ids_flat(mixed)
    assert np.array_equal(ids, want_ids) and np.array_equal(offsets, want_offsets)
    empty_ids, empty_offsets = table.words_ids_flat([])
    assert len(empty_ids) == 0 and empty_offsets.tolist() == [0]
    table.close()


@needs_model
def test_releasing_a_table_vocab_closes_llama_cpps_vocabulary_once_no_call_uses_it(
        vocab: ModelVocab) -> None:
    """What an edit's word opened (5.5 MB of llama.cpp's vocabulary for MiniLM, kept for a
    server's life) goes when the server settles; a call still tokenizing with it keeps it
    until it returns; the next such word opens it again, with the same ids."""
    texts = [vocab.text_bytes(t) for t in range(vocab.size)]
    table = TableVocab(vocab.path, vocab.size, vocab.window(), vocab.splits_words,
                       vocab.word_start(), texts)
    mixed = ["caf\u00e9", "restart", "na\u00efve"]
    first = table.words_ids_flat(mixed)
    in_use = table.native()  # as a thread in the middle of a call holds it
    assert table.opened_native

    table.release_pieces()

    assert not table.opened_native
    assert in_use._model  # not closed under the call that holds it
    assert np.array_equal(in_use.words_ids_flat(mixed)[0], first[0])
    gone = weakref.ref(in_use)
    del in_use  # the last reference: llama.cpp's model is freed
    assert gone() is None
    again = table.words_ids_flat(mixed)
    assert table.opened_native
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    table.close()
