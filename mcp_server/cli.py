"""The `sextant` command line.

Every command takes --repo (default: the current directory), --index-dir and --json. Exit
codes: 0 success, 2 usage error, 1 any other error (with one line on stderr saying what to
do). With --json, stdout carries exactly one JSON document and nothing else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mcp_server.logs import configure_logging
from mcp_server.usage import CliError, UsageError

log = logging.getLogger("sextant")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, unless its help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default is None:
            return text
        return super()._get_help_string(action)


def _int_in(lo: int, hi: int | Callable[[], int] | None = None) -> Callable[[str], int]:
    """An argparse type: an integer from `lo` to `hi` (a callable: looked up when used, so
    that parsing imports nothing heavy)."""
    def parse(text: str) -> int:
        top = hi() if callable(hi) else hi
        valid = f"an integer from {lo} to {top}" if top is not None else f"an integer >= {lo}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {valid}") from None
        if value < lo or (top is not None and value > top):
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {valid}")
        return value

    return parse


def _glob(text: str) -> str:
    """An argparse type: a path glob or directory relative to the repository root."""
    from tools.errors import ToolError
    from tools.source import check_glob

    try:
        check_glob(text)
    except ToolError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _max_tokens() -> int:
    from tools.budget import MAX_MAX_TOKENS

    return MAX_MAX_TOKENS


def _deps_depth() -> int:
    from tools.deps import MAX_DEPTH

    return MAX_DEPTH


def _summary_depth() -> int:
    from tools.summary import MAX_DEPTH

    return MAX_DEPTH


def _common(p: argparse.ArgumentParser, *, refresh: bool = False) -> None:
    p.add_argument("--repo", default=None, help="repository root (default: current directory)")
    p.add_argument("--index-dir", default=None, help=(
        "index directory (default: $SEXTANT_INDEX_DIR, else REPO/.sextant)"))
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    if refresh:  # commands that answer from the index
        p.add_argument("--no-refresh", action="store_true", help=(
            "answer from the index as it is (default: first re-index the files that "
            "changed since the last index)"))


def _max_tokens_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-tokens", type=_int_in(200, _max_tokens), default=8000,
                   metavar="N", help="upper bound on the answer's size in cl100k tokens")


def _static_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--static", action="store_true", help=(
        "the static tier (token vectors distilled from the model: meaning before the model "
        "has embedded): on by default; this flag wins over SEXTANT_STATIC=0"))
    p.add_argument("--no-static", action="store_true", help=(
        "no static tier (also SEXTANT_STATIC=0); wins over --static"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sextant", formatter_class=_Formatter, description=(
        "Local, always-fresh code context for coding agents (MCP over stdio and HTTP)."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="run `sextant COMMAND --help` for its options")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, description=text, formatter_class=_Formatter)

    p = command("index", "build or incrementally refresh the index")
    _common(p)
    p.add_argument("path", nargs="?", default=None, help=(
        "repository root (same as --repo; default: current directory)"))
    p.add_argument("--no-embed", action="store_true", help=(
        "skip the model tier (lexical + symbols + static vectors)"))
    _static_option(p)
    p.add_argument("--dry-run", action="store_true", help=(
        "report what would be indexed and skipped, estimated chunks and embedding time "
        "(the model's rate is measured once on this machine and cached), writing nothing"))
    p.add_argument("--verbose", action="store_true", help=(
        "with --dry-run: list every skipped path with its reason"))
    p.add_argument("--import", dest="import_file", default=None, metavar="FILE", help=(
        "first restore the index from a snapshot made by --export (in any clone, at any "
        "commit), then re-index only the files that differ (default: no snapshot)"))
    p.add_argument("--export", default=None, metavar="FILE", help=(
        "after indexing, write the index (store with the embedding cache, lexical index, "
        "vectors) to FILE: one tar, gzip-compressed, zstd when `zstandard` is installed "
        "(default: no snapshot)"))
    p.add_argument("--max-file-bytes", type=_int_in(1), default=1 << 20, metavar="BYTES",
                   help="skip files larger than this")
    p.add_argument("--index-secrets", action="store_true",
                   help="also index secret-bearing files (.env, *.pem, ...); output stays redacted")

    p = command("search", "search code")
    _common(p, refresh=True)
    p.add_argument("query", help="what you are looking for: words, an identifier, an error")
    p.add_argument("-k", type=_int_in(1, 100), default=10, metavar="N",
                   help="number of results")
    p.add_argument("--lang", default=None, help="only this language, e.g. python (default: all)")
    p.add_argument("--path", type=_glob, default=None, metavar="GLOB", help=(
        "only paths matching this glob or under this directory (default: everywhere)"))
    p.add_argument("--mode", choices=("hybrid", "lexical", "semantic"), default="hybrid",
                   help="hybrid fuses BM25, symbol names and embeddings")
    p.add_argument("--granularity", choices=("chunk", "file"), default="chunk", help=(
        "chunk: functions and classes; file: files ranked by all their matches and by the "
        "repository's past commits worded like the query (which files to change)"))
    _max_tokens_option(p)

    p = command("context", "the code a task needs, in one answer that fits a budget")
    _common(p, refresh=True)
    p.add_argument("task", help=(
        "the task in words, an issue report or a traceback; - reads it from standard input"))
    p.add_argument("--path", type=_glob, default=None, metavar="GLOB", help=(
        "only paths matching this glob or under this directory (default: everywhere)"))
    _max_tokens_option(p)

    p = command("symbol", "definitions of a symbol")
    _common(p, refresh=True)
    p.add_argument("name", help=(
        "plain or qualified name, e.g. add_url_rule, Flask.route or Gitignore::matched"))
    p.add_argument("--refs", action="store_true", help="also list references")
    p.add_argument("--path", default=None, help=(
        "only definitions in this file or directory (default: anywhere)"))
    p.add_argument("--no-body", action="store_true", help="leave out the source bodies")
    _max_tokens_option(p)

    p = command("deps", "dependency neighbourhood of a file or symbol")
    _common(p, refresh=True)
    p.add_argument("target", help="a file path or a symbol")
    p.add_argument("--direction", choices=("out", "in", "both"), default="out",
                   help="out: what the target uses; in: what uses the target")
    p.add_argument("--depth", type=_int_in(1, _deps_depth), default=1, metavar="N",
                   help="hops to follow")
    _max_tokens_option(p)

    p = command("summary", "directory summary")
    _common(p, refresh=True)
    p.add_argument("dir", nargs="?", default=".", help="directory relative to the repository root")
    p.add_argument("--depth", type=_int_in(0, _summary_depth), default=1, metavar="N",
                   help="levels of subdirectories")
    _max_tokens_option(p)

    p = command("status", "index statistics and freshness")
    _common(p)

    p = command("serve", "run the MCP server")
    _common(p)
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio",
                   help="stdio for a client that launches the server; http to share it")
    p.add_argument("--host", default="127.0.0.1", help=(
        "address to bind for --transport http (any but loopback needs a token)"))
    p.add_argument("--port", type=_int_in(0, 65535), default=8765, help=(
        "TCP port for --transport http (0: any free port)"))
    p.add_argument("--token", default=None, help="bearer token (default: $SEXTANT_TOKEN)")
    p.add_argument("--no-watch", action="store_true", help="do not follow file changes")
    p.add_argument("--no-embed", action="store_true", help=(
        "no model tier (lexical + symbols + static vectors)"))
    _static_option(p)
    p.add_argument("--index-secrets", action="store_true",
                   help="also index secret-bearing files (.env, *.pem, ...); output stays redacted")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME", help=(
        "another Host name clients use to reach this server (repeatable; '*' for any; "
        "default: loopback names only)"))
    p.add_argument("--allowed-origin", action="append", default=[], metavar="ORIGIN", help=(
        "a browser Origin allowed to call this server (repeatable; default: none)"))
    p.add_argument("--no-attach", action="store_true", help=(
        "stdio: no loopback listener for other processes to attach to"))
    _workspace_options(p, serve=True)

    p = command("cluster", "many repositories as index shards on Ray (pip install -e '.[cluster]')")
    _common(p)
    p.add_argument("action", choices=("index",), help="index: build one shard per repository")
    _workspace_options(p, serve=False)
    p.add_argument("--no-embed", action="store_true", help="skip embeddings (lexical + symbols)")

    p = command("eval", "recall of search on this repository's own commits")
    _common(p, refresh=True)
    p.add_argument("--since", default=None, metavar="REV", help=(
        "only commits after REV (default: the most recent commits)"))
    p.add_argument("-n", type=_int_in(1), default=50, metavar="N", help="commits to sample")
    p.add_argument("--fit", action="store_true", help=(
        "fit the fusion weights on the older sampled commits and save them in the index "
        "only if they beat the defaults on the newer ones (else the defaults stay)"))

    p = command("model", "the embedding model")
    _common(p)
    p.add_argument("action", choices=("info", "setup"), help=(
        "info: the model in use; setup: provision the default model offline"))
    p.add_argument("--quant", choices=("q8_0", "f16"), default="q8_0",
                   help="weights of the default model")
    return parser


def _workspace_options(p: argparse.ArgumentParser, *, serve: bool) -> None:
    p.add_argument("--workspace", default=None, required=not serve, metavar="FILE", help=(
        "TOML file with one [[repo]] table (name, path) per repository to serve together"
        + (" (default: none, serve --repo alone)" if serve else " (required; no default)")))
    if serve:
        p.add_argument("--cluster", action="store_true", help=(
            "answer through Ray actors holding the shards (needs --workspace and Ray)"))
    p.add_argument("--address", default=None, metavar="ADDR", help=(
        "Ray cluster address (default: start a local Ray instance)"))


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's own parser, by name."""
    for action in parser._actions:  # argparse keeps its subparsers here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, reporting an unknown option with the usage of the command it follows."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        subcommand_parsers(parser)[args.command].error(
            f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "index" and args.dry_run and (args.export or args.import_file):
        subcommand_parsers(parser)["index"].error(
            "--dry-run writes nothing: use it without --export/--import")
    return args


