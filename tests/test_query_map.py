"""The repository's query map (`indexer.live.query_map`): the examples it is fitted on, the
fit itself, its life in a live index, and what it does with the real model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexer.build import index_repository
from indexer.live import LiveIndex, LiveOptions
from indexer.live import query_map as qm
from tests.model_marks import needs_model
from tools.search import retrieve, search_code

# -- examples --------------------------------------------------------------------------------


def test_a_sentence_is_the_first_of_the_first_paragraph_without_the_leading_name() -> None:
    assert qm.first_sentence("Render writes the response body. It may panic.", "Render") == (
        "writes the response body.")
    assert qm.first_sentence("Open the file\nand read it all.\n\nMore here.", "f") == (
        "Open the file and read it all.")
    assert qm.first_sentence("Does a thing.", "f") == ""  # fewer than four words
    assert qm.first_sentence("Deprecated: use the new client instead.", "f") == ""


def test_the_code_of_an_example_is_its_chunk_without_the_docstring_lines() -> None:
    py = ('def load(path):\n    """Read the settings file at path.\n\n    Missing keys keep '
          'their defaults.\n    """\n    return parse(open(path).read())')
    doc = "Read the settings file at path.\n\nMissing keys keep their defaults."
    assert qm.without_doc(py, doc) == "def load(path):\n    return parse(open(path).read())"
    one = 'def f():\n    """Return the answer to everything."""\n    return 42'
    assert qm.without_doc(one, "Return the answer to everything.") == "def f():\n    return 42"
    go = ("// Render writes the response body\n// and sets its status.\n"
          "func (c *Context) Render(code int) {\n\tc.Status(code)\n}")
    assert qm.without_doc(go, "Render writes the response body\nand sets its status.") == (
        "func (c *Context) Render(code int) {\n\tc.Status(code)\n}")
    assert qm.without_doc("def f():\n    return 1", "Something else entirely.") is None


# -- the fit ---------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_the_fitted_map_carries_new_questions_to_their_code() -> None:
    """Questions are a fixed distortion of their code's vectors plus noise: nearest code by
    the raw question is often wrong; after a map fitted on other pairs, it is right far more
    often (pairs the fit never saw)."""
    rng = np.random.default_rng(0)
    dim, n = 64, 400
    code = _unit(rng.normal(size=(n, dim)))
    twist = np.eye(dim) + 3.0 * rng.normal(size=(dim, dim)) / np.sqrt(dim)
    questions = _unit(code @ twist + 0.3 * rng.normal(size=(n, dim)))
    train, test = np.arange(300), np.arange(300, n)
    others = _unit(rng.normal(size=(200, dim)))
    matrix = qm.fit_matrix(questions[train], code[train], others, [-1] * len(train))

    def hits(q: np.ndarray) -> float:
        return float(np.mean(np.argmax(q @ code[test].T, axis=1) == np.arange(len(test))))

    before = hits(questions[test])
    after = hits(_unit(questions[test] @ matrix))
    assert before < 0.6 and after > before + 0.3, (before, after)  # 0.40 -> 0.91
    assert np.isfinite(matrix).all() and matrix.dtype == np.float32


def test_a_pairs_own_chunk_is_not_a_negative() -> None:
    """The pair's own documented chunk is the same function: excluded, the fit does not push
    the question away from it (that chunk sits next to the target)."""
    rng = np.random.default_rng(1)
    dim, n = 32, 80
    code = _unit(rng.normal(size=(n, dim)))
    questions = _unit(code + 0.5 * rng.normal(size=(n, dim)) / np.sqrt(dim))
    twins = _unit(code + 0.05 * rng.normal(size=(n, dim)))
    kept = qm.fit_matrix(questions, code, twins, list(range(n)))
    pushed = qm.fit_matrix(questions, code, twins, [-1] * n)

    def own(m: np.ndarray) -> float:
        return float(np.mean(np.sum(_unit(questions @ m) * twins, axis=1)))

    assert own(kept) > own(pushed)


