"""Pre-trade limits the executor checks before anything is signed.

Notional values an order in USD from its stablecoin side: the input amount when it pays USDC or
USDT, else the quoted output when it buys one. An order with no stablecoin side cannot be
valued without a price feed, so under a notional cap (per order or per key and minute) it is
refused rather than guessed.

The balance check (`check_funds`) runs last, on the balances read while the swap was built: the
wallet must hold what the transaction the signer assembles will spend (see
`oee.adapters.chain.transactions`): the amount paid, the fee, the rent of the token accounts it
opens, and the wallet's own rent-exempt reserve.
"""

from __future__ import annotations

from decimal import Decimal

from oee.domain.errors import ExecutionError
from oee.domain.orders import Order
from oee.domain.ports import ComputeBudget, NotionalLimiter, WalletBalances
from oee.domain.risk import MINUTE_US, micro_to_usd, usd_to_micro, window_seconds
from oee.domain.routing import RoutingDecision
from oee.domain.tokens import LAMPORTS_PER_SOL, WSOL_MINT, Token

USD_STABLECOINS = frozenset({"USDC", "USDT"})
# What the chain charges and keeps, as on every Solana cluster today.
LAMPORTS_PER_SIGNATURE = 5_000
TOKEN_ACCOUNT_RENT = 2_039_280  # rent-exempt minimum of a 165-byte SPL token account
WALLET_RENT = 890_880  # rent-exempt minimum of a system account with no data (the wallet)


def usd_value(order: Order, decision: RoutingDecision, why: str) -> Decimal:
    """The order's value in USD by its stablecoin side.

    Raises:
        ExecutionError: NOTIONAL_UNKNOWN (not retryable) when neither side is a USD stablecoin;
            `why` names the cap that needs the value.
    """
    if order.token_in.symbol in USD_STABLECOINS:
        return order.token_in.from_base_units(order.amount_in)
    if order.token_out.symbol in USD_STABLECOINS:
        return order.token_out.from_base_units(decision.chosen.amount_out)
    raise ExecutionError(
        f"{why} is set and {order.token_in.symbol}/{order.token_out.symbol} has no USD "
        "stablecoin side to value it by",
        code="NOTIONAL_UNKNOWN",
        retryable=False,
    )


def check_notional(order: Order, decision: RoutingDecision, cap_usd: Decimal | None) -> None:
    """Raise unless the order's USD value is within `cap_usd` (no cap: nothing to check).

    Raises:
        ExecutionError: NOTIONAL_LIMIT_EXCEEDED, or NOTIONAL_UNKNOWN when neither side is a
            USD stablecoin; neither retryable.
    """
    if cap_usd is None:
        return
    usd = usd_value(order, decision, f"a notional cap of {cap_usd} USD")
    if usd > cap_usd:
        raise ExecutionError(
            f"the order is worth {usd:.2f} USD, above the {cap_usd} USD cap per order",
            code="NOTIONAL_LIMIT_EXCEEDED",
            retryable=False,
        )


def check_price_impact(order: Order, decision: RoutingDecision, default_bps: int | None) -> None:
    """Raise when the chosen quote moves the pool more than the order allows.

    The order's own `max_price_impact_bps` wins (it was checked against the engine's cap when
    accepted); else the engine's default; neither: nothing to check.

    Raises:
        ExecutionError: RISK_PRICE_IMPACT, not retryable.
    """
    ceiling = order.max_price_impact_bps if order.max_price_impact_bps is not None else default_bps
    if ceiling is None:
        return
    impact = decision.chosen.price_impact_bps
    if impact > ceiling:
        raise ExecutionError(
            f"the best route moves the price by {impact:.1f} bps, above the {ceiling} bps "
            "allowed; trade a smaller amount or raise maxPriceImpactBps",
            code="RISK_PRICE_IMPACT",
            retryable=False,
        )