def _emit(args: argparse.Namespace, payload: Any, human: Callable[[Any], str]) -> None:
    from tools.redact import redact
    from tools.schema import is_model

    payload = redact(payload)  # the CLI shows what the tools show: no secrets
    if args.json:
        data = payload.model_dump(mode="json") if is_model(payload) else payload
        sys.stdout.write(json.dumps(data, indent=None, default=str) + "\n")
    else:
        sys.stdout.write(human(payload).rstrip("\n") + "\n")


def _run_once_more_if_damaged(handler: Callable[..., int | None],
                              args: argparse.Namespace) -> int:
    """Run the command; if it failed on a damaged store (one that opened, then failed a
    read: damage the check on open does not see), move the store aside and run it again on
    a rebuilt one. The same for a damaged lexical index, rebuilt from the store."""
    try:
        return int(handler(args, _emit) or 0)
    except Exception as exc:
        from indexer.lexical import LexicalCorrupt
        from indexer.store import looks_damaged

        lexical = isinstance(exc, LexicalCorrupt)
        if args.command == "serve" or not (lexical or looks_damaged(exc)):
            raise
        from mcp_server import commands

        if lexical:
            commands.mark_lexical_damaged(args, exc)
        else:
            commands.set_aside_damaged_index(args, exc)
        return int(handler(args, _emit) or 0)


