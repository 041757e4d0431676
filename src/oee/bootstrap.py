"""The composition root: builds the engine's object graph from settings.

Only this module (and the CLI that calls it) reads settings and picks adapters; everything else
receives its collaborators. Adapters that need Redis are imported lazily, so the embedded
default never imports them. Tests build their own `Engine` with the pieces they want.
"""

from __future__ import annotations

import urllib.request
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx
import structlog

from oee.adapters.clock import SystemClock
from oee.adapters.http1 import Http1Client
from oee.clusters import PROFILES, pubsub_url
from oee.domain.ports import (
    Chain,
    Clock,
    EventBus,
    JobQueue,
    LaunchFeed,
    NotionalLimiter,
    OrderStore,
    RateLimiter,
    Venue,
)
from oee.domain.risk import TokenPolicy
from oee.domain.tokens import MAINNET_TOKENS, Registry
from oee.metrics import Metrics
from oee.services.admission import Admission, AdmissionLimits
from oee.services.halt import HaltGate
from oee.services.orders import OrderService
from oee.settings import Settings
from oee.worker.main import Worker

if TYPE_CHECKING:
    from solders.keypair import Keypair

    from oee.adapters.chain.asgi_websocket import AsgiApp
    from oee.adapters.chain.rpc import RpcChain
    from oee.adapters.launches.feed import PubSubLaunchFeed
    from oee.adapters.venues.onchain.venue import OnchainVenue
    from oee.sim.persistence import Snapshots

log = structlog.get_logger(__name__)

Role = Literal["serve", "api", "worker"]


@dataclass
class Engine:
    """Everything one process of the engine runs with.

    `start()` connects the bus and starts the worker when there is one; `stop()` drains the
    worker first and closes the adapters after, so no running step loses its connections.
    """

    settings: Settings
    clock: Clock
    store: OrderStore
    queue: JobQueue
    bus: EventBus
    orders: OrderService
    worker: Worker | None = None
    # The HTTP client to the chain and venues (JSON-RPC, quote APIs), shared with the worker.
    http: httpx.AsyncClient | None = None
    # The lean keep-alive client the JSON-RPC and quote calls use when they go over sockets.
    lean_http: Http1Client | None = None
    # The venues' quote clients: the worker routes with them, `GET /api/quotes` quotes with them.
    venues: list[Venue] = field(default_factory=list)
    # The chain the worker signs for; `GET /api/wallet` reads the wallet's balances from it.
    chain: Chain | None = None
    # The engine wallet's public key (base58): the same in every process of a deployment.
    wallet: str | None = None
    # One registry per engine: the executor records into it, the API renders it on /metrics.
    metrics: Metrics = field(default_factory=Metrics)
    # The tokens orders may name on this engine's cluster.
    registry: Registry = MAINNET_TOKENS
    # The in-process simulator's snapshots (embedded `serve`): its chain survives a restart.
    sim_snapshots: Snapshots | None = None
    # Pool launches heard on the chain's PubSub (what sniper orders wait for); idle until run.
    launches: LaunchFeed | None = None
    # How often each client may call the API (`OEE_RATE_LIMIT`); None: no rate limit. Built for
    # the processes that serve the API: in memory when alone, in Redis when there are several.
    rate_limiter: RateLimiter | None = None
    # The kill switch as this process sees it. Built on the store's database by
    # `build_engine`; an engine built without one (a test's) gets one in memory.
    halt_switch: InitVar[HaltGate | None] = None
    # The USD each API key may route a minute, in the processes that execute orders.
    notional: NotionalLimiter | None = None

    def __post_init__(self, halt_switch: HaltGate | None) -> None:
        if halt_switch is None:
            from oee.adapters.killswitch.memory import MemoryKillSwitch

            halt_switch = HaltGate(MemoryKillSwitch(), self.clock, self.metrics)
        self.halt = halt_switch
        self._policy: tuple[Settings, TokenPolicy] | None = None

    @property
    def token_policy(self) -> TokenPolicy:
        """The tokens submits may name (`OEE_TOKEN_ALLOWLIST`, `OEE_TOKEN_DENYLIST`), resolved
        once per settings object."""
        if self._policy is None or self._policy[0] is not self.settings:
            self._policy = (self.settings, self.settings.token_policy)
        return self._policy[1]

    async def start(self) -> None:
        """Connect the bus, then start consuming jobs (if this process is a worker)."""
        if self.sim_snapshots is not None:
            self.sim_snapshots.start()
        await self.bus.start()
        if self.worker is not None:
            await self.worker.start()

    async def stop(self) -> None:
        """Drain the worker, then save the simulator's chain and close the HTTP client,
        queue, bus and store."""
        if self.worker is not None:
            await self.worker.stop()
        if self.sim_snapshots is not None:
            await self.sim_snapshots.close()
        if self.http is not None:
            await self.http.aclose()
        if self.lean_http is not None:
            await self.lean_http.aclose()
        if self.rate_limiter is not None:
            await self.rate_limiter.close()
        if self.notional is not None:
            await self.notional.close()
        if self.orders.admission is not None:
            await self.orders.admission.close()
        await self.queue.close()
        await self.bus.close()
        await self.store.close()


