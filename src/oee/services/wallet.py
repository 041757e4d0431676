"""The engine wallet's funding: a starting worker tops the wallet up from the chain's faucet.

A fresh wallet (a new data dir, a new devnet key) holds nothing, and every swap it signs would
fail for want of SOL. So a worker reads the wallet's SOL when it starts and, below a threshold,
asks the faucet once (`requestAirdrop`). Faucets rate-limit and mainnet has none, so a failure
is a warning and the worker starts regardless: funding is a convenience, never a precondition.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import structlog

from oee.domain.errors import ExecutionError
from oee.domain.ports import Chain, Clock

log = structlog.get_logger(__name__)


def sol_to_lamports(sol: Decimal) -> int:
    """Whole lamports in `sol` SOL (finer fractions are dropped: a lamport is indivisible)."""
    return int(sol.scaleb(9))


class WalletFunder:
    """Tops up one wallet from the chain's faucet when it holds less than a threshold."""

    def __init__(
        self,
        chain: Chain,
        address: str,
        clock: Clock,
        *,
        min_lamports: int,
        airdrop_lamports: int,
        wait_s: float = 30.0,
        poll_s: float = 0.5,
    ) -> None:
        """Describe the funding; nothing is read before `ensure_funded`.

        Args:
            chain: The chain the wallet lives on.
            address: The wallet's public key (base58).
            clock: For waiting on the airdrop to land.
            min_lamports: Below this balance an airdrop is requested; 0 disables funding.
            airdrop_lamports: How much to request; 0 disables funding.
            wait_s: How long to wait for a requested airdrop to show in the balance; jobs
                taken before it lands would fail for want of SOL.
            poll_s: How often the balance is read while waiting.
        """
        self.chain, self.address, self.clock = chain, address, clock
        self.min_lamports, self.airdrop_lamports = min_lamports, airdrop_lamports
        self.wait_s, self.poll_s = wait_s, poll_s

    @property
    def enabled(self) -> bool:
        """Whether funding is switched on (both amounts above zero)."""
        return self.min_lamports > 0 and self.airdrop_lamports > 0

    async def ensure_funded(self) -> bool:
        """Request one airdrop if the wallet is below the threshold, and wait for it to land.

        Never raises for a chain or faucet failure: it is logged as a warning.

        Returns:
            True when an airdrop was requested and seen in the balance.
        """
        if not self.enabled:
            return False
        try:
            before = (await self.chain.balances(self.address)).lamports
        except ExecutionError as error:
            log.warning("wallet_balance_unreadable", wallet=self.address, error=error.message)
            return False
        if before >= self.min_lamports:
            log.info("wallet_funded", wallet=self.address, lamports=before)
            return False
        try:
            signature = await self.chain.request_airdrop(self.address, self.airdrop_lamports)
        except ExecutionError as error:
            log.warning(
                "wallet_airdrop_failed",
                wallet=self.address,
                lamports=before,
                code=error.code,
                error=error.message,
            )
            return False
        log.info(
            "wallet_airdrop_requested",
            wallet=self.address,
            lamports=self.airdrop_lamports,
            signature=signature,
        )
        return await self._landed(before, signature)

    async def _landed(self, before: int, signature: str) -> bool:
        """Wait until the balance grows past `before`, up to `wait_s`."""
        deadline = self.clock.now() + timedelta(seconds=self.wait_s)
        while True:
            try:
                lamports = (await self.chain.balances(self.address)).lamports
            except ExecutionError:
                lamports = before  # a hiccup while waiting: keep waiting until the deadline
            if lamports > before:
                log.info("wallet_airdrop_landed", wallet=self.address, lamports=lamports)
                return True
            if self.clock.now() >= deadline:
                log.warning(
                    "wallet_airdrop_not_seen",
                    wallet=self.address,
                    signature=signature,
                    waited_s=self.wait_s,
                )
                return False
            await self.clock.sleep(self.poll_s)
