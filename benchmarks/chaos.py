"""Chaos run: no order lost, none executed twice, no stream gap — while processes die.

Runs production as operators do (`oee sim`, `oee api` and N x `oee worker`, each its own
process) on the real PostgreSQL and Redis, submits orders at a steady rate and meanwhile
kill -9s workers and the API (restarting each), FLUSHDBs the engine's Redis database and
restarts PostgreSQL. A submit that fails is retried with the same Idempotency-Key, as a
careful client would. Then every accepted order is checked through the API: terminal, its
event log 1..N with no gap, at most one landed swap (read from `oee sim`'s ledger; with
`--no-sim` each worker simulates its own chain and only the event log can be read); and a
sample of orders followed live over WebSocket (reconnecting with `?since=<last seq>`) must
never have seen a gap or a duplicate. Exit status 1 on any violation.

    # the full run recorded in docs/reliability.md (about 4 minutes)
    .venv/bin/python benchmarks/chaos.py --orders 1000 --rate 5
    # what CI runs (tests/e2e/test_chaos_short.py), by hand
    .venv/bin/python benchmarks/chaos.py --short

PostgreSQL's restart hits every database on the server: `--no-pg-restart` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

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


@dataclass
class OrderCheck:
    """What the API says about one accepted order after the run."""

    order_id: str
    status: str | None = None
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    landed: int = 0
    seconds: float | None = None  # created -> last update

    @property
    def log_ok(self) -> bool:
        """The log is exactly seqs 1..seq."""
        return [e.get("seq") for e in self.log] == list(range(1, self.seq + 1)) and self.seq > 0


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
        while self.now() < deadline and await self._active(client) != 0:
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


async def probe(client: httpx.AsyncClient, order_id: str) -> OrderCheck:
    """One order's view and its event log as Server-Sent Events, replayed from seq 1."""
    check = OrderCheck(order_id)
    view = (await client.get(f"/api/orders/{order_id}")).json()
    check.status, check.seq = view["status"], int(view["seq"])
    check.seconds = (
        datetime.fromisoformat(view["updatedAt"]) - datetime.fromisoformat(view["createdAt"])
    ).total_seconds()
    headers = {"Last-Event-ID": "0"}
    with contextlib.suppress(TimeoutError):  # a non-terminal order's stream never ends
        async with asyncio.timeout(10):
            url = f"/api/orders/{order_id}/events"
            async with client.stream("GET", url, headers=headers) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        check.log.append(json.loads(line[6:]))
                    if check.log and check.log[-1]["seq"] >= check.seq:
                        break
    return check


def landed_from_log(check: OrderCheck) -> int:
    """Swaps that may have landed, from the event log alone (no shared ledger to ask).

    A confirmed event is one landed swap. A transaction abandoned for a new attempt is safe
    only when the engine saw its blockhash expire; any other way out of `submitted` into a
    retry would let the old transaction land beside the new one, so it counts as landed too.
    """
    landed, previous = 0, None
    for event in check.log:
        if event["type"] == "confirmed":
            landed += 1
        elif previous == "submitted" and event["type"] == "pending":
            landed += event.get("error") != "BLOCKHASH_EXPIRED"
        previous = event["type"]
    return landed


async def count_landed(
    run: ChaosRun, client: httpx.AsyncClient, checks: list[OrderCheck]
) -> tuple[str, list[str]]:
    """Fill `landed` per order; returns the method and any ledger/database disagreements."""
    sim = run.cluster.sim_url
    if sim is None:
        for check in checks:
            check.landed = landed_from_log(check)
        return "event log (each worker simulates its own chain; no shared ledger)", []
    swaps = (await client.get(f"{sim}/admin/swaps")).json()
    signatures: dict[str, list[str]] = {}
    for swap in swaps:  # memo: "<orderId>/<attempt>"
        order_id = str(swap.get("memo") or "").split("/", 1)[0]
        signatures.setdefault(order_id, []).append(str(swap["signature"]))
    mismatches = []
    for check in checks:
        landed = signatures.get(check.order_id, [])
        check.landed = len(landed)
        if check.status not in TERMINAL:
            continue  # counted as lost; its swap may be landing right now
        tx_hash = check.log[-1].get("txHash") if check.log else None
        # A confirmed order names the one swap that landed; any other terminal order none.
        if landed != ([str(tx_hash)] if check.status == "confirmed" else []):
            mismatches.append(f"{check.order_id}: {check.status} {tx_hash}, landed {landed}")
    for order_id in set(signatures) - {c.order_id for c in checks}:  # no accepted order's swap
        mismatches.append(f"{order_id or '(no memo)'}: landed {signatures[order_id]}")
    return "simulator ledger (GET /admin/swaps)", mismatches


