"""Blockhashes the simulated chain issues, each with the last block height it is valid at.

Hashes are derived from the seed and a counter, so a run is reproducible; the counter is part
of the chain's state (a snapshot keeps it), or a restarted chain would issue the same hashes
again and an identical transaction signed with one would carry an old signature. The hashes
themselves are not kept: one issued before a restart is unknown, hence expired, after it.
"""

from __future__ import annotations

import hashlib
from collections import deque

from solders.hash import Hash

# A blockhash may be used for this many blocks after the one it was issued at (as on Solana).
BLOCKHASH_VALIDITY = 150


class Blockhashes:
    """Issued hashes by last valid height, forgotten once expired."""

    def __init__(self, seed: int) -> None:
        self._seed = f"oee-sim/blockhash/{seed}/".encode()
        self.issued = 0
        self._valid_until: dict[Hash, int] = {}
        # Issue order is expiry order, but for the stale-hash fault's short-lived hashes: they
        # wait behind longer-lived ones to be forgotten (lookups check the height anyway).
        self._expiry: deque[tuple[int, Hash]] = deque()

    def issue(self, height: int, *, stale: bool = False) -> tuple[Hash, int]:
        """A new hash issued at `height` and its last valid height (`stale`: one block)."""
        digest = hashlib.sha256(self._seed + str(self.issued).encode()).digest()
        self.issued += 1
        blockhash = Hash(digest)
        last_valid = height + (1 if stale else BLOCKHASH_VALIDITY)
        self._valid_until[blockhash] = last_valid
        self._expiry.append((last_valid, blockhash))
        return blockhash, last_valid

    def last_valid(self, blockhash: Hash) -> int | None:
        """The last height `blockhash` is valid at, or None for a hash unknown or forgotten."""
        return self._valid_until.get(blockhash)

    def forget_expired(self, height: int) -> None:
        """Drop the hashes that expired before `height`."""
        while self._expiry and self._expiry[0][0] < height:
            self._valid_until.pop(self._expiry.popleft()[1], None)

    def resume(self, issued: int) -> None:
        """Continue after `issued` hashes (a restart): none issued before comes back."""
        self.issued = max(self.issued, issued)
