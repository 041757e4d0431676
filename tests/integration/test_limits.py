"""Rate limits and quotas through the real app, real HTTP and WebSocket clients, both deployments.

The limiter is the deployment's own adapter (in memory embedded, Redis in production) on a
clock the test steers: a refusal and the recovery after it take no real time. Keys alice and
bob (and the admin ops); open mode is limited per client address (127.0.0.1 and 127.0.0.2).
The idle timeouts are real, and tiny.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from oee.adapters.ratelimit.memory import MemoryRateLimiter
from oee.adapters.ratelimit.redis import RedisRateLimiter
from oee.api.limits import AUTH_FAILURE_POLICY
from oee.bootstrap import Engine
from oee.domain.ratelimit import US
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
ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}
ACTIVE = "/api/orders/active"
NO_RATE = {"rate_limit": "off"}


class SteeredClock:
    """Seconds, moved only by the test (whole µs, so steps never drift)."""

    def __init__(self) -> None:
        self.us = 1_700_000_000 * US

    def __call__(self) -> float:
        return self.us / US

    def advance(self, seconds: float) -> None:
        self.us += round(seconds * US)


@pytest.fixture
def clock() -> SteeredClock:
    return SteeredClock()


Serve = Callable[..., contextlib.AbstractAsyncContextManager[Api]]


@pytest.fixture
def serve(api_engine: Engine, api_servers: dict[str, str], clock: SteeredClock) -> Serve:
    """Serve the API with these settings (keys unless `keys=False`) and the deployment's
    limiter on the steered clock."""

    @contextlib.asynccontextmanager
    async def start(*, keys: bool = True, **settings: Any) -> AsyncIterator[Api]:
        update = {"rate_limit": "10/s", "rate_limit_burst": 3, **(KEYS if keys else {})}
        api_engine.settings = api_engine.settings.model_copy(update=update | settings)
        if api_servers:
            # A generous timeout: on a loaded CI machine a slow answer would fail open and
            # let a request through that the test expects refused.
            api_engine.rate_limiter = RedisRateLimiter(
                api_servers["redis_url"], api_servers["redis_prefix"], clock=clock, timeout_s=10
            )
        else:
            api_engine.rate_limiter = MemoryRateLimiter(clock)
        running = serve_api(api_engine)
        try:
            yield await anext(running)
        finally:
            await running.aclose()

    return start


def as_(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def ws(api: Api, path: str, secret: str | None = None) -> Any:
    headers = as_(secret) if secret else None
    return connect(api.ws_base + path, additional_headers=headers, open_timeout=TIMEOUT_S)


async def refused_handshake(
    api: Api, path: str, secret: str | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    with pytest.raises(InvalidStatus) as refused:
        async with ws(api, path, secret):
            pass
    response = refused.value.response
    headers = {k.lower(): v for k, v in response.headers.raw_items()}
    return response.status_code, headers, json.loads(response.body or b"{}")


async def place(api: Api, secret: str = ALICE) -> str:
    answer = await api.http.post("/api/orders/execute", json=ORDER, headers=as_(secret))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["orderId"])


def budget(response: httpx.Response) -> tuple[str | None, ...]:
    return tuple(
        response.headers.get(f"ratelimit-{name}") for name in ("limit", "remaining", "reset")
    )


# --- rate ----------------------------------------------------------------------------------------


async def test_a_key_is_refused_past_its_burst_and_recovers_with_time(
    serve: Serve, clock: SteeredClock
) -> None:
    async with serve() as api:
        answers = [await api.http.get(ACTIVE, headers=as_(ALICE)) for _ in range(3)]
        assert [a.status_code for a in answers] == [200] * 3
        assert [budget(a) for a in answers] == [("3", "2", "1"), ("3", "1", "1"), ("3", "0", "1")]
        assert {a.headers["ratelimit-policy"] for a in answers} == {"3;w=1"}
        assert "retry-after" not in answers[0].headers

        refused = await api.http.get(ACTIVE, headers=as_(ALICE))
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == "RATE_LIMITED"
        assert "key 'alice'" in body["message"]
        assert "10/s (burst 3)" in body["message"]
        assert refused.headers["retry-after"] == "1"
        assert budget(refused) == ("3", "0", "1")
        # A POST is counted and refused the same way, before it is read.
        posted = await api.http.post("/api/orders/execute", json=ORDER, headers=as_(ALICE))
        assert (posted.status_code, posted.json()["code"]) == (429, "RATE_LIMITED")
        assert (await api.engine.orders.recent(5)) == []

        # Another key has its own budget.
        bobs = await api.http.get(ACTIVE, headers=as_(BOB))
        assert (bobs.status_code, budget(bobs)) == (200, ("3", "2", "1"))

        clock.advance(0.1)  # one interval: one request
        assert (await api.http.get(ACTIVE, headers=as_(ALICE))).status_code == 200
        assert (await api.http.get(ACTIVE, headers=as_(ALICE))).status_code == 429
        clock.advance(1)  # the whole burst is back
        again = [await api.http.get(ACTIVE, headers=as_(ALICE)) for _ in range(3)]
        assert [a.status_code for a in again] == [200] * 3


async def test_probes_and_metrics_are_not_counted_and_refused_keys_cost_nothing(
    serve: Serve,
) -> None:
    async with serve() as api:
        for _ in range(5):
            for path, headers in (("/health", {}), ("/ready", {}), ("/metrics", as_(OPS))):
                answer = await api.http.get(path, headers=headers)
                assert answer.status_code != 429, path
                assert "ratelimit-limit" not in answer.headers, path
            unknown = await api.http.get(ACTIVE, headers=as_("not-a-key-of-this-engine"))
            assert unknown.status_code == 401
            assert "ratelimit-limit" not in unknown.headers
        first = await api.http.get(ACTIVE, headers=as_(OPS))
        assert budget(first) == ("3", "2", "1")


async def test_open_mode_limits_each_client_address(serve: Serve) -> None:
    async with serve(keys=False) as api:
        for _ in range(3):
            assert (await api.http.get(ACTIVE)).status_code == 200
        refused = await api.http.get(ACTIVE)
        assert refused.status_code == 429
        assert "address 127.0.0.1" in refused.json()["message"]
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(
            base_url=api.http.base_url, transport=other, timeout=TIMEOUT_S
        ) as elsewhere:
            answer = await elsewhere.get(ACTIVE)
            assert (answer.status_code, budget(answer)) == (200, ("3", "2", "1"))


async def test_websocket_handshakes_are_counted_and_refused_past_the_limit(
    serve: Serve,
) -> None:
    async with serve() as api:
        async with ws(api, "/ws/orders", ALICE) as hose:
            assert (await recv_json(hose))["type"] == "snapshot"
            assert hose.response is not None
            upgrade = {k.lower(): v for k, v in hose.response.headers.raw_items()}
            assert (upgrade["ratelimit-limit"], upgrade["ratelimit-remaining"]) == ("3", "2")
        for _ in range(2):
            await api.http.get(ACTIVE, headers=as_(ALICE))
        status, headers, body = await refused_handshake(api, "/ws/orders", ALICE)
        assert (status, body["code"]) == (429, "RATE_LIMITED")
        assert headers["retry-after"] == "1"
        assert headers["ratelimit-remaining"] == "0"
        async with ws(api, "/ws/orders", BOB) as hose:
            assert (await recv_json(hose))["type"] == "snapshot"


async def test_an_address_sending_wrong_keys_is_locked_out_then_recovers(
    serve: Serve, clock: SteeredClock
) -> None:
    """Ten wrong keys pass as 401s; then every call from the address, a right key's too and a
    WebSocket's, is a 429 until the budget refills (one wrong key a second after that)."""
    async with serve(rate_limit="1000/s") as api:
        for _ in range(AUTH_FAILURE_POLICY.burst):
            wrong = await api.http.get(ACTIVE, headers=as_("guess-0123456789abcdef"))
            assert wrong.status_code == 401
        locked = await api.http.get(ACTIVE, headers=as_("guess-0123456789abcdef"))
        assert (locked.status_code, locked.json()["code"]) == (429, "RATE_LIMITED")
        assert locked.headers["retry-after"] == "1"
        assert "address 127.0.0.1" in locked.json()["message"]
        right = await api.http.get(ACTIVE, headers=as_(ALICE))
        assert right.status_code == 429, "a right key must not be told apart while locked"
        status, headers, body = await refused_handshake(api, "/ws/orders", ALICE)
        assert (status, body["code"], headers["retry-after"]) == (429, "RATE_LIMITED", "1")
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(
            base_url=api.http.base_url, transport=other, timeout=TIMEOUT_S
        ) as elsewhere:
            assert (await elsewhere.get(ACTIVE, headers=as_(ALICE))).status_code == 200
        # The lock is this process's (real time), the count the limiter's (steered time).
        await asyncio.sleep(1.05)
        clock.advance(1)
        assert (await api.http.get(ACTIVE, headers=as_(ALICE))).status_code == 200
        wrong = await api.http.get(ACTIVE, headers=as_("guess-0123456789abcdef"))
        assert wrong.status_code == 401  # the one guess that refilled
        again = await api.http.get(ACTIVE, headers=as_("guess-0123456789abcdef"))
        assert again.status_code == 429


