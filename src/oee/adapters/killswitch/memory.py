"""The kill switch of one process, in memory: for tests and tools that build their own engine.

Every deployment `oee.bootstrap` builds keeps it in the store's database instead
(`oee.adapters.killswitch.sqlalchemy`), so that it is shared and survives restarts.
"""

from __future__ import annotations

from oee.domain.risk import TRADING, Halt


class MemoryKillSwitch:
    """`KillSwitch` in process memory."""

    def __init__(self, state: Halt = TRADING) -> None:
        self._state = state

    async def read(self) -> Halt:
        """The current state."""
        return self._state

    async def write(self, state: Halt) -> None:
        """Replace the state."""
        self._state = state
