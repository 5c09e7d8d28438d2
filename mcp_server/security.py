"""The HTTP guard: one ASGI middleware in front of everything the HTTP server serves.

Checks, in this order, with these answers (docs/http.md):

1. `Host` names this server (loopback names, the bound address, --allowed-host): else 421.
2. `Origin`, when present, is one of those hosts or an --allowed-origin: else 403.
3. Bearer token, when one is configured (always for a non-loopback bind): else 401.
   `GET /healthz` is exempt from 3-6.
4. Per-client token bucket (keyed by client address): else 429 with Retry-After.
5. Request body at most `max_body_bytes`, with or without Content-Length: else 413.
6. At most `max_inflight_calls` concurrent `tools/call` requests: else 503 with Retry-After.

The SDK's own DNS-rebinding check is switched off (this guard replaces it and answers on
every path, not only /mcp); its Content-Type check (400) still applies behind this guard.
"""

from __future__ import annotations

import hmac
import json
import math
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server.metrics import Metrics
from mcp_server.settings import Settings

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
PUBLIC_PATHS = frozenset({"/healthz"})
_MAX_BUCKETS = 10_000


def host_name(value: str) -> str:
    """`example.com:8765` -> `example.com`, `[::1]:80` -> `::1`, lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_host_names(settings: Settings) -> frozenset[str]:
    names = set(LOOPBACK_NAMES) | {host_name(h) for h in settings.allowed_hosts}
    if settings.host in WILDCARD_BINDS:
        names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
    else:
        names.add(host_name(settings.host))
    return frozenset(names)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets per client key: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may pass, else the seconds until it could."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate if self.rate > 0 else 60.0


class _TooLarge(Exception):
    pass


class HttpGuard:
    """ASGI middleware enforcing the checks in the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app, self.settings, self.metrics = app, settings, metrics
        self.hosts = allowed_host_names(settings)
        self.any_host = "*" in settings.allowed_hosts
        self.origins = frozenset(o.rstrip("/").lower() for o in settings.allowed_origins)
        self.token = settings.token.encode() if settings.token else None
        self.limiter = RateLimiter(settings.rate_per_s, settings.rate_burst)
        self.inflight_calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await self._refuse(scope, receive, send, *refusal)
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            await self._with_body(scope, receive, send, headers)
        else:
            await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, str, dict[str, str]] | None:
        if not self.any_host and host_name(headers.get("host", "")) not in self.hosts:
            return 421, "Misdirected request: this Host is not served here", {}
        origin = headers.get("origin")
        if origin is not None and not self._origin_ok(origin):
            return 403, "Forbidden: cross-origin requests from this Origin are not allowed", {}
        if scope["path"] in PUBLIC_PATHS:
            return None
        if self.token is not None and not self._token_ok(headers.get("authorization", "")):
            return 401, "Unauthorized: send Authorization: Bearer <token>", {
                "WWW-Authenticate": 'Bearer realm="sextant"'}
        client = scope.get("client")
        wait = self.limiter.take(client[0] if client else "unknown")
        if wait > 0:
            return 429, "Too many requests: slow down", {"Retry-After": str(math.ceil(wait))}
        return None

    def _origin_ok(self, origin: str) -> bool:
        if origin.rstrip("/").lower() in self.origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (
            self.any_host or (parts.hostname or "").lower() in self.hosts)

    def _token_ok(self, header: str) -> bool:
        assert self.token is not None
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode(), self.token)

    async def _with_body(self, scope: Scope, receive: Receive, send: Send,
                         headers: Headers) -> None:
        try:
            body, trailing = await self._read_body(receive, headers)
        except _TooLarge:
            await self._refuse(scope, receive, send, 413, "Request body too large", {})
            return
        counted = _is_tool_call(body)
        if counted and self.inflight_calls >= self.settings.max_inflight_calls:
            await self._refuse(scope, receive, send, 503, "Busy: too many tool calls in flight",
                               {"Retry-After": "1"})
            return
        messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        messages += trailing

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        self.inflight_calls += counted
        try:
            await self.app(scope, replay, send)
        finally:
            self.inflight_calls -= counted

    async def _read_body(self, receive: Receive, headers: Headers) -> tuple[bytes, list[Message]]:
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return bytes(body), [message]
            body += message.get("body", b"")
            if len(body) > limit:
                raise _TooLarge
            if not message.get("more_body", False):
                return bytes(body), []

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      text: str, headers: dict[str, str]) -> None:
        self.metrics.rejected(status)
        response = PlainTextResponse(text + "\n", status_code=status, headers=headers)
        await response(scope, receive, send)


def _is_tool_call(body: bytes) -> int:
    """1 when the JSON-RPC body carries a tools/call request (alone or in a batch)."""
    if b"tools/call" not in body:
        return 0
    try:
        data = json.loads(body)
    except ValueError:
        return 0
    items: Iterable[object] = data if isinstance(data, list) else [data]
    return int(any(isinstance(m, dict) and m.get("method") == "tools/call" for m in items))
