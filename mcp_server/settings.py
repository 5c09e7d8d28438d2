"""Server and CLI settings: command-line flags over environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    root: Path
    index_dir: Path | None = None
    model: str | None = field(default_factory=lambda: os.environ.get("SEXTANT_MODEL") or None)
    gpu_layers: int | None = None  # None: SEXTANT_GPU_LAYERS, else all layers when a GPU exists
    embed: bool = True
    watch: bool = True
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = field(default_factory=lambda: os.environ.get("SEXTANT_TOKEN") or None)
    debounce_ms: int = 50
    max_file_bytes: int = 1 << 20
    log_level: str = field(default_factory=lambda: os.environ.get("SEXTANT_LOG_LEVEL", "INFO"))
