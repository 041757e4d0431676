"""GET /api/orders/recent?since=: an instant or a duration back from now, in both deployments."""

from __future__ import annotations

import uuid
from datetime import timedelta

from oee.domain.orders import Order, SubmitOrder
from tests.support.api import Api


async def created_ago(api: Api, ago: timedelta) -> str:
    """An order stored as if placed `ago` before now."""
    order, first = Order.accept(
        SubmitOrder.parse("SOL", "USDC", "1", 50),
        str(uuid.uuid4()),
        api.engine.clock.now() - ago,
    )
    await api.engine.store.create(order, first)
    return order.id


async def test_since_takes_a_duration_or_an_instant(api: Api) -> None:
    old = await created_ago(api, timedelta(hours=3))
    hour = await created_ago(api, timedelta(minutes=50))
    new = await created_ago(api, timedelta(seconds=5))

    async def ids(**params: str) -> list[str]:
        response = await api.http.get("/api/orders/recent", params=params)
        assert response.status_code == 200, response.text
        return [o["orderId"] for o in response.json()]

    assert await ids() == [new, hour, old]
    assert await ids(since="1h") == [new, hour]
    assert await ids(since="60m", status="pending", type="market") == [new, hour]
    assert await ids(since="30s") == [new]
    assert await ids(since="4h") == [new, hour, old]
    instant = (api.engine.clock.now() - timedelta(hours=2)).isoformat()
    assert await ids(since=instant) == [new, hour]
    assert await ids(since="2000-01-01T00:00:00Z", limit="1") == [new]


async def test_a_bad_since_is_422_with_its_field(api: Api) -> None:
    for bad in ("yesterday", "10", "10 m", "-5m", "2026-12-04T18:00:00", "2026-02-30T00:00:00Z"):
        response = await api.http.get("/api/orders/recent", params={"since": bad})
        body = response.json()
        assert (response.status_code, body["code"]) == (422, "INVALID_SINCE_TIME"), bad
        assert body["errors"][0]["field"] == "since"
        assert "10m" in body["message"]
