"""Ports: what the services need from the outside world, as Protocols.

Adapters live in `oee.adapters.<port>.<technology>`; `oee.bootstrap` picks them from settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from oee.domain.events import OrderEvent
from oee.domain.orders import IdempotencyKey, Order, SignedSwap
from oee.domain.ratelimit import RateDecision, RatePolicy
from oee.domain.risk import Halt, NotionalDecision
from oee.domain.routing import Quote
from oee.domain.tokens import Token
from oee.domain.triggers import Firing


class OrderStore(Protocol):
    """The source of truth: orders and their append-only event logs."""

    async def create(
        self, order: Order, event: OrderEvent, idempotency: IdempotencyKey | None = None
    ) -> str:
        """Insert a new order and its first event in one transaction; returns the order's id.

        With `idempotency`, the key is claimed in the same transaction (keys are per owner).
        If an unexpired claim exists, nothing is written and the id of the order that holds it is returned, or
        `IdempotencyConflict` is raised when that order was asked with another fingerprint.
        """

    async def create_many(self, new: Sequence[tuple[Order, OrderEvent]]) -> None:
        """Insert new orders (no idempotency keys) and their first events in one transaction;
        if any cannot be inserted, none is."""

    async def save(self, order: Order, event: OrderEvent) -> None:
        """Persist `order` and append `event` in one transaction.

        Compare-and-set on the sequence: the stored order must still be at `event.seq - 1`,
        otherwise someone else advanced it and `StaleOrder` is raised with nothing written.
        """

    async def save_many(self, moves: Sequence[tuple[Order, OrderEvent]]) -> list[bool]:
        """Persist each (order, event) like `save`, in one transaction (a trigger firing many
        orders at once); returns which were written: a stale one is skipped, not raised."""

    async def get(self, order_id: str) -> Order | None:
        """The order, or None when there is no such order."""

    async def events(self, order_id: str, after_seq: int = 0) -> list[OrderEvent]:
        """The order's events with `seq > after_seq`, in seq order."""

    async def active(self, limit: int, owner: str | None = None) -> tuple[int, list[str]]:
        """How many orders are not terminal, and the ids of up to `limit` of them (oldest first).

        With `owner`, only the orders that API key placed; without, every order.
        """

    async def recent(
        self,
        limit: int,
        owner: str | None = None,
        *,
        status: str | None = None,
        order_type: str | None = None,
        since: datetime | None = None,
    ) -> list[Order]:
        """The most recently created orders, newest first (only `owner`'s, only of `status`,
        of `order_type` and created at or after `since`, when given)."""

    async def unfinished(self, updated_before: datetime, limit: int) -> list[str]:
        """Ids of non-terminal orders last changed before `updated_before` (for recovery);
        armed (`watching`) orders are the trigger watchers' and are left out."""

    async def decide_fires(self, fires: Sequence[tuple[Order, Firing]]) -> list[bool]:
        """Commit the decision to fire each (watching order, what fired it), before any order
        moves: the batch's exits of their watches, in one statement committed on its own.

        Each watch (an order at the seq it is watching at) has one exit: a fire, a cancel or an
        expiry, whichever is recorded first. The caller then moves the winners with
        `save_many`; a decision whose move never lands (a crash) is found by `fire_decisions`.

        Args:
            fires: Orders as they are watching (their current seq) and their firings; orders
                fired by one quote share one `Firing`, stored once per batch where possible.

        Returns:
            For each, whether this call won its watch's exit (False: already ended).
        """

    async def end_watches(self, moves: Sequence[tuple[Order, OrderEvent]]) -> list[bool]:
        """Cancel or expire watching orders: each move's exit and the move itself in one
        transaction (both or neither).

        Args:
            moves: Orders just moved out of `watching` (to cancelled or expired) with their
                events, as for `save_many`.

        Returns:
            For each, whether it was written; False when the watch had already ended (fired,
            cancelled, expired) or the order moved on.
        """

    async def fire_decisions(self, held: Sequence[Order]) -> dict[str, Firing]:
        """The fire decisions taken for these watching orders at their current seqs whose move
        is missing (the deciding process stopped in between), by order id: fire them."""

    async def heartbeat(self, watcher: str, alive_until: datetime) -> bool:
        """Record that trigger watcher `watcher` lives until `alive_until`; False when it had
        no live record (first beat, or declared dead and its orders freed)."""

    async def claim_armed(self, watcher: str, now: datetime, limit: int) -> list[Order]:
        """Give `watcher` up to `limit` armed orders nobody holds, after freeing the orders of
        watchers whose heartbeat ended before `now`. Each armed order has one holder."""

    async def claim_order(self, order_id: str, watcher: str) -> Order | None:
        """Give `watcher` this armed order if nobody holds it; None otherwise."""

    async def release(self, watcher: str) -> None:
        """Let go of every order `watcher` holds, and forget the watcher."""

    async def purge_idempotency_keys(self, expired_before: datetime) -> int:
        """Forget idempotency keys that expired before `expired_before`; returns how many."""

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    async def close(self) -> None:
        """Release connections."""


