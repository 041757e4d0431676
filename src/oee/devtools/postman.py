"""The Postman collection (format v2.1) of the engine's HTTP API, generated from one table.

Every request's scripts are written in a small, fixed vocabulary (see `script_for`), so that
`tests/e2e/test_postman.py` can run the committed file against a live engine without Postman or
Node and check exactly what the scripts assert. Postman's v2.1 format cannot hold WebSocket
requests (postmanlabs/postman-app-support#11252), so the two streams are documented in the
collection's description instead, with their URLs in `WS_URLS`.

    python -m oee.devtools.postman           # rewrite postman/order-execution-engine...json
    python -m oee.devtools.postman --check   # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from oee.api.order_examples import (
    EXAMPLE_CANCELLED_ORDER,
    EXAMPLE_LIMIT_ORDER,
    EXAMPLE_ORDER,
    EXAMPLE_TIMELINE,
)
from oee.api.wallet_sim_models import EXAMPLE_LAUNCH, EXAMPLE_MOVE, EXAMPLE_WALLET

SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
NAME = "Order Execution Engine"
RELATIVE_PATH = Path("postman") / "order-execution-engine.postman_collection.json"
ORDER_STREAM_URL = "{{wsBaseUrl}}/ws/orders/{{orderId}}"
FIREHOSE_URL = "{{wsBaseUrl}}/ws/orders?recent=20"
WS_URLS = (ORDER_STREAM_URL, FIREHOSE_URL)
UNKNOWN_ORDER_ID = "00000000-0000-4000-8000-000000000000"
_EXAMPLE_ID = str(EXAMPLE_ORDER["orderId"])
_JSON = "application/json"


@dataclass(frozen=True)
class Call:
    """One request of the collection and everything its scripts assert.

    Attributes:
        name: The request's name in Postman.
        method: HTTP method.
        path: Path after `{{baseUrl}}`; may use `{{variables}}`.
        status: The documented status; the test script's first assertion.
        description: Markdown shown beside the request.
        query: Query parameters, in order.
        headers: Request headers besides Content-Type; values may use `{{variables}}`.
        body: Raw JSON body text (deliberately broken for some error examples).
        fresh: Collection variables set to a new GUID before the request is sent.
        equals: Response fields that must equal a JSON literal.
        same_as: Response fields that must equal a collection variable.
        has: Response fields that must be present.
        kind: "array" or "object" when the body's type is asserted.
        header_equals: Response headers that must have a value.
        contains: Text the (non-JSON) response body must contain.
        saves: Collection variables set from a response field when the status is as documented.
        example: The body of the saved example response (text when `media` is not JSON).
        media: The example response's content type.
    """

    name: str
    method: str
    path: str
    status: int
    description: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    fresh: tuple[str, ...] = ()
    equals: tuple[tuple[str, Any], ...] = ()
    same_as: tuple[tuple[str, str], ...] = ()
    has: tuple[str, ...] = ()
    kind: str | None = None
    header_equals: tuple[tuple[str, str], ...] = ()
    contains: tuple[str, ...] = ()
    saves: tuple[tuple[str, str], ...] = ()
    example: Any = None
    media: str = _JSON


def _body(value: Any) -> str:
    return json.dumps(value, indent=2)


def _error(
    name: str,
    status: int,
    code: str,
    message: str,
    description: str,
    *,
    method: str = "POST",
    path: str = "/api/orders/execute",
    body: str | None = None,
    query: tuple[tuple[str, str], ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
) -> Call:
    return Call(
        name=name,
        method=method,
        path=path,
        status=status,
        description=description,
        query=query,
        headers=headers,
        body=body,
        equals=(("code", code),),
        has=("message",),
        example={"code": code, "message": message},
    )


_MARKET = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}
# A limit price no SOL/USDC pool pays, so the order waits until it is cancelled.
_LIMIT = {
    "type": "limit",
    "tokenIn": "SOL",
    "tokenOut": "USDC",
    "amountIn": "0.5",
    "limitPrice": "1000000",
    "ttlSeconds": 3600,
}
# A valid mint no pool trades and nothing launches: the sniper order waits until cancelled.
SNIPER_MINT = "CozpnbMWCNTmc3N4YdWJMixMiuBX5otpMoewzDdV4GsU"
_SNIPER = {
    "type": "sniper",
    "tokenIn": "SOL",
    "tokenOut": SNIPER_MINT,
    "amountIn": 0.1,
    "slippageBps": 300,
    "venues": ["raydium", "meteora"],
    "maxPriceImpactBps": 800,
    "ttlSeconds": 3600,
}
_SNIPER_ACCEPTED = {
    "orderId": "9a1e5b3c-6d7f-4a8b-8c2d-1e0f9a8b7c6d",
    "wsUrl": "/ws/orders/9a1e5b3c-6d7f-4a8b-8c2d-1e0f9a8b7c6d",
}
_ACCEPTED = {"orderId": _EXAMPLE_ID, "wsUrl": f"/ws/orders/{_EXAMPLE_ID}"}
_IDEMPOTENT = (("Idempotency-Key", "{{idempotencyKey}}"),)
# The default of `{{launchSymbol}}`; a digit keeps it clear of the simulator's random launches.
LAUNCH_SYMBOL = "MOON1"
_LAUNCH = {"symbol": "{{launchSymbol}}", "decimals": 6}

SERVICE: tuple[Call, ...] = (
    Call(
        name="Health",
        method="GET",
        path="/health",
        status=200,
        description="Liveness: the process is up. It does not probe PostgreSQL or Redis.",
        equals=(("ok", True), ("service", "order-execution-engine")),
        has=("env",),
        example={"ok": True, "service": "order-execution-engine", "env": "development"},
    ),
    Call(
        name="Ready",
        method="GET",
        path="/ready",
        status=200,
        description=(
            "Readiness: pings the order store, the job queue and the event bus. 200 when all "
            "answer; 503 `NOT_READY` with `checks` naming what is down."
        ),
        equals=(("ready", True),),
        has=("checks",),
        example={"ready": True, "checks": {"store": "ok", "queue": "ok", "bus": "ok"}},
    ),
    Call(
        name="Engine",
        method="GET",
        path="/api/engine",
        status=200,
        description=(
            "The package version and `workerSlots`: how many orders this process executes at "
            "once (null for an API-only process, whose workers run apart). More orders in "
            "flight than slots wait in the queue."
        ),
        has=("version", "workerSlots"),
        example={"version": "0.1.0", "workerSlots": 10},
    ),
    Call(
        name="Metrics",
        method="GET",
        path="/metrics",
        status=200,
        description="Prometheus text format (OpenMetrics when `Accept` asks for it).",
        contains=("# TYPE oee_",),
        example=(
            "# HELP oee_orders_total Orders that reached a final status, by order type and "
            'status.\n# TYPE oee_orders_total counter\noee_orders_total{status="confirmed",'
            'type="market"} 1.0\n'
        ),
        media="text/plain",
    ),
)

ORDERS: tuple[Call, ...] = (
    Call(
        name="Execute a market order",
        method="POST",
        path="/api/orders/execute",
        status=200,
        description=(
            "Validates the order, stores it as `pending` and queues it. The test script saves "
            "`orderId` as a collection variable for the requests below and for the WebSocket "
            f"stream `{ORDER_STREAM_URL}`."
        ),
        body=_body(_MARKET),
        has=("orderId", "wsUrl"),
        saves=(("orderId", "orderId"),),
        example=_ACCEPTED,
    ),
    Call(
        name="Execute with an exact decimal-string amount",
        method="POST",
        path="/api/orders/execute",
        status=200,
        description=(
            "`amountIn` may be a decimal string, kept exact down to the token's decimals; "
            "`slippageBps` is optional (default 50 = 0.5 %)."
        ),
        body=_body({"tokenIn": "USDC", "tokenOut": "BONK", "amountIn": "250.000001"}),
        has=("orderId", "wsUrl"),
        example=_ACCEPTED,
    ),
    Call(
        name="Execute with an Idempotency-Key",
        method="POST",
        path="/api/orders/execute",
        status=200,
        description=(
            "A client that may retry sends an `Idempotency-Key` (1-255 printable ASCII "
            "characters). The pre-request script makes a fresh key for each run."
        ),
        headers=_IDEMPOTENT,
        body=_body({**_MARKET, "amountIn": 0.25}),
        fresh=("idempotencyKey",),
        has=("orderId", "wsUrl"),
        saves=(("idempotentOrderId", "orderId"),),
        example=_ACCEPTED,
    ),
    Call(
        name="Repeat the same request with the same key",
        method="POST",
        path="/api/orders/execute",
        status=200,
        description=(
            "Within 24 h the same key and body return the same order instead of a new one, "
            "marked by the header `Idempotent-Replayed: true`."
        ),
        headers=_IDEMPOTENT,
        body=_body({**_MARKET, "amountIn": 0.25}),
        same_as=(("orderId", "idempotentOrderId"),),
        header_equals=(("Idempotent-Replayed", "true"),),
        example=_ACCEPTED,
    ),
    Call(
        name="Get an order",
        method="GET",
        path="/api/orders/{{orderId}}",
        status=200,
        description=(
            "Everything persisted about the order saved by *Execute a market order*: every "
            "venue's quote, the routing decision, the signed transaction, attempts and result."
        ),
        same_as=(("orderId", "orderId"),),
        has=("status", "seq", "quotes", "routing", "transaction", "result", "attempts"),
        example=EXAMPLE_ORDER,
    ),
    Call(
        name="Order timeline",
        method="GET",
        path="/api/orders/{{orderId}}/timeline",
        status=200,
        description=(
            "The order's status and every persisted event so far, oldest first, each exactly as "
            "the streams send it (`seq`, `type`, `at`, and the event's fields). Answers at once, "
            "even while the order is in flight (the streams wait for its end)."
        ),
        same_as=(("orderId", "orderId"),),
        has=("status", "events"),
        example=EXAMPLE_TIMELINE,
    ),
    Call(
        name="Order events (Server-Sent Events)",
        method="GET",
        path="/api/orders/{{orderId}}/events",
        query=(("since", "0"),),
        status=200,
        description=(
            "The order's stream for clients without WebSocket, as `text/event-stream`: each "
            "event's SSE `id` is its `seq` and its `event` its type. `?since=0` replays the "
            "whole life of the order (without it, a `snapshot` event comes first); a browser's "
            "`EventSource` resumes with `Last-Event-ID`. The response ends after a terminal "
            "event, so Postman shows it once the order is finished."
        ),
        contains=("id: 1\nevent: pending\n",),
        example=(
            'id: 1\nevent: pending\ndata: {"type": "pending", "orderId": "'
            + _EXAMPLE_ID
            + '", "seq": 1, "attempt": 1}\n\n'
            'id: 5\nevent: confirmed\ndata: {"type": "confirmed", "orderId": "'
            + _EXAMPLE_ID
            + '", "seq": 5, "txHash": "5VfY...", "executedPrice": 150.18, '
            '"chosenDex": "meteora"}\n\n'
        ),
        media="text/event-stream",
    ),
    Call(
        name="Get a stream token",
        method="POST",
        path="/api/stream-tokens",
        status=200,
        description="A token valid for a minute that opens a stream as your key: "
        "`{{wsBaseUrl}}/ws/orders?token=<token>` (browsers cannot send headers on a "
        "WebSocket; other clients send the key itself). An engine without keys answers a token "
        "too, which its streams ignore.",
        has=("token", "expiresAt"),
        example={
            "token": "ZGVzawoxNzY0MDYwMDYwCmYxZDRhOWMyYjdlMDM4NmQ.3q2-7wEjRWeJq83vASNFZ4mrze8BI0Vn",
            "expiresAt": "2026-11-25T09:01:00Z",
        },
    ),
    Call(
        name="Execute a limit order",
        method="POST",
        path="/api/orders/execute",
        status=200,
        description=(
            '`"type": "limit"` waits (`watching`) until the best quote for the order\'s size '
            "pays at least `limitPrice` (whole tokenOut per whole tokenIn) and then executes, "
            "never below it. `expiresAt` (RFC 3339 with an offset) or `ttlSeconds` bound the "
            "wait (default 24 h, at most 7 days); `maxPriceImpactBps` is optional. This one asks "
            "a price no pool pays, so it waits until *Cancel the limit order*; the test script "
            "saves `limitOrderId`."
        ),
        body=_body(_LIMIT),
        has=("orderId", "wsUrl"),
        saves=(("limitOrderId", "orderId"),),
        example={"orderId": EXAMPLE_LIMIT_ORDER["orderId"], "wsUrl": "/ws/orders/..."},
    ),
    Call(
        name="Get the limit order",
        method="GET",
        path="/api/orders/{{limitOrderId}}",
        status=200,
        description=(
            "The order view of a limit order adds `trigger` (`kind` `price`, `limitPrice`, "
            "`expiresAt`), `triggeredBy` (null until it fires: then the price and venue) and "
            "`maxPriceImpactBps`."
        ),
        same_as=(("orderId", "limitOrderId"),),
        equals=(("type", "limit"),),
        has=("status", "trigger", "triggeredBy", "maxPriceImpactBps"),
        example=EXAMPLE_LIMIT_ORDER,
    ),
    Call(
        name="Execute a sniper order",
        method="POST",
        path="/api/orders/execute",
        status=200,
        description=(
            '`"type": "sniper"` buys `tokenOut`, any valid mint address (traded yet or not), '
            "with `amountIn` of SOL or USDC as soon as its first pool opens on one of `venues` "
            "(default both), within `slippageBps` and `maxPriceImpactBps`. This mint never "
            "launches, so the order waits until *Cancel the sniper order*. (To see one fire, "
            "submit a sniper for the `launchMint` of *Launch a pool* before launching it.)"
        ),
        body=_body(_SNIPER),
        has=("orderId", "wsUrl"),
        saves=(("sniperOrderId", "orderId"),),
        example=_SNIPER_ACCEPTED,
    ),
    Call(
        name="Cancel the limit order",
        method="POST",
        path="/api/orders/{{limitOrderId}}/cancel",
        status=200,
        description=(
            "A `pending` or `watching` order ends `cancelled` (its stream gets the `cancelled` "
            "event); the answer is the order. No body is needed. Once an order is routing or "
            "later the answer is 409 `ORDER_NOT_CANCELLABLE` with its `status`."
        ),
        equals=(("status", "cancelled"),),
        same_as=(("orderId", "limitOrderId"),),
        has=("reason",),
        example=EXAMPLE_CANCELLED_ORDER,
    ),
    Call(
        name="Cancel the limit order again",
        method="POST",
        path="/api/orders/{{limitOrderId}}/cancel",
        status=200,
        description="Cancelling is idempotent: a cancelled order answers the same again.",
        equals=(("status", "cancelled"),),
        example=EXAMPLE_CANCELLED_ORDER,
    ),
    Call(
        name="Cancel the sniper order",
        method="POST",
        path="/api/orders/{{sniperOrderId}}/cancel",
        status=200,
        description="The sniper order of *Execute a sniper order*, cancelled while it waits.",
        equals=(("status", "cancelled"), ("type", "sniper")),
        example={**EXAMPLE_CANCELLED_ORDER, "type": "sniper"},
    ),
    Call(
        name="Recent cancelled limit orders",
        method="GET",
        path="/api/orders/recent",
        query=(("status", "cancelled"), ("type", "limit"), ("limit", "5")),
        status=200,
        description="`recent` filtered by `status` and `type` (each optional).",
        kind="array",
        example=[EXAMPLE_CANCELLED_ORDER],
    ),
    Call(
        name="Active orders",
        method="GET",
        path="/api/orders/active",
        status=200,
        description="How many orders are not yet terminal, and their ids (up to 1000).",
        has=("activeCount", "orderIds"),
        example={"activeCount": 1, "orderIds": [_EXAMPLE_ID]},
    ),
    Call(
        name="Recent orders",
        method="GET",
        path="/api/orders/recent",
        query=(("limit", "20"),),
        status=200,
        description="The most recently created orders, newest first; `limit` is 1-500.",
        kind="array",
        example=[EXAMPLE_ORDER],
    ),
    Call(
        name="Quote every venue",
        method="GET",
        path="/api/quotes",
        query=(
            ("tokenIn", "SOL"),
            ("tokenOut", "USDC"),
            ("amountIn", "1.5"),
            ("slippageBps", "50"),
        ),
        status=200,
        description="Every venue's quote and the routing decision for this swap, without "
        "placing an order. No usable quote: 503 `QUOTES_UNAVAILABLE` (retryable) or 422 "
        "`NO_ROUTE`.",
        has=("quotes", "errors", "routing"),
        example={
            "tokenIn": EXAMPLE_ORDER["tokenIn"],
            "tokenOut": EXAMPLE_ORDER["tokenOut"],
            "amountIn": 1.5,
            "amountInBaseUnits": "1500000000",
            "slippageBps": 50,
            "quotes": EXAMPLE_ORDER["quotes"],
            "errors": {},
            "routing": EXAMPLE_ORDER["routing"],
        },
    ),
)

WALLET: tuple[Call, ...] = (
    Call(
        name="Engine wallet",
        method="GET",
        path="/api/wallet",
        status=200,
        description=(
            "The public key every worker signs swaps with (one wallet per deployment, "
            "`OEE_WALLET_PATH`), its SOL and every SPL Token account it owns, read from the "
            "chain at request time. Amounts are exact decimal strings; `symbol` is null for a "
            "mint outside the registry. 503 `SERVICE_UNAVAILABLE` when the chain cannot be "
            "reached, 502 `CHAIN_ERROR` when it refuses the read."
        ),
        kind="object",
        has=("address", "sol", "lamports", "tokens"),
        example=EXAMPLE_WALLET,
    ),
)

ERRORS: tuple[Call, ...] = (
    _error(
        "Malformed JSON",
        400,
        "MALFORMED_JSON",
        "the request body is not valid JSON: Expecting property name enclosed in double "
        "quotes at line 1 column 19",
        "A body that is not JSON at all.",
        body='{"tokenIn": "SOL",',
    ),
    _error(
        "Body is not an object",
        400,
        "BODY_NOT_OBJECT",
        "the request body must be a JSON object",
        "Valid JSON, but not an object.",
        body=_body(["SOL", "USDC", 1.5]),
    ),
    _error(
        "Missing fields",
        422,
        "VALIDATION_ERROR",
        "tokenOut is required; amountIn is required",
        "Every missing or mistyped field is named in `errors` (`{field, message}`).",
        body=_body({"tokenIn": "SOL"}),
    ),
    _error(
        "Unknown token",
        422,
        "UNKNOWN_TOKEN",
        "unknown token 'DOGE'; use a symbol (SOL, USDC, USDT, BONK, JUP, WIF, RAY) or its "
        "mint address",
        "Tokens are symbols (any case) or mint addresses of the supported list.",
        body=_body({"tokenIn": "SOL", "tokenOut": "DOGE", "amountIn": 1}),
    ),
    _error(
        "Same token in and out",
        422,
        "SAME_TOKEN",
        "tokenIn and tokenOut must differ",
        "A swap needs two different tokens.",
        body=_body({"tokenIn": "SOL", "tokenOut": "SOL", "amountIn": 1}),
    ),
    _error(
        "Amount not positive",
        422,
        "AMOUNT_NOT_POSITIVE",
        "amount must be greater than zero",
        "`amountIn` must be greater than zero.",
        body=_body({"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": -1}),
    ),
    _error(
        "Amount finer than the token's decimals",
        422,
        "AMOUNT_TOO_PRECISE",
        "USDC has 6 decimals; 1E-7 is finer than that",
        "USDC has 6 decimals, so 0.0000001 USDC cannot be expressed on chain.",
        body=_body({"tokenIn": "USDC", "tokenOut": "SOL", "amountIn": "0.0000001"}),
    ),
    _error(
        "Slippage out of range",
        422,
        "SLIPPAGE_OUT_OF_RANGE",
        "slippageBps must be between 1 and 5000",
        "`slippageBps` is 1-5000; values outside are refused, never clamped.",
        body=_body({**_MARKET, "slippageBps": 9000}),
    ),
    _error(
        "Unsupported order type",
        422,
        "UNSUPPORTED_ORDER_TYPE",
        "type 'stop' is not an order type; the types are market, limit, sniper",
        "`type` is `market` (the default), `limit` or `sniper`.",
        body=_body({**_MARKET, "type": "stop"}),
    ),
    _error(
        "Limit order without limitPrice",
        422,
        "LIMIT_PRICE_REQUIRED",
        "a limit order needs limitPrice",
        "A limit order needs `limitPrice`, greater than zero (0, negative and non-finite "
        "prices are `LIMIT_PRICE_INVALID`); a field of another type, e.g. `limitPrice` on a "
        "market order, is `FIELD_NOT_FOR_TYPE`.",
        body=_body({**_MARKET, "type": "limit"}),
    ),
    _error(
        "Expiry in the past",
        422,
        "EXPIRY_IN_PAST",
        "expiresAt is in the past",
        "`expiresAt` must be in the future and at most 7 days away (`EXPIRY_TOO_FAR`), an "
        "RFC 3339 date-time with its offset (`EXPIRY_INVALID`), and not given with "
        "`ttlSeconds` (`EXPIRY_CONFLICT`).",
        body=_body(
            {k: v for k, v in _LIMIT.items() if k != "ttlSeconds"}
            | {"expiresAt": "2020-01-01T00:00:00Z"}
        ),
    ),
    _error(
        "Sniper order for an invalid mint",
        422,
        "INVALID_MINT",
        "tokenOut 'not-a-mint' is neither a known token nor a valid mint address",
        "A sniper's `tokenOut` is a registry token or a valid mint address (base58 of 32 "
        "bytes); it pays with SOL or USDC (`SNIPER_TOKEN_IN`) on known venues "
        "(`UNKNOWN_VENUE`).",
        body=_body({**_SNIPER, "tokenOut": "not-a-mint"}),
    ),
    _error(
        "Idempotency-Key reused for a different request",
        409,
        "IDEMPOTENCY_KEY_REUSED",
        "this Idempotency-Key was already used for a different order request",
        "The key of *Execute with an Idempotency-Key*, sent with a different body.",
        headers=_IDEMPOTENT,
        body=_body({**_MARKET, "amountIn": 0.5}),
    ),
    _error(
        "Invalid Idempotency-Key",
        400,
        "INVALID_IDEMPOTENCY_KEY",
        "Idempotency-Key must be 1-255 printable ASCII characters without spaces",
        "Keys are 1-255 printable ASCII characters without spaces.",
        headers=(("Idempotency-Key", "not a valid key"),),
        body=_body(_MARKET),
    ),
    _error(
        "Order id is not a UUID",
        400,
        "INVALID_ORDER_ID",
        "order id 'not-a-uuid' is not a UUID",
        "Order ids are UUIDs.",
        method="GET",
        path="/api/orders/not-a-uuid",
    ),
    _error(
        "Unknown order",
        404,
        "ORDER_NOT_FOUND",
        f"no order with id {UNKNOWN_ORDER_ID}",
        "A well-formed id that no order has.",
        method="GET",
        path=f"/api/orders/{UNKNOWN_ORDER_ID}",
    ),
    _error(
        "Cancel an unknown order",
        404,
        "ORDER_NOT_FOUND",
        f"no order with id {UNKNOWN_ORDER_ID}",
        "A cancel of an order no one has (or another API key's) is 404.",
        path=f"/api/orders/{UNKNOWN_ORDER_ID}/cancel",
    ),
    _error(
        "Events since a seq the order has not reached",
        400,
        "INVALID_SINCE",
        "since=99 is ahead of the order's seq 5",
        "`since` (or `Last-Event-ID`) must not be ahead of the order's last event.",
        method="GET",
        path="/api/orders/{{orderId}}/events",
        query=(("since", "99"),),
    ),
    _error(
        "GET on execute",
        405,
        "METHOD_NOT_ALLOWED",
        "use POST to execute",
        "`/api/orders/execute` only takes POST (the answer carries `Allow: POST`).",
        method="GET",
        path="/api/orders/execute",
    ),
    _error(
        "Recent with an invalid limit",
        422,
        "INVALID_LIMIT",
        "limit must be an integer from 1 to 500, got '0'",
        "`limit` is an integer from 1 to 500.",
        method="GET",
        path="/api/orders/recent",
        query=(("limit", "0"),),
    ),
    _error(
        "Recent with an unknown status",
        422,
        "INVALID_STATUS",
        "status must be one of pending, watching, routing, building, submitted, confirmed, "
        "failed, cancelled, expired, got 'done'",
        "`status` is one of the order statuses (`type`: market, limit, sniper, else "
        "`INVALID_TYPE`).",
        method="GET",
        path="/api/orders/recent",
        query=(("status", "done"),),
    ),
    _error(
        "Quotes without amountIn",
        422,
        "VALIDATION_ERROR",
        "amountIn is required",
        "`GET /api/quotes` validates its query like an execute body.",
        method="GET",
        path="/api/quotes",
        query=(("tokenIn", "SOL"), ("tokenOut", "USDC")),
    ),
    _error(
        "Unknown route",
        404,
        "NOT_FOUND",
        "no such route; see /docs for the API",
        "Every error, routing ones included, has the same `{code, message}` shape.",
        method="GET",
        path="/api/nothing-here",
    ),
)

SIMULATOR: tuple[Call, ...] = (
    Call(
        name="Read the fault rate",
        method="GET",
        path="/api/sim/faults",
        status=200,
        description=(
            "The chance (0 to 1) that a simulated quote or transaction send fails transiently "
            "(rate limit, stall, node error, dropped transaction). 503 "
            "`SIMULATOR_UNAVAILABLE` from a process that reaches no simulator."
        ),
        has=("rate",),
        example={"rate": 0.0},
    ),
    Call(
        name="Set the fault rate",
        method="POST",
        path="/api/sim/faults",
        status=200,
        description=(
            'Changes the simulator\'s fault rate while it runs: `{"rate": 0.3}` makes orders '
            "retry (the dashboard's *Raise fault rate* button), `0` turns faults off. It lasts "
            "until the simulator restarts; `OEE_SIM_FAULT_RATE` is the rate it starts with."
        ),
        body=_body({"rate": 0}),
        equals=(("rate", 0.0),),
        example={"rate": 0.0},
    ),
    _error(
        "Fault rate out of range",
        422,
        "INVALID_FAULT_RATE",
        'rate must be a number from 0 to 1, got "1.5"',
        "`rate` is a number from 0 to 1.",
        path="/api/sim/faults",
        body=_body({"rate": 1.5}),
    ),
    Call(
        name="Launch a pool",
        method="POST",
        path="/api/sim/pools",
        status=201,
        description=(
            "Mints a new token in the simulator and opens its pools (what a sniper waits for): "
            "by default a pool on each venue, paired with SOL, $50,000 each at $0.001. "
            "Optional: `venues`, `quote`, `liquidityUsd`, `priceUsd`, or `reserves` "
            '`{"base", "quote"}` in base units. The symbol is the collection variable '
            f"`launchSymbol` (default `{LAUNCH_SYMBOL}`): the simulator takes a symbol once "
            "until it restarts, so change it to run the collection again on the same engine."
        ),
        body=_body(
            {
                **_LAUNCH,
                "venues": ["raydium", "meteora"],
                "quote": "SOL",
                "liquidityUsd": 50000,
                "priceUsd": 0.001,
            }
        ),
        same_as=(("symbol", "launchSymbol"),),
        has=("mint", "pools", "launchedAt"),
        saves=(("launchMint", "mint"),),
        example=EXAMPLE_LAUNCH,
    ),
    Call(
        name="List launches",
        method="GET",
        path="/api/sim/pools",
        status=200,
        description=(
            "Every token launched in the simulator so far, oldest first: through *Launch a "
            "pool* (`origin` `request`) or by its random stream (`OEE_SIM_LAUNCH_INTERVAL_S`, "
            "`origin` `random`)."
        ),
        kind="array",
        example=[EXAMPLE_LAUNCH],
    ),
    _error(
        "Launch a symbol already taken",
        409,
        "DUPLICATE_SYMBOL",
        f"a token called {LAUNCH_SYMBOL} exists",
        "The symbol of *Launch a pool* again: a symbol any token has (in any case) is refused.",
        path="/api/sim/pools",
        body=_body(_LAUNCH),
    ),
    _error(
        "Launch with an invalid symbol",
        422,
        "INVALID_SYMBOL",
        "symbol must be 1-10 letters or digits",
        "The simulator's rules keep their codes (`INVALID_SYMBOL`, `INVALID_DECIMALS`, "
        "`INVALID_VENUES`, `UNKNOWN_QUOTE`, `INVALID_LIQUIDITY`, `INVALID_PRICE`, "
        "`INVALID_RESERVES`) as 422s; a missing or mistyped field is `VALIDATION_ERROR`.",
        path="/api/sim/pools",
        body=_body({"symbol": "TO-THE-MOON", "decimals": 6}),
    ),
    Call(
        name="Move a price",
        method="POST",
        path="/api/sim/move",
        status=200,
        description=(
            "Pushes a pair's price in the simulator, now, on both venues: "
            '`{"pair": "SOL/USDC", "percent": 3}` makes one SOL buy 3 % more USDC (`-2.5` '
            "2.5 % less; -90 to 900). The answer is the pair's prices (QUOTE per BASE) after "
            "the move and just before it (`previous`), and the token whose price moved. With "
            "`OEE_SIM_VOLATILITY_SCALE=0` the price then stays where it was put."
        ),
        body=_body({"pair": "SOL/USDC", "percent": 3}),
        equals=(("pair", "SOL/USDC"), ("percent", "3"), ("moved", "SOL")),
        has=("reference", "prices", "previous"),
        example=EXAMPLE_MOVE,
    ),
    _error(
        "Move two stablecoins",
        422,
        "PEGGED_PAIR",
        "USDC and USDT are both pegged at $1; move a pair with a token whose price floats",
        "A pair's refusals keep the simulator's codes (`INVALID_PAIR`, `UNKNOWN_TOKEN`, "
        "`NO_POOL`, `PEGGED_PAIR`); a percent outside -90 to 900 is `INVALID_PERCENT`.",
        path="/api/sim/move",
        body=_body({"pair": "USDC/USDT", "percent": 3}),
    ),
)

# Last in the run: the halt refuses every submit until the resume that ends the folder.
ADMIN = (
    Call(
        name="Halt trading",
        method="POST",
        path="/api/admin/halt",
        status=200,
        description=(
            "The kill switch (an admin key): no new order routes in any process once this "
            "answers. Submits answer 503 `HALTED`; accepted orders that have not started "
            "routing wait and route after the resume; orders already building or submitted "
            'finish. The body is optional: `{"reason": "..."}`.'
        ),
        body=_body({"reason": "venue outage"}),
        equals=(("halted", True), ("reason", "venue outage")),
        has=("by", "since"),
        example={
            "halted": True,
            "reason": "venue outage",
            "by": "ops",
            "since": "2026-12-05T06:00:00+00:00",
        },
    ),
    Call(
        name="Is trading halted",
        method="GET",
        path="/api/admin/halt",
        status=200,
        description="The kill switch as stored: `halted`, `reason`, `by` (the admin key) and "
        "`since`.",
        equals=(("halted", True),),
        has=("reason", "by", "since"),
        example={
            "halted": True,
            "reason": "venue outage",
            "by": "ops",
            "since": "2026-12-05T06:00:00+00:00",
        },
    ),
    _error(
        "Execute while halted",
        503,
        "HALTED",
        "trading is halted since 2026-12-05T06:00:00+00:00 (by ops: venue outage): no new "
        "orders until an admin resumes it",
        "Every submit is refused while trading is halted, with the halt's `reason` and "
        "`since`; no `Retry-After`: the halt lasts until an admin resumes it.",
        body=_body(_MARKET),
    ),
    Call(
        name="Resume trading",
        method="POST",
        path="/api/admin/resume",
        status=200,
        description="Lifts the halt in every process, then queues the orders it held. No body.",
        equals=(("halted", False),),
        has=("by", "since"),
        example={
            "halted": False,
            "reason": None,
            "by": "ops",
            "since": "2026-12-05T06:20:00+00:00",
        },
    ),
)

FOLDERS: tuple[tuple[str, str, tuple[Call, ...]], ...] = (
    ("Service", "Liveness, readiness and metrics of the process.", SERVICE),
    (
        "Orders",
        "Submit market, limit and sniper orders, read them back and cancel them. Run in "
        "order: *Execute a market order* saves `orderId` for the others, *Execute a limit "
        "order* and *Execute a sniper order* the ids their cancels use.",
        ORDERS,
    ),
    ("Wallet", "The engine wallet that pays for every swap, and its balances.", WALLET),
    (
        "Errors",
        'Bad inputs and what they get: a 4xx status and `{"code", "message"}` (plus `errors`, '
        "a list of `{field, message}`, when fields are at fault).",
        ERRORS,
    ),
    (
        "Simulator",
        "The simulated venues and chain behind the engine: read or change their fault rate, "
        "launch new tokens' pools and list the launches, move a pair's price.",
        SIMULATOR,
    ),
    (
        "Admin",
        "The kill switch (admin keys): halt trading, read it, see a submit refused, resume.",
        ADMIN,
    ),
)

DESCRIPTION = f"""\
Executes token swap orders on Solana DEXs (Raydium and Meteora), routing each order to the venue
with the best net output, and streams every step of its life over WebSocket. Execution is
simulated today.

