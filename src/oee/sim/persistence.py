"""Keeping the simulated chain across restarts: restore at start, snapshot while it runs.

`Snapshots.open` takes the data directory's lock and, when a snapshot exists, brings the
freshly built world and ledger to it (`oee.sim.snapshot`). While the simulator runs, `run`
writes a snapshot every `OEE_SIM_SNAPSHOT_INTERVAL_S` seconds when something changed (any
account write, a blockhash issued); `close` writes a last one on a clean shutdown. A crash
loses at most the last interval. The state is read on the event loop (the world is not
thread-safe); the encoding and the atomic write run in a thread.

Persistence is opt-in: `build_sim` alone keeps the chain in memory (tests, the library); the
`oee sim` and `oee serve` commands always open snapshots in a data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import structlog

from oee.sim import snapshot, snapshot_file
from oee.sim.ledger import SimLedger
from oee.sim.snapshot_file import SnapshotError
from oee.sim.world import SimWorld

log = structlog.get_logger(__name__)

__all__ = ["SnapshotError", "SnapshotStats", "Snapshots"]


@dataclass(frozen=True, slots=True)
class SnapshotStats:
    """One snapshot: bytes written, accounts in it, seconds to read the state and to write."""

    size: int
    accounts: int
    capture_s: float
    write_s: float


class Snapshots:
    """One chain's snapshots in one directory, held locked while the simulator runs."""

    def __init__(
        self,
        world: SimWorld,
        ledger: SimLedger,
        directory: Path,
        *,
        interval_s: float,
        lock: IO[bytes],
        generation: int = 0,
    ) -> None:
        self._world, self._ledger, self.directory = world, ledger, directory
        self._interval_s, self._lock, self._generation = interval_s, lock, generation
        self._saved: tuple[int, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    @classmethod
    def open(
        cls, world: SimWorld, ledger: SimLedger, directory: Path, *, interval_s: float = 5.0
    ) -> Snapshots:
        """Lock `directory` and restore its snapshot into a just-built world and ledger.

        Raises:
            SnapshotError: Another simulator holds the directory, or the snapshot is
                unreadable, newer than this version or of another seed (the message names
                the file and the reset command).
        """
        lock = snapshot_file.lock(directory)
        try:
            state = snapshot_file.read(directory, world.seed)
            generation = 0
            if state is not None:
                try:
                    height = snapshot.restore(world, ledger, state)
                except (KeyError, ValueError, TypeError, AttributeError) as error:
                    path = snapshot_file.snapshot_path(directory)
                    hint = snapshot_file.RESET_HINT.format(dir=directory)
                    raise SnapshotError(
                        f"the simulator's snapshot {path} does not fit this simulator "
                        f"({type(error).__name__}: {error}); {hint}"
                    ) from None
                generation = int(state["generation"]) + 1
                log.info(
                    "sim_restored", path=str(snapshot_file.snapshot_path(directory)),
                    height=height, accounts=len(state["accounts"]),
                    launches=len(state["launches"]), transactions=len(state["processed"]),
                )  # fmt: skip
        except BaseException:
            lock.close()
            raise
        snapshots = cls(
            world, ledger, directory, interval_s=interval_s, lock=lock, generation=generation
        )
        snapshots._saved = snapshots._version() if state is not None else None
        return snapshots

    def changed(self) -> bool:
        """Whether the chain changed since the last snapshot (or was never saved)."""
        return self._saved != self._version()

    def save(self) -> SnapshotStats:
        """Write a snapshot now, on the calling thread."""
        state, version, capture_s = self._capture()
        return self._write(state, version, capture_s)

    async def save_async(self) -> SnapshotStats:
        """Write a snapshot now: the state read here, encoded and written in a thread."""
        async with self._writing:
            state, version, capture_s = self._capture()
            return await asyncio.to_thread(self._write, state, version, capture_s)

    def start(self) -> None:
        """Snapshot every interval while something changes (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the periodic snapshots, write the last one, release the directory."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            if self.changed():
                stats = await self.save_async()
                log.info("sim_snapshot_final", bytes=stats.size, accounts=stats.accounts)
        finally:
            self.release()

    def release(self) -> None:
        """Release the directory now, without a last snapshot (for callers that saved)."""
        self._lock.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            if not self.changed():
                continue
            try:
                await self.save_async()
            except OSError as error:  # a full disk must not stop the chain; say so, retry
                log.error("sim_snapshot_failed", directory=str(self.directory), error=str(error))

    def _version(self) -> tuple[int, int]:
        return self._world.bank.store.writes, self._ledger.blockhashes.issued

    def _capture(self) -> tuple[dict[str, object], tuple[int, int], float]:
        started = time.perf_counter()
        state = snapshot.capture(self._world, self._ledger, self._generation)
        return state, self._version(), time.perf_counter() - started

    def _write(
        self, state: dict[str, object], version: tuple[int, int], capture_s: float
    ) -> SnapshotStats:
        started = time.perf_counter()
        data = snapshot_file.encode(self._world.seed, state)
        snapshot_file.write(self.directory, data)
        self._saved = version
        accounts = state["accounts"]
        count = len(accounts) if isinstance(accounts, list) else 0
        return SnapshotStats(len(data), count, capture_s, time.perf_counter() - started)
