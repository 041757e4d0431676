"""Idempotent submit over real HTTP, in both deployments: same key, same order; never two."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.api import Api

# Every test here runs with the submit served directly and through the routed stack.
pytestmark = pytest.mark.usefixtures("api_path")

BODY = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}


async def post(api: Api, body: dict[str, object], key: str | None) -> tuple[int, dict[str, str]]:
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = await api.http.post("/api/orders/execute", json=body, headers=headers)
    payload = response.json()
    if response.headers.get("Idempotent-Replayed"):
        payload["replayed"] = response.headers["Idempotent-Replayed"]
    return response.status_code, payload


async def test_same_key_and_body_return_the_same_order(api: Api) -> None:
    status, first = await post(api, BODY, "client-42-order-1")
    assert status == 200
    # The same request spelled differently (a string amount) is the same request.
    status, again = await post(api, {**BODY, "amountIn": "1.50"}, "client-42-order-1")
    assert status == 200
    assert again["orderId"] == first["orderId"]
    assert again["replayed"] == "true"
    count, _ = await api.engine.orders.active()
    assert count == 1


async def test_same_key_with_another_body_is_a_conflict(api: Api) -> None:
    await post(api, BODY, "client-42-order-2")
    status, error = await post(api, {**BODY, "amountIn": 2}, "client-42-order-2")
    assert status == 409
    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert error["message"]


async def test_concurrent_duplicates_create_one_order(api: Api) -> None:
    results = await asyncio.gather(*(post(api, BODY, "burst-key") for _ in range(10)))
    assert {status for status, _ in results} == {200}
    assert len({payload["orderId"] for _, payload in results}) == 1
    count, _ = await api.engine.orders.active()
    assert count == 1


async def test_without_a_key_every_post_is_a_new_order(api: Api) -> None:
    first = await post(api, BODY, None)
    second = await post(api, BODY, None)
    assert first[1]["orderId"] != second[1]["orderId"]


async def test_a_malformed_key_is_refused(api: Api) -> None:
    for key in ["", "has space", "x" * 256, "tab\there"]:
        status, error = await post(api, BODY, key)
        assert status == 400, key
        assert error["code"] == "INVALID_IDEMPOTENCY_KEY"
