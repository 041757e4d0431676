"""The simulated Solana world: pools, prices and a chain ledger, run in-process today."""

from __future__ import annotations

import time
from collections.abc import Callable

from oee.settings import SimSettings
from oee.sim.ledger import SimLedger
from oee.sim.programs import load_programs
from oee.sim.world import SimWorld

__all__ = ["SimLedger", "SimWorld", "build_sim"]


def build_sim(
    settings: SimSettings, *, now: Callable[[], float] = time.monotonic
) -> tuple[SimWorld, SimLedger]:
    """Create the world and the chain over it, once per process.

    Args:
        settings: Seed, latencies, block time, and the real programs to load
            (`programs_dir`).
        now: Monotonic seconds; tests pass a controllable clock.

    Raises:
        ProgramLoadError: A program binary that cannot be loaded (`oee.sim.programs`).
    """
    world = SimWorld(settings, now=now)
    load_programs(world.bank, settings.programs_dir)
    return world, SimLedger(world, settings)