JobHandler = Callable[[str], Awaitable[None]]


class JobQueue(Protocol):
    """Delivers order ids to workers, at least once. The job id is the order id."""

    async def enqueue(self, order_id: str) -> None:
        """Queue the order for execution; a no-op while a job for it is waiting or running."""

    async def consume(self, handler: JobHandler, concurrency: int) -> None:
        """Start running `handler(order_id)` for queued jobs, up to `concurrency` at once.

        Returns once consuming has started. A handler that raises leaves the job to be
        delivered again; one that returns completes it.
        """

    async def drain(self, grace_s: float) -> None:
        """Stop taking jobs and wait up to `grace_s` for running ones; the rest stay queued."""

    async def depth(self) -> int:
        """Jobs waiting to run (not counting running ones)."""

    async def oldest_waiting_since(self) -> datetime | None:
        """When the job that has waited longest to start was queued; None when none waits.

        Jobs waiting out a retry delay do not count: they are not waiting for a worker.
        """

    async def started_since(self, since: datetime) -> int:
        """How many jobs workers (of every process) took from the queue since `since`: with
        `depth`, how long a job queued now will wait."""

    def held(self) -> frozenset[str]:
        """The order ids whose jobs this process holds now (a live job that will run them)."""

    async def ping(self) -> None:
        """Raise if the queue's backend cannot be reached."""

    async def close(self) -> None:
        """Release connections (after `drain`, when consuming)."""


class Subscription(Protocol):
    """A live feed of events, registered the moment `EventBus.subscribe` returns."""

    def __aiter__(self) -> AsyncIterator[OrderEvent]: ...

    def close(self) -> None:
        """Stop receiving; safe to call twice."""


class EventBus(Protocol):
    """Fans events out to every API process after they are committed."""

    async def start(self) -> None:
        """Connect and begin listening."""

    async def publish(self, event: OrderEvent) -> None:
        """Deliver `event` to every subscriber of its order and to the firehose; best effort."""

    def subscribe(self, order_id: str | None) -> Subscription:
        """Events of one order, or of every order when `order_id` is None."""

    def redeliver(self, event: OrderEvent) -> None:
        """Hand `event` (read back from the event log) to this process's subscribers only.

        For an event the bus dropped on its way here: the other processes are not told.
        """

    async def ping(self) -> None:
        """Raise if the bus's backend cannot be reached."""

    async def close(self) -> None:
        """Stop listening and end every subscription."""


@dataclass(frozen=True, slots=True)
class SwapAccount:
    """One account of an instruction: its address (base58) and how the instruction uses it."""

    pubkey: str
    is_signer: bool = False
    is_writable: bool = False


@dataclass(frozen=True, slots=True)
class SwapInstruction:
    """A venue's swap instruction as plain data: the program, its bytes and its accounts.

    Neutral on purpose: the venue adapter fills it from the pool's on-chain state, the signer
    turns it into a Solana instruction; neither side needs the other's types.
    """

    program_id: str
    data: bytes
    accounts: tuple[SwapAccount, ...]


@dataclass(frozen=True, slots=True)
class SwapRequest:
    """What a venue needs to build the swap for a quote it gave.

    Attributes:
        quote: The venue's quote (its `pool` names the pool to trade against).
        token_in: What the wallet pays.
        token_out: What the wallet receives.
        owner: The wallet that signs and owns both token accounts (base58).
        source: The wallet's token account of `token_in` (wSOL for SOL).
        destination: The wallet's token account of `token_out`.
        amount_in: Base units paid, fee included.
        min_amount_out: The program fails the swap below this.
    """

    quote: Quote
    token_in: Token
    token_out: Token
    owner: str
    source: str
    destination: str
    amount_in: int
    min_amount_out: int


class Venue(Protocol):
    """A DEX: what it would pay for a swap right now, and the instruction that makes the swap."""

    name: str
    program_id: str
    # The compute-unit limit of a swap transaction on this venue when no simulation measured it.
    compute_units: int

    async def quote(self, token_in: Token, token_out: Token, amount_in: int) -> Quote:
        """Quote `amount_in` base units of `token_in` into `token_out`.

        Raises:
            ExecutionError: retryable for timeouts and rate limits; not retryable when the
                venue has no pool for the pair.
        """

    def forget_pools(self, token_a: Token, token_b: Token) -> None:
        """Look the pair's pools up afresh on its next quote (a launch was just seen)."""

    async def swap_instruction(self, request: SwapRequest) -> SwapInstruction:
        """The venue's swap instruction for `request.quote`, from the pool's current state.

        Raises:
            ExecutionError: retryable when the pool's state cannot be read now; not retryable
                when the pool cannot be traded (gone, disabled, an unsupported layout).
        """