async def build_engine(settings: Settings, role: Role = "serve") -> Engine:
    """Build the engine for one process from settings.

    Args:
        settings: The whole settings tree.
        role: "serve" runs API and worker in one process, "api" only accepts and streams
            orders, "worker" only executes them.

    Returns:
        An engine that is built but not started.
    """
    from oee.adapters.killswitch.sqlalchemy import SqlAlchemyKillSwitch
    from oee.adapters.store.migrate import migrate
    from oee.adapters.store.sqlalchemy import SqlAlchemyStore, make_engine

    profile = PROFILES[settings.cluster]
    url = settings.sqlalchemy_url
    if settings.migrate_on_start:
        await migrate(url)
    database = make_engine(url)  # the store's; the kill switch's row lives beside the orders
    store: OrderStore = SqlAlchemyStore(database, profile.registry)
    if settings.store_group_commit:
        from oee.adapters.store.group_commit import GroupCommitStore

        store = GroupCommitStore(
            store, settings.store_group_commit_max, settings.store_group_commit_window_ms / 1e3
        )
    queue = _build_queue(settings)
    bus = _build_bus(settings)
    clock = SystemClock()
    metrics = Metrics()
    halt = HaltGate(SqlAlchemyKillSwitch(database), clock, metrics)
    notional = _build_notional(settings) if role != "api" else None
    side = _chain_and_venues(settings, role)
    chain = side.chain
    if role != "serve" and settings.rpc_url is None and settings.cluster == "sim":
        # Each such process gets a simulated chain of its own: a job another worker takes over
        # would look for its transaction on a different chain. Fine for a demo, never for a
        # deployment that shares a queue.
        log.warning(
            "private_simulator",
            role=role,
            hint="set OEE_RPC_URL to one `oee sim` shared by every api and worker process",
        )
    worker, wallet = None, None
    if role != "api":
        # A worker signs: it loads the one wallet file, or creates it on first start.
        keypair = _load_wallet(settings)
        worker = _build_worker(
            settings,
            store,
            queue,
            bus,
            clock,
            metrics,
            chain,
            side.venues,
            keypair,
            side.launches,
            take_over=role == "serve" and settings.redis_url is None,
            halt=halt,
            notional=notional,
        )
        wallet = str(keypair.pubkey())
    return Engine(
        settings=settings,
        clock=clock,
        store=store,
        queue=queue,
        bus=bus,
        orders=OrderService(
            store,
            queue,
            bus,
            clock,
            idempotency_window_s=settings.idempotency_window_s,
            admission=_build_admission(settings, queue, clock) if role != "worker" else None,
        ),
        worker=worker,
        http=side.http,
        lean_http=side.lean_http,
        venues=side.venues,
        metrics=metrics,
        registry=profile.registry,
        # An API-only process without OEE_RPC_URL has a simulator of its own, not the chain the
        # workers sign on: it has no chain to read the wallet from, nor launches to hear.
        chain=chain if role != "api" or settings.rpc_url is not None else None,
        launches=side.launches if role != "api" or settings.rpc_url is not None else None,
        # The API only reads the public key, when it needs it (`oee.api.wallet`): a worker may
        # create the wallet after the API has started.
        wallet=wallet,
        sim_snapshots=side.snapshots,
        rate_limiter=_build_rate_limiter(settings) if role != "worker" else None,
        halt_switch=halt,
        notional=notional,
    )


