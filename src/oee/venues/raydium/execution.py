"""`process_swap_base_in` as the simulator needs it: the program's checks, in its order.

After the account checks (`instructions.check_swap_accounts`) the program settles the pool's
status, refuses a user who lacks the input, prices the swap, logs its `ray_log` (a failure from
here on still prints it), then fails on slippage, an empty swap or an output that would drain
the reserve. `execute_swap_base_in` returns what happened instead of raising, so the simulator
can print the log of a failed swap as the chain does; `amm_after_swap` is the pool state a
successful swap leaves (the vault balances are the caller's: the input, fee included, goes into
the input vault and `amount_out` leaves the other).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from oee.venues.raydium.errors import AmmErrorCode
from oee.venues.raydium.instructions import SwapBaseInData
from oee.venues.raydium.layout import AmmInfo, AmmStatus, SwapBaseInLog
from oee.venues.raydium.math import (
    Reserves,
    SwapDirection,
    SwapQuote,
    base_in_amount_out,
    swap_fee,
)


@dataclass(frozen=True)
class SwapOutcome:
    """The result of one `SwapBaseIn`.

    Attributes:
        status: the pool's status afterwards (a due `WaitingTrade` pool becomes `SwapOnly`;
            on failure the transaction reverts, so the stored status does not change).
        error: the program's error code, or None when the swap succeeded.
        quote: the priced swap (None when it failed before pricing).
        ray_log: the log the program printed (None when it failed before logging).
    """

    status: AmmStatus
    error: AmmErrorCode | None
    quote: SwapQuote | None
    ray_log: SwapBaseInLog | None

    @property
    def ok(self) -> bool:
        """Whether the swap succeeded."""
        return self.error is None


def _status_after(amm: AmmInfo, now: int) -> AmmStatus | None:
    """The status a swap at unix time `now` moves the pool to; None when it may not swap."""
    status = AmmStatus(amm.status)
    if not status.swap_permission():
        due = now >= amm.state_data.orderbook_to_init_time
        return AmmStatus.INITIALIZED if status is AmmStatus.ORDER_BOOK_ONLY and due else None
    if status is AmmStatus.WAITING_TRADE:
        return AmmStatus.SWAP_ONLY if now >= amm.state_data.pool_open_time else None
    return status


def execute_swap_base_in(
    amm: AmmInfo,
    reserves: Reserves,
    direction: SwapDirection,
    data: SwapBaseInData,
    *,
    user_source_amount: int,
    now: int,
) -> SwapOutcome:
    """Runs a `SwapBaseIn` against the pool the way the program does.

    Args:
        amm: the decoded pool.
        reserves: from `math.pool_reserves` (vault balances before the swap).
        direction: from `math.swap_direction` (the user's token accounts' mints).
        data: the instruction's amounts.
        user_source_amount: the balance of the user's source token account.
        now: the cluster's unix time (`Clock::unix_timestamp`).

    Raises:
        ZeroLiquidityError: the input reserve and the input are both 0 (the program panics).
    """
    status = _status_after(amm, now)
    if status is None:
        return SwapOutcome(AmmStatus(amm.status), AmmErrorCode.INVALID_STATUS, None, None)
    reserve_in, reserve_out = reserves.oriented(direction)

    def log(out_amount: int) -> SwapBaseInLog:
        return SwapBaseInLog(
            data.amount_in,
            data.minimum_amount_out,
            direction.value,
            user_source_amount,
            reserves.coin,
            reserves.pc,
            out_amount,
        )

    if user_source_amount < data.amount_in:
        return SwapOutcome(status, AmmErrorCode.INSUFFICIENT_FUNDS, None, log(0))
    fee = swap_fee(data.amount_in, amm.fees)
    out = base_in_amount_out(data.amount_in - fee, reserve_in, reserve_out)
    quote = SwapQuote(direction, data.amount_in, fee, out, reserve_in, reserve_out)
    error = None
    if quote.amount_out < data.minimum_amount_out:
        error = AmmErrorCode.EXCEEDED_SLIPPAGE
    elif quote.amount_out == 0 or data.amount_in == 0:
        error = AmmErrorCode.INVALID_INPUT
    elif quote.amount_out >= reserve_out:
        error = AmmErrorCode.INSUFFICIENT_FUNDS
    final_status = status if error is None else AmmStatus(amm.status)
    return SwapOutcome(final_status, error, quote, log(quote.amount_out))


def amm_after_swap(amm: AmmInfo, outcome: SwapOutcome, *, epoch: int) -> AmmInfo:
    """The pool account after a successful swap: its status, the (deprecated but still
    written) swap counters, and `recent_epoch`.

    Args:
        amm: the pool before the swap.
        outcome: a successful `execute_swap_base_in` result.
        epoch: the cluster's current epoch.

    Raises:
        ValueError: the outcome is a failure (a failed transaction leaves the account alone).
    """
    quote = outcome.quote
    if outcome.error is not None or quote is None:
        raise ValueError("a failed swap does not change the pool")
    data = amm.state_data
    if quote.direction is SwapDirection.COIN2PC:
        data = dataclasses.replace(
            data,
            swap_coin_in_amount=data.swap_coin_in_amount + quote.amount_in,
            swap_pc_out_amount=data.swap_pc_out_amount + quote.amount_out,
            swap_acc_coin_fee=data.swap_acc_coin_fee + quote.fee,
        )
    else:
        data = dataclasses.replace(
            data,
            swap_pc_in_amount=data.swap_pc_in_amount + quote.amount_in,
            swap_coin_out_amount=data.swap_coin_out_amount + quote.amount_out,
            swap_acc_pc_fee=data.swap_acc_pc_fee + quote.fee,
        )
    return dataclasses.replace(amm, status=int(outcome.status), state_data=data, recent_epoch=epoch)
