"""Meteora DLMM (the `lb_clmm` program): its real account and instruction layouts, PDAs, launch
logs and the exact integer swap math, as pure functions over decoded records.

Facts come from the public `MeteoraAg/dlmm-sdk` repository (its IDL `idls/dlmm.json`, the
`commons` crate and the open `programs/lb_clmm` sources); the golden tests pin each one against
real mainnet account bytes. Nothing here does I/O.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

# The program's address; the same on mainnet and devnet (the IDL's `address`).
PROGRAM_ID = Pubkey.from_string("LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo")

# Anchor's event-CPI authority, the PDA of `[b"__event_authority"]` under PROGRAM_ID. Kept as a
# constant so instruction builders need no PDA search; `discovery.event_authority_address`
# derives it and a golden test checks the two agree.
EVENT_AUTHORITY = Pubkey.from_string("D1ZN9Wj1fRSUQfCjhvnu1hqDMT7hzjzBBpi12nVniYD6")

__all__ = ["EVENT_AUTHORITY", "PROGRAM_ID"]
