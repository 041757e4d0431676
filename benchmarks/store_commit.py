"""Store commit benchmark: N orders moving at once, one transaction per write or group commit.

N concurrent orders each do what the executor writes for a confirmed market order: `create`,
then `save` of routing, building, submitted and confirmed (five writes, each awaited before
the next, as an order's event is published only once committed). Measured per store (the
SQLAlchemy store as it is, "plain", and wrapped in `GroupCommitStore`, "group"): this
process's CPU per write (the database server's own CPU is not in it) and writes per second
(wall). Plain and group runs alternate, each on a fresh database (a SQLite file, a PostgreSQL
database created and dropped by the run), and every run checks that each order ends at seq 5
with its five events (a wrong count exits 1).

    python benchmarks/store_commit.py                      # SQLite and PostgreSQL, N=200
    python benchmarks/store_commit.py --backends sqlite --orders 500 --repeats 5
    python benchmarks/store_commit.py --short              # CI: small, checks correctness
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from oee.adapters.store._schema import order_events
from oee.adapters.store.group_commit import GroupCommitStore
from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.domain.orders import Fill, Order, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, choose_best

PG_DSN = "postgresql://postgres@127.0.0.1:5432"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WRITES_PER_ORDER = 5


def _decision() -> Any:
    quote = Quote("raydium", 10**9, 150 * 10**6, 3, 25, Decimal("150.1"), Decimal("0.1"), "pool")
    return choose_best([quote], 50)


async def one_order(store: Any) -> None:
    """What the executor writes for one confirmed order, each write awaited in turn."""
    order, first = Order.accept(SubmitOrder.parse("SOL", "USDC", "1", 50), str(uuid.uuid4()), T0)
    await store.create(order, first)
    at = T0
    for step in range(4):
        at += timedelta(milliseconds=10)
        if step == 0:
            event = order.start_routing(at)
        elif step == 1:
            event = order.route(_decision(), at)
        elif step == 2:
            event = order.submit(SignedSwap("sig", 1000, "AQID", "raydium", 1, 5000), at)
        else:
            fill = Fill("sig", 150 * 10**6, Decimal("150.1"), "raydium", 5000)
            event = order.confirm(fill, at)
        await store.save(order, event)


async def fresh_url(backend: str, tmp: Path, pg_dsn: str) -> str:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / f'commit-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        from oee.devtools.engine_process import pg_admin

        name = f"oee_bench_commit_{uuid.uuid4().hex[:10]}"
        await pg_admin(pg_dsn, f'CREATE DATABASE "{name}"')
        url = f"{pg_dsn.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    await migrate(url)
    return url


async def drop(url: str, pg_dsn: str) -> None:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite+aiosqlite:///")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")
        return
    from oee.devtools.engine_process import pg_admin

    name = url.rsplit("/", 1)[1]
    await pg_admin(pg_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def one_run(backend: str, mode: str, orders: int, tmp: Path, pg_dsn: str) -> dict[str, Any]:
    url = await fresh_url(backend, tmp, pg_dsn)
    inner = SqlAlchemyStore.from_url(url)
    store: Any = GroupCommitStore(inner) if mode == "group" else inner
    try:
        await inner.ping()  # the pool's first connection is not part of the run
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one_order(store) for _ in range(orders)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        async with inner._engine.connect() as conn:
            logged = await conn.scalar(select(func.count()).select_from(order_events))
        if logged != orders * WRITES_PER_ORDER:
            raise SystemExit(f"{backend}/{mode}: {logged} events, expected {orders * 5}")
    finally:
        await store.close()
        await drop(url, pg_dsn)
    writes = orders * WRITES_PER_ORDER
    return {"cpu_us_per_write": cpu / writes * 1e6, "writes_per_s": writes / wall}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"orders": args.orders, "repeats": args.repeats, "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            runs: dict[str, list[dict[str, Any]]] = {"plain": [], "group": []}
            for _ in range(args.repeats):  # alternating: the machine's noise hits both alike
                for mode in ("plain", "group"):
                    runs[mode].append(
                        await one_run(backend, mode, args.orders, Path(tmp), args.pg_dsn)
                    )
            summary: dict[str, Any] = {}
            for mode, done in runs.items():
                summary[mode] = {
                    key: statistics.median(r[key] for r in done)
                    for key in ("cpu_us_per_write", "writes_per_s")
                }
            summary["cpu_ratio"] = (
                summary["group"]["cpu_us_per_write"] / summary["plain"]["cpu_us_per_write"]
            )
            summary["throughput_ratio"] = (
                summary["group"]["writes_per_s"] / summary["plain"]["writes_per_s"]
            )
            results["backends"][backend] = summary
    return results


def report(results: dict[str, Any]) -> None:
    print(
        f"{results['orders']} concurrent orders x {WRITES_PER_ORDER} writes, "
        f"median of {results['repeats']} alternating runs"
    )
    for backend, s in results["backends"].items():
        for mode in ("plain", "group"):
            r = s[mode]
            print(
                f"  {backend:8} {mode:5}  {r['cpu_us_per_write']:7.0f} us CPU/write"
                f"  {r['writes_per_s']:8.0f} writes/s"
            )
        print(
            f"  {backend:8} group/plain: CPU x{s['cpu_ratio']:.2f},"
            f" throughput x{s['throughput_ratio']:.2f}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--orders", type=int, default=200, help="concurrent orders (N)")
    parser.add_argument("--repeats", type=int, default=3, help="plain/group run pairs")
    parser.add_argument("--pg-dsn", default=PG_DSN, help="server for fresh databases")
    parser.add_argument("--short", action="store_true", help="N=50, one pair, SQLite (CI)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.short:
        args.orders, args.repeats = 50, 1
        if "--backends" not in (argv if argv is not None else sys.argv):
            args.backends = "sqlite"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