def _load_wallet(settings: Settings) -> Keypair:
    from oee.adapters.chain.transactions import load_or_create_keypair

    return load_or_create_keypair(settings.wallet_file)


def _build_admission(settings: Settings, queue: JobQueue, clock: Clock) -> Admission:
    limits = settings.admission
    lag_ms = limits.max_loop_lag_ms
    return Admission(
        queue,
        AdmissionLimits(
            max_queue_wait_s=limits.max_queue_wait_s,
            max_queue_depth=limits.max_queue_depth,
            max_submits_in_flight=limits.max_submits_in_flight,
            max_loop_lag_s=None if lag_ms is None else lag_ms / 1000,
        ),
        clock.now,
    )


def _build_queue(settings: Settings) -> JobQueue:
    if settings.redis_url is None:
        from oee.adapters.queue.memory import MemoryQueue

        return MemoryQueue()
    from oee.adapters.queue.bullmq import BullMQQueue

    return BullMQQueue(
        settings.redis_url,
        settings.redis_prefix,
        lock_duration_ms=settings.worker.lock_duration_ms,
        stalled_interval_ms=settings.worker.stalled_interval_ms,
    )


def _build_bus(settings: Settings) -> EventBus:
    if settings.redis_url is None:
        from oee.adapters.bus.memory import MemoryBus

        return MemoryBus()
    from oee.adapters.bus.redis import RedisBus

    return RedisBus(settings.redis_url, settings.redis_prefix)


def _build_rate_limiter(settings: Settings) -> RateLimiter | None:
    """Shared through Redis whenever there is one (every API process draws on one budget per
    client), else in this process's memory; None when `OEE_RATE_LIMIT` is off."""
    if settings.rate_policy is None:
        return None
    if settings.redis_url is None:
        from oee.adapters.ratelimit.memory import MemoryRateLimiter

        return MemoryRateLimiter()
    from oee.adapters.ratelimit.redis import RedisRateLimiter

    return RedisRateLimiter(settings.redis_url, settings.redis_prefix)


def _build_notional(settings: Settings) -> NotionalLimiter | None:
    """Each key's USD of the last minute: in Redis whenever there is one (every worker counts in
    one window per key), else in this process's memory; None without the cap."""
    if settings.max_notional_usd_per_key_per_minute is None:
        return None
    if settings.redis_url is None:
        from oee.adapters.notional.memory import MemoryNotionalLimiter

        return MemoryNotionalLimiter()
    from oee.adapters.notional.redis import RedisNotionalLimiter

    return RedisNotionalLimiter(settings.redis_url, settings.redis_prefix)


def _build_worker(
    settings: Settings,
    store: OrderStore,
    queue: JobQueue,
    bus: EventBus,
    clock: Clock,
    metrics: Metrics,
    chain: Chain,
    venues: list[Venue],
    keypair: Keypair,
    launches: LaunchFeed | None,
    *,
    take_over: bool,
    halt: HaltGate,
    notional: NotionalLimiter | None,
) -> Worker:
    from oee.adapters.chain.transactions import SwapTransactionBuilder
    from oee.services.executor import Executor, RetryPolicy
    from oee.services.fees import FeePolicy
    from oee.services.recovery import RecoverySweep
    from oee.services.triggers import TriggerService
    from oee.services.wallet import WalletFunder, sol_to_lamports

    signer = SwapTransactionBuilder(keypair)
    fees = FeePolicy(
        simulate=settings.simulate_compute,
        margin=settings.compute_margin,
        percentile=settings.cu_price_percentile,
        min_price=settings.min_cu_price_microlamports,
        max_price=settings.max_cu_price_microlamports,
        estimate_ttl_s=settings.compute_estimate_ttl_s,
    )
    triggers = TriggerService(
        store,
        queue,
        bus,
        clock,
        venues,
        chain,
        launches,
        lease_s=settings.triggers.lease_s,
        beat_s=settings.triggers.beat_s,
        poll_s=settings.triggers.poll_s,
        quote_timeout_s=settings.quote_timeout_s,
        # The embedded engine is the only process: a previous run's holds are void at start.
        take_over_at_start=take_over,
    )
    executor = Executor(
        store,
        bus,
        venues,
        chain,
        signer,
        clock,
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
        ),
        quote_timeout_s=settings.quote_timeout_s,
        confirm_poll_s=settings.confirm_poll_s,
        metrics=metrics,
        fees=fees,
        max_notional_usd=settings.max_notional_usd,
        max_price_impact_bps=settings.max_price_impact_bps,
        on_armed=triggers.watch,  # an order this worker arms is watched here at once
        halt=halt,
        notional_rate=(settings.max_notional_usd_per_key_per_minute, notional)
        if settings.max_notional_usd_per_key_per_minute is not None and notional is not None
        else None,
    )
    recovery = RecoverySweep(
        store,
        queue,
        clock,
        interval_s=settings.recovery.interval_s,
        stale_after_s=settings.recovery.stale_after_s,
        batch=settings.recovery.batch,
    )
    worker = Worker(
        queue,
        executor,
        recovery,
        concurrency=settings.worker.concurrency,
        grace_s=settings.worker.grace_s,
        funder=WalletFunder(
            chain,
            str(keypair.pubkey()),
            clock,
            min_lamports=sol_to_lamports(settings.wallet_min_sol),
            # No faucet (mainnet): never ask; the settings refuse a mainnet start that would.
            airdrop_lamports=sol_to_lamports(settings.wallet_airdrop_sol)
            if PROFILES[settings.cluster].faucet
            else 0,
        ),
        triggers=triggers,
    )
    return worker


