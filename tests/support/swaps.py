"""Real swap transactions against an in-process simulator, built as the engine builds them.

The instruction comes from the engine's own on-chain venue adapters (`RaydiumOnchain`,
`MeteoraOnchain`), fed the pool's accounts straight from the simulator's ledger instead of
over JSON-RPC, so a test that drives the ledger directly (synchronously, on a fake clock)
sends exactly the bytes the engine would. `LedgerAccounts` answers those reads as the node
would (the world names the pools, so discovery is not served).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey

from oee.adapters.chain.rpc import Account, AccountsAt
from oee.adapters.chain.transactions import SwapTransactionBuilder
from oee.adapters.venues.onchain.meteora import MeteoraOnchain
from oee.adapters.venues.onchain.raydium import RaydiumOnchain
from oee.adapters.venues.onchain.venue import OnchainVenue, StaleSelection
from oee.domain.orders import SignedSwap
from oee.domain.ports import (
    Blockhash,
    ComputeBudget,
    SwapAccount,
    SwapInstruction,
    SwapPlan,
    SwapRequest,
)
from oee.domain.routing import Quote
from oee.domain.tokens import Token
from oee.sim import SimLedger, SimWorld
from oee.sim.rpc_wire import slot
from oee.solana.budget import DEFAULT_COMPUTE_UNIT_LIMIT
from oee.solana.spl import associated_token_address
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.instructions import SWAP_BASE_IN_DATA, SwapBaseInData

# Solana's default limit, at a modest price: 2,000 lamports of priority fee.
DEFAULT_BUDGET = ComputeBudget(DEFAULT_COMPUTE_UNIT_LIMIT, 10_000)
_AMOUNTS = struct.Struct("<QQ")  # amount_in, minimum out
_ADAPTERS: dict[str, type[OnchainVenue[Any]]] = {
    "raydium": RaydiumOnchain,
    "meteora": MeteoraOnchain,
}


class LedgerAccounts:
    """The `AccountSource` reads, answered from the ledger's accounts as the node answers."""

    def __init__(self, ledger: SimLedger) -> None:
        self._ledger = ledger

    def read(self, addresses: Sequence[str]) -> AccountsAt:
        """The accounts at `addresses` and the slot the node would report."""
        store = self._ledger.accounts
        found = []
        for address in addresses:
            account = store.get(Pubkey.from_string(address))
            found.append(
                None
                if account is None
                else Account(str(account.owner), account.lamports, bytes(account.data))
            )
        return AccountsAt(slot(self._ledger.block_height()), tuple(found))

    async def multiple_accounts(self, addresses: Sequence[str]) -> AccountsAt:
        return self.read(addresses)

    async def program_accounts(
        self, program_id: str, filters: Sequence[dict[str, Any]]
    ) -> list[tuple[str, Account]]:
        raise NotImplementedError("tests name their pools; discovery goes over JSON-RPC")


class SimSwaps:
    """Builds and signs real swaps on the simulator's pools."""

    def __init__(self, world: SimWorld, ledger: SimLedger) -> None:
        self.world = world
        self.accounts = LedgerAccounts(ledger)
        self._venues = {
            spec.name: _ADAPTERS[spec.name](self.accounts, program_id=spec.program_id)
            for spec in world.venues
        }

    def instruction(
        self, venue: str, token_in: Token, token_out: Token, owner: Pubkey | str,
        amount_in: int, min_out: int, *, pool: str | None = None,
    ) -> SwapInstruction:  # fmt: skip
        """The venue's real swap instruction on the pair's pool (or `pool`), from its state now.

        Raises:
            PoolUnusable, Shortfall: as the engine's adapter refuses to build.
        """
        adapter = self._venues[venue]
        address = pool or self.world.pool(venue, token_in, token_out).address
        wallet = Pubkey.from_string(str(owner))
        request = SwapRequest(  # of the quote, a build reads only the pool it names
            quote=Quote(venue, amount_in, min_out, 0, 0, Decimal(0), Decimal(0), address),
            token_in=token_in, token_out=token_out, owner=str(wallet),
            source=_token_account(wallet, token_in), destination=_token_account(wallet, token_out),
            amount_in=amount_in, min_amount_out=min_out,
        )  # fmt: skip
        for _ in range(3):  # a DLMM swap that walks past the arrays read reads further
            head = self.accounts.read([address]).accounts[0]
            assert head is not None, f"no pool account at {address}"
            decoded = adapter.decode_pool(head.data)
            read = self.accounts.read(
                adapter.state_addresses(address, decoded, token_in, token_out, build=True)
            )
            try:
                return adapter.build(address, decoded, read.accounts, read.slot, request)
            except StaleSelection:
                continue
        raise AssertionError(f"{venue} pool {address} kept moving while read")

    def signed(
        self, signer: SwapTransactionBuilder, venue: str, token_in: Token, token_out: Token,
        amount_in: int, min_out: int, blockhash: Blockhash, *, memo: str | None = None,
        budget: ComputeBudget = DEFAULT_BUDGET, pool: str | None = None,
        swap: SwapInstruction | None = None,
    ) -> SignedSwap:  # fmt: skip
        """The whole transaction as the executor has it signed: budget, wSOL, the swap, memo.

        `swap` replaces the instruction built here (e.g. one `with_amounts` made too large).
        """
        if swap is None:
            swap = self.instruction(
                venue, token_in, token_out, signer.wallet, amount_in, min_out, pool=pool
            )
        plan = SwapPlan(venue, swap, token_in, token_out, amount_in, min_out, memo)
        return signer.sign(plan, budget, blockhash)


def with_amounts(swap: SwapInstruction, amount_in: int, min_out: int) -> SwapInstruction:
    """The same instruction asking other amounts: both venues' swaps end in the two u64s
    (a swap the engine would refuse to build, sent to see how the program fails it)."""
    data = swap.data[: -_AMOUNTS.size] + _AMOUNTS.pack(amount_in, min_out)
    return SwapInstruction(swap.program_id, data, swap.accounts)


def placeholder_swap(owner: str, amount_in: int = 10**9, min_out: int = 1) -> SwapInstruction:
    """A Raydium `SwapBaseIn` on a made-up pool, for tests of what wraps a swap (signing, the
    compute budget, reading replies) that never run it."""
    data = SWAP_BASE_IN_DATA.encode(SwapBaseInData(amount_in, min_out))
    accounts = (
        SwapAccount(str(Pubkey.new_unique()), is_writable=True),
        SwapAccount(owner, is_signer=True),
    )
    return SwapInstruction(str(RAYDIUM_AMM_V4), data, accounts)


def _token_account(wallet: Pubkey, token: Token) -> str:
    return str(associated_token_address(wallet, Pubkey.from_string(token.mint)))
