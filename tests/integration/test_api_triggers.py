"""Limit and sniper orders and cancelling over a real server, in both deployments.

The test engines run no worker and no trigger watchers: orders stay `pending` until `driver`
moves them (arming, firing, expiring them as the watchers would), so every status a cancel can
meet is reached on purpose, never raced.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.api import Api, Driver, recv_until_closed

EXECUTE = "/api/orders/execute"
JSON = {"content-type": "application/json"}
MARKET = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}
LIMIT = {**MARKET, "type": "limit", "limitPrice": "160.5", "ttlSeconds": 3600}
MINT = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"
SNIPER = {
    "type": "sniper",
    "tokenIn": "SOL",
    "tokenOut": MINT,
    "amountIn": "0.5",
    "slippageBps": 300,
    "venues": ["raydium"],
    "maxPriceImpactBps": 800,
}


async def place(api: Api, body: dict[str, Any]) -> str:
    response = await api.http.post(EXECUTE, json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


async def view(api: Api, order_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/api/orders/{order_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def cancel(api: Api, order_id: str, **kwargs: Any) -> httpx.Response:
    return await api.http.post(f"/api/orders/{order_id}/cancel", **kwargs)


async def test_a_limit_order_is_stored_with_its_trigger(api: Api, driver: Driver) -> None:
    before = api.engine.clock.now()
    order_id = await place(api, {**LIMIT, "maxPriceImpactBps": 150})
    order = await view(api, order_id)
    assert (order["type"], order["status"], order["maxPriceImpactBps"]) == ("limit", "pending", 150)
    assert order["trigger"]["kind"] == "price"
    assert order["trigger"]["limitPrice"] == "160.5"
    expires = datetime.fromisoformat(order["trigger"]["expiresAt"])
    assert before + timedelta(hours=1) <= expires <= api.engine.clock.now() + timedelta(hours=1)
    assert order["triggeredBy"] is None

    await driver.run(order_id, "watching", "fired")
    fired = await view(api, order_id)
    assert fired["status"] == "routing"
    assert fired["triggeredBy"]["price"] == "160.7"
    assert fired["triggeredBy"]["venue"] == "meteora"
    events = await api.engine.orders.events(order_id)
    assert [e.type for e in events] == ["pending", "watching", "routing"]
    assert events[0].details["trigger"] == order["trigger"]
    assert events[0].details["maxPriceImpactBps"] == 150
    assert events[1].details["trigger"] == order["trigger"]
    assert events[2].details["triggeredBy"] == fired["triggeredBy"]


async def test_a_sniper_order_names_its_mint_and_shows_the_launch_that_fired_it(
    api: Api, driver: Driver
) -> None:
    expires_at = (api.engine.clock.now() + timedelta(hours=2)).isoformat()
    order_id = await place(api, {**SNIPER, "expiresAt": expires_at})
    order = await view(api, order_id)
    assert order["type"] == "sniper"
    assert order["tokenOut"] == {"symbol": MINT, "mint": MINT, "decimals": 0}
    assert order["trigger"]["kind"] == "launch"
    assert order["trigger"]["venues"] == ["raydium"]
    assert "limitPrice" not in order["trigger"]
    assert datetime.fromisoformat(order["trigger"]["expiresAt"]) == datetime.fromisoformat(
        expires_at
    )
    assert order["maxPriceImpactBps"] == 800

    await driver.run(order_id, "watching", "fired")
    fired = await view(api, order_id)
    assert fired["triggeredBy"]["pool"] == "new-pool"
    assert (fired["triggeredBy"]["signature"], fired["triggeredBy"]["slot"]) == ("5Launch", 7)
    assert fired["tokenOut"]["decimals"] == 6  # learnt from the launch


async def test_bad_trigger_fields_are_refused_through_the_app(api: Api) -> None:
    for body, code, field in [
        ({**MARKET, "type": "limit"}, "LIMIT_PRICE_REQUIRED", "limitPrice"),
        ({**MARKET, "limitPrice": 160}, "FIELD_NOT_FOR_TYPE", "limitPrice"),
        ({**LIMIT, "ttlSeconds": 8 * 86_400}, "EXPIRY_TOO_FAR", "ttlSeconds"),
        ({**LIMIT, "ttlSeconds": None}, "VALIDATION_ERROR", "ttlSeconds"),
        ({**LIMIT, "expiresAt": "2000-01-01T00:00:00Z", "ttlSeconds": 1}, "EXPIRY_CONFLICT", "expiresAt"),
        ({**SNIPER, "tokenOut": "not-a-mint"}, "INVALID_MINT", "tokenOut"),
        ({**SNIPER, "tokenIn": "BONK"}, "SNIPER_TOKEN_IN", "tokenIn"),
        ({**SNIPER, "maxPriceImpactBps": 5001}, "PRICE_IMPACT_OUT_OF_RANGE", "maxPriceImpactBps"),
    ]:  # fmt: skip
        response = await api.http.post(EXECUTE, json=body)
        answer = response.json()
        assert (response.status_code, answer["code"]) == (422, code), (body, answer)
        assert field in {e["field"] for e in answer["errors"]}, answer
    assert (await api.http.get("/api/orders/recent")).json() == []


async def test_cancelling_a_pending_order_ends_it_and_streams_the_event(api: Api) -> None:
    order_id = await place(api, MARKET)
    response = await cancel(api, order_id)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["orderId"], cancelled["status"], cancelled["seq"]) == (
        order_id,
        "cancelled",
        2,
    )
    assert cancelled["reason"] == "cancelled by the client"
    assert await view(api, order_id) == cancelled
    async with api.ws(f"/ws/orders/{order_id}?since=0") as ws:
        frames, code = await recv_until_closed(ws)
    assert [(f["type"], f["seq"]) for f in frames] == [("pending", 1), ("cancelled", 2)]
    assert frames[1]["reason"] == "cancelled by the client"
    assert code == 1000
    assert (await api.http.get("/api/orders/active")).json()["activeCount"] == 0


async def test_cancelling_twice_answers_the_same_order(api: Api) -> None:
    order_id = await place(api, LIMIT)
    first = await cancel(api, order_id)
    again = await cancel(api, order_id)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert len(await api.engine.orders.events(order_id)) == 2  # no second event


async def test_a_watching_order_can_be_cancelled(api: Api, driver: Driver) -> None:
    order_id = await place(api, SNIPER)
    await driver.run(order_id, "watching")
    active = (await api.http.get("/api/orders/active")).json()
    assert active == {"activeCount": 1, "orderIds": [order_id]}  # watching is active
    response = await cancel(api, order_id)
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert [e.type for e in await api.engine.orders.events(order_id)] == [
        "pending",
        "watching",
        "cancelled",
    ]


async def test_an_order_past_watching_is_not_cancellable(api: Api, driver: Driver) -> None:
    confirmed = await place(api, MARKET)
    await driver.run(confirmed, "routing", "building", "submitted", "confirmed")
    routing = await place(api, LIMIT)
    await driver.run(routing, "watching", "fired")
    expired = await place(api, LIMIT)
    await driver.run(expired, "watching", "expired")
    for order_id, status in ((confirmed, "confirmed"), (routing, "routing"), (expired, "expired")):
        response = await cancel(api, order_id)
        body = response.json()
        assert (response.status_code, body["code"], body["status"]) == (
            409,
            "ORDER_NOT_CANCELLABLE",
            status,
        )
        assert f"is {status}" in body["message"]
        assert (await view(api, order_id))["status"] == status


async def test_cancel_of_an_unknown_or_malformed_id(api: Api) -> None:
    missing = await cancel(api, str(uuid.uuid4()))
    assert (missing.status_code, missing.json()["code"]) == (404, "ORDER_NOT_FOUND")
    for bad in ("not-a-uuid", "execute"):
        response = await cancel(api, bad)
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_ORDER_ID")


async def test_a_cancel_needs_no_body_and_refuses_a_form(api: Api) -> None:
    ok_ways: list[dict[str, Any]] = [
        {},
        {"headers": JSON},
        {"content": b"{}", "headers": JSON},
        {"content": b"{}", "headers": {"content-type": "application/json; charset=utf-8"}},
    ]
    for way in ok_ways:
        order_id = await place(api, MARKET)
        response = await cancel(api, order_id, **way)
        assert (response.status_code, response.json()["status"]) == (200, "cancelled"), way
    order_id = await place(api, MARKET)
    for way, status, code in [
        ({"headers": {"content-type": "application/x-www-form-urlencoded"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"content": b"", "headers": {"content-type": "text/plain"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"content": b"{}"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"content": b'{"reason": "x"}', "headers": JSON}, 422, "VALIDATION_ERROR"),
        ({"content": b"[]", "headers": JSON}, 400, "BODY_NOT_OBJECT"),
        ({"content": b"{", "headers": JSON}, 400, "MALFORMED_JSON"),
    ]:  # fmt: skip
        response = await cancel(api, order_id, **way)
        assert (response.status_code, response.json()["code"]) == (status, code), way
    assert (await view(api, order_id))["status"] == "pending"  # nothing refused touched it


async def test_cancel_answers_405_to_other_methods(api: Api) -> None:
    path = f"/api/orders/{uuid.uuid4()}/cancel"
    for method in ("GET", "PUT", "DELETE"):
        response = await api.http.request(method, path)
        assert (response.status_code, response.headers["allow"]) == (405, "POST"), method
        assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    order = await api.http.post(f"/api/orders/{uuid.uuid4()}", json={})
    assert (order.status_code, order.headers["allow"]) == (405, "GET, HEAD")


async def test_recent_filters_by_status_and_type(api: Api, driver: Driver) -> None:
    market = await place(api, MARKET)
    await driver.run(market, "routing", "building", "submitted", "confirmed")
    limit = await place(api, LIMIT)
    await driver.run(limit, "watching")
    sniper = await place(api, SNIPER)
    cancelled = await place(api, LIMIT)
    assert (await cancel(api, cancelled)).status_code == 200

    async def ids(**params: str) -> list[str]:
        response = await api.http.get("/api/orders/recent", params=params)
        assert response.status_code == 200, response.text
        return [o["orderId"] for o in response.json()]

    assert await ids() == [cancelled, sniper, limit, market]
    assert await ids(type="limit") == [cancelled, limit]
    assert await ids(type="sniper") == [sniper]
    assert await ids(status="watching") == [limit]
    assert await ids(status="cancelled", type="limit") == [cancelled]
    assert await ids(status="confirmed", type="market") == [market]
    assert await ids(status="confirmed", type="limit") == []
    assert await ids(status="pending", limit="1") == [sniper]
    for params, code in [
        ({"status": "done"}, "INVALID_STATUS"),
        ({"status": "Watching"}, "INVALID_STATUS"),
        ({"status": ""}, "INVALID_STATUS"),
        ({"type": "stop"}, "INVALID_TYPE"),
        ({"type": ["limit", "market"]}, "INVALID_TYPE"),
    ]:
        response = await api.http.get("/api/orders/recent", params=params)
        assert (response.status_code, response.json()["code"]) == (422, code), params
    active = (await api.http.get("/api/orders/active")).json()
    assert active == {"activeCount": 2, "orderIds": [limit, sniper]}