@dataclass(frozen=True, slots=True)
class Blockhash:
    """A recent blockhash and the last block height at which a transaction using it may land."""

    blockhash: str
    last_valid_block_height: int


class TxState(StrEnum):
    """What the chain knows of a signature."""

    LANDED = "landed"  # executed successfully
    FAILED = "failed"  # executed with an on-chain error (fee paid, nothing swapped)


@dataclass(frozen=True, slots=True)
class TxStatus:
    """A landed transaction's outcome, read from its token balance changes."""

    state: TxState
    slot: int
    error_code: str | None = None  # program error, e.g. "SLIPPAGE_EXCEEDED"
    error_message: str | None = None
    amount_out: int = 0  # base units the wallet received
    fee_lamports: int = 0


@dataclass(frozen=True, slots=True)
class TokenBalance:
    """One SPL token account of a wallet: what it holds, in base units."""

    mint: str
    account: str  # the token account's address (the wallet's associated account)
    amount: int
    decimals: int


@dataclass(frozen=True, slots=True)
class WalletBalances:
    """A wallet's SOL and SPL token balances, read from the chain at one moment."""

    lamports: int
    tokens: tuple[TokenBalance, ...] = ()
    slot: int | None = None  # the slot the node read them at, when it says


class Chain(Protocol):
    """A Solana JSON-RPC node (the simulator today, devnet later)."""

    async def latest_blockhash(self) -> Blockhash:
        """The latest blockhash and its `lastValidBlockHeight`."""

    async def block_height(self) -> int:
        """The current block height."""

    async def send_transaction(self, raw_tx: str) -> str:
        """Send a base64 wire transaction; returns its signature.

        Re-sending a transaction the chain already has is harmless: the same signature can
        land at most once.
        """

    async def signature_status(
        self, signature: str, mint_out: str | None = None
    ) -> TxStatus | None:
        """The transaction's outcome, or None while the chain has not seen it land.

        `mint_out` is the token the swap pays out: the amount received is read from the
        wallet's balance changes of that mint (lamports for wSOL, which the swap unwraps);
        without it, from the mint whose balance grew.
        """

    async def balances(self, owner: str) -> WalletBalances:
        """The lamports and every SPL Token account of the wallet `owner` (base58).

        Raises:
            ValueError: `owner` is not a base58 public key.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """

    async def request_airdrop(self, owner: str, lamports: int) -> str:
        """Ask the chain's faucet for `lamports` to `owner`; returns the airdrop's signature.

        The credit lands like any transaction: read the balance to see it arrive.

        Raises:
            ValueError: `owner` is not a public key, or `lamports` is not positive.
            ExecutionError: RPC_UNAVAILABLE (retryable: faucets rate-limit), RPC_ERROR, or
                RPC_METHOD_NOT_FOUND when the node has no faucet (mainnet).
        """

    async def simulate_units(self, raw_tx: str) -> int:
        """Simulate a base64 wire transaction (unsigned is fine); the compute units it used.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable), RPC_ERROR, or SIMULATION_FAILED (not
                retryable as such: the transaction would fail; the message has the logs).
        """

    async def mint_decimals(self, mint: str) -> int | None:
        """The decimals of the SPL mint `mint` (base58), or None when no mint exists there yet.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """

    async def prioritization_fees(self, accounts: Sequence[str]) -> list[int]:
        """Recent prioritization fees (micro-lamports per compute unit) of transactions that
        wrote to any of `accounts`, one per recent slot, oldest first.

        Raises:
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """


@dataclass(frozen=True, slots=True)
class ComputeBudget:
    """The compute-unit limit and price (micro-lamports per unit) a transaction sets."""

    unit_limit: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class SwapPlan:
    """A swap to assemble: the venue's instruction and what the wallet pays and receives.

    The signer wraps it: compute budget first, wSOL wrap and output account creation before
    the swap, wSOL unwrap after it, the memo last.
    """

    venue: str
    swap: SwapInstruction
    token_in: Token
    token_out: Token
    amount_in: int
    min_amount_out: int
    memo: str | None = None  # e.g. the order id and attempt: distinct, auditable transactions


