"""Compute-unit limits of a whole swap transaction per venue, when no simulation measured one.

Measured shapes of real transactions (compute budget, wSOL wrap or unwrap, an idempotent ATA
creation, the swap, a memo), rounded up with room: a Raydium AMM v4 `SwapBaseIn` uses about
30-45k units and the rest of the transaction about 40k; a Meteora DLMM `swap` uses 60-120k
depending on how many bins and bin arrays it crosses. A limit set too low fails the
transaction; too high only makes the priority fee (price x limit) dearer.
"""

from __future__ import annotations

RAYDIUM_COMPUTE_UNITS = 150_000
METEORA_COMPUTE_UNITS = 250_000
