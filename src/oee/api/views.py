"""Response views: the one view of an order, and the answer of `GET /api/quotes`.

Built by hand from the domain objects, for exactness and speed (whole-token amounts as JSON
numbers with exact base-unit strings beside them). The Pydantic models in `oee.api.openapi`
document these shapes in OpenAPI; a unit test checks `order_view` against `OrderView`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from oee.domain.errors import ExecutionError
from oee.domain.events import JSON
from oee.domain.orders import Order, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, RoutingDecision
from oee.domain.tokens import Token


def _num(value: Decimal) -> JSON:
    # Whole-token amounts and prices go out as JSON numbers (the seed's shape); exact
    # base-unit strings sit beside them for clients that must not round.
    return (
        int(value) if value == value.to_integral_value() and value.adjusted() < 15 else float(value)
    )


def _token(token: Token) -> dict[str, JSON]:
    return {"symbol": token.symbol, "mint": token.mint, "decimals": token.decimals}


def order_view(order: Order) -> dict[str, JSON]:
    """Everything persisted about an order, as `GET /api/orders/{id}` and snapshots show it."""
    t_in, t_out = order.token_in, order.token_out
    decision, tx, fill = order.decision, order.tx, order.fill
    result = _result(order)
    return {
        "orderId": order.id,
        "type": order.type.value,
        "status": order.status.value,
        "tokenIn": _token(t_in),
        "tokenOut": _token(t_out),
        "amountIn": _num(t_in.from_base_units(order.amount_in)),
        "amountInBaseUnits": str(order.amount_in),
        "slippageBps": order.slippage_bps,
        "seq": order.seq,
        "attempt": order.attempt,
        "createdAt": order.created_at.isoformat(),
        "updatedAt": order.updated_at.isoformat(),
        "quotes": [_quote(q, t_in, t_out) for q in (decision.quotes if decision else ())],
        "routing": _routing(decision, t_out) if decision else None,
        "transaction": _transaction(tx, t_out) if tx else None,
        "result": result,
        "error": order.error,
        "reason": order.reason,
        "attempts": list(order.attempts),
        "txHash": fill.tx_hash if fill else (tx.signature if tx else None),
        "executedPrice": result["executedPrice"] if result else None,
        "chosenDex": fill.venue if fill else (decision.chosen.venue if decision else None),
        # Limit and sniper orders: what they wait for, and what fired them (null until then).
        "trigger": order.trigger.to_dict() if order.trigger else None,
        "triggeredBy": order.fired.to_dict() if order.fired else None,
        "maxPriceImpactBps": order.max_price_impact_bps,
    }


def quotes_view(
    cmd: SubmitOrder,
    quotes: list[Quote],
    errors: Mapping[str, ExecutionError],
    decision: RoutingDecision,
) -> dict[str, JSON]:
    """The answer of `GET /api/quotes`: quotes and routing in the order view's shapes."""
    t_in, t_out = cmd.token_in, cmd.token_out
    return {
        "tokenIn": _token(t_in),
        "tokenOut": _token(t_out),
        "amountIn": _num(t_in.from_base_units(cmd.amount_in)),
        "amountInBaseUnits": str(cmd.amount_in),
        "slippageBps": cmd.slippage_bps,
        "quotes": [_quote(q, t_in, t_out) for q in quotes],
        "errors": {v: {"code": e.code, "message": e.message} for v, e in errors.items()},
        "routing": _routing(decision, t_out),
    }


def _quote(q: Quote, t_in: Token, t_out: Token) -> dict[str, JSON]:
    return {
        "venue": q.venue,
        "amountOut": _num(t_out.from_base_units(q.amount_out)),
        "amountOutBaseUnits": str(q.amount_out),
        "price": _num(q.price),
        "priceImpactBps": _num(q.price_impact_bps),
        "fee": _num(t_in.from_base_units(q.fee)),
        "feeBaseUnits": str(q.fee),
        "feeBps": q.fee_bps,
        "pool": q.pool,
    }


def _routing(decision: RoutingDecision, t_out: Token) -> dict[str, JSON]:
    return {
        "chosenDex": decision.chosen.venue,
        "marginBps": _num(decision.margin_bps),
        "minAmountOut": _num(t_out.from_base_units(decision.min_amount_out)),
        "minAmountOutBaseUnits": str(decision.min_amount_out),
    }


def _transaction(tx: SignedSwap, t_out: Token) -> dict[str, JSON]:
    return {
        "txHash": tx.signature,
        "venue": tx.venue,
        "lastValidBlockHeight": tx.last_valid_block_height,
        "computeUnitPrice": tx.compute_unit_price,
        "computeUnitLimit": tx.compute_unit_limit,
        "minAmountOut": _num(t_out.from_base_units(tx.min_amount_out)),
        "minAmountOutBaseUnits": str(tx.min_amount_out),
    }


def _result(order: Order) -> dict[str, JSON] | None:
    fill = order.fill
    if fill is None:
        return None
    return {
        "txHash": fill.tx_hash,
        "executedPrice": _num(fill.executed_price),
        "amountOut": _num(order.token_out.from_base_units(fill.amount_out)),
        "amountOutBaseUnits": str(fill.amount_out),
        "chosenDex": fill.venue,
        "feeLamports": fill.fee_lamports,
    }