async def test_an_unreachable_limiter_lets_requests_through(api_engine: Engine) -> None:
    """Fail open: no Redis to count in, no limit (and no rate headers), the API still works."""
    api_engine.settings = api_engine.settings.model_copy(
        update={"rate_limit": "1/h", "rate_limit_burst": 1}
    )
    api_engine.rate_limiter = RedisRateLimiter(
        "redis://127.0.0.1:1/0", "oee-nowhere", timeout_s=0.2
    )
    async for api in serve_api(api_engine):
        answers = [await api.http.get(ACTIVE) for _ in range(3)]
        assert [a.status_code for a in answers] == [200] * 3
        assert all("ratelimit-limit" not in a.headers for a in answers)
        break


# --- open orders ---------------------------------------------------------------------------------


async def test_a_key_at_its_open_order_cap_is_refused_until_one_finishes(
    serve: Serve, driver: Driver
) -> None:
    async with serve(max_open_orders_per_key=2, **NO_RATE) as api:
        placed = [await place(api), await place(api)]
        refused = await api.http.post("/api/orders/execute", json=ORDER, headers=as_(ALICE))
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == "TOO_MANY_OPEN_ORDERS"
        assert "key 'alice' has 2 unfinished orders" in body["message"]
        assert "OEE_MAX_OPEN_ORDERS_PER_KEY=2" in body["message"]
        assert "retry-after" not in refused.headers
        # A bad body is still told what is wrong with it first.
        bad = await api.http.post("/api/orders/execute", json={}, headers=as_(ALICE))
        assert bad.status_code == 422
        # Bob's orders are his own count.
        await place(api, BOB)
        await driver.run(placed[0], "routing", "building", "submitted", "confirmed")
        await place(api)


