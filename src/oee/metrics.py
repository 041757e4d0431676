"""Every Prometheus metric of the engine, on one registry per engine.

Each `Metrics` owns its own `CollectorRegistry` instead of prometheus_client's global one: tests
(and tools such as the load test) build many engines in one process, and a global registry would
refuse the second set of metrics as duplicates or mix the counts of unrelated engines. The
composition root makes one `Metrics` per process and hands it to the executor and the API, so
`oee serve` shows everything on `/metrics`; `oee worker` can serve its own with
`start_metrics_server`.

Hot path: labelled children are bound once (up front where the values are known, on first use
otherwise) and kept in dicts, so recording a value is a dict hit and a locked add.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar
from wsgiref.simple_server import WSGIServer

import prometheus_client
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from oee.domain.orders import OrderType
from oee.domain.ports import JobQueue
from oee.domain.status import TERMINAL, OrderStatus

log = structlog.get_logger(__name__)

# `_created` samples double the series of every counter and histogram, and Prometheus ignores
# them in the text format. A process-wide switch of the client library, hence here, once.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

# 1 ms (a memory-queue hop) to 30 s (a slow confirmation), finer around the 2-3 s of a landing.
LATENCY_BUCKETS_S = (
    *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1.0, 1.5, 2.0, 2.5, 3.0, 5.0, 10.0, 20.0, 30.0),
)
# Label values known up front, taken from the domain so new order types and statuses show up.
STAGES = ("routing", "building", "submitted")
FINAL_STATUSES = tuple(s.value for s in OrderStatus if s in TERMINAL)
ORDER_TYPES = tuple(t.value for t in OrderType)
LIMIT_CODES = ("RATE_LIMITED", "TOO_MANY_OPEN_ORDERS", "TOO_MANY_STREAMS", "IDLE_TIMEOUT")
RISK_CODES = (
    "HALTED",
    "TOKEN_NOT_ALLOWED",
    "RISK_PRICE_IMPACT",
    "NOTIONAL_LIMIT_EXCEEDED",
    "NOTIONAL_UNKNOWN",
    "RISK_NOTIONAL_RATE",
    "INSUFFICIENT_BALANCE",
)
# Codes and venue names come from adapters; past this many distinct values a family records
# "OTHER", so a misbehaving adapter cannot grow the number of series without bound.
MAX_LABEL_VALUES = 64
QUEUE_DEPTH_TIMEOUT_S = 1.0

W = TypeVar("W", bound=MetricWrapperBase)


class Children(Generic[W]):
    """One family's labelled children, bound on first use and kept, at most `MAX_LABEL_VALUES`."""

    def __init__(self, family: W, *known: tuple[str, ...]) -> None:
        self._family = family
        self._bound: dict[tuple[str, ...], W] = {}
        for values in known:  # bound now, so their zero-valued series show before any event
            self(*values)

    def __call__(self, *values: str) -> W:
        """The child for `values`."""
        child = self._bound.get(values)
        if child is None:
            if len(self._bound) >= MAX_LABEL_VALUES:
                return self._family.labels(*("OTHER" for _ in values))
            child = self._bound[values] = self._family.labels(*values)
        return child


