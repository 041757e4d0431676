"""The simulator relays: `/api/sim/faults` and `/api/sim/pools` (the dashboard's demo controls).

`GET`/`POST /api/sim/faults` read and change the fault rates (each kind alone or several at
once) of the simulator this engine executes against, for demos and chaos runs; `GET`/`POST /api/sim/pools` list its token launches
and launch a new token's pools (what a sniper waits for). Both relay the simulator's admin routes
(`/admin/faults`, `/admin/pools`): in the embedded default the in-process simulator (reached
through the worker's HTTP client, at `http://sim/`), in production `oee sim` at `OEE_RPC_URL`.
A process that reaches no simulator answers 503 `SIMULATOR_UNAVAILABLE`; a simulator that
answers something unexpected, 502 `SIMULATOR_ERROR`. The public helpers (`forward`, `refusal`,
`reply_json`, `unexpected`) serve the other relays too (`oee.api.sim_moves`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from oee.api.deps import engine_of, read_body
from oee.api.errors import ApiError
from oee.api.examples import error_responses, ok
from oee.api.requests import loads_exact
from oee.api.wallet_sim_models import EXAMPLE_LAUNCH, LaunchRequestBody, LaunchView
from oee.bootstrap import Engine
from oee.sim.faults import KIND_DESCRIPTIONS as FAULT_KINDS
from oee.sim.launches import LAUNCH_FIELDS

router = APIRouter()

EMBEDDED_SIM_URL = "http://sim/"  # the in-process simulator's base URL (see oee.bootstrap)
SIM_TIMEOUT_S = 5.0
NO_STORE = {"Cache-Control": "no-store"}  # the simulator's state changes under the page


# What GET and POST /api/sim/faults answer: every kind (`oee.sim.faults`), by its JSON key.
_FAULT_EXAMPLE = {
    "rate": 0.3,
    "slowConfirmRate": 0.0,
    "expiredBlockhashRate": 0.0,
    "slippageMoveRate": 0.1,
}
_FAULT_SCHEMA = {
    "type": "object",
    "properties": {
        key: {"type": "number", "minimum": 0, "maximum": 1, "description": what}
        for key, what in FAULT_KINDS.items()
    },
    "additionalProperties": False,
}
_FAULT_RESPONSES = ok(_FAULT_EXAMPLE, "Every fault kind's rate now.") | error_responses(
    "SIMULATOR_ERROR", "SIMULATOR_UNAVAILABLE"
)


@router.get(
    "/api/sim/faults",
    tags=["simulator"],
    summary="The simulator's fault rates",
    description="Every fault kind's chance (0 to 1): `rate` (a quote or transaction send fails "
    "transiently), `slowConfirmRate`, `expiredBlockhashRate`, `slippageMoveRate`.",
    responses=_FAULT_RESPONSES,
)
async def get_faults(request: Request) -> JSONResponse:
    """The chance (0 to 1) of each kind of simulated fault."""
    return _rates_answer(await forward(engine_of(request), "GET", "faults"))


@router.post(
    "/api/sim/faults",
    tags=["simulator"],
    summary="Change the simulator's fault rates",
    description='Body: one or more fault kinds and their new chance from 0 to 1, e.g. `{"rate": '
    '0.3}` or `{"slippageMoveRate": 1}`; the kinds not named keep their rate. `rate`: each '
    "simulated quote and transaction send fails transiently (rate limit, stall, node error, "
    "dropped transaction), which exercises retries; `slowConfirmRate`: a transaction lands "
    "late; `expiredBlockhashRate`: the node hands out a stale blockhash; `slippageMoveRate`: a "
    "trade ahead of a swap moves its pool. 0 turns a kind off. The simulator keeps the rates "
    "until it restarts; the `OEE_SIM_*_RATE` settings are the rates it starts with. The answer "
    "is every kind's rate.",
    responses=_FAULT_RESPONSES
    | error_responses(
        "MALFORMED_JSON",
        "BODY_NOT_OBJECT",
        "INCOMPLETE_BODY",
        "BODY_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "INVALID_FAULT_RATE",
        "UNKNOWN_FAULT_KIND",
        "SIMULATOR_ERROR",
        "SIMULATOR_UNAVAILABLE",
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {**_FAULT_SCHEMA, "minProperties": 1},
                    "examples": {
                        "transient": {"summary": "quote and send faults", "value": {"rate": 0.3}},
                        "one kind": {
                            "summary": "one kind alone",
                            "value": {"slippageMoveRate": 1},
                        },
                    },
                }
            },
        }
    },
)
async def set_faults(request: Request) -> JSONResponse:
    """Set one or more of the simulator's fault rates; the others stay."""
    engine = engine_of(request)
    body = loads_exact(await read_body(request, engine.settings.max_body_bytes))
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    reply = await forward(engine, "POST", "faults", _rates(body))
    return _rates_answer(reply)


