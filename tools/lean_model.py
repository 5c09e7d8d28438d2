"""A stand-in for pydantic's BaseModel in a short-lived CLI process (see tools/schema.py).

Importing pydantic and building the tools' output models costs a one-shot command ~0.15 s
of a 0.5 s start; a `sextant search` needs none of what pydantic adds (JSON schemas,
validation errors for an MCP client's input). This class gives the tools the part of
pydantic's behaviour they use, with the same results:

- fields from annotations in definition order (bases first), `Field(default=...,
  default_factory=..., description=...)` or a plain default; a missing required field is a
  TypeError; unknown keywords are ignored;
- the coercions pydantic's lax mode makes on the values the tools pass: int to float in
  float fields, integral floats and numpy integers to int, nested models from dicts, lists
  and dicts copied;
- `model_copy(update=)` (shallow, not validated, as pydantic), `model_dump(mode=)`,
  `model_dump_json(indent=)` byte-identical to pydantic's (floats under 1e-4 or not finite
  are formatted by pydantic_core itself: Python writes them differently),
  `model_validate`, `model_fields`, equality by fields.

tests/test_lean_models.py holds it to pydantic's output on real answers.
"""

from __future__ import annotations

import inspect
import json
import math
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar

_MISSING: Any = object()

Coerce = Callable[[Any], Any]


class FieldInfo:
    __slots__ = ("default", "default_factory", "description")

    def __init__(self, default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
                 description: str | None = None) -> None:
        self.default = default
        self.default_factory = default_factory
        self.description = description

    def is_required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None


def Field(default: Any = _MISSING, *, default_factory: Callable[[], Any] | None = None,
          description: str | None = None, **_: Any) -> Any:
    return FieldInfo(default, default_factory=default_factory, description=description)


def _identity(value: Any) -> Any:
    return value


def _to_float(value: Any) -> Any:
    return value if value is None or type(value) is float else float(value)


def _to_int(value: Any) -> Any:
    if value is None or type(value) is int:
        return value  # (a bool becomes 0 or 1, as in pydantic)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _optional(inner: Coerce) -> Coerce:
    return lambda v: None if v is None else inner(v)


def _list(inner: Coerce) -> Coerce:
    if inner is _identity:
        return list
    return lambda v: [inner(x) for x in v]


def _dict(inner: Coerce) -> Coerce:
    if inner is _identity:
        return dict
    return lambda v: {k: inner(x) for k, x in v.items()}


def _model(cls: type[LeanModel]) -> Coerce:
    return cls.model_validate


def _coercer(tp: Any) -> Coerce:
    """How a value given for a field of type `tp` is stored."""
    if tp is float:
        return _to_float
    if tp is int:
        return _to_int
    if isinstance(tp, type) and issubclass(tp, LeanModel):
        return _model(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        inner = _coercer(rest[0]) if len(rest) == 1 else _identity
        return _identity if inner is _identity else _optional(inner)
    if origin is list:
        return _list(_coercer(args[0]) if args else _identity)
    if origin is dict:
        return _dict(_coercer(args[1]) if len(args) == 2 else _identity)
    return _identity


class LeanModel:
    """The subset of pydantic.BaseModel that Sextant's tools use (module docstring)."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    _types: ClassVar[dict[str, tuple[Any, str]]] = {}  # field -> (annotation, its module)
    _coercers: ClassVar[dict[str, Coerce] | None] = None
    __hash__ = None  # type: ignore[assignment]  # as pydantic: equal by value, so unhashable

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        annotations: dict[str, tuple[Any, str]] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "model_fields", {}))
            annotations.update(getattr(base, "_types", {}))
        for name, annotation in inspect.get_annotations(cls).items():
            if name.startswith("_") or "ClassVar" in str(annotation):
                continue
            value = cls.__dict__.get(name, _MISSING)
            fields[name] = value if isinstance(value, FieldInfo) else FieldInfo(value)
            annotations[name] = (annotation, cls.__module__)
            if value is not _MISSING:
                delattr(cls, name)
        cls.model_fields = fields
        cls._types = annotations
        cls._coercers = None  # resolved on first use: annotations may name later classes

    @classmethod
    def _coercion(cls) -> dict[str, Coerce]:
        coercers = cls.__dict__.get("_coercers")
        if coercers is None:
            coercers = {name: _coercer(_resolve(*cls._types[name])) for name in cls.model_fields}
            cls._coercers = coercers
        return coercers

    def __init__(self, **data: Any) -> None:
        values: dict[str, Any] = {}
        coercers = self._coercion()
        for name, info in self.model_fields.items():
            if name in data:
                values[name] = coercers[name](data[name])
            elif info.default_factory is not None:
                values[name] = info.default_factory()
            elif info.default is not _MISSING:
                values[name] = info.default
            else:
                raise TypeError(f"{type(self).__name__}: field {name!r} is required")
        self.__dict__.update(values)

    @classmethod
    def model_validate(cls, obj: Any) -> Any:
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, dict):
            return cls(**obj)
        raise TypeError(f"{cls.__name__}: expected a dict, got {type(obj).__name__}")

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any:
        if deep:
            import copy

            return copy.deepcopy(self).model_copy(update=update)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        if update:
            new.__dict__.update(update)
        return new

    def model_dump(self, *, mode: str = "python", **_: Any) -> dict[str, Any]:
        as_json = mode == "json"
        return {name: _dump(self.__dict__[name], as_json) for name in self.model_fields}

    def model_dump_json(self, *, indent: int | None = None, **_: Any) -> str:
        data = self.model_dump(mode="json")
        if not _plain_floats(data):  # pydantic's own formatting (module docstring)
            import pydantic_core

            return pydantic_core.to_json(data, indent=indent, inf_nan_mode="null").decode()
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(data, indent=indent, ensure_ascii=False, separators=separators)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self.model_fields)
        return f"{type(self).__name__}({inner})"


def _resolve(annotation: Any, module: str) -> Any:
    """The type an annotation names (a string under `from __future__ import annotations`)."""
    if not isinstance(annotation, str):
        return annotation
    return eval(annotation, vars(sys.modules[module]))


def _dump(value: Any, as_json: bool) -> Any:
    if isinstance(value, LeanModel):
        return value.model_dump(mode="json" if as_json else "python")
    if isinstance(value, list) or (as_json and isinstance(value, tuple)):
        return [_dump(v, as_json) for v in value]
    if isinstance(value, tuple):
        return tuple(_dump(v, as_json) for v in value)
    if isinstance(value, dict):
        return {k: _dump(v, as_json) for k, v in value.items()}
    return value


def _plain_floats(value: Any) -> bool:
    """Whether every float in `value` is written the same by Python and by pydantic:
    finite, and 0 or at least 1e-4 in magnitude (checked against pydantic_core over
    magnitudes 1e-12..1e22 in tests/test_lean_models.py)."""
    if isinstance(value, float):
        return value == 0.0 or (math.isfinite(value) and abs(value) >= 1e-4)
    if isinstance(value, dict):
        return all(_plain_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain_floats(v) for v in value)
    return True
