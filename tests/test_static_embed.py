"""The static tier: a token table distilled from the real default model (MiniLM q8_0).

The full distillation (with its fit to 1,500 texts through the model) runs once per module
(~40 s on 2 idle CPU cores) into a private cache;
determinism is checked on a subset of the vocabulary (two full runs would double that).
Agreement with the transformer is measured on the first 300 functions and methods of
flask (evals/bench_static.py computes the same numbers, and more).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer.embed import Embedder, load_embedder
from indexer.embed import static as static_mod
from indexer.embed.convert import model_fingerprint, provision_default_model
from indexer.embed.distil import (
    LlamaTokenEncoder,
    NumpyTokenEncoder,
    Recipe,
    distil_table,
    encode_tokens,
)
from indexer.embed.static import StaticEmbedder, load_static_embedder, table_path
from indexer.embed.static_vocab import CASE_BOUNDARY, ModelVocab
from indexer.embed.wordpiece import TableVocab
from tests.model_marks import needs_model, needs_stdlib_source

pytestmark = needs_model

SUBSET = 2_000  # tokens distilled by the fast determinism tests


class CountingFactory:
    """Wraps `open_token_encoder` (the seam to the model) and records the encoders opened."""

    def __init__(self, make: Callable[[Path, int | None], Any]) -> None:
        self._make = make
        self.opened: list[Path] = []
        self.kinds: list[str] = []

    def __call__(self, path: Path, gpu_layers: int | None) -> Any:
        self.opened.append(path)
        encoder = self._make(path, gpu_layers)
        self.kinds.append(encoder.name)
        return encoder


class FakeTokenEncoder:
    """Deterministic stand-in for the transformer: a fixed pseudo-random vector per token."""

    name = "fake"

    def encode(self, seqs: Sequence[list[int]]) -> np.ndarray:
        middle = np.array([seq[len(seq) // 2] for seq in seqs], dtype=np.float64)
        vectors = np.sin(np.outer(middle + 1.0, np.arange(1, 33) * 0.37))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def close(self) -> None:
        pass


def write_tiny_decoder(path: Path) -> Path:
    """A random one-layer llama-architecture GGUF with a SentencePiece vocabulary (control,
    byte and normal tokens): a stand-in for decoder embedding models (Qwen3-Embedding...)."""
    import gguf

    rng = np.random.default_rng(0)
    words = ["\u2581def", "\u2581return", "\u2581self", "\u2581", "a", "e", "f", "s", "x", "("]
    pieces = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), *words]
    kinds = gguf.TokenType
    types = [kinds.UNKNOWN, kinds.CONTROL, kinds.CONTROL, *[kinds.BYTE] * 256]
    types += [kinds.NORMAL] * len(words)
    embd, ffn = 32, 64
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(128)
    writer.add_embedding_length(embd)
    writer.add_block_count(1)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(embd // 4)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(pieces)
    writer.add_token_scores([0.0] * 259 + [-float(i) for i in range(len(words))])
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    shapes = {
        "token_embd": (len(pieces), embd),
        "blk.0.attn_q": (embd, embd),
        "blk.0.attn_k": (embd, embd),
        "blk.0.attn_v": (embd, embd),
        "blk.0.attn_output": (embd, embd),
        "blk.0.ffn_gate": (ffn, embd),
        "blk.0.ffn_up": (ffn, embd),
        "blk.0.ffn_down": (embd, ffn),
    }
    for name, shape in shapes.items():
        writer.add_tensor(f"{name}.weight", (rng.standard_normal(shape) * 0.2).astype(np.float32))
    for name in ("output_norm", "blk.0.attn_norm", "blk.0.ffn_norm"):
        writer.add_tensor(f"{name}.weight", np.ones(embd, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def model_path() -> Path:
    return provision_default_model()


@pytest.fixture(scope="module")
def distilled(
    model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StaticEmbedder, Path, CountingFactory]]:
    """The real default model's static embedder, distilled into a private cache."""
    root = tmp_path_factory.mktemp("static-cache")
    counter = CountingFactory(static_mod.open_token_encoder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(static_mod, "open_token_encoder", counter)
        embedder = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    yield embedder, root, counter
    embedder.close()


@pytest.fixture(scope="module")
def flask_functions(corpus: Callable[[str], Path]) -> list[object]:
    from evals.bench_static import python_functions

    return python_functions(corpus("flask"))


def test_distilled_table_has_the_same_bytes_on_every_run_and_thread_count(
    model_path: Path,
) -> None:
    vocab = ModelVocab(model_path)
    tokens = vocab.distillable()[::13][:SUBSET]
    tables = []
    for threads in (1, 2):
        encoder = NumpyTokenEncoder(model_path, threads=threads)
        tables.append(distil_table(vocab, encoder, Recipe(), tokens=tokens))
        encoder.close()
    assert tables[0].dtype == np.float32 and tables[0].shape == (vocab.size, 256)
    assert tables[0].tobytes() == tables[1].tobytes()


def test_cache_key_follows_the_model_file_and_the_recipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_path: Path
) -> None:
    monkeypatch.setenv("SEXTANT_CACHE_DIR", str(tmp_path / "models"))
    f16 = provision_default_model("f16")
    counter = CountingFactory(lambda path, layers: FakeTokenEncoder())
    monkeypatch.setattr(static_mod, "open_token_encoder", counter)
    root = tmp_path / "static"
    q8 = load_static_embedder(model_path, cache_root=root)
    other = load_static_embedder(f16, cache_root=root)
    narrow = load_static_embedder(model_path, cache_root=root, recipe=Recipe(dims=16))
    assert counter.opened == [model_path, f16, model_path]
    paths = {
        table_path(p, model_fingerprint(p), r, root)
        for p, r in ((model_path, Recipe()), (f16, Recipe()), (model_path, Recipe(16)))
    }
    assert len(paths) == 3 and all(p.is_file() for p in paths)
    assert len({q8.model_id, other.model_id, narrow.model_id}) == 3
    assert narrow.dim == 16


