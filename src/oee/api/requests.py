"""Request parsing: an execute body or a quote query, read exactly into a `SubmitOrder`.

Requests are read with `json.loads(parse_float=Decimal)` rather than a Pydantic body model so
that `1.1` stays 1.1 on its way to base units, `NaN` is an amount error rather than a float, and
every refusal carries the machine code the contract names. The Pydantic models in
`oee.api.openapi` only document these shapes in OpenAPI; a unit test keeps them in step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from oee.api.errors import ApiError
from oee.domain.errors import InvalidOrder
from oee.domain.orders import OrderType, SubmitOrder
from oee.domain.tokens import MAINNET_TOKENS, Registry

DEFAULT_SLIPPAGE_BPS = 50

# An amount written as a string: ASCII digits, optionally a point and more digits. No sign,
# no spaces, no exponent, no other script's digits ("١٢" is 12 to Python's Decimal and \d):
# a string amount is what a person typed, so it must read the same to everyone.
AMOUNT_STRING_PATTERN = r"^[0-9]+(\.[0-9]+)?$"  # also the OpenAPI schema's pattern
_AMOUNT_STRING = re.compile(AMOUNT_STRING_PATTERN, re.ASCII)
# A query parameter's number (slippageBps): the same, signed digits allowed so that "-5"
# reaches the range check and says so.
_QUERY_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_FIELD_OF_CODE = {"SAME_TOKEN": "tokenOut", "SLIPPAGE_OUT_OF_RANGE": "slippageBps"}
# Every field POST /api/orders/execute reads; anything else is refused, so a misspelt field
# (or one from a newer client) can never be ignored while the order executes anyway.
EXECUTE_FIELDS = ("tokenIn", "tokenOut", "amountIn", "slippageBps", "orderType")


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

    def unknown(self, allowed: tuple[str, ...]) -> None:
        for field in self.body:
            if field not in allowed:
                shown = field if len(field) <= 40 else field[:37] + "..."
                self.fail(shown, f"unknown field {shown!r}; the fields are {', '.join(allowed)}")

    def string(self, field: str, default: str | None = None) -> str:
        if field not in self.body and default is not None:
            return default
        value = self.body.get(field)
        if value is None and field in self.body:
            self.fail(field, f"{field} must be a string, not null")
        elif value is None:
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
            if _AMOUNT_STRING.fullmatch(value):
                return Decimal(value)
            message = (
                f"{field} {value[:40]!r} is not a decimal number: write ASCII digits with an "
                'optional point, no sign, spaces or exponent (e.g. "1.5")'
            )
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
        if field not in self.body:
            return default
        value = self.body[field]
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


def parse_execute(raw: bytes, registry: Registry = MAINNET_TOKENS) -> SubmitOrder:
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
    fields.unknown(EXECUTE_FIELDS)
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
    return _command(token_in, token_out, amount, slippage, registry)


def parse_quote_query(
    params: Mapping[str, str], registry: Registry = MAINNET_TOKENS
) -> SubmitOrder:
    """Turn the query of `GET /api/quotes` into a validated command, with execute's codes.

    Raises:
        ApiError: 422 `VALIDATION_ERROR` naming missing or mistyped parameters, or 422 with the
            domain's code (`UNKNOWN_TOKEN`, `AMOUNT_NOT_NUMBER`, ...) for a rule the swap breaks.
    """
    body: dict[str, Any] = {
        k: params[k] for k in ("tokenIn", "tokenOut", "amountIn") if k in params
    }
    if "slippageBps" in params:
        text = params["slippageBps"]
        body["slippageBps"] = Decimal(text) if _QUERY_NUMBER.fullmatch(text) else text
    fields = _Fields(body)
    token_in, token_out = fields.string("tokenIn"), fields.string("tokenOut")
    amount = fields.amount("amountIn")
    slippage = fields.integer("slippageBps", DEFAULT_SLIPPAGE_BPS)
    if fields.errors:
        message = "; ".join(e["message"] for e in fields.errors)
        raise ApiError(422, "VALIDATION_ERROR", message, fields.errors)
    if fields.rule_broken is not None:
        raise fields.rule_broken
    return _command(token_in, token_out, amount, slippage, registry)


def _command(
    token_in: str, token_out: str, amount: Decimal, slippage: int, registry: Registry
) -> SubmitOrder:
    try:
        cmd = SubmitOrder.parse(token_in, token_out, amount, slippage, registry)
    except InvalidOrder as exc:
        raise ApiError(422, exc.code, exc.message, [_field_of(exc, token_in, registry)]) from None
    if cmd.amount_in <= 0:  # an exponent so small that Decimal underflowed to zero units
        message = f"{cmd.token_in.symbol} has {cmd.token_in.decimals} decimals; amountIn is finer than that"
        raise ApiError(
            422, "AMOUNT_TOO_PRECISE", message, [{"field": "amountIn", "message": message}]
        )
    return cmd


def _field_of(exc: InvalidOrder, token_in: str, registry: Registry) -> dict[str, str]:
    field = _FIELD_OF_CODE.get(exc.code, "amountIn")
    if exc.code == "UNKNOWN_TOKEN":
        try:
            registry.resolve(token_in)
            field = "tokenOut"
        except InvalidOrder:
            field = "tokenIn"
    return {"field": field, "message": exc.message}
