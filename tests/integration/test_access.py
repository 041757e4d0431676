"""API keys over real HTTP and real WebSocket clients, in both deployments.

Two client keys (alice, bob) and one admin key (ops). Every rule of the trust boundary: a key
on every route family, orders scoped to the key that placed them (GET, WebSocket, SSE, active,
recent, the firehose), admin-only calls, per-key idempotency, and stream tokens.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from oee.api.keys import load_keyring
from oee.api.stream_tokens import StreamTokens, signing_secret
from oee.bootstrap import Engine
from tests.support.api import TIMEOUT_S, Api, Driver, recv_json, recv_until_closed, serve_api

# Every test here runs with the submit served directly and through the routed stack.
pytestmark = pytest.mark.usefixtures("api_path")

ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789xyz"
OPS = "ops-secret-0123456789abcd"
KEYS = {
    "api_keys": SecretStr(f"alice={ALICE},bob={BOB}"),
    "admin_keys": SecretStr(f"ops={OPS}"),
}
EXECUTE = "/api/orders/execute"
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}
UNKNOWN_ID = "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10"
HAPPY = ("routing", "building", "submitted", "confirmed")


def as_(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def keyed(api_engine: Engine) -> AsyncIterator[Api]:
    """The API over this deployment's engine, with alice's, bob's and ops's keys."""
    api_engine.settings = api_engine.settings.model_copy(update=KEYS)
    async for running in serve_api(api_engine):
        yield running


async def place(api: Api, secret: str, **headers: str) -> str:
    response = await api.http.post(EXECUTE, json=ORDER, headers=as_(secret) | headers)
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


def ws(api: Api, path: str, secret: str | None = None) -> Any:
    headers = as_(secret) if secret else None
    return connect(api.ws_base + path, additional_headers=headers, open_timeout=TIMEOUT_S)


async def refused_handshake(
    api: Api, path: str, secret: str | None = None
) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as refused:
        async with ws(api, path, secret):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")


# --- a key on every route ---------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/orders/active"),
    ("GET", "/api/orders/recent"),
    ("GET", f"/api/orders/{UNKNOWN_ID}"),
    ("GET", f"/api/orders/{UNKNOWN_ID}/events"),
    ("POST", EXECUTE),
    ("POST", f"/api/orders/{UNKNOWN_ID}/cancel"),
    ("GET", "/api/quotes?tokenIn=SOL&tokenOut=USDC&amountIn=1"),
    ("GET", "/api/wallet"),
    ("POST", "/api/stream-tokens"),
    ("GET", "/metrics"),
    ("GET", "/api/sim/faults"),
    ("POST", "/api/sim/pools"),
    ("POST", "/api/sim/move"),
    ("GET", "/no/such/route"),
]


async def test_every_route_family_refuses_a_missing_or_invalid_key(keyed: Api) -> None:
    for method, path in ROUTES:
        for headers, words in (
            ({}, "needs an API key"),
            (as_("not-a-key-of-this-engine"), "not valid"),
            ({"X-API-Key": "not-a-key-of-this-engine"}, "not valid"),
            ({"Authorization": f"Basic {ALICE}"}, "must be 'Bearer <API key>'"),
        ):
            response = await keyed.http.request(method, path, headers=headers, json=ORDER)
            assert response.status_code == 401, (method, path, headers)
            body = response.json()
            assert body["code"] == "UNAUTHENTICATED"
            assert words in body["message"]
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert ALICE not in response.text
            assert "not-a-key" not in response.text
    assert (await keyed.engine.orders.recent(10)) == [], "nothing was placed without a key"


async def test_probes_docs_and_the_page_need_no_key(keyed: Api) -> None:
    for path in ("/health", "/ready", "/docs", "/openapi.json", "/", "/static/js/main.js"):
        response = await keyed.http.get(path)
        assert response.status_code == 200, (path, response.text[:200])


async def test_a_valid_key_works_as_bearer_or_x_api_key(keyed: Api) -> None:
    order_id = await place(keyed, ALICE)
    by_header = await keyed.http.get(f"/api/orders/{order_id}", headers={"X-API-Key": ALICE})
    assert by_header.status_code == 200
    quotes = "/api/quotes?tokenIn=SOL&tokenOut=USDC&amountIn=1"
    # The test engine has no venues: past the key check, quoting finds no route.
    assert (await keyed.http.get(quotes, headers=as_(BOB))).status_code != 401
    assert (await keyed.http.get("/api/wallet", headers=as_(BOB))).status_code == 503


async def test_websockets_without_a_valid_key_are_refused_at_the_handshake(keyed: Api) -> None:
    order_id = await place(keyed, ALICE)
    for path in ("/ws/orders", f"/ws/orders/{order_id}"):
        for secret in (None, "not-a-key-of-this-engine"):
            status, body = await refused_handshake(keyed, path, secret)
            assert (status, body["code"]) == (401, "UNAUTHENTICATED"), (path, secret)


# --- orders belong to the key that placed them -------------------------------------------------


async def test_another_key_s_order_is_not_found_by_get_websocket_or_sse(
    keyed: Api, driver: Driver
) -> None:
    order_id = await place(keyed, ALICE)
    await driver.run(order_id, *HAPPY)
    for secret, found in ((ALICE, True), (OPS, True), (BOB, False)):
        got = await keyed.http.get(f"/api/orders/{order_id}", headers=as_(secret))
        events = await keyed.http.get(f"/api/orders/{order_id}/events", headers=as_(secret))
        async with ws(keyed, f"/ws/orders/{order_id}", secret) as stream:
            frames, code = await recv_until_closed(stream)
        if found:
            assert (got.status_code, events.status_code, code) == (200, 200, 1000)
            assert frames[0]["type"] == "snapshot"
            assert frames[0]["order"]["status"] == "confirmed"
            assert "event: snapshot" in events.text
        else:
            assert (got.status_code, got.json()["code"]) == (404, "ORDER_NOT_FOUND")
            assert (events.status_code, events.json()["code"]) == (404, "ORDER_NOT_FOUND")
            assert [f["code"] for f in frames] == ["ORDER_NOT_FOUND"]
            assert code == 4404
            # Exactly what an order that does not exist answers: no id is confirmed to exist.
            missing = await keyed.http.get(f"/api/orders/{UNKNOWN_ID}", headers=as_(secret))
            assert got.json()["message"].replace(order_id, "X") == missing.json()[
                "message"
            ].replace(UNKNOWN_ID, "X")


async def test_only_the_owner_or_an_admin_may_cancel_an_order(keyed: Api) -> None:
    order_id = await place(keyed, ALICE)
    cancel = f"/api/orders/{order_id}/cancel"
    refused = await keyed.http.post(cancel, headers=as_(BOB))
    missing = await keyed.http.post(f"/api/orders/{UNKNOWN_ID}/cancel", headers=as_(BOB))
    assert (refused.status_code, refused.json()["code"]) == (404, "ORDER_NOT_FOUND")
    # Exactly what an order that does not exist answers: no id is confirmed to exist.
    assert refused.json()["message"].replace(order_id, "X") == missing.json()["message"].replace(
        UNKNOWN_ID, "X"
    )
    untouched = await keyed.http.get(f"/api/orders/{order_id}", headers=as_(ALICE))
    assert untouched.json()["status"] == "pending"
    mine = await keyed.http.post(cancel, headers=as_(ALICE))
    assert (mine.status_code, mine.json()["status"]) == (200, "cancelled")
    # Cancelled or not, bob still cannot learn the order exists.
    assert (await keyed.http.post(cancel, headers=as_(BOB))).status_code == 404

    bobs = await place(keyed, BOB)
    admin = await keyed.http.post(f"/api/orders/{bobs}/cancel", headers=as_(OPS))
    assert (admin.status_code, admin.json()["status"]) == (200, "cancelled")


async def test_recent_filters_stay_within_the_key_s_orders(keyed: Api) -> None:
    alices = await place(keyed, ALICE)
    await place(keyed, BOB)
    counts = {}
    for secret in (ALICE, OPS):
        response = await keyed.http.get(
            "/api/orders/recent",
            params={"status": "pending", "type": "market"},
            headers=as_(secret),
        )
        counts[secret] = [view["orderId"] for view in response.json()]
    assert counts[ALICE] == [alices]
    assert len(counts[OPS]) == 2


async def test_active_and_recent_list_the_key_s_own_orders_and_admins_all(keyed: Api) -> None:
    alices = {await place(keyed, ALICE) for _ in range(2)}
    bobs = {await place(keyed, BOB)}
    for secret, expected in ((ALICE, alices), (BOB, bobs), (OPS, alices | bobs)):
        active = (await keyed.http.get("/api/orders/active", headers=as_(secret))).json()
        assert (active["activeCount"], set(active["orderIds"])) == (len(expected), expected)
        recent = (await keyed.http.get("/api/orders/recent", headers=as_(secret))).json()
        assert {view["orderId"] for view in recent} == expected


async def test_a_key_s_firehose_carries_only_its_own_orders(keyed: Api, driver: Driver) -> None:
    before_alice, before_bob = await place(keyed, ALICE), await place(keyed, BOB)
    async with (
        ws(keyed, "/ws/orders?recent=10", BOB) as bobs,
        ws(keyed, "/ws/orders?recent=10", OPS) as admins,
    ):
        bob_snapshot, admin_snapshot = await recv_json(bobs), await recv_json(admins)
        assert [v["orderId"] for v in bob_snapshot["orders"]] == [before_bob]
        assert bob_snapshot["activeCount"] == 1
        assert {v["orderId"] for v in admin_snapshot["orders"]} == {before_alice, before_bob}
        # Alice's order lives and ends first; bob's after it, on the same bus.
        after_alice = await place(keyed, ALICE)
        await driver.run(after_alice, *HAPPY)
        after_bob = await place(keyed, BOB)
        await driver.run(after_bob, *HAPPY)
        seen: list[dict[str, Any]] = []
        while not (seen and seen[-1]["orderId"] == after_bob and seen[-1]["type"] == "confirmed"):
            seen.append(await recv_json(bobs))
        admin_seen: set[str] = set()
        while after_bob not in admin_seen or after_alice not in admin_seen:
            admin_seen.add((await recv_json(admins))["orderId"])
    assert {frame["orderId"] for frame in seen} == {after_bob}
    assert [frame["seq"] for frame in seen] == [1, 2, 3, 4, 5]


# --- admin-only calls ---------------------------------------------------------------------------


async def test_simulator_relays_and_metrics_need_an_admin_key(keyed: Api) -> None:
    for method, path in (
        ("GET", "/api/sim/faults"),
        ("POST", "/api/sim/faults"),
        ("GET", "/api/sim/pools"),
        ("POST", "/api/sim/pools"),
        ("POST", "/api/sim/move"),
        ("GET", "/metrics"),
    ):
        refused = await keyed.http.request(method, path, headers=as_(ALICE), json={"rate": 0})
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN"), path
        assert "'alice'" in refused.json()["message"]
        allowed = await keyed.http.request(method, path, headers=as_(OPS), json={"rate": 0})
        assert allowed.status_code not in (401, 403), (path, allowed.text)
    metrics = await keyed.http.get("/metrics", headers={"X-API-Key": OPS})
    assert metrics.status_code == 200
    assert "oee_" in metrics.text


# --- idempotency keys are per API key ------------------------------------------------------------


async def test_two_keys_may_use_the_same_idempotency_key(keyed: Api) -> None:
    key = {"Idempotency-Key": "same-key-for-two-clients"}
    alices, bobs = await place(keyed, ALICE, **key), await place(keyed, BOB, **key)
    assert alices != bobs
    again = await keyed.http.post(EXECUTE, json=ORDER, headers=as_(ALICE) | key)
    assert again.json()["orderId"] == alices
    assert again.headers["idempotent-replayed"] == "true"


# --- stream tokens ----------------------------------------------------------------------------


async def token_for(api: Api, secret: str) -> str:
    response = await api.http.post("/api/stream-tokens", headers=as_(secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "expiresAt"}
    assert body["expiresAt"].endswith("Z")
    return str(body["token"])


async def test_a_stream_token_opens_the_key_s_streams_and_only_them(
    keyed: Api, driver: Driver
) -> None:
    order_id = await place(keyed, ALICE)
    await driver.run(order_id, *HAPPY)
    token = await token_for(keyed, ALICE)
    async with ws(keyed, f"/ws/orders/{order_id}?token={token}") as stream:
        frames, code = await recv_until_closed(stream)
    assert (frames[0]["type"], code) == ("snapshot", 1000)
    async with ws(keyed, f"/ws/orders?recent=5&token={token}") as hose:  # reusable in its minute
        assert [v["orderId"] for v in (await recv_json(hose))["orders"]] == [order_id]
    sse = await keyed.http.get(f"/api/orders/{order_id}/events?token={token}")
    assert sse.status_code == 200
    assert "event: snapshot" in sse.text
    bobs = await token_for(keyed, BOB)
    async with ws(keyed, f"/ws/orders/{order_id}?token={bobs}") as stream:
        frames, code = await recv_until_closed(stream)
    assert (frames[0]["code"], code) == ("ORDER_NOT_FOUND", 4404)
    # Never an API key: not on HTTP routes, not to mint another token.
    for method, path in (("GET", "/api/orders/active"), ("POST", "/api/stream-tokens")):
        as_key = await keyed.http.request(method, f"{path}?token={token}", headers=as_(token))
        assert as_key.status_code == 401
        in_query = await keyed.http.request(method, f"{path}?token={token}")
        assert in_query.status_code == 401


async def test_forged_expired_and_foreign_tokens_are_refused(keyed: Api) -> None:
    token = await token_for(keyed, ALICE)
    payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    settings = keyed.engine.settings
    keyring = load_keyring(settings)
    expired, _ = StreamTokens(
        keyring, signing_secret(settings, keyring), lambda: time.time() - 61
    ).issue(
        keyring.named("alice")  # type: ignore[arg-type]
    )
    other = settings.model_copy(update={"api_keys": SecretStr(f"alice={ALICE}x")})
    other_ring = load_keyring(other)
    foreign, _ = StreamTokens(other_ring, signing_secret(other, other_ring)).issue(
        other_ring.named("alice")  # type: ignore[arg-type]
    )
    for bad in (f"{payload}.{flipped}", f"{payload}x.{signature}", expired, foreign, "", "a.b.c"):
        status, body = await refused_handshake(keyed, f"/ws/orders?token={bad}")
        assert (status, body["code"]) == (401, "UNAUTHENTICATED"), bad
        assert "stream token" in body["message"] or not bad


async def test_a_token_from_one_api_process_opens_a_stream_on_another(
    keyed: Api, driver: Driver
) -> None:
    """No shared state: a second app over the same settings verifies the first one's tokens."""
    order_id = await place(keyed, ALICE)
    token = await token_for(keyed, ALICE)
    async for second in serve_api(keyed.engine):
        async with ws(second, f"/ws/orders/{order_id}?token={token}") as stream:
            snapshot = await recv_json(stream)
            assert snapshot["orderId"] == order_id
        break


async def test_an_engine_without_keys_ignores_keys_and_tokens(api: Api) -> None:
    """Open mode: no key needed, a token is still answered (streams ignore it)."""
    order_id = (await api.http.post(EXECUTE, json=ORDER)).json()["orderId"]
    token = (await api.http.post("/api/stream-tokens")).json()["token"]
    async with ws(api, f"/ws/orders/{order_id}?token={token}", "whatever-key-0123456789") as s:
        assert (await recv_json(s))["type"] == "snapshot"
    assert (await api.http.get("/metrics")).status_code == 200
    await asyncio.sleep(0)
