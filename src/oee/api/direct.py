"""The submit served without FastAPI's routing and the per-request middleware stack.

`POST /api/orders/execute` is the API's hot path; a profile of the embedded engine found about
15 % of its time in Starlette's layers around it (each middleware's wrapped `send`, the router's
matching, the exception middleware, FastAPI's handler plumbing). `DirectRoutes` sits outside
them all and answers exactly that request itself, doing what each layer would do for it, with
the same objects: the access check (`AccessMiddleware.admit`, with the app's `AuthFailures`),
the rate limit (`RateLimitMiddleware.check`), the route (`oee.api.orders.accept_order`, the one
submit function), the error handlers (`oee.api.errors.refusal`) and the 503/500 guard
(`UnexpectedErrorMiddleware`). The stream guard has nothing to do for it.

Anything else falls through to the app untouched: other paths and methods, a `root_path`, and
a request with an `Origin` header when CORS is configured (the CORS middleware shapes those).
`tests/integration/test_direct.py` sends the same requests both ways and compares the answers,
and fails when the app stacks a middleware this path does not list in `MIRRORED_MIDDLEWARE`.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oee.api.access import AccessMiddleware
from oee.api.deps import PRINCIPAL
from oee.api.errors import UnexpectedErrorMiddleware, refusal
from oee.api.keys import OPEN, KeyRing, Principal
from oee.api.limits import AuthFailures, RateLimitMiddleware, StreamGuardMiddleware
from oee.api.open_orders import OpenOrders
from oee.api.orders import accept_order
from oee.api.stream_tokens import StreamTokens
from oee.bootstrap import Engine

EXECUTE_PATH = "/api/orders/execute"

# Every middleware the app may stack, each one this path does the work of (or, for the stream
# guard and CORS with an `Origin`, knows it has nothing to do / falls through). A middleware
# added to the app but not here would be skipped silently by the submit:
# `tests/integration/test_direct.py` fails until it is mirrored and listed.
MIRRORED_MIDDLEWARE = frozenset(
    {
        AccessMiddleware,
        RateLimitMiddleware,
        UnexpectedErrorMiddleware,
        StreamGuardMiddleware,
        CORSMiddleware,
    }
)


class DirectRoutes:
    """Serve `POST /api/orders/execute` directly; pass everything else to `app`."""

    def __init__(
        self,
        app: ASGIApp,
        engine: Engine,
        keyring: KeyRing,
        tokens: StreamTokens,
        failures: AuthFailures | None,
        open_orders: OpenOrders,
    ) -> None:
        self.app, self.engine, self.open_orders = app, engine, open_orders
        # The same checks as the stack's, on the same state (the failures' lockouts).
        self.access = AccessMiddleware(app, keyring, tokens, failures) if keyring.enabled else None
        self.rate = RateLimitMiddleware(app, engine)
        self.cors = bool(engine.settings.allowed_origins)

    def _serves(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["path"] != EXECUTE_PATH or scope["method"] != "POST":
            return False
        if scope.get("root_path"):
            return False
        return not (self.cors and any(name == b"origin" for name, _ in scope["headers"]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._serves(scope):
            await self.app(scope, receive, send)
            return
        if self.cors:  # what `CORSMiddleware` adds to an answer to a request without `Origin`
            send = _adding([(b"vary", b"Origin")], send)
        principal: Principal = OPEN
        if self.access is not None:  # as `AccessMiddleware` does: lockout, then the key
            failures = self.access.failures
            locked = failures.lockout(scope) if failures is not None else None
            denied = locked or await self.access.admit(scope)
            if denied is not None:
                await denied(scope, receive, send)
                return
            principal = scope[PRINCIPAL]
        limited, raw = await self.rate.check(scope)
        if limited is not None:
            await limited(scope, receive, send)
            return
        started = False

        async def answer(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        # The rate headers go on whatever is answered from here, as the limiter adds them.
        respond = _adding(raw, answer) if raw else answer
        try:
            try:
                response = await accept_order(
                    Request(scope, receive), self.engine, principal, self.open_orders
                )
            except Exception as exc:  # the app's exception handlers
                refused = refusal(exc)
                if refused is None:
                    raise
                response = refused
            await response(scope, receive, respond)
        except Exception as exc:  # `UnexpectedErrorMiddleware`: 503 or 500, logged
            if started:
                raise
            await UnexpectedErrorMiddleware.answer(scope, exc)(scope, receive, respond)


def _adding(headers: list[tuple[bytes, bytes]], send: Send) -> Send:
    """`send`, with `headers` appended to the answer's start."""

    async def adding(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *headers]}
        await send(message)

    return adding
