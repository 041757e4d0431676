"""The simulated Solana world: pools, prices and a chain ledger, run in-process today."""

from __future__ import annotations

import time
from collections.abc import Callable

from oee.settings import SimSettings
from oee.sim.ledger import SimLedger
from oee.sim.world import SimWorld

__all__ = ["SimLedger", "SimWorld", "build_sim"]


def build_sim(
    settings: SimSettings, *, now: Callable[[], float] = time.monotonic
) -> tuple[SimWorld, SimLedger]:
    """Create the world and the chain over it, once per process.

    Args:
        settings: Seed, latencies and block time.
        now: Monotonic seconds; tests pass a controllable clock.
    """
    world = SimWorld(settings, now=now)
    return world, SimLedger(world, settings)
