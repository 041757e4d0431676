"""OpenAPI examples in one place: every error code the HTTP routes answer, and helpers.

`ERRORS` maps each machine code to its HTTP status and a sample message; `error_responses`
turns a list of codes into the `responses=` dict of a route, with one named example per code
under its status, so routes stay short and `/docs` shows every error a route can answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oee.api.openapi import ErrorBody

EXAMPLE_ID = "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10"

# code -> (status, sample message, optional per-field errors)
ERRORS: dict[str, tuple[int, str, list[dict[str, str]] | None]] = {
    # 400
    "MALFORMED_JSON": (
        400,
        "the request body is not valid JSON: Expecting value at line 1 column 1",
        None,
    ),
    "BODY_NOT_OBJECT": (400, "the request body must be a JSON object", None),
    "INCOMPLETE_BODY": (400, "the client closed before sending the body", None),
    "INVALID_IDEMPOTENCY_KEY": (
        400,
        "Idempotency-Key must be 1-255 printable ASCII characters without spaces",
        None,
    ),
    "INVALID_ORDER_ID": (400, "order id 'abc' is not a UUID", None),
    "INVALID_SINCE": (400, "since must be an integer >= 0, got 'x'", None),
    # 401, 403: API keys (only when the engine runs with keys; see `oee.api.access`)
    "UNAUTHENTICATED": (
        401,
        "this engine needs an API key: send Authorization: Bearer <key> or X-API-Key: <key>",
        None,
    ),
    "FORBIDDEN": (403, "this needs an admin key (OEE_ADMIN_KEYS); key 'desk' is not one", None),
    "TOKEN_NOT_ALLOWED": (
        403,
        "tokenOut BONK (DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263) is on this engine's deny "
        "list",
        [
            {
                "field": "tokenOut",
                "message": "tokenOut BONK (DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263) is on "
                "this engine's deny list",
            }
        ],
    ),
    # 404, 405, 409, 413, 415
    "ORDER_NOT_FOUND": (404, f"no order with id {EXAMPLE_ID}", None),
    "METHOD_NOT_ALLOWED": (405, "use POST to execute", None),
    "IDEMPOTENCY_KEY_REUSED": (
        409,
        "this Idempotency-Key was already used for a different order request",
        None,
    ),
    "ORDER_NOT_CANCELLABLE": (
        409,
        f"order {EXAMPLE_ID} is confirmed: only pending or watching orders can be cancelled",
        None,
    ),
    "DUPLICATE_SYMBOL": (409, "a token called MOON exists", None),
    "TOO_MANY_LAUNCHES": (409, "the world holds 1000 launches", None),
    "BODY_TOO_LARGE": (413, "the request body must be at most 16384 bytes", None),
    "UNSUPPORTED_MEDIA_TYPE": (
        415,
        "send the request as JSON with Content-Type: application/json (got 'text/plain')",
        None,
    ),
    # 422
    "VALIDATION_ERROR": (
        422,
        "tokenIn is required",
        [{"field": "tokenIn", "message": "tokenIn is required"}],
    ),
    "UNSUPPORTED_ORDER_TYPE": (
        422,
        "type 'stop' is not an order type; the types are market, limit, sniper",
        [
            {
                "field": "type",
                "message": "type 'stop' is not an order type; the types are market, limit, sniper",
            }
        ],
    ),
    # 422: the rules of limit and sniper orders
    "FIELD_NOT_FOR_TYPE": (
        422,
        "limitPrice does not apply to a market order",
        [{"field": "limitPrice", "message": "limitPrice does not apply to a market order"}],
    ),
    "LIMIT_PRICE_REQUIRED": (
        422,
        "a limit order needs limitPrice",
        [{"field": "limitPrice", "message": "a limit order needs limitPrice"}],
    ),
    "LIMIT_PRICE_INVALID": (
        422,
        "limitPrice must be a finite number greater than zero",
        [
            {
                "field": "limitPrice",
                "message": "limitPrice must be a finite number greater than zero",
            }
        ],
    ),
    "EXPIRY_CONFLICT": (
        422,
        "give expiresAt or ttlSeconds, not both",
        [
            {"field": "expiresAt", "message": "give expiresAt or ttlSeconds, not both"},
            {"field": "ttlSeconds", "message": "give expiresAt or ttlSeconds, not both"},
        ],
    ),
    "EXPIRY_INVALID": (
        422,
        "expiresAt '2026-12-04 18:00' is not an ISO-8601 date-time with a time zone offset "
        "(e.g. 2026-12-04T18:00:00Z)",
        [
            {
                "field": "expiresAt",
                "message": "expiresAt '2026-12-04 18:00' is not an ISO-8601 date-time with a "
                "time zone offset (e.g. 2026-12-04T18:00:00Z)",
            }
        ],
    ),
    "EXPIRY_IN_PAST": (
        422,
        "expiresAt is in the past",
        [{"field": "expiresAt", "message": "expiresAt is in the past"}],
    ),
    "EXPIRY_TOO_FAR": (
        422,
        "an order may wait at most 604800 seconds",
        [{"field": "ttlSeconds", "message": "an order may wait at most 604800 seconds"}],
    ),
    "UNKNOWN_VENUE": (
        422,
        "unknown venue 'orca'; the venues are raydium, meteora",
        [{"field": "venues", "message": "unknown venue 'orca'; the venues are raydium, meteora"}],
    ),
    "PRICE_IMPACT_OUT_OF_RANGE": (
        422,
        "maxPriceImpactBps must be between 1 and 5000",
        [
            {
                "field": "maxPriceImpactBps",
                "message": "maxPriceImpactBps must be between 1 and 5000",
            }
        ],
    ),
    "INVALID_MINT": (
        422,
        "tokenOut 'not-a-mint' is neither a known token nor a valid mint address",
        [
            {
                "field": "tokenOut",
                "message": "tokenOut 'not-a-mint' is neither a known token nor a valid mint "
                "address",
            }
        ],
    ),
    "SNIPER_TOKEN_IN": (
        422,
        "a sniper order pays with SOL or USDC",
        [{"field": "tokenIn", "message": "a sniper order pays with SOL or USDC"}],
    ),
    "UNKNOWN_TOKEN": (
        422,
        "unknown token 'DOGE'; use a symbol (SOL, USDC, ...) or its mint address",
        [
            {
                "field": "tokenIn",
                "message": "unknown token 'DOGE'; use a symbol (SOL, USDC, ...) or its mint address",
            }
        ],
    ),
    "SAME_TOKEN": (
        422,
        "tokenIn and tokenOut must differ",
        [{"field": "tokenOut", "message": "tokenIn and tokenOut must differ"}],
    ),
    "AMOUNT_NOT_NUMBER": (
        422,
        "amount 'abc' is not a number",
        [{"field": "amountIn", "message": "amount 'abc' is not a number"}],
    ),
    "AMOUNT_NOT_POSITIVE": (
        422,
        "amount must be greater than zero",
        [{"field": "amountIn", "message": "amount must be greater than zero"}],
    ),
    "AMOUNT_NOT_FINITE": (
        422,
        "amount must be a finite number",
        [{"field": "amountIn", "message": "amount must be a finite number"}],
    ),
    "AMOUNT_TOO_LARGE": (
        422,
        "amount must be at most 1,000,000,000,000 SOL",
        [{"field": "amountIn", "message": "amount must be at most 1,000,000,000,000 SOL"}],
    ),
    "AMOUNT_TOO_PRECISE": (
        422,
        "USDC has 6 decimals; 0.0000001 is finer than that",
        [{"field": "amountIn", "message": "USDC has 6 decimals; 0.0000001 is finer than that"}],
    ),
    "SLIPPAGE_OUT_OF_RANGE": (
        422,
        "slippageBps must be between 1 and 5000",
        [{"field": "slippageBps", "message": "slippageBps must be between 1 and 5000"}],
    ),
    "INVALID_LIMIT": (
        422,
        "limit must be an integer from 1 to 500, got '0'",
        [{"field": "limit", "message": "an integer from 1 to 500"}],
    ),
    "INVALID_STATUS": (
        422,
        "status must be one of pending, watching, routing, building, submitted, confirmed, "
        "failed, cancelled, expired, got 'done'",
        [
            {
                "field": "status",
                "message": "one of pending, watching, routing, building, submitted, "
                "confirmed, failed, cancelled, expired",
            }
        ],
    ),
    "INVALID_TYPE": (
        422,
        "type must be one of market, limit, sniper, got 'stop'",
        [{"field": "type", "message": "one of market, limit, sniper"}],
    ),
    "INVALID_SINCE_TIME": (
        422,
        "since must be an ISO-8601 date-time with its offset (e.g. 2026-12-04T18:00:00Z) or "
        "a duration back from now (e.g. 90s, 10m, 2h, 7d), got 'yesterday'",
        [{"field": "since", "message": "a date-time with its offset, or a duration like 10m"}],
    ),
    "NO_ROUTE": (
        422,
        "no usable quote (NO_POOL: raydium has no pool for SOL/BONK; NO_POOL: meteora has no pool for SOL/BONK)",
        None,
    ),
    "INVALID_FAULT_RATE": (
        422,
        'rate must be a number from 0 to 1, got "2"',
        [{"field": "rate", "message": 'rate must be a number from 0 to 1, got "2"'}],
    ),
    "UNKNOWN_FAULT_KIND": (
        422,
        "unknown fault kind 'typo'; known: rate, slowConfirmRate, expiredBlockhashRate, "
        "slippageMoveRate",
        [{"field": "typo", "message": "unknown fault kind 'typo'; known: rate, ..."}],
    ),
    # 422: a launch the simulator refuses (`POST /api/sim/pools` relays its code and message)
    "INVALID_SYMBOL": (
        422,
        "symbol must be 1-10 letters or digits",
        [{"field": "symbol", "message": "symbol must be 1-10 letters or digits"}],
    ),
    "INVALID_DECIMALS": (
        422,
        "decimals must be an integer 0-18",
        [{"field": "decimals", "message": "decimals must be an integer 0-18"}],
    ),
    "INVALID_VENUES": (
        422,
        "venues must be distinct names among ['raydium', 'meteora']",
        [
            {
                "field": "venues",
                "message": "venues must be distinct names among ['raydium', 'meteora']",
            }
        ],
    ),
    "UNKNOWN_QUOTE": (
        422,
        "quote must be a registry symbol (SOL, USDC, USDT, BONK, JUP, WIF, RAY)",
        [
            {
                "field": "quote",
                "message": "quote must be a registry symbol (SOL, USDC, USDT, BONK, JUP, WIF, RAY)",
            }
        ],
    ),
    "INVALID_LIQUIDITY": (
        422,
        "liquidity_usd must be a number from 10 to 1E+10",
        [{"field": "liquidityUsd", "message": "liquidity_usd must be a number from 10 to 1E+10"}],
    ),
    "INVALID_PRICE": (
        422,
        "price_usd must be a number from 1E-12 to 1E+9",
        [{"field": "priceUsd", "message": "price_usd must be a number from 1E-12 to 1E+9"}],
    ),
    "INVALID_RESERVES": (
        422,
        "reserves must be two integers of base units, 1000 to 2^64-1",
        [
            {
                "field": "reserves",
                "message": "reserves must be two integers of base units, 1000 to 2^64-1",
            }
        ],
    ),
    # 422: a price move the simulator refuses (`POST /api/sim/move`)
    "INVALID_PAIR": (
        422,
        "pair must look like SOL/USDC, got 'SOL-USDC'",
        [{"field": "pair", "message": "pair must look like SOL/USDC, got 'SOL-USDC'"}],
    ),
    "NO_POOL": (
        422,
        "no venue has a MOON/USDC pool",
        [{"field": "pair", "message": "no venue has a MOON/USDC pool"}],
    ),
    "PEGGED_PAIR": (
        422,
        "USDC and USDT are both pegged at $1; move a pair with a token whose price floats",
        [
            {
                "field": "pair",
                "message": "USDC and USDT are both pegged at $1; move a pair with a token "
                "whose price floats",
            }
        ],
    ),
    "INVALID_PERCENT": (
        422,
        "percent must be a number from -90 to 900, got 1000",
        [{"field": "percent", "message": "percent must be a number from -90 to 900, got 1000"}],
    ),
    # 429: the limits of a key (or, without keys, of an address); see `oee.api.limits`
    "RATE_LIMITED": (
        429,
        "too many requests from key 'desk': at most 50/s (burst 100); retry in 1 s",
        None,
    ),
    "TOO_MANY_OPEN_ORDERS": (
        429,
        "key 'desk' has 1000 unfinished orders, the most allowed "
        "(OEE_MAX_OPEN_ORDERS_PER_KEY=1000): wait for some to finish, or cancel some",
        None,
    ),
    "TOO_MANY_STREAMS": (
        429,
        "key 'desk' has 100 streams open on this server, the most allowed "
        "(OEE_MAX_STREAMS_PER_KEY=100): close one first",
        None,
    ),
    # 5xx
    "INTERNAL_ERROR": (500, "internal error; it has been logged", None),
    "SIMULATOR_ERROR": (502, "the simulator at http://sim/admin/faults answered 500: ...", None),
    "CHAIN_ERROR": (
        502,
        "the chain's RPC node refused to read the wallet: RPC error -32602: Invalid params",
        None,
    ),
    "SERVICE_UNAVAILABLE": (
        503,
        "the order store (database) is unavailable right now; retry shortly",
        None,
    ),
    "QUOTES_UNAVAILABLE": (
        503,
        "no usable quote (VENUE_TIMEOUT: raydium did not quote within 2.0 s; "
        "VENUE_RATE_LIMITED: meteora answered 429)",
        None,
    ),
    "NOT_READY": (503, "not ready: bus is down (timeout after 1.0 s)", None),
    "HALTED": (
        503,
        "trading is halted since 2026-12-05T06:00:00+00:00 (by ops: venue outage): no new "
        "orders until an admin resumes it",
        None,
    ),
    "OVERLOADED": (
        503,
        "the engine is overloaded: queued orders wait 41 s to start (limit 30 s); retry later",
        None,
    ),
    "SIMULATOR_UNAVAILABLE": (
        503,
        "this process runs no simulator and OEE_RPC_URL is not set",
        None,
    ),
}

ORDER_RULES = (
    "UNKNOWN_TOKEN",
    "SAME_TOKEN",
    "AMOUNT_NOT_NUMBER",
    "AMOUNT_NOT_POSITIVE",
    "AMOUNT_NOT_FINITE",
    "AMOUNT_TOO_LARGE",
    "AMOUNT_TOO_PRECISE",
    "SLIPPAGE_OUT_OF_RANGE",
)
# The rules of limit and sniper orders (execute's 422s beside `ORDER_RULES`).
TRIGGER_RULES = (
    "FIELD_NOT_FOR_TYPE",
    "LIMIT_PRICE_REQUIRED",
    "LIMIT_PRICE_INVALID",
    "EXPIRY_CONFLICT",
    "EXPIRY_INVALID",
    "EXPIRY_IN_PAST",
    "EXPIRY_TOO_FAR",
    "UNKNOWN_VENUE",
    "PRICE_IMPACT_OUT_OF_RANGE",
    "INVALID_MINT",
    "SNIPER_TOKEN_IN",
)
# What an error body carries beside code, message and errors, by code.
_EXTRA: dict[str, dict[str, Any]] = {
    "ORDER_NOT_CANCELLABLE": {"status": "confirmed"},
    "HALTED": {"reason": "venue outage", "since": "2026-12-05T06:00:00+00:00"},
}

_DESCRIPTIONS = {
    400: "The request is malformed; `code` says how.",
    404: "Not found.",
    405: "Method not allowed on this path.",
    403: "Refused by this engine's policy; `code` says which.",
    409: "`IDEMPOTENCY_KEY_REUSED`: the Idempotency-Key was used for a different request.",
    413: "The body is larger than the server accepts.",
    415: "The body is not sent as `application/json`.",
    422: "A missing or mistyped field, or a rule broken; `code` says which.",
    429: "A limit of the caller's key (or address) is reached; `code` says which.",
    500: "A bug; it has been logged and no traceback leaks.",
    502: "The simulator refused.",
    503: "A backing service cannot be reached (retry shortly), trading is halted, or the "
    "engine is past capacity (`OVERLOADED`: retry after `Retry-After` seconds).",
}


def error_example(code: str) -> dict[str, Any]:
    """The body of an error answer with `code`, as `/docs` shows it."""
    _, message, errors = ERRORS[code]
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    body.update(_EXTRA.get(code, {}))
    return body


def error_responses(
    *codes: str, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these codes: one per status, one named example per code.

    `INTERNAL_ERROR` (500) is added to every route: any of them can hit a bug.
    """
    by_status: dict[int, list[str]] = {}
    for code in (*codes, "INTERNAL_ERROR"):
        status = ERRORS[code][0]
        if code not in by_status.setdefault(status, []):
            by_status[status].append(code)
    words = {**_DESCRIPTIONS, **(descriptions or {})}
    return {
        status: {
            "model": ErrorBody,
            "description": words[status] + " Codes: " + ", ".join(f"`{c}`" for c in found) + ".",
            "content": {
                "application/json": {
                    "examples": {c: {"summary": c, "value": error_example(c)} for c in found}
                }
            },
        }
        for status, found in sorted(by_status.items())
    }


def ok(
    example: Any,
    description: str = "Successful Response",
    media_type: str = "application/json",
    status: int = 200,
) -> dict[int | str, dict[str, Any]]:
    """A success entry (200 unless `status` says otherwise) of `responses=` carrying `example`."""
    return {status: {"description": description, "content": {media_type: {"example": example}}}}
