"""The wire formats: parsing an execute request exactly, and the one view of an order.

Requests are read with `json.loads(parse_float=Decimal)` rather than a Pydantic body model so
that `1.1` stays 1.1 on its way to base units, `NaN` is an amount error rather than a float, and
every refusal carries the machine code the contract names. The Pydantic models in
`oee.api.models` only document these shapes in OpenAPI; a unit test keeps them in step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from oee.api.errors import ApiError
from oee.domain.errors import ExecutionError, InvalidOrder
from oee.domain.events import JSON
from oee.domain.orders import Order, OrderType, SignedSwap, SubmitOrder
from oee.domain.routing import Quote, RoutingDecision
from oee.domain.tokens import Token, resolve_token

DEFAULT_SLIPPAGE_BPS = 50

# A plain decimal literal; Decimal() alone would also take "1_000" and other surprises.
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_FIELD_OF_CODE = {"SAME_TOKEN": "tokenOut", "SLIPPAGE_OUT_OF_RANGE": "slippageBps"}


def _exact_float(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        # An exponent beyond Decimal's range: keep the sign of the exponent so the amount
        # check says "too large" or "too precise" instead of failing the whole body.
        return Decimal("1e-999999") if "e-" in text.lower() else Decimal("1e999999")


def loads_exact(raw: bytes) -> Any:
    """Decode a JSON document with every number as an exact `Decimal`.

    Raises:
        ApiError: 400 `MALFORMED_JSON` for an empty, undecodable or too deeply nested body.
    """
    if not raw.strip():
        raise ApiError(400, "MALFORMED_JSON", "the request body is empty; send a JSON object")
    try:
        return json.loads(raw, parse_float=_exact_float, parse_int=Decimal, parse_constant=Decimal)
    except UnicodeDecodeError:
        raise ApiError(400, "MALFORMED_JSON", "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        message = (
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
        raise ApiError(400, "MALFORMED_JSON", message) from None
    except RecursionError:
        raise ApiError(400, "MALFORMED_JSON", "the request body is nested too deeply") from None


class _Fields:
    """Collects every structural problem of a body so one answer names them all."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.errors: list[dict[str, str]] = []
        self.rule_broken: ApiError | None = None  # reported only if the shape is right

    def fail(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def string(self, field: str, default: str | None = None) -> str:
        value = self.body.get(field)
        if value is None and default is not None:
            return default
        if value is None:
            self.fail(field, f"{field} is required")
        elif not isinstance(value, str):
            self.fail(field, f"{field} must be a string")
        else:
            return value
        return ""

    def amount(self, field: str) -> Decimal:
        value = self.body.get(field)
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            text = value.strip()
            if _DECIMAL.fullmatch(text) or _NON_FINITE.fullmatch(text):
                return _exact_float(text)
            message = f"{field} {value[:40]!r} is not a decimal number"
            detail = [{"field": field, "message": message}]
            self.rule_broken = ApiError(422, "AMOUNT_NOT_NUMBER", message, detail)
            return Decimal(1)
        self.fail(
            field,
            f"{field} is required"
            if value is None
            else f"{field} must be a number or a decimal string",
        )
        return Decimal(1)

    def integer(self, field: str, default: int) -> int:
        value = self.body.get(field)
        if value is None:
            return default
        # Booleans are not numbers, and 50.0 is the integer 50 whatever the client's encoder did.
        if (
            not isinstance(value, Decimal)
            or not value.is_finite()
            or value != value.to_integral_value()
        ):
            self.fail(field, f"{field} must be an integer")
            return default
        # Far outside any range: don't build a million-digit int just to reject it.
        return int(value) if value.adjusted() < 12 else int(value.copy_sign(Decimal(10) ** 12))


def parse_execute(raw: bytes) -> SubmitOrder:
    """Turn the body of `POST /api/orders/execute` into a validated command.

    Raises:
        ApiError: 400 for a body that is not a JSON object, 422 `VALIDATION_ERROR` for missing
            or mistyped fields, 422 `UNSUPPORTED_ORDER_TYPE`, or 422 with the domain's code
            (`UNKNOWN_TOKEN`, `AMOUNT_NOT_FINITE`, ...) for a rule the order breaks.
    """
    body = loads_exact(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    fields = _Fields(body)
    token_in, token_out = fields.string("tokenIn"), fields.string("tokenOut")
    amount = fields.amount("amountIn")
    slippage = fields.integer("slippageBps", DEFAULT_SLIPPAGE_BPS)
    order_type = fields.string("orderType", default=OrderType.MARKET.value)
    if fields.errors:
        message = "; ".join(e["message"] for e in fields.errors)
        raise ApiError(422, "VALIDATION_ERROR", message, fields.errors)
    if fields.rule_broken is not None:
        raise fields.rule_broken
    if order_type.lower() != OrderType.MARKET.value:
        raise ApiError(
            422,
            "UNSUPPORTED_ORDER_TYPE",
            f"orderType {order_type[:40]!r} is not supported; supported: market",
            [{"field": "orderType", "message": "supported: market"}],
        )
    return _command(token_in, token_out, amount, slippage)


def parse_quote_query(params: Mapping[str, str]) -> SubmitOrder:
    """Turn the query of `GET /api/quotes` into a validated command, with execute's codes.

    Raises:
        ApiError: 422 `VALIDATION_ERROR` naming missing or mistyped parameters, or 422 with the
            domain's code (`UNKNOWN_TOKEN`, `AMOUNT_NOT_NUMBER`, ...) for a rule the swap breaks.
    """
    body: dict[str, Any] = {
        k: params[k] for k in ("tokenIn", "tokenOut", "amountIn") if k in params
    }
    if "slippageBps" in params:
        text = params["slippageBps"].strip()
        body["slippageBps"] = _exact_float(text) if _DECIMAL.fullmatch(text) else text
    fields = _Fields(body)
    token_in, token_out = fields.string("tokenIn"), fields.string("tokenOut")
    amount = fields.amount("amountIn")
    slippage = fields.integer("slippageBps", DEFAULT_SLIPPAGE_BPS)
    if fields.errors:
        message = "; ".join(e["message"] for e in fields.errors)
        raise ApiError(422, "VALIDATION_ERROR", message, fields.errors)
    if fields.rule_broken is not None:
        raise fields.rule_broken
    return _command(token_in, token_out, amount, slippage)


def _command(token_in: str, token_out: str, amount: Decimal, slippage: int) -> SubmitOrder:
    try:
        cmd = SubmitOrder.parse(token_in, token_out, amount, slippage)
    except InvalidOrder as exc:
        raise ApiError(422, exc.code, exc.message, [_field_of(exc, token_in)]) from None
    if cmd.amount_in <= 0:  # an exponent so small that Decimal underflowed to zero units
        message = f"{cmd.token_in.symbol} has {cmd.token_in.decimals} decimals; amountIn is finer than that"
        raise ApiError(
            422, "AMOUNT_TOO_PRECISE", message, [{"field": "amountIn", "message": message}]
        )
    return cmd


def _field_of(exc: InvalidOrder, token_in: str) -> dict[str, str]:
    field = _FIELD_OF_CODE.get(exc.code, "amountIn")
    if exc.code == "UNKNOWN_TOKEN":
        try:
            resolve_token(token_in)
            field = "tokenOut"
        except InvalidOrder:
            field = "tokenIn"
    return {"field": field, "message": exc.message}


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
