"""The HTTP API over a real server, in both deployments: the seed contract and every bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.bootstrap import Engine
from oee.logs import configure_logging
from oee.services.admission import QUEUE_RETRY_AFTER_S, Admission, AdmissionLimits
from tests.support.api import Api, Driver, make_engine, serve_api
from tests.support.services import PG_HOST, PG_PORT, PG_USER

# Every test here runs with the submit served directly and through the routed stack.
pytestmark = pytest.mark.usefixtures("api_path")

EXECUTE = "/api/orders/execute"
JSON = {"content-type": "application/json"}
GOOD = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}

VIEW_KEYS = {
    "orderId", "type", "status", "tokenIn", "tokenOut", "amountIn", "amountInBaseUnits",
    "slippageBps", "seq", "attempt", "createdAt", "updatedAt", "quotes", "routing",
    "transaction", "result", "error", "reason", "attempts", "txHash", "executedPrice",
    "chosenDex", "trigger", "triggeredBy", "maxPriceImpactBps",
}  # fmt: skip


async def execute(api: Api, body: Any) -> httpx.Response:
    return await api.http.post(EXECUTE, json=body)


async def test_health_is_the_seed_body(api: Api) -> None:
    response = await api.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "service": "order-execution-engine", "env": "test"}


async def test_execute_accepts_and_the_order_can_be_read(api: Api) -> None:
    response = await execute(api, GOOD)
    assert response.status_code == 200
    body = response.json()
    order_id = str(uuid.UUID(body["orderId"]))
    assert body == {"orderId": order_id, "wsUrl": f"/ws/orders/{order_id}"}

    view = (await api.http.get(f"/api/orders/{order_id}")).json()
    assert set(view) == VIEW_KEYS
    assert view["orderId"] == order_id
    assert (view["type"], view["status"], view["seq"], view["attempt"]) == (
        "market",
        "pending",
        1,
        1,
    )
    assert view["tokenIn"] == {
        "symbol": "SOL",
        "mint": "So11111111111111111111111111111111111111112",
        "decimals": 9,
    }
    assert view["tokenOut"]["symbol"] == "USDC"
    assert (view["amountIn"], view["amountInBaseUnits"], view["slippageBps"]) == (
        1.5,
        "1500000000",
        50,
    )
    assert view["quotes"] == []
    assert view["attempts"] == []
    assert view["routing"] is view["transaction"] is view["result"] is None
    assert view["txHash"] is view["executedPrice"] is view["chosenDex"] is None


async def test_the_view_shows_routing_transaction_and_result(api: Api, driver: Driver) -> None:
    order_id = (await execute(api, GOOD)).json()["orderId"]
    await driver.run(order_id, "routing", "building", "submitted", "confirmed")
    view = (await api.http.get(f"/api/orders/{order_id}")).json()
    assert (view["status"], view["seq"]) == ("confirmed", 5)
    assert [q["venue"] for q in view["quotes"]] == ["raydium", "meteora"]
    meteora = view["quotes"][1]
    assert meteora["amountOut"] == 225.3
    assert meteora["amountOutBaseUnits"] == "225300000"
    assert set(meteora) >= {"price", "priceImpactBps", "fee", "feeBps", "pool"}
    assert view["routing"]["chosenDex"] == "meteora"
    assert view["routing"]["minAmountOutBaseUnits"] == "224173500"
    assert view["transaction"]["txHash"] == "5igSig"
    assert view["transaction"]["lastValidBlockHeight"] == 1150
    assert view["result"] == {
        "txHash": "5igSig", "executedPrice": 150.18, "amountOut": 225.27,
        "amountOutBaseUnits": "225270000", "chosenDex": "meteora", "feeLamports": 5000,
    }  # fmt: skip
    assert (view["txHash"], view["executedPrice"], view["chosenDex"]) == (
        "5igSig",
        150.18,
        "meteora",
    )
    assert view["attempts"][0]["outcome"] == "confirmed"


async def test_execute_reads_amounts_exactly_and_defaults_slippage(api: Api) -> None:
    cases = [
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":12345678.123456789}', "12345678123456789"),
        (b'{"tokenIn":"sol","tokenOut":"usdc","amountIn":"0.000000001"}', "1"),
        (
            b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"2","orderType":"market"}',
            "2000000000",
        ),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1e2}', "100000000000"),
        (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1.10,"slippageBps":75.0}', "1100000000"),
    ]
    for raw, units in cases:
        response = await api.http.post(EXECUTE, content=raw, headers=JSON)
        assert response.status_code == 200, (raw, response.text)
        view = (await api.http.get(f"/api/orders/{response.json()['orderId']}")).json()
        assert view["amountInBaseUnits"] == units, raw
    assert view["slippageBps"] == 75
    first = (await api.http.get("/api/orders/recent?limit=5")).json()[-1]
    assert first["slippageBps"] == 50  # the documented default


BIG_INT = "9" * 5000  # beyond Python's int-parsing digit limit
# (raw body, status, code, field named in `errors` or None)
BAD_BODIES: list[tuple[bytes, int, str, str | None]] = [
    (b"", 400, "MALFORMED_JSON", None),
    (b"   ", 400, "MALFORMED_JSON", None),
    (b'{"tokenIn": "SOL",', 400, "MALFORMED_JSON", None),
    (b"{'tokenIn': 'SOL'}", 400, "MALFORMED_JSON", None),
    (b"\xff\xfe{}", 400, "MALFORMED_JSON", None),
    (b"[" * 5000 + b"]" * 5000, 400, "MALFORMED_JSON", None),
    (b'{"a":' * 2500 + b"1" + b"}" * 2500, 400, "MALFORMED_JSON", None),
    (b"[1, 2]", 400, "BODY_NOT_OBJECT", None),
    (b'"SOL"', 400, "BODY_NOT_OBJECT", None),
    (b"null", 400, "BODY_NOT_OBJECT", None),
    (b"42", 400, "BODY_NOT_OBJECT", None),
    (b"{}", 422, "VALIDATION_ERROR", "tokenIn"),
    (b'{"tokenOut":"USDC","amountIn":1}', 422, "VALIDATION_ERROR", "tokenIn"),
    (b'{"tokenIn":"SOL","amountIn":1}', 422, "VALIDATION_ERROR", "tokenOut"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC"}', 422, "VALIDATION_ERROR", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":null}', 422, "VALIDATION_ERROR", "amountIn"),
    (b'{"tokenIn":5,"tokenOut":"USDC","amountIn":1}', 422, "VALIDATION_ERROR", "tokenIn"),
    (b'{"tokenIn":"SOL","tokenOut":["USDC"],"amountIn":1}', 422, "VALIDATION_ERROR", "tokenOut"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":true}', 422, "VALIDATION_ERROR", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":{"v":1}}', 422, "VALIDATION_ERROR", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":"50"}', 422, "VALIDATION_ERROR", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":true}', 422, "VALIDATION_ERROR", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":50.5}', 422, "VALIDATION_ERROR", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":NaN}', 422, "VALIDATION_ERROR", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"orderType":7}', 422, "VALIDATION_ERROR", "orderType"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"orderType":"stop"}', 422, "UNSUPPORTED_ORDER_TYPE", "orderType"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"orderType":"limit"}', 422, "LIMIT_PRICE_REQUIRED", "limitPrice"),
    (b'{"tokenIn":"DOGE","tokenOut":"USDC","amountIn":1}', 422, "UNKNOWN_TOKEN", "tokenIn"),
    (b'{"tokenIn":"SOL","tokenOut":"","amountIn":1}', 422, "UNKNOWN_TOKEN", "tokenOut"),
    (b'{"tokenIn":"SOL","tokenOut":"sol","amountIn":1}', 422, "SAME_TOKEN", "tokenOut"),
    (b'{"tokenIn":"SOL","tokenOut":"So11111111111111111111111111111111111111112","amountIn":1}', 422, "SAME_TOKEN", "tokenOut"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":0}', 422, "AMOUNT_NOT_POSITIVE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":-1.5}', 422, "AMOUNT_NOT_POSITIVE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":-0}', 422, "AMOUNT_NOT_POSITIVE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"-0"}', 422, "AMOUNT_NOT_NUMBER", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":NaN}', 422, "AMOUNT_NOT_FINITE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":Infinity}', 422, "AMOUNT_NOT_FINITE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":-Infinity}', 422, "AMOUNT_NOT_FINITE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"nan"}', 422, "AMOUNT_NOT_NUMBER", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1e13}', 422, "AMOUNT_TOO_LARGE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1e99999999999999999999}', 422, "AMOUNT_TOO_LARGE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":' + BIG_INT.encode() + b"}", 422, "AMOUNT_TOO_LARGE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":0.0000000001}', 422, "AMOUNT_TOO_PRECISE", "amountIn"),
    (b'{"tokenIn":"USDC","tokenOut":"SOL","amountIn":"1.0000001"}', 422, "AMOUNT_TOO_PRECISE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1e-1000000}', 422, "AMOUNT_TOO_PRECISE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1e-99999999999999999999}', 422, "AMOUNT_TOO_PRECISE", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"abc"}', 422, "AMOUNT_NOT_NUMBER", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1_000"}', 422, "AMOUNT_NOT_NUMBER", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":""}', 422, "AMOUNT_NOT_NUMBER", "amountIn"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":0}', 422, "SLIPPAGE_OUT_OF_RANGE", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":5001}', 422, "SLIPPAGE_OUT_OF_RANGE", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":-50}', 422, "SLIPPAGE_OUT_OF_RANGE", "slippageBps"),
    (b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"slippageBps":1e400}', 422, "SLIPPAGE_OUT_OF_RANGE", "slippageBps"),
]  # fmt: skip


async def test_every_bad_body_gets_its_status_and_code(api: Api) -> None:
    wrong = []
    for raw, status, code, field in BAD_BODIES:
        response = await api.http.post(EXECUTE, content=raw, headers=JSON)
        body = response.json()
        got = (
            response.status_code,
            body.get("code"),
            field in {e["field"] for e in body.get("errors", [])},
        )
        if got != (status, code, field is not None) or not body.get("message"):
            wrong.append((raw[:80], got, body))
    assert wrong == []
    count, _ = await api.engine.orders.active()
    assert count == 0  # nothing was stored


async def test_validation_names_every_bad_field(api: Api) -> None:
    response = await execute(api, {"tokenIn": 1, "amountIn": False})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert {e["field"] for e in body["errors"]} == {"tokenIn", "tokenOut", "amountIn"}
    assert "tokenOut is required" in body["message"]


async def test_body_over_the_limit_is_413_declared_or_streamed(api: Api) -> None:
    limit = api.engine.settings.max_body_bytes
    padded = b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1,"pad":"' + b"x" * limit + b'"}'
    response = await api.http.post(EXECUTE, content=padded, headers=JSON)
    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked transfer
        for start in range(0, len(padded), 1024):
            yield padded[start : start + 1024]

    response = await api.http.post(EXECUTE, content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE")

    just_fits = b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":1}'.ljust(limit)
    assert (await api.http.post(EXECUTE, content=just_fits, headers=JSON)).status_code == 200


async def test_order_ids_are_checked(api: Api) -> None:
    order_id = (await execute(api, GOOD)).json()["orderId"]
    upper = await api.http.get(f"/api/orders/{order_id.upper()}")
    assert upper.status_code == 200
    assert upper.json()["orderId"] == order_id
    for bad in ["not-a-uuid", "123", "x" * 300, f"{order_id}0"]:
        response = await api.http.get(f"/api/orders/{bad}")
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_ORDER_ID"), bad
    missing = await api.http.get(f"/api/orders/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["code"]) == (404, "ORDER_NOT_FOUND")


async def test_active_and_recent(api: Api, driver: Driver) -> None:
    assert (await api.http.get("/api/orders/active")).json() == {"activeCount": 0, "orderIds": []}
    ids = [(await execute(api, GOOD)).json()["orderId"] for _ in range(3)]
    await driver.run(ids[0], "routing", "failed")
    active = (await api.http.get("/api/orders/active")).json()
    assert active == {"activeCount": 2, "orderIds": ids[1:]}

    recent = (await api.http.get("/api/orders/recent")).json()
    assert [o["orderId"] for o in recent] == ids[::-1]
    assert set(recent[0]) == VIEW_KEYS
    assert recent[-1]["status"] == "failed"
    assert len((await api.http.get("/api/orders/recent", params={"limit": 1})).json()) == 1
    assert len((await api.http.get("/api/orders/recent", params={"limit": 500})).json()) == 3
    for bad in ["0", "501", "-1", "1.5", "abc", "", "99999999999999999999"]:
        response = await api.http.get("/api/orders/recent", params={"limit": bad})
        assert (response.status_code, response.json()["code"]) == (422, "INVALID_LIMIT"), bad


async def test_unknown_routes_and_wrong_methods(api: Api) -> None:
    for path in ["/nope", "/api/orders/a/b", "/api"]:
        response = await api.http.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND"), path
    order = f"/api/orders/{uuid.uuid4()}"
    for method, path in [
        ("PUT", "/health"),
        ("DELETE", order),
        ("POST", "/api/orders/active"),
        ("GET", EXECUTE),
    ]:
        response = await api.http.request(method, path)
        assert (response.status_code, response.json()["code"]) == (405, "METHOD_NOT_ALLOWED"), path
        assert response.headers["allow"]


async def test_openapi_documents_examples_and_errors(api: Api) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Order Execution Engine"
    post = spec["paths"]["/api/orders/execute"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    assert body["examples"]["market"]["value"] == GOOD
    assert "default 50" in body["schema"]["properties"]["slippageBps"]["description"]
    assert {"400", "413", "422", "503"} <= set(post["responses"])
    get = spec["paths"]["/api/orders/{order_id}"]["get"]
    assert (
        get["responses"]["200"]["content"]["application/json"]["example"]["status"] == "confirmed"
    )
    assert {"400", "404"} <= set(get["responses"])
    assert "ErrorBody" in spec["components"]["schemas"]


@pytest.fixture
async def broken_api(tmp_path: Path) -> AsyncIterator[Api]:
    """An API whose `recent` raises a bug: the path to a 500."""

    class BuggyStore(SqlAlchemyStore):
        async def recent(self, limit: int, owner: str | None = None, **_: Any) -> list[Any]:
            raise RuntimeError("secret internals")

    url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    await migrate(url)
    engine = make_engine(BuggyStore.from_url(url), MemoryQueue(), MemoryBus())
    # JSON logs, as in production: the console renderer's rich traceback takes seconds.
    configure_logging("INFO", "json")
    try:
        async for running in serve_api(engine):
            yield running
    finally:
        structlog.reset_defaults()


async def test_a_bug_is_a_500_without_internals(broken_api: Api) -> None:
    response = await broken_api.http.get("/api/orders/recent")
    assert response.status_code == 500
    assert response.json() == {
        "code": "INTERNAL_ERROR",
        "message": "internal error; it has been logged",
    }


async def test_unreachable_database_is_503(tmp_path: Path) -> None:
    # A PostgreSQL URL on a port nobody listens on: every store call fails to connect.
    store = SqlAlchemyStore.from_url("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    engine: Engine = make_engine(store, MemoryQueue(), MemoryBus())
    async for api in serve_api(engine):
        for response in [
            await execute(api, GOOD),
            await api.http.get(f"/api/orders/{uuid.uuid4()}"),
            await api.http.get("/api/orders/active"),
        ]:
            assert response.status_code == 503
            assert response.json()["code"] == "SERVICE_UNAVAILABLE"
            assert "order store" in response.json()["message"]
        # A client mistake is still a client mistake while the store is down.
        assert (await execute(api, {"tokenIn": "SOL"})).status_code == 422


@pytest.mark.parametrize("api_deployment", ["production"], indirect=True)
async def test_lost_database_is_503_then_recovers(api: Api, postgres_url: str) -> None:
    import asyncpg

    order_id = (await execute(api, GOOD)).json()["orderId"]
    database = postgres_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        # The database goes away: its connections are cut and new ones are refused.
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database
        )
        for _ in range(2):
            down = await api.http.get(f"/api/orders/{order_id}")
            assert (down.status_code, down.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
            assert "order store" in down.json()["message"]
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    finally:
        await admin.close()
    assert (await api.http.get(f"/api/orders/{order_id}")).status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
async def test_a_body_not_sent_as_json_is_415_and_places_nothing(
    api: Api, content_type: str | None
) -> None:
    # What a web page can make a browser send anywhere without a CORS preflight.
    headers = {} if content_type is None else {"content-type": content_type}
    raw = json.dumps(GOOD).encode()
    response = await api.http.post(EXECUTE, content=raw, headers=headers)
    assert (response.status_code, response.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert response.headers["accept-post"] == "application/json"
    assert (await api.http.get("/api/orders/recent")).json() == []


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(api: Api) -> None:
    raw = json.dumps(GOOD).encode()
    for media in ("application/json; charset=utf-8", "application/vnd.oee+json"):
        response = await api.http.post(EXECUTE, content=raw, headers={"content-type": media})
        assert response.status_code == 200, (media, response.text)


async def test_405_names_every_method_the_path_allows(api: Api) -> None:
    for method, path, allowed in [
        ("PUT", "/health", "GET, HEAD"),
        ("DELETE", "/api/sim/faults", "GET, HEAD, POST"),
        ("PATCH", "/api/sim/pools", "GET, HEAD, POST"),
        ("GET", EXECUTE, "POST"),
        ("OPTIONS", EXECUTE, "POST"),  # not GET: /api/orders/{order_id} fits it, but says 405
    ]:
        response = await api.http.request(method, path)
        assert response.status_code == 405, path
        assert response.headers["allow"] == allowed, path


async def test_past_capacity_a_submit_is_503_overloaded_with_retry_after(api: Api) -> None:
    """A queue deeper than its limit: the next submit is refused and nothing is stored."""
    admission = Admission(
        api.engine.queue,
        AdmissionLimits(
            max_queue_wait_s=None,
            max_queue_depth=1,
            max_submits_in_flight=None,
            max_loop_lag_s=None,
        ),
        api.engine.clock.now,
        refresh_s=0.05,
    )
    api.engine.orders.admission = admission
    try:
        for _ in range(2):  # no worker: both stay queued
            assert (await execute(api, GOOD)).status_code == 200
        async with asyncio.timeout(5):
            while admission.load().queue_depth < 2:
                await asyncio.sleep(0.02)
        response = await execute(api, GOOD)
        assert response.status_code == 503
        assert response.headers["retry-after"] == str(QUEUE_RETRY_AFTER_S)
        body = response.json()
        assert body["code"] == "OVERLOADED"
        assert "2 orders are queued (limit 1)" in body["message"]
        assert (await api.http.get("/api/orders/active")).json()["activeCount"] == 2
    finally:
        api.engine.orders.admission = None
        await admission.close()
