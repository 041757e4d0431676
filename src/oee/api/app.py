"""The FastAPI application: HTTP routes, the order WebSocket and one error shape for both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from oee import __version__
from oee.api import dashboard, firehose, ops, orders, sse, streams
from oee.api.errors import install_error_handlers
from oee.bootstrap import Engine

SERVICE = "order-execution-engine"

DESCRIPTION = """
Executes token swap orders on Solana DEXs (Raydium and Meteora), routing each order to the
venue with the best net output, and streams every step of its life.

**Streaming.** `WS /ws/orders/{orderId}` first sends
`{"type": "snapshot", "orderId", "seq", "order": <order view>}`, then every later event
(`pending`, `routing`, `building`, `submitted`, `confirmed` or `failed`, ...) exactly once, in
`seq` order, and closes with 1000 after a terminal event. Reconnect with `?since=<seq>` to
replay the events after `seq` instead of a snapshot. A malformed id or `since` gets an
`{"type": "error", "code", "message"}` frame and close code 4400; an unknown order 4404.

**Errors.** Every 4xx and 5xx body is `{"code": "<MACHINE_CODE>", "message": "..."}`, with an
`errors` list of `{field, message}` when fields are at fault. 400 `MALFORMED_JSON`,
`BODY_NOT_OBJECT`, `INVALID_ORDER_ID`; 404 `ORDER_NOT_FOUND`, `NOT_FOUND`; 405
`METHOD_NOT_ALLOWED`; 413 `BODY_TOO_LARGE`; 422 `VALIDATION_ERROR`, `UNSUPPORTED_ORDER_TYPE`,
`INVALID_LIMIT` and the order rules (`UNKNOWN_TOKEN`, `SAME_TOKEN`, `AMOUNT_NOT_POSITIVE`,
`AMOUNT_NOT_FINITE`, `AMOUNT_NOT_NUMBER`, `AMOUNT_TOO_LARGE`, `AMOUNT_TOO_PRECISE`,
`SLIPPAGE_OUT_OF_RANGE`); 503 `SERVICE_UNAVAILABLE`; 500 `INTERNAL_ERROR`.
"""


def create_app(engine: Engine) -> FastAPI:
    """Build the API around a ready-made engine.

    The app's lifespan starts the engine (bus, and the worker when `engine.run_worker`) and
    stops it on shutdown, so serving the app is all a process needs to do.

    Args:
        engine: The object graph from `oee.bootstrap` (or a test's own).

    Returns:
        The ASGI application.
    """

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
    install_error_handlers(app)

    @app.get("/health", tags=["service"], summary="Liveness")
    async def health() -> JSONResponse:
        """The process is up (it does not probe the store or Redis)."""
        return JSONResponse({"ok": True, "service": SERVICE, "env": engine.settings.env})

    app.include_router(orders.router)
    app.include_router(streams.router)
    app.include_router(sse.router)
    app.include_router(firehose.router)
    app.include_router(ops.router)
    app.include_router(dashboard.router)
    return app
