"""The embedding seam: HashingEmbedder and load_embedder (no native model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.embed import Embedder, HashingEmbedder, ModelUnavailableError, load_embedder
from indexer.embed.protocol import EmbedderError, gpu_layers_from_env
from indexer.lexical.bm25 import identifier_tokens


def test_hashing_spec_gives_the_fake_through_the_real_factory() -> None:
    embedder = load_embedder("hashing", gpu_layers=None)

    assert isinstance(embedder, HashingEmbedder)
    assert isinstance(embedder, Embedder)
    assert embedder.dim == 64


def test_hashing_spec_accepts_a_dimension() -> None:
    assert load_embedder("hashing:128").dim == 128


def test_sextant_model_env_selects_the_embedder_when_spec_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEXTANT_MODEL", "hashing")

    assert isinstance(load_embedder(None), HashingEmbedder)


def test_missing_model_path_raises_a_helpful_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="SEXTANT_MODEL"):
        load_embedder(tmp_path / "nope.gguf", gpu_layers=0)


def test_hashing_vectors_are_unit_length_float32_and_deterministic() -> None:
    embedder = HashingEmbedder()
    texts = ["def get_user_name(user_id):", "class HttpClient: pass"]

    first = embedder.embed_documents(texts)
    second = HashingEmbedder().embed_documents(texts)

    assert first.dtype == np.float32
    assert first.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(first, second)


def test_texts_sharing_identifiers_are_more_similar_than_unrelated_ones() -> None:
    embedder = HashingEmbedder()
    query = embedder.embed_query("getUserName")
    docs = embedder.embed_documents(["def get_user_name(self): ...", "parse http headers"])

    scores = docs @ query

    assert scores[0] > scores[1]


def test_fake_records_each_batch_and_query_for_cache_assertions() -> None:
    embedder = HashingEmbedder()

    embedder.embed_documents(["a", "b"])
    embedder.embed_documents(["c"])
    embedder.embed_query("q")

    assert embedder.calls == [["a", "b"], ["c"]]
    assert embedder.query_calls == ["q"]


def test_empty_text_and_empty_batch_are_handled() -> None:
    embedder = HashingEmbedder()

    assert embedder.embed_documents([]).shape == (0, 64)
    assert not embedder.embed_query("").any()


def test_identifier_tokens_split_camel_and_snake_case_and_keep_whole_words() -> None:
    assert identifier_tokens("getUserName") == ["get", "user", "name", "getusername"]
    assert identifier_tokens("get_user_name") == ["get", "user", "name", "getusername"]
    assert identifier_tokens("HTTPServer2 x") == ["http", "server", "2", "httpserver2", "x"]


def test_gpu_layers_env_must_be_an_integer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_GPU_LAYERS", "lots")

    with pytest.raises(EmbedderError, match="SEXTANT_GPU_LAYERS"):
        gpu_layers_from_env()


def test_batches_are_packed_longest_first_within_token_and_sequence_limits() -> None:
    from indexer.embed.batching import pack_batches

    lengths = [10, 250, 30, 240, 5, 5, 5]

    batches = pack_batches(lengths, max_tokens=256, max_seqs=3)

    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches[0] == [1]
    assert all(sum(lengths[i] for i in b) <= 256 and len(b) <= 3 for b in batches)
    assert [len(b) for b in batches] == [1, 1, 3, 2]


def test_a_text_longer_than_the_batch_gets_a_batch_of_its_own() -> None:
    from indexer.embed.batching import pack_batches

    assert pack_batches([600, 10], max_tokens=512, max_seqs=8) == [[0], [1]]


def test_physical_cores_is_at_least_one() -> None:
    from indexer.embed.batching import physical_cores

    assert physical_cores() >= 1