def _proxied(*urls: str | None) -> list[str]:
    """Those of `urls` the environment sends through a proxy (HTTP(S)_PROXY, ALL_PROXY, minus
    NO_PROXY), as httpx would."""
    proxies = urllib.request.getproxies_environment()
    through = []
    for url in urls:
        if url is None:
            continue
        parts = urlsplit(url)
        if not (proxies.get(parts.scheme) or proxies.get("all")):
            continue
        if not urllib.request.proxy_bypass(parts.hostname or ""):
            through.append(url)
    return through


@dataclass
class _ChainSide:
    """What talks to the chain: the HTTP client, the chain, the venues, the launch feed."""

    http: httpx.AsyncClient
    chain: Chain
    venues: list[Venue]
    launches: LaunchFeed
    snapshots: Snapshots | None
    lean_http: Http1Client | None = None  # RPC and quotes over sockets (not in-process)


def _chain_and_venues(settings: Settings, role: Role) -> _ChainSide:
    """The chain and venue clients over HTTP: Solana JSON-RPC, and quotes from the chain's pool
    accounts (or, on the simulator, optionally its quote services; the swap is built from the
    chain's accounts either way), and the launch feed over PubSub (`build_launch_feed`).

    With no OEE_RPC_URL on the `sim` cluster the simulator runs in this process and is reached
    in-process: JSON-RPC calls its handler directly with the request bytes (no HTTP), quotes
    and the WebSocket route go through an ASGI transport: the same requests and parsing as over
    a socket, minus the socket. Over sockets, JSON-RPC and quotes use the lean keep-alive
    client (`oee.adapters.http1`); concurrent reads share batch requests either way. Other
    clusters default to their profile's public endpoint. The embedded `serve` keeps that simulator's chain in `OEE_SIM_DATA_DIR`
    (default `OEE_DATA_DIR/sim`); an `api` or `worker` process without OEE_RPC_URL has a
    private one, in memory only.

    Raises:
        SnapshotError: The simulator's snapshot cannot be used (the message says why and how
            to reset), or another process holds its directory.
        ProgramLoadError: A program binary in `OEE_SIM_PROGRAMS_DIR` cannot be loaded.
        ValueError: No usable PubSub URL follows from the settings (`build_launch_feed`).
    """
    from oee.adapters.chain.rpc import RpcChain
    from oee.adapters.chain.rpc_transport import InProcessTransport, RpcTransport

    profile = PROFILES[settings.cluster]
    rpc_url = settings.rpc_url or profile.rpc_url
    snapshots = None
    sim_app: AsgiApp | None = None
    if rpc_url is None:
        from oee.sim import build_sim
        from oee.sim.app import create_sim_app

        world, ledger = build_sim(settings.sim)
        if role == "serve":
            from oee.sim.persistence import Snapshots

            snapshots = Snapshots.open(
                world,
                ledger,
                settings.sim_data_dir,
                interval_s=settings.sim.snapshot_interval_s,
            )
        sim_app = create_sim_app(world, ledger, settings.sim)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app))
        rpc_url = "http://sim/"
        rpc: RpcTransport | Http1Client | httpx.AsyncClient = InProcessTransport(
            sim_app.state.json_rpc
        )
        quotes: httpx.AsyncClient | Http1Client = client
    else:
        # httpx stays for the odd health probe; the hot calls use the lean client (httpcore's
        # pool costs ~1.5 ms of CPU per request under load, measured).
        client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
        proxied = _proxied(rpc_url, settings.raydium_quote_url, settings.meteora_quote_url)
        if proxied:
            # The lean client speaks to the origin only; httpx honours HTTP(S)_PROXY/NO_PROXY.
            log.info("rpc_via_proxy", urls=proxied, client="httpx")
            rpc = quotes = client
        else:
            rpc = quotes = Http1Client(connections=settings.rpc_connections)
    chain = RpcChain(
        rpc,
        rpc_url,
        fee_ttl_s=settings.fee_ttl_s,
        batch_window_s=settings.rpc_batch_window_s,
        batch_max=settings.rpc_batch_max,
    )
    lean_http = quotes if isinstance(quotes, Http1Client) else None
    launches = build_launch_feed(settings, chain, sim_app)
    if settings.chain_quotes:
        readers: list[Venue] = list(chain_venues(settings, chain))
        return _ChainSide(client, chain, readers, launches, snapshots, lean_http)
    from oee.adapters.venues.meteora import MeteoraVenue
    from oee.adapters.venues.raydium import RaydiumVenue

    base = rpc_url.rstrip("/")
    timeout = settings.quote_timeout_s
    raydium, meteora = chain_venues(settings, chain)  # they build the swaps the services price
    venues: list[Venue] = [
        RaydiumVenue(
            quotes, settings.raydium_quote_url or f"{base}/raydium",
            builder=raydium, timeout_s=timeout,
        ),
        MeteoraVenue(
            quotes, settings.meteora_quote_url or f"{base}/meteora",
            builder=meteora, timeout_s=timeout,
        ),
    ]  # fmt: skip
    return _ChainSide(client, chain, venues, launches, snapshots, lean_http)


