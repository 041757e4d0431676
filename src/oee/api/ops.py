"""Operations routes: `GET /metrics` for Prometheus, `GET /ready` for load balancers, and
`GET /api/engine` for clients that size their load (what this process runs at once).

`/health` (in `oee.api.app`) says the process is up; `/ready` says it can do its job right now,
by pinging what it depends on. A process that executes orders (`oee serve`, `oee worker`) also
asks the chain's JSON-RPC node `getHealth`; an API-only process sends no transactions (it only
quotes), so it has no chain to check.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

import oee
from oee.api.deps import engine_of
from oee.api.examples import error_responses, ok
from oee.api.openapi import EngineView
from oee.bootstrap import Engine

log = structlog.get_logger(__name__)
router = APIRouter(tags=["service"])

# Each dependency gets this long: a load balancer's probe usually times out after a few seconds,
# and one slow dependency must not make the whole answer late.
CHECK_TIMEOUT_S = 1.0
_NO_STORE = {"Cache-Control": "no-store"}
_REASON_MAX = 200

EMBEDDED_RPC_URL = "http://sim/"  # the in-process simulator's JSON-RPC (see oee.bootstrap)
_HEALTH_REQUEST = {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}

_READY_EXAMPLE = {
    "ready": True,
    "checks": {"store": "ok", "queue": "ok", "bus": "ok", "chain": "ok"},
}
_NOT_READY_EXAMPLE = {
    "ready": False,
    "code": "NOT_READY",
    "message": "not ready: bus is down (timeout after 1.0 s)",
    "checks": {"store": "ok", "queue": "ok", "bus": "timeout after 1.0 s", "chain": "ok"},
}
_METRICS_EXAMPLE = (
    "# HELP oee_orders_total Orders that reached a final status.\n"
    "# TYPE oee_orders_total counter\n"
    'oee_orders_total{status="confirmed"} 42.0\n'
)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Orders by final status, stage and end-to-end latencies, queue depth and wait, "
    "retries by code, venue quote latency and errors, routing wins, WebSocket connections, and "
    "process metrics, in the Prometheus text format (OpenMetrics when the `Accept` header asks "
    "for it). Executor metrics come from the process that runs the worker.",
    response_class=Response,
    responses=ok(_METRICS_EXAMPLE, "The exposition.", "text/plain")
    | error_responses("SERVICE_UNAVAILABLE"),
)
async def metrics(request: Request) -> Response:
    """Render this process's registry, after reading the queue depth."""
    engine = engine_of(request)
    await engine.metrics.queue_depth.refresh(engine.queue)
    body, content_type = engine.metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type, headers=_NO_STORE)


@router.get(
    "/ready",
    summary="Readiness",
    description="Pings the order store, the job queue and the event bus concurrently, each "
    f"within {CHECK_TIMEOUT_S} s, and, in a process that executes orders (`oee serve`, "
    "`oee worker`), asks the chain's JSON-RPC node `getHealth` (check `chain`). An API-only "
    "process (`oee api`) executes no orders and reports no `chain` check. 200 when all "
    "answer; 503 `NOT_READY` naming what is down.",
    responses=ok(_READY_EXAMPLE, "Every dependency answered.")
    | error_responses()
    | {
        503: {
            "content": {
                "application/json": {
                    "examples": {"NOT_READY": {"summary": "NOT_READY", "value": _NOT_READY_EXAMPLE}}
                }
            },
            "description": "`NOT_READY`: a dependency is down; `checks` says which and why.",
        },
    },
)
async def ready(request: Request) -> JSONResponse:
    """200 `{"ready": true, "checks": {...}}`, or 503 with code `NOT_READY` and what is down."""
    checks = await readiness(engine_of(request))
    down = {name: result for name, result in checks.items() if result != "ok"}
    if not down:
        return JSONResponse({"ready": True, "checks": checks}, headers=_NO_STORE)
    message = "not ready: " + "; ".join(f"{name} is down ({why})" for name, why in down.items())
    body = {"ready": False, "code": "NOT_READY", "message": message, "checks": checks}
    return JSONResponse(body, status_code=503, headers=_NO_STORE)


@router.get(
    "/api/engine",
    summary="This engine process: its version and its worker slots",
    description="`workerSlots` is how many orders this process executes at once "
    "(OEE_WORKER_CONCURRENCY) when it runs a worker (`oee serve`); null for an API-only "
    "process (`oee api`), whose orders run in separate `oee worker` processes of "
    "OEE_WORKER_CONCURRENCY slots each. More orders in flight than slots wait in the queue.",
    response_model=EngineView,
    responses=ok({"version": oee.__version__, "workerSlots": 10})
    | error_responses("SERVICE_UNAVAILABLE"),
)
async def engine_info(request: Request) -> JSONResponse:
    """The package version and, in a process with a worker, its slots."""
    engine = engine_of(request)
    slots = engine.settings.worker.concurrency if engine.worker is not None else None
    return JSONResponse({"version": oee.__version__, "workerSlots": slots})


async def readiness(engine: Engine) -> dict[str, str]:
    """Ping every dependency at once; "ok" or the reason it failed, by dependency."""
    pings: dict[str, Callable[[], Awaitable[None]]] = {
        "store": engine.store.ping,
        "queue": engine.queue.ping,
        "bus": engine.bus.ping,
    }
    # Only a process that executes orders depends on the chain (an API-only one just quotes).
    if engine.worker is not None and engine.http is not None:
        client, url = engine.http, engine.settings.rpc_url or EMBEDDED_RPC_URL
        pings["chain"] = lambda: _ping_chain(client, url)
    results = await asyncio.gather(*(_check(name, ping) for name, ping in pings.items()))
    return dict(zip(pings, results, strict=True))


async def _ping_chain(client: httpx.AsyncClient, url: str) -> None:
    """Ask the JSON-RPC node at `url` `getHealth`; raise unless it answers "ok"."""
    reply = await client.post(url, json=_HEALTH_REQUEST, timeout=CHECK_TIMEOUT_S)
    if reply.status_code != 200:
        raise RuntimeError(f"getHealth answered HTTP {reply.status_code}")
    body = reply.json()
    if not isinstance(body, dict) or body.get("result") != "ok":
        fault = body.get("error") if isinstance(body, dict) else body
        raise RuntimeError(f"getHealth answered {json.dumps(fault)[:120]}")


async def _check(name: str, ping: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await ping()
    except TimeoutError:
        log.warning("not_ready", dependency=name, error="timeout")
        return f"timeout after {CHECK_TIMEOUT_S} s"
    except Exception as error:
        log.warning("not_ready", dependency=name, error=repr(error))
        # The first line only: driver errors append the SQL and a docs link on later lines.
        first_line = next(iter(str(error).strip().splitlines()), "")
        reason = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        return reason if len(reason) <= _REASON_MAX else reason[: _REASON_MAX - 3] + "..."
    return "ok"
