"""The simulated pools behind one small interface, so the world, the ledger and the quote
services never ask which venue a pool is on.

A pool is a view of accounts in the bank, in the venue's real layout: Raydium AMM v4's
`AmmInfo` and its vaults (`oee.sim.raydium_pool`), Meteora DLMM's `LbPair`, reserves and
`BinArray`s (`oee.sim.meteora_pool`). Every read decodes the accounts and every change encodes
them back, so what RPC serves and what a swap executes against are the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from solders.pubkey import Pubkey

from oee.sim.bank import Bank
from oee.sim.swap_calls import SwapCall, SwapOutcome
from oee.solana.spl import associated_token_address

BPS = 10_000
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PoolQuote:
    """What a swap pays: the output and fee (input token) in base units, and its price impact
    (the executed price, fee excluded, against the best price the pool offers it)."""

    amount_out: int
    fee: int
    price_impact_bps: Decimal


class Pool(Protocol):
    """A two-token pool on chain: quotes, swaps, and drifts toward a target price."""

    address: str
    venue: str
    mint_a: str  # Raydium's coin, DLMM's token X
    mint_b: str  # Raydium's pc, DLMM's token Y

    @property
    def fee_bps(self) -> int:
        """The pool's (base) fee in basis points."""
        ...

    def quote(self, mint_in: str, amount_in: int) -> PoolQuote:
        """What the pool would pay for `amount_in` base units of `mint_in`, without changing.

        Raises:
            ValueError: `mint_in` is not one of the pool's tokens, or the amount is not positive.
            InsufficientLiquidity: The pool cannot fill the swap.
        """
        ...

    def swap(self, mint_in: str, amount_in: int) -> PoolQuote:
        """Execute a swap straight on the accounts (no wallet: the input comes from outside)."""
        ...

    def plan(self, call: SwapCall, now: int) -> SwapOutcome:
        """Check and price a transaction's swap instruction as the venue's program would."""
        ...

    def reserves(self) -> tuple[int, int]:
        """The balances of the pool's token accounts for (mint_a, mint_b)."""
        ...

    def spot_price(self) -> Decimal:
        """The marginal price now: mint_b base units per mint_a base unit, before fees."""
        ...

    def drift_toward(self, price: Decimal, weight: Decimal) -> None:
        """Move the spot price `weight` (0..1) of the way to `price`: the arbitrage the real
        market does between venues, written straight into the accounts."""
        ...


class InsufficientLiquidity(Exception):
    """The pool cannot fill the swap (a DLMM swap larger than all of its bins); the quote
    services answer it as the venues' APIs do."""


def shortfall_bps(net_in: int, amount_out: int, spot: Decimal) -> Decimal:
    """How far `amount_out / net_in` falls short of `spot` (output per input), in bps."""
    if net_in == 0 or spot <= 0:
        return Decimal(0)
    executed = Decimal(amount_out) / Decimal(net_in)
    return ((1 - executed / spot) * BPS).quantize(_CENT)


def pubkey(text: str | Pubkey) -> Pubkey:
    """A key from its base58 text (or the key itself)."""
    return text if isinstance(text, Pubkey) else Pubkey.from_string(text)


TRANSFER_UNITS = 4_645  # what the SPL Token program's Transfer costs (litesvm measures the same)


def transfer_cpi_logs(count: int = 2, *, budget: int = 180_000) -> list[str]:
    """The frames of the token transfers a swap program makes, one level down (`invoke [2]`)."""
    program = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    lines = []
    for n in range(count):
        lines += [
            f"Program {program} invoke [2]",
            "Program log: Instruction: Transfer",
            f"Program {program} consumed {TRANSFER_UNITS} of {budget - n * TRANSFER_UNITS} "
            "compute units",
            f"Program {program} success",
        ]
    return lines


def user_mint(
    bank: Bank, account: Pubkey, wallet: Pubkey, mints: tuple[Pubkey, ...]
) -> Pubkey | None:
    """A user token account's mint: from the account, or, for the wallet's associated account
    of one of `mints` that an earlier instruction of the transaction creates (wSOL, the output
    token's), from its address. None when it is neither."""
    found = bank.token_account(str(account))
    if found is not None:
        return Pubkey.from_string(found[1])
    for mint in mints:
        if associated_token_address(wallet, mint) == account:
            return mint
    return None
