"""CPU per lone create on PostgreSQL: `create`, `create_many` of one, `create` with a key.

One order at a time (as the API's group commit mostly sends them at moderate load), after 200
warm-up creates, on a fresh database created and dropped by the run; prints this process's CPU
and the wall time per call (the server's CPU is not in it). To compare two trees, run it
alternately under each tree's PYTHONPATH:

    PYTHONPATH=<tree>/src python benchmarks/store_create.py create 2000   # or many1, key
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from oee.adapters.store.migrate import migrate
from oee.adapters.store.sqlalchemy import SqlAlchemyStore
from oee.domain.orders import IdempotencyKey, Order, SubmitOrder

WARM_UP = 200


async def main(mode: str, n: int, host: str = "127.0.0.1", user: str = "postgres") -> None:
    name = f"oee_bench_create_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(user=user, host=host, database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://{user}@{host}:5432/{name}"
    try:
        await migrate(url)
        store = SqlAlchemyStore.from_url(url)
        cmd = SubmitOrder.parse("SOL", "USDC", "1.5", 50)
        now = datetime.now(UTC)
        made = [Order.accept(cmd, str(uuid.uuid4()), now, "alice") for _ in range(n + WARM_UP)]

        async def one(i: int) -> None:
            order, first = made[i]
            if mode == "create":
                await store.create(order, first)
            elif mode == "many1":
                await store.create_many([(order, first)])
            else:
                key = IdempotencyKey(f"k{i}", "f" * 64, now + timedelta(days=1), "alice")
                await store.create(order, first, key)

        for i in range(WARM_UP):  # the pool's connections, their prepared statements
            await one(i)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(WARM_UP, n + WARM_UP):
            await one(i)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"{mode} cpu_us={1e6 * cpu / n:.0f} wall_us={1e6 * wall / n:.0f}")
        await store.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