def evidence(cluster: Cluster, order_id: str, lines: int = 12) -> list[str]:
    """The processes' log lines that mention the order (the last few)."""
    found = []
    for process in cluster.processes.values():
        with contextlib.suppress(OSError):
            text = process.log_path.read_text(errors="replace")
            found += [f"{process.name}: {line}" for line in text.splitlines() if order_id in line]
    return found[-lines:]


@dataclass
class ChaosReport:
    """The figures of one run, and the evidence behind every violation."""

    config: dict[str, Any]
    simulator: str
    landed_method: str
    submitted: int
    accepted: int
    not_accepted: int
    retried_submits: int  # submits that needed more than one try (client-visible failures)
    replayed: int  # answered from the Idempotency-Key (the first try had created the order)
    orders_in_db: int
    duplicate_orders: int  # orders in the database beyond one per accepted key
    key_mismatches: int  # keys whose stored order differs from the one the client got
    outcomes: dict[str, int]  # terminal status (failed: by error code) -> orders
    lost: list[str]
    executed_twice: list[str]
    landed_total: int  # landed swaps counted (ledger) or inferred (event log)
    ledger_mismatches: list[str]
    log_gaps: list[str]  # orders whose event log is not exactly 1..seq
    ws_followed: int
    ws_reconnected: int  # clients whose connection dropped at least once
    ws_reconnects: int
    ws_gap_clients: list[str]
    ws_duplicate_clients: list[str]
    ws_unfinished: list[str]
    taken_over: int  # orders two runs raced on (the loser stopped: StaleOrder)
    faults: list[dict[str, Any]]
    order_seconds: dict[str, float | None]  # created -> terminal: p50, p99, max
    late: dict[str, float | None] = field(default_factory=dict)  # lost id -> s until terminal
    warnings: dict[str, int] = field(default_factory=dict)  # process log warnings by event
    evidence: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    cluster: dict[str, Any] = field(default_factory=dict)  # database, prefix, pids

    def violations(self) -> list[str]:
        """Everything that makes the run fail; empty when the guarantees held."""
        named = {
            "lost": len(self.lost),
            "executed twice": len(self.executed_twice),
            "ledger/database mismatches": len(self.ledger_mismatches),
            "duplicate orders": self.duplicate_orders,
            "idempotency key mismatches": self.key_mismatches,
            "event-log gaps": len(self.log_gaps),
            "WS clients with a gap": len(self.ws_gap_clients),
            "WS clients with a duplicate": len(self.ws_duplicate_clients),
            "WS clients not finished": len(self.ws_unfinished),
            "submits never accepted": self.not_accepted,
            "faults not injected": sum(1 for f in self.faults if f["error"]),
        }
        return [f"{name}: {n}" for name, n in named.items() if n]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {}
    at = {name: min(int(q * len(ordered)), len(ordered) - 1) for name, q in _QUANTILES}
    return {name: round(ordered[i], 2) for name, i in at.items()}


_QUANTILES = (("p50", 0.5), ("p99", 0.99), ("max", 1.0))


def _log_events(cluster: Cluster) -> tuple[int, dict[str, int]]:
    """Orders taken over by another run, and warning/error events by name, from the logs."""
    taken, warnings = set(), Counter[str]()
    for process in cluster.processes.values():
        with contextlib.suppress(OSError):
            for line in process.log_path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line) if line.startswith("{") else {}
                except ValueError:  # a line cut short by kill -9
                    continue
                if entry.get("event") == "order_taken_over":
                    taken.add(entry.get("order_id"))
                if entry.get("level") in ("warning", "error", "critical"):
                    warnings[f"{process.name.split('-')[0]}:{entry.get('event')}"] += 1
    return len(taken), dict(warnings.most_common())


