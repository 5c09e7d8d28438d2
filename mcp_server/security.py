"""The HTTP guard: one ASGI middleware in front of everything the HTTP server serves.

Checks, in this order, with these answers (docs/http.md):

1. `Host` names this server (loopback names, the bound address, --allowed-host): else 421.
2. `Origin`, when present, is one of those hosts or an --allowed-origin: else 403.
3. Bearer token, when one is configured (always for a non-loopback bind): else 401; a peer
   address past `AUTH_FAILURE_BURST` wrong tokens gets 429 with Retry-After (before its
   token is even compared) until its failure bucket refills at `AUTH_FAILURE_RATE`.
   `GET /healthz` is exempt from 3-7.
4. Per-client token bucket: else 429 with Retry-After. A client is its MCP session (an
   `mcp-session-id` this server issued), else its connection (the stateless protocol
   revisions have no sessions), else its peer address; sessions and connections are
   created at the peer's rate, so a fresh session id or connection buys no extra budget.
5. Request body at most `max_body_bytes`, with or without Content-Length: else 413.
6. A body that names `tools/call` is parsed to count it, and must be JSON (also not nested
   past Python's recursion limit): else 400 with a JSON-RPC parse error, as the SDK answers
   any other malformed body.
7. At most `max_inflight_calls` concurrent `tools/call` requests. A call beyond them waits
   for a slot, first come first served, up to `admission_wait_s`; else 503 with
   Retry-After. (Refusing at once made 50 closed-loop clients on moby retry: 1-5 calls in
   1,000 still failed after 20 retries, and each refusal cost a round trip.)

Buckets, known sessions and known connections are bounded (`_MAX_BUCKETS` each, least
recently used dropped).

The SDK's own DNS-rebinding check is switched off (this guard replaces it and answers on
every path, not only /mcp); its Content-Type check (400) still applies behind this guard.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server.metrics import Metrics
from mcp_server.settings import Settings

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
PUBLIC_PATHS = frozenset({"/healthz"})
SESSION_HEADER = "mcp-session-id"
AUTH_FAILURE_BURST = 10  # wrong tokens a peer may send before it gets 429
AUTH_FAILURE_RATE = 0.5  # ... and one more every 2 s after that
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
    """Token buckets per client key: `rate` tokens a second, at most `burst` saved up; at
    most `max_keys` buckets, the least recently used dropped first (it comes back full)."""

    def __init__(self, rate: float, burst: int, max_keys: int = _MAX_BUCKETS) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the request may pass (one token taken), else the seconds until it could."""
        bucket = self._refilled(key, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return self._wait(bucket)

    def wait(self, key: str, now: float | None = None) -> float:
        """The seconds until `key` has a token (0: it has one now); takes nothing."""
        return 0.0 if key not in self._buckets else self._wait(self._refilled(key, now))

    def _refilled(self, key: str, now: float | None) -> _Bucket:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        return bucket

    def _wait(self, bucket: _Bucket) -> float:
        if bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self.rate if self.rate > 0 else 60.0


class _KnownIds:
    """The MCP session ids this server issued (seen in its responses), or the connections it
    has seen, at most `max_ids`."""

    def __init__(self, max_ids: int = _MAX_BUCKETS) -> None:
        self.max_ids = max_ids
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, session: str) -> None:
        self._ids[session] = None
        self._ids.move_to_end(session)
        if len(self._ids) > self.max_ids:
            self._ids.popitem(last=False)

    def __contains__(self, session: str) -> bool:
        if session not in self._ids:
            return False
        self._ids.move_to_end(session)
        return True


class _TooLarge(Exception):
    pass


class _Malformed(Exception):
    """The request body is not JSON; the message says why."""


