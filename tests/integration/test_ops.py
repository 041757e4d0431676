"""`GET /metrics` and `GET /ready` on real engines, in both deployments.

The metrics tests run whole engines as `oee serve` builds them (worker, simulator) and check the
scraped values against what the engine persisted; the readiness tests take real dependencies
away: a PostgreSQL database that does not exist, and Redis behind a proxy that is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

import oee
from oee.adapters.bus.memory import MemoryBus
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.settings import Settings, WorkerSettings
from tests.support.api import Api, make_engine, recv_json, serve_api
from tests.support.engine import make_settings, serve_engine
from tests.support.services import PG_HOST, PG_PORT, PG_USER

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amountIn": 1.5, "slippageBps": 50}
TERMINAL = {"confirmed", "failed", "cancelled", "expired"}
STAGES = ("routing", "building", "submitted")
FAULTY_ORDERS = 12


class Scrape:
    """One parsed `/metrics` answer: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (s.name, s.labels, s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """The sample with exactly these labels, or None when absent."""
        found = [v for n, lbl, v in self.samples if n == name and lbl == labels]
        assert len(found) <= 1, f"{name}{labels} is ambiguous"
        return found[0] if found else None

    def by(self, name: str, label: str) -> dict[str, float]:
        """Values of `name` keyed by one label (for one-label families)."""
        return {lbl[label]: v for n, lbl, v in self.samples if n == name}


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def scrape_until(
    client: httpx.AsyncClient, done: Callable[[Scrape], bool], within: float = 10.0
) -> Scrape:
    """Scrape until `done` holds: a metric is recorded just after its event is committed."""
    async with asyncio.timeout(within):
        while not done(found := await scrape(client)):
            await asyncio.sleep(0.05)
    return found


def finished(scraped: Scrape) -> float:
    """Orders counted in any final status."""
    return sum(scraped.value("oee_orders_total", type="market", status=s) or 0 for s in TERMINAL)


async def submit(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/orders/execute", json=ORDER)
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


async def follow(ws_url: str, order_id: str) -> None:
    """Watch the order's stream until the server closes it after a terminal event."""
    async with asyncio.timeout(30), websockets.connect(f"{ws_url}/ws/orders/{order_id}") as ws:
        async for _ in ws:
            pass
        assert ws.close_code == 1000


async def wait_terminal(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            order: dict[str, Any] = (await client.get(f"/api/orders/{order_id}")).json()
            if order["status"] in TERMINAL:
                return order
            await asyncio.sleep(0.05)


@pytest.fixture(params=["embedded", "production"])
def settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Settings]:
    """Fast engine settings for the current deployment (production pulls in PG and Redis)."""
    servers: dict[str, Any] = {}
    if request.param == "production":
        names = ("postgres_url", "redis_url", "redis_prefix")
        servers = {name: request.getfixturevalue(name) for name in names}
        servers["database_url"] = servers.pop("postgres_url")
    return lambda **overrides: make_settings(tmp_path, **{**servers, **overrides})


async def test_metrics_count_every_stage_of_confirmed_orders(
    settings_for: Callable[..., Settings],
) -> None:
    n = 5
    async for server in serve_engine(settings_for()):
        ids = await asyncio.gather(*(submit(server.client) for _ in range(n)))
        await asyncio.gather(*(follow(server.ws_url, i) for i in ids))
        orders = [(await server.client.get(f"/api/orders/{i}")).json() for i in ids]
        assert {o["status"] for o in orders} == {"confirmed"}

        m = await scrape_until(
            server.client,
            lambda s: (
                s.value("oee_orders_total", type="market", status="confirmed") == n
                and s.value("oee_ws_connections") == 0
            ),
        )
        assert m.value("oee_orders_total", type="market", status="failed") == 0
        wins = m.by("oee_routing_wins_total", "venue")
        assert wins == {**{"raydium": 0, "meteora": 0}, **Counter(o["chosenDex"] for o in orders)}
        assert sum(wins.values()) == n
        for stage in STAGES:
            assert m.value("oee_stage_duration_seconds_count", stage=stage) == n, stage
            assert m.value("oee_stage_duration_seconds_bucket", stage=stage, le="+Inf") == n
        assert m.value("oee_order_duration_seconds_count", status="confirmed") == n
        assert m.value("oee_queue_wait_seconds_count") == n
        assert m.by("oee_venue_quote_duration_seconds_count", "venue") == {
            "raydium": n,
            "meteora": n,
        }
        assert m.by("oee_venue_quote_errors_total", "venue") == {}
        assert m.by("oee_order_retries_total", "code") == {}
        assert m.value("oee_queue_depth") == 0
        # End to end covers every stage, so its sum is at least theirs.
        stage_sum = sum(m.value("oee_stage_duration_seconds_sum", stage=s) or 0 for s in STAGES)
        e2e_sum = m.value("oee_order_duration_seconds_sum", status="confirmed")
        assert e2e_sum is not None
        assert e2e_sum >= stage_sum > 0
        assert m.value("process_cpu_seconds_total") is not None


async def test_retries_are_counted_by_code(settings_for: Callable[..., Settings]) -> None:
    # A small latency scale keeps blockhash expiry short for dropped sends (as test_pipeline).
    # The simulator injects quote faults in its quote services (its account reads never fail),
    # so quote errors are counted with the quote-service source.
    faulty = settings_for(fault_rate=0.6, max_attempts=5, latency_scale=0.01, quote_source="api")
    async for server in serve_engine(faulty):
        ids = await asyncio.gather(*(submit(server.client) for _ in range(FAULTY_ORDERS)))
        orders = await asyncio.gather(*(wait_terminal(server.client, i) for i in ids))
        retried = Counter(
            a["error"] for o in orders for a in o["attempts"] if a["outcome"] == "retried"
        )
        finals = Counter(o["status"] for o in orders)
        assert retried, "a 60 % fault rate should cause at least one retry in 12 orders"

        m = await scrape_until(server.client, lambda s: finished(s) == FAULTY_ORDERS)
        assert m.by("oee_order_retries_total", "code") == dict(retried)
        for status, count in finals.items():
            assert m.value("oee_orders_total", type="market", status=status) == count
        quote_errors = [v for n, _, v in m.samples if n == "oee_venue_quote_errors_total"]
        assert sum(quote_errors) > 0, "faulty venues should have failed some quotes"


async def test_ws_connections_gauge_and_queue_depth(api: Api) -> None:
    # No worker in this engine: the order stays pending, its job waits and streams stay open.
    order_id = await submit(api.http)
    assert (await scrape(api.http)).value("oee_queue_depth") == 1
    assert (await scrape(api.http)).value("oee_ws_connections") == 0
    async with api.ws(f"/ws/orders/{order_id}") as first:
        assert (await recv_json(first))["type"] == "snapshot"
        assert (await scrape(api.http)).value("oee_ws_connections") == 1
        async with api.ws(f"/ws/orders/{order_id}") as second:
            assert (await recv_json(second))["type"] == "snapshot"
            assert (await scrape(api.http)).value("oee_ws_connections") == 2
        await scrape_until(api.http, lambda s: s.value("oee_ws_connections") == 1)
    await scrape_until(api.http, lambda s: s.value("oee_ws_connections") == 0)


async def test_metrics_speak_openmetrics_when_asked(api: Api) -> None:
    response = await api.http.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


async def test_ready_when_everything_answers(api: Api) -> None:
    response = await api.http.get("/ready")
    assert response.status_code == 200, response.text
    assert response.json() == {"ready": True, "checks": {"store": "ok", "queue": "ok", "bus": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_checks_the_chain_in_a_process_that_executes_orders(
    settings_for: Callable[..., Settings],
) -> None:
    async for server in serve_engine(settings_for()):
        response = await server.client.get("/ready")
        assert response.status_code == 200, response.text
        checks = {"store": "ok", "queue": "ok", "bus": "ok", "chain": "ok"}
        assert response.json() == {"ready": True, "checks": checks}


async def test_engine_reports_its_worker_slots_only_where_it_runs_a_worker(
    api: Api, settings_for: Callable[..., Settings]
) -> None:
    api_only = await api.http.get("/api/engine")  # no worker in this process
    assert api_only.json() == {"version": oee.__version__, "workerSlots": None}
    async for server in serve_engine(settings_for(worker=WorkerSettings(concurrency=7))):
        answer = (await server.client.get("/api/engine")).json()
        assert answer == {"version": oee.__version__, "workerSlots": 7}


async def test_not_ready_when_the_rpc_node_is_away(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async for server in serve_engine(make_settings(tmp_path, rpc_url=f"http://127.0.0.1:{port}")):
        response = await server.client.get("/ready")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["code"] == "NOT_READY"
        assert body["checks"]["store"] == "ok"
        assert body["checks"]["chain"].startswith("ConnectError"), body
        assert "chain is down" in body["message"]


async def test_not_ready_names_a_database_that_does_not_exist(postgres_available: None) -> None:
    missing = f"oee_missing_{uuid.uuid4().hex[:12]}"
    store = SqlAlchemyStore.from_url(
        f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{missing}"
    )
    engine = make_engine(store, MemoryQueue(), MemoryBus(), env="test")
    async for api in serve_api(engine):
        response = await api.http.get("/ready")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["ready"] is False
        assert body["code"] == "NOT_READY"
        assert body["checks"]["queue"] == body["checks"]["bus"] == "ok"
        assert missing in body["checks"]["store"]
        assert "store is down" in body["message"]
        assert "queue" not in body["message"]
        assert "bus" not in body["message"]
        # Metrics still answer while the store is down.
        assert (await api.http.get("/metrics")).status_code == 200


class TcpProxy:
    """Forwards a local port to Redis; `stop()` is Redis going away, `start()` it coming back."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, as when the server dies
        await self._server.wait_closed()

    async def _pipe(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, upstream_w}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(client_r, upstream_w), copy(upstream_r, client_w))
        self._writers -= {client_w, upstream_w}


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    parsed = httpx.URL(redis_url)
    proxy = TcpProxy(parsed.host, parsed.port or 6379)
    await proxy.start()
    yield proxy
    if proxy._server is not None and proxy._server.is_serving():
        await proxy.stop()


async def test_not_ready_while_redis_is_away_and_ready_when_it_is_back(
    redis_proxy: TcpProxy, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    from oee.adapters.bus.redis import RedisBus
    from oee.adapters.queue.bullmq import BullMQQueue

    url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
    await migrate(url)
    via_proxy = str(httpx.URL(redis_url).copy_with(port=redis_proxy.port))
    queue = BullMQQueue(via_proxy, redis_prefix, lock_duration_ms=2000, stalled_interval_ms=1000)
    engine = make_engine(
        SqlAlchemyStore.from_url(url), queue, RedisBus(via_proxy, redis_prefix), env="test"
    )
    async for api in serve_api(engine):
        assert (await api.http.get("/ready")).status_code == 200

        await redis_proxy.stop()
        async with asyncio.timeout(5):  # the two pings run at once, within about 1 s
            response = await api.http.get("/ready")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["checks"]["store"] == "ok"
        assert body["checks"]["queue"] != "ok"
        assert body["checks"]["bus"] != "ok"
        assert "queue is down" in body["message"]
        assert "bus is down" in body["message"]
        scraped = await scrape(api.http)  # answers, with the depth left out as unknown
        assert scraped.value("oee_queue_depth") is None

        await redis_proxy.start()
        async with asyncio.timeout(15):
            while (await api.http.get("/ready")).status_code != 200:
                await asyncio.sleep(0.2)
        assert json.loads((await api.http.get("/ready")).text)["ready"] is True
