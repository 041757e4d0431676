"""Trigger benchmark: armed limit orders fired by a price update, snipers fired by a launch.

Two parts, each checking its own result (a run whose counts are wrong exits 1):

limit -- N armed SOL->USDC limit orders (limits 100.000, 100.001, ... whole USDC per SOL,
    sizes 1, 2 and 5 SOL) are written straight into a fresh store (SQLite in a temporary file,
    and/or a fresh PostgreSQL database created and dropped by the run), then a `TriggerService`
    (MemoryQueue, MemoryBus, SystemClock, one venue whose price the benchmark sets) claims them
    all. Measured: the claim (`start`: every armed order claimed and held), memory per armed
    order (tracemalloc: the Python heap the held orders and books take; RSS: the process's
    resident growth over the first claim in the process), and for each K the time of
    `await service.prices.check(pair)` once the venue's price crosses exactly K more orders:
    wall and CPU of the whole check, the part up to every crossed order persisted as fired
    (the fire decision committed: `store.decide_fires` returned; on a tree without it, the
    move), the part up to every crossed order's row and event written (`store.save_many`
    returned: applied), and `decide_fires` and `save_many` alone. After each check the store must hold
    exactly the orders crossed so far as `routing` (counted by SQL), the rest `watching`.

sniper -- the whole embedded engine (`build_engine(settings, "serve")` served in this process,
    SQLite, in-process queue and bus, the simulator in-process at latency scale 0). M sniper
    orders, one at a time: place it for a fresh mint, wait until `watching`, launch the mint's
    pool (`POST /api/sim/pools`), and measure engine time from the launch reaching
    `LaunchWatch.on_launch` to the swap transaction sent (`Executor._send` entered: the order's
    `submitted` event is committed, `chain.send_transaction` is next); each order must then
    confirm. The simulator runs in the same process and shares its CPU.

    python benchmarks/triggers.py                        # both parts, SQLite (full form)
    python benchmarks/triggers.py --part limit --mode both   # SQLite and a fresh PostgreSQL
    python benchmarks/triggers.py --part limit --crossed 1000 --profile /tmp/check.prof
    python benchmarks/triggers.py --short                # CI: small, checks correctness only

The engine logs as deployed (JSON, `--log-level`, default INFO as `oee serve`), to
`--log-file` (default: discarded), so the per-order log lines are part of the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from machine import machine
from sqlalchemy import func, insert, select

from oee.adapters.bus.memory import MemoryBus
from oee.adapters.clock import SystemClock
from oee.adapters.queue.memory import MemoryQueue
from oee.adapters.store._codec import event_to_row, order_to_row
from oee.adapters.store._schema import order_events, orders
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore, make_engine
from oee.devtools.steered_venue import SteeredVenue
from oee.domain.orders import Order, OrderTerms, SubmitOrder
from oee.domain.tokens import MAINNET_TOKENS
from oee.logs import configure_logging
from oee.services.triggers import TriggerService

OUT = sys.stderr  # progress; captured before logging is pointed elsewhere
BASE_LIMIT = Decimal("100.000")  # whole USDC per SOL of the lowest order
STEP = Decimal("0.001")  # between consecutive orders' limits: order i's limit is BASE + i*STEP
SIZES = (1, 2, 5)  # whole SOL, in turn
CHUNK = 5_000  # orders per insert batch
PG_DSN = "postgresql://postgres@127.0.0.1:5432"


def say(message: str) -> None:
    if not QUIET:
        print(message, file=OUT, flush=True)


QUIET = False


# ---------------------------------------------------------------- the venue and the orders


def limit_of(index: int) -> Decimal:
    """Order `index`'s limit; a price of `limit_of(k - 1)` crosses exactly orders 0..k-1."""
    return BASE_LIMIT + STEP * index


def armed_rows(start: int, stop: int, now: datetime) -> tuple[list[dict[str, Any]], list[Any]]:
    """The `orders` rows and `order_events` rows (pending, watching) of orders start..stop-1,
    built through the domain as the executor arms them."""
    order_rows, event_rows = [], []
    for i in range(start, stop):
        terms = OrderTerms(type="limit", limit_price=limit_of(i))
        cmd = SubmitOrder.parse("SOL", "USDC", SIZES[i % len(SIZES)], 50, terms=terms, now=now)
        order, pending = Order.accept(cmd, str(uuid.uuid4()), now)
        watching = order.arm(now)
        order_rows.append(order_to_row(order))
        event_rows += (event_to_row(pending), event_to_row(watching))
    return order_rows, event_rows