def _rates(body: dict[str, Any]) -> dict[str, float]:
    """The fault rates a body names, each checked.

    Raises:
        ApiError: 422 `UNKNOWN_FAULT_KIND` for a key that is no fault kind (or none at all),
            422 `INVALID_FAULT_RATE` for a rate that is not a number from 0 to 1.
    """
    known = ", ".join(FAULT_KINDS)
    unknown = sorted(set(body) - set(FAULT_KINDS))
    if unknown or not body:
        field = unknown[0][:40] if unknown else "body"
        message = (
            f"unknown fault kind {field!r}; known: {known}"
            if unknown
            else f"name one or more fault kinds: {known}"
        )
        raise ApiError(422, "UNKNOWN_FAULT_KIND", message, [{"field": field, "message": message}])
    return {key: _rate(key, value) for key, value in body.items()}


def _rate(key: str, value: object) -> float:
    """A fault rate from 0 to 1; raises 422 `INVALID_FAULT_RATE` for anything else."""
    if isinstance(value, Decimal) and value.is_finite() and 0 <= value <= 1:
        return float(value)
    message = f"{key} must be a number from 0 to 1, got {json.dumps(str(value))[:40]}"
    raise ApiError(422, "INVALID_FAULT_RATE", message, [{"field": key, "message": message}])


