"""The job queue on BullMQ (Redis), for any number of worker processes on any number of machines.

The only module that imports `bullmq`, which is untyped: its surface stays inside this file.

How BullMQ gives the port its semantics:

- Dedupe: the job id is the order id, and adding a job whose id exists is a no-op in Redis
  (`addStandardJob` returns the existing id). Jobs are removed when they complete and when
  they finally fail, so a later enqueue of the same order (the recovery sweep) makes a new job.
- Retries: a handler that raises is re-delivered after a fixed backoff, a handful of times;
  after the last attempt the job is removed and the recovery sweep takes over.
- Dead workers: a running job holds a lock of `lock_duration_ms`, renewed while its worker
  lives (by `LockKeeper`, on a thread of its own: a busy event loop cannot starve it). Every `stalled_interval_ms`, some worker moves jobs whose lock has expired back to
  waiting. A dead worker's jobs are therefore re-delivered within about
  `lock_duration_ms + 2 * stalled_interval_ms`, and `maxStalledCount` is huge so stalling
  never fails a job (the executor makes a re-run safe).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from bullmq import Queue, Worker

from oee.adapters.queue import bullmq_completions
from oee.adapters.queue.bullmq_locks import LockKeeper
from oee.domain.ports import JobHandler

log = structlog.get_logger(__name__)

_PING_TIMEOUT_S = 2.0
_ENQUEUE_TIMEOUT_S = 5.0
# BullMQ fails a job that stalled more often than this; "never" is what at-least-once needs.
_MAX_STALLED_COUNT = 1_000_000
# After a connection error the worker waits this long before fetching again (BullMQ: 15 s).
_RUN_RETRY_DELAY_MS = 1_000
# An idle worker blocks on Redis this long per poll (BullMQ: 5 s). `Worker.close()` cancels the
# blocking wait it sees, but a fetch that was mid-flight when close began can still start one
# afterwards, and close waits it out; a short wait keeps shutdown prompt.
_IDLE_BLOCK_S = 1
# The job that has waited longest is at the tail of the wait list (BullMQ LPUSHes new jobs and
# workers RPOPLPUSH from it); its hash holds its creation time in ms.
_OLDEST_WAITING_LUA = """
local id = redis.call("LINDEX", KEYS[1], -1)
if not id then return false end
return redis.call("HGET", ARGV[1] .. id, "timestamp")
"""
# Jobs taken since a time: the "active" entries of BullMQ's event stream (every worker's
# `moveToActive` adds one), counted inside Redis so only a number crosses the network.
_STARTED_SINCE_LUA = """
local n = 0
for _, entry in ipairs(redis.call("XRANGE", KEYS[1], ARGV[1], "+")) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == "event" then
      if fields[i + 1] == "active" then n = n + 1 end
      break
    end
  end
