"""The live dashboard at `/`, and the simulator's fault rate behind its demo button.

The page is plain HTML, CSS and JavaScript shipped inside the package (`oee/api/static/`): no
build step and nothing fetched from the internet, so it works offline and from a wheel. It
reads only the public API: the `WS /ws/orders` firehose, `POST /api/orders/execute` and
`GET /api/orders/...`; the page's files stay out of OpenAPI.

`GET`/`POST /api/sim/faults` read and change the fault rate of the simulator this engine
executes against, for demos and chaos runs: in the embedded default the in-process simulator
(reached through the worker's HTTP client, at `http://sim/`), in production `oee sim` at
`OEE_RPC_URL`. A process that reaches no simulator answers 503 `SIMULATOR_UNAVAILABLE`.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from functools import cache
from importlib import resources

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from oee.api.deps import engine_of, read_body
from oee.api.errors import ApiError
from oee.api.examples import error_responses, ok
from oee.api.schemas import loads_exact
from oee.bootstrap import Engine

router = APIRouter()

EMBEDDED_SIM_URL = "http://sim/"  # the in-process simulator's base URL (see oee.bootstrap)
SIM_TIMEOUT_S = 5.0
_STATIC = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page changes with the package; browsers may keep it briefly but must check back.
_CACHE = {"Cache-Control": "no-cache"}


@cache
def _asset(name: str) -> bytes:
    return resources.files("oee.api").joinpath("static", name).read_bytes()


@router.get("/", include_in_schema=False)
async def dashboard() -> Response:
    """The dashboard page."""
    return Response(_asset("dashboard.html"), media_type="text/html; charset=utf-8", headers=_CACHE)


@router.get("/static/{name}", include_in_schema=False)
async def static(name: str) -> Response:
    """The page's script and style sheet (only those: no path ever reaches the filesystem)."""
    media_type = _STATIC.get(name)
    if media_type is None:
        raise ApiError(404, "NOT_FOUND", f"no static file {name[:60]!r}")
    return Response(_asset(name), media_type=media_type, headers=_CACHE)


_FAULT_RESPONSES = ok({"rate": 0.3}, "The simulator's fault rate now.") | error_responses(
    "SIMULATOR_ERROR", "SIMULATOR_UNAVAILABLE"
)


@router.get(
    "/api/sim/faults",
    tags=["simulator"],
    summary="The simulator's fault rate",
    responses=_FAULT_RESPONSES,
)
async def get_faults(request: Request) -> JSONResponse:
    """The chance (0 to 1) that a simulated quote or transaction send fails transiently."""
    return await _forward(engine_of(request), "GET", None)


@router.post(
    "/api/sim/faults",
    tags=["simulator"],
    summary="Change the simulator's fault rate",
    description='Body `{"rate": 0.3}`: from now on each simulated quote and transaction send '
    "fails transiently (rate limit, stall, node error, dropped transaction) with this chance, "
    "which exercises retries. 0 turns faults off. The simulator keeps the rate until it "
    "restarts; `OEE_SIM_FAULT_RATE` is the rate it starts with.",
    responses=_FAULT_RESPONSES
    | error_responses(
        "MALFORMED_JSON",
        "BODY_NOT_OBJECT",
        "INCOMPLETE_BODY",
        "BODY_TOO_LARGE",
        "INVALID_FAULT_RATE",
        "SIMULATOR_ERROR",
        "SIMULATOR_UNAVAILABLE",
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["rate"],
                        "properties": {"rate": {"type": "number", "minimum": 0, "maximum": 1}},
                    },
                    "example": {"rate": 0.3},
                }
            },
        }
    },
)
async def set_faults(request: Request) -> JSONResponse:
    """Set the simulator's fault rate."""
    engine = engine_of(request)
    body = loads_exact(await read_body(request, engine.settings.max_body_bytes))
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    return await _forward(engine, "POST", {"rate": _rate(body.get("rate"))})


def _rate(value: object) -> float:
    """A fault rate from 0 to 1; raises 422 `INVALID_FAULT_RATE` for anything else."""
    if isinstance(value, Decimal) and value.is_finite() and 0 <= value <= 1:
        return float(value)
    if value is None:
        message = "rate is required: a number from 0 to 1"
    else:
        message = f"rate must be a number from 0 to 1, got {json.dumps(str(value))[:40]}"
    raise ApiError(422, "INVALID_FAULT_RATE", message, [{"field": "rate", "message": message}])


async def _forward(engine: Engine, method: str, body: dict[str, float] | None) -> JSONResponse:
    """Send the request on to the simulator's `/admin/faults` and relay its rate."""
    rpc_url = engine.settings.rpc_url
    # Without OEE_RPC_URL only a process that executes orders runs the simulator they see; an
    # API-only process's own in-process simulator (its venues' quotes) is not that one.
    if rpc_url is None and (engine.http is None or engine.worker is None):
        raise ApiError(
            503,
            "SIMULATOR_UNAVAILABLE",
            "this process runs no simulator and OEE_RPC_URL is not set",
        )
    url = (rpc_url or EMBEDDED_SIM_URL).rstrip("/") + "/admin/faults"
    try:
        if engine.http is not None:  # the worker's client: in-process sim, or pooled to rpc_url
            reply = await engine.http.request(method, url, json=body, timeout=SIM_TIMEOUT_S)
        else:  # an API-only process: no client of its own, open one for this call
            async with httpx.AsyncClient(timeout=SIM_TIMEOUT_S) as client:
                reply = await client.request(method, url, json=body)
    except httpx.HTTPError as error:
        raise ApiError(
            503, "SIMULATOR_UNAVAILABLE", f"the simulator at {url} did not answer ({error!r})"
        ) from None
    rate = _reply_rate(reply)
    if rate is None:
        raise ApiError(
            502,
            "SIMULATOR_ERROR",
            f"the simulator at {url} answered {reply.status_code}: {reply.text[:200]}",
        )
    return JSONResponse({"rate": rate}, headers={"Cache-Control": "no-store"})


def _reply_rate(reply: httpx.Response) -> float | None:
    if reply.status_code != 200:
        return None
    try:
        rate = reply.json().get("rate")
    except (ValueError, AttributeError):
        return None
    ok = isinstance(rate, int | float) and not isinstance(rate, bool) and math.isfinite(rate)
    return float(rate) if ok else None