class _Turn:
    """A tool call waiting for a slot: woken when a slot is handed over (granted) or when
    the server stops (refused)."""

    __slots__ = ("event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.granted = False


class HttpGuard:
    """ASGI middleware enforcing the checks in the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app, self.settings, self.metrics = app, settings, metrics
        self.hosts = allowed_host_names(settings)
        self.any_host = "*" in settings.allowed_hosts
        self.origins = frozenset(o.rstrip("/").lower() for o in settings.allowed_origins)
        self.token = settings.token.encode() if settings.token else None
        self.limiter = RateLimiter(settings.rate_per_s, settings.rate_burst)
        self.auth_failures = RateLimiter(AUTH_FAILURE_RATE, AUTH_FAILURE_BURST)
        self.sessions = _KnownIds()
        self.connections = _KnownIds()  # "conn:address:port" of connections seen
        self.inflight_calls = 0
        self._waiting: deque[_Turn] = deque()  # calls waiting for a slot, in order
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await self._refuse(scope, receive, send, *refusal)
            return
        send = self._noting_sessions(send)
        if scope["method"] in ("POST", "PUT", "PATCH"):
            await self._with_body(scope, receive, send, headers)
        else:
            await self.app(scope, receive, send)

    def _noting_sessions(self, send: Send) -> Send:
        """`send`, recording the session id of every response that carries one."""
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = Headers(raw=message.get("headers", [])).get(SESSION_HEADER)
                if session:
                    self.sessions.add(session)
            await send(message)

        return noting

    def _refusal(self, scope: Scope, headers: Headers) -> tuple[int, str, dict[str, str]] | None:
        if not self.any_host and host_name(headers.get("host", "")) not in self.hosts:
            return 421, "Misdirected request: this Host is not served here", {}
        origin = headers.get("origin")
        if origin is not None and not self._origin_ok(origin):
            return 403, "Forbidden: cross-origin requests from this Origin are not allowed", {}
        if scope["path"] in PUBLIC_PATHS:
            return None
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        if self.token is not None:
            locked = self.auth_failures.wait(peer)
            if locked > 0:
                return _too_many("too many wrong tokens from this address", locked)
            if not self._token_ok(headers.get("authorization", "")):
                self.auth_failures.take(peer)
                return 401, "Unauthorized: send Authorization: Bearer <token>", {
                    "WWW-Authenticate": 'Bearer realm="sextant"'}
        wait = self._rate_wait(headers, client, peer)
        return _too_many("slow down", wait) if wait > 0 else None

    def _rate_wait(self, headers: Headers, client: tuple[str, int] | None, peer: str) -> float:
        """Seconds until this request's client may make it (0: now, a token taken). A client
        is its MCP session, else its connection (clients of the stateless protocol revisions
        have no session: every loopback client shared one bucket, and 50 of them got 429s
        at 50 calls/s between them), else its address. A session is made by an `initialize`
        charged to its connection, and a connection's first request is also charged to its
        address: new sessions and connections buy no extra budget."""
        session = headers.get(SESSION_HEADER)
        if session and session in self.sessions:
            return self.limiter.take(f"session:{session}")
        if client is None:
            return self.limiter.take(f"peer:{peer}")
        connection = f"conn:{peer}:{client[1]}"
        if connection not in self.connections:
            wait = self.limiter.take(f"peer:{peer}")
            if wait > 0:
                return wait
            self.connections.add(connection)
        return self.limiter.take(connection)

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
        try:
            counted = _is_tool_call(body)
        except _Malformed as exc:
            self.metrics.rejected(400)
            await _parse_error(str(exc))(scope, receive, send)
            return
        if counted and not await self._admit():
            await self._refuse(scope, receive, send, 503, "Busy: too many tool calls in flight",
                               {"Retry-After": "1"})
            return
        messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        messages += trailing

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        try:
            await self.app(scope, replay, send)
        finally:
            if counted:
                self._release()

    async def _admit(self) -> bool:
        """Take a slot for a tool call: at once when one is free and nobody waits, else after
        the calls that came first, waiting at most `admission_wait_s`. False: refused."""
        bound = self.settings.max_inflight_calls
        if self._closing:
            return False
        if self.inflight_calls < bound and not self._waiting:
            self.inflight_calls += 1
            return True
        if bound <= 0 or self.settings.admission_wait_s <= 0:
            return False
        self._loop = asyncio.get_running_loop()
        turn = _Turn()
        self._waiting.append(turn)
        with anyio.move_on_after(self.settings.admission_wait_s):
            await turn.event.wait()
        if turn.event.is_set():  # a finished call handed its slot over, or the server stops
            return turn.granted
        self._waiting.remove(turn)
        return False

    def _release(self) -> None:
        """A call finished: its slot goes to the first waiting call, else back to the pool."""
        if self._waiting:
            turn = self._waiting.popleft()
            turn.granted = True
            turn.event.set()
        else:
            self.inflight_calls -= 1

    def stop_admitting(self) -> None:
        """The server stops (SIGTERM): calls waiting for a slot get 503 now, and new ones at
        once, so the graceful shutdown waits only for the calls already running. Safe from a
        signal handler (the waiting calls are woken on the event loop)."""
        self._closing = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._refuse_waiting)

    def _refuse_waiting(self) -> None:
        while self._waiting:
            self._waiting.popleft().event.set()  # not granted: refused

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


def _too_many(why: str, wait: float) -> tuple[int, str, dict[str, str]]:
    return 429, f"Too many requests: {why}", {"Retry-After": str(max(1, math.ceil(wait)))}


def _parse_error(why: str) -> Response:
    """400 with a JSON-RPC parse error, as the SDK answers a body it cannot parse."""
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
        "code": -32700, "message": f"Parse error: {why}"}}, status_code=400)


def _is_tool_call(body: bytes) -> int:
    """1 when the JSON-RPC body carries a tools/call request (alone or in a batch).

    Raises _Malformed when the body is not JSON, including JSON nested deeper than Python's
    recursion limit (json.loads raises RecursionError, which would otherwise be a 500).
    """
    if b"tools/call" not in body:
        return 0  # not counted; the SDK parses it (with a depth limit) and answers 400
    try:
        data = json.loads(body)
    except RecursionError:
        raise _Malformed("the body is nested too deeply") from None
    except ValueError as exc:
        raise _Malformed(f"the body is not JSON ({exc})") from None
    items: Iterable[object] = data if isinstance(data, list) else [data]
    return int(any(isinstance(m, dict) and m.get("method") == "tools/call" for m in items))
