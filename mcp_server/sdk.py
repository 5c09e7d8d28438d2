"""What Sextant adds to the SDK's `MCPServer`: its version, and prompt errors as -32602.

- `serverInfo.version` is the installed package's version (`package_version`).
- `tools/list` is lighter (it is read at the start of every session): pydantic's generated
  `title` of every schema and property is dropped (it repeats the name); an optional value
  is `"type": ["string", "null"]` rather than an `anyOf` of two schemas (the same schema);
  descriptions are on one line (no docstring indentation); an optional parameter whose
  default is null has no `default` (absent is null); output schemas keep their types
  and structure without descriptions, defaults and `required` lists (the text content and
  the docs explain the fields; validation is unchanged: the SDK validates results against
  the models themselves).
- `tools/call` with arguments that fail the input schema is a tool error saying, one line
  per argument, which one and what is wrong with it (the SDK sends pydantic's report:
  `1 validation error for search_codeArguments`, the input echoed, a link to its docs).
  An argument the tool does not take is such an error too (the SDK drops it unread: a
  misspelt name silently gave the default), with the nearest name it takes; the input
  schemas say `additionalProperties: false`.
  That error, and a tool's own refusal of an argument (`InvalidArguments`), carry
  `_meta` `{INVALID_ARGUMENTS_META: true}`: the CLI asking a live server exits 2 for them
  (a usage error), as it does when it answers from the index itself.
- `prompts/get` with an unknown name or without a required argument is a client mistake:
  JSON-RPC error -32602 (invalid params), as the SDK answers an unknown resource. The SDK
  itself raises a ValueError there, which reaches the client as code 0 (2025-era session)
  or -32603 (internal error).
"""

from __future__ import annotations

import difflib
import functools
import logging
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    TextContent,
    Tool,
)
from pydantic import ValidationError

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
log = logging.getLogger(__name__)
# `_meta` key of a tool error result whose arguments are invalid
INVALID_ARGUMENTS_META = "sextant/invalid_arguments"


class InvalidArguments(ToolError):
    """A tool refused an argument (`tools.errors.ArgumentError`): a tool error result that
    says so in its `_meta`."""


@functools.cache
def package_version() -> str:
    """The `sextant` distribution's version; from pyproject.toml when it is not installed."""
    try:
        return version("sextant")
    except PackageNotFoundError:
        with _PYPROJECT.open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])


class SextantServer(MCPServer[Any]):
    """`MCPServer` named `sextant`, at the package version, with plain argument errors and
    invalid-params prompt errors."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("sextant", version=package_version(), **kwargs)

    async def list_tools(self) -> list[Tool]:
        return [t.model_copy(update={
            "description": " ".join((t.description or "").split()) or None,
            "input_schema": _no_null_defaults(lean_schema(t.input_schema, set()))
            | {"additionalProperties": False},  # as `call_tool` holds
            "output_schema": (lean_schema(t.output_schema, {"description", "default", "required"})
                              if t.output_schema is not None else None),
        }) for t in await super().list_tools()]

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None,
                        ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is not None and isinstance(arguments, dict):
            unknown = unknown_arguments(tool.parameters, arguments)
            if unknown:
                return _invalid(name, f"Error executing tool {name}: invalid arguments\n{unknown}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(
                    cause, ValidationError | InvalidArguments):
                raise
            text = str(exc)
            if isinstance(cause, ValidationError):  # the same error, worded plainly
                text = f"Error executing tool {name}: {argument_errors(cause)}"
            return _invalid(name, text)

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None,
                         context: Context[Any, Any] | None = None,
                         ) -> GetPromptResult | InputRequiredResult:
        prompts = {p.name: p for p in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}: prompts/list gives the "
                           f"available ones ({', '.join(sorted(prompts))})")
        given = arguments or {}
        missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in given]
        if missing:
            raise MCPError(INVALID_PARAMS, f"prompt {name!r} needs the argument(s) "
                           f"{', '.join(missing)}")
        return await super().get_prompt(name, arguments, context)


def _invalid(tool: str, text: str) -> CallToolResult:
    log.info("Tool %r rejected its arguments: %r", tool, text)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True,
                          _meta={INVALID_ARGUMENTS_META: True})


def unknown_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> str:
    """One line per argument the tool does not take (its input schema's properties), with
    the nearest name it does take, if any; '' when there is none. The SDK would drop them
    unread: a misspelt `limit` for `k` then gives the default, and the agent never learns."""
    known = list(schema.get("properties") or ())
    lines = []
    for name in arguments:
        if name in known:
            continue
        near = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        lines.append(f"{name}: unknown argument ({hint}the tool takes "
                     f"{', '.join(known) or 'none'})")
    return "\n".join(lines)


def argument_errors(error: ValidationError) -> str:
    """`invalid arguments`, then one line per argument: its name and what is wrong with it
    (pydantic's words, without the input echoed or its documentation link)."""
    problems: dict[str, list[str]] = {}
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        if item["msg"] not in problems.setdefault(field, []):
            problems[field].append(item["msg"])
    return "invalid arguments\n" + "\n".join(
        f"{field}: {'; '.join(msgs)}" for field, msgs in problems.items())


def lean_schema(schema: Any, drop: set[str]) -> Any:
    """`schema` without generated titles and without the annotation keys in `drop`; a
    property named like one of them stays (its value is a schema: a dict);
    `additionalProperties: true` (the default) goes too. An `anyOf` of
    one typed schema and `null` becomes that schema with `"type": [its type, "null"]`."""
    if isinstance(schema, dict):
        lean = {k: lean_schema(v, drop) for k, v in schema.items()
                if isinstance(v, dict) or (k != "title" and k not in drop
                                           and not (k == "additionalProperties" and v is True))}
        return _nullable(lean)
    if isinstance(schema, list):
        return [lean_schema(v, drop) for v in schema]
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    other = options[1] if options[0] == {"type": "null"} else options[0]
    if not isinstance(other, dict) or not isinstance(other.get("type"), str):
        return schema  # a $ref or a union: left as it is
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return rest | other | {"type": [other["type"], "null"]}


def _no_null_defaults(schema: Any) -> Any:
    """An input schema whose parameters defaulting to null say nothing of it (not in
    `required`, absent is null)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    props = {name: ({k: v for k, v in prop.items() if not (k == "default" and v is None)}
                    if isinstance(prop, dict) else prop)
             for name, prop in schema["properties"].items()}
    return schema | {"properties": props}
