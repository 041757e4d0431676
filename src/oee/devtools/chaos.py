"""The chaos run: load, faults and live followers against a process cluster, then the checks.

`run_chaos` starts a `Cluster` (`oee sim`, `oee api`, N x `oee worker`), submits orders at a
steady rate (retrying a failed submit with the same Idempotency-Key), follows a sample over
WebSocket, and meanwhile kills workers and the API, FLUSHDBs Redis and restarts PostgreSQL, as
`fault_plan` schedules. The post-run checks and the report are in `oee.devtools.chaos_checks`;
the command line is `benchmarks/chaos.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from oee.devtools.chaos_checks import (
    ChaosReport,
    OrderCheck,
    gather_evidence,
    observe_lost,
    probe,
    summarise,
)
from oee.devtools.cluster import PG_RESTART, Cluster
from oee.loadtest import TERMINAL, order_body

BODY = order_body("SOL", "USDC", "0.1", 100)
HEADERS = {"content-type": "application/json"}
SUBMIT_GIVE_UP_S = 120.0  # a client stops retrying one submit after this
PROBE_PARALLEL = 16  # orders checked at once after the run


@dataclass
class ChaosConfig:
    """One chaos run: load, faults, timing, and where the servers are."""

    orders: int = 1000
    rate: float = 5.0  # orders submitted per second
    workers: int = 2
    worker_concurrency: int = 10
    latency_scale: float = 0.2
    fault_rate: float = 0.05
    follow: int = 100  # orders followed live over WebSocket
    worker_kills: int = 3
    api_kills: int = 1
    flushes: int = 1
    pg_restarts: int = 1
    down_s: float = 1.0  # how long a killed process stays down
    settle_s: float = 30.0  # an order not terminal this long after the last fault is lost
    observe_lost_s: float = 120.0  # keep watching lost orders: slow, or stuck for good?
    redis_url: str = "redis://127.0.0.1:6379/13"
    pg_dsn: str = "postgresql://postgres@127.0.0.1:5432"
    pg_restart_command: str = PG_RESTART
    use_sim: bool | None = None
    log_dir: Path | None = None
    progress: bool = True

    def env(self) -> dict[str, str]:
        """The engine's settings: simulated latency and faults, and quick recovery."""
        return {
            "OEE_SIM_LATENCY_SCALE": str(self.latency_scale),
            "OEE_SIM_FAULT_RATE": str(self.fault_rate),
            "OEE_WORKER_CONCURRENCY": str(self.worker_concurrency),
            "OEE_WORKER_LOCK_DURATION_MS": "3000",
            "OEE_WORKER_STALLED_INTERVAL_MS": "1500",
            "OEE_WORKER_GRACE_S": "2",
            "OEE_RECOVERY_INTERVAL_S": "1",
            "OEE_RECOVERY_STALE_AFTER_S": "3",
            "OEE_LOG_LEVEL": "INFO",
            # One client drives all the load: the per-client limits are not what is tested.
            "OEE_RATE_LIMIT": "off",
            "OEE_MAX_STREAMS_PER_KEY": "",
            "OEE_MAX_OPEN_ORDERS_PER_KEY": "",
        }


def fault_plan(config: ChaosConfig) -> list[tuple[float, str]]:
    """When (seconds after the first submit) to do what: each kind spread evenly, interleaved.

    Faults fall between 15 % and 85 % of the submit window, so orders are in flight at each.
    """
    counts = {
        "worker": config.worker_kills,
        "flushdb": config.flushes,
        "api": config.api_kills,
        "postgres": config.pg_restarts,
    }
    slots = sorted(
        ((i + 0.5) / n, rank, kind)
        for rank, (kind, n) in enumerate(counts.items())
        for i in range(n)
    )
    window = config.orders / config.rate
    step = 0.7 / max(len(slots) - 1, 1)
    return [(window * (0.15 + step * i), kind) for i, (_, _, kind) in enumerate(slots)]


def short_config(base: ChaosConfig | None = None) -> ChaosConfig:
    """CI's form: 60 orders at 4/s, one fault of each kind, 20 orders followed over WS."""
    c = base or ChaosConfig()
    c.orders, c.rate, c.follow, c.worker_kills, c.api_kills, c.flushes = 60, 4.0, 20, 1, 1, 1
    c.observe_lost_s = 0.0
    return c


@dataclass
class Submission:
    """One order as the client submitted it, however many tries it took."""

    key: str
    order_id: str | None = None
    tries: int = 0
    replayed: bool = False
    accepted_at: float | None = None
    refused: int | None = None  # a 4xx that is not worth retrying


