"""The pure parts of the pre-trade checks: token lists, the notional window, what a swap
costs the wallet, and how orders are valued in USD."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from oee.domain.errors import ExecutionError
from oee.domain.orders import Order, SubmitOrder
from oee.domain.ports import ComputeBudget, TokenBalance, WalletBalances
from oee.domain.risk import (
    MICRO_USD,
    NotionalDecision,
    NotionalWindow,
    TokenPolicy,
    micro_to_usd,
    usd_to_micro,
)
from oee.domain.routing import Quote, RoutingDecision, choose_best
from oee.domain.tokens import MAINNET_TOKENS, WSOL_MINT, Token
from oee.services.risk import (
    LAMPORTS_PER_SIGNATURE,
    TOKEN_ACCOUNT_RENT,
    WALLET_RENT,
    check_funds,
    lamports_needed,
    usd_value,
)
from oee.settings import is_mint

SOL, USDC, BONK = (MAINNET_TOKENS.resolve(s) for s in ("SOL", "USDC", "BONK"))
MINT = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"
T0 = datetime(2026, 12, 5, tzinfo=UTC)


# --- token lists ------------------------------------------------------------------------------


def test_lists_take_symbols_and_mints_and_refuse_what_is_neither() -> None:
    policy = TokenPolicy.parse("sol, USDC ,", f"bonk,{MINT}", MAINNET_TOKENS, is_mint)
    assert policy.allow == {SOL.mint, USDC.mint}
    assert policy.deny == {BONK.mint, MINT}
    with pytest.raises(ValueError, match="neither a token symbol"):
        TokenPolicy.parse("DOGE", "", MAINNET_TOKENS, is_mint)
    assert not TokenPolicy.parse("", " , ", MAINNET_TOKENS, is_mint).active


def test_deny_wins_and_an_allow_list_admits_only_its_own() -> None:
    policy = TokenPolicy(allow=frozenset({SOL.mint, BONK.mint}), deny=frozenset({BONK.mint}))
    assert policy.refusals([("tokenIn", SOL)]) == []
    (denied,) = policy.refusals([("tokenIn", SOL), ("tokenOut", BONK)])
    assert denied == ("tokenOut", f"tokenOut BONK ({BONK.mint}) is on this engine's deny list")
    (unlisted,) = policy.refusals([("tokenOut", Token.unlisted(MINT))])
    assert unlisted == ("tokenOut", f"tokenOut {MINT} is not on this engine's allow list")
    assert TokenPolicy(deny=frozenset({MINT})).refusals([("tokenOut", USDC)]) == []


# --- the notional window ----------------------------------------------------------------------


def test_the_window_counts_each_order_once_and_forgets_after_a_minute() -> None:
    window, cap = NotionalWindow(), 100 * MICRO_USD
    assert window.spend("a", 60 * MICRO_USD, cap, now_us=0) == NotionalDecision(
        True, 60 * MICRO_USD
    )
    assert window.spend("a", 60 * MICRO_USD, cap, now_us=1) == NotionalDecision(
        True, 60 * MICRO_USD, replayed=True
    )
    assert not window.spend("b", 41 * MICRO_USD, cap, now_us=2).allowed
    assert window.spend("b", 40 * MICRO_USD, cap, now_us=3).used == cap
    assert window.spend("c", 60 * MICRO_USD, cap, now_us=60_000_000).used == 100 * MICRO_USD
    assert window.total == 100 * MICRO_USD  # "a" left at exactly 60 s; "b" and "c" remain


def test_usd_rounds_up_to_the_micro_dollar() -> None:
    assert usd_to_micro(Decimal("1.0000001")) == 1_000_001
    assert micro_to_usd(1_500_000) == Decimal("1.5")


# --- what a swap costs the wallet ------------------------------------------------------------

BUDGET = ComputeBudget(unit_limit=100_000, unit_price=50_000)  # priority fee 5,000 lamports
FEES = LAMPORTS_PER_SIGNATURE + 5_000 + WALLET_RENT


def test_paying_sol_needs_the_amount_and_the_wsol_and_output_accounts_rent() -> None:
    assert lamports_needed(SOL, USDC, 10**9, BUDGET, set()) == (
        FEES + 10**9 + 2 * TOKEN_ACCOUNT_RENT
    )
    assert lamports_needed(SOL, USDC, 10**9, BUDGET, {USDC.mint}) == (
        FEES + 10**9 + TOKEN_ACCOUNT_RENT
    )


def test_paying_a_token_needs_only_fees_and_the_output_account() -> None:
    assert lamports_needed(USDC, SOL, 10**6, BUDGET, set()) == FEES + TOKEN_ACCOUNT_RENT
    assert lamports_needed(USDC, BONK, 10**6, BUDGET, {BONK.mint}) == FEES


def wallet(lamports: int, usdc: int | None = None) -> WalletBalances:
    tokens = () if usdc is None else (TokenBalance(USDC.mint, "usdc-ata", usdc, 6),)
    return WalletBalances(lamports, tokens)


ACCOUNTS = {SOL.mint: "wsol-ata", USDC.mint: "usdc-ata"}


def test_check_funds_names_the_token_that_is_short() -> None:
    check_funds(USDC, SOL, 5 * 10**6, BUDGET, wallet(10**9, usdc=5 * 10**6), ACCOUNTS)
    with pytest.raises(ExecutionError) as short:
        check_funds(USDC, SOL, 5 * 10**6, BUDGET, wallet(10**9, usdc=4_999_999), ACCOUNTS)
    assert (short.value.code, short.value.retryable) == ("INSUFFICIENT_BALANCE", False)
    assert "holds 4.999999 USDC" in short.value.message
    with pytest.raises(ExecutionError, match=r"holds 0\.000000 USDC"):
        check_funds(USDC, SOL, 1, BUDGET, wallet(10**9), ACCOUNTS)  # no account at all


def test_check_funds_asks_for_every_lamport_and_not_one_more() -> None:
    needed = lamports_needed(SOL, USDC, 10**9, BUDGET, {USDC.mint})
    check_funds(SOL, USDC, 10**9, BUDGET, wallet(needed, usdc=0), ACCOUNTS)
    with pytest.raises(ExecutionError, match="needs") as short:
        check_funds(SOL, USDC, 10**9, BUDGET, wallet(needed - 1, usdc=0), ACCOUNTS)
    assert short.value.code == "INSUFFICIENT_BALANCE"
    assert SOL.mint == WSOL_MINT


# --- valuing an order ------------------------------------------------------------------------


def order_of(token_in: str, token_out: str, amount: str) -> Order:
    order, _ = Order.accept(SubmitOrder.parse(token_in, token_out, amount, 50), "o", T0)
    return order


def routed(order: Order, amount_out: int) -> RoutingDecision:
    quote = Quote("raydium", order.amount_in, amount_out, 0, 25, Decimal(1), Decimal(10), "pool")
    return choose_best([quote], 50)


def test_an_order_is_valued_by_its_stablecoin_side() -> None:
    pays = order_of("USDC", "SOL", "250.5")
    assert usd_value(pays, routed(pays, 10**9), "cap") == Decimal("250.5")
    buys = order_of("SOL", "USDC", "1")
    assert usd_value(buys, routed(buys, 151_250_000), "cap") == Decimal("151.25")
    neither = order_of("SOL", "BONK", "1")
    with pytest.raises(ExecutionError) as unknown:
        usd_value(neither, routed(neither, 10**9), "a cap of 1 USD per key and minute")
    assert unknown.value.code == "NOTIONAL_UNKNOWN"
