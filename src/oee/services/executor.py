"""The executor: drives one order through its states, resuming from whatever was persisted.

A job may run more than once (queues deliver at least once), so every step starts from the
stored status: routing and building have sent nothing yet and are simply redone; a submitted
order never signs again while its transaction may still land, it only re-sends the same signed
bytes and asks the chain for that signature. Every save is a compare-and-set on `seq`, so if two
runs race, the loser gets `StaleOrder` and stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal

import structlog

from oee.domain.errors import ExecutionError, NoRoute, StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import Fill, Order
from oee.domain.ports import (
    Chain,
    Clock,
    EventBus,
    OrderStore,
    SwapSigner,
    TxState,
    TxStatus,
    Venue,
)
from oee.domain.routing import Quote, RoutingDecision, choose_best
from oee.domain.status import OrderStatus

log = structlog.get_logger(__name__)

# Real RPC clients rebroadcast a pending transaction until it lands or expires; so do we.
RESEND_EVERY_S = 2.0
MAX_POLL_BACKOFF_S = 5.0
# The statuses the executor advances; watching orders belong to the trigger watchers.
DRIVEN = frozenset(
    {OrderStatus.PENDING, OrderStatus.ROUTING, OrderStatus.BUILDING, OrderStatus.SUBMITTED}
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `max_attempts` attempts, waiting base * 2^(n-1) seconds (capped) before attempt n+1."""

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.base_delay_s * 2 ** (attempt - 1), self.max_delay_s))


