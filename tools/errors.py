"""The one exception tools raise.

    ToolError    a tool cannot answer this request; the message says what to change

The protocol layer turns it into an MCP tool error (or a CLI usage error); anything else
that escapes a tool is a bug, logged at the top level.
"""

from __future__ import annotations


class ToolError(Exception):
    """A tool cannot answer this request; the message says what to change."""