# --- streams -------------------------------------------------------------------------------------


async def test_a_key_s_streams_are_capped_per_process(serve: Serve, driver: Driver) -> None:
    async with serve(max_streams_per_key=2, **NO_RATE) as api:
        order_id = await place(api)
        async with contextlib.AsyncExitStack() as stack:
            streams: list[ClientConnection] = []
            for path in ("/ws/orders", f"/ws/orders/{order_id}"):
                stream = await stack.enter_async_context(ws(api, path, ALICE))
                assert (await recv_json(stream))["type"] == "snapshot"
                streams.append(stream)
            status, _, body = await refused_handshake(api, "/ws/orders", ALICE)
            assert (status, body["code"]) == (429, "TOO_MANY_STREAMS")
            assert "key 'alice' has 2 streams open" in body["message"]
            sse = await api.http.get(f"/api/orders/{order_id}/events", headers=as_(ALICE))
            assert (sse.status_code, sse.json()["code"]) == (429, "TOO_MANY_STREAMS")
            async with ws(api, "/ws/orders", BOB) as bobs:
                assert (await recv_json(bobs))["type"] == "snapshot"
            # The order's end closes its stream: alice has room for one more.
            await driver.run(order_id, "routing", "failed")
            _, code = await recv_until_closed(streams[1])
            assert code == 1000
            for _ in range(50):  # the server counts the stream out once its handler returns
                try:
                    async with ws(api, "/ws/orders", ALICE) as hose:
                        assert (await recv_json(hose))["type"] == "snapshot"
                    break
                except InvalidStatus:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("a closed stream was never counted out")


