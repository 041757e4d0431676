"""The chain adapter over the simulated ledger: a thin RPC-like client with latency and faults.

`SimChain` stands where a Solana JSON-RPC client will stand, so network latency, an
unreachable node and a transaction lost on its way to the leader are injected here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import random
from collections.abc import Sequence

from solders.signature import Signature
from solders.transaction import Transaction

from oee.adapters.chain.rpc import airdrop_lamports, public_key
from oee.domain.errors import ExecutionError
from oee.domain.ports import Blockhash, TokenBalance, TxStatus, WalletBalances
from oee.settings import SimSettings
from oee.sim.ledger import NATIVE_MINT, LedgerError, SimLedger

# A round trip to a nearby RPC node, before latency scaling.
RPC_LATENCY_MS = 5.0
JITTER = 0.25


class SimChain:
    """The `Chain` port over `SimLedger`."""

    def __init__(self, ledger: SimLedger, settings: SimSettings) -> None:
        self._ledger = ledger
        self._latency_s = RPC_LATENCY_MS * settings.latency_scale / 1000
        self._fault_rate = settings.fault_rate
        self._rng = random.Random(f"oee-sim/chain/{settings.seed}")
        self._airdrops = itertools.count(1)

    async def latest_blockhash(self) -> Blockhash:
        """The latest blockhash and its `lastValidBlockHeight`."""
        await self._round_trip()
        return self._ledger.latest_blockhash()

    async def block_height(self) -> int:
        """The current block height."""
        await self._round_trip()
        return self._ledger.block_height()

    async def send_transaction(self, raw_tx: str) -> str:
        """Send a base64 wire transaction; returns its signature.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable, injected), BLOCKHASH_EXPIRED
                (retryable with a new blockhash), INVALID_SIGNATURE, INVALID_TRANSACTION or
                UNSUPPORTED_TRANSACTION (not retryable).
        """
        await self._round_trip()
        if self._fault_rate and self._rng.random() < self._fault_rate:
            raise ExecutionError(
                "RPC node unavailable (503)", code="RPC_UNAVAILABLE", retryable=True
            )
        if self._fault_rate and self._rng.random() < self._fault_rate:
            # Accepted by the node but lost before a leader: the caller gets the signature and
            # must find out from the blockhash expiring that it never landed.
            return _signature_of(raw_tx)
        try:
            return self._ledger.send(raw_tx)
        except LedgerError as error:
            raise ExecutionError(
                error.message, code=error.code, retryable=error.retryable
            ) from None

    async def signature_status(
        self, signature: str, mint_out: str | None = None
    ) -> TxStatus | None:
        """The transaction's outcome, or None while it has not landed (the ledger knows what
        the swap paid out, so `mint_out` is not needed)."""
        await self._round_trip()
        return self._ledger.signature_status(signature)

    async def balances(self, owner: str) -> WalletBalances:
        """The wallet's lamports and token accounts, read from the simulated chain.

        Raises:
            ValueError: `owner` is not a base58 public key.
        """
        owner = public_key(owner)
        await self._round_trip()
        tokens = tuple(
            TokenBalance(
                mint=mint, account=account, amount=units, decimals=self._ledger.decimals(mint) or 0
            )
            for account, mint, units in self._ledger.token_accounts(owner)
        )
        lamports = self._ledger.lamports(owner)
        return WalletBalances(lamports, tokens, slot=self._ledger.block_height())

    async def request_airdrop(self, owner: str, lamports: int) -> str:
        """Credit `lamports` to `owner` at once; returns a signature standing for the airdrop.

        Only lamports: the simulator's RPC faucet (`requestAirdrop`) is what also hands out
        starter tokens.

        Raises:
            ValueError: `owner` is not a public key, or `lamports` is not a positive u64.
        """
        owner, lamports = public_key(owner), airdrop_lamports(lamports)
        await self._round_trip()
        self._ledger.airdrop(owner, NATIVE_MINT, lamports)
        # Unique per airdrop, like a real one's signature; never a valid one of any key.
        seed = f"oee-sim/airdrop/{owner}/{lamports}/{next(self._airdrops)}".encode()
        return str(Signature.from_bytes(hashlib.sha512(seed).digest()))

    async def simulate_units(self, raw_tx: str) -> int:
        """Not offered by the ledger double: the engine falls back to its per-venue limits.

        Raises:
            ExecutionError: SIMULATION_UNSUPPORTED, always.
        """
        raise ExecutionError(
            "the in-process ledger does not simulate",
            code="SIMULATION_UNSUPPORTED",
            retryable=False,
        )

    async def prioritization_fees(self, accounts: Sequence[str]) -> list[int]:
        """No fee market in the ledger double: no recent fees."""
        await self._round_trip()
        return []

    async def _round_trip(self) -> None:
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s * self._rng.uniform(1 - JITTER, 1 + JITTER))


def _signature_of(raw_tx: str) -> str:
    """The first signature of a wire transaction, as a node reports it on acceptance."""
    try:
        return str(Transaction.from_bytes(base64.b64decode(raw_tx, validate=True)).signatures[0])
    except Exception as error:  # untrusted bytes: solders raises several error types
        raise ExecutionError(
            f"not a transaction: {error}", code="INVALID_TRANSACTION", retryable=False
        ) from None
