"""The `repo` argument every tool takes, and how a single-repository server checks it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from indexer.live import LiveIndex
from mcp_server.sdk import InvalidArguments

Repo = Annotated[str | None, Field(max_length=200, description=(
    "Repository name (default: all served)"))]


def check_repo(live: LiveIndex, repo: str | None) -> None:
    """A single-repository server answers `repo` absent or its own name; another name is a
    tool error that names the repository it serves."""
    if repo is not None and repo != live.name:
        raise InvalidArguments(f"unknown repo {repo!r}: this server serves only {live.name!r}; "
                           "omit repo or pass that name")
