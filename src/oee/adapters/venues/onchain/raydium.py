"""Raydium AMM v4 read from the chain: `AmmInfo` and its vaults, priced by the program's math.

A quote reads the pool, its two vaults and the Clock sysvar (a new pool opens at its
`pool_open_time`); a build also reads the pool's OpenBook market, whose bids, asks, event
queue, vaults and vault signer nonce `SwapBaseIn` passes (17 accounts). Pools that still keep
orders on OpenBook (`orderbook_permission`) price on their open orders too, which this reader
does not load: they are skipped with a reason (new pools and almost all live ones are
`SwapOnly`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from solders.pubkey import Pubkey

from oee.adapters.chain.rpc import Account
from oee.adapters.venues.limits import RAYDIUM_COMPUTE_UNITS
from oee.adapters.venues.onchain.reader import (
    CLOCK_SYSVAR,
    Filters,
    UnreadableAccount,
    token_amount,
    unix_time,
)
from oee.adapters.venues.onchain.venue import (
    OnchainVenue,
    PoolQuote,
    PoolUnusable,
    Shortfall,
    impact_bps,
)
from oee.domain.ports import SwapAccount, SwapInstruction, SwapRequest
from oee.domain.tokens import Token
from oee.venues.raydium import RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import pair_pool_filters
from oee.venues.raydium.errors import ZeroLiquidityError
from oee.venues.raydium.instructions import SWAP_BASE_IN_DATA, SwapBaseInData, swap_accounts
from oee.venues.raydium.layout import AMM_INFO, MARKET_STATE, AmmInfo, AmmStatus
from oee.venues.raydium.math import pool_reserves, quote_swap_base_in, swap_direction

BPS = 10_000


class RaydiumOnchain(OnchainVenue[AmmInfo]):
    """The `Venue` port over Raydium AMM v4 pool accounts."""

    name = "raydium"
    compute_units = RAYDIUM_COMPUTE_UNITS
    default_program_id = str(RAYDIUM_AMM_V4)

    def filters(self, mint_a: Pubkey, mint_b: Pubkey) -> list[Filters]:
        return list(pair_pool_filters(mint_a, mint_b))

    def decode_pool(self, data: bytes) -> AmmInfo:
        return AMM_INFO.decode(data)

    def state_addresses(
        self, address: str, pool: AmmInfo, token_in: Token, token_out: Token, *, build: bool
    ) -> list[str]:
        addresses = [address, str(pool.coin_vault), str(pool.pc_vault), CLOCK_SYSVAR]
        return [*addresses, str(pool.market)] if build else addresses

    def quote_pool(
        self, address: str, pool: AmmInfo, accounts: Sequence[Account | None], slot: int,
        token_in: Token, token_out: Token, amount_in: int,
    ) -> PoolQuote:  # fmt: skip
        _check_open(pool, unix_time(accounts[3]))
        direction = swap_direction(
            pool, Pubkey.from_string(token_in.mint), Pubkey.from_string(token_out.mint)
        )
        try:
            reserves = pool_reserves(
                pool,
                token_amount(accounts[1], "the coin vault"),
                token_amount(accounts[2], "the pc vault"),
            )
            quoted = quote_swap_base_in(pool.fees, reserves, direction, amount_in)
        except (ZeroLiquidityError, UnreadableAccount) as error:
            raise PoolUnusable(str(error)) from None
        if quoted.amount_out <= 0 or quoted.amount_out >= quoted.reserve_out:
            raise Shortfall(f"pays {quoted.amount_out} of a {quoted.reserve_out} reserve")
        spot = Decimal(quoted.reserve_out) / Decimal(quoted.reserve_in)
        fees = pool.fees
        return PoolQuote(
            amount_out=quoted.amount_out,
            fee=quoted.fee,
            fee_bps=fees.swap_fee_numerator * BPS // fees.swap_fee_denominator,
            price_impact_bps=impact_bps(quoted.amount_out, amount_in - quoted.fee, spot),
        )

    def build(
        self, address: str, pool: AmmInfo, accounts: Sequence[Account | None], slot: int,
        request: SwapRequest,
    ) -> SwapInstruction:  # fmt: skip
        _check_open(pool, unix_time(accounts[3]))
        market_account = accounts[4]
        if market_account is None:
            raise PoolUnusable(f"its OpenBook market {pool.market} does not exist")
        market = MARKET_STATE.decode(market_account.data)
        keys = swap_accounts(
            Pubkey.from_string(address),
            pool,
            market,
            user_source=Pubkey.from_string(request.source),
            user_destination=Pubkey.from_string(request.destination),
            user_owner=Pubkey.from_string(request.owner),
            program_id=self.program_key,
        )
        data = SWAP_BASE_IN_DATA.encode(SwapBaseInData(request.amount_in, request.min_amount_out))
        metas = tuple(SwapAccount(str(m.pubkey), m.is_signer, m.is_writable) for m in keys.metas())
        return SwapInstruction(self.program_id, data, metas)


def _check_open(pool: AmmInfo, now: int) -> None:
    """Refuse a pool the program would not let swap now, or one priced on its order book.

    Raises:
        PoolUnusable: Why not.
    """
    status = AmmStatus(pool.status)
    if not status.swap_permission():
        raise PoolUnusable(f"status {status.name} allows no swap")
    if status is AmmStatus.WAITING_TRADE and now < pool.state_data.pool_open_time:
        raise PoolUnusable(f"opens at {pool.state_data.pool_open_time}")
    if status.orderbook_permission():
        raise PoolUnusable("trades on OpenBook too; its open orders are not read")
