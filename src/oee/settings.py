"""One typed settings tree, read from the environment once, at the composition root.

Environment names: `OEE_` plus the field name (`OEE_MAX_ATTEMPTS`), nested groups add their own
prefix (`OEE_WORKER_CONCURRENCY`, `OEE_SIM_LATENCY_SCALE`), and the seed's `PORT`,
`DATABASE_URL` and `REDIS_URL` are read as they are.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from oee.clusters import PROFILES
from oee.domain.ratelimit import RatePolicy, parse_rate
from oee.domain.risk import TokenPolicy
from oee.solana.base58 import b58decode, b58encode


class WorkerSettings(BaseSettings):
    """How a worker takes and runs jobs."""

    model_config = SettingsConfigDict(env_prefix="OEE_WORKER_", extra="ignore")

    concurrency: int = Field(10, ge=1, le=1000, description="Orders executed at once per worker.")
    grace_s: float = Field(
        10.0, ge=0, description="On shutdown, how long running orders may finish."
    )
    # A killed worker's jobs are re-delivered within about lock + 2 x stalled interval (measured
    # 2.2 s with 2000/1000): 4 s / 2 s resumes them in under 8 s. A live worker renews its locks
    # every lock/4 from a thread of its own (`oee.adapters.queue.bullmq_locks`), so it keeps
    # them however long its event loop stalls.
    lock_duration_ms: int = Field(
        4_000,
        ge=1000,
        description="BullMQ job lock; a dead worker's jobs resume after about this.",
    )
    stalled_interval_ms: int = Field(2_000, ge=500, description="BullMQ stalled-job check period.")
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Serve this worker's Prometheus metrics on this port."
    )


class SimSettings(BaseSettings):
    """The simulated venues and chain that run inside the engine today."""

    model_config = SettingsConfigDict(env_prefix="OEE_SIM_", extra="ignore")

    latency_scale: float = Field(
        1.0, ge=0, description="Multiplies every simulated latency; 0 = none."
    )
    seed: int = Field(7, description="Seeds prices and faults so a run is reproducible.")
    quote_latency_ms: float = Field(200.0, ge=0, description="Mean venue quote latency.")
    confirm_min_ms: float = Field(2000.0, ge=0, description="Least time from send to landing.")
    confirm_max_ms: float = Field(3000.0, ge=0, description="Most time from send to landing.")
    fault_rate: float = Field(
        0.0, ge=0, le=1, description="Chance that a quote or a send fails with a transient error."
    )
    slow_confirm_rate: float = Field(
        0.0, ge=0, le=1, description="Chance that a transaction lands slow_confirm_ms late."
    )
    slow_confirm_ms: float = Field(
        15000.0, ge=0, description="Extra landing delay of a slow confirmation (scaled)."
    )
    expired_blockhash_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance that getLatestBlockhash answers a stale hash that expires unlanded.",
    )
    slippage_move_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance that a trade just ahead of a swap moves its pool against it.",
    )
    slippage_move_bps: int = Field(
        100, ge=0, le=5000, description="How far such a trade moves the pool's price."
    )
    slot_ms: float = Field(400.0, gt=0, description="Time per block before latency scaling.")
    volatility_scale: float = Field(
        1.0,
        ge=0,
        le=100,
        description="Multiplies every random step of the price process (each token's walk, the "
        "venues' gap); 0 holds prices still, so only swaps and `POST /admin/move` change them.",
    )
    launch_interval_s: float = Field(
        0.0,
        ge=0,
        description="Mean seconds between random pool launches (not scaled: a launch rate is "
        "not a latency); 0 = none.",
    )
    data_dir: Path | None = Field(
        None,
        description="Where `oee sim` keeps the chain's snapshot (default: OEE_DATA_DIR/sim).",
    )
    snapshot_interval_s: float = Field(
        5.0,
        gt=0,
        description="Seconds between snapshots of the chain while it changes (a crash loses "
        "at most this much).",
    )
    programs_dir: Path | None = Field(
        None,
        description="A directory of `<program id>.so` files that litesvm runs instead of the "
        "simulator's model of that program.",
    )


class TriggerSettings(BaseSettings):
    """The trigger stage: how armed limit and sniper orders are watched and shared out."""

    model_config = SettingsConfigDict(env_prefix="OEE_TRIGGERS_", extra="ignore")

    poll_s: float = Field(
        0.5, gt=0, description="How often each pair with armed limit orders is priced."
    )
    beat_s: float = Field(
        1.0, gt=0, description="How often a worker renews its hold on its armed orders."
    )
    lease_s: float = Field(
        5.0,
        gt=0,
        description="A worker silent this long is taken for dead: its armed orders move to "
        "another worker.",
    )

    @model_validator(mode="after")
    def _beat_within_lease(self) -> TriggerSettings:
        if self.beat_s * 2 > self.lease_s:
            raise ValueError("OEE_TRIGGERS_LEASE_S must be at least twice OEE_TRIGGERS_BEAT_S")
        return self


class RecoverySettings(BaseSettings):
    """The sweep that re-enqueues orders no live job holds."""

    model_config = SettingsConfigDict(env_prefix="OEE_RECOVERY_", extra="ignore")

    interval_s: float = Field(5.0, gt=0, description="How often the sweep runs.")
    stale_after_s: float = Field(
        15.0, ge=0, description="An unfinished order untouched this long is enqueued again."
    )
    batch: int = Field(
        200,
        ge=1,
        le=10_000,
        description="Orders one sweep enqueues at most (the rest wait for the next sweeps).",
    )


class AdmissionSettings(BaseSettings):
    """Past these limits a submit answers 503 OVERLOADED with Retry-After (`oee.services.admission`)."""

    model_config = SettingsConfigDict(env_prefix="OEE_ADMISSION_", extra="ignore")

    max_queue_wait_s: float | None = Field(
        30.0, gt=0, description="Refuse submits while the oldest queued order waited this long."
    )
    max_queue_depth: int | None = Field(
        1000, ge=1, description="Refuse submits while more orders than this are queued."
    )
    max_submits_in_flight: int | None = Field(
        256, ge=1, description="Submits one API process stores at once; more are refused."
    )
    max_loop_lag_ms: float | None = Field(
        1000.0, gt=0, description="Refuse submits while the API's event loop lags this much."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value


# What devnet's public faucet hands out per request (more is refused).
DEVNET_MAX_AIRDROP_SOL = Decimal(5)
# Lamports are a u64 on chain: about 18.4 billion SOL at most; a setting above a billion is a typo.
MAX_WALLET_SOL = Decimal(10**9)
# The notional window counts in integer micro-dollars, exact in Redis's Lua (doubles) to 2^53.
MAX_NOTIONAL_RATE_USD = Decimal(10**9)


class Settings(BaseSettings):
    """Everything the engine reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="OEE_", extra="ignore", populate_by_name=True)

    env: str = Field(
        "development", description="A name for this deployment, shown by `GET /health`."
    )
    # Loopback unless told otherwise: an engine reachable from elsewhere must say so on purpose
    # (and, without API keys, also set allow_open; see `oee.api.keys.exposure_problem`).
    host: str = Field(
        "127.0.0.1", description="Interface to listen on; 0.0.0.0 serves every interface."
    )
    port: int = Field(
        3000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("PORT", "OEE_PORT"),
        description="Port for HTTP and WebSocket (also read as OEE_PORT).",
    )
    data_dir: Path = Field(
        Path(".oee"), description="The SQLite file, the engine wallet and the simulated chain."
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "OEE_DATABASE_URL"),
        description="PostgreSQL (postgresql://...); unset: SQLite in OEE_DATA_DIR.",
    )
    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "OEE_REDIS_URL"),
        description="Redis for the BullMQ queue and the event bus; unset: both in memory.",
    )
    redis_prefix: str = Field("oee", description="Prefix of every Redis key and channel.")
    cluster: Literal["sim", "devnet", "mainnet-beta"] = Field(
        "sim",
        description="Which chain: the built-in simulator (mainnet's program ids and mints), "
        "devnet or mainnet-beta (program ids, mints and default URLs from its profile).",
    )
    rpc_url: str | None = Field(
        None,
        description="Solana JSON-RPC: `oee sim`, or a node of the cluster; unset: the simulator "
        "in-process (sim), the cluster's public endpoint (devnet, mainnet-beta).",
    )
    ws_url: str | None = Field(
        None,
        description="Solana PubSub WebSocket, where launches are heard; unset: OEE_RPC_URL's "
        "twin (same host, port and path, ws/wss; how `oee sim` and RPC providers serve it), "
        "else the cluster's public endpoint. A bare agave node listens on its RPC port + 1.",
    )
    quote_source: Literal["chain", "api"] = Field(
        "chain",
        description="`chain`: read pools over JSON-RPC and quote with the venues' math; `api`: "
        "quote with the simulator's quote services (sim only). Either way the swap is the "
        "venue's real instruction, built from the quoted pool's accounts.",
    )
    pool_ttl_s: float = Field(
        60.0, gt=0, description="How long a pair's pools found by getProgramAccounts are kept."
    )
    pool_miss_ttl_s: float = Field(
        5.0, gt=0, description="How long 'no pool for this pair' is kept (new pools show up)."
    )
    pool_state_ttl_s: float = Field(
        0.4, ge=0, description="The oldest pool state a quote may use (about one slot)."
    )
    simulate_compute: bool = Field(
        True, description="Set the compute-unit limit from simulateTransaction."
    )
    compute_margin: float = Field(
        0.2, ge=0, le=5, description="Added to the simulated compute units (0.2 = 20 %)."
    )
    cu_price_percentile: int = Field(
        75, ge=0, le=100, description="Percentile of recent prioritization fees to pay."
    )
    min_cu_price_microlamports: int = Field(
        10_000, ge=0, description="Compute-unit price floor (micro-lamports per unit)."
    )
    max_cu_price_microlamports: int = Field(
        1_000_000, ge=0, description="Compute-unit price cap (micro-lamports per unit)."
    )
    fee_ttl_s: float = Field(
        5.0, ge=0, description="How long a getRecentPrioritizationFees reading is reused."
    )
    # -- JSON-RPC client cost (issue #13): batching, connections, compute estimates ----------
    rpc_batch_window_s: float = Field(
        0.002,
        ge=0,
        description="Concurrent JSON-RPC reads within this window share one batch request "
        "(0: no batching).",
    )
    rpc_batch_max: int = Field(64, ge=1, le=1000, description="JSON-RPC calls per batch at most.")
    rpc_connections: int = Field(
        16, ge=1, le=1000, description="Keep-alive connections per RPC or quote host; more queue."
    )
    compute_estimate_ttl_s: float = Field(
        10.0,
        ge=0,
        description="How long a simulated compute-unit estimate is reused per venue and pool "
        "(0: simulate every order).",
    )
    mainnet_i_understand: bool = Field(
        False, description="Required to run on mainnet-beta: real funds are at stake."
    )
    max_notional_usd: Decimal | None = Field(
        None, gt=0, description="Largest order in USD (required on mainnet-beta)."
    )
    max_notional_usd_per_key_per_minute: Decimal | None = Field(
        None,
        gt=0,
        le=MAX_NOTIONAL_RATE_USD,
        description="USD value of the orders one API key may route in any 60 s (valued like "
        "OEE_MAX_NOTIONAL_USD); past it an order fails RISK_NOTIONAL_RATE before anything is "
        "signed; empty: no cap.",
    )
    token_allowlist: str = Field(
        "",
        description="Comma-separated symbols or mints orders may trade, on either side; a "
        "submit naming any other answers 403 TOKEN_NOT_ALLOWED; empty: every token.",
    )
    token_denylist: str = Field(
        "",
        description="Comma-separated symbols or mints no order may trade (403 "
        "TOKEN_NOT_ALLOWED); wins over the allow list.",
    )
    raydium_quote_url: str | None = Field(
        None, description="Raydium quote API; unset: rpc/raydium."
    )
    meteora_quote_url: str | None = Field(
        None, description="Meteora quote API; unset: rpc/meteora."
    )
    migrate_on_start: bool = Field(
        True, description="Apply database migrations at start (else run `oee migrate`)."
    )
    max_attempts: int = Field(3, ge=1, le=20, description="Attempts per order before it fails.")
    retry_base_delay_s: float = Field(
        0.5, ge=0, description="First retry delay; doubles each time."
    )
    retry_max_delay_s: float = Field(10.0, ge=0, description="Longest delay between retries.")
    quote_timeout_s: float = Field(
        2.0, gt=0, description="How long a venue's quote may take before it counts as failed."
    )
    max_price_impact_bps: int | None = Field(
        500,
        ge=1,
        le=10_000,
        description="Orders whose best route moves the price more fail RISK_PRICE_IMPACT "
        "before anything is signed (an order's own maxPriceImpactBps wins); empty: no check.",
    )
    confirm_poll_s: float = Field(0.2, gt=0, description="Signature status poll period.")
    max_body_bytes: int = Field(
        16_384, ge=256, description="Largest request body; larger is 413 BODY_TOO_LARGE."
    )
    max_price_impact_cap_bps: int = Field(
        5_000,
        ge=1,
        le=10_000,
        description="The most maxPriceImpactBps a limit or sniper order may ask for.",
    )
    idempotency_window_s: float = Field(
        86_400.0, gt=0, description="How long an Idempotency-Key keeps returning its order."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="Structured logs: `auto` is JSON when not on a terminal."
    )
    wallet_path: Path | None = Field(
        None,
        description="The engine wallet's keypair file (JSON, mode 0600); unset: "
        "data_dir/wallet.json. Every api and worker process of a deployment must share it.",
    )
    # Decimal, not float: an amount of SOL is money (see DESIGN: never float for money).
    wallet_airdrop_sol: Decimal = Field(
        Decimal(1_000_000),
        ge=0,
        le=MAX_WALLET_SOL,
        description="SOL a worker asks the chain's faucet for at start when the wallet holds "
        "less than wallet_min_sol; 0 disables the airdrop.",
    )
    wallet_min_sol: Decimal = Field(
        Decimal(1_000),
        ge=0,
        le=MAX_WALLET_SOL,
        description="Below this many SOL a starting worker requests an airdrop; 0 disables it.",
    )

    cors_origins: str = Field(
        "",
        description="Comma-separated web origins (scheme://host[:port]) whose pages may call "
        "the API (CORS) and open its WebSockets; empty: only the engine's own page.",
    )

    # API keys: `name=secret` pairs; the secret may be written as `sha256:<hex>` of itself.
    # SecretStr: a settings object printed or logged never shows them.
    api_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated name=secret API keys (a secret may be written as "
        "sha256:<hex> of itself); empty: open mode.",
    )
    api_keys_file: Path | None = Field(
        None, description="A file of API keys, one name=secret a line (# comments)."
    )
    admin_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated name=secret admin keys (see every order)."
    )
    admin_keys_file: Path | None = Field(None, description="A file of admin keys, like above.")
    allow_open: bool = Field(
        False, description="Serve a non-loopback host without API keys (anyone may trade)."
    )
    stream_token_secret: SecretStr | None = Field(
        None,
        description="Signs WebSocket stream tokens; unset: derived from the configured keys.",
    )

    # Limits per client (API key; the address in open mode): see `oee.api.limits`.
    rate_limit: str = Field(
        "50/s",
        description="Requests per API key (per client address in open mode): `<count>/s`, "
        "`/min` or `/h`; `off` for none. 429 RATE_LIMITED beyond it.",
    )
    rate_limit_burst: int | None = Field(
        None, ge=1, description="Requests a client may make at once; unset: twice the count."
    )
    max_open_orders_per_key: int | None = Field(
        1000,
        ge=1,
        description="Unfinished orders one API key may have; a submit beyond answers 429 "
        "TOO_MANY_OPEN_ORDERS; empty: no cap.",
    )
    max_streams_per_key: int | None = Field(
        100,
        ge=1,
        description="Open streams (WebSocket and SSE) per API key, per API process; empty: no cap.",
    )
    stream_idle_timeout_s: float | None = Field(
        300.0,
        gt=0,
        description="A stream that sent no event and heard nothing from its client this long "
        "is closed; empty: never.",
    )
    api_direct_submit: bool = Field(
        True,
        description="Serve POST /api/orders/execute outside the middleware stack: the same "
        "answers for less CPU; false: through the stack, as every other route.",
    )

    # Group commit of the store's writes (see `oee.adapters.store.group_commit`).
    store_group_commit: bool = Field(
        True,
        description="Write the saves and creates of orders moving at once in one transaction "
        "(one per event-loop pass); each still returns only once it is committed.",
    )
    store_group_commit_max: int = Field(
        256, ge=1, description="The most order writes in one group-commit transaction."
    )
    store_group_commit_window_ms: float = Field(
        0.0,
        ge=0,
        le=100,
        description="Hold a group commit open this long for more writes (adds as much "
        "latency); 0: write at the end of the event-loop pass.",
    )

    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    sim: SimSettings = Field(default_factory=SimSettings)
    recovery: RecoverySettings = Field(default_factory=RecoverySettings)
    admission: AdmissionSettings = Field(default_factory=AdmissionSettings)
    triggers: TriggerSettings = Field(default_factory=TriggerSettings)

    @field_validator(
        "database_url",
        "redis_url",
        "rpc_url",
        "ws_url",
        "max_notional_usd",
        "max_notional_usd_per_key_per_minute",
        "max_price_impact_bps",
        "raydium_quote_url",
        "meteora_quote_url",
        "wallet_path",
        "api_keys_file",
        "admin_keys_file",
        "stream_token_secret",
        "rate_limit_burst",
        "max_open_orders_per_key",
        "max_streams_per_key",
        "stream_idle_timeout_s",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _cluster_rules(self) -> Settings:
        """Refuse, at start, what the chosen cluster cannot do."""
        if self.cluster == "sim":
            return self
        name = self.cluster
        if self.quote_source == "api":
            raise ValueError(
                f"OEE_QUOTE_SOURCE=api uses the simulator's quote services; on {name} quotes "
                "come from the chain: unset it or set OEE_QUOTE_SOURCE=chain"
            )
        if name == "mainnet-beta":
            if not self.mainnet_i_understand:
                raise ValueError(
                    "OEE_CLUSTER=mainnet-beta trades real funds: set "
                    "OEE_MAINNET_I_UNDERSTAND=true and OEE_MAX_NOTIONAL_USD to run on it"
                )
            if self.max_notional_usd is None:
                raise ValueError("mainnet-beta needs OEE_MAX_NOTIONAL_USD (the largest order)")
            if self.wallet_airdrop_sol > 0 and self.wallet_min_sol > 0:
                raise ValueError(
                    "mainnet-beta has no faucet: set OEE_WALLET_AIRDROP_SOL=0 and fund the "
                    "wallet yourself"
                )
        elif self.wallet_min_sol > 0 and self.wallet_airdrop_sol > DEVNET_MAX_AIRDROP_SOL:
            raise ValueError(
                f"devnet's faucet gives at most {DEVNET_MAX_AIRDROP_SOL} SOL an airdrop: set "
                "OEE_WALLET_AIRDROP_SOL=2 and OEE_WALLET_MIN_SOL=1 (or 0 to disable)"
            )
        return self

    @model_validator(mode="after")
    def _token_lists_resolve(self) -> Settings:
        for name, text in (("ALLOWLIST", self.token_allowlist), ("DENYLIST", self.token_denylist)):
            try:
                TokenPolicy.parse(text, "", PROFILES[self.cluster].registry, is_mint)
            except ValueError as error:
                raise ValueError(f"OEE_TOKEN_{name}: {error}") from None
        return self

    @property
    def token_policy(self) -> TokenPolicy:
        """The allow and deny lists as mints of this cluster's tokens."""
        registry = PROFILES[self.cluster].registry
        return TokenPolicy.parse(self.token_allowlist, self.token_denylist, registry, is_mint)

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        parse_rate(value)  # refused at start, with the form it must take
        return value

    @property
    def rate_policy(self) -> RatePolicy | None:
        """`rate_limit` and `rate_limit_burst` as a policy; None: no rate limit."""
        return parse_rate(self.rate_limit, self.rate_limit_burst)

    @property
    def chain_quotes(self) -> bool:
        """Whether venues quote from pool accounts on the chain (else the quote services)."""
        return self.quote_source == "chain"

    @property
    def sqlalchemy_url(self) -> str:
        """The store's SQLAlchemy URL: PostgreSQL via asyncpg when set, else SQLite in data_dir."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'oee.sqlite3'}"
        url = self.database_url
        for prefix, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if url.startswith(prefix):
                url = driver + url[len(prefix) :]
                break
        if url.startswith("postgresql+asyncpg://"):
            # Managed PostgreSQL URLs say sslmode=...; asyncpg takes the same values as ssl=...
            url = re.sub(r"([?&])sslmode=", r"\1ssl=", url)
        return url

    @field_validator("cors_origins")
    @classmethod
    def _origins_look_like_origins(cls, value: str) -> str:
        for origin in _split_origins(value):
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not a web origin: write scheme://host[:port], e.g. "
                    "https://app.example.com (no path)"
                )
        return value

    @property
    def allowed_origins(self) -> frozenset[str]:
        """`cors_origins` as a set, lowercased, without trailing slashes."""
        return frozenset(_split_origins(self.cors_origins))

    @property
    def wallet_file(self) -> Path:
        """The wallet's keypair file: `wallet_path`, or `wallet.json` in the data directory."""
        return self.wallet_path if self.wallet_path is not None else self.data_dir / "wallet.json"

    @property
    def sim_data_dir(self) -> Path:
        """Where the simulator keeps its chain: OEE_SIM_DATA_DIR, or `sim` in the data dir."""
        return self.sim.data_dir if self.sim.data_dir is not None else self.data_dir / "sim"

    @property
    def production(self) -> bool:
        """Both servers configured: PostgreSQL store, BullMQ queue and Redis bus."""
        return self.database_url is not None and self.redis_url is not None


_ORIGIN = re.compile(r"https?://[a-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?")


def _split_origins(value: str) -> list[str]:
    return [o.strip().rstrip("/").lower() for o in value.split(",") if o.strip()]


def is_mint(text: str) -> bool:
    """Whether `text` is written as a Solana address is: canonical base58 of 32 bytes."""
    try:
        return (
            32 <= len(text) <= 44
            and len(b58decode(text)) == 32
            and b58encode(b58decode(text)) == text
        )
    except ValueError:
        return False
