"""What every CLI command shares below the argument parser: its error and the repository path.

Kept apart from `mcp_server.cli` (the parser, which imports the commands) so that the
commands can raise `CliError` without importing the parser back.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class CliError(Exception):
    """A failure to report as one line on stderr, exit code 1."""


class UsageError(CliError):
    """A usage error (bad workspace file, a missing optional package): exit code 2."""


def repo_path(args: argparse.Namespace) -> Path:
    raw = getattr(args, "path", None) if args.command == "index" else None
    root = Path(raw or args.repo or ".").expanduser()
    if not root.is_dir():
        raise CliError(f"repository {str(root)!r} is not a directory: pass --repo PATH")
    return root.resolve()
