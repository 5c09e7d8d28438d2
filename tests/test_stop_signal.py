"""A stop signal reaches the background work at the signal, not when the server's lifespan
ends: between the two a model load may finish, and nothing may start after the signal
(issue 19, item 8; CI once saw "embedding 2016 chunks" logged after "shutting down")."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pytest

from indexer.build import index_repository
from indexer.live import LiveIndex, LiveOptions
from mcp_server.http import uvicorn_server
from mcp_server.runtime import Runtime
from tests.mcp_helpers import server_settings


def _tiny_repo(root: Path) -> Path:
    root.mkdir()
    for i in range(4):
        (root / f"m{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    return root


def test_a_stop_requested_before_embedding_starts_embeds_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="indexer.live.embedding")
    root = _tiny_repo(tmp_path / "repo")
    with LiveIndex.open(root, tmp_path / "idx", LiveOptions(model="hashing")) as live:
        index_repository(live.index)
        live.attach_model()
        live.request_stop()
        live.embed_pending()
        assert live.embedder is not None
        assert live.embedder.calls == []  # type: ignore[attr-defined]
        assert live.embedding.state == "partial"
    # not even announced: the server's log says nothing started after the signal
    assert not any("chunks without a vector" in r.getMessage() for r in caplog.records)


def test_sigterm_handler_tells_the_runtimes_live_index_to_stop_at_once(tmp_path: Path) -> None:
    root = _tiny_repo(tmp_path / "repo")
    runtime = Runtime(server_settings(root, tmp_path / "idx"))
    live = runtime.acquire()
    try:
        assert not live.stopping
        web = uvicorn_server(lambda *_: None, runtime.shutting_down)  # type: ignore[arg-type]
        web.handle_exit(signal.SIGTERM, None)
        assert web.should_exit
        assert live.stopping  # set in the handler, before any lifespan shutdown
    finally:
        runtime.release()


def test_sigterm_handler_of_a_workspace_tells_every_repositorys_live_index_to_stop(
        tmp_path: Path) -> None:
    from mcp_server.settings import Settings
    from mcp_server.workspace import LocalShards, WorkspaceRuntime, load_workspace

    file = tmp_path / "workspace.toml"
    file.write_text("".join(
        f'[[repo]]\nname = "{name}"\npath = "{_tiny_repo(tmp_path / name)}"\n'
        f'index_dir = "{tmp_path / ("idx-" + name)}"\n\n' for name in ("a", "b")))
    settings = Settings(root=tmp_path, watch=False, embed=False, model="hashing")
    shards = LocalShards(load_workspace(file), settings)
    shards.open()
    try:
        lives = [runtime.live for runtime in shards.runtimes.values()]
        assert len(lives) == 2 and all(live is not None and not live.stopping for live in lives)
        web = uvicorn_server(lambda *_: None,  # type: ignore[arg-type]
                             WorkspaceRuntime(settings, shards).shutting_down)
        web.handle_exit(signal.SIGTERM, None)
        assert all(live is not None and live.stopping for live in lives)
    finally:
        shards.close()


async def test_stdin_closing_tells_the_runtime_to_stop_before_the_server_shuts_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin closing ends a stdio server as a signal would: the runtime hears of it before
    the lifespan ends (`make run` on flask logged a model load starting after "shutting
    down", then abandoned)."""
    import anyio

    from mcp_server import serve
    from mcp_server.http import bind_socket

    heard: list[bool] = []

    class Recording(Runtime):
        def shutting_down(self) -> None:
            heard.append(self.live is not None and not self.live.stopping)
            super().shutting_down()

    real_build = serve.build_server

    def at_eof(settings: object, runtime: Runtime) -> object:
        server = real_build(settings, runtime)  # type: ignore[arg-type]

        async def stdin_closed() -> None:
            await anyio.to_thread.run_sync(runtime.ready.wait, 60)

        server.run_stdio_async = stdin_closed  # type: ignore[method-assign]
        return server

    monkeypatch.setattr(serve, "Runtime", Recording)
    monkeypatch.setattr(serve, "build_server", at_eof)
    settings = server_settings(_tiny_repo(tmp_path / "repo"), tmp_path / "idx")
    with anyio.fail_after(120):
        await serve._run(settings, settings, bind_socket("127.0.0.1", 0))
    assert heard == [True]  # once, while the live index was still open and running
