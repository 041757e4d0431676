"""What the chain remembers of the transactions sent to it: statuses, records, landed swaps.

The ledger accepts a transaction (in flight: known, not landed), then records how it landed
(`ProcessedTx`: what `getTransaction` and `getSignatureStatuses` report) and, for a swap that
executed, the `LandedSwap` the chaos run audits. A snapshot keeps the landed ones; what was in
flight at a restart never lands (as a transaction a leader dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

from oee.domain.ports import TxStatus
from oee.sim.processed import ProcessedTx


@dataclass(frozen=True, slots=True)
class LandedSwap:
    """A swap that executed on chain: what chaos tests count to prove at-most-once execution."""

    signature: str
    venue: str
    pool: str
    wallet: str
    mint_in: str
    mint_out: str
    amount_in: int
    amount_out: int
    fee_lamports: int
    block_height: int
    memo: str | None


class ChainHistory:
    """Signatures the chain has seen, and what became of each."""

    def __init__(self) -> None:
        self._statuses: dict[str, TxStatus | None] = {}  # None: accepted, not landed (yet)
        self._processed: dict[str, ProcessedTx] = {}
        self._landed: dict[str, LandedSwap] = {}

    def knows(self, signature: str) -> bool:
        """Whether the chain has accepted (or processed) this signature."""
        return signature in self._statuses

    def accept(self, signature: str) -> None:
        """A transaction is in flight: a resend of it is a no-op from now on."""
        self._statuses[signature] = None

    def record(self, signature: str, processed: ProcessedTx, swap: LandedSwap | None) -> None:
        """A transaction landed (successfully or not); `swap` when its swap executed."""
        self._statuses[signature] = processed.status
        self._processed[signature] = processed
        if swap is not None:
            self._landed[signature] = swap

    def status(self, signature: str) -> TxStatus | None:
        """The landed outcome, or None (unknown, in flight or never landed)."""
        return self._statuses.get(signature)

    def processed(self, signature: str) -> ProcessedTx | None:
        """The landed transaction's record, or None."""
        return self._processed.get(signature)

    def processed_all(self) -> list[tuple[str, ProcessedTx]]:
        """Every landed transaction by signature, in landing order."""
        return list(self._processed.items())

    def landed_swaps(self) -> list[LandedSwap]:
        """Every swap that executed successfully, in landing order."""
        return list(self._landed.values())

    def restore(self, processed: list[tuple[str, ProcessedTx]], swaps: list[LandedSwap]) -> None:
        """Take back a snapshot's landed transactions and swaps (in their landing order)."""
        self._processed = dict(processed)
        self._statuses = {signature: tx.status for signature, tx in processed}
        self._landed = {swap.signature: swap for swap in swaps}
