"""`tools/list` is read at the start of every session: it stays lean and still describes the
tools exactly (the answers validate against the published output schemas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.mcp_helpers import build_index, call, connected, server_settings


def _walk(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        return [schema, *(s for v in schema.values() for s in _walk(v))]
    if isinstance(schema, list):
        return [s for v in schema for s in _walk(v)]
    return []


async def test_tools_list_has_no_titles_no_null_unions_and_one_line_descriptions_yet_answers_validate(
        tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "shop.py").write_text(
        "def checkout(cart):\n    \"\"\"Charge the cart's total.\"\"\"\n    return sum(cart)\n")
    build_index(root, tmp_path / "idx")
    async with connected(server_settings(root, tmp_path / "idx", embed=False)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for tool in tools.values():
            assert tool.description and "\n" not in tool.description and "  " not in tool.description
            for node in _walk(tool.input_schema) + _walk(tool.output_schema):
                assert "title" not in node or isinstance(node["title"], dict), tool.name
                assert not (isinstance(node.get("anyOf"), list)
                            and {"type": "null"} in node["anyOf"]
                            and all("type" in o for o in node["anyOf"])), (tool.name, node)
        language = tools["search_code"].input_schema["properties"]["language"]
        assert language["type"] == ["string", "null"] and language["maxLength"] == 40
        assert "default" not in language  # absent is null
        out = await call(client, "search_code", query="charge the cart", k=3)
        assert out["results"] and out["results"][0]["symbol"] == "checkout"
        jsonschema.validate(out, tools["search_code"].output_schema)
        status = await call(client, "index_status")
        jsonschema.validate(status, tools["index_status"].output_schema)
        with_null = json.loads(json.dumps(out)) | {"omitted": None}
        jsonschema.validate(with_null, tools["search_code"].output_schema)