async def check_notional_rate(
    order: Order,
    decision: RoutingDecision,
    cap_usd: Decimal | None,
    limiter: NotionalLimiter | None,
) -> None:
    """Count the order against its API key's USD of the last minute; raise past `cap_usd`.

    Counted by order id, so a re-run of the same order (a re-delivered job, a retry) passes
    again without counting twice. A refused order counts nothing.

    Raises:
        ExecutionError: RISK_NOTIONAL_RATE or NOTIONAL_UNKNOWN, neither retryable.
    """
    if cap_usd is None or limiter is None:
        return
    usd = usd_value(order, decision, f"a cap of {cap_usd} USD per key and minute")
    cap = usd_to_micro(cap_usd)
    decision_ = await limiter.spend(order.owner or "", order.id, usd_to_micro(usd), cap)
    if not decision_.allowed:
        who = f"key {order.owner!r}" if order.owner is not None else "this engine (open mode)"
        raise ExecutionError(
            f"{who} routed {micro_to_usd(decision_.used):.2f} USD in the last "
            f"{window_seconds(MINUTE_US)} s; this order's {usd:.2f} USD would pass the cap of "
            f"{cap_usd} USD per minute: try again later or trade less",
            code="RISK_NOTIONAL_RATE",
            retryable=False,
        )


def lamports_needed(
    token_in: Token,
    token_out: Token,
    amount_in: int,
    budget: ComputeBudget,
    has_account: set[str],
) -> int:
    """The SOL (lamports) a swap transaction needs in the wallet before it is sent.

    Mirrors what `SwapTransactionBuilder` assembles: the base fee of one signature and the
    priority fee; paying SOL, the amount itself plus the wSOL account's rent while it wraps
    (returned when it closes); the rent of the output's token account when it does not exist
    yet (wSOL's too when receiving SOL, returned when it closes); and the wallet's own
    rent-exempt reserve, which the runtime will not let a transaction dip into.

    Args:
        has_account: Mints whose associated token account the wallet already has.
    """
    priority = -(-budget.unit_price * budget.unit_limit // 1_000_000)
    needed = LAMPORTS_PER_SIGNATURE + priority + WALLET_RENT
    if token_in.mint == WSOL_MINT:
        needed += amount_in + (0 if WSOL_MINT in has_account else TOKEN_ACCOUNT_RENT)
    if token_out.mint not in has_account:
        needed += TOKEN_ACCOUNT_RENT
    return needed


def check_funds(
    token_in: Token,
    token_out: Token,
    amount_in: int,
    budget: ComputeBudget,
    balances: WalletBalances,
    accounts: dict[str, str],
) -> None:
    """Raise unless the wallet can pay the swap (see `lamports_needed`), before it is signed.

    Args:
        accounts: The wallet's associated token account of each side's mint.

    Raises:
        ExecutionError: INSUFFICIENT_BALANCE, not retryable: nothing was signed, no fee paid.
    """
    held = {t.account: t.amount for t in balances.tokens}
    has_account = {mint for mint, account in accounts.items() if account in held}
    if token_in.mint != WSOL_MINT:
        have = held.get(accounts[token_in.mint], 0)
        if have < amount_in:
            raise ExecutionError(
                f"the wallet holds {token_in.from_base_units(have)} {token_in.symbol}; this "
                f"order pays {token_in.from_base_units(amount_in)}",
                code="INSUFFICIENT_BALANCE",
                retryable=False,
            )
    needed = lamports_needed(token_in, token_out, amount_in, budget, has_account)
    if balances.lamports < needed:
        sol = Decimal(LAMPORTS_PER_SOL)
        raise ExecutionError(
            f"the wallet holds {Decimal(balances.lamports) / sol} SOL; this swap needs "
            f"{Decimal(needed) / sol} SOL (amount, fees, token-account rent and the wallet's "
            "rent-exempt reserve)",
            code="INSUFFICIENT_BALANCE",
            retryable=False,
        )
