"""The base class of the tools' typed outputs (tools/models.py, tools/context_models.py).

A server publishes the outputs as MCP output schemas: there they are pydantic models. A
one-shot CLI read (`sextant search`, `symbol`, `deps`, `summary`, `status`) only renders
them; it calls `use_lean_models()` before the tools are imported and gets the same classes
on tools/lean_model.py's stand-in, without pydantic's ~0.15 s of imports and model building.
Which base a process uses is decided once, when tools.models is first imported.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

_lean = False

if TYPE_CHECKING:
    from pydantic import BaseModel, Field
else:
    def __getattr__(name: str) -> Any:
        if name not in ("BaseModel", "Field"):
            raise AttributeError(name)
        if _lean:
            from tools import lean_model as source
            value = source.LeanModel if name == "BaseModel" else source.Field
        else:
            import pydantic as source
            value = getattr(source, name)
        globals()[name] = value
        return value


def use_lean_models() -> bool:
    """Build the output models on the lean stand-in in this process; no effect once they are
    built on pydantic here (a process never mixes the two). Whether they are lean."""
    global _lean
    if "BaseModel" not in globals():
        _lean = True
    return _lean


def is_model(value: object) -> bool:
    """Whether `value` is a tool output (of either base), without importing pydantic."""
    lean = sys.modules.get("tools.lean_model")
    if lean is not None and isinstance(value, lean.LeanModel):
        return True
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


__all__ = ["BaseModel", "Field", "is_model", "use_lean_models"]
