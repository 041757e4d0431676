"""GET /api/orders/{id}/timeline: the persisted log at once, in both deployments."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from oee.bootstrap import Engine
from tests.support.api import Api, Driver, serve_api


async def test_a_finished_order_answers_every_event_as_the_streams_send_it(
    api: Api, driver: Driver
) -> None:
    order_id = await driver.submit()
    await driver.run(order_id, "routing", "building", "submitted", "confirmed")
    response = await api.http.get(f"/api/orders/{order_id}/timeline")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["orderId"], body["status"]) == (order_id, "confirmed")
    logged = [e.to_wire() for e in await api.engine.orders.events(order_id)]
    assert body["events"] == logged
    assert [(e["seq"], e["type"]) for e in body["events"]] == [
        (1, "pending"),
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
        (5, "confirmed"),
    ]
    assert body["events"][2]["quotes"] == {"raydium": 224.1, "meteora": 225.3}


async def test_an_order_in_flight_answers_at_once_with_what_happened_so_far(
    api: Api, driver: Driver
) -> None:
    order_id = await driver.submit()
    await driver.run(order_id, "routing")
    response = await api.http.get(f"/api/orders/{order_id}/timeline")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "routing"
    assert [e["type"] for e in body["events"]] == ["pending", "routing"]


async def test_bad_and_unknown_ids(api: Api) -> None:
    cases = [
        (f"/api/orders/{uuid.uuid4()}/timeline", 404, "ORDER_NOT_FOUND"),
        ("/api/orders/not-a-uuid/timeline", 400, "INVALID_ORDER_ID"),
    ]
    for url, status, code in cases:
        response = await api.http.get(url)
        assert (response.status_code, response.json()["code"]) == (status, code), url


ALICE, BOB, OPS = "alice-secret-0123456789", "bob-secret-0123456789xyz", "ops-secret-0123456789ab"


@pytest.fixture
async def keyed(api_engine: Engine) -> AsyncIterator[Api]:
    api_engine.settings = api_engine.settings.model_copy(
        update={
            "api_keys": SecretStr(f"alice={ALICE},bob={BOB}"),
            "admin_keys": SecretStr(f"ops={OPS}"),
        }
    )
    async for running in serve_api(api_engine):
        yield running


async def test_another_keys_order_is_not_found_as_on_get_order(keyed: Api) -> None:
    placed = await keyed.http.post(
        "/api/orders/execute",
        json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5},
        headers={"Authorization": f"Bearer {ALICE}"},
    )
    order_id = placed.json()["orderId"]
    url = f"/api/orders/{order_id}/timeline"
    for secret, status in ((ALICE, 200), (BOB, 404), (OPS, 200)):
        response = await keyed.http.get(url, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == status, secret
        order = await keyed.http.get(
            f"/api/orders/{order_id}", headers={"Authorization": f"Bearer {secret}"}
        )
        assert order.status_code == status, secret
    bob = await keyed.http.get(url, headers={"Authorization": f"Bearer {BOB}"})
    assert bob.json()["code"] == "ORDER_NOT_FOUND"
    anonymous = await keyed.http.get(url)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHENTICATED")
