"""The kill switch over HTTP: `GET`/`POST /api/admin/halt` and `POST /api/admin/resume`.

Admin keys only (`oee.api.access.ADMIN_PREFIXES`). A halt takes effect in every API and worker
process before it answers (`oee.services.halt`); a resume re-queues the orders the halt held, so
they route at once rather than at the recovery sweep's next pass.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import engine_of, principal_of, read_optional_body
from oee.api.errors import ApiError
from oee.api.examples import error_responses, ok
from oee.api.requests import loads_exact
from oee.services.halt import REASON_MAX
from oee.services.recovery import RecoverySweep

router = APIRouter(prefix="/api/admin", tags=["admin"])

_HALTED = {
    "halted": True,
    "reason": "venue outage",
    "by": "ops",
    "since": "2026-12-05T06:00:00+00:00",
}
_TRADING = {"halted": False, "reason": None, "by": "ops", "since": "2026-12-05T06:20:00+00:00"}
_BODY_ERRORS = error_responses(
    "MALFORMED_JSON",
    "BODY_NOT_OBJECT",
    "INCOMPLETE_BODY",
    "BODY_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "VALIDATION_ERROR",
    "SERVICE_UNAVAILABLE",
)
_STATE_DOC = (
    "`halted`, the halt's `reason`, the admin key that last changed it (`by`; null in open "
    "mode) and `since` when (null: never halted)."
)


def _parse(raw: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
    """An optional JSON object holding at most the `allowed` string fields."""
    if not raw.strip():
        return {}
    body = loads_exact(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    errors = []
    for name, value in body.items():
        if name not in allowed:
            shown = name[:40]
            fields = ", ".join(allowed) or "none"
            errors.append({"field": shown, "message": f"unknown field {shown!r}; fields: {fields}"})
        elif not isinstance(value, str) or not 1 <= len(value) <= REASON_MAX:
            errors.append(
                {"field": name, "message": f"{name} must be a string of 1-{REASON_MAX} characters"}
            )
    if errors:
        raise ApiError(422, "VALIDATION_ERROR", "; ".join(e["message"] for e in errors), errors)
    return body


@router.get(
    "/halt",
    summary="Whether trading is halted",
    description=_STATE_DOC,
    responses=ok(_HALTED) | error_responses("SERVICE_UNAVAILABLE"),
)
async def halt_state(request: Request) -> JSONResponse:
    """The kill switch as stored (not this process's cached copy)."""
    return JSONResponse((await engine_of(request).halt.switch.read()).to_wire())


@router.post(
    "/halt",
    summary="Halt trading: no new order routes",
    description="Every process stops letting orders start routing before this answers. "
    "Submits answer 503 `HALTED`; accepted orders that have not started routing (queued "
    "market orders, retries, limit and sniper orders whose trigger fires) wait where they are "
    "and route after the resume; orders already building or submitted finish. Watching limit "
    "and sniper orders stay armed, and cancels still work. Optional body "
    f'`{{"reason": "..."}}` (1-{REASON_MAX} characters). Halting again keeps `since` and '
    "takes the new reason. " + _STATE_DOC,
    responses=ok(_HALTED, "Trading is halted everywhere.") | _BODY_ERRORS,
)
async def halt(request: Request) -> JSONResponse:
    """Set the kill switch."""
    engine = engine_of(request)
    body = _parse(await read_optional_body(request, engine.settings.max_body_bytes), ("reason",))
    state = await engine.halt.set(True, body.get("reason"), principal_of(request).name)
    return JSONResponse(state.to_wire())


@router.post(
    "/resume",
    summary="Resume trading",
    description="Lifts the halt everywhere before answering, and queues the orders it held. "
    "Resuming while trading is a no-op. No body is needed; one, if sent, must be `{}`. "
    + _STATE_DOC,
    responses=ok(_TRADING, "Trading again.") | _BODY_ERRORS,
)
async def resume(request: Request) -> JSONResponse:
    """Clear the kill switch and re-queue the held orders."""
    engine = engine_of(request)
    _parse(await read_optional_body(request, engine.settings.max_body_bytes), ())
    state = await engine.halt.set(False, None, principal_of(request).name)
    # Held orders are unfinished and untouched: the recovery sweep's query finds them; a job
    # still holding one makes its enqueue a no-op.
    sweep = RecoverySweep(engine.store, engine.queue, engine.clock, interval_s=1, stale_after_s=0)
    await sweep.sweep(0)
    return JSONResponse(state.to_wire())