end
return n
"""


class BullMQQueue:
    """`JobQueue` on BullMQ, all of its keys under `<prefix>:bull:<queue_name>`.

    Args:
        redis_url: The Redis server, e.g. `redis://localhost:6379/0`.
        prefix: The engine's Redis prefix.
        lock_duration_ms: How long a running job's lock lasts without renewal.
        stalled_interval_ms: How often expired locks are looked for.
        queue_name: The BullMQ queue's name.
        attempts: Runs of a failing job before it is removed.
        retry_delay_ms: Fixed wait between a failed run and the next.
    """

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
        lock_duration_ms: int,
        stalled_interval_ms: int,
        queue_name: str = "orders",
        attempts: int = 5,
        retry_delay_ms: int = 1_000,
    ) -> None:
        self._name = queue_name
        self._redis_url = redis_url
        self._lock_duration_ms = lock_duration_ms
        self._connection: dict[str, Any] = {"connection": redis_url, "prefix": f"{prefix}:bull"}
        self._worker_opts: dict[str, Any] = {
            **self._connection,
            "lockDuration": lock_duration_ms,
            # 0 keeps BullMQ's own renewal task (on the event loop) from starting: `LockKeeper`
            # renews instead, from a thread, and the two must not race.
            "lockRenewTime": 0,
            "stalledInterval": stalled_interval_ms,
            "maxStalledCount": _MAX_STALLED_COUNT,
            "runRetryDelay": _RUN_RETRY_DELAY_MS,
            "drainDelay": _IDLE_BLOCK_S,
            "autorun": False,  # we start `run()` ourselves, to hold its task
        }
        self._job_opts: dict[str, Any] = {
            "attempts": attempts,
            "backoff": {"type": "fixed", "delay": retry_delay_ms},
            "removeOnComplete": True,
            "removeOnFail": True,
        }
        self._queue = Queue(queue_name, self._connection)
        self._worker: Any = None
        self._run: asyncio.Task[Any] | None = None
        self._keeper: LockKeeper | None = None

    async def enqueue(self, order_id: str) -> None:
        """Queue the order; a no-op while a job for it is waiting, delayed or running.

        Raises:
            TimeoutError: Redis did not answer within a few seconds. BullMQ's client would
                keep retrying for minutes; the caller's order is safe in the database, and
                the recovery sweep enqueues it once Redis is back.
        """
        async with asyncio.timeout(_ENQUEUE_TIMEOUT_S):
            await self._queue.add(
                "execute", {"orderId": order_id}, {**self._job_opts, "jobId": order_id}
            )

    async def consume(self, handler: JobHandler, concurrency: int) -> None:
        """Start a BullMQ worker running `handler`, at most `concurrency` jobs at once.

        While Redis is unreachable this waits, as BullMQ's client retries the connection.
        """
        if self._worker is not None:
            raise RuntimeError("this queue is already consuming")

        keeper = LockKeeper(
            self._redis_url, self._queue.qualifiedName, lock_duration_ms=self._lock_duration_ms
        )

        async def process(job: Any, token: str) -> None:
            keeper.hold(job.id, token)
            await handler(job.id)

        # BullMQ's own wait costs O(running jobs) per finished job; ours does not.
        bullmq_completions.install()

        def completed(job: Any, *_: Any) -> None:
            keeper.release(job.id)

        def failed(job: Any, error: BaseException) -> None:
            keeper.release(job.id)
            _log_failed(job, error)

        worker = Worker(self._name, process, {**self._worker_opts, "concurrency": concurrency})
        worker.on("completed", completed)
        worker.on("failed", failed)
        worker.on("error", _log_error)
        try:
            # Reading the server version is what turns on sub-second blocking waits (the
            # Python port assumes an old Redis until asked), so a retry backoff of 1 s is not
            # rounded up to 2 s. It also warns when Redis may evict keys.
            await worker.blockingRedisConnection.getRedisVersion()
            run = asyncio.create_task(worker.run(), name=f"bullmq-worker-{self._name}")
            # `run()` names its connections before it counts as running; a close in between
            # would be undone (the connections reopen and leak), so return once it runs.
            while not worker.running:
                if run.done():
                    run.result()  # raises what stopped it
                await asyncio.sleep(0.001)
        except BaseException:
            await worker.close(force=True)
            raise
        keeper.start()
        self._worker, self._run, self._keeper = worker, run, keeper

    async def drain(self, grace_s: float) -> None:
        """Stop fetching, give running jobs `grace_s`, then force-close the worker.

        A force-closed job is neither completed nor failed: it stays active with its lock,
        and once the lock expires the stalled check hands it to another worker.
        """
        worker, self._worker = self._worker, None
        if worker is None:
            return
        closing = asyncio.ensure_future(worker.close())
        done, _ = await asyncio.wait({closing}, timeout=grace_s)
        if not done:
            if worker.jobs:
                log.warning("queue_drain_grace_expired", abandoned=len(worker.jobs))
            await worker.close(force=True)
            await asyncio.wait({closing})
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            # After the worker: a job still finishing keeps its lock until its result is saved.
            # A force-closed job's lock then expires, and the stalled check hands it on.
            await asyncio.to_thread(keeper.stop)
        run, self._run = self._run, None
        if run is not None:
            # A force close cancels the job tasks and `run()` re-raises that cancellation:
            # expected, so wait for the task instead of awaiting its result.
            await asyncio.wait({run})
        for task in (closing, run):
            if task is not None and not task.cancelled() and task.exception() is not None:
                log.warning("bullmq_close_failed", error=repr(task.exception()))

    async def depth(self) -> int:
        """Jobs waiting to run, including those waiting out a retry backoff."""
        return int(await self._queue.getJobCountByTypes("waiting", "delayed"))

    async def oldest_waiting_since(self) -> datetime | None:
        """When the job at the head of the wait list was added (one small script)."""
        keys = self._queue.keys
        stamp = await self._queue.client.eval(_OLDEST_WAITING_LUA, 1, keys["wait"], keys[""])
        if stamp is None:
            return None
        return datetime.fromtimestamp(int(stamp) / 1000, UTC)

    async def started_since(self, since: datetime) -> int:
        """Jobs any worker took since `since`, from BullMQ's event stream (kept ~10,000 long)."""
        start = f"{int(since.timestamp() * 1000)}-0"
        events = self._queue.keys["events"]
        return int(await self._queue.client.eval(_STARTED_SINCE_LUA, 1, events, start))

    def held(self) -> frozenset[str]:
        """The ids of the jobs this process's worker runs now (their locks kept alive here)."""
        return frozenset() if self._keeper is None else self._keeper.held()

    async def ping(self) -> None:
        """Raise if Redis cannot be reached within a couple of seconds.

        BullMQ's client retries a lost connection for minutes; a health check must not.
        """
        async with asyncio.timeout(_PING_TIMEOUT_S):
            await self._queue.client.ping()

    async def close(self) -> None:
        """Release the connections; force-closes the worker if `drain` was not called."""
        await self.drain(0)
        await self._queue.close()


def _log_failed(job: Any, error: BaseException) -> None:
    log.warning(
        "job_failed",
        order_id=job.id,
        attempt=job.attemptsMade,
        attempts=job.opts.get("attempts"),
        error=repr(error),
    )


def _log_error(error: BaseException, *_: Any) -> None:
    log.warning("bullmq_error", error=repr(error))