class SwapSigner(Protocol):
    """The engine's wallet: assembles and signs swap transactions (a local key today)."""

    owner: str  # the wallet's public key (base58)

    def token_account(self, mint: str) -> str:
        """The wallet's token account of `mint` (its associated token account)."""

    def draft(self, plan: SwapPlan, budget: ComputeBudget, blockhash: Blockhash) -> str:
        """The plan's transaction unsigned (base64 wire format), to simulate."""

    def sign(self, plan: SwapPlan, budget: ComputeBudget, blockhash: Blockhash) -> SignedSwap:
        """The plan's transaction, signed; valid until the blockhash expires."""


class Clock(Protocol):
    """Time, so tests and simulations can control it."""

    def now(self) -> datetime:
        """The current UTC time."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""


@dataclass(frozen=True, slots=True)
class PoolLaunch:
    """A pool that opened on a venue: what a sniper order waits for.

    Attributes:
        venue: "raydium" or "meteora".
        pool: The pool's address (base58).
        mint_a: The pool's first mint (Raydium's coin, DLMM's token X), base58.
        mint_b: The pool's second mint (Raydium's pc, DLMM's token Y), base58.
        signature: The launch transaction; None when the pool was found by a catch-up scan.
        slot: The slot the launch landed in; None when found by a catch-up scan.
    """

    venue: str
    pool: str
    mint_a: str
    mint_b: str
    signature: str | None
    slot: int | None


LaunchHandler = Callable[[PoolLaunch], Awaitable[None]]


class StopSignal(Protocol):
    """What `LaunchFeed.run` needs of a stop flag (`asyncio.Event` is one; the domain imports
    no asyncio)."""

    def is_set(self) -> bool: ...

    async def wait(self) -> bool: ...


class LaunchFeed(Protocol):
    """The chain's pool launches, heard as a sniper bot hears them."""

    async def run(
        self,
        on_launch: LaunchHandler,
        on_subscribed: Callable[[], Awaitable[None]],
        stop: StopSignal,
    ) -> None:
        """Deliver every pool launch on the venues' programs until `stop` is set.

        Subscribes (`logsSubscribe`, one subscription per venue program id) and calls
        `on_subscribed` after every successful (re)subscription, so the caller can catch up on
        what it missed while disconnected (with `pools_of`). Reconnects with capped exponential
        backoff after any disconnect or error. A launch may be delivered more than once (and is
        also what a later `pools_of` finds): handlers must be idempotent. Never raises except
        on cancellation.
        """

    async def pools_of(self, mint: str) -> list[PoolLaunch]:
        """Pools that already trade `mint` on any venue (found with `getProgramAccounts`): the
        catch-up after a reconnect and the check when an order is armed.

        Raises:
            ValueError: `mint` is not a base58 public key.
            ExecutionError: RPC_UNAVAILABLE (retryable) or RPC_ERROR.
        """


class RateLimiter(Protocol):
    """How often each client may call the API (`oee.domain.ratelimit`: the policy, the GCRA).

    Adapters: `oee.adapters.ratelimit.memory` (one process) and `.redis` (every API process of a
    deployment shares each client's budget).
    """

    async def hit(self, key: str, policy: RatePolicy) -> RateDecision | None:
        """Count one request of client `key` under `policy`, and say whether it may pass.

        A refused request costs nothing: it does not push the client's next chance further
        away. Returns None when the limiter's store cannot be reached: the caller lets the
        request through (the limiter fails open; the adapter logs it).
        """

    async def close(self) -> None:
        """Release connections."""


class NotionalLimiter(Protocol):
    """The USD each API key may route a minute (`oee.domain.risk.NotionalWindow`).

    Adapters: `oee.adapters.notional.memory` (one worker process) and `.redis` (every worker of
    a deployment shares each key's window). Unlike the rate limiter it fails closed: a store
    that cannot be reached raises, and the order waits for it rather than routing unchecked.
    """

    async def spend(
        self, key: str, order_id: str, usd_micro: int, cap_micro: int
    ) -> NotionalDecision:
        """Count order `order_id` of client `key`, worth `usd_micro` micro-dollars, if the key's
        last minute stays within `cap_micro`. An order already counted in the window passes
        again without counting twice; a refused one counts nothing."""

    async def close(self) -> None:
        """Release connections."""


class KillSwitch(Protocol):
    """Where the kill switch's state lives: shared by every process, kept across restarts.

    Adapters: `oee.adapters.killswitch.sqlalchemy` (a row in the order store's database) and
    `.memory` (one process, for tests and tools).
    """

    async def read(self) -> Halt:
        """The current state (never set: trading)."""

    async def write(self, state: Halt) -> None:
        """Replace the state."""
