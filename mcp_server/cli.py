"""The `sextant` command line.

Every command takes --repo (default: the current directory), --index-dir and --json. Exit
codes: 0 success, 2 usage error, 1 any other error (with one line on stderr saying what to
do). With --json, stdout carries exactly one JSON document and nothing else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mcp_server.logs import configure_logging
from mcp_server.usage import CliError

log = logging.getLogger("sextant")


def _common(p: argparse.ArgumentParser, *, refresh: bool = False) -> None:
    p.add_argument("--repo", default=None, help="repository root (default: current directory)")
    p.add_argument("--index-dir", default=None, help="index directory (default: REPO/.sextant)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    if refresh:  # commands that answer from the index
        p.add_argument("--no-refresh", action="store_true", help=(
            "answer from the index as it is (default: first re-index the files that "
            "changed since the last index)"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sextant", description=(
        "Local, always-fresh code context for coding agents (MCP over stdio and HTTP)."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or incrementally refresh the index")
    _common(p)
    p.add_argument("path", nargs="?", default=None, help="repository root (same as --repo)")
    p.add_argument("--no-embed", action="store_true", help="skip embeddings (lexical + symbols)")
    p.add_argument("--dry-run", action="store_true", help="report what would be indexed")
    p.add_argument("--max-file-bytes", type=int, default=1 << 20)
    p.add_argument("--index-secrets", action="store_true",
                   help="also index secret-bearing files (.env, *.pem, ...); output stays redacted")

    p = sub.add_parser("search", help="search code")
    _common(p, refresh=True)
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--lang", default=None)
    p.add_argument("--path", default=None, help="path glob or directory")
    p.add_argument("--mode", choices=("hybrid", "lexical", "semantic"), default="hybrid")
    p.add_argument("--max-tokens", type=int, default=8000)

    p = sub.add_parser("symbol", help="definitions of a symbol")
    _common(p, refresh=True)
    p.add_argument("name")
    p.add_argument("--refs", action="store_true", help="also list references")
    p.add_argument("--path", default=None)
    p.add_argument("--no-body", action="store_true")
    p.add_argument("--max-tokens", type=int, default=8000)

    p = sub.add_parser("deps", help="dependency neighbourhood of a file or symbol")
    _common(p, refresh=True)
    p.add_argument("target")
    p.add_argument("--direction", choices=("out", "in", "both"), default="out")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--max-tokens", type=int, default=8000)

    p = sub.add_parser("summary", help="directory summary")
    _common(p, refresh=True)
    p.add_argument("dir", nargs="?", default=".")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--max-tokens", type=int, default=8000)

    p = sub.add_parser("status", help="index statistics and freshness")
    _common(p)

    p = sub.add_parser("serve", help="run the MCP server")
    _common(p)
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", default=None, help="bearer token (or SEXTANT_TOKEN)")
    p.add_argument("--no-watch", action="store_true", help="do not follow file changes")
    p.add_argument("--no-embed", action="store_true", help="lexical + symbols only")
    p.add_argument("--index-secrets", action="store_true",
                   help="also index secret-bearing files (.env, *.pem, ...); output stays redacted")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME", help=(
        "another Host name clients use to reach this server (repeatable; '*' for any)"))
    p.add_argument("--allowed-origin", action="append", default=[], metavar="ORIGIN",
                   help="a browser Origin allowed to call this server (repeatable)")
    p.add_argument("--no-attach", action="store_true", help=(
        "stdio: no loopback listener for other processes to attach to"))

    p = sub.add_parser("eval", help="recall of search on this repository's own commits")
    _common(p, refresh=True)
    p.add_argument("--since", default=None, metavar="REV", help="only commits after REV")
    p.add_argument("-n", type=int, default=50, help="commits to sample (default 50)")

    p = sub.add_parser("model", help="the embedding model")
    _common(p)
    p.add_argument("action", choices=("info", "setup"))
    p.add_argument("--quant", choices=("q8_0", "f16"), default="q8_0")
    return parser


def _emit(args: argparse.Namespace, payload: Any, human: Callable[[Any], str]) -> None:
    from pydantic import BaseModel

    from tools.redact import redact

    payload = redact(payload)  # the CLI shows what the tools show: no secrets
    if args.json:
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        sys.stdout.write(json.dumps(data, indent=None, default=str) + "\n")
    else:
        sys.stdout.write(human(payload).rstrip("\n") + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging("WARNING" if args.command != "serve" else None)
    from mcp_server import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return int(handler(args, _emit) or 0)
    except CliError as exc:
        sys.stderr.write(f"sextant: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from tools.errors import ToolError

        if isinstance(exc, ToolError):
            sys.stderr.write(f"sextant: {exc}\n")
            return 1
        log.debug("unexpected error", exc_info=True)
        sys.stderr.write(f"sextant: {type(exc).__name__}: {exc} (set SEXTANT_LOG_LEVEL=DEBUG "
                         "for details)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
