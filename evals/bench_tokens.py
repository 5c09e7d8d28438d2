"""What Sextant's answers cost an agent, in cl100k tokens: per answer and for `tools/list`.

For a few realistic questions per repository, each tool is called over the SDK's in-memory
client, and three sizes are counted per answer:

- `text`: the text content the model reads (now a compact rendering, `mcp_server.text`);
- `json2`: the same structured content as indented JSON, which is what the text content was
  before (the SDK's fallback, `pydantic_core.to_json(result, indent=2)`), i.e. the same
  content;
- `structured`: the structured content as sent (compact JSON), unchanged.

`tools/list` is counted as the JSON of the tool list (names, descriptions, input and output
schemas). Run it on two checkouts to compare them (PYTHONPATH picks the code):

    SEXTANT_SHARED_DIR=../shared python -m evals.bench_tokens --repos requests,moby
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pydantic_core

from indexer.core import count_tokens

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SEXTANT_SHARED_DIR", REPO_ROOT.parent / "shared"))
log = logging.getLogger("evals.bench_tokens")

Call = tuple[str, dict[str, Any]]
QUESTIONS: dict[str, list[Call]] = {
    "requests": [
        ("search_code", {"query": "how are proxies chosen for a request", "k": 5}),
        ("search_code", {"query": "retry a connection when it fails", "k": 5}),
        ("get_symbol", {"name": "Session.send", "include_references": True}),
        ("expand_dependencies", {"target": "src/requests/sessions.py"}),
        ("summarize_dir", {"path": "src/requests"}),
        ("index_status", {}),
    ],
    "moby": [
        ("search_code", {"query": "where is the container restart policy applied", "k": 5}),
        ("search_code", {"query": "attach a container to a network endpoint", "k": 5}),
        ("get_symbol", {"name": "Daemon.ContainerStart", "include_references": True}),
        ("expand_dependencies", {"target": "daemon/network/settings.go", "direction": "in"}),
        ("summarize_dir", {"path": "daemon/network"}),
        ("index_status", {}),
    ],
}


def extract(name: str, dest: Path) -> Path:
    archive = next((SHARED / "corpora").glob(f"{name}-*.tar.gz"), None)
    if archive is None:
        raise SystemExit(f"corpus {name} not found under {SHARED}/corpora")
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return next(p for p in dest.iterdir() if p.is_dir())


def tools_list_tokens(tools: list[Any]) -> dict[str, int]:
    out = {t.name: count_tokens(json.dumps(t.model_dump(mode="json", by_alias=True,
                                                         exclude_none=True)))
           for t in tools}
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    out["(all)"] = count_tokens(json.dumps(dumped))
    # the six tools main had when the target was set (7,636 tokens at c765e52)
    out["(six, without get_context)"] = count_tokens(json.dumps(
        [d for d in dumped if d["name"] != "get_context"]))
    return out


async def measure(root: Path, index_dir: Path, calls: list[Call]) -> dict[str, Any]:
    from mcp import Client

    from mcp_server.runtime import Runtime
    from mcp_server.server import build_server
    from mcp_server.settings import Settings

    settings = Settings(root=root, index_dir=index_dir, watch=False, embed=False)
    runtime = Runtime(settings)
    answers = []
    async with Client(build_server(settings, runtime)) as client:
        with anyio.fail_after(600):
            await anyio.to_thread.run_sync(runtime.ready.wait)
        listed = tools_list_tokens((await client.list_tools()).tools)
        for tool, args in calls:
            result = await client.call_tool(tool, args)
            text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
            structured = result.structured_content or {}
            answers.append({
                "tool": tool, "args": args, "error": result.is_error,
                "text": count_tokens(text),
                "json2": count_tokens(pydantic_core.to_json(structured, indent=2).decode()),
                "structured": count_tokens(json.dumps(structured, separators=(",", ":"))),
            })
    return {"tools_list": listed, "answers": answers}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    p = argparse.ArgumentParser(prog="python -m evals.bench_tokens")
    p.add_argument("--repos", default="requests,moby")
    p.add_argument("--work", type=Path, default=None, help="keep trees and indexes here")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="sextant-bench-tokens-"))
    report: dict[str, Any] = {}
    for name in args.repos.split(","):
        dest = work / name
        root = next((p for p in dest.iterdir() if p.is_dir()), None) if dest.is_dir() else None
        if root is None:
            dest.mkdir(parents=True, exist_ok=True)
            root = extract(name, dest)
        report[name] = anyio.run(measure, root, work / f"{name}-index", QUESTIONS[name])
        for a in report[name]["answers"]:
            log.info("%s %s: text %d, indented JSON %d, structured %d", name, a["tool"],
                     a["text"], a["json2"], a["structured"])
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
