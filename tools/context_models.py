"""Typed output of get_context (published as its output schema)."""

from __future__ import annotations

from tools.models import Freshness, MissingRepo
from tools.schema import BaseModel, Field


class ContextItem(BaseModel):
    path: str = Field(description="File (or directory, for kind 'directory') relative to the root")
    start_line: int = Field(description="First line of `text` in the file (1-based)")
    end_line: int = Field(description="Last line of `text` in the file (inclusive)")
    kind: str = Field(description="function, method, class, ..., chunk, or directory")
    text: str = Field(description="The code (a body or a signature with its docstring) or "
                                  "a one-line description")
    detail: str = Field(description="body, signature, line (one line), or sent (already "
                                    "sent in this session: text is a reference)")
    symbol: str | None = None
    reason: str = Field("", description="Why it is here: match, calls X, called by X, ...")
    repo: str | None = Field(default=None, description="Repository (workspace name)")


class LeftOut(BaseModel):
    path: str
    start_line: int
    end_line: int
    symbol: str | None = None
    fetch: str = Field(description="The call that gets it, e.g. get_symbol(name=...)")
    repo: str | None = Field(default=None, description="Repository (workspaces)")


class ContextResult(BaseModel):
    task: str
    items: list[ContextItem] = Field(description="Most relevant first; no two overlap")
    left_out: list[LeftOut] = Field(default_factory=list,
                                    description="Relevant code that did not fit (first 10)")
    left_out_count: int = Field(0, description="How much relevant code did not fit in all")
    already_sent: list[str] = Field(default_factory=list, description=(
        "path:lines this session already received in full and that were not sent again "
        "(pass resend=true to get them)"))
    tokens: int = Field(description="Tokens of this answer (cl100k), at most max_tokens")
    truncated: bool
    freshness: Freshness
    missing_repos: list[MissingRepo] = Field(default_factory=list, description=(
        "Workspace: repositories whose part of the answer is missing (partial answer)"))

