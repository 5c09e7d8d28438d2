"""Fusion weights fitted to one repository's history (`sextant eval --fit`), and which
weights a search uses.

The file `weights.json` in the index directory holds the weights that `tools.fit_weights`
chose on the repository's older commits *and* that beat the defaults on its newer ones,
with the defaults they were compared against. Search uses it only while it is valid: a
damaged or unreadable file, unknown or non-finite weights, or defaults that have changed
since the fit (the comparison no longer holds) leave the defaults in place, with one
warning per file state. A missing file means the defaults.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.core import atomic_write_bytes

log = logging.getLogger(__name__)

FILE_NAME = "weights.json"
FORMAT = 1
MAX_WEIGHT = 10.0


@dataclass(frozen=True, slots=True)
class ActiveWeights:
    """The fusion weights a search uses, and where they come from."""

    weights: Mapping[str, float]
    source: str  # "defaults" or "fitted"
    detail: dict[str, Any] = field(default_factory=dict)  # the fit's record, when fitted


def weights_path(index_dir: Path) -> Path:
    return index_dir / FILE_NAME


def _valid_weights(raw: object, defaults: Mapping[str, float]) -> dict[str, float] | None:
    if not isinstance(raw, dict) or not raw:
        return None
    out: dict[str, float] = {}
    for key, value in raw.items():
        if key not in defaults or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not (math.isfinite(value) and 0.0 <= value <= MAX_WEIGHT):
            return None
        out[key] = float(value)
    return out


def _parse(path: Path, defaults: Mapping[str, float]) -> ActiveWeights:
    """The weights the file at `path` selects (the defaults when it is absent or unusable)."""
    fallback = ActiveWeights(dict(defaults), "defaults")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return fallback
    except (OSError, ValueError) as exc:
        log.warning("ignoring fitted ranking weights %s (%s): using the defaults", path, exc)
        return fallback
    fitted = _valid_weights(record.get("weights") if isinstance(record, dict) else None,
                           defaults)
    if not isinstance(record, dict) or record.get("format") != FORMAT or fitted is None:
        log.warning("ignoring fitted ranking weights %s (not a weights file of format %d): "
                    "using the defaults; re-run `sextant eval --fit`", path, FORMAT)
        return fallback
    if record.get("defaults") != dict(defaults):
        log.warning("ignoring fitted ranking weights %s: they were compared against other "
                    "default weights; re-run `sextant eval --fit`", path)
        return fallback
    detail = {k: v for k, v in record.items() if k not in ("format", "weights", "defaults")}
    return ActiveWeights({**defaults, **fitted}, "fitted", detail)


_CACHE: dict[tuple[Path, tuple[int, int, int], tuple[tuple[str, float], ...]], ActiveWeights] = {}


def active_weights(index_dir: Path, defaults: Mapping[str, float]) -> ActiveWeights:
    """The weights for a search over the index in `index_dir`: the file is read once per
    state (a stat per call), so a fit is picked up by a running server."""
    path = weights_path(index_dir)
    try:
        st = os.stat(path)
    except OSError:
        return ActiveWeights(dict(defaults), "defaults")
    key = (path, (st.st_mtime_ns, st.st_size, st.st_ino), tuple(sorted(defaults.items())))
    active = _CACHE.get(key)
    if active is None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        active = _CACHE[key] = _parse(path, defaults)
    return active


def public_detail(active: ActiveWeights) -> dict[str, Any]:
    """What status reports: the source, the weights, and the fit's held-out comparison."""
    out: dict[str, Any] = {"source": active.source, "weights": dict(active.weights)}
    out.update(active.detail)
    return out


def save_weights(index_dir: Path, weights: Mapping[str, float], defaults: Mapping[str, float],
                 record: Mapping[str, Any]) -> Path:
    """Write the fitted weights (atomically) with the defaults they beat."""
    path = weights_path(index_dir)
    body = {"format": FORMAT, "weights": dict(weights), "defaults": dict(defaults), **record}
    atomic_write_bytes(path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())
    return path


def remove_weights(index_dir: Path) -> bool:
    """Drop fitted weights (the defaults apply again); True when a file was removed."""
    try:
        weights_path(index_dir).unlink()
    except FileNotFoundError:
        return False
    return True
