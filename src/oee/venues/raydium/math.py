"""The swap math of `processor.rs` and `math.rs`, integer for integer.

A `SwapBaseIn` of `amount_in`:

1. reserves = vault amounts minus the pnl the pool owes the protocol (`need_take_pnl_coin` /
   `_pc`): `calc_total_without_take_pnl_no_orderbook`. While a pool also trades on OpenBook
   (`AmmStatus.orderbook_permission`, never for a new pool) the program adds its open-orders
   totals; `pool_reserves` takes them as arguments for that case.
2. fee = `checked_ceil_div(amount_in * swap_fee_numerator, swap_fee_denominator)`, kept from
   the input. That division is a ceiling only when the quotient is at least 1; below 1 it
   rounds half up (1 if 2 * dividend >= divisor, else 0), so an input under 200 pays no fee at
   the default 25/10000. `ceil_div` reproduces it.
3. out = floor(reserve_out * (amount_in - fee) / (reserve_in + amount_in - fee)).

The direction comes from the mints: coin in is `Coin2PC` (2), pc in is `PC2Coin` (1).
`SwapBaseOut` inverts step 3 with `ceil_div` and grosses up by
`ceil_div(in * denominator, denominator - numerator)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from solders.pubkey import Pubkey

from oee.venues.raydium.errors import AmmErrorCode, AmmProgramError, ZeroLiquidityError
from oee.venues.raydium.layout import AmmInfo, Fees

BPS = 10_000


class SwapDirection(IntEnum):
    """`SwapDirection` (`math.rs`), the value a swap's `ray_log` records."""

    PC2COIN = 1
    COIN2PC = 2


@dataclass(frozen=True)
class Reserves:
    """The amounts a swap is priced on (vaults less owed pnl, plus open orders if any)."""

    coin: int
    pc: int

    def oriented(self, direction: SwapDirection) -> tuple[int, int]:
        """`(reserve_in, reserve_out)` for a swap in `direction`."""
        if direction is SwapDirection.COIN2PC:
            return self.coin, self.pc
        return self.pc, self.coin


@dataclass(frozen=True)
class SwapQuote:
    """One priced swap.

    Attributes:
        direction: which token goes in.
        amount_in: what the user pays, fee included.
        fee: the part of `amount_in` the pool keeps as fee.
        amount_out: what the user receives.
        reserve_in: the input-side reserve the swap was priced on.
        reserve_out: the output-side reserve.
    """

    direction: SwapDirection
    amount_in: int
    fee: int
    amount_out: int
    reserve_in: int
    reserve_out: int

    @property
    def price_impact_bps(self) -> int:
        """How much worse than spot the user's all-in price is, in bps (fee included)."""
        return price_impact_bps(self.amount_in, self.amount_out, self.reserve_in, self.reserve_out)


def pool_reserves(
    amm: AmmInfo,
    coin_vault_amount: int,
    pc_vault_amount: int,
    *,
    open_orders_coin: int = 0,
    open_orders_pc: int = 0,
) -> Reserves:
    """The reserves a swap prices on (`calc_total_without_take_pnl[_no_orderbook]`).

    Args:
        amm: the decoded pool.
        coin_vault_amount: the coin vault's token balance.
        pc_vault_amount: the pc vault's token balance.
        open_orders_coin: the pool's OpenBook open-orders coin total, when it trades there.
        open_orders_pc: likewise for pc.

    Raises:
        AmmProgramError: `CheckedSubOverflow` when the owed pnl exceeds the balance.
    """
    coin = coin_vault_amount + open_orders_coin - amm.state_data.need_take_pnl_coin
    pc = pc_vault_amount + open_orders_pc - amm.state_data.need_take_pnl_pc
    if coin < 0 or pc < 0:
        raise AmmProgramError(AmmErrorCode.CHECKED_SUB_OVERFLOW, "pnl exceeds the vault")
    return Reserves(coin=coin, pc=pc)


def swap_direction(amm: AmmInfo, source_mint: Pubkey, destination_mint: Pubkey) -> SwapDirection:
    """The direction of a swap between token accounts of these mints.

    Raises:
        AmmProgramError: `InvalidUserToken` when the mints are not the pool's pair.
    """
    if (source_mint, destination_mint) == (amm.coin_vault_mint, amm.pc_vault_mint):
        return SwapDirection.COIN2PC
    if (source_mint, destination_mint) == (amm.pc_vault_mint, amm.coin_vault_mint):
        return SwapDirection.PC2COIN
    raise AmmProgramError(AmmErrorCode.INVALID_USER_TOKEN)