async def summarise(
    run: ChaosRun, client: httpx.AsyncClient, checks: list[OrderCheck]
) -> ChaosReport:
    """Reduce the run to its report (the cluster must still be up: logs, ledger, database)."""
    method, mismatches = await count_landed(run, client, checks)
    rows = await run.cluster.fetch("SELECT key, order_id FROM idempotency_keys")
    keys = {str(key): str(order_id) for key, order_id in rows}
    orders_in_db = int((await run.cluster.fetch("SELECT count(*) FROM orders"))[0][0])
    accepted = [s for s in run.subs if s.order_id is not None]
    outcomes = Counter(
        f"failed:{c.log[-1].get('error')}" if c.status == "failed" and c.log else str(c.status)
        for c in checks
    )
    taken_over, warnings = _log_events(run.cluster)
    return ChaosReport(
        config={k: str(v) for k, v in asdict(run.config).items()},
        simulator="oee sim (shared)" if run.cluster.sim_url else "in-process, one per worker",
        landed_method=method,
        submitted=len(run.subs),
        accepted=len(accepted),
        not_accepted=len(run.subs) - len(accepted),
        retried_submits=sum(s.tries > 1 for s in run.subs),
        replayed=sum(s.replayed for s in run.subs),
        orders_in_db=orders_in_db,
        duplicate_orders=orders_in_db - len({s.order_id for s in accepted}),
        key_mismatches=sum(keys.get(s.key) != s.order_id for s in accepted),
        outcomes=dict(sorted(outcomes.items())),
        lost=[c.order_id for c in checks if c.status not in TERMINAL],
        executed_twice=[c.order_id for c in checks if c.landed > 1],
        landed_total=sum(c.landed for c in checks),
        ledger_mismatches=mismatches,
        log_gaps=[c.order_id for c in checks if not c.log_ok],
        ws_followed=len(run.follows),
        ws_reconnected=sum(f.reconnects > 0 for f in run.follows),
        ws_reconnects=sum(f.reconnects for f in run.follows),
        ws_gap_clients=[f.order_id for f in run.follows if f.gaps],
        ws_duplicate_clients=[f.order_id for f in run.follows if f.duplicates],
        ws_unfinished=[f.order_id for f in run.follows if f.terminal is None],
        taken_over=taken_over,
        faults=[asdict(f) for f in run.faults],
        order_seconds=_percentiles([c.seconds for c in checks if c.seconds is not None]),
        warnings=warnings,
    )


async def gather_evidence(
    run: ChaosRun, client: httpx.AsyncClient, report: ChaosReport, checks: list[OrderCheck]
) -> None:
    """For every order behind a violation: its event log now, and its process log lines."""
    by_id = {c.order_id: c for c in checks}
    follows = {f.order_id: f for f in run.follows}
    suspects = set(report.lost + report.executed_twice + report.log_gaps)
    suspects |= set(report.ws_gap_clients + report.ws_duplicate_clients + report.ws_unfinished)
    for order_id in sorted(suspects)[:20]:
        checked, follow = by_id.get(order_id), follows.get(order_id)
        now = OrderCheck(order_id)
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            now = await probe(client, order_id)  # the state may have moved since the check
        report.evidence[order_id] = {
            "status": now.status,
            "status_at_check": checked.status if checked else None,
            "landed": checked.landed if checked else None,
            "log": [
                {k: e.get(k) for k in ("seq", "type", "attempt", "at", "error", "txHash")}
                for e in now.log
            ],
            "ws": asdict(follow) if follow else None,
            "process_log": evidence(run.cluster, order_id),
        }


async def observe_lost(client: httpx.AsyncClient, report: ChaosReport, seconds: float) -> None:
    """Keep polling lost orders for `seconds`: slow (finished late) or stuck (never)."""
    started, pending = time.monotonic(), set(report.lost)
    report.late = dict.fromkeys(report.lost)
    while pending and time.monotonic() - started < seconds:
        for order_id in sorted(pending):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"/api/orders/{order_id}")).json()["status"] in TERMINAL:
                    report.late[order_id] = round(time.monotonic() - started, 1)
                    pending.discard(order_id)
        await asyncio.sleep(1.0)


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


def ok(n: int) -> str:
    """A count that must be zero, coloured by whether it is."""
    return f"[green]{n}[/]" if n == 0 else f"[red]{n}[/]"


