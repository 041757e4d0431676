"""`process_swap_base_in`'s order of checks, codes and logs, and the state a swap leaves."""

from __future__ import annotations

import pytest

from oee.venues.raydium.errors import AmmErrorCode, ZeroLiquidityError
from oee.venues.raydium.execution import SwapOutcome, amm_after_swap, execute_swap_base_in
from oee.venues.raydium.instructions import SwapBaseInData
from oee.venues.raydium.layout import AmmStatus, SwapBaseInLog
from oee.venues.raydium.math import Reserves, SwapDirection, quote_swap_base_in
from tests.unit.venues.raydium.factories import pool

RESERVES = Reserves(coin=10**12, pc=5 * 10**11)
NOW = 1_700_000_000


def _swap(
    amount_in: int = 10**9,
    minimum: int = 0,
    *,
    status: AmmStatus = AmmStatus.SWAP_ONLY,
    open_time: int = 0,
    balance: int = 10**12,
    reserves: Reserves = RESERVES,
) -> SwapOutcome:
    return execute_swap_base_in(
        pool(status=status, open_time=open_time),
        reserves,
        SwapDirection.COIN2PC,
        SwapBaseInData(amount_in, minimum),
        user_source_amount=balance,
        now=NOW,
    )


def test_a_good_swap_settles_and_logs_what_it_priced() -> None:
    outcome = _swap(10**9, 1)
    expected = quote_swap_base_in(pool().fees, RESERVES, SwapDirection.COIN2PC, 10**9)
    assert outcome.ok
    assert outcome.quote == expected
    assert outcome.status is AmmStatus.SWAP_ONLY
    assert outcome.ray_log == SwapBaseInLog(
        10**9, 1, 2, 10**12, RESERVES.coin, RESERVES.pc, expected.amount_out
    )


def test_a_waiting_pool_opens_at_its_open_time() -> None:
    early = _swap(status=AmmStatus.WAITING_TRADE, open_time=NOW + 1)
    assert early.error is AmmErrorCode.INVALID_STATUS
    assert early.ray_log is None
    assert early.quote is None
    due = _swap(status=AmmStatus.WAITING_TRADE, open_time=NOW)
    assert due.ok
    assert due.status is AmmStatus.SWAP_ONLY


@pytest.mark.parametrize(
    "status", [AmmStatus.DISABLED, AmmStatus.WITHDRAW_ONLY, AmmStatus.LIQUIDITY_ONLY]
)
def test_statuses_without_swap_permission_refuse(status: AmmStatus) -> None:
    assert _swap(status=status).error is AmmErrorCode.INVALID_STATUS


def test_an_order_book_only_pool_turns_initialized_once_due() -> None:
    outcome = _swap(status=AmmStatus.ORDER_BOOK_ONLY)  # orderbook_to_init_time 0 <= now
    assert outcome.ok
    assert outcome.status is AmmStatus.INITIALIZED


def test_a_short_balance_fails_after_logging_a_zero_output() -> None:
    outcome = _swap(10**9, balance=10**9 - 1)
    assert outcome.error is AmmErrorCode.INSUFFICIENT_FUNDS
    assert outcome.quote is None
    assert outcome.ray_log is not None
    assert outcome.ray_log.out_amount == 0


def test_slippage_fails_but_the_log_shows_the_output() -> None:
    priced = _swap(10**9).quote
    assert priced is not None
    outcome = _swap(10**9, priced.amount_out + 1)
    assert outcome.error is AmmErrorCode.EXCEEDED_SLIPPAGE
    assert outcome.ray_log is not None
    assert outcome.ray_log.out_amount == priced.amount_out
    assert _swap(10**9, priced.amount_out).ok


def test_an_empty_swap_is_invalid_input() -> None:
    assert _swap(0).error is AmmErrorCode.INVALID_INPUT
    assert _swap(1).error is AmmErrorCode.INVALID_INPUT  # half a unit of pc floors to 0


def test_an_empty_input_reserve_pays_out_everything_and_is_refused() -> None:
    outcome = _swap(10**6, reserves=Reserves(coin=0, pc=10**6))
    assert outcome.quote is not None
    assert outcome.quote.amount_out == 10**6
    assert outcome.error is AmmErrorCode.INSUFFICIENT_FUNDS
    with pytest.raises(ZeroLiquidityError):  # 0 / 0: the program panics
        _swap(0, reserves=Reserves(coin=0, pc=10**6))


def test_the_pool_after_a_swap_counts_it() -> None:
    amm = pool(status=AmmStatus.WAITING_TRADE)
    outcome = execute_swap_base_in(
        amm, RESERVES, SwapDirection.COIN2PC, SwapBaseInData(10**9, 0),
        user_source_amount=10**9, now=NOW,
    )  # fmt: skip
    after = amm_after_swap(amm, outcome, epoch=42)
    assert outcome.quote is not None
    assert after.status == AmmStatus.SWAP_ONLY
    assert after.recent_epoch == 42
    assert after.state_data.swap_coin_in_amount == 10**9
    assert after.state_data.swap_pc_out_amount == outcome.quote.amount_out
    assert after.state_data.swap_acc_coin_fee == outcome.quote.fee == 2_500_000
    with pytest.raises(ValueError, match="failed"):
        amm_after_swap(amm, _swap(0), epoch=42)
