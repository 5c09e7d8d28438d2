"""Step 4 of the static tier's recipe: the table fitted to the model's vectors of real code.

The arithmetic (`fit_table`) and the choice of training texts (`training_texts`) are tested
here without the model; `tests/test_static_embed.py` measures the fitted real table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.embed.distil import FIT_LINES, Recipe, fit_corpus_tag, fit_table, training_texts
from tests.model_marks import needs_stdlib_source


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_fitted_cosines_are_the_cosines_in_the_models_space() -> None:
    """When the model's vectors are a linear image of the static ones (Y = S A), the fitted
    table's vectors compare as their images do; the table keeps its shape, zero rows stay
    zero, and the same input gives the same bytes."""
    rng = np.random.default_rng(7)
    dims, model_dims = 16, 24
    table = rng.standard_normal((300, dims)).astype(np.float32)
    table[:3] = 0.0  # special tokens
    mapping = rng.standard_normal((dims, model_dims))
    static = _unit(rng.standard_normal((500, dims)))
    model = static @ mapping
    fitted = fit_table(table, static, model, ridge=1e-9)
    assert fitted.shape == table.shape and fitted.dtype == np.float32
    assert not fitted[:3].any()
    x = table[3:50].astype(np.float64)
    expected = _unit(x @ mapping) @ _unit(x @ mapping).T
    got = _unit(fitted[3:50].astype(np.float64)) @ _unit(fitted[3:50].astype(np.float64)).T
    assert np.abs(got - expected).max() < 1e-4
    plain = _unit(x) @ _unit(x).T
    assert np.abs(plain - expected).max() > 0.1  # the fit changed what is near what
    assert fit_table(table, static, model, ridge=1e-9).tobytes() == fitted.tobytes()


def test_a_model_with_fewer_dimensions_than_the_table_still_fits() -> None:
    rng = np.random.default_rng(3)
    table = rng.standard_normal((50, 12)).astype(np.float32)
    static = _unit(rng.standard_normal((200, 12)))
    model = _unit(static @ rng.standard_normal((12, 5)))
    fitted = fit_table(table, static, model)
    assert fitted.shape == (50, 12) and np.isfinite(fitted).all()


def test_training_texts_are_distinct_library_pieces_chosen_by_their_hash(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    (lib / "pkg").mkdir(parents=True)
    (lib / "test").mkdir()
    (lib / "pkg" / "site-packages").mkdir()
    code = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(60))
    (lib / "pkg" / "a.py").write_text(code)
    (lib / "b.py").write_text(code)  # the same pieces again: kept once
    (lib / "c.py").write_text("\n" * 40 + "x = 1\n")  # mostly blank: never a piece
    (lib / "test" / "t.py").write_text("def test_x():\n    assert True\n" * 30)
    (lib / "pkg" / "site-packages" / "v.py").write_text("vendored = 1\n" * 30)
    (lib / "notes.txt").write_text("not python\n" * 30)

    texts = training_texts(1000, root=lib)
    assert len(texts) == len(set(texts)) == 10  # 120 lines of a.py in pieces of 12
    assert all(t.count("\n") == FIT_LINES for t in texts)
    assert not any("test_x" in t or "vendored" in t or "x = 1" in t for t in texts)
    assert training_texts(1000, root=lib) == texts
    assert training_texts(4, root=lib) == texts[:4]
    assert texts != sorted(texts, key=code.index)  # a hash order, not the file order
    assert training_texts(10, root=tmp_path / "missing") == []


@needs_stdlib_source
def test_the_real_standard_library_gives_the_texts_the_recipe_asks_for() -> None:
    texts = training_texts(Recipe().fit)
    assert len(texts) == Recipe().fit
    assert all(2 * sum(1 for row in t.splitlines() if row.strip()) >= FIT_LINES for t in texts)


def test_the_recipe_key_names_the_fit_and_its_corpus() -> None:
    assert fit_corpus_tag().startswith("py3.")
    assert Recipe().key.endswith(f"-fit{Recipe().fit}-{fit_corpus_tag()}")
    assert "fit" not in Recipe(fit=0).key
    assert len({Recipe().key, Recipe(fit=0).key, Recipe(fit=10).key}) == 3
    with pytest.raises(ValueError):
        Recipe(fit=-1)
