"""The simulator's fault rates, adjustable while it runs.

The quote services, the JSON-RPC node and the ledger share one `Faults` and read it on every
request or landing, so `POST /admin/faults` (a demo, a chaos run) changes what the next one
sees without a restart. The seeded draws stay reproducible for a run whose rates never change.

| kind (JSON key) | setting | what happens |
|---|---|---|
| `rate` | `OEE_SIM_FAULT_RATE` | quotes time out or get HTTP 429, and so do JSON-RPC account reads (a quote from the chain); sends get HTTP 503 or are lost |
| `slowConfirmRate` | `OEE_SIM_SLOW_CONFIRM_RATE` | a transaction lands `slow_confirm_ms` later |
| `expiredBlockhashRate` | `OEE_SIM_EXPIRED_BLOCKHASH_RATE` | `getLatestBlockhash` answers a stale hash (a lagging node): what is signed with it expires before it can land |
| `slippageMoveRate` | `OEE_SIM_SLIPPAGE_MOVE_RATE` | just before a swap lands, a trade ahead of it moves the pool `slippage_move_bps` against it |
"""

from __future__ import annotations

import json
import math
from typing import Any

from oee.settings import SimSettings

# JSON key -> attribute
KINDS = {
    "rate": "rate",
    "slowConfirmRate": "slow_confirm_rate",
    "expiredBlockhashRate": "expired_blockhash_rate",
    "slippageMoveRate": "slippage_move_rate",
}
# JSON key -> what a fault of that kind does, for the API's documentation and the dashboard.
KIND_DESCRIPTIONS = {
    "rate": "a quote or a transaction send fails transiently (rate limit, stall, dropped)",
    "slowConfirmRate": "a transaction lands late (slow_confirm_ms)",
    "expiredBlockhashRate": "the node hands out a stale blockhash: the transaction expires",
    "slippageMoveRate": "a trade ahead of the swap moves its pool (slippage_move_bps)",
}


class Faults:
    """The chance (0..1) of each kind of fault; `rate` is the transient quote and send faults."""

    def __init__(
        self,
        rate: float = 0.0,
        *,
        slow_confirm_rate: float = 0.0,
        expired_blockhash_rate: float = 0.0,
        slippage_move_rate: float = 0.0,
    ) -> None:
        self.rate = _checked(rate)
        self.slow_confirm_rate = _checked(slow_confirm_rate)
        self.expired_blockhash_rate = _checked(expired_blockhash_rate)
        self.slippage_move_rate = _checked(slippage_move_rate)

    @classmethod
    def from_settings(cls, settings: SimSettings) -> Faults:
        """The rates the simulator starts with."""
        return cls(
            settings.fault_rate,
            slow_confirm_rate=settings.slow_confirm_rate,
            expired_blockhash_rate=settings.expired_blockhash_rate,
            slippage_move_rate=settings.slippage_move_rate,
        )

    def update(self, rates: dict[str, float]) -> None:
        """Change the rates named by JSON key (see the module's table); the others stay."""
        checked = {KINDS[key]: _checked(value) for key, value in rates.items()}
        for attribute, value in checked.items():
            setattr(self, attribute, value)

    def as_json(self) -> dict[str, float]:
        """Every rate by its JSON key."""
        return {key: float(getattr(self, attribute)) for key, attribute in KINDS.items()}


def parse_rates(body: bytes) -> dict[str, float]:
    """The rates of a body like `{"rate": 0.3, "slippageMoveRate": 0.1}`.

    Raises:
        ValueError: Not JSON, an unknown key, or a rate that is not a number from 0 to 1.
    """
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise ValueError('the body must be JSON: {"rate": 0.3}') from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"the body must be an object with one or more of {', '.join(KINDS)}")
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown fault kind {unknown[0]!r}; known: {', '.join(KINDS)}")
    rates = {}
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number from 0 to 1")
        rates[key] = _checked(float(value))
    return rates


def _checked(rate: float) -> float:
    if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"rate must be a number from 0 to 1, got {rate!r}")
    return float(rate)
