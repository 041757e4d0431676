"""Block time on the simulated chain: one definition for the ledger, launches and the RPC node.

Blocks advance every `OEE_SIM_SLOT_MS` times the latency scale, but never faster than unscaled when
the scale is 0, so a blockhash still lives about 60 s with latency off.
"""

from __future__ import annotations

from oee.settings import SimSettings

FIRST_BLOCK_HEIGHT = 1_000


def block_seconds(settings: SimSettings) -> float:
    """Seconds per block."""
    scale = settings.latency_scale
    return settings.slot_ms * (scale if scale > 0 else 1.0) / 1000


class BlockHeights:
    """The block height at a world time, counted from the world's start, and its wall time."""

    def __init__(self, genesis: float, settings: SimSettings, *, wall: float) -> None:
        """Start counting blocks.

        Args:
            genesis: The world's monotonic time when its first block began.
            settings: Slot time and latency scale.
            wall: Unix seconds at that moment, for blocks' `blockTime`.
        """
        self._genesis, self._wall = genesis, wall
        self.block_s = block_seconds(settings)
        self._base = FIRST_BLOCK_HEIGHT  # the height at `genesis`

    def resume(self, height: int, saved_at: float) -> int:
        """Continue a chain that was at `height` at unix time `saved_at` (a restart).

        The cluster kept producing blocks while this node was down, so the height moves on by
        the wall time that passed, and always by at least one block: a restarted chain's
        height never repeats one it already had (a clock set back moves it on by one).

        Returns:
            The height the chain resumes at.
        """
        missed = int(max(0.0, self._wall - saved_at) / self.block_s)
        self._base = height + max(1, missed)
        return self._base

    def at(self, at: float) -> int:
        """The height of the block being produced at monotonic time `at`."""
        return self._base + int((at - self._genesis) / self.block_s)

    def unix_time(self, at: float) -> int:
        """Unix seconds at monotonic time `at` (`Clock::unix_timestamp`)."""
        return int(self._wall + (at - self._genesis))

    def block_time(self, height: int) -> int:
        """Unix seconds at which block `height` was produced (RPC `blockTime`)."""
        return int(self._wall + (height - self._base) * self.block_s)