@dataclass
class Follow:
    """One order followed over WebSocket across reconnects."""

    order_id: str
    last: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (last seq, seq received)
    duplicates: list[int] = field(default_factory=list)
    reconnects: int = 0
    terminal: str | None = None


@dataclass
class Fault:
    """One injected fault: what, when (s after the first submit), recovery time, or its error."""

    kind: str
    target: str
    at_s: float
    took_s: float = 0.0
    error: str | None = None


class ChaosRun:
    """Submits, follows and injects faults against one cluster, then checks every order."""

    def __init__(self, config: ChaosConfig, cluster: Cluster, console: Console) -> None:
        self.config, self.cluster, self.console = config, cluster, console
        self.run_id = cluster.prefix.rsplit("-", 1)[1]
        self.subs = [Submission(f"chaos-{self.run_id}-{i}") for i in range(config.orders)]
        self.follows: list[Follow] = []
        self.faults: list[Fault] = []
        self.started = 0.0
        self.bar = Progress(
            TextColumn("{task.description:>14}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
            console=console, disable=not config.progress,
        )  # fmt: skip
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        """Seconds since the first submit."""
        return time.monotonic() - self.started

    async def run(self, client: httpx.AsyncClient) -> None:
        """The load and the faults, then wait for every accepted order to settle."""
        c = self.config
        accepted = self.bar.add_task("accepted", total=c.orders, note="")
        terminal = self.bar.add_task("terminal", total=c.orders, note="")
        faults = self.bar.add_task("faults", total=len(fault_plan(c)), note="")
        sample = self._sample()
        self.started = time.monotonic()
        watcher = asyncio.create_task(self._watch(client, terminal))
        async with asyncio.TaskGroup() as group:
            group.create_task(self._inject(faults))
            for i, sub in enumerate(self.subs):
                await asyncio.sleep(max(0.0, i / c.rate - self.now()))
                group.create_task(self._submit(client, sub, accepted, i in sample))
        deadline = max([f.at_s + f.took_s for f in self.faults] + [self.now()]) + c.settle_s
        # Polls the API of other processes: there is no in-process event to wait on.
        while self.now() < deadline and await self._active(client) != 0:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        if self._tasks:  # followers: their orders are terminal by now, or lost
            await asyncio.wait(self._tasks, timeout=max(deadline - self.now(), 5.0))
        for task in self._tasks:
            task.cancel()
        watcher.cancel()

    def _sample(self) -> set[int]:
        """Orders to follow live: 3/4 in flight when a fault strikes, the rest spread evenly."""
        c = self.config
        plan = [at for at, _ in fault_plan(c)]
        near = sorted(
            range(c.orders),
            key=lambda i: min((abs(at - 0.5 - i / c.rate) for at in plan), default=0),
        )
        chosen = dict.fromkeys(near[: c.follow * 3 // 4] if plan else [])  # an ordered set
        stride = max(c.orders // max(c.follow, 1), 1)
        chosen.update(dict.fromkeys(range(0, c.orders, stride)))
        return set(list(chosen)[: c.follow])

    async def _submit(
        self, client: httpx.AsyncClient, sub: Submission, bar: Any, follow: bool
    ) -> None:
        headers = HEADERS | {"Idempotency-Key": sub.key}
        give_up, backoff = time.monotonic() + SUBMIT_GIVE_UP_S, 0.2
        while sub.order_id is None and time.monotonic() < give_up:
            sub.tries += 1
            try:
                response = await client.post("/api/orders/execute", content=BODY, headers=headers)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 200:
                sub.order_id, sub.accepted_at = response.json()["orderId"], self.now()
                sub.replayed = response.headers.get("Idempotent-Replayed") == "true"
                break
            if response is not None and 400 <= response.status_code < 500:
                sub.refused = response.status_code
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
        self.bar.advance(bar)
        if sub.order_id is not None and follow:
            follower = Follow(sub.order_id)
            self.follows.append(follower)
            task = asyncio.create_task(self._follow(follower))
            self._tasks.add(task)

    async def _follow(self, f: Follow) -> None:
        """Stream the order from seq 1 (`?since=0`); after a drop, resume from the last seq."""
        base = self.cluster.base_url.replace("http://", "ws://")
        while f.terminal is None:
            url = f"{base}/ws/orders/{f.order_id}?since={f.last}"
            with contextlib.suppress(OSError, WebSocketException, TimeoutError):
                async with connect(url, open_timeout=5, proxy=None, compression=None) as ws:
                    async for raw in ws:
                        self._take(f, json.loads(raw))
            if f.terminal is None:
                f.reconnects += 1
                await asyncio.sleep(0.3)

    @staticmethod
    def _take(f: Follow, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int):
            return  # an error frame (e.g. the database is restarting): the close follows
        if seq <= f.last:
            f.duplicates.append(seq)
        elif seq != f.last + 1:
            f.gaps.append((f.last, seq))
        f.last = max(f.last, seq)
        if frame.get("type") in TERMINAL:
            f.terminal = str(frame["type"])

    async def _inject(self, bar: Any) -> None:
        kills = 0
        for at, kind in fault_plan(self.config):
            await asyncio.sleep(max(0.0, at - self.now()))
            target = kind
            if kind == "worker":
                names = self.cluster.worker_names
                target, kills = names[kills % len(names)], kills + 1
            fault = Fault(kind, target, round(self.now(), 2))
            self.faults.append(fault)
            started = time.monotonic()
            try:
                await self._do(kind, target)
            except Exception as error:  # recorded and shown; the run goes on
                fault.error = repr(error)
            fault.took_s = round(time.monotonic() - started, 2)
            self.bar.update(bar, advance=1, note=f"{kind} {target} at {fault.at_s:.0f}s")
            self.console.log(f"fault: {fault}")

    async def _do(self, kind: str, target: str) -> None:
        if kind in ("worker", "api"):
            await self.cluster.kill(target)
            await asyncio.sleep(self.config.down_s)
            await self.cluster.restart(target)
        elif kind == "flushdb":
            await self.cluster.flush_redis()
        else:
            others = await self.cluster.other_sessions()
            if others:  # the restart cuts them too: say so, a neighbour's red run may be ours
                self.console.log(f"[yellow]PostgreSQL restart also cuts sessions of[/] {others}")
            await self.cluster.restart_postgres(self.config.pg_restart_command)

    async def _active(self, client: httpx.AsyncClient) -> int | None:
        try:
            return int((await client.get("/api/orders/active")).json()["activeCount"])
        except (httpx.HTTPError, ValueError, KeyError):
            return None  # the API or its database is down right now

    async def _watch(self, client: httpx.AsyncClient, bar: Any) -> None:
        while True:
            active = await self._active(client)
            accepted = sum(s.order_id is not None for s in self.subs)
            if active is not None:
                self.bar.update(bar, completed=accepted - active, note=f"{active} active")
            await asyncio.sleep(1.0)

    async def check(self, client: httpx.AsyncClient) -> list[OrderCheck]:
        """Read every accepted order and its whole event log (SSE from Last-Event-ID 0)."""
        lanes = asyncio.Semaphore(PROBE_PARALLEL)
        ids = sorted({s.order_id for s in self.subs if s.order_id is not None})

        async def one(order_id: str) -> OrderCheck:
            async with lanes:
                for _ in range(4):  # the API is up again by now; a blip is retried
                    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                        return await probe(client, order_id)
                    await asyncio.sleep(1.0)
                return OrderCheck(order_id)  # unreadable: counted as lost, with evidence

        return list(await asyncio.gather(*(one(i) for i in ids)))


async def run_chaos(config: ChaosConfig, console: Console | None = None) -> ChaosReport:
    """Start a cluster, run the load and the faults, check everything, tear it all down."""
    console = console or Console(stderr=True)
    wall = time.monotonic()
    cluster = Cluster(
        workers=config.workers, env=config.env(), pg_dsn=config.pg_dsn,
        redis_url=config.redis_url, use_sim=config.use_sim, log_dir=config.log_dir,
    )  # fmt: skip
    async with cluster:
        run = ChaosRun(config, cluster, console)
        async with httpx.AsyncClient(
            base_url=cluster.base_url, timeout=10, trust_env=False
        ) as client:
            with run.bar:
                await run.run(client)
            checks = await run.check(client)
            report = await summarise(run, client, checks)
            if report.lost and config.observe_lost_s > 0:
                await observe_lost(client, report, config.observe_lost_s)
            await gather_evidence(run, client, report, checks)
        pids = [p.proc.pid for p in cluster.processes.values() if p.proc is not None]
        report.cluster = {"database": cluster.database, "prefix": cluster.prefix, "pids": pids}
    report.wall_s = round(time.monotonic() - wall, 1)
    return report