def test_static_model_id_differs_from_the_transformers(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path
) -> None:
    static, _, _ = distilled
    transformer = load_embedder(model_path, gpu_layers=0)
    assert isinstance(static, Embedder)
    assert static.model_id != transformer.model_id
    assert static.model_id.startswith(model_path.stem)
    assert (static.dim, static.max_tokens) == (256, 256)


def test_second_load_reuses_the_cached_table_without_running_the_model(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
    model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    static, root, first = distilled
    assert len(first.opened) == 1
    again = CountingFactory(lambda path, layers: FakeTokenEncoder())
    monkeypatch.setattr(static_mod, "open_token_encoder", again)
    reloaded = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    assert again.opened == []
    assert reloaded.table.tobytes() == static.table.tobytes()


def test_releasing_the_vocabulary_drops_its_word_pieces_until_words_need_them_again(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
    model_path: Path,
) -> None:
    """A settled server drops the word-piece table (2.2 MB) that only edits' embeddings
    build; the next words to match build it again, and the vectors are the same."""
    _, root, _ = distilled
    embedder = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    vocab = embedder._vocab
    assert isinstance(vocab, TableVocab)
    text = "def reticulate_splines(frobnicator):\n    return unfrobnicated_quuxes + 1\n"
    first = embedder.embed_documents([text])
    assert vocab._pieces is not None
    embedder.release_vocab()
    embedder.release_words()
    assert vocab._pieces is None
    again = embedder.embed_documents([text])
    assert vocab._pieces is not None
    np.testing.assert_array_equal(first, again)


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="Linux /proc only")
def test_the_table_pages_words_read_are_released_and_read_again_with_the_same_vectors(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
    model_path: Path,
) -> None:
    """The table is the cache file's read-only mapping; the words a server embeds read rows
    all over it (12 MB after 200 calls on moby), which stayed counted in the process. A
    settled server releases them; the same words give the same vectors after."""
    from tests.traced import resident_kb_of

    _, root, _ = distilled
    embedder = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    path = table_path(model_path, model_fingerprint(model_path), Recipe(), root)
    words = " ".join(f"token_{i} frobnicate{i} reticulating splines {i}" for i in range(400))
    first = embedder.embed_documents([words, "restart the container after it exits"])
    assert resident_kb_of(path) > 0
    assert embedder.release_pages()
    assert resident_kb_of(path) == 0
    embedder.release_words()
    again = embedder.embed_documents([words, "restart the container after it exits"])
    np.testing.assert_array_equal(first, again)
    copied = StaticEmbedder(np.array(embedder.table), embedder._vocab, embedder.model_id)
    assert not copied.release_pages()  # a table in memory has nothing to release