class Metrics:
    """The engine's metric families, and their bound children (the `*_for` attributes)."""

    def __init__(self, *, process_collectors: bool = True) -> None:
        """Create every family on a fresh registry.

        Args:
            process_collectors: Also export this process's CPU, memory, file descriptors, GC
                and Python version (what the global registry would have given).
        """
        self.registry = r = CollectorRegistry()
        buckets = LATENCY_BUCKETS_S
        self.orders = Counter(
            "oee_orders",
            "Orders that reached a final status, by order type and status.",
            ["type", "status"],
            registry=r,
        )
        self.stage_seconds = Histogram(
            "oee_stage_duration_seconds",
            "Time an order spent in a stage (routing, building, submitted), observed when it "
            "leaves it for any next status: the next stage, a retry or a failure.",
            ["stage"],
            buckets=buckets,
            registry=r,
        )
        self.order_seconds = Histogram(
            "oee_order_duration_seconds",
            "End to end, from acceptance to the final status, by final status.",
            ["status"],
            buckets=buckets,
            registry=r,
        )
        self.queue_wait_seconds = Histogram(
            "oee_queue_wait_seconds",
            "From an order's acceptance to its first routing event (queue and worker pickup).",
            buckets=buckets,
            registry=r,
        )
        self.retries = Counter(
            "oee_order_retries", "Retries scheduled, by error code.", ["code"], registry=r
        )
        self.quote_seconds = Histogram(
            "oee_venue_quote_duration_seconds",
            "Latency of the venue quotes that were answered, by venue.",
            ["venue"],
            buckets=buckets,
            registry=r,
        )
        self.quote_errors = Counter(
            "oee_venue_quote_errors",
            "Venue quotes that failed, by venue and error code.",
            ["venue", "code"],
            registry=r,
        )
        self.routing_wins = Counter(
            "oee_routing_wins",
            "Routing decisions won, by venue (an order routed again after a retry counts again).",
            ["venue"],
            registry=r,
        )
        self.ws_connections = Gauge(
            "oee_ws_connections", "WebSocket clients connected to this process.", registry=r
        )
        self.limited = Counter(
            "oee_api_limited",
            "Requests refused and streams closed by the API's limits, by code (RATE_LIMITED, "
            "TOO_MANY_OPEN_ORDERS, TOO_MANY_STREAMS, IDLE_TIMEOUT).",
            ["code"],
            registry=r,
        )
        self.trading_halted = Gauge(
            "oee_trading_halted",
            "1 while the kill switch halts new orders (as this process last read it), else 0.",
            registry=r,
        )
        self.risk_refusals = Counter(
            "oee_risk_refusals",
            "Orders stopped by a pre-trade risk check, by code: refused at submit (HALTED, "
            "TOKEN_NOT_ALLOWED) or failed before anything was signed (the others).",
            ["code"],
            registry=r,
        )
        self.orders_held = Counter(
            "oee_orders_held",
            "Times an accepted order was held back from routing because trading is halted.",
            registry=r,
        )
        self.queue_depth = QueueDepth()
        r.register(self.queue_depth)
        if process_collectors:
            prometheus_client.ProcessCollector(registry=r)
            prometheus_client.PlatformCollector(registry=r)
            prometheus_client.GCCollector(registry=r)

        finals = [(s,) for s in FINAL_STATUSES]
        self.orders_for = Children(
            self.orders, *((t, s) for t in ORDER_TYPES for s in FINAL_STATUSES)
        )
        self.stage_seconds_for = Children(self.stage_seconds, *((s,) for s in STAGES))
        self.order_seconds_for = Children(self.order_seconds, *finals)
        self.retries_for = Children(self.retries)
        self.quote_seconds_for = Children(self.quote_seconds)
        self.quote_errors_for = Children(self.quote_errors)
        self.routing_wins_for = Children(self.routing_wins)
        self.limited_for = Children(self.limited, *((c,) for c in LIMIT_CODES))
        self.risk_refusals_for = Children(self.risk_refusals, *((c,) for c in RISK_CODES))

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition (OpenMetrics when `accept` asks for it, else Prometheus text).

        Returns:
            The body and its content type.
        """
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


class QueueDepth:
    """`oee_queue_depth`, read from `JobQueue.depth()` when scraped.

    `depth()` is a coroutine and collectors are synchronous, so the API route awaits `refresh`
    right before rendering, and a scrape from `start_metrics_server`'s thread runs `refresh` on
    the queue's event loop. When the depth cannot be read the sample is left out: an absent
    series is an honest "unknown", a stale number is not.
    """

    HELP = "Jobs waiting to run (including retry backoffs), read from the queue when scraped."

    def __init__(self) -> None:
        self.value: float | None = None
        self._bound: tuple[JobQueue, asyncio.AbstractEventLoop, int] | None = None

    async def refresh(self, queue: JobQueue) -> None:
        """Read the depth now, within `QUEUE_DEPTH_TIMEOUT_S`; unknown if the queue fails."""
        try:
            async with asyncio.timeout(QUEUE_DEPTH_TIMEOUT_S):
                self.value = float(await queue.depth())
        except Exception as error:  # a scrape must still answer while Redis is down
            log.warning("queue_depth_unavailable", error=repr(error))
            self.value = None

    def bind(self, queue: JobQueue, loop: asyncio.AbstractEventLoop) -> None:
        """Let scrapes from other threads read `queue` by running `depth()` on `loop`."""
        self._bound = (queue, loop, threading.get_ident())

    def describe(self) -> Iterable[Metric]:
        """The family without samples, so the registry can check names for duplicates."""
        return [GaugeMetricFamily("oee_queue_depth", self.HELP)]

    def collect(self) -> Iterable[Metric]:
        """The gauge; read through the bound loop when scraped from another thread."""
        if self._bound is not None and threading.get_ident() != self._bound[2]:
            self._refresh_from_thread(*self._bound[:2])
        family = GaugeMetricFamily("oee_queue_depth", self.HELP)
        if self.value is not None:
            family.add_metric([], self.value)
        return [family]

    def _refresh_from_thread(self, queue: JobQueue, loop: asyncio.AbstractEventLoop) -> None:
        coro = self.refresh(queue)
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:  # the loop is closed: the process is stopping
            coro.close()
            self.value = None
            return
        try:
            future.result(QUEUE_DEPTH_TIMEOUT_S + 0.5)
        except Exception:  # the loop is too busy to answer in time
            future.cancel()
            self.value = None


@dataclass(frozen=True)
class MetricsServer:
    """A running metrics HTTP server: the port it listens on and how to stop it."""

    port: int
    _server: WSGIServer
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(
    port: int, metrics: Metrics, *, addr: str = "0.0.0.0", queue: JobQueue | None = None
) -> MetricsServer:
    """Serve `metrics` on `http://addr:port/metrics` from a daemon thread (for `oee worker`).

    A thread rather than the event loop, so that a scrape still answers while the loop is busy;
    everything but the queue depth is read without the loop.

    Args:
        port: TCP port to listen on; 0 picks a free one (see `MetricsServer.port`).
        metrics: The engine's metrics (`engine.metrics`).
        addr: Interface to bind.
        queue: When given, scrapes report its depth. Call from inside the event loop that owns
            the queue.

    Returns:
        The running server.
    """
    if queue is not None:
        metrics.queue_depth.bind(queue, asyncio.get_running_loop())
    server, thread = prometheus_client.start_http_server(port, addr, registry=metrics.registry)
    log.info("metrics_server_started", addr=addr, port=server.server_port)
    return MetricsServer(server.server_port, server, thread)