**Use.** Set the collection variables `baseUrl` (default `http://localhost:3000`) and
`wsBaseUrl` (default `ws://localhost:3000`), and `apiKey` when the engine runs with API keys
(every request sends it as `Authorization: Bearer`; admin-only requests, the simulator's, the kill
switch's and `/metrics`, need an admin key), then run the collection: *Execute a market order*
saves `orderId` for the requests after it. Every request's tests check the documented status
and body. Start an engine with `scripts/oee serve`; the full API is at `{{{{baseUrl}}}}/docs`.

**WebSocket streams (not requests of this collection).** Postman's collection format v2.1 cannot
hold WebSocket requests (postmanlabs/postman-app-support#11252). Open them by hand
(*New* > *WebSocket*) after running *Execute a market order*, with the header
`Authorization: Bearer {{{{apiKey}}}}` when the engine has keys:

`{ORDER_STREAM_URL}` streams one order:

- The first frame is `{{"type": "snapshot", "orderId", "seq", "order": <the order view>}}`,
  then every later event exactly once in `seq` order: `pending` (seq 1), `routing`,
  `building`, `submitted`, `confirmed` (seq 5, with `txHash`, `executedPrice`, `chosenDex`,
  `amountOut`) or `failed` (with `error` and `reason`). A retry shows as `pending` with the
  next `attempt` and `retryInMs`. A limit or sniper order goes `pending` → `watching` (with
  its `trigger`) → `routing` (with `triggeredBy`) when its trigger fires, or ends
  `cancelled` or `expired` (with `reason`).
- The server closes with 1000 after a terminal event (`confirmed`, `failed`, `cancelled`,
  `expired`), or right after the snapshot when the order is already finished.
- `?since=<seq>` replays the event log after `seq` instead of the snapshot; `?since=0` replays
  the whole life of the order.
- A malformed id gets `{{"type": "error", "code": "INVALID_ORDER_ID", "message"}}` and close
  code 4400; an unknown order `ORDER_NOT_FOUND` and 4404.

`{FIREHOSE_URL}` streams every order: one
`{{"type": "snapshot", "activeCount", "orders": [...]}}` frame (the active orders and the
`recent` newest), then every event of every order, per order in `seq` order. It stays open.

Generated by `python -m oee.devtools.postman`; `tests/e2e/test_postman.py` runs every request
and both streams against a live engine.
"""


def _url(call: Call) -> dict[str, Any]:
    query = "&".join(f"{key}={value}" for key, value in call.query)
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}" + call.path + (f"?{query}" if query else ""),
        "host": ["{{baseUrl}}"],
        "path": call.path.strip("/").split("/"),
    }
    if call.query:
        url["query"] = [{"key": key, "value": value} for key, value in call.query]
    return url


def _request(call: Call) -> dict[str, Any]:
    headers = [{"key": key, "value": value} for key, value in call.headers]
    request: dict[str, Any] = {"method": call.method, "header": headers, "url": _url(call)}
    if call.body is not None:
        request["header"] = [{"key": "Content-Type", "value": _JSON}, *headers]
        request["body"] = {
            "mode": "raw",
            "raw": call.body,
            "options": {"raw": {"language": "json"}},
        }
    return request


def _check(title: str, assertion: str) -> str:
    return f"pm.test({json.dumps(title)}, function () {{ {assertion}; }});"


def prerequest_script_for(call: Call) -> list[str]:
    """The request's pre-request script: fresh GUIDs for the variables in `call.fresh`."""
    return [
        f'pm.collectionVariables.set("{name}", pm.variables.replaceIn("{{{{$guid}}}}"));'
        for name in call.fresh
    ]


def script_for(call: Call) -> list[str]:
    """The request's test script: one statement a line, each of one of these forms.

    - `pm.response.to.have.status(N)`
    - `pm.expect(pm.response.json()).to.be.an("array"|"object")`
    - `pm.expect(pm.response.json()).to.have.property("field")`
    - `pm.expect(pm.response.json().field).to.eql(<JSON literal>)`
    - `pm.expect(pm.response.json().field).to.eql(pm.collectionVariables.get("var"))`
    - `pm.expect(pm.response.headers.get("Header")).to.eql("value")`
    - `pm.expect(pm.response.text()).to.include("text")`
    - `if (pm.response.code === N) pm.collectionVariables.set("var", pm.response.json().field)`
    """
    status = call.status
    lines = [_check(f"status is {status}", f"pm.response.to.have.status({status})")]
    if call.kind is not None:
        lines.append(
            _check(
                f"body is an {call.kind}",
                f'pm.expect(pm.response.json()).to.be.an("{call.kind}")',
            )
        )
    lines += [
        _check(f"body has {name}", f'pm.expect(pm.response.json()).to.have.property("{name}")')
        for name in call.has
    ]
    for name, value in call.equals:
        literal = json.dumps(value)
        lines.append(
            _check(
                f"{name} is {literal.strip(chr(34))}",
                f"pm.expect(pm.response.json().{name}).to.eql({literal})",
            )
        )
    lines += [
        _check(
            f"{name} is the saved {variable}",
            f'pm.expect(pm.response.json().{name}).to.eql(pm.collectionVariables.get("{variable}"))',
        )
        for name, variable in call.same_as
    ]
    lines += [
        _check(
            f"header {header} is {value}",
            f'pm.expect(pm.response.headers.get("{header}")).to.eql({json.dumps(value)})',
        )
        for header, value in call.header_equals
    ]
    lines += [
        _check(
            f"body includes {json.dumps(text)[1:-1]}",
            f"pm.expect(pm.response.text()).to.include({json.dumps(text)})",
        )
        for text in call.contains
    ]
    lines += [
        f"if (pm.response.code === {status}) "
        f'pm.collectionVariables.set("{variable}", pm.response.json().{name});'
        for variable, name in call.saves
    ]
    return lines


def _item(call: Call) -> dict[str, Any]:
    request = _request(call)
    body = call.example if isinstance(call.example, str) else json.dumps(call.example, indent=2)
    example = {
        "name": f"{call.status} {HTTPStatus(call.status).phrase}",
        "originalRequest": request,
        "status": HTTPStatus(call.status).phrase,
        "code": call.status,
        "_postman_previewlanguage": "json" if call.media == _JSON else "text",
        "header": [{"key": "Content-Type", "value": call.media}],
        "cookie": [],
        "body": body,
    }
    events = [{"listen": "test", "script": {"type": "text/javascript", "exec": script_for(call)}}]
    if call.fresh:
        script = {"type": "text/javascript", "exec": prerequest_script_for(call)}
        events.insert(0, {"listen": "prerequest", "script": script})
    return {
        "name": call.name,
        "event": events,
        "request": {**request, "description": call.description},
        "response": [example],
    }


def _variable(key: str, value: str, description: str) -> dict[str, str]:
    return {"key": key, "value": value, "type": "string", "description": description}


def build_collection() -> dict[str, Any]:
    """The whole collection as a JSON-ready dict."""
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "order-execution-engine/postman")),
            "name": NAME,
            "description": DESCRIPTION,
            "schema": SCHEMA,
        },
        "item": [
            {"name": name, "description": about, "item": [_item(call) for call in calls]}
            for name, about, calls in FOLDERS
        ],
        # Every request inherits it; an engine without keys ignores the header.
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
        },
        "variable": [
            _variable("baseUrl", "http://localhost:3000", "Where the engine's HTTP API answers."),
            _variable(
                "apiKey", "", "An API key of the engine (OEE_API_KEYS); empty for an open one."
            ),
            _variable(
                "wsBaseUrl",
                "ws://localhost:3000",
                "Where its WebSockets answer (see the collection's description).",
            ),
            _variable("orderId", "", "Set by the test script of *Execute a market order*."),
            _variable(
                "idempotencyKey", "", "Set by *Execute with an Idempotency-Key* before it runs."
            ),
            _variable("idempotentOrderId", "", "Set by the test script of the same request."),
            _variable("limitOrderId", "", "Set by the test script of *Execute a limit order*."),
            _variable("sniperOrderId", "", "Set by the test script of *Execute a sniper order*."),
            _variable(
                "launchSymbol",
                LAUNCH_SYMBOL,
                "The symbol *Launch a pool* launches; a symbol is taken once per simulator run.",
            ),
            _variable("launchMint", "", "Set by the test script of *Launch a pool*."),
        ],
    }


def render() -> str:
    """The collection file's exact text."""
    return json.dumps(build_collection(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the collection file, or with `--check` report whether it is up to date."""
    parser = argparse.ArgumentParser(prog="python -m oee.devtools.postman")
    parser.add_argument("--check", action="store_true", help="Exit 1 if the file differs.")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="The project directory.")
    args = parser.parse_args(argv)
    path = args.root / RELATIVE_PATH
    text = render()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m oee.devtools.postman", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
