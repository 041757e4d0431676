"""The FastAPI application: HTTP routes, the order WebSocket and one error shape for both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from oee import __version__
from oee.api import (
    admin,
    dashboard,
    firehose,
    ops,
    orders,
    quotes,
    sim_moves,
    sim_relays,
    sse,
    stream_tokens,
    streams,
    wallet,
)
from oee.api.access import AccessMiddleware, document_access
from oee.api.deps import websocket_not_found
from oee.api.direct import DirectRoutes
from oee.api.errors import install_error_handlers
from oee.api.examples import ok
from oee.api.keys import KeyRing, load_keyring
from oee.api.limits import EXPOSED_HEADERS, AuthFailures, document_limits, install_limits
from oee.api.open_orders import OpenOrders
from oee.api.stream_tokens import StreamTokens, signing_secret
from oee.bootstrap import Engine

SERVICE = "order-execution-engine"

DESCRIPTION = """
Executes token swap orders on Solana DEXs (Raydium and Meteora), routing each order to the
venue with the best net output, and streams every step of its life.

**Streaming.** `WS /ws/orders/{orderId}` first sends
`{"type": "snapshot", "orderId", "seq", "order": <order view>}`, then every later event
(`pending`, `routing`, `building`, `submitted`, `confirmed` or `failed`, ...) exactly once, in
`seq` order, and closes with 1000 after a terminal event. A limit or sniper order goes
`pending` → `watching` (with its `trigger`) and, when the trigger fires, `routing` (with
`triggeredBy`: the price, or the launch's pool, signature and slot); a limit order whose price
moved away before its swap goes back to `watching` (`error` `LIMIT_NOT_MET`). It may end
`cancelled` (`POST /api/orders/{id}/cancel`) or `expired`, each with a `reason`. Reconnect with `?since=<seq>` to
replay the events after `seq` instead of a snapshot. A malformed id or `since` gets an
`{"type": "error", "code", "message"}` frame and close code 4400; an unknown order 4404.

**Access.** With API keys configured (`OEE_API_KEYS`, `OEE_ADMIN_KEYS`), every call except
`/health`, `/ready` and these docs needs one, as `Authorization: Bearer <key>` or
`X-API-Key: <key>` (a WebSocket may pass `?token=` from `POST /api/stream-tokens` instead):
401 `UNAUTHENTICATED` without a valid key, 403 `FORBIDDEN` for an admin-only call (`/metrics`,
`/api/sim/...`, the kill switch `/api/admin/...`) with another key. Each order belongs to the key that placed it; another key
gets 404 `ORDER_NOT_FOUND` for it and never sees it listed or streamed. Admin keys see every
order. An engine without keys runs open and ignores keys.

**Limits.** Each key (each client address, without keys) may make `OEE_RATE_LIMIT` requests
(default 50 a second, 100 at once); every call but `/health`, `/ready` and `/metrics` counts,
WebSocket handshakes too. Beyond it: 429 `RATE_LIMITED` with `Retry-After`. Every counted answer
carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`
(IETF draft-ietf-httpapi-ratelimit-headers-06). A key may have `OEE_MAX_OPEN_ORDERS_PER_KEY`
unfinished orders (429 `TOO_MANY_OPEN_ORDERS` beyond) and `OEE_MAX_STREAMS_PER_KEY` open streams
per server (429 `TOO_MANY_STREAMS`, at the handshake for a WebSocket). A stream with no event and
no message from its client for `OEE_STREAM_IDLE_TIMEOUT_S` (300 s) is closed: an
`IDLE_TIMEOUT` error frame and close code 4408 (SSE: an `error` event); send any text message
to keep a quiet WebSocket open.

**Risk checks.** A token outside `OEE_TOKEN_ALLOWLIST` or on `OEE_TOKEN_DENYLIST` is 403
`TOKEN_NOT_ALLOWED` at submit; while trading is halted (`POST /api/admin/halt`) every submit is
503 `HALTED`, accepted orders that have not started routing wait, and `POST /api/admin/resume`
lets them go. Checks that need the routing quote fail the order before anything is signed:
`RISK_PRICE_IMPACT`, `NOTIONAL_LIMIT_EXCEEDED`, `NOTIONAL_UNKNOWN`, `RISK_NOTIONAL_RATE`,
`INSUFFICIENT_BALANCE`.

**Errors.** Every 4xx and 5xx body is `{"code": "<MACHINE_CODE>", "message": "..."}`, with an
`errors` list of `{field, message}` when fields are at fault. 400 `MALFORMED_JSON`,
`BODY_NOT_OBJECT`, `INVALID_ORDER_ID`; 401 `UNAUTHENTICATED`; 403 `FORBIDDEN`, `TOKEN_NOT_ALLOWED`; 404 `ORDER_NOT_FOUND`, `NOT_FOUND`; 405
`METHOD_NOT_ALLOWED`; 409 `IDEMPOTENCY_KEY_REUSED`, `ORDER_NOT_CANCELLABLE` (with the order's
`status`); 413 `BODY_TOO_LARGE`; 415 `UNSUPPORTED_MEDIA_TYPE`; 422 `VALIDATION_ERROR`,
`UNSUPPORTED_ORDER_TYPE`, `INVALID_LIMIT`, `INVALID_STATUS`, `INVALID_TYPE` and the order
rules (`UNKNOWN_TOKEN`, `SAME_TOKEN`, `AMOUNT_NOT_POSITIVE`, `AMOUNT_NOT_FINITE`,
`AMOUNT_NOT_NUMBER`, `AMOUNT_TOO_LARGE`, `AMOUNT_TOO_PRECISE`, `SLIPPAGE_OUT_OF_RANGE`; for
limit and sniper orders `FIELD_NOT_FOR_TYPE`, `LIMIT_PRICE_REQUIRED`, `LIMIT_PRICE_INVALID`,
`EXPIRY_CONFLICT`, `EXPIRY_INVALID`, `EXPIRY_IN_PAST`, `EXPIRY_TOO_FAR`, `UNKNOWN_VENUE`,
`PRICE_IMPACT_OUT_OF_RANGE`, `INVALID_MINT`, `SNIPER_TOKEN_IN`), `NO_ROUTE`; 429 `RATE_LIMITED`,
`TOO_MANY_OPEN_ORDERS`, `TOO_MANY_STREAMS`; 502 `CHAIN_ERROR`; 503 `SERVICE_UNAVAILABLE`,
`QUOTES_UNAVAILABLE`, `HALTED`, `OVERLOADED` (with `Retry-After`); 500 `INTERNAL_ERROR`. The simulator relays (`/api/sim/...`, a demo
surface) add 422 `INVALID_FAULT_RATE`, `UNKNOWN_FAULT_KIND`, the launch rules (`INVALID_SYMBOL`, ...) and the price
moves' (`INVALID_PAIR`, `NO_POOL`, `PEGGED_PAIR`, `INVALID_PERCENT`), 409
`DUPLICATE_SYMBOL`, `TOO_MANY_LAUNCHES`, 502 `SIMULATOR_ERROR`, 503 `SIMULATOR_UNAVAILABLE`;
each endpoint's responses list its own codes with examples.
"""


def create_app(
    engine: Engine, keyring: KeyRing | None = None, *, direct: bool | None = None
) -> FastAPI:
    """Build the API around a ready-made engine.

    The app's lifespan starts the engine (bus, and the worker when `engine.run_worker`) and
    stops it on shutdown, so serving the app is all a process needs to do.

    Args:
        engine: The object graph from `oee.bootstrap` (or a test's own).
        keyring: The API keys; by default read from `engine.settings` (none: open mode).
        direct: Serve the submit outside the middleware stack (`oee.api.direct`); by default
            as `OEE_API_DIRECT_SUBMIT` says (true).

    Returns:
        The ASGI application.

    Raises:
        KeyConfigError: The key settings are invalid.
    """
    if keyring is None:
        keyring = load_keyring(engine.settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.stop()

    app = FastAPI(
        title="Order Execution Engine",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.keyring = keyring
    app.state.stream_tokens = StreamTokens(keyring, signing_secret(engine.settings, keyring))
    app.state.open_orders = OpenOrders(engine)
    # One lockout state for the stack and the direct path.
    failures = AuthFailures(engine) if keyring.enabled else None
    install_error_handlers(app)
    # Inside the access check (added before it): limits count the authenticated key.
    install_limits(app, engine)
    if keyring.enabled:
        # Outside the routes and inside CORS, so a preflight needs no key and a refusal still
        # carries the CORS headers a configured origin's page needs to read it.
        app.add_middleware(
            AccessMiddleware,
            keyring=keyring,
            tokens=app.state.stream_tokens,
            failures=failures,
        )
    if engine.settings.allowed_origins:
        # Only when asked: a browser page from another origin may then call the API. Without
        # this no CORS header is ever sent, so other origins' pages cannot read any answer or
        # send JSON (a JSON POST needs a preflight this app never grants).
        app.add_middleware(
            CORSMiddleware,
            allow_origins=sorted(engine.settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "Retry-After", *EXPOSED_HEADERS],
        )

    if engine.settings.api_direct_submit if direct is None else direct:
        # Outermost: the submit skips every layer above, doing what each does for it itself.
        app.add_middleware(
            DirectRoutes,
            engine=engine,
            keyring=keyring,
            tokens=app.state.stream_tokens,
            failures=failures,
            open_orders=app.state.open_orders,
        )

    @app.get(
        "/health",
        tags=["service"],
        summary="Liveness",
        responses=ok({"ok": True, "service": SERVICE, "env": "production"}),
    )
    async def health() -> JSONResponse:
        """The process is up (it does not probe the store or Redis)."""
        return JSONResponse({"ok": True, "service": SERVICE, "env": engine.settings.env})

    routers = (
        orders.router, quotes.router, wallet.router, streams.router, sse.router,
        stream_tokens.router, firehose.router, ops.router, sim_relays.router, sim_moves.router,
        admin.router, dashboard.router,
    )  # fmt: skip
    # Flat, for the 405 answer's Allow header (FastAPI nests the routers it includes).
    app.state.routes = [*app.router.routes, *(route for r in routers for route in r.routes)]
    for router in routers:
        app.include_router(router)
    app.router.default = websocket_not_found(app.router.default)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, minus the 422 it adds to routes with parameters on its own, plus
    this engine's `maxPriceImpactBps` cap and the API key requirements.

    Routes parse their own input and document the 422s they can answer (with examples) via
    `oee.api.examples`; FastAPI's generic `HTTPValidationError` would describe a body they never
    send, so it goes, and so do its schemas.
    """
    if app.openapi_schema is None:
        engine_settings = app.state.engine.settings
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
        )
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                answer = operation.get("responses", {}).get("422", {})
                ref = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if ref.get("$ref", "").endswith("/HTTPValidationError"):
                    del operation["responses"]["422"]
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        orders.document_price_impact_cap(schema, engine_settings.max_price_impact_cap_bps)
        document_access(schema)
        document_limits(schema)
        app.openapi_schema = schema
    return app.openapi_schema