async def create_armed(url: str, n: int) -> float:
    """Write `n` armed limit orders into the (migrated) store at `url`; returns seconds."""
    started = time.perf_counter()
    engine = make_engine(url, pooled=False)
    now = datetime.now(UTC)
    try:
        for start in range(0, n, CHUNK):
            rows, events = armed_rows(start, min(start + CHUNK, n), now)
            async with engine.begin() as conn:
                await conn.execute(insert(orders), rows)
                await conn.execute(insert(order_events), events)
            if (start // CHUNK) % 4 == 3 or start + CHUNK >= n:
                say(f"    created {min(start + CHUNK, n):,}/{n:,} armed orders")
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def run_analyze(url: str) -> None:
    """ANALYZE after the bulk load, as after any bulk load. The claim no longer depends on it
    (`id = ANY(ARRAY(...))`: measured fine without statistics); `--no-analyze` checks that."""
    engine = make_engine(url, pooled=False)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()


async def counts(url: str) -> dict[str, int]:
    """Orders by status, and `routing` events, counted by SQL."""
    engine = make_engine(url, pooled=False)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(orders.c.status, func.count()).group_by("status"))
            by_status = {status: int(count) for status, count in rows}
            fired = await conn.scalar(
                select(func.count())
                .select_from(order_events)
                .where(order_events.c.type == "routing")
            )
    finally:
        await engine.dispose()
    return by_status | {"routing_events": int(fired or 0)}


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- the limit part


@dataclass
class SaveTimer:
    """Wraps a store method (`save_many`, `decide_fires`) to time each call (wall, CPU) and
    stamp when it returned."""

    name: str = "save_many"
    calls: list[tuple[float, float, float]] = field(default_factory=list)  # wall, cpu, end

    def wrap(self, store: SqlAlchemyStore) -> bool:
        """Wrap the method; False when this store has none (a tree before decide_fires)."""
        original = getattr(store, self.name, None)
        if original is None:
            return False

        async def timed(moves: Sequence[Any]) -> list[bool]:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                result: list[bool] = await original(moves)
                return result
            finally:
                end = time.perf_counter()
                self.calls.append((end - wall, time.process_time() - cpu, end))

        setattr(store, self.name, timed)
        return True

    def one(self) -> tuple[float, float, float]:
        """The check's only call (wall, CPU, end); a check makes exactly one."""
        if len(self.calls) != 1:
            raise Failure(f"expected one {self.name} per check, saw {len(self.calls)}")
        return self.calls[0]


