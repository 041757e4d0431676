"""Orders and events to table rows and back, as pure functions.

Every integer amount is written as decimal text and every `Decimal` as `str(Decimal)`, so
u64 base units and prices survive JSON (and JavaScript readers) exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from oee.domain.errors import InvalidOrder
from oee.domain.events import JSON, OrderEvent
from oee.domain.orders import Fill, Order, OrderType, SignedSwap
from oee.domain.routing import RoutingDecision
from oee.domain.status import OrderStatus
from oee.domain.tokens import MAINNET_TOKENS, Registry, Token
from oee.domain.triggers import Firing, Trigger

# What `save` rewrites; id, type, tokens, amount, slippage, created_at and owner never change.
MUTABLE_COLUMNS = (
    "status",
    "seq",
    "attempt",
    "updated_at",
    "decision",
    "tx",
    "fill",
    "attempts",
    "error",
    "reason",
    "tx_hash",
    "fired",
    "watcher",
)


def json_text(value: Any) -> str:
    """The JSON columns' serializer: orjson's compact text, which reads back as the same
    values as the standard library's (every amount and price is a string, see above) for
    about a tenth of the CPU; a value orjson refuses (an int past 64 bits, a key that is not
    a string) gets the standard library's text, as before."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def order_to_row(order: Order) -> dict[str, Any]:
    """Every column of the order's `orders` row."""
    return {
        "id": order.id,
        "type": order.type.value,
        "token_in": order.token_in.symbol,
        "token_out": order.token_out.symbol,
        "amount_in": str(order.amount_in),
        "slippage_bps": order.slippage_bps,
        "created_at": order.created_at,
        "owner": order.owner,
        "trigger": order.trigger.to_dict() if order.trigger else None,
        "expires_at": order.trigger.expires_at if order.trigger else None,
        "max_price_impact_bps": order.max_price_impact_bps,
        **order_changes(order),
    }


def order_changes(order: Order) -> dict[str, Any]:
    """The columns in `MUTABLE_COLUMNS`, as `save` writes them."""
    tx_hash = order.fill.tx_hash if order.fill else order.tx.signature if order.tx else None
    return {
        "status": order.status.value,
        "seq": order.seq,
        "attempt": order.attempt,
        "updated_at": order.updated_at,
        "decision": order.decision.to_dict() if order.decision else None,
        "tx": _tx_to_dict(order.tx) if order.tx else None,
        "fill": _fill_to_dict(order.fill) if order.fill else None,
        "attempts": order.attempts,
        "error": order.error,
        "reason": order.reason,
        "tx_hash": tx_hash,
        "fired": order.fired.to_dict() if order.fired else None,
        # Every move lets go of the watcher's hold: an order armed (again) waits to be claimed.
        "watcher": None,
    }


def order_from_row(row: Mapping[Any, Any], registry: Registry = MAINNET_TOKENS) -> Order:
    """Rebuild the order from its `orders` row."""
    decision, tx, fill = row["decision"], row["tx"], row["fill"]
    trigger, fired = row["trigger"], row["fired"]
    firing = Firing.from_dict(fired) if fired is not None else None
    return Order(
        id=row["id"],
        type=OrderType(row["type"]),
        token_in=registry.resolve(row["token_in"]),
        token_out=_token(row["token_out"], registry, firing),
        amount_in=int(row["amount_in"]),
        slippage_bps=row["slippage_bps"],
        status=OrderStatus(row["status"]),
        seq=row["seq"],
        attempt=row["attempt"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        decision=RoutingDecision.from_dict(decision) if decision is not None else None,
        tx=_tx_from_dict(tx) if tx is not None else None,
        fill=_fill_from_dict(fill) if fill is not None else None,
        error=row["error"],
        reason=row["reason"],
        attempts=list(row["attempts"]),
        owner=row["owner"],
        trigger=Trigger.from_dict(trigger) if trigger is not None else None,
        fired=firing,
        max_price_impact_bps=row["max_price_impact_bps"],
    )


def _token(symbol_or_mint: str, registry: Registry, firing: Firing | None) -> Token:
    """A registry token, or a sniper's unlisted mint with the decimals its launch told."""
    try:
        return registry.resolve(symbol_or_mint)
    except InvalidOrder:
        decimals = firing.decimals if firing is not None and firing.decimals is not None else 0
        return Token.unlisted(symbol_or_mint, decimals)


def event_to_row(event: OrderEvent) -> dict[str, Any]:
    """The event's `order_events` row."""
    return {
        "order_id": event.order_id,
        "seq": event.seq,
        "type": event.type,
        "at": event.at,
        "attempt": event.attempt,
        "details": event.details,
    }


def event_from_row(row: Mapping[Any, Any]) -> OrderEvent:
    """Rebuild the event from its `order_events` row."""
    return OrderEvent(
        order_id=row["order_id"],
        seq=row["seq"],
        type=row["type"],
        at=row["at"],
        attempt=row["attempt"],
        details=dict(row["details"]),
    )


def _tx_to_dict(tx: SignedSwap) -> dict[str, JSON]:
    return {
        "signature": tx.signature,
        "lastValidBlockHeight": tx.last_valid_block_height,
        "rawTx": tx.raw_tx,
        "venue": tx.venue,
        "minAmountOut": str(tx.min_amount_out),
        "computeUnitPrice": str(tx.compute_unit_price),
        "computeUnitLimit": str(tx.compute_unit_limit),
    }


def _tx_from_dict(data: Mapping[str, JSON]) -> SignedSwap:
    return SignedSwap(
        signature=data["signature"],
        last_valid_block_height=int(data["lastValidBlockHeight"]),
        raw_tx=data["rawTx"],
        venue=data["venue"],
        min_amount_out=int(data["minAmountOut"]),
        compute_unit_price=int(data["computeUnitPrice"]),
        compute_unit_limit=int(data.get("computeUnitLimit", 0)),
    )


def _fill_to_dict(fill: Fill) -> dict[str, JSON]:
    return {
        "txHash": fill.tx_hash,
        "amountOut": str(fill.amount_out),
        "executedPrice": str(fill.executed_price),
        "venue": fill.venue,
        "feeLamports": str(fill.fee_lamports),
    }


def _fill_from_dict(data: Mapping[str, JSON]) -> Fill:
    return Fill(
        tx_hash=data["txHash"],
        amount_out=int(data["amountOut"]),
        executed_price=Decimal(data["executedPrice"]),
        venue=data["venue"],
        fee_lamports=int(data["feeLamports"]),
    )
