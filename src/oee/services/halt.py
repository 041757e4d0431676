"""The kill switch as each process sees it: `POST /api/admin/halt` stops new orders routing.

The state lives behind the `KillSwitch` port (the store's database in every deployment the
composition root builds), so every API and worker process shares it and it survives restarts.
Each process reads it at most once per `refresh_s` (one read in flight at a time, however many
orders ask), and whoever changes it waits out that period before answering: once
`POST /api/admin/halt` has answered, no process lets another order start routing.

What a halt stops (`docs/decisions.md`): submits answer 503 `HALTED`; an accepted order that has
not started routing (a queued market order, a retry, a limit or sniper order whose trigger
fires) is held where it is, untouched, and runs after the resume; orders already building or
submitted finish, because their transaction may already be on its way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from oee.domain.ports import Clock, KillSwitch
from oee.domain.risk import Halt
from oee.metrics import Metrics

log = structlog.get_logger(__name__)

# How stale a process's view may be; also how long a halt or resume waits before answering.
HALT_REFRESH_S = 0.5
REASON_MAX = 500


class HaltGate:
    """This process's cached view of the kill switch, and the one way to change it."""

    def __init__(
        self,
        switch: KillSwitch,
        clock: Clock,
        metrics: Metrics,
        *,
        refresh_s: float = HALT_REFRESH_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.switch, self.clock, self.metrics = switch, clock, metrics
        self.refresh_s = refresh_s
        self._monotonic = monotonic
        self._state: Halt | None = None
        self._read_at = float("-inf")
        self._reading = asyncio.Lock()

    async def state(self) -> Halt:
        """The switch, read from its store when this process's copy is older than `refresh_s`.

        Raises:
            Exception: The store cannot be read (whatever its adapter raises): an order is
                then neither refused nor let through on a guess.
        """
        if self._fresh():
            assert self._state is not None
            return self._state
        async with self._reading:  # concurrent callers share the one read
            if not self._fresh():
                started = self._monotonic()  # a read that began before a change is not fresh
                self._remember(await self.switch.read(), started)
        assert self._state is not None
        return self._state

    async def halted(self) -> Halt | None:
        """The halt when trading is halted, else None."""
        state = await self.state()
        return state if state.halted else None

    async def set(self, halted: bool, reason: str | None, by: str | None) -> Halt:
        """Halt or resume trading for every process, and return once all of them see it.

        Halting twice keeps the first halt's time (and takes the new reason); resuming while
        trading changes nothing.
        """
        before = await self.switch.read()
        now = self.clock.now()
        if halted:
            state = Halt(True, reason, by, before.at if before.halted else now)
        elif before.halted:
            state = Halt(False, None, by, now)
        else:
            state = before
        if state != before:
            await self.switch.write(state)
        self._remember(state, self._monotonic())
        if halted:
            log.warning("trading_halted", reason=reason, by=by, since=state.at)
        elif before.halted:
            seconds = (now - before.at).total_seconds() if before.at else None
            log.warning("trading_resumed", by=by, halted_s=seconds, reason_was=before.reason)
        # Every other process's copy is at most refresh_s old: after this, all of them agree.
        await self.clock.sleep(self.refresh_s)
        return state

    def _fresh(self) -> bool:
        return self._state is not None and self._monotonic() - self._read_at < self.refresh_s

    def _remember(self, state: Halt, at: float) -> None:
        self._state, self._read_at = state, at
        self.metrics.trading_halted.set(1 if state.halted else 0)
