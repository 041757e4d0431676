"""BullMQ lock renewal on a thread of its own, so a busy event loop cannot lose a job's lock.

BullMQ renews the locks of running jobs from a task on the worker's event loop. When that loop
falls behind (the engine past capacity, a CPU-heavy step, a long GC pause), renewal comes late,
the lock expires, the stalled check hands the job to another worker while this one still runs
it, and BullMQ logs "could not renew lock" when it finally tries. Measured at twice capacity:
604 lost locks in a minute, and the re-runs made the overload worse.

`LockKeeper` renews on a plain thread with a synchronous Redis connection of its own, running
BullMQ's own `extendLocks` script (read from the installed `bullmq` package, so the two never
disagree): a renewal needs only the GIL for a moment, never the loop. The adapter sets BullMQ's
`lockRenewTime` to 0, which keeps BullMQ's renewal task from starting, so the two never race.
"""

from __future__ import annotations

import threading
from importlib.resources import files
from typing import Any

import msgpack  # type: ignore[import-untyped]  # a dependency of bullmq, untyped
import redis
import structlog

log = structlog.get_logger(__name__)

# BullMQ's script: KEYS[1] = stalled set; ARGV = base key, msgpack tokens, msgpack ids, PX ms.
EXTEND_LOCKS_LUA = files("bullmq").joinpath("commands/extendLocks-1.lua").read_text()
_CONNECT_TIMEOUT_S = 2.0


class LockKeeper:
    """Keeps extending the locks of the jobs this worker runs until they are released.

    Args:
        redis_url: The queue's Redis.
        queue_key: BullMQ's qualified queue name (`<prefix>:<queue>`), as its keys start.
        lock_duration_ms: Each renewal sets the lock to expire this long after it.
        renew_every_ms: How often locks are renewed; a quarter of the duration leaves three
            chances to renew before a lock expires.
    """

    def __init__(
        self,
        redis_url: str,
        queue_key: str,
        *,
        lock_duration_ms: int,
        renew_every_ms: int | None = None,
    ) -> None:
        self._client: Any = redis.Redis.from_url(
            redis_url,
            socket_timeout=max(lock_duration_ms / 4000, 0.5),
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
        )
        self._script = self._client.register_script(EXTEND_LOCKS_LUA)
        self._base = f"{queue_key}:"
        self._stalled = f"{queue_key}:stalled"
        self._duration_ms = lock_duration_ms
        self._every_s = (renew_every_ms or lock_duration_ms // 4) / 1000
        self._jobs: dict[str, str] = {}  # job id -> lock token
        self._suspect: set[str] = set()  # renewal failed on the last tick
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.renewals = 0
        self.lost = 0

    def start(self) -> None:
        """Start renewing (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="bullmq-lock-keeper", daemon=True
            )
            self._thread.start()

    def hold(self, job_id: str, token: str) -> None:
        """Renew this job's lock from now on (it was just taken with a full duration)."""
        with self._guard:
            self._jobs[job_id] = token
            self._suspect.discard(job_id)

    def release(self, job_id: str) -> None:
        """Stop renewing the job's lock: it completed, failed or was given up."""
        with self._guard:
            self._jobs.pop(job_id, None)

    def held(self) -> frozenset[str]:
        """The ids whose locks are being kept."""
        with self._guard:
            return frozenset(self._jobs)

    def renew(self) -> list[str]:
        """Extend every held lock once, now; returns the ids found lost on this call.

        A renewal can fail for a job that just completed (BullMQ deleted its lock before the
        loop got round to `release`), so a failure only makes a job suspect; one still held a
        tick later has truly lost its lock (it expired, or another worker took the job) and is
        dropped, since renewing it cannot succeed again.
        """
        with self._guard:
            lost = [job_id for job_id in self._suspect if job_id in self._jobs]
            for job_id in lost:
                del self._jobs[job_id]
            self._suspect = set()
            jobs = list(self._jobs.items())
        if lost:
            self.lost += len(lost)
            log.warning("job_lock_lost", order_ids=lost[:10], count=len(lost))
        if not jobs:
            return lost
        failed = self._script(
            keys=[self._stalled],
            args=[
                self._base,
                msgpack.packb([token for _, token in jobs], use_bin_type=True),
                msgpack.packb([job_id for job_id, _ in jobs], use_bin_type=True),
                self._duration_ms,
            ],
        )
        self.renewals += 1
        if failed:
            ids = {f.decode() if isinstance(f, bytes) else str(f) for f in failed}
            with self._guard:
                self._suspect = {job_id for job_id in ids if job_id in self._jobs}
        return lost

    def stop(self) -> None:
        """Stop renewing and close the connection; held locks then expire on their own."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self._every_s + 5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.renew()
            except Exception:
                # Redis away for a moment: the next tick tries again, locks last 4 ticks.
                log.warning("job_lock_renewal_failed", exc_info=True)
