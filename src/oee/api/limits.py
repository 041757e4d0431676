"""Rate limits and quotas: how often, and how much at once, each client may use the API.

A client is its API key (by name), or, in open mode and on the paths that need no key, the
address uvicorn reports for the connection. That address is the peer's, or the one in
`X-Forwarded-For` only when the peer is a proxy uvicorn is told to trust (`FORWARDED_ALLOW_IPS`,
by default 127.0.0.1 alone); nothing here reads forwarding headers itself.

- **Rate** (`OEE_RATE_LIMIT`, `OEE_RATE_LIMIT_BURST`; `RateLimitMiddleware`): every HTTP request
  and WebSocket handshake except `/health`, `/ready` and `/metrics` is counted by the engine's
  `RateLimiter` (GCRA: `oee.domain.ratelimit`). Beyond the limit: 429 `RATE_LIMITED` with
  `Retry-After` (whole seconds, at least 1); a WebSocket handshake is refused with the same
  answer. Every counted answer, 429 or not (the WebSocket upgrade too), carries the fields of
  the IETF draft `draft-ietf-httpapi-ratelimit-headers-06`: `RateLimit-Limit` (the burst),
  `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the whole burst is available again)
  and `RateLimit-Policy` (`<burst>;w=<seconds an empty budget takes to refill>`). If the
  limiter's store cannot be reached, requests pass unlimited and without these headers (the
  Redis adapter says why it fails open).
- **Wrong keys** (`AuthFailures`, used by `oee.api.access`): each client address may fail
  authentication `AUTH_FAILURE_POLICY` times (10 at once, then one a second). Once it has spent
  them, every request from it that needs a key is refused with 429 `RATE_LIMITED` and
  `Retry-After` before its key is even looked at, until the budget refills: a key guesser gets
  about one guess a second and learns nothing from the refusals (a right key is refused too).
  Counted by the same limiter (shared through Redis), so `OEE_RATE_LIMIT=off` turns it off too.
- **Open orders** (`OEE_MAX_OPEN_ORDERS_PER_KEY`; `oee.api.open_orders`): a submit while the key
  has that many unfinished orders answers 429 `TOO_MANY_OPEN_ORDERS` (no `Retry-After`: room
  comes back when an order finishes or is cancelled, not at a known time). 429 rather than 409:
  the request is fine and the same request later succeeds, which is what 429 tells clients and
  their retry policies; 409 would say the request itself conflicts with something.
- **Streams** (`OEE_MAX_STREAMS_PER_KEY`; `StreamGuardMiddleware`): open WebSockets and SSE
  streams per client, counted per API process (a count shared through Redis would outlive a
  crashed process; the per-process cap bounds what one process holds, which is what it
  protects). One more: refused with 429 `TOO_MANY_STREAMS` (at the handshake for a WebSocket).
- **Idle streams** (`OEE_STREAM_IDLE_TIMEOUT_S`): a WebSocket that sent no frame and received
  none for that long gets an `IDLE_TIMEOUT` error frame and close code 4408; an SSE stream with
  no event gets an `error` event and ends. The server's keep-alives (WebSocket pings, SSE
  comment lines) are not activity: they keep proxies from cutting the connection, not the
  client's interest alive. A client that wants a quiet stream kept open sends any text message
  now and then (the server ignores its content).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from oee.api.deps import PRINCIPAL, refuse_handshake
from oee.api.errors import error_response
from oee.api.examples import error_example
from oee.api.keys import Principal
from oee.bootstrap import Engine
from oee.domain.ports import RateLimiter
from oee.domain.ratelimit import RateDecision, RatePolicy

EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
CLOSE_IDLE_TIMEOUT = 4408  # a WebSocket closed for idleness (408: Request Timeout)
_SSE_PATH = re.compile(r"/api/orders/[^/]+/events")
_SSE_TEMPLATE = "/api/orders/{order_id}/events"
_EXECUTE = ("/api/orders/execute", "post")
_STARTS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})


def client_of(scope: Scope) -> str:
    """Whom a request counts against: `key:<name>`, or `addr:<host>` without a key."""
    principal: Principal | None = scope.get(PRINCIPAL)
    if principal is not None and principal.name is not None:
        return f"key:{principal.name}"
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


def _who(client: str) -> str:
    kind, _, name = client.partition(":")
    return f"key {name!r}" if kind == "key" else f"address {name}"


def rate_headers(decision: RateDecision, policy: RatePolicy) -> dict[str, str]:
    """The `RateLimit-*` fields (draft 06) of an answer, and `Retry-After` on a refusal."""
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_s),
        "RateLimit-Policy": f"{policy.burst};w={policy.window_s}",
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after_s)
    return headers


EXPOSED_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")


async def _refuse(scope: Scope, receive: Receive, send: Send, response: JSONResponse) -> None:
    if scope["type"] == "http":
        await response(scope, receive, send)
    else:
        await refuse_handshake(WebSocket(scope, receive, send), response)


class RateLimitMiddleware:
    """Count every request and handshake against its client's rate; 429 beyond it.

    Installed inside `AccessMiddleware`, so the caller's key is known (and a request without a
    valid key is refused before it costs the key's owner anything).
    """

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        # None, either of them: nothing is limited (`OEE_RATE_LIMIT=off`, or an engine built
        # without a limiter, as tests build theirs).
        self.limiter: RateLimiter | None = engine.rate_limiter
        self.policy: RatePolicy | None = engine.settings.rate_policy
        self.refused = engine.metrics.limited_for("RATE_LIMITED")

    async def check(self, scope: Scope) -> tuple[JSONResponse | None, list[tuple[bytes, bytes]]]:
        """Count the request: its refusal, or None and the headers to add to its answer.

        Shared with `oee.api.direct`, which serves the hot routes without this middleware.
        """
        if (
            self.limiter is None
            or self.policy is None
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in EXEMPT_PATHS
        ):
            return None, []
        client = client_of(scope)
        decision = await self.limiter.hit(client, self.policy)
        if decision is None:  # the limiter's store is unreachable: fail open (it logged why)
            return None, []
        headers = rate_headers(decision, self.policy)
        if not decision.allowed:
            self.refused.inc()
            message = (
                f"too many requests from {_who(client)}: at most {self.policy}; "
                f"retry in {decision.retry_after_s} s"
            )
            return error_response(429, "RATE_LIMITED", message, headers=headers), []
        return None, [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal, raw = await self.check(scope)
        if refusal is not None:
            await _refuse(scope, receive, send, refusal)
            return
        if not raw:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] in _STARTS:
                message = {**message, "headers": [*message.get("headers", ()), *raw]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Wrong keys per client address: ten at once, then one a second.
AUTH_FAILURE_POLICY = RatePolicy(count=1, period_s=1, burst=10)
_LOCKS_KEPT = 10_000  # past this many locked addresses, the expired ones are forgotten


class AuthFailures:
    """Failed authentications per client address, and the addresses locked out for a while.

    The count lives in the engine's `RateLimiter`; the lock (when this process saw the budget
    spent) in this process, so a locked address is refused without a key check or a round trip.
    """

    def __init__(self, engine: Engine) -> None:
        self.limiter: RateLimiter | None = engine.rate_limiter  # None: nothing is limited
        self.locked: dict[str, float] = {}  # client -> monotonic time its lock ends
        self.refused = engine.metrics.limited_for("RATE_LIMITED")

    def lockout(self, scope: Scope) -> JSONResponse | None:
        """The 429 for a caller whose address is locked out, or None if it may try a key."""
        client = client_of(scope)
        until = self.locked.get(client)
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del self.locked[client]
            return None
        return self._refusal(client, max(1, math.ceil(left)))

    async def failed(self, scope: Scope) -> JSONResponse | None:
        """Count a failed authentication; the 429 if it spent the address's budget."""
        if self.limiter is None:
            return None
        client = client_of(scope)
        decision = await self.limiter.hit(f"auth-failures:{client}", AUTH_FAILURE_POLICY)
        if decision is None or decision.allowed:  # None: the store is down, fail open
            return None
        if len(self.locked) >= _LOCKS_KEPT:
            now = time.monotonic()
            self.locked = {c: t for c, t in self.locked.items() if t > now}
        self.locked[client] = time.monotonic() + decision.retry_after_us / 1_000_000
        return self._refusal(client, decision.retry_after_s)

    def _refusal(self, client: str, retry_after_s: int) -> JSONResponse:
        self.refused.inc()
        message = (
            f"too many failed authentications from {_who(client)}: every request from it is "
            f"refused for {retry_after_s} s"
        )
        headers = {"Retry-After": str(retry_after_s), "Cache-Control": "no-store"}
        return error_response(429, "RATE_LIMITED", message, headers=headers)