async def forward(
    engine: Engine, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    """Send the request on to the simulator's `/admin/<path>` and return its answer, any status.

    Raises:
        ApiError: 503 `SIMULATOR_UNAVAILABLE` when this process reaches no simulator, or the
            simulator does not answer.
    """
    rpc_url = engine.settings.rpc_url
    # Without OEE_RPC_URL only a process that executes orders runs the simulator they see; an
    # API-only process's own in-process simulator (its venues' quotes) is not that one.
    if rpc_url is None and (engine.http is None or engine.worker is None):
        raise ApiError(
            503,
            "SIMULATOR_UNAVAILABLE",
            "this process runs no simulator and OEE_RPC_URL is not set",
        )
    url = (rpc_url or EMBEDDED_SIM_URL).rstrip("/") + "/admin/" + path
    try:
        if engine.http is not None:  # the worker's client: in-process sim, or pooled to rpc_url
            return await engine.http.request(method, url, json=body, timeout=SIM_TIMEOUT_S)
        # An API-only process: no client of its own, open one for this call.
        async with httpx.AsyncClient(timeout=SIM_TIMEOUT_S) as client:
            return await client.request(method, url, json=body)
    except httpx.HTTPError as error:
        raise ApiError(
            503, "SIMULATOR_UNAVAILABLE", f"the simulator at {url} did not answer ({error!r})"
        ) from None


def unexpected(reply: httpx.Response) -> ApiError:
    """502 `SIMULATOR_ERROR`: the simulator answered, but not as its admin routes do."""
    return ApiError(
        502,
        "SIMULATOR_ERROR",
        f"the simulator at {reply.request.url} answered {reply.status_code}: {reply.text[:200]}",
    )


def _rates_answer(reply: httpx.Response) -> JSONResponse:
    """Every fault kind's rate, as the simulator answered them, relayed."""
    rates = _reply_rates(reply)
    if rates is None:
        raise unexpected(reply)
    return JSONResponse(rates, headers=NO_STORE)


def _reply_rates(reply: httpx.Response) -> dict[str, float] | None:
    if reply.status_code != 200:
        return None
    try:
        answer = reply.json()
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    rates: dict[str, float] = {}
    for key in FAULT_KINDS:
        rate = answer.get(key)
        if isinstance(rate, int | float) and not isinstance(rate, bool) and math.isfinite(rate):
            rates[key] = float(rate)
        elif key == "rate" or rate is not None:  # every simulator has `rate`; kinds came later
            return None
    return rates


# --- pool launches -------------------------------------------------------------------------

_USD_FIELDS = ("liquidityUsd", "priceUsd")
# The field each of the simulator's launch refusals is about, for the answer's `errors`.
_FIELD_OF_LAUNCH_CODE = {
    "INVALID_SYMBOL": "symbol",
    "DUPLICATE_SYMBOL": "symbol",
    "INVALID_DECIMALS": "decimals",
    "INVALID_VENUES": "venues",
    "UNKNOWN_QUOTE": "quote",
    "INVALID_LIQUIDITY": "liquidityUsd",
    "INVALID_PRICE": "priceUsd",
    "INVALID_RESERVES": "reserves",
}
# The launch rules the simulator enforces: each is a 422 with its own code.
_LAUNCH_REFUSALS = tuple(code for code in _FIELD_OF_LAUNCH_CODE if code != "DUPLICATE_SYMBOL")
_INT_DIGITS_MAX = 30  # past this a number is sent on as text: no million-digit int for 1e999999


@router.get(
    "/api/sim/pools",
    tags=["simulator"],
    summary="The simulator's token launches",
    description="Every token launched in the simulator so far, oldest first: those launched "
    "through `POST /api/sim/pools` (`origin` `request`) and the simulator's own random stream "
    "(`random`, with `OEE_SIM_LAUNCH_INTERVAL_S`). Amounts are exact decimal strings.",
    response_model=list[LaunchView],
    responses=ok([EXAMPLE_LAUNCH], "Every launch so far, oldest first.")
    | error_responses("SIMULATOR_ERROR", "SIMULATOR_UNAVAILABLE"),
)
async def get_pools(request: Request) -> JSONResponse:
    """List the simulator's launches."""
    reply = await forward(engine_of(request), "GET", "pools")
    launches = reply_json(reply, 200)
    if not isinstance(launches, list) or not all(_is_launch(item) for item in launches):
        raise unexpected(reply)
    return JSONResponse(launches, headers=NO_STORE)


@router.post(
    "/api/sim/pools",
    tags=["simulator"],
    summary="Launch a token's pools in the simulator",
    description='Body `{"symbol": "MOON", "decimals": 6}`, and optionally `venues` (default '
    '`["raydium", "meteora"]`), `quote` (the registry token to pair with, default `SOL`), '
    "`liquidityUsd` (each pool's value, default 50000) and `priceUsd` (default 0.001), or "
    '`reserves` `{"base", "quote"}` in base units instead of those two. The simulator mints the '
    "token, opens a pool on each venue and logs the launch on chain (what a sniper waits for); "
    "the answer is the launch: the new mint, each pool's address and reserves, and when. "
    "Amounts may be JSON numbers or decimal strings and are kept exact. The simulator's "
    "refusals keep their code: 422 for a rule broken (`INVALID_SYMBOL`, ...), 409 "
    "`DUPLICATE_SYMBOL` for a symbol any token has (any case).",
    status_code=201,
    response_model=LaunchView,
    responses=ok(EXAMPLE_LAUNCH, "The launch: the new mint and its pools.", status=201)
    | error_responses(
        "MALFORMED_JSON",
        "BODY_NOT_OBJECT",
        "INCOMPLETE_BODY",
        "DUPLICATE_SYMBOL",
        "TOO_MANY_LAUNCHES",
        "BODY_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "VALIDATION_ERROR",
        *_LAUNCH_REFUSALS,
        "SIMULATOR_ERROR",
        "SIMULATOR_UNAVAILABLE",
        descriptions={
            409: "The simulator holds a conflicting launch: a token with this symbol, or as "
            "many launches as it can.",
            422: "A missing or mistyped field, or a rule of the simulator broken; `code` says "
            "which.",
        },
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": LaunchRequestBody.model_json_schema(),
                    "example": {"symbol": "MOON", "decimals": 6},
                }
            },
        }
    },
)
async def launch_pool(request: Request) -> JSONResponse:
    """Launch a token and its pools in the simulator."""
    engine = engine_of(request)
    body = loads_exact(await read_body(request, engine.settings.max_body_bytes))
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    reply = await forward(engine, "POST", "pools", _launch_body(body))
    if reply.status_code in (400, 409):
        raise refusal(reply)
    launch = reply_json(reply, 201)
    if not _is_launch(launch):
        raise unexpected(reply)
    return JSONResponse(launch, status_code=201, headers=NO_STORE)


