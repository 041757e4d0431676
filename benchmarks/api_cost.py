"""What the API costs per order: CPU per submit and per stream frame, direct path vs routed.

The submit (`POST /api/orders/execute`) is served by `oee.api.direct` outside the middleware
stack, or through it (`create_app(direct=False)`): both run in this one process, alternating
round by round, so a busy machine slows both alike and the ratio holds. Run:

    PYTHONPATH=src .venv/bin/python benchmarks/api_cost.py            # 5 rounds of 2,000
    PYTHONPATH=src .venv/bin/python benchmarks/api_cost.py --short    # what CI runs

- **submit, in memory**: the app called as ASGI (no server, no socket) over a store kept in a
  dict, with API keys and the rate limit on (as in production): the API's own CPU per request.
- **frame, in memory**: open WebSockets on one order (ASGI, no server), events published on the
  in-memory bus: CPU per event frame delivered (snapshot and handshake excluded).
- **log line**: one `structlog` JSON line, the renderer this branch uses vs the standard one.

`--default-only` measures just what the tree serves by default, so that the same file run
under an older tree's `PYTHONPATH` and this one's, alternately, compares commits.

With `--production`, also the API process's CPU per submit in the production topology (`oee
api`, `oee worker` and `oee sim` on PostgreSQL and Redis, `benchmarks/topology.py`), a fresh
cluster for each path and round (`OEE_API_DIRECT_SUBMIT`), over real HTTP from this process.

Prints one line per case (µs, best round) and, with --json FILE, writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.clock import SystemClock
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.ratelimit.memory import MemoryRateLimiter
from oee.api.app import create_app
from oee.bootstrap import Engine
from oee.domain.events import OrderEvent
from oee.domain.orders import IdempotencyKey, Order, SubmitOrder

try:
    from oee.logs import json_renderer
except ImportError:  # a tree from before it (--default-only, for a before/after across trees)
    json_renderer = None
from oee.services.orders import OrderService
from oee.settings import Settings

SECRET = "benchmark-secret-0123456789"
BODY = b'{"tokenIn":"SOL","tokenOut":"USDC","amountIn":"1.5","slippageBps":50}'


class DictStore:
    """Just what the submit and a stream read: orders in a dict (no I/O, so the API shows)."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    async def create(self, order: Order, event: OrderEvent, claim: IdempotencyKey | None) -> str:
        self.orders[order.id] = order
        return order.id

    async def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        return []

    async def active(self, limit: int, owner: str | None = None) -> tuple[int, list[str]]:
        return len(self.orders), []

    async def unfinished(self, updated_before: datetime, limit: int) -> Sequence[str]:
        return []


def _engine() -> Engine:
    settings = Settings(
        database_url=None,
        redis_url=None,
        env="test",
        api_keys=SecretStr(f"bench={SECRET}"),
        rate_limit="1000000/s",
        max_open_orders_per_key=10_000_000,
    )
    clock, store, queue, bus = SystemClock(), DictStore(), MemoryQueue(), MemoryBus()
    orders = OrderService(store, queue, bus, clock)  # type: ignore[arg-type]
    engine = Engine(
        settings=settings, clock=clock, store=store, queue=queue, bus=bus, orders=orders
    )  # type: ignore[arg-type]
    engine.rate_limiter = MemoryRateLimiter()
    return engine


def _scope(kind: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if kind == "http" else "GET",
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:3000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
        "extensions": {"websocket.http.response": {}},
    }


