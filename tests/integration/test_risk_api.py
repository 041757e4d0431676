"""The risk checks a submit answers at once, and the kill switch's routes, over real HTTP in
both deployments: token allow and deny lists (403), halt and resume (admin keys only), 503
`HALTED` while halted, cancels still working."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from oee.bootstrap import Engine
from tests.integration.test_access import KEYS, OPS, as_
from tests.support.api import Api, serve_api

EXECUTE = "/api/orders/execute"
ALICE = "alice-secret-0123456789"
NEW_MINT = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"
DENIED_MINT = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


@pytest.fixture
async def listed(api_engine: Engine) -> AsyncIterator[Api]:
    api_engine.settings = api_engine.settings.model_copy(
        update={
            "token_allowlist": f"SOL,USDC,BONK,{NEW_MINT}",
            "token_denylist": f"BONK,{DENIED_MINT}",
        }
    )
    async for running in serve_api(api_engine):
        yield running


@pytest.fixture
async def keyed(api_engine: Engine) -> AsyncIterator[Api]:
    api_engine.settings = api_engine.settings.model_copy(update=KEYS)
    async for running in serve_api(api_engine):
        yield running


async def refused(api: Api, body: dict[str, object]) -> dict[str, object]:
    answer = await api.http.post(EXECUTE, json=body)
    assert answer.status_code == 403, answer.text
    found: dict[str, object] = answer.json()
    assert found["code"] == "TOKEN_NOT_ALLOWED"
    return found


async def test_token_lists_refuse_market_limit_and_sniper_orders_at_submit(listed: Api) -> None:
    market = await refused(listed, {"tokenIn": "SOL", "tokenOut": "BONK", "amountIn": 1})
    assert market["errors"] == [{"field": "tokenOut", "message": market["message"]}]
    assert "deny list" in str(market["message"])  # denied wins over allowed
    limit = await refused(
        listed,
        {"type": "limit", "tokenIn": "JUP", "tokenOut": "SOL", "amountIn": 1, "limitPrice": 1},
    )
    assert [e["field"] for e in limit["errors"]] == ["tokenIn"]  # type: ignore[index, union-attr]
    assert "allow list" in str(limit["message"])
    sniper = await refused(
        listed, {"type": "sniper", "tokenIn": "SOL", "tokenOut": DENIED_MINT, "amountIn": 1}
    )
    assert DENIED_MINT in str(sniper["message"])
    for body in (
        {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1},
        {"type": "sniper", "tokenIn": "USDC", "tokenOut": NEW_MINT, "amountIn": 5},
    ):
        answer = await listed.http.post(EXECUTE, json=body)
        assert answer.status_code == 200, answer.text
    nothing_stored = (await listed.http.get("/api/orders/recent")).json()
    assert len(nothing_stored) == 2


async def test_the_kill_switch_is_admin_only_and_stops_submits_but_not_cancels(
    keyed: Api,
) -> None:
    http = keyed.http
    for method, path in (("GET", "/api/admin/halt"), ("POST", "/api/admin/halt"),
                         ("POST", "/api/admin/resume")):  # fmt: skip
        answer = await http.request(method, path, headers=as_(ALICE))
        assert (answer.status_code, answer.json()["code"]) == (403, "FORBIDDEN")
    assert (await http.get("/api/admin/halt", headers=as_(OPS))).json() == {
        "halted": False,
        "reason": None,
        "by": None,
        "since": None,
    }
    waiting = await http.post(EXECUTE, json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1},
                              headers=as_(ALICE))  # fmt: skip
    assert waiting.status_code == 200  # no worker here: it stays pending

    for body, code in (
        ({"reason": 5}, 422),
        ({"reason": ""}, 422),
        ({"why": "x"}, 422),
        ([], 400),
    ):
        answer = await http.post("/api/admin/halt", json=body, headers=as_(OPS))
        assert answer.status_code == code, answer.text
    plain = await http.post(
        "/api/admin/halt", content=b"x", headers=as_(OPS) | {"Content-Type": "text/plain"}
    )
    assert (plain.status_code, plain.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert not (await http.get("/api/admin/halt", headers=as_(OPS))).json()["halted"]

    halted = await http.post("/api/admin/halt", json={"reason": "audit"}, headers=as_(OPS))
    assert halted.status_code == 200, halted.text
    assert (halted.json()["halted"], halted.json()["by"]) == (True, "ops")
    for order_type in ({}, {"type": "limit", "limitPrice": 500}):
        answer = await http.post(
            EXECUTE,
            json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1, **order_type},
            headers=as_(ALICE),
        )
        assert (answer.status_code, answer.json()["code"]) == (503, "HALTED")
        assert "audit" in answer.json()["message"]
    order_id = waiting.json()["orderId"]
    cancelled = await http.post(f"/api/orders/{order_id}/cancel", headers=as_(ALICE))
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")

    resumed = await http.post("/api/admin/resume", headers=as_(OPS))
    assert resumed.json()["halted"] is False
    after = await http.post(EXECUTE, json={"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1},
                            headers=as_(ALICE))  # fmt: skip
    assert after.status_code == 200