class Executor:
    """Runs orders to a terminal status. One instance serves every job of a worker."""

    def __init__(
        self,
        store: OrderStore,
        bus: EventBus,
        venues: Sequence[Venue],
        chain: Chain,
        signer: SwapSigner,
        clock: Clock,
        *,
        retry: RetryPolicy,
        quote_timeout_s: float,
        confirm_poll_s: float,
    ) -> None:
        self.store = store
        self.bus = bus
        self.venues = {v.name: v for v in venues}
        self.chain = chain
        self.signer = signer
        self.clock = clock
        self.retry = retry
        self.quote_timeout_s = quote_timeout_s
        self.confirm_poll_s = confirm_poll_s

    async def run(self, order_id: str) -> None:
        """Execute the order until it is terminal (the queue's job handler).

        Infrastructure errors (database or Redis down) propagate, so the queue delivers the job
        again later; execution errors become retries or a `failed` status.
        """
        order = await self.store.get(order_id)
        if order is None:
            log.warning("job_for_unknown_order", order_id=order_id)
            return
        try:
            while order.status in DRIVEN:
                try:
                    await self._step(order)
                except ExecutionError as error:
                    await self._handle_failure(order, error)
        except StaleOrder:
            log.info("order_taken_over", order_id=order_id, status=order.status.value)

    async def _step(self, order: Order) -> None:
        match order.status:
            case OrderStatus.PENDING:
                await self._commit(order, order.start_routing(self.clock.now()))
            case OrderStatus.ROUTING:
                decision = await self._route(order)
                await self._commit(order, order.route(decision, self.clock.now()))
            case OrderStatus.BUILDING:
                await self._build(order)
            case OrderStatus.SUBMITTED:
                await self._confirm(order)

    async def _route(self, order: Order) -> RoutingDecision:
        results = await asyncio.gather(
            *(self._quote(venue, order) for venue in self.venues.values()), return_exceptions=True
        )
        quotes = [r for r in results if isinstance(r, Quote)]
        errors = [r for r in results if isinstance(r, ExecutionError)]
        unexpected = [r for r in results if isinstance(r, BaseException) and r not in errors]
        if unexpected:
            raise unexpected[0]
        try:
            decision = choose_best(quotes, order.slippage_bps)
        except NoRoute as no_route:
            retryable = any(e.retryable for e in errors)
            detail = "; ".join(f"{e.code}: {e.message}" for e in errors) or no_route.message
            code = "QUOTES_UNAVAILABLE" if retryable else "NO_ROUTE"
            raise ExecutionError(
                f"no usable quote ({detail})", code=code, retryable=retryable
            ) from None
        log.info(
            "routing_decision",
            order_id=order.id,
            attempt=order.attempt,
            chosen=decision.chosen.venue,
            margin_bps=str(decision.margin_bps),
            quotes={q.venue: str(q.amount_out) for q in decision.quotes},
            failed_venues={e.code for e in errors} or None,
        )
        return decision

    async def _quote(self, venue: Venue, order: Order) -> Quote:
        try:
            async with asyncio.timeout(self.quote_timeout_s):
                return await venue.quote(order.token_in, order.token_out, order.amount_in)
        except TimeoutError:
            raise ExecutionError(
                f"{venue.name} did not quote within {self.quote_timeout_s} s",
                code="VENUE_TIMEOUT",
                retryable=True,
            ) from None

    async def _build(self, order: Order) -> None:
        assert order.decision is not None  # building is only reached through route()
        chosen = order.decision.chosen
        venue = self.venues[chosen.venue]
        blockhash = await self.chain.latest_blockhash()
        signed = self.signer.build(
            venue=venue.name,
            program_id=venue.program_id,
            pool=chosen.pool,
            token_in=order.token_in,
            token_out=order.token_out,
            amount_in=order.amount_in,
            min_amount_out=order.decision.min_amount_out,
            blockhash=blockhash,
            memo=f"{order.id}/{order.attempt}",
        )
        # Persisted before it is sent: a crash after this line re-sends these bytes, never new ones.
        await self._commit(order, order.submit(signed, self.clock.now()))

    async def _confirm(self, order: Order) -> None:
        assert order.tx is not None  # submitted always carries its transaction
        tx = order.tx
        loop = asyncio.get_running_loop()
        last_send = float("-inf")
        failures = 0
        while True:
            if loop.time() - last_send >= RESEND_EVERY_S:
                last_send = loop.time()
                await self._send(tx.raw_tx)
            try:
                height = await self.chain.block_height()
                # Read the status after the height: a transaction that has not landed by a
                # height past its lastValidBlockHeight never will.
                status = await self.chain.signature_status(tx.signature)
            except ExecutionError as error:
                if not error.retryable:
                    raise
                # Outcome unknown: keep reconciling, never sign anew while it may still land.
                failures += 1
                log.info("status_unknown_will_retry", order_id=order.id, code=error.code)
                await self.clock.sleep(min(self.confirm_poll_s * 2**failures, MAX_POLL_BACKOFF_S))
                continue
            failures = 0
            if status is not None:
                await self._settle(order, status)
                return
            if height > tx.last_valid_block_height:
                raise ExecutionError(
                    f"transaction {tx.signature} did not land before its blockhash expired",
                    code="BLOCKHASH_EXPIRED",
                    retryable=True,
                )
            await self.clock.sleep(self.confirm_poll_s)

    async def _send(self, raw_tx: str) -> None:
        try:
            await self.chain.send_transaction(raw_tx)
        except ExecutionError as error:
            if not error.retryable:
                raise
            # Whether it reached the node is unknown (and an expired blockhash on a re-send does
            # not prove it never landed): the status and height checks decide, not the send.
            log.info("send_failed_will_resend", code=error.code, reason=error.message)

    async def _settle(self, order: Order, status: TxStatus) -> None:
        assert order.tx is not None
        if status.state is TxState.FAILED:
            raise ExecutionError(
                status.error_message or f"transaction failed on chain ({status.error_code})",
                code=status.error_code or "TRANSACTION_FAILED",
                retryable=False,
            )
        in_units = order.token_in.from_base_units(order.amount_in)
        out_units = order.token_out.from_base_units(status.amount_out)
        fill = Fill(
            tx_hash=order.tx.signature,
            amount_out=status.amount_out,
            executed_price=_price(out_units, in_units),
            venue=order.tx.venue,
            fee_lamports=status.fee_lamports,
        )
        await self._commit(order, order.confirm(fill, self.clock.now()))

    async def _handle_failure(self, order: Order, error: ExecutionError) -> None:
        now = self.clock.now()
        if error.retryable and order.attempt < self.retry.max_attempts:
            delay = self.retry.delay_after(order.attempt)
            log.info("order_retry", order_id=order.id, attempt=order.attempt, code=error.code)
            await self._commit(order, order.retry(error.code, error.message, delay, now))
            await self.clock.sleep(delay)
            return
        reason = error.message
        if error.retryable:
            reason = f"{reason} (gave up after {order.attempt} attempts)"
        await self._commit(order, order.fail(error.code, reason, now))

    async def _commit(self, order: Order, event: OrderEvent) -> None:
        await self.store.save(order, event)
        log.info(
            "order_stage",
            order_id=order.id,
            status=event.type,
            seq=event.seq,
            attempt=event.attempt,
            venue=order.decision.chosen.venue if order.decision else None,
        )
        await self.bus.publish(event)


_PRICE_CONTEXT = Context(prec=12)


def _price(out_units: Decimal, in_units: Decimal) -> Decimal:
    """Whole tokens out per whole token in, to 12 significant digits."""
    return _PRICE_CONTEXT.divide(out_units, in_units)
