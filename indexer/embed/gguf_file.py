"""A GGUF file's metadata and tensors, read directly (struct over a memory map, `os.pread`).

The `gguf` package's reader maps the whole file and builds a numpy view per metadata array
element (~1.2 s of CPU and ~60 MB for MiniLM's 30k-token vocabulary), and its tensors stay
views of that map: every page a tensor was once read from stays in the process's resident
memory for as long as the reader lives. Here the header is read once and closed, and a
tensor's bytes are read (`read_tensor`) into an array the caller owns and can drop.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gguf.constants import GGMLQuantizationType

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}  # GGUF value types (8: string, 9: array)
_STRING, _ARRAY = 8, 9
_DEFAULT_ALIGNMENT = 32
# ggml types stored as plain numpy items (F32, F16, I8, I16, I32, I64, F64); the others are
# quantized blocks, read as bytes
_PLAIN = {0: np.float32, 1: np.float16, 24: np.int8, 25: np.int16, 26: np.int32,
          27: np.int64, 28: np.float64}


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """Where one tensor lies in its file. `shape` is numpy's order (ggml's reversed)."""

    name: str
    shape: tuple[int, ...]
    tensor_type: GGMLQuantizationType
    offset: int  # of its first byte in the file
    n_bytes: int


def read_fields(path: Path) -> dict[str, Any]:
    """Scalar and string metadata of a GGUF file (arrays are skipped)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return _header(m, path)[0]


def read_gguf(path: Path) -> tuple[dict[str, Any], dict[str, TensorInfo]]:
    """The metadata (as `read_fields`) and every tensor's place, by name."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        fields, at = _header(m, path)
        infos: list[tuple[str, tuple[int, ...], int, int]] = []
        for _ in range(int(fields["GGUF.tensor_count"])):
            name, at = _gguf_string(m, at)
            (n_dims,) = struct.unpack_from("<I", m, at)
            dims = struct.unpack_from(f"<{n_dims}Q", m, at + 4)
            kind, offset = struct.unpack_from("<IQ", m, at + 4 + 8 * n_dims)
            at += 4 + 8 * n_dims + 12
            infos.append((name, tuple(int(d) for d in dims), int(kind), int(offset)))
    align = int(fields.get("general.alignment") or _DEFAULT_ALIGNMENT)
    start = -(-at // align) * align
    return fields, {name: _info(name, dims, kind, start + offset)
                    for name, dims, kind, offset in infos}


def read_tensor(path: Path, info: TensorInfo) -> np.ndarray:
    """The tensor's data as the `gguf` package shapes it: plain types as their numpy items in
    `info.shape`, quantized types as bytes with each row's blocks in the last axis."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, info.n_bytes, info.offset)
    finally:
        os.close(fd)
    if len(data) != info.n_bytes:
        raise ValueError(f"{path.name}: tensor {info.name} is cut short")
    plain = _PLAIN.get(int(info.tensor_type))
    if plain is not None:
        return np.frombuffer(data, dtype=plain).reshape(info.shape)
    rows = info.shape[:-1]
    return np.frombuffer(data, dtype=np.uint8).reshape(*rows, -1)


def _info(name: str, dims: tuple[int, ...], kind: int, offset: int) -> TensorInfo:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    ggml_type = GGMLQuantizationType(kind)
    block, size = GGML_QUANT_SIZES[ggml_type]
    count = int(np.prod(dims)) if dims else 1
    return TensorInfo(name, tuple(reversed(dims)), ggml_type, offset, count * size // block)


def _header(m: mmap.mmap, path: Path) -> tuple[dict[str, Any], int]:
    """The key-value metadata and the offset just after it (where tensor infos begin)."""
    magic, version, tensors, count = struct.unpack_from("<4sIQQ", m, 0)
    if magic != b"GGUF" or version < 2:
        raise ValueError(f"{path.name} is not a GGUF v2+ file")
    fields: dict[str, Any] = {"GGUF.version": version, "GGUF.tensor_count": tensors,
                              "GGUF.kv_count": count}
    at = 24
    for _ in range(count):
        key, at = _gguf_string(m, at)
        (kind,) = struct.unpack_from("<I", m, at)
        value, at = _gguf_value(m, at + 4, kind)
        if value is not _SKIPPED:
            fields[key] = value
    return fields, at


_SKIPPED = object()


def _gguf_string(m: mmap.mmap, at: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<Q", m, at)
    return m[at + 8:at + 8 + n].decode("utf-8", "replace"), at + 8 + n


def _gguf_value(m: mmap.mmap, at: int, kind: int) -> tuple[Any, int]:
    """The value of type `kind` at `at` (arrays: skipped) and the offset after it."""
    if kind == _STRING:
        return _gguf_string(m, at)
    if kind in _SCALARS:
        fmt = _SCALARS[kind]
        return struct.unpack_from(fmt, m, at)[0], at + struct.calcsize(fmt)
    if kind != _ARRAY:
        raise ValueError(f"unknown GGUF value type {kind}")
    item, n = struct.unpack_from("<IQ", m, at)
    at += 12
    if item in _SCALARS:
        return _SKIPPED, at + n * struct.calcsize(_SCALARS[item])
    if item == _STRING:  # a vocabulary: step over each string by its length, undecoded
        length = struct.Struct("<Q").unpack_from
        for _ in range(n):
            at += 8 + length(m, at)[0]
        return _SKIPPED, at
    for _ in range(n):
        _, at = _gguf_value(m, at, item)
    return _SKIPPED, at
