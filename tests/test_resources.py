"""Resources (overview, status, directory summaries) and their update notifications."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import INVALID_PARAMS, ResourceUpdatedNotification, TextResourceContents

from mcp_server.runtime import Runtime
from mcp_server.server import build_server
from tests.mcp_helpers import build_index, call, connected, server_settings


def make_repo(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "README.md").write_text("# Demo\n\nA tiny demo repository for resource tests.\n")
    (root / "pkg" / "core.py").write_text(
        "def handle(request):\n    '''Handle one request.'''\n    return request\n")
    return root


def text_of(contents: object) -> str:
    assert isinstance(contents, TextResourceContents)
    return contents.text


async def test_resources_list_overview_status_and_the_summary_template(tmp_path: Path) -> None:
    settings = server_settings(make_repo(tmp_path / "repo"), tmp_path / "idx", embed=False)
    async with connected(settings) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"sextant://overview", "sextant://status"} <= uris
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["sextant://summary/{+path}"]

        status = json.loads(text_of((await client.read_resource("sextant://status")).contents[0]))
        assert status["files"] == 2 and status["languages"]["python"] == 1
        overview = text_of((await client.read_resource("sextant://overview")).contents[0])
        assert "files: 2" in overview and "# Repository repo" in overview
        summary = text_of((await client.read_resource("sextant://summary/pkg")).contents[0])
        assert "pkg" in summary and "handle" in summary
        # a directory that does not exist: invalid params, saying so (was -32603, "Error
        # creating resource from template")
        with pytest.raises(MCPError) as refused:
            await client.read_resource("sextant://summary/no/such/dir")
        assert refused.value.error.code == INVALID_PARAMS
        assert "no/such/dir" in refused.value.error.message


async def test_a_listening_client_is_told_when_reindexing_changes_a_resource(
        tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    settings = server_settings(root, tmp_path / "idx", embed=False)
    async with connected(settings) as client:
        async with client.listen(resource_subscriptions=["sextant://status"]) as events:
            (root / "pkg" / "extra.py").write_text("def extra():\n    return 1\n")
            out = await call(client, "reindex")
            assert out["indexed"] == 1
            with anyio.fail_after(60):
                event = await events.__anext__()
            assert getattr(event, "uri", None) == "sextant://status"
        status = json.loads(text_of(
            (await client.read_resource("sextant://status", cache_mode="refresh")).contents[0]))
        assert status["files"] == 3


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_a_2025_era_client_subscribed_to_a_resource_gets_resources_updated(
        tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    settings = server_settings(root, tmp_path / "idx", embed=False)
    runtime = Runtime(settings)
    updated: list[str] = []
    got = anyio.Event()

    async def on_message(message: object) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updated.append(str(message.params.uri))
            got.set()

    server = build_server(settings, runtime)
    async with Client(server, mode="legacy", message_handler=on_message) as client:
        with anyio.fail_after(60):
            await anyio.to_thread.run_sync(runtime.ready.wait, abandon_on_cancel=True)
        assert client.server_capabilities.resources is not None
        assert client.server_capabilities.resources.subscribe
        with pytest.warns(MCPDeprecationWarning):
            await client.subscribe_resource("sextant://summary/pkg")
        (root / "pkg" / "extra.py").write_text("def extra():\n    return 1\n")
        await call(client, "reindex")
        with anyio.fail_after(60):
            await got.wait()
    assert "sextant://summary/pkg" in updated


async def test_summary_template_completes_directory_paths(
        corpus: Callable[[str], Path], tmp_path: Path) -> None:
    from mcp.types import ResourceTemplateReference

    root = corpus("flask")
    build_index(root, tmp_path / "idx")
    async with connected(server_settings(root, tmp_path / "idx")) as client:
        result = await client.complete(
            ResourceTemplateReference(uri="sextant://summary/{+path}"),
            {"name": "path", "value": "src/fl"})
    values = result.completion.values
    assert values[0] == "src/flask" and "src/flask/sansio" in values
    assert all(v.startswith("src/fl") for v in values)