def render(report: ChaosReport, console: Console) -> None:
    """The final table, then the faults and the evidence of every violation."""
    table = Table(title="Chaos run", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("simulator", report.simulator),
        ("submitted / accepted (HTTP 200)", f"{report.submitted} / {report.accepted}"),
        ("submits retried / replayed by key", f"{report.retried_submits} / {report.replayed}"),
        ("orders in database / duplicates", f"{report.orders_in_db} / {ok(report.duplicate_orders)}"),
        ("terminal", str(report.accepted - len(report.lost))),
        ("  outcomes", ", ".join(f"{k} {v}" for k, v in report.outcomes.items())),
        ("lost (not terminal after settle)", ok(len(report.lost))),
        ("executed twice / swaps landed", f"{ok(len(report.executed_twice))} / {report.landed_total}"),
        ("  method", report.landed_method),
        ("event logs with gap or duplicate", ok(len(report.log_gaps))),
        ("WS clients followed / dropped", f"{report.ws_followed} / {report.ws_reconnected} ({report.ws_reconnects} reconnects)"),
        ("WS clients with gap / duplicate", f"{ok(len(report.ws_gap_clients))} / {ok(len(report.ws_duplicate_clients))}"),
        ("orders raced by two runs (StaleOrder)", str(report.taken_over)),
        ("order time p50 / p99 / max", " / ".join(f"{v} s" for v in report.order_seconds.values())),
        ("wall time", f"{report.wall_s} s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    faults = Table(title="Faults", show_lines=False)
    for column in ("at s", "fault", "target", "took s", "error"):
        faults.add_column(column)
    for f in report.faults:
        faults.add_row(str(f["at_s"]), f["kind"], f["target"], str(f["took_s"]), f["error"] or "")
    console.print(table, faults)
    if report.warnings:
        console.print("process log warnings:", report.warnings)
    for order_id, proof in report.evidence.items():
        console.rule(f"[red]order {order_id}[/] ({proof['status']})")
        console.print_json(data=proof)
    violations = report.violations()
    console.print(f"[red]FAILED[/]: {'; '.join(violations)}" if violations else "[green]OK[/]")


def parse_args(argv: list[str] | None = None) -> tuple[ChaosConfig, Path | None]:
    """The command line as a config; `--short` starts from CI's form, other flags still apply."""
    d = short_config() if "--short" in (sys.argv[1:] if argv is None else argv) else ChaosConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=d.orders)
    p.add_argument("--rate", type=float, default=d.rate, help="orders submitted per second")
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--worker-concurrency", type=int, default=d.worker_concurrency)
    p.add_argument(
        "--latency-scale", type=float, default=d.latency_scale, help="OEE_SIM_LATENCY_SCALE"
    )
    p.add_argument("--fault-rate", type=float, default=d.fault_rate, help="OEE_SIM_FAULT_RATE")
    p.add_argument("--follow", type=int, default=d.follow, help="orders followed over WS")
    p.add_argument("--worker-kills", type=int, default=d.worker_kills)
    p.add_argument("--api-kills", type=int, default=d.api_kills)
    p.add_argument("--flushes", type=int, default=d.flushes, help="FLUSHDBs of the engine's db")
    p.add_argument("--pg-restart", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--pg-restart-command", default=d.pg_restart_command)
    p.add_argument("--down-s", type=float, default=d.down_s, help="downtime of a killed process")
    p.add_argument("--settle-s", type=float, default=d.settle_s)
    p.add_argument("--observe-lost-s", type=float, default=d.observe_lost_s)
    p.add_argument("--redis-url", default=d.redis_url, help="a Redis db index for this run only")
    p.add_argument("--pg-dsn", default=d.pg_dsn)
    p.add_argument(
        "--sim",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a shared `oee sim` (default: when the command exists)",
    )
    p.add_argument("--keep-logs", type=Path, help="keep the processes' logs in this directory")
    p.add_argument("--json", type=Path, help="also write the report here")
    p.add_argument("--short", action="store_true", help="CI's form: 60 orders, one of each fault")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    config = ChaosConfig(
        orders=a.orders, rate=a.rate, workers=a.workers, worker_concurrency=a.worker_concurrency,
        latency_scale=a.latency_scale, fault_rate=a.fault_rate, follow=a.follow,
        worker_kills=a.worker_kills, api_kills=a.api_kills, flushes=a.flushes,
        pg_restarts=1 if a.pg_restart else 0, down_s=a.down_s, settle_s=a.settle_s,
        observe_lost_s=a.observe_lost_s, redis_url=a.redis_url, pg_dsn=a.pg_dsn,
        pg_restart_command=a.pg_restart_command, use_sim=a.sim, log_dir=a.keep_logs,
        progress=not a.no_progress,
    )  # fmt: skip
    return config, a.json


def short_config(base: ChaosConfig | None = None) -> ChaosConfig:
    """CI's form: 60 orders at 4/s, one fault of each kind, 20 orders followed over WS."""
    c = base or ChaosConfig()
    c.orders, c.rate, c.follow, c.worker_kills, c.api_kills, c.flushes = 60, 4.0, 20, 1, 1, 1
    c.observe_lost_s = 0.0
    return c


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
    }


def main() -> int:
    """Run once, print the table, write the JSON; 1 when a guarantee broke."""
    config, json_path = parse_args()
    # SIGTERM (a CI runner, `timeout`) unwinds like Ctrl-C, so the cluster is torn down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    console = Console(stderr=True)
    host = machine()
    try:
        report = asyncio.run(run_chaos(config, console))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: the cluster was stopped and its state removed")
        return 130
    render(report, console)
    if json_path is not None:
        json_path.write_text(json.dumps({"machine": host} | asdict(report), indent=2, default=str))
    return 1 if report.violations() else 0


if __name__ == "__main__":
    raise SystemExit(main())