_HEADERS = [
    (b"authorization", f"Bearer {SECRET}".encode()),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


async def submit_us(app: Any, engine: Engine, n: int) -> float:
    """CPU µs per submit through `app` (called as ASGI)."""
    scope = _scope("http", "/api/orders/execute", _HEADERS)
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    elapsed = time.process_time() - started
    assert statuses == [200] * n, statuses[:3]
    engine.store.orders.clear()  # type: ignore[attr-defined]
    await engine.queue.close()
    return elapsed / n * 1e6


async def frame_us(app: Any, engine: Engine, streams: int, events: int) -> float:
    """CPU µs per event frame delivered to `streams` WebSockets on one order."""
    accepted = await engine.orders.submit(
        SubmitOrder.parse("SOL", "USDC", "1.5", 50), None, "bench"
    )
    order = engine.store.orders[accepted.order_id]  # type: ignore[attr-defined]
    frames = 0
    gates: list[asyncio.Event] = []
    snapshots = asyncio.Semaphore(0)

    async def client() -> None:
        nonlocal frames
        gone = asyncio.Event()
        gates.append(gone)
        queue = [{"type": "websocket.connect"}]

        async def receive() -> dict[str, Any]:
            if queue:
                return queue.pop()
            await gone.wait()
            return {"type": "websocket.disconnect", "code": 1000}

        async def send(message: dict[str, Any]) -> None:
            nonlocal frames
            if message["type"] == "websocket.send":
                if '"snapshot"' in message["text"]:
                    snapshots.release()
                else:
                    frames += 1

        path = f"/ws/orders/{order.id}"
        await app(_scope("websocket", path, _HEADERS[:1]), receive, send)

    tasks = [asyncio.ensure_future(client()) for _ in range(streams)]
    for _ in range(streams):
        await snapshots.acquire()
    first = order.seq
    template = OrderEvent(order.id, first, "routing", order.updated_at, {}, owner="bench")
    started = time.process_time()
    for seq in range(first + 1, first + 1 + events):
        await engine.bus.publish(dataclasses.replace(template, seq=seq))
        await asyncio.sleep(0)
    while frames < streams * events:
        await asyncio.sleep(0)
    elapsed = time.process_time() - started
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed / frames * 1e6


async def production_submit_us(direct: bool | None, n: int, concurrency: int = 16) -> float:
    """CPU µs of the `oee api` process per submit, production topology, keys and limits on."""
    import httpx
    import topology

    env = {
        "OEE_API_KEYS": f"bench={SECRET}",
        "OEE_RATE_LIMIT": "1000000/s",
        "OEE_MAX_OPEN_ORDERS_PER_KEY": "10000000",
        "OEE_LOG_LEVEL": "WARNING",
    }
    if direct is not None:  # None: the tree's default
        env["OEE_API_DIRECT_SUBMIT"] = "true" if direct else "false"
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
    async with (
        topology.start("production", env, workers=1, apis=1) as running,
        httpx.AsyncClient(timeout=30, trust_env=False, headers=headers) as http,
    ):
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                answer = await http.post(running.post_url + "/api/orders/execute", content=BODY)
                assert answer.status_code == 200, answer.text

        def api_cpu() -> float:
            return sum(s for name, s in running.cpu().items() if name.startswith("api"))

        await asyncio.gather(*(one() for _ in range(min(n, 200))))  # warm up
        before = api_cpu()
        await asyncio.gather(*(one() for _ in range(n)))
        return (api_cpu() - before) / n * 1e6


def log_line_us(renderer: Any, n: int) -> float:
    """µs per JSON log line with `renderer` (structlog's full chain, written to memory)."""
    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger("bench")
    started = time.process_time()
    for i in range(n):
        log.info("order_submitted", order_id="0f8c0b7e-4c1e-4e3a-9d0a-2b1f3c4d5e6f", seq=i)
    return (time.process_time() - started) / n * 1e6


async def run(
    rounds: int, n: int, streams: int, events: int, production: int = 0, default_only: bool = False
) -> dict[str, float]:
    engine = _engine()
    await engine.bus.start()
    if default_only:
        apps = {"default": create_app(engine)}
    else:
        apps = {"direct": create_app(engine), "routed": create_app(engine, direct=False)}
    best: dict[str, float] = {}

    def keep(name: str, value: float) -> None:
        best[name] = min(best.get(name, value), value)

    for _ in range(rounds):  # alternating, so the machine's load falls on both alike
        for path, app in apps.items():
            keep(f"submit_{path}_us", await submit_us(app, engine, n))
            keep(f"frame_{path}_us", await frame_us(app, engine, streams, events))
        if json_renderer is not None:
            keep("log_line_orjson_us", log_line_us(json_renderer(), n))
        keep("log_line_json_us", log_line_us(structlog.processors.JSONRenderer(), n))
    await engine.bus.close()
    for _ in range(rounds if production else 0):
        for path in apps:
            direct = None if path == "default" else path == "direct"
            keep(f"prod_submit_{path}_us", await production_submit_us(direct, production))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--short", action="store_true", help="a quick run (CI)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument(
        "--production",
        type=int,
        default=0,
        metavar="N",
        help="also N submits per round on a production cluster (PostgreSQL and Redis on 127.0.0.1)",
    )
    parser.add_argument(
        "--default-only",
        action="store_true",
        help="only the tree's default path: run it under two trees' PYTHONPATH for a "
        "before/after across commits",
    )
    args = parser.parse_args()
    rounds, n, streams, events = (2, 200, 10, 20) if args.short else (5, 2000, 50, 100)
    figures = asyncio.run(run(rounds, n, streams, events, args.production, args.default_only))
    for name, value in figures.items():
        print(f"{name:24} {value:8.1f} µs")
    for what in ("submit", "frame", "prod_submit"):
        if f"{what}_direct_us" not in figures:
            continue
        ratio = figures[f"{what}_direct_us"] / figures[f"{what}_routed_us"]
        print(f"{what} direct / routed: {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
