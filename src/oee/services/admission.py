"""Admission control: past capacity, refuse new orders at once instead of queueing them to rot.

An engine pushed beyond what its workers execute used to thrash: the queue grew without bound,
orders waited minutes, the event loop fell behind, enqueues timed out and job locks were lost.
Admission keeps the backlog bounded, so the engine *slows down* (accepts at its own pace and
tells the rest to come back) instead. A submit is refused (`Overloaded`, 503 `OVERLOADED` with
`Retry-After`) while any of these is past its limit:

- **queue wait**: the oldest waiting job has waited longer than `max_queue_wait_s`, or a job
  queued now would (the queue's depth over the rate workers took jobs in the last seconds:
  the head's wait alone lags, and at twice capacity the tail waits twice as long as it);
- **queue depth**: more than `max_queue_depth` jobs are waiting;
- **submits in flight**: this process is already storing `max_submits_in_flight` submits;
- **event-loop lag**: this process's loop runs `max_loop_lag_s` behind.

The first two are read from the queue at most every `refresh_s`, in the background: a submit
never waits on Redis for them. The policy itself (`refusal`) is a pure function.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from oee.domain.errors import DomainError
from oee.domain.ports import JobQueue

log = structlog.get_logger(__name__)

# A refusal for the queue's sake lasts until workers catch up; one for this process's own
# load (submits in flight, loop lag) clears within a second or so.
QUEUE_RETRY_AFTER_S = 5
PROCESS_RETRY_AFTER_S = 1
_LAG_TICK_S = 0.1
_RATE_WINDOW_S = 5.0  # the workers' recent pace, for how long the queue takes to drain


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    """The limits past which submits are refused (`OEE_ADMISSION_*`); None: no limit."""

    max_queue_wait_s: float | None = 30.0
    max_queue_depth: int | None = 1000
    max_submits_in_flight: int | None = 256
    max_loop_lag_s: float | None = 1.0


@dataclass(frozen=True, slots=True)
class Load:
    """What admission looks at, as last seen."""

    queue_depth: int = 0
    queue_wait_s: float = 0.0
    queue_drain_s: float = 0.0  # how long a job queued now is expected to wait
    submits_in_flight: int = 0
    loop_lag_s: float = 0.0


class Overloaded(DomainError):
    """The engine is past capacity: the submit is refused, nothing was stored."""

    code = "OVERLOADED"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def refusal(load: Load, limits: AdmissionLimits) -> Overloaded | None:
    """The refusal `load` earns under `limits`, or None to admit the submit.

    The queue's limits come first: they say the workers are behind, which a retry in a
    second will not fix, so their `Retry-After` is longer.
    """
    wait = max(load.queue_wait_s, load.queue_drain_s)
    if limits.max_queue_wait_s is not None and wait > limits.max_queue_wait_s:
        return Overloaded(
            f"the engine is overloaded: queued orders wait {wait:.0f} s to start "
            f"(limit {limits.max_queue_wait_s:g} s); retry later",
            QUEUE_RETRY_AFTER_S,
        )
    if limits.max_queue_depth is not None and load.queue_depth > limits.max_queue_depth:
        return Overloaded(
            f"the engine is overloaded: {load.queue_depth} orders are queued (limit "
            f"{limits.max_queue_depth}); retry later",
            QUEUE_RETRY_AFTER_S,
        )
    in_flight = limits.max_submits_in_flight
    if in_flight is not None and load.submits_in_flight >= in_flight:
        return Overloaded(
            f"the engine is overloaded: {load.submits_in_flight} submits are being stored "
            f"(limit {in_flight}); retry shortly",
            PROCESS_RETRY_AFTER_S,
        )
    if limits.max_loop_lag_s is not None and load.loop_lag_s > limits.max_loop_lag_s:
        return Overloaded(
            f"the engine is overloaded: it runs {load.loop_lag_s * 1000:.0f} ms behind (limit "
            f"{limits.max_loop_lag_s * 1000:.0f} ms); retry shortly",
            PROCESS_RETRY_AFTER_S,
        )
    return None


class Admission:
    """Applies `refusal` to the live load of one process and its queue.

    Args:
        queue: The job queue whose depth and oldest waiting job are watched.
        limits: The limits.
        now: The wall clock (the queue stamps jobs with wall-clock time).
        refresh_s: How stale the queue's figures may get.
    """

    def __init__(
        self,
        queue: JobQueue,
        limits: AdmissionLimits,
        now: Callable[[], datetime],
        *,
        refresh_s: float = 0.5,
    ) -> None:
        self._queue = queue
        self.limits = limits
        self._now = now
        self._refresh_s = refresh_s
        self._depth = 0
        self._oldest: datetime | None = None
        self._drain_s = 0.0
        self._in_flight = 0
        self._lag_s = 0.0
        self._tick_due = 0.0  # monotonic time the lag watcher should next wake
        self._watcher: asyncio.Task[None] | None = None
        self.refused = 0

    @property
    def watches_queue(self) -> bool:
        """Whether a queue limit is set (else the queue is never read)."""
        return self.limits.max_queue_depth is not None or self.limits.max_queue_wait_s is not None

    def load(self) -> Load:
        """The load as last seen; the loop lag counts a watcher tick that is overdue now."""
        wait = 0.0
        if self._oldest is not None:
            wait = max(0.0, (self._now() - self._oldest).total_seconds())
        lag = self._lag_s
        if self._watcher is not None:
            lag = max(lag, time.monotonic() - self._tick_due)
        return Load(self._depth, wait, self._drain_s, self._in_flight, lag)

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a submit's place while it is stored and queued.

        Raises:
            Overloaded: The engine is past one of its limits; nothing should be stored.
        """
        self._ensure_watching()
        refused = refusal(self.load(), self.limits)
        if refused is not None:
            self.refused += 1
            raise refused
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1

    async def close(self) -> None:
        """Stop watching the loop and the queue."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.wait({watcher})

    def _ensure_watching(self) -> None:
        if self._watcher is None:
            self._tick_due = time.monotonic() + _LAG_TICK_S
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch(), name="admission-watch"
            )

    async def _watch(self) -> None:
        refreshed = 0.0
        refreshing: asyncio.Task[None] | None = None
        try:
            while True:
                await asyncio.sleep(_LAG_TICK_S)
                now = time.monotonic()
                self._lag_s = max(0.0, now - self._tick_due)
                self._tick_due = now + _LAG_TICK_S
                idle = refreshing is None or refreshing.done()
                if self.watches_queue and idle and now - refreshed >= self._refresh_s:
                    refreshed = now
                    # Its own task: a slow Redis must not stop the lag from being measured.
                    refreshing = asyncio.create_task(self._refresh(), name="admission-refresh")
        finally:
            if refreshing is not None:
                refreshing.cancel()

    async def _refresh(self) -> None:
        window_start = self._now() - timedelta(seconds=_RATE_WINDOW_S)
        try:
            depth, oldest, started = await asyncio.wait_for(
                asyncio.gather(
                    self._queue.depth(),
                    self._queue.oldest_waiting_since(),
                    self._queue.started_since(window_start),
                ),
                timeout=max(self._refresh_s * 4, 1.0),
            )
        except Exception:
            # Unknown load is not overload: a queue that cannot be read is the health
            # check's business, and the submit's own enqueue reports it.
            log.debug("admission_refresh_failed", exc_info=True)
            return
        self._depth, self._oldest = depth, oldest
        # No job taken lately (workers busy on long ones, or none running): the head's own
        # wait is the only measure, and it grows until it refuses.
        self._drain_s = depth / (started / _RATE_WINDOW_S) if started else 0.0
