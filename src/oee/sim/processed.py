"""A transaction the simulated chain processed: what `getTransaction` and statuses report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oee.domain.ports import TxStatus
from oee.sim.bank import Balances

Json = Any


@dataclass(frozen=True, slots=True)
class ProcessedTx:
    """A transaction that executed, successfully or not.

    `pre`/`post` are every account key's balances around it; `err` is its `TransactionError`
    JSON (None: success), `logs` its program logs and `units` the compute units it used, all
    as they were when it landed.
    """

    raw_tx: str  # base64 wire format
    status: TxStatus
    pre: Balances
    post: Balances
    err: Json
    logs: tuple[str, ...]
    units: int
