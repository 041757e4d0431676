"""Meteora DLMM read from the chain: `LbPair`, reserves and bin arrays, priced bin by bin.

A quote reads the pair, its two reserves, the Clock sysvar (volatility decays with time) and
the bin arrays the swap's direction may walk, chosen from the pair's bitmap
(`bin_array_addresses_for_swap`): `ARRAYS_AHEAD` to start with, more for a pool whose swaps
reached past them. The arrays are chosen from the freshest pair this reader has seen; when the
active bin has moved so that the swap needs an array that was not read, the quote is read
again with the new choice. The swap instruction passes the arrays the swap walks plus the next
existing one (the price may move a bin or two before it lands) as writable remaining accounts.
Not modelled (the pool is skipped with the reason): Token-2022 mints, limit-order pairs,
Y-only fee collection and bin arrays beyond the pair's own bitmap (±512).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from solders.pubkey import Pubkey

from oee.adapters.chain.rpc import Account
from oee.adapters.venues.limits import METEORA_COMPUTE_UNITS
from oee.adapters.venues.onchain.reader import (
    CLOCK_SYSVAR,
    AccountSource,
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
    StaleSelection,
    impact_bps,
)
from oee.domain.ports import SwapAccount, SwapInstruction, SwapRequest
from oee.domain.tokens import Token
from oee.venues.meteora import PROGRAM_ID
from oee.venues.meteora import quote as dlmm
from oee.venues.meteora.discovery import (
    bin_array_addresses_for_swap,
    bin_array_bin_range,
    bin_array_index,
    pair_filters_for_mints,
)
from oee.venues.meteora.instructions import SwapAccounts, swap_instruction
from oee.venues.meteora.layout import BIN_ARRAY, LB_PAIR, BinArray, LbPair
from oee.venues.meteora.math import (
    ONE,
    BinArrayMissing,
    InsufficientLiquidity,
    PairNotTradable,
    UnsupportedPair,
    base_fee_rate,
    price_from_id,
)

ARRAYS_AHEAD = 3  # bin arrays read per quote at first (the SDK's swap quotes pass about as many)
MAX_ARRAYS = 12  # a swap crossing more is refused as too large for one transaction
_FIXED = 4  # pair, reserve X, reserve Y, clock: the bin arrays follow
_FEE_RATE_PER_BPS = 100_000  # fee rates are parts per 1e9


class MeteoraOnchain(OnchainVenue[LbPair]):
    """The `Venue` port over Meteora DLMM pair accounts."""

    name = "meteora"
    compute_units = METEORA_COMPUTE_UNITS
    default_program_id = str(PROGRAM_ID)

    def __init__(self, source: AccountSource, **options: Any) -> None:
        """As `OnchainVenue` (same options)."""
        super().__init__(source, **options)
        self._reach: dict[str, int] = {}  # bin arrays to read per pool, grown when short

    def filters(self, mint_a: Pubkey, mint_b: Pubkey) -> list[Filters]:
        return [pair_filters_for_mints(mint_a, mint_b), pair_filters_for_mints(mint_b, mint_a)]

    def decode_pool(self, data: bytes) -> LbPair:
        return LB_PAIR.decode(data)

    def state_addresses(
        self, address: str, pool: LbPair, token_in: Token, token_out: Token, *, build: bool
    ) -> list[str]:
        for_y = token_out.mint == str(pool.token_y_mint)
        count = self._reach.get(address, ARRAYS_AHEAD)
        arrays = bin_array_addresses_for_swap(
            Pubkey.from_string(address), pool, swap_for_y=for_y, count=count
        )
        fixed = [address, str(pool.reserve_x), str(pool.reserve_y), CLOCK_SYSVAR]
        return fixed + [str(a) for a in arrays]

    def quote_pool(
        self, address: str, pool: LbPair, accounts: Sequence[Account | None], slot: int,
        token_in: Token, token_out: Token, amount_in: int,
    ) -> PoolQuote:  # fmt: skip
        quoted, arrays = self._walk(address, pool, accounts, slot, token_out, amount_in)
        reserve = accounts[2] if quoted.swap_for_y else accounts[1]
        try:
            held = token_amount(reserve, "the output reserve")
        except UnreadableAccount as error:
            raise PoolUnusable(str(error)) from None
        if quoted.amount_out > held:
            raise Shortfall(f"pays {quoted.amount_out} from a reserve of {held}")
        best = _first_paying_price(pool, arrays, quoted)
        return PoolQuote(
            amount_out=quoted.amount_out,
            fee=quoted.fee,
            fee_bps=base_fee_rate(pool) // _FEE_RATE_PER_BPS,
            price_impact_bps=impact_bps(quoted.amount_out, amount_in - quoted.fee, best),
        )

    def build(
        self, address: str, pool: LbPair, accounts: Sequence[Account | None], slot: int,
        request: SwapRequest,
    ) -> SwapInstruction:  # fmt: skip
        quoted, _ = self._walk(address, pool, accounts, slot, request.token_out, request.amount_in)
        walked = bin_array_addresses_for_swap(
            Pubkey.from_string(address),
            pool,
            swap_for_y=quoted.swap_for_y,
            count=len(quoted.bin_arrays) + 1,  # and the next one: the price may move a little
        )
        keys = SwapAccounts(
            lb_pair=Pubkey.from_string(address),
            reserve_x=pool.reserve_x,
            reserve_y=pool.reserve_y,
            user_token_in=Pubkey.from_string(request.source),
            user_token_out=Pubkey.from_string(request.destination),
            token_x_mint=pool.token_x_mint,
            token_y_mint=pool.token_y_mint,
            oracle=pool.oracle,
            user=Pubkey.from_string(request.owner),
            bin_arrays=tuple(walked),
        )
        ix = swap_instruction(keys, request.amount_in, request.min_amount_out)
        metas = tuple(SwapAccount(str(m.pubkey), m.is_signer, m.is_writable) for m in ix.accounts)
        return SwapInstruction(str(ix.program_id), bytes(ix.data), metas)

    def _walk(
        self, address: str, pool: LbPair, accounts: Sequence[Account | None], slot: int,
        token_out: Token, amount_in: int,
    ) -> tuple[dlmm.SwapQuote, dict[int, BinArray]]:  # fmt: skip
        """The exact-in quote on the bin arrays read, and those arrays by index.

        Raises:
            PoolUnusable, Shortfall, StaleSelection: see `OnchainVenue.quote_pool`.
        """
        if pool.token_mint_x_program_flag or pool.token_mint_y_program_flag:
            raise PoolUnusable("a Token-2022 mint (transfer fees are not modelled)")
        for_y = dlmm.swap_for_y(pool, output_mint=Pubkey.from_string(token_out.mint))
        arrays: dict[int, BinArray] = {}
        for position, account in enumerate(accounts[_FIXED:]):
            if account is not None:  # gone since the bitmap was read: the walk will say
                array = self._bin_array(f"{address}#{position}", account)
                arrays[array.index] = array
        try:
            quoted = dlmm.quote_exact_in(
                pool, arrays.values(), amount_in, swap_for_y=for_y,
                now=unix_time(accounts[3]), slot=slot,
            )  # fmt: skip
        except BinArrayMissing as missing:
            reach = self._reach.get(address, ARRAYS_AHEAD)
            if len(arrays) >= reach:  # it needs more than were read: read further next time
                if reach >= MAX_ARRAYS:
                    raise Shortfall(f"the swap crosses more than {MAX_ARRAYS} bin arrays") from None
                self._reach[address] = min(reach + ARRAYS_AHEAD, MAX_ARRAYS)
            raise StaleSelection(str(missing)) from None
        except InsufficientLiquidity as error:
            raise Shortfall(str(error)) from None
        except (PairNotTradable, UnsupportedPair) as error:
            raise PoolUnusable(str(error)) from None
        return quoted, arrays

    def _bin_array(self, key: str, account: Account) -> BinArray:
        array: BinArray = self._decoded.get(key, account.data, BIN_ARRAY.decode)
        return array


def _first_paying_price(
    pool: LbPair, arrays: dict[int, BinArray], quoted: dlmm.SwapQuote
) -> Decimal:
    """Output per input (base units, before fee) at the first bin that pays: the best price
    the pair offers this swap (the active bin may hold only the input side)."""
    step = -1 if quoted.swap_for_y else 1
    bin_id = quoted.start_active_id
    while True:
        array = arrays.get(bin_array_index(bin_id))
        if array is None:
            break
        lower, _ = bin_array_bin_range(array.index)
        bin_ = array.bins[bin_id - lower]
        if bin_.amount_y if quoted.swap_for_y else bin_.amount_x:
            price = bin_.price or price_from_id(bin_id, pool.bin_step)
            return Decimal(price) / ONE if quoted.swap_for_y else Decimal(ONE) / price
        if bin_id == quoted.end_active_id:
            break
        bin_id += step
    return Decimal(0)
