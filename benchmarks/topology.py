"""The engine under test, started as operators run it, and the processes whose CPU is its cost.

- `embedded`: one `oee serve` (SQLite, in-process queue and bus). By default the simulator is
  its own `oee sim` process (`OEE_RPC_URL`), so the engine's CPU excludes the simulator's;
  `sim="inprocess"` runs the seed's default (the simulator inside `oee serve`), whose CPU then
  includes it.
- `production`: `oee sim`, A x `oee api` and W x `oee worker` on the real PostgreSQL and Redis
  (`oee.devtools.cluster.Cluster`: a fresh database and Redis prefix, removed afterwards).

Either way the result names the engine's processes by pid, the simulator's apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
from wire import process_cpu_seconds

from oee.devtools.cluster import Cluster, ClusterProcess
from oee.devtools.engine_process import EngineProcess, EngineStartError, free_port

Kind = Literal["embedded", "production"]


@dataclass
class Running:
    """A running engine: where to submit, where to stream from, which pids are the engine."""

    kind: Kind
    post_url: str
    stream_urls: list[str]
    engine_pids: dict[str, int]  # name -> pid: api(s), worker(s), or serve
    sim_pid: int | None = None
    logs: dict[str, Path] = field(default_factory=dict)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of every engine process, and of the simulator as `sim`."""
        pids = self.engine_pids | ({"sim": self.sim_pid} if self.sim_pid else {})
        return {name: process_cpu_seconds(pid) or 0.0 for name, pid in pids.items()}


async def wait_healthy(url: str, proc: ClusterProcess, timeout_s: float = 60.0) -> None:
    """Wait until `url/health` answers 200, failing early if the process exits."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not proc.alive:
                raise EngineStartError(f"oee {proc.name} exited\n{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise EngineStartError(f"oee {proc.name} not ready in time\n{proc.tail()}")


@contextlib.asynccontextmanager
async def sim_process(env: Mapping[str, str]) -> AsyncIterator[tuple[str, ClusterProcess]]:
    """An `oee sim` on a free port with a temporary data dir; its URL and process."""
    tmp = Path(tempfile.mkdtemp(prefix="oee-bench-sim-"))
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("OEE_")}
    proc_env = base | {"OEE_DATA_DIR": str(tmp)} | dict(env)
    exe = str(Path(sys.executable).with_name("oee"))
    args = ["sim", "--host", "127.0.0.1", "--port", str(port)]
    proc = ClusterProcess("sim", args, proc_env, tmp / "sim.log", exe)
    try:
        await proc.start()
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url, proc)
        yield url, proc
    finally:
        await proc.stop(10.0)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.asynccontextmanager
async def embedded(
    env: Mapping[str, str], *, sim: str = "process", pg_dsn: str, redis_url: str
) -> AsyncIterator[Running]:
    """`oee serve`, with the simulator in its own process unless `sim="inprocess"`."""
    async with contextlib.AsyncExitStack() as stack:
        sim_url, sim_proc, serve_env = None, None, dict(env)
        if sim == "process":
            sim_url, sim_proc = await stack.enter_async_context(sim_process(env))
            serve_env["OEE_RPC_URL"] = f"{sim_url}/"
        engine = EngineProcess("embedded", env=serve_env, pg_dsn=pg_dsn, redis_url=redis_url)
        await stack.enter_async_context(engine)
        assert engine.pid is not None
        sim_pid = sim_proc.proc.pid if sim_proc and sim_proc.proc else None
        yield Running(
            "embedded", engine.base_url, [engine.base_url], {"serve": engine.pid}, sim_pid
        )


@contextlib.asynccontextmanager
async def production(
    env: Mapping[str, str],
    *,
    workers: int,
    apis: int,
    pg_dsn: str,
    redis_url: str,
    log_dir: Path | None = None,
) -> AsyncIterator[Running]:
    """`oee sim`, `apis` x `oee api`, `workers` x `oee worker` on PostgreSQL and Redis.

    With two APIs, orders are submitted through the first and streamed from the others.
    """
    cluster = Cluster(
        workers=workers,
        apis=apis,
        env=env,
        pg_dsn=pg_dsn,
        redis_url=redis_url,
        use_sim=True,
        log_dir=log_dir,
    )
    async with cluster:
        pids = {
            name: p.proc.pid
            for name, p in cluster.processes.items()
            if name != "sim" and p.proc is not None
        }
        sim = cluster.processes["sim"].proc
        streams = cluster.api_urls[1:] or cluster.api_urls
        yield Running("production", cluster.base_url, streams, pids, sim.pid if sim else None)


def start(
    kind: Kind,
    env: Mapping[str, str],
    *,
    workers: int = 1,
    apis: int = 1,
    sim: str = "process",
    pg_dsn: str = "postgresql://postgres@127.0.0.1:5432",
    redis_url: str = "redis://127.0.0.1:6379/12",
    log_dir: Path | None = None,
) -> contextlib.AbstractAsyncContextManager[Running]:
    """The topology `kind` as an async context manager yielding `Running`."""
    if kind == "embedded":
        return embedded(env, sim=sim, pg_dsn=pg_dsn, redis_url=redis_url)
    return production(
        env, workers=workers, apis=apis, pg_dsn=pg_dsn, redis_url=redis_url, log_dir=log_dir
    )