def chain_venues(settings: Settings, chain: RpcChain) -> list[OnchainVenue[Any]]:
    """Raydium and Meteora read from the chain with the cluster's program ids."""
    from oee.adapters.venues.onchain.meteora import MeteoraOnchain
    from oee.adapters.venues.onchain.raydium import RaydiumOnchain

    profile = PROFILES[settings.cluster]
    caches = {
        "pool_ttl_s": settings.pool_ttl_s,
        "miss_ttl_s": settings.pool_miss_ttl_s,
        "state_ttl_s": settings.pool_state_ttl_s,
    }
    return [
        RaydiumOnchain(chain, program_id=profile.raydium_program, **caches),
        MeteoraOnchain(chain, program_id=profile.meteora_program, **caches),
    ]


def build_launch_feed(
    settings: Settings, chain: RpcChain, sim_app: AsgiApp | None = None
) -> PubSubLaunchFeed:
    """The launch feed (`LaunchFeed`) on the cluster's venue programs, reading through `chain`.

    Args:
        settings: The cluster, `OEE_WS_URL` and `OEE_RPC_URL` (`oee.clusters.pubsub_url`).
        chain: The JSON-RPC client of the node the feed listens to (`getTransaction`,
            `getProgramAccounts`).
        sim_app: The simulator's app when it runs in this process (the embedded default): the
            feed drives its WebSocket route directly. None: a socket to the PubSub URL.

    Raises:
        ValueError: No PubSub URL follows from the settings, or it is not ws:// or wss://.
    """
    from oee.adapters.chain.asgi_websocket import asgi_connector
    from oee.adapters.chain.websocket import websocket_connector
    from oee.adapters.launches.feed import PubSubLaunchFeed
    from oee.adapters.launches.venues import launch_venues

    profile = PROFILES[settings.cluster]
    if sim_app is not None:
        connect = asgi_connector(sim_app)
    else:
        url = pubsub_url(settings.ws_url, settings.rpc_url, profile)
        if url is None:
            raise ValueError("no Solana PubSub URL to hear launches on: set OEE_WS_URL")
        connect = websocket_connector(url)
    venues = launch_venues(profile.raydium_program, profile.meteora_program)
    return PubSubLaunchFeed(connect, chain, venues)