def test_masks_are_read_from_the_tables_sidecar_and_recomputed_when_it_is_damaged(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
    model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A loading process (each parse worker, each one-shot search) reads the non-zero rows,
    word starts, whole words and token texts from the cached table's sidecar and embeds
    plain text without opening llama.cpp at all; a damaged sidecar is computed (through
    llama.cpp) and written again, with the same masks and vectors."""
    static, root, _ = distilled
    sidecar = table_path(model_path, model_fingerprint(model_path), Recipe(),
                         root).with_suffix(".masks.npz")
    assert sidecar.is_file()
    texts = ["def getHTTPServer(self, port):\n    return serve(port)", "x = parseURLQuery(q)"]
    want = static.embed_documents(texts)
    opened: list[Path] = []  # vocabularies opened through llama.cpp
    real = ModelVocab.__init__

    def counted(vocab: ModelVocab, path: Path | str) -> None:
        opened.append(Path(path))
        real(vocab, path)

    monkeypatch.setattr(ModelVocab, "__init__", counted)
    reloaded = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    got = reloaded.embed_documents(texts)  # new words: WordPiece in Python
    assert opened == []  # the sidecar's masks and token texts: no llama.cpp
    assert isinstance(reloaded._vocab, TableVocab) and not reloaded._vocab.opened_native
    assert np.array_equal(reloaded.nonzero, static.nonzero)
    assert np.array_equal(got, want)
    reloaded.embed_documents(["caf\u00e9 = r\u00e9sum\u00e9(x)"])  # a native word: llama.cpp
    assert reloaded._vocab.opened_native and len(opened) == 1
    sidecar.write_bytes(b"not an npz")
    repaired = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    assert len(opened) == 2
    with np.load(sidecar) as saved:
        assert saved["word_start"].shape == saved["token_ends"].shape == (static.table.shape[0],)
        starts = int(saved["word_start"].sum())
        assert 0 < len(saved["word_keys"]) <= starts
    assert np.array_equal(repaired.nonzero, np.asarray(static.table.any(axis=1)))
    assert np.array_equal(repaired.embed_documents(texts), want)
    again = load_static_embedder(model_path, gpu_layers=0, cache_root=root)
    assert np.array_equal(again.embed_documents(texts), want) and len(opened) == 2


def test_words_that_are_whole_tokens_need_no_wordpiece_and_give_the_same_vectors(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path,
    flask_functions: list[object], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A word new to the cache that is a whole token of the vocabulary (`container`,
    `x509`) takes that token's row without a llama.cpp call: every such word of the
    sidecar is that token alone in llama.cpp, and flask's functions get the same bytes
    with and without them."""
    static, _, _ = distilled
    vocab = ModelVocab(model_path)
    keys, tokens = static_mod._vocab_words(vocab)
    assert len(keys) > 15_000 and np.all(keys[1:] > keys[:-1])
    words = [vocab.text(int(t))[1:] for t in tokens]
    ids, offsets = vocab.words_ids_flat(words)
    assert np.array_equal(np.diff(offsets), np.ones(len(words)))
    assert np.array_equal(ids, tokens)
    texts = [f.text for f in flask_functions[:200]]  # type: ignore[attr-defined]
    plain = StaticEmbedder(static.table, ModelVocab(model_path), "plain")
    asked: list[str] = []
    real = ModelVocab.words_ids_flat

    def counted(vocab: ModelVocab, batch: list[str]) -> tuple[np.ndarray, np.ndarray]:
        asked.extend(batch)
        return real(vocab, batch)

    monkeypatch.setattr(ModelVocab, "words_ids_flat", counted)
    want = plain.embed_documents(texts)
    without = len(asked)
    asked.clear()
    known = StaticEmbedder(static.table, ModelVocab(model_path), "known",
                           vocab_words=(keys, tokens))
    assert np.array_equal(known.embed_documents(texts), want)
    assert set(asked).isdisjoint(words) and len(asked) < without / 2, (len(asked), without)


def test_non_ascii_text_is_summed_word_by_word_as_llama_cpp_tokenizes_it_whole(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Text with non-ASCII characters takes the word path too: a run of letters, digits and
    non-ASCII characters is one word, tokenized by llama.cpp alone and cached (WordPiece's
    pre-tokenizer splits at every ASCII space and punctuation, so alone it gets the tokens
    it gets in the text). Accents, CJK, a dash and quotes inside a run, NBSP, zero-width
    and combining characters, case changes next to non-ASCII letters, and a text past the
    window."""
    static, _, _ = distilled
    vocab = ModelVocab(model_path)
    texts = ["naïve café ünïcode getHTTPServer", "naïveString über—alles “quoted” déjàVu",
             "中文注释 getFoo 日本語テキスト", "İstanbul ﬁle ǅemal ß", "emoji 😀 x\u00a0y\u200bz",
             "e\u0301 combining", "Ünter ünter ÜNTER", "a\u2028b\u0085c", "mixéWord" * 120,
             "// Größe: " + "getValue(x) " * 200, "tab\tand\x0bvertical ü",
             "lone\ud800surrogate é", "——", "中文" * 600]
    native: list[str] = []
    real = ModelVocab.text_ids

    def counted(v: ModelVocab, text: str) -> np.ndarray:
        native.append(text)
        return real(v, text)

    monkeypatch.setattr(ModelVocab, "text_ids", counted)
    embedder = StaticEmbedder(static.table, ModelVocab(model_path), "utf8")
    vectors = embedder.embed_documents(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector, _rows_of(static, vocab, text), atol=2e-6), text[:80]
    assert "Gr\u00f6\u00dfe" in native and "na\u00efve String" in native  # words, not texts
    calls = len(native)
    assert np.array_equal(embedder.embed_documents(texts), vectors)  # cached: same bytes
    assert len(native) == calls + 2  # only the two runs that cross the limit, never cached
    vocab.close()
    embedder.close()


def test_a_damaged_cache_is_distilled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_path: Path
) -> None:
    counter = CountingFactory(lambda path, layers: FakeTokenEncoder())
    monkeypatch.setattr(static_mod, "open_token_encoder", counter)
    first = load_static_embedder(model_path, cache_root=tmp_path)
    target = table_path(model_path, model_fingerprint(model_path), Recipe(), tmp_path)
    target.write_bytes(target.read_bytes()[:1000])
    second = load_static_embedder(model_path, cache_root=tmp_path)
    assert len(counter.opened) == 2
    assert second.table.tobytes() == first.table.tobytes()


def test_special_and_placeholder_tokens_have_zero_rows(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path
) -> None:
    static, _, _ = distilled
    vocab = ModelVocab(model_path)
    kept = set(vocab.distillable().tolist())
    assert {0, 100, 101, 102, 103, 1, 998} & kept == set()  # [PAD] [UNK] [CLS] [SEP] [MASK]
    assert not static.table[[0, 100, 101, 102, 103, 1, 998]].any()
    punctuation = set(vocab.punctuation().tolist())
    assert {vocab.text(t) for t in punctuation} >= {"\u2581(", "\u2581.", "\u2581:", "\u2581_", "."}
    assert not static.table[sorted(punctuation)].any()
    assert np.linalg.norm(static.table[sorted(kept - punctuation)], axis=1).min() > 0


def test_punctuation_neither_adds_to_a_vector_nor_counts_against_the_limit(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
) -> None:
    static, _, _ = distilled
    code = "def get_item(self, key: str) -> Item:\n    return self._items[key.lower()]\n"
    words = "def get item self key str Item return self items key lower"
    assert np.array_equal(static.embed_documents([code]), static.embed_documents([words]))
    # past the limit: 300 words with punctuation between them read as the 300 words
    many = [f"w{i}" for i in range(300)]
    assert np.array_equal(static.embed_documents([", ".join(many) + "; x"]),
                          static.embed_documents([" ".join(many) + " x"]))
    # non-ASCII text goes to llama.cpp whole: the same rule there
    assert np.allclose(static.embed_documents(["café(x, y);"]),
                       static.embed_documents(["café x y"]), atol=2e-6)


def test_embeddings_are_unit_rows_and_a_query_is_its_document_row(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
) -> None:
    static, _, _ = distilled
    texts = [
        "def load_config(path):\n    return json.load(open(path))",
        "naïve café",
        "",
        "   ",
        "路由",
    ]  # the last: only [UNK] tokens for this vocabulary
    vectors = static.embed_documents(texts)
    assert vectors.shape == (5, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert not vectors[2:].any()
    assert np.array_equal(static.embed_query(texts[0]), vectors[0])
    assert static.embed_documents([]).shape == (0, 256)


def test_tokens_are_the_transformers_tokens_of_the_case_split_text_without_special_ones(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path
) -> None:
    from indexer.embed.gguf import GGUFEmbedder

    static, _, _ = distilled
    model = GGUFEmbedder(model_path, gpu_layers=0)
    for text in [
        "class Flask(App):\n    def route(self, rule: str, **options)",
        "word " * 100,
        "日本語のテキスト",
        "snake_case camelCase 0x1F",
    ]:
        # identifiers split at case changes first (`camelCase` -> camel Case)
        assert static.tokenize(text).tolist() == model.tokenize(CASE_BOUNDARY.sub(" ", text))[1:-1]
    model.close()


def test_word_by_word_tokens_equal_llama_cpps_whole_text_tokens_on_real_code(
    model_path: Path,
) -> None:
    """Plain-ASCII text is split into lines and words by Sextant and each word's ids come
    from a cache: the same ids as llama.cpp's tokenizer on the whole text, including at
    the truncation point, on repeated lines (cache hits) and on text it must hand over
    whole (non-ASCII, control characters)."""
    from indexer.embed.gguf import GGUFEmbedder

    vocab = ModelVocab(model_path)
    model = GGUFEmbedder(model_path, gpu_layers=0)
    root = Path(__file__).resolve().parent.parent
    sources = [p.read_text() for p in sorted((root / "indexer").rglob("*.py"))[:40]]
    texts = [s[i:i + 1500] for s in sources for i in range(0, min(len(s), 6000), 1500)]
    texts += [texts[0], "naïve café ünïcode", "tab\tand\x0bvertical\x0ctab", "$x+=1;a<b>c|d~e^f`g"]
    assert sum(t.isascii() for t in texts) > 100
    for text in texts:
        assert vocab.tokenize(text, 200).tolist() == model.tokenize(text)[1:-1][:200], text
    model.close()
    vocab.close()


def _rows_of(static: StaticEmbedder, vocab: ModelVocab, text: str) -> np.ndarray:
    """What a text's static vector must be: of llama.cpp's tokens of the text split at case
    changes, the first `max_tokens` with a non-zero row (no punctuation, symbols or special
    tokens), their table rows summed, L2-normalized."""
    ids = vocab._tokenize_native(CASE_BOUNDARY.sub(" ", text), 1 << 30)
    ids = ids[static.table[ids].any(axis=1)][: static.max_tokens]
    vector = static.table[ids].astype(np.float64).sum(axis=0)
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


def test_chunk_vectors_sum_cached_words_into_llama_cpps_tokens_on_real_code(
    model_path: Path, distilled: tuple[StaticEmbedder, Path, CountingFactory],
    flask_functions: list[object],
) -> None:
    """Plain-ASCII chunks are summed word by word from cached word vectors (each word's
    WordPiece tokens from llama.cpp once): on flask's functions and on texts past the
    model's window (the word at the limit is cut inside), the vector is that of llama.cpp's
    tokens of the same text; non-ASCII text goes to llama.cpp whole."""
    static, _, _ = distilled
    vocab = ModelVocab(model_path)
    embedder = StaticEmbedder(static.table, ModelVocab(model_path), "test")
    texts = [f.text for f in flask_functions[:400]]  # type: ignore[attr-defined]
    long = [t for t in texts if len(vocab.tokenize(t, 1 << 20)) > embedder.max_tokens]
    assert len(long) > 10  # the truncation point is exercised
    texts += ["naïve café ünïcode getHTTPServer", "tab\tand\x0bvertical", "", "x" * 9000]
    vectors = embedder.embed_documents(texts)
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector, _rows_of(static, vocab, text), atol=2e-6), text[:80]
    vocab.close()
    embedder.close()


def test_identifiers_are_read_as_their_words_split_at_case_changes(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path,
) -> None:
    """`getHTTPServer` reads as `get HTTP Server`, not WordPiece fragments of
    `gethttpserver`: camelCase code meets the words of a question about it."""
    static, _, _ = distilled
    vocab = ModelVocab(model_path)
    pairs = {"getHTTPServer": "get http server", "X509CertPool": "x509 cert pool",
             "parseURLQuery(rawQuery)": "parse url query(raw query)",
             "ABCdef snake_case": "ab cdef snake_case"}
    for code, words in pairs.items():
        assert static.tokenize(code).tolist() == vocab.tokenize(words, 64).tolist()
        assert np.array_equal(static.embed_documents([code]), static.embed_documents([words]))
    vocab.close()


def test_a_chunk_vector_does_not_depend_on_what_the_word_cache_held(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path,
    flask_functions: list[object], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Word vectors are cached (and the cache cleared when full): the same bytes for a text
    embedded alone in a fresh embedder, in one batch, and after the cache was cleared
    many times over."""
    static, _, _ = distilled
    texts = [f.text for f in flask_functions[:120]]  # type: ignore[attr-defined]
    batch = StaticEmbedder(static.table, ModelVocab(model_path), "a").embed_documents(texts)
    monkeypatch.setattr(static_mod, "_WORD_CACHE", 40)
    small = StaticEmbedder(static.table, ModelVocab(model_path), "b")
    for i in (*range(0, len(texts), 7), *range(len(texts) - 1, -1, -1)):
        assert np.array_equal(small.embed_documents([texts[i]])[0], batch[i])


def test_llama_cpp_and_numpy_give_the_same_token_vectors(model_path: Path) -> None:
    """The path every non-BERT model takes (llama.cpp) against the numpy encoder
    (measured min cosine 0.998 on q8_0, where llama.cpp also quantizes activations)."""
    vocab = ModelVocab(model_path)
    tokens = vocab.distillable()[::97]
    vectors = []
    for encoder in (NumpyTokenEncoder(model_path), LlamaTokenEncoder(model_path, 0)):
        vectors.append(encode_tokens(vocab, encoder, tokens))
        encoder.close()
    assert np.einsum("ij,ij->i", *vectors).min() > 0.99


def test_static_neighbours_agree_with_the_models(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
    flask_functions: list[object],
    model_path: Path,
) -> None:
    """Measured on the first 300 flask functions: 0.560 of each chunk's top-10 neighbours by
    static vectors are among its top-10 by the model's (0.532 without the recipe's fit to
    the model's vectors; random ranking: 0.036)."""
    from evals.bench_static import neighbour_agreement, random_agreement

    static, _, _ = distilled
    texts = [f.text for f in flask_functions[:300]]  # type: ignore[attr-defined]
    model_vectors = load_embedder(model_path, gpu_layers=0).embed_documents(texts)
    agreement = neighbour_agreement(static.embed_documents(texts), model_vectors)
    assert agreement >= 0.46
    assert random_agreement(model_vectors) < 0.06


@needs_stdlib_source
def test_the_fit_to_the_models_vectors_makes_docstrings_find_their_functions(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
    flask_functions: list[object],
    model_path: Path,
    tmp_path: Path,
) -> None:
    """flask's documented functions, the first sentence of the docstring as the query and
    every function without its docstring as the corpus: MRR@10 0.428 with the recipe's
    fit against 0.322 without it (the model itself: 0.487; evals/bench_static.py)."""
    from evals.bench_static import mrr_at_10

    fitted, _, _ = distilled
    unfitted = load_static_embedder(model_path, gpu_layers=0, cache_root=tmp_path,
                                    recipe=Recipe(fit=0))
    functions: list[Any] = flask_functions
    gold = [i for i, f in enumerate(functions) if f.query]
    scores = [
        mrr_at_10(e.embed_documents([functions[i].query for i in gold]),
                  e.embed_documents([f.stripped for f in functions]), gold)
        for e in (fitted, unfitted)
    ]
    assert scores[0] >= scores[1] + 0.05, scores
    assert fitted.model_id != unfitted.model_id and fitted.dim == unfitted.dim


def test_a_model_that_is_not_bert_is_distilled_through_llama_cpp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_tiny_decoder(tmp_path / "tiny-decoder.gguf")
    counter = CountingFactory(static_mod.open_token_encoder)
    monkeypatch.setattr(static_mod, "open_token_encoder", counter)
    static = load_static_embedder(path, gpu_layers=0, cache_root=tmp_path / "cache")
    again = load_static_embedder(path, gpu_layers=0, cache_root=tmp_path / "cache")

    assert counter.kinds == ["llama"]
    assert static.table.shape == (269, 32)  # PCA keeps at most the model's dimensions
    assert not static.table[[0, 1, 2]].any()  # <unk> <s> </s>
    assert (static.dim, static.max_tokens) == (32, 128)
    vectors = static.embed_documents(["def f(self): return x", ""])
    assert np.allclose(np.linalg.norm(vectors, axis=1), [1.0, 0.0], atol=1e-5)
    assert again.table.tobytes() == static.table.tobytes()


def test_a_process_that_loads_the_cached_table_embeds_plain_text_without_llama_cpp(
    distilled: tuple[StaticEmbedder, Path, CountingFactory], model_path: Path,
) -> None:
    """What a one-shot `sextant search` or a parse worker does: load the cached table and
    embed a query of plain text. llama.cpp's bindings are never imported, and the vector is
    the one the distilling process computes."""
    import json
    import subprocess
    import sys

    static, root, _ = distilled
    query = "where is the restart policy of a container decided getHTTPServer x509"
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from indexer.embed.static import load_static_embedder\n"
        f"e = load_static_embedder(Path({str(model_path)!r}), cache_root=Path({str(root)!r}),"
        " distil=False)\n"
        f"v = e.embed_query({query!r})\n"
        "sys.stdout.write(json.dumps(v.tolist()) + '\\n')\n"
        "sys.stdout.write(str('llama_cpp' in sys.modules) + '\\n')\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parent.parent)
    vector, imported = out.stdout.strip().splitlines()
    assert imported == "False", out.stderr
    assert np.array_equal(np.array(json.loads(vector), dtype=np.float32),
                          static.embed_query(query))


def test_released_words_are_computed_again_to_the_same_vectors(
    distilled: tuple[StaticEmbedder, Path, CountingFactory],
) -> None:
    """`release_words` (a server, after each batch of edits) empties the word cache; the
    next texts are summed from words computed again, to the same bytes."""
    static, _, _ = distilled
    texts = ["def getHTTPServer(self, port):\n    return serve(port)", "caf\u00e9 = menu(x)"]
    want = static.embed_documents(texts)
    assert static._words._size > 0
    static.release_words()
    assert static._words._size == 0
    assert np.array_equal(static.embed_documents(texts), want)