class StreamGuardMiddleware:
    """Cap the streams each client holds open on this process, and close idle WebSockets."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app, self.engine = app, engine  # its settings are read for each stream
        self.open: Counter[str] = Counter()  # streams open on this process, by client
        self.refused = engine.metrics.limited_for("TOO_MANY_STREAMS")
        self.idled = engine.metrics.limited_for("IDLE_TIMEOUT")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = scope["type"] == "websocket"
        sse = scope["type"] == "http" and _SSE_PATH.fullmatch(scope["path"]) is not None
        if not (websocket or sse):
            await self.app(scope, receive, send)
            return
        client = client_of(scope)
        cap, idle_s = (
            self.engine.settings.max_streams_per_key,
            self.engine.settings.stream_idle_timeout_s,
        )
        if cap is not None and self.open[client] >= cap:
            self.refused.inc()
            message = (
                f"{_who(client)} has {self.open[client]} streams open on this server, the most "
                f"allowed (OEE_MAX_STREAMS_PER_KEY={cap}): close one first"
            )
            await _refuse(scope, receive, send, error_response(429, "TOO_MANY_STREAMS", message))
            return
        self.open[client] += 1
        try:
            if websocket and idle_s is not None:
                await _IdleWatch(idle_s, self.idled.inc).run(self.app, scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            self.open[client] -= 1
            if self.open[client] <= 0:
                del self.open[client]


def idle_frame(timeout_s: float) -> dict[str, Any]:
    """The error frame (WebSocket) or event (SSE) sent before an idle stream is closed."""
    return {
        "type": "error",
        "code": "IDLE_TIMEOUT",
        "message": f"no event and no message from the client for {timeout_s:g} s: closing; "
        "reconnect to go on (an order's stream with ?since=<last seq>), and send any text "
        "message now and then to keep a quiet stream open",
    }


class _IdleWatch:
    """One WebSocket's idle timer, between the server and the route.

    Activity is a frame sent by the route or received from the client. When the socket has
    been idle for `timeout_s`, the watch sends the `IDLE_TIMEOUT` frame and closes it (4408),
    then tells the route the client left (a `websocket.disconnect` on its `receive`), so the
    route ends the way it does when a client goes: its subscription closed, its counters back.

    The timer is a loop callback (`call_at`), re-armed when it fires early because of activity
    since: no task per socket, and a frame costs one clock read. A task exists only to close.
    """

    def __init__(self, timeout_s: float, on_idle: Callable[[], None]) -> None:
        self.timeout_s, self.on_idle = timeout_s, on_idle
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()
        self.closed: asyncio.Future[None] = self.loop.create_future()  # done: closed for idleness
        self.pending: asyncio.Future[Message] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.closer: asyncio.Task[None] | None = None

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        closed = self.closed

        async def guarded_send(message: Message) -> None:
            if closed.done():
                return  # closed for idleness: what the route still sends goes nowhere
            await send(message)
            kind = message["type"]
            if kind == "websocket.send":
                self.last = self.loop.time()
            elif kind == "websocket.accept":
                self.last = self.loop.time()
                self._arm(send)

        async def guarded_receive() -> Message:
            if not closed.done():
                if self.pending is None:
                    # Kept across calls: a receive cancelled half-way could lose a message.
                    self.pending = asyncio.ensure_future(receive())
                either: set[asyncio.Future[Any]] = {self.pending, closed}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if self.pending.done():
                    message, self.pending = self.pending.result(), None
                    if message["type"] == "websocket.receive":
                        self.last = self.loop.time()
                    return message
            return {"type": "websocket.disconnect", "code": CLOSE_IDLE_TIMEOUT}

        try:
            await app(scope, guarded_receive, guarded_send)
        finally:
            if self.timer is not None:
                self.timer.cancel()
            if self.pending is not None:
                self.pending.cancel()
            if self.closer is not None:  # let the close frames go out (the route ended on them)
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self.closer

    def _arm(self, send: Send) -> None:
        self.timer = self.loop.call_at(self.last + self.timeout_s, self._expire, send)

    def _expire(self, send: Send) -> None:
        if self.loop.time() < self.last + self.timeout_s:  # active since it was armed
            self._arm(send)
            return
        self.timer = None
        self.closed.set_result(None)
        self.on_idle()
        self.closer = self.loop.create_task(self._close(send))

    async def _close(self, send: Send) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "websocket.send", "text": json.dumps(idle_frame(self.timeout_s))})
            await send({"type": "websocket.close", "code": CLOSE_IDLE_TIMEOUT, "reason": "idle"})


def install_limits(app: FastAPI, engine: Engine) -> None:
    """Add the stream guard and the rate limiter. Call it before `AccessMiddleware` is added,
    so that they run after it: the caller's key is known. Both read the engine when the app
    first serves (Starlette builds its middleware then)."""
    app.add_middleware(StreamGuardMiddleware, engine=engine)
    app.add_middleware(RateLimitMiddleware, engine=engine)


_HEADER_DOCS = {
    "Retry-After": "Seconds to wait before retrying (429 RATE_LIMITED only).",
    "RateLimit-Limit": "Requests the client may make at once (the burst).",
    "RateLimit-Remaining": "Requests the client may still make right now.",
    "RateLimit-Reset": "Seconds until the whole burst is available again.",
    "RateLimit-Policy": "`<burst>;w=<seconds an empty budget takes to refill>`.",
}


def _header_docs(*names: str) -> dict[str, Any]:
    return {n: {"description": _HEADER_DOCS[n], "schema": {"type": "string"}} for n in names}


def document_limits(schema: dict[str, Any]) -> None:
    """Declare the 429s on every counted operation (and the rate headers on its answers);
    `TOO_MANY_OPEN_ORDERS` on the submit and `TOO_MANY_STREAMS` on the SSE stream.

    Declared whether or not this engine limits anything: one document for every deployment.
    """
    for path, methods in schema.get("paths", {}).items():
        if path in EXEMPT_PATHS:
            continue
        for method, operation in methods.items():
            codes = ["RATE_LIMITED"]
            if (path, method) == _EXECUTE:
                codes.append("TOO_MANY_OPEN_ORDERS")
            if path == _SSE_TEMPLATE:
                codes.append("TOO_MANY_STREAMS")
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    response.setdefault("headers", {}).update(_header_docs(*EXPOSED_HEADERS))
            operation["responses"]["429"] = {
                "description": "A limit of the caller's key (or address, without keys) is "
                "reached. Codes: " + ", ".join(f"`{c}`" for c in codes) + ".",
                "headers": _header_docs("Retry-After", *EXPOSED_HEADERS),
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ErrorBody"},
                        "examples": {c: {"summary": c, "value": error_example(c)} for c in codes},
                    }
                },
            }
            operation["responses"] = dict(sorted(operation["responses"].items()))
