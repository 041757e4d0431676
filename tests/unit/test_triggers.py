"""Trigger logic: limit floors, crossing from both sides, expiry bounds, the moves, the books."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oee.domain.errors import IllegalTransition, InvalidOrder
from oee.domain.orders import Order, OrderTerms, OrderType, SubmitOrder
from oee.domain.status import OrderStatus
from oee.domain.triggers import MAX_TTL, Firing, Trigger, TriggerKind, expiry, limit_floor
from oee.services.trigger_books import Expiries, PriceBook, SniperBook

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
MINT = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"


def limit_order(limit: str, amount: str = "1", ttl: int | None = None) -> Order:
    terms = OrderTerms(type="limit", limit_price=Decimal(limit), ttl_seconds=ttl)
    cmd = SubmitOrder.parse("SOL", "USDC", amount, 50, terms=terms, now=NOW)
    return Order.accept(cmd, str(uuid.uuid4()), NOW)[0]


def sniper(mint: str = MINT, pay: str = "SOL", **terms: object) -> Order:
    cmd = SubmitOrder.parse(
        pay, mint, "1", 50, terms=OrderTerms(type="sniper", **terms),  # type: ignore[arg-type]
        now=NOW, is_mint=lambda text: len(text) in (43, 44),
    )  # fmt: skip
    return Order.accept(cmd, str(uuid.uuid4()), NOW)[0]


def test_limit_floor_rounds_up_so_one_unit_short_does_not_meet_the_limit() -> None:
    # 1.5 SOL at >= 160.0000001 USDC/SOL: 240.00000015 USDC, i.e. 240000000.15 -> 240000001 units.
    assert limit_floor(Decimal("160.0000001"), 9, 6, 1_500_000_000) == 240_000_001
    assert limit_floor(Decimal(160), 9, 6, 1_500_000_000) == 240_000_000  # exact: equal meets


@given(
    price=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6),
    amount=st.integers(min_value=1, max_value=10**15),
)
def test_an_output_meets_the_limit_exactly_when_its_price_is_at_least_the_limit(
    price: Decimal, amount: int
) -> None:
    floor = limit_floor(price, 9, 6, amount)
    # From above and at the limit: the floor's price is >= the limit; one unit less is below.
    assert Decimal(floor).scaleb(-6) / Decimal(amount).scaleb(-9) >= price
    assert Decimal(floor - 1).scaleb(-6) / Decimal(amount).scaleb(-9) < price


def test_expiry_default_bounds_and_conflicts() -> None:
    assert expiry(NOW, None, None) == NOW + timedelta(hours=24)
    assert expiry(NOW, None, 60) == NOW + timedelta(seconds=60)
    assert expiry(NOW, NOW + MAX_TTL, None) == NOW + MAX_TTL
    cases = [
        ((NOW - timedelta(seconds=1), None), "EXPIRY_IN_PAST"),
        ((NOW, None), "EXPIRY_IN_PAST"),
        ((None, 0), "EXPIRY_IN_PAST"),
        ((NOW + MAX_TTL + timedelta(seconds=1), None), "EXPIRY_TOO_FAR"),
        ((None, int(MAX_TTL.total_seconds()) + 1), "EXPIRY_TOO_FAR"),
        ((NOW + timedelta(hours=1), 60), "EXPIRY_CONFLICT"),
        ((datetime(2026, 12, 5), None), "EXPIRY_INVALID"),  # noqa: DTZ001 (naive on purpose)
    ]
    for (at, ttl), code in cases:
        with pytest.raises(InvalidOrder) as raised:
            expiry(NOW, at, ttl)
        assert raised.value.code == code


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        (OrderTerms(type="limit"), "LIMIT_PRICE_REQUIRED"),
        (OrderTerms(type="limit", limit_price=Decimal(0)), "LIMIT_PRICE_INVALID"),
        (OrderTerms(type="limit", limit_price=Decimal(-1)), "LIMIT_PRICE_INVALID"),
        (OrderTerms(type="limit", limit_price=Decimal("NaN")), "LIMIT_PRICE_INVALID"),
        (OrderTerms(type="limit", limit_price=Decimal("Infinity")), "LIMIT_PRICE_INVALID"),
        (OrderTerms(limit_price=Decimal(1)), "FIELD_NOT_FOR_TYPE"),
        (OrderTerms(max_price_impact_bps=100), "FIELD_NOT_FOR_TYPE"),
        (OrderTerms(type="limit", limit_price=Decimal(1), venues=("raydium",)), "FIELD_NOT_FOR_TYPE"),
        (OrderTerms(type="stop"), "UNSUPPORTED_ORDER_TYPE"),
        (OrderTerms(type="limit", limit_price=Decimal(1), max_price_impact_bps=0), "PRICE_IMPACT_OUT_OF_RANGE"),
        (OrderTerms(type="limit", limit_price=Decimal(1), max_price_impact_bps=6000), "PRICE_IMPACT_OUT_OF_RANGE"),
    ],
)  # fmt: skip
def test_bad_terms_are_refused_with_their_codes(terms: OrderTerms, code: str) -> None:
    with pytest.raises(InvalidOrder) as raised:
        SubmitOrder.parse("SOL", "USDC", "1", 50, terms=terms, now=NOW)
    assert raised.value.code == code


def test_sniper_targets_any_mint_pays_with_sol_or_usdc_and_checks_venues() -> None:
    order = sniper()
    assert order.type is OrderType.SNIPER
    assert order.token_out.mint == MINT
    assert order.trigger == Trigger(TriggerKind.LAUNCH, NOW + timedelta(hours=24))
    for build, code in [
        (lambda: sniper(mint="not-a-mint"), "INVALID_MINT"),
        (lambda: sniper(pay="BONK"), "SNIPER_TOKEN_IN"),
        (lambda: sniper(venues=("orca",)), "UNKNOWN_VENUE"),
        (lambda: sniper(venues=()), "UNKNOWN_VENUE"),
        (lambda: sniper(limit_price=Decimal(1)), "FIELD_NOT_FOR_TYPE"),
    ]:
        with pytest.raises(InvalidOrder) as raised:
            build()
        assert raised.value.code == code


def test_arm_fire_and_the_moves_that_race_it() -> None:
    order = limit_order("160")
    order.arm(NOW)
    assert order.status is OrderStatus.WATCHING
    fired = order.fire(Firing(at=NOW, price=Decimal("160.5"), venue="raydium", pool="p"), NOW)
    assert fired.type == "routing"
    assert fired.details["triggeredBy"]["price"] == "160.5"
    # Once fired, neither expiry nor cancel may follow: exactly one of them wins.
    for move in (lambda: order.expire(NOW), lambda: order.cancel("late", NOW)):
        with pytest.raises(IllegalTransition):
            move()
    rearmed = order.rearm("LIMIT_NOT_MET", "moved away", NOW, Decimal(159))
    assert rearmed.type == "watching"
    assert order.expire(NOW).type == "expired"


def test_a_sniper_learns_its_tokens_decimals_when_it_fires() -> None:
    order = sniper()
    order.arm(NOW)
    order.fire(Firing(at=NOW, venue="raydium", pool="p", signature="s", slot=9, decimals=6), NOW)
    assert order.token_out.decimals == 6
    assert order.token_out.mint == MINT


def test_price_book_returns_exactly_the_crossed_orders_lowest_first() -> None:
    book = PriceBook()
    everyone = [limit_order(x) for x in ("150", "155", "160", "160.000001", "170")]
    for order in everyone:
        book.add(order)
    assert [o.trigger.limit_price for o in book.crossed(Decimal(160))] == [150, 155, 160]  # type: ignore[union-attr]
    assert book.crossed(Decimal(149)) == []
    book.remove(everyone[0].id)
    assert len(book.crossed(Decimal(1000))) == 4
    assert book.smallest_amount() == 10**9


def test_sniper_book_matches_mint_quote_side_and_venue() -> None:
    book = SniperBook()
    on_raydium = sniper(venues=("raydium",))
    anywhere = sniper()
    with_usdc = sniper(pay="USDC")
    for order in (on_raydium, anywhere, with_usdc):
        book.add(order)
    sol = on_raydium.token_in.mint
    assert set(o.id for o in book.waiting_for(MINT, sol, "raydium")) == {on_raydium.id, anywhere.id}
    assert [o.id for o in book.waiting_for(MINT, sol, "meteora")] == [anywhere.id]
    book.remove(anywhere)
    assert [o.id for o in book.waiting_for(MINT, sol, "meteora")] == []


def test_expiries_pop_what_is_due_soonest_first() -> None:
    soon, later = limit_order("1", ttl=10), limit_order("1", ttl=20)
    expiries = Expiries()
    expiries.add(later)
    expiries.add(soon)
    assert expiries.next_at() == NOW + timedelta(seconds=10)
    assert list(expiries.due(NOW + timedelta(seconds=15))) == [soon.id]
    assert list(expiries.due(NOW + timedelta(seconds=30))) == [later.id]
