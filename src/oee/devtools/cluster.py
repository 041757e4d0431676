"""A production cluster as separate processes (`oee sim`, `oee api`, N x `oee worker`) for chaos.

Each cluster gets fresh state: a new PostgreSQL database and a unique key prefix in a Redis
database index that should be dedicated to it (FLUSHDB empties the whole index, so the cluster
refuses to flush one holding keys of anyone else). Every process runs in its own process group
and can be killed with SIGKILL and restarted on the same port, so clients reconnect to the same
address. Leaving the context always stops every process and drops the database and the keys,
also when start-up fails or the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from oee.devtools.engine_process import (
    EngineStartError,
    delete_keys,
    free_port,
    pg_admin,
    signal_group,
)

PG_RESTART = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart"
# How workers find the shared `oee sim`: its Solana JSON-RPC (the quote APIs live under it).
RPC_URL_ENV = "OEE_RPC_URL"
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "PORT")
_WORKER_READY = b"worker running"  # what `oee worker` prints once it consumes jobs


def sim_available(oee_bin: str | Path | None = None) -> bool:
    """Whether this `oee` has the `sim` command (the shared simulator process)."""
    exe = str(oee_bin or Path(sys.executable).with_name("oee"))
    done = subprocess.run([exe, "sim", "--help"], capture_output=True, check=False, timeout=60)
    return done.returncode == 0


class ClusterProcess:
    """One `oee` process of the cluster, restartable with the same arguments and port."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path, exe: str):
        self.name, self.args, self.env, self.log_path, self._exe = name, args, env, log, exe
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.log_offset = 0  # where the current run's output begins in the log

    @property
    def alive(self) -> bool:
        """The process runs (it has been started and has not exited)."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        """Start the process, appending to its log so earlier runs stay readable."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                self._exe, *self.args, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL the process group: no drain, no cleanup, exactly like a crash."""
        if self.proc is not None:
            signal_group(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    async def stop(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`; also reaps anything it left behind."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            signal_group(proc.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout_s)
        await self.kill()

    def output(self) -> bytes:
        """What the current run has written so far."""
        with contextlib.suppress(OSError), self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read()
        return b""

    def tail(self, lines: int = 20) -> str:
        """The last lines of the current run's output."""
        return "\n".join(self.output().decode(errors="replace").splitlines()[-lines:])


class Cluster:
    """An async context manager running `oee api`, `workers` x `oee worker` and maybe `oee sim`.

    Example:
        async with Cluster(workers=2, env={"OEE_SIM_LATENCY_SCALE": "0.2"}) as cluster:
            await cluster.kill("worker-1")
            await cluster.restart("worker-1")
    """

    def __init__(
        self,
        *,
        workers: int = 2,
        apis: int = 1,
        env: Mapping[str, str] | None = None,
        pg_dsn: str = "postgresql://postgres@127.0.0.1:5432",
        redis_url: str = "redis://127.0.0.1:6379/13",
        use_sim: bool | None = None,
        log_dir: Path | None = None,
        oee_bin: str | Path | None = None,
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        """Describe the cluster; nothing starts before `async with`.

        Args:
            workers: How many `oee worker` processes.
            apis: How many `oee api` processes (`api`, `api-2`, ...), each on its own port.
            env: Extra environment for every process (OEE_* settings).
            pg_dsn: A PostgreSQL server (no database part); a fresh database is made there.
            redis_url: A Redis database index used by this cluster alone (see `flush_redis`).
            use_sim: Run a shared `oee sim`; None runs it when this `oee` has the command,
                otherwise each worker simulates its own chain in-process.
            log_dir: Keep the processes' logs here; by default they go with the temp dir.
            oee_bin: The `oee` executable; by default the one beside this Python.
            startup_timeout_s: Longest wait for a process to become ready.
            stop_timeout_s: Longest wait after SIGTERM before SIGKILL.
        """
        self.workers = workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # The first API is `base_url`; every further one gets a port of its own.
        self.api_urls = [self.base_url] + [
            f"http://127.0.0.1:{free_port()}" for _ in range(1, max(apis, 1))
        ]
        self.sim_url: str | None = None
        self.redis_url, self._pg_dsn = redis_url, pg_dsn.rstrip("/")
        self._env, self._use_sim, self._log_dir = dict(env or {}), use_sim, log_dir
        self._exe = str(oee_bin or Path(sys.executable).with_name("oee"))
        self._startup_timeout_s, self._stop_timeout_s = startup_timeout_s, stop_timeout_s
        suffix = uuid.uuid4().hex[:12]
        self.database, self.prefix = f"oee_chaos_{suffix}", f"oee-chaos-{suffix}"
        self.processes: dict[str, ClusterProcess] = {}
        self._tmp: Path | None = None
        self._created_db = False

    async def __aenter__(self) -> Cluster:
        self._tmp = Path(tempfile.mkdtemp(prefix="oee-cluster-"))
        # If the loop never gets to `close` (a test timeout's exception, a second Ctrl-C),
        # the processes still die with this interpreter rather than run on, orphaned.
        atexit.register(self._kill_all)
        try:
            await self._start_all()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _start_all(self) -> None:
        assert self._tmp is not None
        logs = self._log_dir or self._tmp
        logs.mkdir(parents=True, exist_ok=True)
        await pg_admin(self._pg_dsn, f'CREATE DATABASE "{self.database}"')
        self._created_db = True
        env = {k: v for k, v in os.environ.items() if not k.startswith("OEE_")}
        env = {k: v for k, v in env.items() if k not in _SCRUBBED} | {
            "DATABASE_URL": f"{self._pg_dsn}/{self.database}",
            "REDIS_URL": self.redis_url,
            "OEE_REDIS_PREFIX": self.prefix,
            "OEE_DATA_DIR": str(self._tmp / "data"),
            # Named outright, not left to the data dir: api and every worker sign as one wallet
            # even if a caller gives one process its own OEE_DATA_DIR.
            "OEE_WALLET_PATH": str(self.wallet_path),
            "OEE_LOG_FORMAT": "json",
        }
        env |= self._env
        use_sim = self._use_sim
        if use_sim is None:
            use_sim = await asyncio.to_thread(sim_available, self._exe)
        if use_sim:
            sim_port = free_port()
            self.sim_url = f"http://127.0.0.1:{sim_port}"
            env[RPC_URL_ENV] = f"{self.sim_url}/"
            args = ["sim", "--host", "127.0.0.1", "--port", str(sim_port)]
            self._add("sim", args, env, logs)
        for n, url in enumerate(self.api_urls, start=1):
            port = url.rsplit(":", 1)[1]
            name = "api" if n == 1 else f"api-{n}"
            self._add(name, ["api", "--host", "127.0.0.1", "--port", port], env, logs)
        for n in range(1, self.workers + 1):
            self._add(f"worker-{n}", ["worker"], env, logs)
        # In order: the API migrates the database before any worker starts.
        for name in self.processes:
            await self.restart(name)

    def _add(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.processes[name] = ClusterProcess(name, args, env, logs / f"{name}.log", self._exe)

    @property
    def wallet_path(self) -> Path:
        """The keypair file every process of the cluster signs with (made by the first to start).

        Raises:
            RuntimeError: The cluster has not been entered.
        """
        if self._tmp is None:
            raise RuntimeError("the cluster has not been started")
        given = self._env.get("OEE_WALLET_PATH")  # the caller's choice wins, as in the env
        return Path(given) if given else self._tmp / "data" / "wallet.json"

    @property
    def worker_names(self) -> list[str]:
        """The workers' names: worker-1 ... worker-N."""
        return [name for name in self.processes if name.startswith("worker-")]

    async def kill(self, name: str) -> None:
        """SIGKILL one process (`api`, `sim`, `worker-N`) and wait until it is gone."""
        await self.processes[name].kill()

    async def restart(self, name: str) -> float:
        """(Re)start one process and wait until it is ready; returns the seconds it took."""
        process = self.processes[name]
        started = time.monotonic()
        if process.alive:
            await process.kill()
        await process.start()
        await self._wait_ready(process)
        return time.monotonic() - started

    async def _wait_ready(self, process: ClusterProcess) -> None:
        deadline = time.monotonic() + self._startup_timeout_s
        urls = {"api" if n == 1 else f"api-{n}": u for n, u in enumerate(self.api_urls, 1)}
        url = (urls | {"sim": self.sim_url}).get(process.name)
        async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
            while time.monotonic() < deadline:
                if not process.alive:
                    raise EngineStartError(f"oee {process.name} exited\n{process.tail()}")
                if url is None:
                    if _WORKER_READY in process.output():
                        return
                else:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(f"{url}/health")).status_code == 200:
                            return
                await asyncio.sleep(0.1)
        raise EngineStartError(f"oee {process.name} not ready in time\n{process.tail()}")

    async def flush_redis(self) -> None:
        """FLUSHDB the cluster's Redis database (never FLUSHALL: the server is shared).

        Raises:
            RuntimeError: The database holds keys outside this cluster's prefix: it is not
                dedicated to this cluster, and flushing it would destroy someone else's data.
        """
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.redis_url)
        try:
            async for key in client.scan_iter(count=1000):
                if not key.startswith(self.prefix.encode()):
                    raise RuntimeError(f"{self.redis_url} holds foreign keys ({key!r}): no FLUSHDB")
            await client.flushdb()
        finally:
            await client.aclose()

    async def other_sessions(self) -> dict[str, int]:
        """Sessions on other databases of the server: what a PostgreSQL restart would cut."""
        rows = await self.fetch(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL"
            f" AND datname NOT IN ('{self.database}', 'postgres') GROUP BY datname"
        )
        return {str(name): int(count) for name, count in rows}

    async def restart_postgres(self, command: str = PG_RESTART, timeout_s: float = 60.0) -> None:
        """Restart the PostgreSQL server (every database on it!) and wait until it answers."""
        shell = await asyncio.create_subprocess_shell(
            command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await shell.communicate()
        if shell.returncode != 0:
            raise RuntimeError(f"{command!r} failed ({shell.returncode}): {out.decode()}")
        await self.wait_postgres(timeout_s)

    async def wait_postgres(self, timeout_s: float = 60.0) -> None:
        """Wait until the PostgreSQL server accepts connections again."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                await pg_admin(self._pg_dsn, "SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the cluster's database (for checks from outside)."""
        import asyncpg  # type: ignore[import-untyped]  # ships no type information

        conn = await asyncpg.connect(f"{self._pg_dsn}/{self.database}", timeout=10)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    def _kill_all(self) -> None:
        for process in self.processes.values():
            if process.alive and process.proc is not None:
                signal_group(process.proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Stop every process, then drop the database, the Redis keys and the temp dir."""
        try:
            stops = (p.stop(self._stop_timeout_s) for p in self.processes.values())
            await asyncio.shield(asyncio.gather(*stops))
        finally:
            self._kill_all()  # cancelled mid-stop: kill now, as no further await may finish
            atexit.unregister(self._kill_all)
            try:
                if self._created_db:
                    self._created_db = False
                    await self.wait_postgres()  # a test may end during a restart
                    sql = f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'
                    await pg_admin(self._pg_dsn, sql)
            finally:
                await delete_keys(self.redis_url, self.prefix)
                if self._tmp is not None:
                    shutil.rmtree(self._tmp, ignore_errors=True)
                    self._tmp = None
