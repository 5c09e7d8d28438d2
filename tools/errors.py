"""The exceptions tools raise.

    ToolError          a tool cannot answer this request; the message says what to change
     +-- ArgumentError an argument is invalid whatever the repository holds (empty, out of
                       range, a path outside the repository)

The protocol layer turns either into an MCP tool error; the CLI exits 2 (usage) for an
ArgumentError and 1 for any other ToolError (nothing found, no index yet). Anything else
that escapes a tool is a bug, logged at the top level.
"""

from __future__ import annotations


class ToolError(Exception):
    """A tool cannot answer this request; the message says what to change."""


class ArgumentError(ToolError):
    """An argument is invalid in itself, not for want of something in the index."""
