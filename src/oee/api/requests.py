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
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from solders.pubkey import Pubkey

from oee.api.errors import ApiError
from oee.domain.errors import InvalidOrder
from oee.domain.orders import DEFAULT_PRICE_IMPACT_CAP_BPS, OrderTerms, OrderType, SubmitOrder
from oee.domain.tokens import MAINNET_TOKENS, Registry

DEFAULT_SLIPPAGE_BPS = 50

# An amount written as a string: ASCII digits, optionally a point and more digits. No sign,
# no spaces, no exponent, no other script's digits ("١٢" is 12 to Python's Decimal and \d):
# a string amount is what a person typed, so it must read the same to everyone.
AMOUNT_STRING_PATTERN = r"^[0-9]+(\.[0-9]+)?$"  # also the OpenAPI schema's pattern
_AMOUNT_STRING = re.compile(AMOUNT_STRING_PATTERN, re.ASCII)
# A query parameter's integer (slippageBps): ASCII digits, a minus sign allowed so that "-5"
# reaches the range check and says so; "50.0" is not an integer in a query.
_QUERY_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
# A limit price written as a string: an amount string that is not zero ("0", "0.00").
LIMIT_PRICE_STRING_PATTERN = r"^(0*[1-9][0-9]*(\.[0-9]+)?|0+\.[0-9]*[1-9][0-9]*)$"  # and schema's
_LIMIT_PRICE_STRING = re.compile(LIMIT_PRICE_STRING_PATTERN, re.ASCII)
# A limit price above this can never be met (no u64 amount pays it) and would only overflow
# the arithmetic that compares quotes with it.
LIMIT_PRICE_MAX = Decimal(10) ** 30
# An expiry: an RFC 3339 date-time, which must carry its offset (or Z); the schema's pattern.
EXPIRES_AT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_EXPIRES_AT = re.compile(EXPIRES_AT_PATTERN, re.ASCII)
# The body field a domain code is about (UNKNOWN_TOKEN, FIELD_NOT_FOR_TYPE and the expiry
# codes are worked out from the body in `_fields_of`; amount codes default to amountIn).
_FIELD_OF_CODE = {
    "SAME_TOKEN": "tokenOut",
    "SLIPPAGE_OUT_OF_RANGE": "slippageBps",
    "UNSUPPORTED_ORDER_TYPE": "type",
    "LIMIT_PRICE_REQUIRED": "limitPrice",
    "LIMIT_PRICE_INVALID": "limitPrice",
    "EXPIRY_INVALID": "expiresAt",
    "UNKNOWN_VENUE": "venues",
    "PRICE_IMPACT_OUT_OF_RANGE": "maxPriceImpactBps",
    "INVALID_MINT": "tokenOut",
    "SNIPER_TOKEN_IN": "tokenIn",
}
# Every field POST /api/orders/execute reads; anything else is refused, so a misspelt field
# (or one from a newer client) can never be ignored while the order executes anyway.
# `orderType` is the older name of `type`.
EXECUTE_FIELDS = (
    "tokenIn",
    "tokenOut",
    "amountIn",
    "slippageBps",
    "type",
    "orderType",
    "limitPrice",
    "expiresAt",
    "ttlSeconds",
    "venues",
    "maxPriceImpactBps",
)
_TERMS_FIELDS = ("limitPrice", "expiresAt", "ttlSeconds", "venues", "maxPriceImpactBps")


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
        found = self.optional_integer(field)
        return default if found is None else found

    def optional_integer(self, field: str) -> int | None:
        if field not in self.body:
            return None
        value = self.body[field]
        # Booleans are not numbers, and 50.0 is the integer 50 whatever the client's encoder did.
        if (
            not isinstance(value, Decimal)
            or not value.is_finite()
            or value != value.to_integral_value()
        ):
            self.fail(field, f"{field} must be an integer")
            return None
        # Far outside any range: don't build a million-digit int just to reject it.
        return int(value) if value.adjusted() < 12 else int(value.copy_sign(Decimal(10) ** 12))

    def optional_string(self, field: str) -> str | None:
        if field not in self.body:
            return None
        value = self.body[field]
        if not isinstance(value, str):
            self.fail(field, f"{field} must be a string" + (", not null" if value is None else ""))
            return None
        return value

    def limit_price(self, field: str) -> Decimal | None:
        """A positive price as a JSON number or a decimal string (the domain checks the rest)."""
        if field not in self.body:
            return None
        value = self.body[field]
        if isinstance(value, str):
            if _LIMIT_PRICE_STRING.fullmatch(value):
                value = Decimal(value)
            else:
                self._price_broken(
                    field,
                    f"{field} {value[:40]!r} is not a positive decimal number: write ASCII digits "
                    'with an optional point, no sign, spaces or exponent (e.g. "160.5")',
                )
                return None
        if not isinstance(value, Decimal):
            self.fail(field, f"{field} must be a number or a decimal string")
            return None
        if value.is_finite() and value > LIMIT_PRICE_MAX:
            self._price_broken(field, f"{field} must be at most 1e30")
            return None
        return value  # zero, negative and non-finite: the domain's LIMIT_PRICE_INVALID

    def _price_broken(self, field: str, message: str) -> None:
        detail = [{"field": field, "message": message}]
        self.rule_broken = self.rule_broken or ApiError(422, "LIMIT_PRICE_INVALID", message, detail)

    def expiry(self, field: str) -> datetime | None:
        """An RFC 3339 date-time with its offset (`EXPIRES_AT_PATTERN`)."""
        text = self.optional_string(field)
        if text is None:
            return None
        try:
            if not _EXPIRES_AT.fullmatch(text):
                raise ValueError(text)
            return datetime.fromisoformat(text)
        except ValueError:
            message = (
                f"{field} {text[:40]!r} is not an ISO-8601 date-time with a time zone offset "
                "(e.g. 2026-12-04T18:00:00Z)"
            )
            detail = [{"field": field, "message": message}]
            self.rule_broken = self.rule_broken or ApiError(422, "EXPIRY_INVALID", message, detail)
            return None

    def names(self, field: str) -> tuple[str, ...] | None:
        if field not in self.body:
            return None
        value = self.body[field]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(field, f"{field} must be an array of strings")
            return None
        return tuple(value)