# One-shot reads: they render the tools' answers and publish no schema, so their output models
# are built without pydantic (tools/schema.py). Not `cluster`: Ray workers pickle models.
LEAN_COMMANDS = frozenset({"search", "context", "symbol", "deps", "summary", "status"})


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(build_parser(), argv)
    # a one-shot command logs warnings only, unless SEXTANT_LOG_LEVEL asks for more (its
    # errors say "set SEXTANT_LOG_LEVEL=DEBUG for details")
    configure_logging(None if args.command == "serve" else (
        os.environ.get("SEXTANT_LOG_LEVEL") or "WARNING"))
    from indexer.core import configure_heap

    configure_heap()  # before any thread starts: each gets an arena (indexer/core/heap.py)
    if args.command != "serve":
        # pydantic looks for plugins in every installed distribution's entry points when it
        # builds its first model (20-30 ms of a one-shot command's start); Sextant uses none
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if args.command in LEAN_COMMANDS:
        from tools.schema import use_lean_models

        use_lean_models()
        # a one-shot read multiplies one query vector at most: OpenBLAS's thread pool, which
        # numpy starts on import, would cost more CPU (0.1-0.2 s) than the arithmetic
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from mcp_server import commands

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return _run_once_more_if_damaged(handler, args)
    except CliError as exc:
        sys.stderr.write(f"sextant: {exc}\n")
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from tools.errors import ArgumentError, ToolError

        if isinstance(exc, ToolError):  # an invalid argument is a usage error
            sys.stderr.write(f"sextant: {exc}\n")
            return 2 if isinstance(exc, ArgumentError) else 1
        log.debug("unexpected error", exc_info=True)
        sys.stderr.write(f"sextant: {type(exc).__name__}: {exc} (set SEXTANT_LOG_LEVEL=DEBUG "
                         "for details)\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
