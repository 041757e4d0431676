"""The executor: drives one order through its states, resuming from whatever was persisted.

A job may run more than once (queues deliver at least once), so every step starts from the
stored status: routing and building have sent nothing yet and are simply redone; a submitted
order never signs again while its transaction may still land, it only re-sends the same signed
bytes and asks the chain for that signature. Every save is a compare-and-set on `seq`, so if two
runs race, the loser gets `StaleOrder` and stops.

Pre-trade checks (`oee.services.risk`) run before anything is signed: the kill switch before an
order starts routing (a halted order is left untouched and its job ends), price impact and
notional at routing, the wallet's balance at building.

Every committed move is logged (`order_stage`, with how long the order spent in the stage it
left) and measured (`oee.metrics`). Durations come from the persisted timestamps, so a stage
that spanned a worker crash is measured in full.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal

import structlog

from oee.domain.errors import ExecutionError, StaleOrder
from oee.domain.events import OrderEvent
from oee.domain.orders import Fill, Order, OrderType
from oee.domain.ports import (
    Blockhash,
    Chain,
    Clock,
    ComputeBudget,
    EventBus,
    NotionalLimiter,
    OrderStore,
    SwapInstruction,
    SwapPlan,
    SwapRequest,
    SwapSigner,
    TxState,
    TxStatus,
    Venue,
    WalletBalances,
)
from oee.domain.routing import RoutingDecision
from oee.domain.status import TERMINAL, OrderStatus
from oee.domain.triggers import limit_floor
from oee.metrics import RISK_CODES, STAGES, Metrics
from oee.services.fees import ComputeBudgeter, FeePolicy
from oee.services.halt import HaltGate
from oee.services.quoting import VenueOutcome, quote_each, route, split
from oee.services.risk import check_funds, check_notional, check_notional_rate, check_price_impact

log = structlog.get_logger(__name__)

# Real RPC clients rebroadcast a pending transaction until it lands or expires; so do we.
RESEND_EVERY_S = 2.0
MAX_POLL_BACKOFF_S = 5.0
NO_PRIORITY = ComputeBudget(0, 0)  # the cheapest a transaction can be: its base fee alone
# The statuses the executor advances; watching orders belong to the trigger watchers.
DRIVEN = frozenset(
    {OrderStatus.PENDING, OrderStatus.ROUTING, OrderStatus.BUILDING, OrderStatus.SUBMITTED}
)
# A move applies an order's domain method at the given time and returns the event to persist.
Move = Callable[[datetime], OrderEvent]
# Told of every order this executor armed, so a trigger watcher takes it at once.
ArmedHandler = Callable[[Order], Awaitable[None]]


class Held(Exception):
    """Trading is halted and this order has not started routing: leave it as it is."""


class LimitNotMet(Exception):
    """A fired limit order's routing quote no longer meets its limit: re-arm, don't fail."""

    def __init__(self, price: Decimal, message: str) -> None:
        super().__init__(message)
        self.price = price
        self.message = message


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
        metrics: Metrics | None = None,
        fees: FeePolicy | None = None,
        max_notional_usd: Decimal | None = None,
        max_price_impact_bps: int | None = None,
        on_armed: ArmedHandler | None = None,
        halt: HaltGate | None = None,
        notional_rate: tuple[Decimal, NotionalLimiter] | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.venues = {v.name: v for v in venues}
        self.chain = chain
        self.signer = signer
        self.budgeter = ComputeBudgeter(chain, signer, fees or FeePolicy())
        self.max_notional_usd = max_notional_usd
        self.max_price_impact_bps = max_price_impact_bps
        self.on_armed = on_armed
        self.halt = halt
        self.notional_rate = notional_rate
        self._held: set[str] = set()  # orders this process held, so each is logged once
        self.clock = clock
        self.retry = retry
        self.quote_timeout_s = quote_timeout_s
        self.confirm_poll_s = confirm_poll_s
        self.metrics = metrics or Metrics(process_collectors=False)
        # Children are bound once (here, or on first use) and looked up in dicts afterwards.
        self._stage_seconds = {OrderStatus(s): self.metrics.stage_seconds_for(s) for s in STAGES}
        for name in self.venues:  # so that every venue's series exist before its first quote
            self.metrics.quote_seconds_for(name)
            self.metrics.routing_wins_for(name)

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
        except Held:
            # The job ends; the order stays pending or routing. The resume re-enqueues it
            # (and the recovery sweep does meanwhile, to find it still held).
            if order_id not in self._held:
                self._held.add(order_id)
                self.metrics.orders_held.inc()
                log.info("order_held", order_id=order_id, status=order.status.value)
            return
        self._held.discard(order_id)

    async def _gate(self) -> None:
        """Raise `Held` while trading is halted (an order about to start routing)."""
        if self.halt is None:
            return
        if await self.halt.halted() is not None:
            raise Held
        self._held.clear()  # trading again: orders held here may run anywhere now

    async def _step(self, order: Order) -> None:
        match order.status:
            case OrderStatus.PENDING if order.waits:
                await self._commit(order, order.arm)
                await self._armed(order)
            case OrderStatus.PENDING:
                await self._gate()
                await self._commit(order, order.start_routing)
            case OrderStatus.ROUTING:
                await self._gate()  # a fired limit or sniper order arrives here
                try:
                    decision = await self._route(order)
                except LimitNotMet as away:
                    await self._rearm(order, away)
                    return
                await self._commit(order, lambda at: order.route(decision, at))
            case OrderStatus.BUILDING:
                await self._build(order)
            case OrderStatus.SUBMITTED:
                await self._confirm(order)

    async def _rearm(self, order: Order, away: LimitNotMet) -> None:
        message, price = away.message, away.price
        await self._commit(order, lambda at: order.rearm("LIMIT_NOT_MET", message, at, price))
        await self._armed(order)

    async def _armed(self, order: Order) -> None:
        if self.on_armed is not None:
            await self.on_armed(order)

    async def _route(self, order: Order) -> RoutingDecision:
        venues = list(self.venues.values())
        if order.type is OrderType.SNIPER and order.trigger is not None:
            venues = [v for v in venues if v.name in order.trigger.venues]
            for venue in venues:  # a look-up cached before the launch would miss the new pool
                venue.forget_pools(order.token_in, order.token_out)
        outcomes = await quote_each(
            venues,
            order.token_in,
            order.token_out,
            order.amount_in,
            timeout_s=self.quote_timeout_s,
        )
        for outcome in outcomes:
            self._measure_quote(outcome)
        quotes, by_venue = split(outcomes)  # re-raises an unexpected error
        failed = {name: e.code for name, e in by_venue.items()}
        decision = route(quotes, by_venue, order.slippage_bps)
        if order.type is OrderType.LIMIT:
            decision = self._hold_limit(order, decision)
        # Nothing is signed past a risk limit.
        check_price_impact(order, decision, self.max_price_impact_bps)
        check_notional(order, decision, self.max_notional_usd)
        if self.notional_rate is not None:  # last: it counts the order once it passes
            await check_notional_rate(order, decision, *self.notional_rate)
        log.info(
            "routing_decision",
            order_id=order.id,
            attempt=order.attempt,
            venue=decision.chosen.venue,
            margin_bps=str(decision.margin_bps),
            quotes={q.venue: str(q.amount_out) for q in decision.quotes},
            failed_venues=failed or None,
        )
        return decision

    def _hold_limit(self, order: Order, decision: RoutingDecision) -> RoutingDecision:
        """The decision with its output floor raised to the limit, or `LimitNotMet`.

        The swap's `minAmountOut` never allows worse than the limit price, nor worse than the
        slippage tolerance below the quote that routed it.
        """
        assert order.trigger is not None
        assert order.trigger.limit_price is not None
        t_in, t_out = order.token_in, order.token_out
        floor = limit_floor(
            order.trigger.limit_price, t_in.decimals, t_out.decimals, order.amount_in
        )
        best = decision.chosen.amount_out
        if best < floor:
            price = _price(t_out.from_base_units(best), t_in.from_base_units(order.amount_in))
            raise LimitNotMet(
                price,
                f"the best quote pays {price} {t_out.symbol} per {t_in.symbol}, below the limit "
                f"of {order.trigger.limit_price}",
            )
        return dataclasses.replace(decision, min_amount_out=max(decision.min_amount_out, floor))

    def _measure_quote(self, outcome: VenueOutcome) -> None:
        if outcome.quote is not None:
            self.metrics.quote_seconds_for(outcome.venue).observe(outcome.seconds)
        elif isinstance(outcome.error, ExecutionError):
            self.metrics.quote_errors_for(outcome.venue, outcome.error.code).inc()
        elif outcome.error is not None:
            self.metrics.quote_errors_for(outcome.venue, "UNEXPECTED").inc()

    async def _build(self, order: Order) -> None:
        assert order.decision is not None  # building is only reached through route()
        chosen = order.decision.chosen
        venue = self.venues[chosen.venue]
        signer = self.signer
        request = SwapRequest(
            quote=chosen,
            token_in=order.token_in,
            token_out=order.token_out,
            owner=signer.owner,
            source=signer.token_account(order.token_in.mint),
            destination=signer.token_account(order.token_out.mint),
            amount_in=order.amount_in,
            min_amount_out=order.decision.min_amount_out,
        )
        # The reads at once; all finish, so none leaves an exception unread.
        answers = await asyncio.gather(
            venue.swap_instruction(request),
            self.chain.latest_blockhash(),
            self.chain.balances(signer.owner),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        swap, blockhash, balances = answers
        assert isinstance(swap, SwapInstruction)
        assert isinstance(blockhash, Blockhash)
        assert isinstance(balances, WalletBalances)
        plan = SwapPlan(
            venue=venue.name,
            swap=swap,
            token_in=order.token_in,
            token_out=order.token_out,
            amount_in=order.amount_in,
            min_amount_out=order.decision.min_amount_out,
            memo=f"{order.id}/{order.attempt}",
        )
        # Nothing is signed that the wallet cannot pay: no fee is spent on a certain failure.
        # First with no priority fee at all, so a hopeless order is not simulated either.
        accounts = {order.token_in.mint: request.source, order.token_out.mint: request.destination}
        funds = (order.token_in, order.token_out, order.amount_in)
        check_funds(*funds, NO_PRIORITY, balances, accounts)
        budget = await self.budgeter.budget(plan, chosen.pool, venue.compute_units, blockhash)
        check_funds(*funds, budget, balances, accounts)
        signed = signer.sign(plan, budget, blockhash)
        # Persisted before it is sent: a crash after this line re-sends these bytes, never new ones.
        await self._commit(order, lambda at: order.submit(signed, at))

    async def _confirm(self, order: Order) -> None:
        assert order.tx is not None  # submitted always carries its transaction
        tx = order.tx
        loop = asyncio.get_running_loop()
        last_send = float("-inf")
        failures = 0
        while True:
            if loop.time() - last_send >= RESEND_EVERY_S:
                last_send = loop.time()
                await self._send(order, tx.raw_tx)
            try:
                height = await self.chain.block_height()
                # Read the status after the height: a transaction that has not landed by a
                # height past its lastValidBlockHeight never will.
                status = await self.chain.signature_status(tx.signature, order.token_out.mint)
            except ExecutionError as error:
                if not error.retryable:
                    raise
                # Outcome unknown: keep reconciling, never sign anew while it may still land.
                failures += 1
                log.info(
                    "status_unknown_will_retry",
                    order_id=order.id,
                    attempt=order.attempt,
                    venue=tx.venue,
                    code=error.code,
                )
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

    async def _send(self, order: Order, raw_tx: str) -> None:
        try:
            await self.chain.send_transaction(raw_tx)
        except ExecutionError as error:
            if not error.retryable:
                raise
            # Whether it reached the node is unknown (and an expired blockhash on a re-send does
            # not prove it never landed): the status and height checks decide, not the send.
            log.info(
                "send_failed_will_resend",
                order_id=order.id,
                attempt=order.attempt,
                venue=order.tx.venue if order.tx else None,
                code=error.code,
                reason=error.message,
            )

    async def _settle(self, order: Order, status: TxStatus) -> None:
        assert order.tx is not None
        if status.state is TxState.FAILED:
            raise ExecutionError(
                status.error_message or f"transaction failed on chain ({status.error_code})",
                code=status.error_code or "TRANSACTION_FAILED",
                retryable=False,
                fee_lamports=status.fee_lamports,
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
        await self._commit(order, lambda at: order.confirm(fill, at))

    async def _handle_failure(self, order: Order, error: ExecutionError) -> None:
        if error.retryable and order.attempt < self.retry.max_attempts:
            delay = self.retry.delay_after(order.attempt)
            log.info(
                "order_retry",
                order_id=order.id,
                attempt=order.attempt,
                venue=order.decision.chosen.venue if order.decision else None,
                code=error.code,
            )
            await self._commit(order, lambda at: order.retry(error.code, error.message, delay, at))
            self.metrics.retries_for(error.code).inc()
            await self.clock.sleep(delay)
            return
        if error.code in RISK_CODES:
            self.metrics.risk_refusals_for(error.code).inc()
        reason = error.message
        if error.retryable:
            reason = f"{reason} (gave up after {order.attempt} attempts)"
        await self._commit(
            order, lambda at: order.fail(error.code, reason, at, fee_lamports=error.fee_lamports)
        )

    async def _commit(self, order: Order, move: Move) -> None:
        """Apply `move` now, persist the order with its event, then measure, log and publish.

        The move is applied here (not by the caller) so that the stage it leaves and the time
        that stage was entered are read before the order changes.
        """
        left, entered = order.status, order.updated_at
        event = move(self.clock.now())
        await self.store.save(order, event)
        # Only after the save: a stale run (StaleOrder) must not count what it did not persist.
        seconds = max((event.at - entered).total_seconds(), 0.0)
        self._measure(order, left, event, seconds)
        log.info(
            "order_stage",
            order_id=order.id,
            status=event.type,
            seq=event.seq,
            attempt=event.attempt,
            venue=order.decision.chosen.venue if order.decision else None,
            from_status=left.value,
            duration_ms=round(seconds * 1000, 1),
        )
        await self.bus.publish(event)

    def _measure(self, order: Order, left: OrderStatus, event: OrderEvent, seconds: float) -> None:
        """Record one committed move: `seconds` were spent in `left`, the status just left."""
        stage = self._stage_seconds.get(left)
        if stage is not None:
            stage.observe(seconds)
        elif left is OrderStatus.PENDING and order.attempt == 1 and event.type == "routing":
            self.metrics.queue_wait_seconds.observe(seconds)  # created -> first routing
        status = order.status
        if status is OrderStatus.BUILDING and order.decision is not None:
            self.metrics.routing_wins_for(order.decision.chosen.venue).inc()
        elif status in TERMINAL:
            self.metrics.orders_for(order.type.value, status.value).inc()
            total = max((event.at - order.created_at).total_seconds(), 0.0)
            self.metrics.order_seconds_for(status.value).observe(total)


_PRICE_CONTEXT = Context(prec=12)


def _price(out_units: Decimal, in_units: Decimal) -> Decimal:
    """Whole tokens out per whole token in, to 12 significant digits."""
    return _PRICE_CONTEXT.divide(out_units, in_units)
