"""The price watcher: fires armed limit orders when the venues' quotes meet their limits.

Every `poll_s` (0.5 s by default: the venue adapters keep pool state for up to 0.4 s, so a
faster poll would mostly re-read the same state), each pair with armed orders is priced once
at its smallest order's size: no order of the pair can get a better price than that. The book
hands back every order whose limit that price reaches (one bisection); each of those is then
checked at its own size, fees and price impact included, against `limit_floor`, and all that
meet it fire in one batch. Orders of the same size share one quote.

A venue that fails to quote is left out of the round; a round in which no venue answered
fires nothing. A failure is never read as a price.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from decimal import Context, Decimal
from typing import TYPE_CHECKING

import structlog

from oee.domain.orders import Order
from oee.domain.ports import Venue
from oee.domain.routing import Quote
from oee.domain.tokens import Token
from oee.domain.triggers import Firing, limit_floor
from oee.services.quoting import quote_each
from oee.services.trigger_books import Pair, PriceBook, pair_of

if TYPE_CHECKING:
    from oee.services.triggers import TriggerService

log = structlog.get_logger(__name__)

_PRICE = Context(prec=12)  # what events show
_EXACT = Context(prec=40)  # what crossing compares: limits carry up to 30 significant digits


class PriceWatch:
    """Armed limit orders by pair, priced on a cadence."""

    def __init__(
        self,
        service: TriggerService,
        venues: Sequence[Venue],
        *,
        poll_s: float,
        quote_timeout_s: float,
    ) -> None:
        self.service = service
        self.venues = list(venues)
        self.poll_s = poll_s
        self.quote_timeout_s = quote_timeout_s
        self.books: dict[Pair, PriceBook] = {}
        self._tokens: dict[Pair, tuple[Token, Token]] = {}

    def add(self, order: Order) -> None:
        """Arm a limit order."""
        pair = pair_of(order)
        self.books.setdefault(pair, PriceBook()).add(order)
        self._tokens[pair] = (order.token_in, order.token_out)

    def remove(self, order: Order) -> None:
        """Disarm it."""
        pair = pair_of(order)
        book = self.books.get(pair)
        if book is not None:
            book.remove(order.id)
            if not book:
                del self.books[pair]

    async def run(self, stop: asyncio.Event) -> None:
        """Price every pair with armed orders every `poll_s` until `stop` is set."""
        while not stop.is_set():
            pairs = [pair for pair, book in self.books.items() if book]
            if pairs:
                await asyncio.gather(*(self._round(pair) for pair in pairs))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_s)

    async def _round(self, pair: Pair) -> None:
        try:
            await self.check(pair)
        except Exception:  # one pair's trouble must not stop the others
            log.warning("price_round_failed", pair=pair, exc_info=True)

    async def check(self, pair: Pair) -> int:
        """Price one pair now and fire every order its quotes meet; returns how many fired."""
        book = self.books.get(pair)
        if not book:
            return 0
        token_in, token_out = self._tokens[pair]
        quotes: dict[int, Quote | None] = {}
        probe = book.smallest_amount()
        quotes[probe] = await self._best(token_in, token_out, probe)
        best = quotes[probe]
        if best is None:
            return 0
        candidates = book.crossed(_price(best, token_in, token_out, _EXACT))
        by_size: dict[int, list[Order]] = defaultdict(list)
        for order in candidates:
            by_size[order.amount_in].append(order)
        missing = [size for size in by_size if size not in quotes]
        answers = await asyncio.gather(*(self._best(token_in, token_out, s) for s in missing))
        quotes.update(zip(missing, answers, strict=True))
        now = self.service.clock.now()
        firings = []
        for size, orders in by_size.items():
            quote = quotes[size]
            if quote is None:
                continue
            # One quote, one firing: every order of this size fired by it shares it.
            firing = Firing(
                at=now, price=_price(quote, token_in, token_out), venue=quote.venue, pool=quote.pool
            )
            for order in orders:
                assert order.trigger is not None
                assert order.trigger.limit_price is not None
                floor = limit_floor(
                    order.trigger.limit_price, token_in.decimals, token_out.decimals, size
                )
                if quote.amount_out >= floor:
                    firings.append((order, firing))
        return await self.service.fire(firings)

    async def _best(self, token_in: Token, token_out: Token, amount: int) -> Quote | None:
        """The best quote among the venues that answered, or None when none did."""
        outcomes = await quote_each(
            self.venues, token_in, token_out, amount, timeout_s=self.quote_timeout_s
        )
        quotes = [o.quote for o in outcomes if o.quote is not None and o.quote.amount_out > 0]
        if not quotes:
            return None
        return max(quotes, key=lambda q: (q.amount_out, -q.price_impact_bps))


def _price(quote: Quote, token_in: Token, token_out: Token, context: Context = _PRICE) -> Decimal:
    """Whole tokenOut per whole tokenIn that the quote pays (12 significant digits unless
    another context is given)."""
    out_units = token_out.from_base_units(quote.amount_out)
    return context.divide(out_units, token_in.from_base_units(quote.amount_in))