@dataclass
class Databases:
    """Fresh databases of one backend for the limit part: a SQLite file each time, or a
    PostgreSQL database created (and dropped at the end), or a given one emptied."""

    backend: str
    tmp: Path
    pg_dsn: str = PG_DSN
    database_url: str | None = None
    made: list[str] = field(default_factory=list)

    async def fresh(self) -> str:
        if self.backend == "sqlite":
            path = self.tmp / f"triggers-{uuid.uuid4().hex[:8]}.sqlite3"
            url = f"sqlite+aiosqlite:///{path}"
        elif self.database_url is not None:
            url = self.database_url
            await migrate(url)
            engine = make_engine(url, pooled=False)
            try:
                async with engine.begin() as conn:
                    if await conn.scalar(select(func.count()).select_from(orders)):
                        raise SystemExit(f"{url} holds orders: give an empty database")
            finally:
                await engine.dispose()
            return url
        else:
            from oee.devtools.engine_process import pg_admin

            name = f"oee_bench_{uuid.uuid4().hex[:12]}"
            await pg_admin(self.pg_dsn, f'CREATE DATABASE "{name}"')
            self.made.append(name)
            url = f"{self.pg_dsn.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        await migrate(url)
        return url

    async def done_with(self, url: str) -> None:
        if self.backend == "sqlite":
            path = url.removeprefix("sqlite+aiosqlite:///")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{path}{suffix}")
        elif self.database_url is not None:
            engine = make_engine(url, pooled=False)
            try:
                async with engine.begin() as conn:
                    from oee.adapters.store._schema import watchers

                    await conn.execute(order_events.delete())
                    await conn.execute(orders.delete())
                    await conn.execute(watchers.delete())
            finally:
                await engine.dispose()
        else:
            from oee.devtools.engine_process import pg_admin

            name = url.rsplit("/", 1)[1]
            await pg_admin(self.pg_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.made.remove(name)


def watcher(store: SqlAlchemyStore, venue: SteeredVenue, queue: MemoryQueue) -> TriggerService:
    # The lease loop (heartbeat, claim, expire) is kept out of the measured checks: it beats
    # every 60 s; the price loop's own round runs at start (nothing crosses) and then hourly.
    return TriggerService(
        store,
        queue,
        MemoryBus(),
        SystemClock(),
        [venue],  # type: ignore[list-item]
        chain=None,  # type: ignore[arg-type]
        launches=None,
        lease_s=180,
        beat_s=60,
        poll_s=3600,
        watcher_id=f"bench-{uuid.uuid4().hex[:8]}",
    )


FIRST_CLAIM_IN_PROCESS = True


async def limit_run(
    dbs: Databases,
    n: int,
    k: int,
    rounds: int,
    profile: Path | None,
    *,
    memory: bool,
    analyze: bool,
) -> dict[str, Any]:
    """One fresh store of `n` armed orders; `rounds` checks crossing `k` more orders each."""
    global FIRST_CLAIM_IN_PROCESS
    url = await dbs.fresh()
    result: dict[str, Any] = {"backend": dbs.backend, "orders": n, "crossed": k}
    try:
        say(f"  [{dbs.backend}] K={k:,}: writing {n:,} armed orders")
        result["create_s"] = round(await create_armed(url, n), 2)
        if analyze:
            await run_analyze(url)
        store = SqlAlchemyStore.from_url(url)
        saves, decisions = SaveTimer(), SaveTimer("decide_fires")
        saves.wrap(store)
        decided_first = decisions.wrap(store)
        result["decided_first"] = decided_first
        venue, queue, stop = SteeredVenue(limit_of(0) - 1), MemoryQueue(), asyncio.Event()
        service = watcher(store, venue, queue)
        gc.collect()
        rss, wall, cpu = rss_bytes(), time.perf_counter(), time.process_time()
        say(f"  [{dbs.backend}] K={k:,}: claiming")
        await service.start(stop)
        claim_wall, claim_cpu = time.perf_counter() - wall, time.process_time() - cpu
        rss_delta = rss_bytes() - rss
        if len(service) != n:
            raise Failure(f"claimed {len(service)} of {n} armed orders")
        result |= {
            "claim_s": round(claim_wall, 3),
            "claim_cpu_s": round(claim_cpu, 3),
            "claimed_per_s": round(n / claim_wall),
        }
        if FIRST_CLAIM_IN_PROCESS:  # later claims reuse memory freed before: not comparable
            result["rss_per_order_bytes"] = round(rss_delta / n)
            FIRST_CLAIM_IN_PROCESS = False
        say(f"  [{dbs.backend}] K={k:,}: {n:,} claimed in {claim_wall:.2f} s")
        await asyncio.sleep(0.3)  # the price loop's first round (below every limit) and the lease
        checks = []
        for r in range(1, rounds + 1 + (profile is not None)):
            profiled = profile is not None and r == rounds + 1
            venue.price = limit_of(r * k - 1)  # crosses orders (r-1)*k .. r*k-1
            saves.calls.clear()
            decisions.calls.clear()
            profiler = cProfile.Profile() if profiled else None
            wall, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            fired = await service.prices.check((SOL.mint, USDC.mint))
            if profiler is not None:
                profiler.disable()
            end, cpu_s = time.perf_counter(), time.process_time() - cpu
            save_wall, save_cpu, save_end = saves.one()
            decide_wall, decide_end = 0.0, save_end  # no decision first: the move persists it
            if decided_first:
                decide_wall, _, decide_end = decisions.one()
            seen = await counts(url)
            expected = {"routing": r * k, "watching": n - r * k, "routing_events": r * k}
            got = {key: seen.get(key, 0) for key in expected}
            if fired != k or got != expected or await queue.depth() != r * k:
                raise Failure(f"round {r}: fired {fired}, store {seen}, expected {expected}")
            if len(service) != n - r * k:
                raise Failure(f"round {r}: still held {len(service)}, expected {n - r * k}")
            if profiler is not None and profile is not None:
                profiler.dump_stats(profile)
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
                say(
                    f"  profiled check (K={k:,}, not in the figures) -> {profile}\n{text.getvalue()}"
                )
                continue
            checks.append(
                {
                    "check_ms": (end - wall) * 1e3,
                    "check_cpu_ms": cpu_s * 1e3,
                    "persisted_ms": (decide_end - wall) * 1e3,
                    "applied_ms": (save_end - wall) * 1e3,
                    "decide_ms": decide_wall * 1e3,
                    "save_many_ms": save_wall * 1e3,
                    "save_many_cpu_ms": save_cpu * 1e3,
                }
            )
            say(
                f"  [{dbs.backend}] K={k:,} round {r}: check {checks[-1]['check_ms']:.1f} ms"
                f" (CPU {checks[-1]['check_cpu_ms']:.1f}), persisted at"
                f" {checks[-1]['persisted_ms']:.1f} ms, applied at"
                f" {checks[-1]['applied_ms']:.1f} ms, save_many {save_wall * 1e3:.1f} ms;"
                f" store: {got['routing']:,} routing, {got['watching']:,} watching"
            )
        result["rounds"] = [{key: round(v, 2) for key, v in c.items()} for c in checks]
        result |= {
            f"median_{key}": round(statistics.median(c[key] for c in checks), 2)
            for key in checks[0]
        }
        result["verified"] = True
        if memory and len(service) > 0:
            # A second watcher, traced, claims what is still armed: the heap per held order.
            await service.stop()
            stop.set()
            del service
            gc.collect()
            traced = watcher(store, venue, MemoryQueue())
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            say(f"  [{dbs.backend}] tracing the memory of a claim of {n - rounds * k:,}")
            await traced.start(asyncio.Event())
            gc.collect()
            heap = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            result["tracemalloc_per_order_bytes"] = round(heap / len(traced))
            result["tracemalloc_orders"] = len(traced)
            service = traced
        await service.stop()
        await store.close()
    finally:
        await dbs.done_with(url)
    return result


SOL, USDC = MAINNET_TOKENS.resolve("SOL"), MAINNET_TOKENS.resolve("USDC")


class Failure(Exception):
    """The benchmark's result is wrong (not merely slow)."""


async def limit_part(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    backends = ["sqlite", "postgres"] if args.mode == "both" else [args.mode]
    results = []
    for backend in backends:
        dbs = Databases(
            backend, tmp, args.pg_dsn, args.database_url if backend != "sqlite" else None
        )
        for i, k in enumerate(args.crossed):
            k = args.orders if k == 0 else k
            rounds = 1 if k == args.orders else args.rounds
            if rounds * k + (args.profile is not None) * k > args.orders:
                raise SystemExit(f"{rounds} rounds of {k} (+ a profiled one) exceed {args.orders}")
            profile = args.profile if k != args.orders else None
            results.append(
                await limit_run(
                    dbs, args.orders, k, rounds, profile, memory=i == 0, analyze=not args.no_analyze
                )
            )
    return results


# ---------------------------------------------------------------- the sniper part


async def sniper_part(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import httpx
    from solders.keypair import Keypair

    from oee.api.app import create_app
    from oee.bootstrap import build_engine
    from oee.devtools.inloop import serving
    from oee.settings import RecoverySettings, Settings, SimSettings, WorkerSettings

    settings = Settings(
        data_dir=tmp / "engine",
        sim=SimSettings(latency_scale=0.0, fault_rate=0.0),
        worker=WorkerSettings(concurrency=10, grace_s=2),
        recovery=RecoverySettings(interval_s=5.0, stale_after_s=30.0),
        confirm_poll_s=0.02,
        database_url=None,
        redis_url=None,
        log_level=args.log_level,
    )
    say("  building the embedded engine (SQLite, in-process queue, bus and simulator)")
    engine = await build_engine(settings, "serve")
    assert engine.worker is not None
    assert engine.worker.triggers is not None
    launches = engine.worker.triggers.launches
    assert launches is not None
    executor = engine.worker.executor

    heard: dict[str, float] = {}  # mint -> when its first launch reached on_launch
    sent: dict[str, tuple[float, float]] = {}  # order id -> (send entered, send returned)
    sent_now: dict[str, asyncio.Event] = {}
    on_launch, send = launches.on_launch, executor._send

    async def timed_on_launch(launch: Any) -> None:
        at = time.perf_counter()
        for mint in (launch.mint_a, launch.mint_b):
            heard.setdefault(mint, at)
        await on_launch(launch)

    async def timed_send(order: Order, raw_tx: str) -> None:
        at = time.perf_counter()
        try:
            await send(order, raw_tx)
        finally:
            if order.id not in sent:
                sent[order.id] = (at, time.perf_counter())
                sent_now.setdefault(order.id, asyncio.Event()).set()

    # Before the engine starts: the feed is handed `on_launch` when the watcher starts.
    launches.on_launch = timed_on_launch  # type: ignore[method-assign]
    executor._send = timed_send  # type: ignore[method-assign]

    async def status(order_id: str, *wanted: str, timeout_s: float = 30.0) -> str:
        async with asyncio.timeout(timeout_s):
            while True:
                order = await engine.store.get(order_id)
                if order is not None and order.status.value in wanted:
                    return order.status.value
                await asyncio.sleep(0.01)

    rows = []
    cpu_total = 0.0
    async with (
        serving(create_app(engine)) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        for i in range(args.snipers):
            mint = str(Keypair().pubkey())
            cmd = SubmitOrder.parse(
                "SOL",
                mint,
                "0.05",
                100,
                engine.registry,
                OrderTerms(type="sniper", max_price_impact_bps=3000),
                now=engine.clock.now(),
                is_mint=lambda text: len(text) >= 32,
            )
            order_id = (await engine.orders.submit(cmd)).order_id
            await status(order_id, "watching")
            await asyncio.sleep(0.05)  # the at-once pool check (no pool yet) is done
            sent_now[order_id] = asyncio.Event()
            body = {
                "symbol": f"SNIPE{i}",
                "decimals": 6,
                "mint": mint,
                "quote": "SOL",
                "venues": ["raydium"],
            }
            cpu = time.process_time()
            posted = time.perf_counter()
            launched = await client.post("/api/sim/pools", json=body)
            if launched.status_code != 201:
                raise Failure(f"launch refused: {launched.status_code} {launched.text}")
            async with asyncio.timeout(30):
                await sent_now[order_id].wait()
            cpu_total += time.process_time() - cpu
            final = await status(order_id, "confirmed", "failed")
            if final != "confirmed" or mint not in heard:
                raise Failure(f"sniper {order_id} for {mint}: {final}, heard {mint in heard}")
            entered, returned = sent[order_id]
            rows.append(
                {
                    "launch_to_heard_ms": (heard[mint] - posted) * 1e3,
                    "engine_ms": (entered - heard[mint]) * 1e3,
                    "engine_to_send_returned_ms": (returned - heard[mint]) * 1e3,
                }
            )
            say(
                f"  sniper {i + 1}/{args.snipers}: launch heard after"
                f" {rows[-1]['launch_to_heard_ms']:.1f} ms, sent"
                f" {rows[-1]['engine_ms']:.1f} ms after, {final}"
            )
    engine_ms = sorted(r["engine_ms"] for r in rows)
    return {
        "snipers": len(rows),
        "confirmed": len(rows),
        "engine_p50_ms": round(percentile(engine_ms, 50), 2),
        "engine_p99_ms": round(percentile(engine_ms, 99), 2),
        "engine_max_ms": round(engine_ms[-1], 2),
        "send_returned_p50_ms": round(
            percentile(sorted(r["engine_to_send_returned_ms"] for r in rows), 50), 2
        ),
        "launch_to_heard_p50_ms": round(
            percentile(sorted(r["launch_to_heard_ms"] for r in rows), 50), 2
        ),
        "process_cpu_per_sniper_ms": round(cpu_total / len(rows) * 1e3, 2),
        "verified": True,
    }


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, -(-len(ordered) * pct // 100))
    return float(ordered[int(rank) - 1])


# ---------------------------------------------------------------- main


def crossed_list(text: str) -> list[int]:
    return [0 if part.strip() == "all" else int(part) for part in text.split(",")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["limit", "sniper", "both"], default="both")
    parser.add_argument("--mode", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--orders", type=int, default=100_000, help="armed limit orders (N)")
    parser.add_argument(
        "--crossed", type=crossed_list, default=[1000, 0], help="K values, 'all' = N"
    )
    parser.add_argument("--rounds", type=int, default=5, help="checks per K below N")
    parser.add_argument("--snipers", type=int, default=50, help="sniper orders (M)")
    parser.add_argument("--pg-dsn", default=PG_DSN, help="server for fresh databases")
    parser.add_argument("--database-url", help="an empty PostgreSQL database to use instead")
    parser.add_argument("--profile", type=Path, help="cProfile one extra check of the first K")
    parser.add_argument(
        "--no-analyze", action="store_true", help="skip ANALYZE after writing the orders"
    )
    parser.add_argument("--log-level", default="INFO", help="the engine's (default: INFO)")
    parser.add_argument("--log-file", default=os.devnull, help="where the engine logs")
    parser.add_argument("--short", action="store_true", help="N=2000, K=200 and all, M=3 (CI)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.database_url is not None and args.mode == "sqlite":
        args.mode = "postgres"
    if args.short:
        args.orders, args.crossed, args.rounds, args.snipers = 2_000, [200, 0], 2, 3
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"machine": machine(), "log_level": args.log_level}
    with tempfile.TemporaryDirectory(prefix="oee-triggers-") as tmp:
        if args.part in ("limit", "both"):
            say(f"limit: {args.orders:,} armed orders, K in {args.crossed} (0 = all)")
            summary["limit"] = await limit_part(args, Path(tmp))
        if args.part in ("sniper", "both"):
            say(f"sniper: {args.snipers} orders, one at a time")
            summary["sniper"] = await sniper_part(args, Path(tmp))
    return summary


def report(summary: dict[str, Any]) -> None:
    m = summary["machine"]
    print(f"{m['date']}  commit {m['commit']}  {m['cpu']}  {m['nproc']} cores"
          f"  load {' '.join(m['loadavg_before'])}  engine log level {summary['log_level']}")  # fmt: skip
    for r in summary.get("limit", []):
        print(
            f"limit [{r['backend']}] N={r['orders']:,} K={r['crossed']:,}:"
            f" claim {r['claim_s']:.2f} s ({r['claimed_per_s']:,}/s, CPU {r['claim_cpu_s']:.2f} s);"
            f" check median {r['median_check_ms']:.1f} ms (CPU {r['median_check_cpu_ms']:.1f}),"
            f" persisted as fired at {r['median_persisted_ms']:.1f} ms (decide_fires"
            f" {r['median_decide_ms']:.1f} ms), applied at {r['median_applied_ms']:.1f} ms"
            f" (save_many {r['median_save_many_ms']:.1f} ms) over {len(r['rounds'])} round(s)"
            + (f"; tracemalloc {r['tracemalloc_per_order_bytes']:,} B/order"
               if "tracemalloc_per_order_bytes" in r else "")
            + (f"; RSS {r['rss_per_order_bytes']:,} B/order" if "rss_per_order_bytes" in r else "")
        )  # fmt: skip
    if "sniper" in summary:
        s = summary["sniper"]
        print(
            f"sniper: {s['confirmed']}/{s['snipers']} confirmed; on_launch -> send p50"
            f" {s['engine_p50_ms']:.1f} / p99 {s['engine_p99_ms']:.1f} / max"
            f" {s['engine_max_ms']:.1f} ms; launch POST -> heard p50"
            f" {s['launch_to_heard_p50_ms']:.1f} ms; process CPU {s['process_cpu_per_sniper_ms']:.1f}"
            " ms per sniper (simulator included)"
        )


def main(argv: list[str] | None = None) -> int:
    global QUIET
    args = parse_args(argv)
    QUIET = args.no_progress
    sink = open(args.log_file, "a")  # noqa: SIM115 -- open for the whole run
    with contextlib.redirect_stderr(sink):
        configure_logging(args.log_level, "json")
    try:
        summary = asyncio.run(run(args))
    except Failure as failure:
        print(f"FAILED: {failure}", file=OUT)
        return 1
    finally:
        sink.close()
    report(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