def _launch_body(body: dict[str, Any]) -> dict[str, Any]:
    """The launch request to send on, its shape checked; the simulator checks its rules.

    Numbers go on exactly: an integer as an integer, anything else as its decimal text (the
    simulator reads either).

    Raises:
        ApiError: 422 `VALIDATION_ERROR` naming every missing, unknown or mistyped field.
    """
    errors: list[dict[str, str]] = []
    for name in ("symbol", "decimals"):
        if body.get(name) is None:
            errors.append({"field": name, "message": f"{name} is required"})
    for name in ("symbol", "quote"):
        if body.get(name) is not None and not isinstance(body[name], str):
            errors.append({"field": name, "message": f"{name} must be a string"})
    venues = body.get("venues")
    if venues is not None and not (
        isinstance(venues, list) and all(isinstance(v, str) for v in venues)
    ):
        message = 'venues must be a list of venue names, such as ["raydium", "meteora"]'
        errors.append({"field": "venues", "message": message})
    for name in _USD_FIELDS:
        if body.get(name) is not None and not _is_number(body[name]):
            message = f"{name} must be a number or a decimal string"
            errors.append({"field": name, "message": message})
    reserves = body.get("reserves")
    if reserves is not None and not isinstance(reserves, dict):
        message = 'reserves must be an object {"base", "quote"} of base units'
        errors.append({"field": "reserves", "message": message})
    for name in sorted(set(body) - set(LAUNCH_FIELDS)):
        message = f"unknown field {name[:40]!r}; known: {', '.join(LAUNCH_FIELDS)}"
        errors.append({"field": name[:40], "message": message})
    if errors:
        message = "; ".join(e["message"] for e in errors)
        raise ApiError(422, "VALIDATION_ERROR", message, errors)
    sent = {name: _plain(value) for name, value in body.items() if value is not None}
    for name in _USD_FIELDS:
        if isinstance(sent.get(name), str):
            sent[name] = sent[name].strip()
    return sent


def _is_number(value: object) -> bool:
    """A JSON number or a string holding one (`loads_exact` made numbers `Decimal`s)."""
    if isinstance(value, Decimal):
        return True
    if not isinstance(value, str) or len(value) > 100:
        return False
    try:
        Decimal(value.strip())
    except InvalidOperation:
        return False
    return True


def _plain(value: Any) -> Any:
    """`value` with every `Decimal` made JSON again: an int when whole, else exact text."""
    if isinstance(value, Decimal):
        whole = value.is_finite() and value == value.to_integral_value()
        if whole and value.adjusted() < _INT_DIGITS_MAX:
            return int(value)
        return str(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def refusal(reply: httpx.Response, fields: Mapping[str, str] = _FIELD_OF_LAUNCH_CODE) -> ApiError:
    """The simulator's 400 or 409 as the API's 422 or 409, with its code and message.

    The simulator's catch-all `BAD_REQUEST` (a body it cannot read) is the API's
    `VALIDATION_ERROR`; any other code is the simulator's own, relayed as is, with the field
    `fields` says it is about.
    """
    answer = reply_json(reply, reply.status_code)
    if not isinstance(answer, dict):
        raise unexpected(reply)
    code, message = answer.get("error"), answer.get("message")
    if not isinstance(code, str) or not code or not isinstance(message, str):
        raise unexpected(reply)
    if reply.status_code == 409:
        return ApiError(409, code, message)
    if code == "BAD_REQUEST":
        code = "VALIDATION_ERROR"
    field = fields.get(code)
    return ApiError(422, code, message, [{"field": field, "message": message}] if field else None)


def reply_json(reply: httpx.Response, status: int) -> Any:
    """The reply's JSON body when it has `status`; raises 502 `SIMULATOR_ERROR` otherwise."""
    if reply.status_code != status:
        raise unexpected(reply)
    try:
        return reply.json()
    except ValueError:
        raise unexpected(reply) from None


def _is_launch(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("symbol"), str)
        and isinstance(value.get("mint"), str)
        and isinstance(value.get("pools"), list)
    )