def is_mint(text: str) -> bool:
    """Whether `text` is a mint address as it is written: base58 of 32 bytes, canonical."""
    if not 32 <= len(text) <= 44:
        return False
    try:
        return str(Pubkey.from_string(text)) == text
    except ValueError:
        return False


def parse_execute(
    raw: bytes,
    registry: Registry = MAINNET_TOKENS,
    *,
    now: datetime | None = None,
    price_impact_cap_bps: int = DEFAULT_PRICE_IMPACT_CAP_BPS,
) -> SubmitOrder:
    """Turn the body of `POST /api/orders/execute` into a validated command.

    Args:
        raw: The request body.
        registry: The tokens this cluster trades.
        now: The engine clock's reading that an expiry counts from (default: the wall clock).
        price_impact_cap_bps: The most `maxPriceImpactBps` an order may ask for.

    Raises:
        ApiError: 400 for a body that is not a JSON object, 422 `VALIDATION_ERROR` for missing,
            mistyped or unknown fields (and `type` and `orderType` that disagree), or 422 with
            the domain's code (`UNKNOWN_TOKEN`, `UNSUPPORTED_ORDER_TYPE`, `LIMIT_PRICE_INVALID`,
            `EXPIRY_IN_PAST`, ...) for a rule the order breaks, naming the field at fault.
    """
    body = loads_exact(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    fields = _Fields(body)
    fields.unknown(EXECUTE_FIELDS)
    token_in, token_out = fields.string("tokenIn"), fields.string("tokenOut")
    amount = fields.amount("amountIn")
    slippage = fields.integer("slippageBps", DEFAULT_SLIPPAGE_BPS)
    order_type = _order_type(fields)
    terms = OrderTerms(
        type=order_type,
        limit_price=fields.limit_price("limitPrice"),
        expires_at=fields.expiry("expiresAt"),
        ttl_seconds=fields.optional_integer("ttlSeconds"),
        venues=fields.names("venues"),
        max_price_impact_bps=fields.optional_integer("maxPriceImpactBps"),
    )
    if fields.errors:
        message = "; ".join(e["message"] for e in fields.errors)
        raise ApiError(422, "VALIDATION_ERROR", message, fields.errors)
    if fields.rule_broken is not None:
        raise fields.rule_broken
    return _command(
        token_in,
        token_out,
        amount,
        slippage,
        registry,
        terms,
        body=body,
        now=now or datetime.now(UTC),
        price_impact_cap_bps=price_impact_cap_bps,
    )


def _order_type(fields: _Fields) -> str:
    """`type`, or its older name `orderType`; both may be given only if they agree."""
    new, old = fields.optional_string("type"), fields.optional_string("orderType")
    if new is not None and old is not None and new.lower() != old.lower():
        fields.fail(
            "orderType",
            f"orderType {old[:40]!r} contradicts type {new[:40]!r}; send type alone "
            "(orderType is its older name)",
        )
    if new is not None:
        return new
    return old if old is not None else OrderType.MARKET.value


def parse_cancel(raw: bytes) -> None:
    """Check the body of `POST /api/orders/{id}/cancel`: none, or an empty JSON object.

    Raises:
        ApiError: 400 `MALFORMED_JSON` or `BODY_NOT_OBJECT`, 422 `VALIDATION_ERROR` for any
            field (a cancel takes none: a field it would ignore is refused, as on execute).
    """
    if not raw.strip():
        return
    body = loads_exact(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "BODY_NOT_OBJECT", "the request body must be a JSON object")
    if body:
        errors = [
            {"field": name[:40], "message": f"unknown field {name[:40]!r}; a cancel takes no body"}
            for name in body
        ]
        raise ApiError(422, "VALIDATION_ERROR", "; ".join(e["message"] for e in errors), errors)


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
    token_in: str,
    token_out: str,
    amount: Decimal,
    slippage: int,
    registry: Registry,
    terms: OrderTerms | None = None,
    *,
    body: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    price_impact_cap_bps: int = DEFAULT_PRICE_IMPACT_CAP_BPS,
) -> SubmitOrder:
    try:
        cmd = SubmitOrder.parse(
            token_in,
            token_out,
            amount,
            slippage,
            registry,
            terms,
            now=now,
            is_mint=is_mint,
            price_impact_cap_bps=price_impact_cap_bps,
        )
    except InvalidOrder as exc:
        errors = _fields_of(exc, token_in, registry, body or {})
        raise ApiError(422, exc.code, exc.message, errors) from None
    if cmd.amount_in <= 0:  # an exponent so small that Decimal underflowed to zero units
        message = f"{cmd.token_in.symbol} has {cmd.token_in.decimals} decimals; amountIn is finer than that"
        raise ApiError(
            422, "AMOUNT_TOO_PRECISE", message, [{"field": "amountIn", "message": message}]
        )
    return cmd


def _fields_of(
    exc: InvalidOrder, token_in: str, registry: Registry, body: Mapping[str, Any]
) -> list[dict[str, str]]:
    """The `errors` entries of a domain refusal: the body field (or fields) it is about."""
    code = exc.code
    fields = [_FIELD_OF_CODE.get(code, "amountIn")]
    if code == "UNSUPPORTED_ORDER_TYPE" and "type" not in body:
        fields = ["orderType"]
    elif code == "UNKNOWN_TOKEN":
        try:
            registry.resolve(token_in)
            fields = ["tokenOut"]
        except InvalidOrder:
            fields = ["tokenIn"]
    elif code == "FIELD_NOT_FOR_TYPE":
        # The domain names the field first ("limitPrice does not apply to a market order").
        named = exc.message.split(" ", 1)[0]
        fields = [named if named in _TERMS_FIELDS else "type"]
    elif code == "EXPIRY_CONFLICT":
        fields = ["expiresAt", "ttlSeconds"]
    elif code in ("EXPIRY_IN_PAST", "EXPIRY_TOO_FAR"):
        fields = ["ttlSeconds" if "ttlSeconds" in body else "expiresAt"]
    return [{"field": field, "message": exc.message} for field in fields]
