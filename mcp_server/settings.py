"""Server and CLI settings: command-line flags over environment variables over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

STATIC_ENV = "SEXTANT_STATIC"  # 0/off/false/no turns the static tier off (default: on)


def static_from_env() -> bool:
    """Whether the static tier is on: unless `$SEXTANT_STATIC` says 0, off, false or no. It
    lifts a lexical-only index's held-out MRR@10 by 64% of the model tier's gain (docs/evals.md)
    for a full index's wall time 1.14-1.33x that of `--no-embed` on moby (median 1.234x,
    docs/benchmarks.md), and a one-shot `sextant search` loads it without llama.cpp."""
    return os.environ.get(STATIC_ENV, "").strip().lower() not in ("0", "off", "false", "no")


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    root: Path
    index_dir: Path | None = None
    repo_name: str | None = None  # what results carry as `repo` (default: the root's name)
    model: str | None = field(default_factory=lambda: os.environ.get("SEXTANT_MODEL") or None)
    gpu_layers: int | None = None  # None: SEXTANT_GPU_LAYERS, else all layers when a GPU exists
    embed: bool = True  # the model tier, in the background
    static: bool = field(default_factory=static_from_env)  # default on
    watch: bool = True
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = field(default_factory=lambda: os.environ.get("SEXTANT_TOKEN") or None)
    debounce_ms: int = 50
    max_file_bytes: int = 1 << 20
    index_secrets: bool = False  # index .env, *.pem, id_rsa... (output is still redacted)
    log_level: str = field(default_factory=lambda: os.environ.get("SEXTANT_LOG_LEVEL", "INFO"))
    # -- HTTP limits (docs/http.md) ----------------------------------------------------------
    allowed_hosts: tuple[str, ...] = field(
        default_factory=lambda: _env_list("SEXTANT_ALLOWED_HOSTS"))  # extra Host names
    allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: _env_list("SEXTANT_ALLOWED_ORIGINS"))  # extra Origins
    max_body_bytes: int = 1 << 20  # 413 above this
    rate_per_s: float = 50.0  # token bucket refill per client
    rate_burst: int = 200  # token bucket size per client
    max_inflight_calls: int = 16  # concurrent tool calls over HTTP; more wait, then 503
    admission_wait_s: float = 10.0  # how long a call beyond the bound waits for a slot
    tool_threads: int = 8  # worker threads for tool calls; more calls queue
    # -- attaching: a stdio server also listens on loopback so other processes can attach -----
    attach_listener: bool = True

    @property
    def repo(self) -> str:
        """The repository's name in results: the configured name, else the root's name."""
        return self.repo_name or self.root.name
