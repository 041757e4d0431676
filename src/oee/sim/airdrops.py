"""Airdrops the chain has credited: their signatures and the wallets the faucet has served.

An airdrop lands at once; its signature confirms like a transaction's (solana-py's
`confirm_transaction` polls it), so the chain remembers the block each landed in. A wallet's
first airdrop also gets the faucet's starter tokens (`oee.sim.faucet`), once. Both are part of
the chain's history, so the ledger owns them and a snapshot keeps them.
"""

from __future__ import annotations

import hashlib

from solders.hash import Hash

from oee.solana.base58 import b58encode


def genesis_hash(seed: int) -> str:
    """The simulated cluster's genesis hash (`getGenesisHash`), fixed by the seed."""
    return str(Hash(hashlib.sha256(f"oee-sim/genesis/{seed}".encode()).digest()))


class Airdrops:
    """Airdrop signatures with the block height each landed at, and the funded wallets."""

    def __init__(self, seed: int) -> None:
        self._genesis = genesis_hash(seed)
        self._landed: dict[str, int] = {}
        self.funded: set[str] = set()

    def record(self, height: int) -> str:
        """A new airdrop's signature, landed at block `height`."""
        digest = hashlib.sha256(f"{self._genesis}/airdrop/{len(self._landed)}".encode()).digest()
        signature = b58encode(digest + digest)
        self._landed[signature] = height
        return signature

    def landed_at(self, signature: str) -> int | None:
        """The block height the airdrop with this signature landed at, or None."""
        return self._landed.get(signature)

    def state(self) -> dict[str, object]:
        """What a snapshot keeps (JSON)."""
        return {"landed": dict(self._landed), "funded": sorted(self.funded)}

    def restore(self, landed: dict[str, int], funded: list[str]) -> None:
        """Take back what `state` gave; the signature counter continues after them."""
        self._landed = dict(landed)
        self.funded = set(funded)
