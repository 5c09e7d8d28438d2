"""MCP prompt templates: how an agent should use Sextant's tools for common jobs.

Plain functions (no MCP imports): the server registers each one under its function name,
its docstring as the description and its typed parameters as the prompt's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import Field


def explore_codebase(
    focus: Annotated[str, Field(description=(
        "Optional area or question to orient around, e.g. 'the request lifecycle'"))] = "",
) -> str:
    """Get oriented in this repository: its layout, main components and entry points."""
    goal = f" with a focus on: {focus}" if focus.strip() else ""
    return f"""Build a working map of this repository{goal}. Use Sextant's tools, not grep/find:

1. Read the resource `sextant://overview` (or call `summarize_dir` with path="." and
   depth=1): languages, top-level directories, key symbols, README lead.
2. For the two or three directories that matter most{' to the focus' if goal else ''}, call
   `summarize_dir` with that path and depth=1 to see their key symbols and entry points.
3. Call `search_code` with a short description of each main responsibility you identified
   (k=5) to find where it is implemented.
4. For the central one or two symbols, call `get_symbol` (include_body=false,
   include_references=true) to see how they are used, and `expand_dependencies` on their
   file (direction="both") to see what they connect.

Answer with: a one-paragraph purpose, the main components with their paths, the entry
points, and where to start reading. Cite paths and line ranges from the tool results."""


def locate_code(
    task: Annotated[str, Field(min_length=1, description=(
        "The task, question or bug report (an error message or stack trace is fine)"))],
) -> str:
    """Find the code responsible for a task or a bug report, with evidence."""
    return f"""Locate the code relevant to this task:

<task>
{task.strip()}
</task>

Use Sextant's tools in this order:
1. `search_code` with the task's own words as the query (mode="hybrid", k=10). If it
   names identifiers, error messages or file names, also search for those exactly
   (mode="lexical"). Results say which indexes matched (matched_by) and whether the index
   is fresh; pass wait_fresh=true if you just edited files.
2. For the two or three most promising results, call `get_symbol` with the symbol name
   (include_references=true) to read the definition and see its call sites.
3. Call `expand_dependencies` on the best candidate (direction="in") to see what calls it
   and would be affected.
4. If the results point at an unfamiliar directory, `summarize_dir` on it.

Answer with the most likely locations first (path, line range, symbol), one line each on
why, and what you would read or check next. Say so if the evidence is weak."""


def plan_change(
    change: Annotated[str, Field(min_length=1, description=(
        "The change to make: a feature, a refactor or a fix, in a few sentences"))],
) -> str:
    """Plan a code change: what to edit, what it affects, and how to verify it."""
    return f"""Plan this change before editing anything:

<change>
{change.strip()}
</change>

Use Sextant's tools:
1. `search_code` with a description of the behaviour to change (k=10) to find where it
   lives today; `get_symbol` on the main definitions (include_body=true).
2. `expand_dependencies` on each file or symbol you expect to edit, direction="in",
   depth=2: everything listed may need updating or re-testing.
3. `get_symbol` with include_references=true for any function whose signature changes:
   every call site must be updated.
4. `search_code` with path="tests/**" (or the repository's test directory) for tests that
   cover the behaviour.

Answer with an ordered plan: files to edit (path, symbol, what changes), call sites to
update, tests to add or change, and risks. After editing, call the tools again with
wait_fresh=true to check the index reflects your edits."""


PROMPTS: tuple[Callable[..., str], ...] = (explore_codebase, locate_code, plan_change)
