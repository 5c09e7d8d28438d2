"""A batch that leaves many chunks without a model vector (a checkout, a reconcile) is
embedded in the background; the applier goes on to the next batch.

A damage test found that with the model tier on, a branch switch held every later edit back
until the switch's whole embedding backlog was done: the applier embedded it before taking
the next batch (3 min 38 s on flask, `pending_files` 602 throughout). An edit's few chunks
are still embedded at once, so the search right after it has them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.build import index_repository
from indexer.disk import IndexPaths, RepoIndex
from indexer.embed.protocol import HashingEmbedder
from indexer.live import LiveIndex, LiveOptions
from indexer.live.embedding import open_vectors, without_vectors
from indexer.live.index import EMBED_INLINE

WAIT_S = 60.0  # bounds a wait that would otherwise hang; a healthy one takes milliseconds


class GatedEmbedder(HashingEmbedder):
    """Embeds in the background pass only once `gate` is set (the model at work on a long
    backlog); anywhere else at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if threading.current_thread().name == "sextant-embed":
            assert self.gate.wait(WAIT_S)
        return super().embed_documents(texts)


def _module(n: int) -> str:
    body = "".join(f"    part_{j} = request.args.get('field_{j}', {j})\n" for j in range(12))
    return "".join(f"def handler_{n}_{i}(request):\n{body}    return request.path_{i}\n\n\n"
                   for i in range(12))


def test_a_backlog_is_embedded_in_the_background_and_an_edit_at_once(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "small.py").write_text(_module(0))
    index = RepoIndex(IndexPaths.for_repo(root))
    index_repository(index)
    live = LiveIndex(index, LiveOptions())
    embedder = GatedEmbedder()
    live.embedder, live.vectors = embedder, open_vectors(index, embedder)
    try:
        for n in range(1, 40):  # a checkout: far more chunks than an edit's
            (root / f"views_{n}.py").write_text(_module(n))
        applied = threading.Thread(target=live.apply, args=([], set(), True))
        applied.start()
        applied.join(WAIT_S)
        assert not applied.is_alive()  # returned while the backlog waits for the model
        backlog = without_vectors(index, live.vectors, embedder, None)
        assert len(backlog) > EMBED_INLINE

        embedder.gate.set()
        deadline = threading.Event()
        for _ in range(int(WAIT_S / 0.05)):
            if live.embedding.state == "complete" and not without_vectors(
                    index, live.vectors, embedder, None):
                break
            deadline.wait(0.05)
        assert not without_vectors(index, live.vectors, embedder, None)

        (root / "small.py").write_text(_module(0) + "def added_now():\n    return 1\n")
        live.apply(["small.py"], set(), False)
        ids = index.store.chunk_ids_for_paths(["small.py"])
        assert ids and all(live.vectors.contains(i) for i in ids)  # embedded by the apply
    finally:
        embedder.gate.set()
        live.close()
