"""`oee serve` as a child process on a free port, in either deployment, cleaned up afterwards.

The benchmark and the end-to-end load test measure the engine exactly as an operator runs it:
its own process, its own event loop, its real command line. Each run gets fresh state (a
temporary data dir; in production also a new PostgreSQL database and a unique Redis prefix),
and leaving the context always stops the process (SIGTERM, then SIGKILL) and removes that state,
also when startup fails or the caller is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

Mode = Literal["embedded", "production"]

# Inherited variables that would silently change what is measured; the caller's `env` decides.
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "PORT")
_BIND_ATTEMPTS = 3


class EngineStartError(RuntimeError):
    """The engine exited or never answered `/health`; the message ends with its log's tail."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the usual bind-to-0 trick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EngineProcess:
    """An async context manager running `oee serve` until the context ends.

    Example:
        async with EngineProcess("embedded", env={"OEE_SIM_LATENCY_SCALE": "0"}) as engine:
            report = await run_loadtest(engine.base_url, 20)
    """

    def __init__(
        self,
        mode: Mode = "embedded",
        *,
        env: Mapping[str, str] | None = None,
        oee_bin: str | Path | None = None,
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 20.0,
        pg_dsn: str = "postgresql://postgres@127.0.0.1:5432",
        redis_url: str = "redis://127.0.0.1:6379/12",
    ) -> None:
        """Describe the engine to run; nothing starts before `async with`.

        Args:
            mode: "embedded" (SQLite, in-process queue and bus) or "production" (PostgreSQL,
                BullMQ and Redis pub/sub).
            env: Extra environment for the engine, e.g. `OEE_SIM_LATENCY_SCALE`.
            oee_bin: The `oee` executable; by default the one beside this Python.
            startup_timeout_s: Longest wait for `/health` to answer.
            stop_timeout_s: Longest wait after SIGTERM before SIGKILL.
            pg_dsn: A PostgreSQL server (no database part) where a fresh database is created.
            redis_url: The Redis database the engine uses, under a fresh key prefix.
        """
        self.mode = mode
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = dict(env or {})
        self._bin = str(oee_bin or Path(sys.executable).with_name("oee"))
        self._startup_timeout_s, self._stop_timeout_s = startup_timeout_s, stop_timeout_s
        self._pg_dsn, self._redis_url = pg_dsn.rstrip("/"), redis_url
        self._tmp: Path | None = None  # made on entry, so an engine never entered leaves nothing
        self._database: str | None = None
        self._prefix: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._launched_env: dict[str, str] | None = None

    @property
    def log_path(self) -> Path:
        """Where the engine's stdout and stderr go (inside its temporary directory)."""
        if self._tmp is None:
            raise RuntimeError("the engine has not been started")
        return self._tmp / "engine.log"

    @property
    def data_dir(self) -> Path:
        """The engine's `OEE_DATA_DIR` (its SQLite file, wallet and simulated chain)."""
        if self._tmp is None:
            raise RuntimeError("the engine has not been started")
        return self._tmp / "data"

    @property
    def wallet_path(self) -> Path:
        """The keypair file the engine signs with; give it to other processes to share it."""
        if self._tmp is None:
            raise RuntimeError("the engine has not been started")
        given = self._env.get("OEE_WALLET_PATH")  # the caller's choice wins, as in the env
        return Path(given) if given else self._tmp / "data" / "wallet.json"

    @property
    def pid(self) -> int | None:
        """The running engine's process id; None before start and after stop."""
        return None if self._proc is None else self._proc.pid

    async def __aenter__(self) -> EngineProcess:
        self._tmp = Path(tempfile.mkdtemp(prefix="oee-engine-"))
        try:
            await self._launch(await self._provision())
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _provision(self) -> dict[str, str]:
        assert self._tmp is not None
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("OEE_") and k not in _SCRUBBED
        }
        env |= {
            "OEE_DATA_DIR": str(self.data_dir),
            "OEE_WALLET_PATH": str(self.wallet_path),
            "OEE_LOG_LEVEL": "WARNING",
        }
        if self.mode == "production":
            suffix = uuid.uuid4().hex[:12]
            await pg_admin(self._pg_dsn, f'CREATE DATABASE "oee_bench_{suffix}"')
            self._database = f"oee_bench_{suffix}"
            self._prefix = f"oee-bench-{suffix}"
            env |= {
                "DATABASE_URL": f"{self._pg_dsn}/{self._database}",
                "REDIS_URL": self._redis_url,
                "OEE_REDIS_PREFIX": self._prefix,
            }
        return env | self._env

    async def restart(self) -> None:
        """Stop the engine (SIGTERM) and start it again on the same data, as an operator's
        restart does; it answers `/health` again before this returns."""
        if self._launched_env is None:
            raise RuntimeError("the engine has not been started")
        await self.stop()
        await self._launch(self._launched_env)

    async def _launch(self, env: dict[str, str]) -> None:
        self._launched_env = env
        for attempt in range(1, _BIND_ATTEMPTS + 1):
            await self._start(env)
            try:
                await self._wait_healthy()
                return
            except EngineStartError as error:
                # The free port can be taken between our probe and the engine's bind: retry.
                if "address already in use" not in str(error) or attempt == _BIND_ATTEMPTS:
                    raise
                await self.stop()
                self.port = free_port()
                self.base_url = f"http://127.0.0.1:{self.port}"

    async def _start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self._proc = await asyncio.create_subprocess_exec(
                self._bin, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,  # its own process group: a signal reaches any child too
            )  # fmt: skip

    async def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._startup_timeout_s
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self._proc.returncode is not None:
                    raise EngineStartError(
                        f"oee serve exited with {self._proc.returncode}\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise EngineStartError(
            f"oee serve gave no /health in {self._startup_timeout_s:.0f} s\n{self.log_tail()}"
        )

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the engine has used so far; None when unknown (not Linux)."""
        if self._proc is None:
            return None
        try:
            stat = Path(f"/proc/{self._proc.pid}/stat").read_text()
        except OSError:
            return None
        # Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the engine wrote to stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, RuntimeError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> int | None:
        """Stop the engine: SIGTERM, then SIGKILL after the timeout. Returns its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.returncode is None:
            signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self._stop_timeout_s)
            except TimeoutError:
                signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        signal_group(proc.pid, signal.SIGKILL)  # anything it started and left behind
        return proc.returncode

    async def close(self) -> None:
        """Stop the engine, then drop its database, delete its Redis keys and its data dir."""
        try:
            await asyncio.shield(self.stop())
        finally:
            if self._database is not None:
                database, self._database = self._database, None
                await pg_admin(self._pg_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            if self._prefix is not None:
                prefix, self._prefix = self._prefix, None
                await delete_keys(self._redis_url, prefix)
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `pid`; a group already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def pg_admin(dsn: str, sql: str) -> None:
    """Run one statement on the server's `postgres` database (CREATE/DROP DATABASE and such)."""
    import asyncpg  # type: ignore[import-untyped]  # ships no type information

    conn = await asyncpg.connect(f"{dsn}/postgres", timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def delete_keys(redis_url: str, prefix: str) -> None:
    """Delete every Redis key under `<prefix>:`, in batches of 1000."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
    finally:
        await client.aclose()