def ceil_div(dividend: int, divisor: int) -> int:
    """The quotient of Raydium's `CheckedCeilDiv` (a ceiling once the quotient reaches 1).

    Raises:
        ZeroDivisionError: `divisor` is 0 (the program's `checked_div` fails).
    """
    quotient, remainder = divmod(dividend, divisor)
    if quotient == 0:
        # The source avoids turning 1/1000 into 1: below one it rounds half up instead.
        return 1 if dividend * 2 >= divisor else 0
    return quotient + 1 if remainder else quotient


def swap_fee(amount_in: int, fees: Fees) -> int:
    """The fee `SwapBaseIn` keeps from `amount_in`."""
    return ceil_div(amount_in * fees.swap_fee_numerator, fees.swap_fee_denominator)


def base_in_amount_out(net_in: int, reserve_in: int, reserve_out: int) -> int:
    """`swap_token_amount_base_in`: the output for an input already net of fee.

    Raises:
        ZeroLiquidityError: `reserve_in + net_in` is 0 (the program divides by zero).
    """
    if reserve_in + net_in == 0:
        raise ZeroLiquidityError("empty input reserve and nothing swapped in")
    return reserve_out * net_in // (reserve_in + net_in)


def base_out_amount_in(amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """`swap_token_amount_base_out`: the input, before fee, that buys `amount_out`.

    Raises:
        AmmProgramError: `InsufficientFunds` when `amount_out` is not below `reserve_out` (the
            program gets there only by a failed subtraction or a division by zero).
    """
    if amount_out >= reserve_out:
        raise AmmProgramError(AmmErrorCode.INSUFFICIENT_FUNDS, "output reaches the reserve")
    return ceil_div(reserve_in * amount_out, reserve_out - amount_out)


def price_impact_bps(amount_in: int, amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """The shortfall of the executed price against the pre-trade spot price, in bps, rounded up.

    Executed price is `amount_out / amount_in` with `amount_in` the full input (so the fee
    counts: a tiny swap shows about 25 bps at the default fee); spot price is
    `reserve_out / reserve_in`. Impact = `1 - executed / spot`, as a ceiling of bps so it never
    understates. 0 for an empty swap.
    """
    at_spot = amount_in * reserve_out  # the output at spot price, scaled by reserve_in
    if at_spot == 0:
        return 0
    shortfall = at_spot - amount_out * reserve_in
    return -(-shortfall * BPS // at_spot)


def _oriented(reserves: Reserves, direction: SwapDirection) -> tuple[int, int]:
    reserve_in, reserve_out = reserves.oriented(direction)
    if reserve_in == 0 or reserve_out == 0:
        raise ZeroLiquidityError(f"pool reserves are coin={reserves.coin} pc={reserves.pc}")
    return reserve_in, reserve_out


def quote_swap_base_in(
    fees: Fees, reserves: Reserves, direction: SwapDirection, amount_in: int
) -> SwapQuote:
    """Prices a `SwapBaseIn` exactly as the program settles it.

    Args:
        fees: the pool's `AmmInfo.fees`.
        reserves: from `pool_reserves`.
        direction: from `swap_direction`.
        amount_in: the input, fee included.

    Raises:
        ZeroLiquidityError: either reserve is empty.
    """
    reserve_in, reserve_out = _oriented(reserves, direction)
    fee = swap_fee(amount_in, fees)
    amount_out = base_in_amount_out(amount_in - fee, reserve_in, reserve_out)
    return SwapQuote(direction, amount_in, fee, amount_out, reserve_in, reserve_out)


def quote_swap_base_out(
    fees: Fees, reserves: Reserves, direction: SwapDirection, amount_out: int
) -> SwapQuote:
    """Prices a `SwapBaseOut`: the input (fee included) that buys exactly `amount_out`.

    Raises:
        ZeroLiquidityError: either reserve is empty.
        AmmProgramError: `InsufficientFunds` when `amount_out` is the whole reserve or more.
    """
    reserve_in, reserve_out = _oriented(reserves, direction)
    before_fee = base_out_amount_in(amount_out, reserve_in, reserve_out)
    denominator = fees.swap_fee_denominator
    with_fee = ceil_div(before_fee * denominator, denominator - fees.swap_fee_numerator)
    return SwapQuote(
        direction, with_fee, with_fee - before_fee, amount_out, reserve_in, reserve_out
    )