# -- in a live index -------------------------------------------------------------------------


@pytest.fixture
def map_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(qm.ENV, "1")


def _documented_repo(root: Path, functions: int) -> Path:
    root.mkdir()
    topics = ["cache", "socket", "parser", "token", "session", "cookie", "header", "route",
              "template", "logger", "signal", "config"]
    verbs = ["Open", "Close", "Read", "Write", "Check", "Build", "Reset", "Merge"]
    lines = []
    for i in range(functions):
        topic, verb = topics[i % len(topics)], verbs[(i // len(topics)) % len(verbs)]
        lines += [f"def {verb.lower()}_{topic}_{i}(value):",
                  f'    """{verb} the {topic} for request number {i} and keep the result."""',
                  f"    return value + {i}", ""]
    (root / "app.py").write_text("\n".join(lines))
    return root


def _live(root: Path, index_dir: Path) -> LiveIndex:
    live = LiveIndex.open(root, index_dir, LiveOptions(model="hashing"))
    index_repository(live.index)
    live.attach_model()
    return live


def test_a_live_index_fits_its_map_once_the_model_tier_covers_it(tmp_path: Path, map_on: None) -> None:
    root = _documented_repo(tmp_path / "repo", 60)
    with _live(root, tmp_path / "idx") as live:
        assert live.query_map is None  # not before the model tier is complete
        live.embed_pending()
        assert live.embedding.state == "complete"
        qmap = live.query_map
        assert qmap is not None and qmap.pairs == 60 and qmap.documented == 60
        assert qm.map_path(live.index.paths.dir).exists()
        got = retrieve(live, "reset the session for a request", k=10)
        assert got.ranked["mapped"] and got.ranked["semantic"]
        hits = search_code(live, "reset the session for a request", k=10).results
        assert any("mapped" in h.matched_by for h in hits), hits
        from tools.status import index_status

        assert index_status(live).query_map == {"pairs": 60, "fitted_at": round(qmap.fitted_at, 3)}
        live.embed_pending()  # nothing changed: not fitted again
        assert live.query_map is qmap
    with _live(root, tmp_path / "idx") as live:  # a restart reads it back
        assert live.query_map is not None
        assert live.query_map.fitted_at == qmap.fitted_at
        assert np.array_equal(live.query_map.matrix, qmap.matrix)


def test_a_map_is_fitted_again_when_the_documented_functions_move(tmp_path: Path, map_on: None) -> None:
    root = _documented_repo(tmp_path / "repo", 40)
    with _live(root, tmp_path / "idx") as live:
        live.embed_pending()
        first = live.query_map
        assert first is not None and first.pairs == 40
        (root / "more.py").write_text("\n".join(
            f'def extra_{i}(x):\n    """Compute the extra weight {i} of a heavy cargo box."""'
            f"\n    return x * {i}\n" for i in range(20)))
        index_repository(live.index)
        live.embed_pending()
        assert live.query_map is not None and live.query_map.pairs == 60
        assert live.query_map.fitted_at >= first.fitted_at


def test_too_few_documented_functions_fit_no_map(tmp_path: Path, map_on: None) -> None:
    root = _documented_repo(tmp_path / "repo", qm.MIN_PAIRS - 1)
    with _live(root, tmp_path / "idx") as live:
        live.embed_pending()
        assert live.embedding.state == "complete" and live.query_map is None
        assert "mapped" not in retrieve(live, "open the cache", k=10).ranked


@pytest.mark.parametrize("setting", [None, "0"])
def test_the_map_is_off_unless_turned_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        setting: str | None) -> None:
    """Off by default: in hybrid search it moved the held-out docstring sets nowhere and
    lowered commit -> files (docs/evals.md); a map fitted while it was on is not used."""
    if setting is None:
        monkeypatch.delenv(qm.ENV, raising=False)
    else:
        monkeypatch.setenv(qm.ENV, setting)
    root = _documented_repo(tmp_path / "repo", 40)
    with _live(root, tmp_path / "idx") as live:
        live.embed_pending()
        assert live.query_map is None and not qm.map_path(live.index.paths.dir).exists()
        assert "mapped" not in retrieve(live, "open the cache", k=10).ranked
    with monkeypatch.context() as on:
        on.setenv(qm.ENV, "1")
        with _live(root, tmp_path / "idx") as live:
            live.embed_pending()
            assert live.query_map is not None
    with _live(root, tmp_path / "idx") as live:  # off again: the saved map stays unused
        assert live.query_map is None
        assert "mapped" not in retrieve(live, "open the cache", k=10).ranked


@pytest.mark.parametrize("damage", [b"not a numpy file", b""])
def test_a_damaged_map_file_is_ignored_and_fitted_again(tmp_path: Path, damage: bytes,
                                                       map_on: None) -> None:
    root = _documented_repo(tmp_path / "repo", 40)
    with _live(root, tmp_path / "idx") as live:
        live.embed_pending()
        path = qm.map_path(live.index.paths.dir)
    path.write_bytes(damage)
    with _live(root, tmp_path / "idx") as live:
        assert live.query_map is None  # nothing usable was read
        live.embed_pending()
        assert live.query_map is not None and live.query_map.pairs == 40
        assert qm.load(path, live.query_map.model_id, live.query_map.matrix.shape[0])


def test_a_map_of_another_model_or_shape_is_not_used(tmp_path: Path) -> None:
    good = qm.QueryMap(np.eye(8, dtype=np.float32), "model-a", 40, 40, 1.0)
    path = tmp_path / qm.FILE_NAME
    qm.save(good, path)
    assert qm.load(path, "model-a", 8) is not None
    assert qm.load(path, "model-b", 8) is None
    assert qm.load(path, "model-a", 16) is None
    qm.save(qm.QueryMap(np.full((8, 8), np.nan, dtype=np.float32), "model-a", 40, 40, 1.0),
            path)
    assert qm.load(path, "model-a", 8) is None


# -- with the real model ---------------------------------------------------------------------


@needs_model
def test_with_the_model_the_map_finds_functions_whose_docstring_was_taken_out(
        corpus: Callable[[str], Path], tmp_path: Path, map_on: None) -> None:
    """flask's package with 40 docstrings taken out (the docstring set's own sampling): the
    model tier's neighbours of each first sentence, before and after the query map fitted
    on the docstrings left, scored as docstring -> function is (MRR@10 of a result that
    shows the function)."""
    from evals.sets.docstrings import build
    from tools.retrieval_metrics import Span, covers

    queries = build(corpus("flask") / "src", tmp_path / "tree", 40, 1, "flask", ("python",))
    live = LiveIndex.open(tmp_path / "tree", tmp_path / "idx", LiveOptions())
    with live:
        index_repository(live.index)
        live.attach_model()
        live.embed_pending()
        assert live.query_map is not None and live.query_map.pairs >= qm.MIN_PAIRS
        assert live.vectors is not None and live.embedder is not None
        rows = live.store.query("SELECT c.chunk_id, f.path, c.start_line, c.end_line "
                                "FROM chunks c JOIN files f USING (file_id)")
        spans = {r[0]: Span(r[1], r[2], r[3]) for r in rows}

        def mrr(mapped: bool) -> float:
            total = 0.0
            for q in queries:
                vec = live.embedder.embed_query(q.text)
                if mapped:
                    vec = live.query_map.apply(vec)
                ranked = [spans[k] for k, _ in live.vectors.search(vec, 10)]
                total += next((1 / r for r, s in enumerate(ranked, 1)
                               if covers(s, q.gold[0])), 0.0)
            return total / len(queries)

        plain, mapped = mrr(False), mrr(True)
        assert mapped > plain + 0.06, (plain, mapped)  # 0.432 -> 0.553 when written