# --- idle streams --------------------------------------------------------------------------------


def idle_closes(engine: Engine) -> float:
    value = engine.metrics.registry.get_sample_value(
        "oee_api_limited_total", {"code": "IDLE_TIMEOUT"}
    )
    return value or 0.0


async def test_idle_websockets_are_closed_with_4408(serve: Serve, driver: Driver) -> None:
    async with serve(stream_idle_timeout_s=0.3, **NO_RATE) as api:
        order_id = await place(api)
        for path in ("/ws/orders", f"/ws/orders/{order_id}"):
            async with ws(api, path, ALICE) as stream:
                assert (await recv_json(stream))["type"] == "snapshot"
                frames, code = await recv_until_closed(stream)
            assert code == 4408, path
            assert [f["code"] for f in frames] == ["IDLE_TIMEOUT"]
            assert "0.3 s" in frames[0]["message"]
        assert idle_closes(api.engine) == 2
        # Counted out of the stream cap and the connection gauge, as any client that left.
        for _ in range(50):
            if api.engine.metrics.registry.get_sample_value("oee_ws_connections") == 0:
                break
            await asyncio.sleep(0.05)
        assert api.engine.metrics.registry.get_sample_value("oee_ws_connections") == 0


async def test_client_messages_and_events_keep_a_stream_open(serve: Serve, driver: Driver) -> None:
    async with serve(stream_idle_timeout_s=0.6, **NO_RATE) as api:
        async with ws(api, "/ws/orders", ALICE) as hose:
            assert (await recv_json(hose))["type"] == "snapshot"
            for _ in range(8):  # 1.2 s, twice the timeout, with a message every 0.15 s
                await hose.send("ping")
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(hose.recv(), 0.15)
            frames, code = await recv_until_closed(hose)  # quiet now: closed for it
            assert (code, [f["code"] for f in frames]) == (4408, ["IDLE_TIMEOUT"])

        order_id = await place(api)
        async with ws(api, f"/ws/orders/{order_id}", ALICE) as stream:
            assert (await recv_json(stream))["type"] == "snapshot"
            for step in ("routing", "building", "submitted", "confirmed"):  # 0.8 s of events
                await asyncio.sleep(0.2)
                await driver.advance(order_id, step)
            frames, code = await recv_until_closed(stream)
        assert code == 1000
        assert frames[-1]["type"] == "confirmed"


async def test_an_idle_sse_stream_ends_with_an_error_event(serve: Serve, driver: Driver) -> None:
    async with serve(stream_idle_timeout_s=0.3, **NO_RATE) as api:
        order_id = await place(api)
        events: list[tuple[str | None, str, dict[str, Any]]] = []
        url = f"/api/orders/{order_id}/events"
        async with asyncio.timeout(10), api.http.stream("GET", url, headers=as_(ALICE)) as answer:
            assert answer.status_code == 200
            fields: dict[str, str] = {}
            async for line in answer.aiter_lines():
                if line.startswith(":"):
                    continue
                if not line:
                    if fields:
                        events.append(
                            (fields.get("id"), fields["event"], json.loads(fields["data"]))
                        )
                    fields = {}
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
        assert [(seq, kind) for seq, kind, _ in events] == [("1", "snapshot"), (None, "error")]
        assert events[1][2]["code"] == "IDLE_TIMEOUT"
        assert idle_closes(api.engine) == 1
