"""Pre-trade limits the executor checks before anything is signed.

The notional cap (required on mainnet-beta) values an order in USD from its stablecoin side:
the input amount when it pays USDC or USDT, else the quoted output when it buys one. An order
with no stablecoin side cannot be valued without a price feed, so under a cap it is refused
rather than guessed.
"""

from __future__ import annotations

from decimal import Decimal

from oee.domain.errors import ExecutionError
from oee.domain.orders import Order
from oee.domain.routing import RoutingDecision

USD_STABLECOINS = frozenset({"USDC", "USDT"})


def check_notional(order: Order, decision: RoutingDecision, cap_usd: Decimal | None) -> None:
    """Raise unless the order's USD value is within `cap_usd` (no cap: nothing to check).

    Raises:
        ExecutionError: NOTIONAL_LIMIT_EXCEEDED, or NOTIONAL_UNKNOWN when neither side is a
            USD stablecoin; neither retryable.
    """
    if cap_usd is None:
        return
    if order.token_in.symbol in USD_STABLECOINS:
        usd = order.token_in.from_base_units(order.amount_in)
    elif order.token_out.symbol in USD_STABLECOINS:
        usd = order.token_out.from_base_units(decision.chosen.amount_out)
    else:
        raise ExecutionError(
            f"a notional cap of {cap_usd} USD is set and {order.token_in.symbol}/"
            f"{order.token_out.symbol} has no USD stablecoin side to value it by",
            code="NOTIONAL_UNKNOWN",
            retryable=False,
        )
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
