"""Load-test client: submit orders over HTTP, follow each over WebSocket, report what happened.

The Python counterpart of the seed's `scripts/loadTest.ts`. It usually shares the machine with
the engine it measures, so it stays cheap: one event loop, one pooled keep-alive HTTP client
whose few connections carry every submission, a fixed set of `concurrency` worker coroutines
(never one task per order), the request body encoded once, and frames parsed with `json` alone. One order's trouble is counted, never
raised: a load test that dies on the first refused order measures nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from rich.columns import Columns
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, WebSocketException

TERMINAL = frozenset({"confirmed", "failed", "cancelled", "expired"})
EXECUTE_PATH = "/api/orders/execute"
CLOSE_GRACE_S = 5.0  # how long after a terminal event the server may take to close the stream
POST_LANES = 8  # most submissions in flight at once; see run_loadtest
_JSON_HEADERS = {"content-type": "application/json"}


def percentile(sorted_samples: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) of ascending samples, linearly interpolated; None if empty."""
    if not sorted_samples:
        return None
    rank = (len(sorted_samples) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(sorted_samples) - 1)
    return sorted_samples[low] + (sorted_samples[high] - sorted_samples[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Latency:
    """Percentiles of one latency, in seconds; None when there was no sample."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        """Summarise samples in any order."""
        ordered = sorted(samples)
        return cls(
            count=len(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            max=ordered[-1] if ordered else None,
        )


@dataclass(slots=True)
class OrderOutcome:
    """What one order did, as the client saw it.

    `outcome` is a terminal type, or `rejected` (non-2xx answer), `lost` (the stream closed
    without a terminal event), `timed_out` or `error` (a connection or protocol failure, named by
    `error`). It starts as `timed_out` so an order still running when the run's deadline
    cancels it is counted as such.
    """

    outcome: str = "timed_out"
    status_code: int | None = None
    error: str | None = None
    submit_s: float | None = None
    total_s: float | None = None
    seq_violations: int = 0
    seq_gaps: int = 0
    unclean_close: bool = False
    queue_s: float | None = None  # accepted -> first routing, by the engine's clock


def _count(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class LoadtestReport:
    """The figures of one load test. Throughput counts orders that reached a terminal event."""

    base_url: str
    concurrency: int
    submitted: int
    accepted: int
    rejected: dict[str, int]  # HTTP status code -> orders
    confirmed: int
    failed: dict[str, int]  # the engine's error code -> orders
    cancelled: int
    expired: int
    lost: int
    timed_out: int
    errors: dict[str, int]  # "<stage>:<what broke>" -> orders
    seq_violations: int  # a seq not above the one before it on the same stream
    seq_gaps: int  # a seq that skipped numbers: an event the stream never delivered
    unclean_closes: int  # terminal, but the server did not close with 1000 within the grace
    wall_s: float
    submit_rate_per_s: float
    completion_rate: float  # confirmed / accepted
    orders_per_s: float
    orders_per_min: float
    confirmed_per_s: float
    latency_s: Latency  # submit -> terminal event
    submit_latency_s: Latency  # the POST alone
    # What bounds the run (`oee.loadtest_bounds`): how long orders waited for a worker, and how
    # busy the client itself was (its CPU seconds over the wall time: 1.0 is one core, full).
    queue_wait_s: Latency = field(default_factory=lambda: Latency.of([]))
    client_cpu_share: float = 0.0
    engine_slots: int | None = None  # `GET /api/engine`'s workerSlots; None: not reported

    @property
    def finished(self) -> int:
        """Orders that reached a terminal event."""
        return self.confirmed + sum(self.failed.values()) + self.cancelled + self.expired

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-native data, with the totals a reader would otherwise add up."""
        data = asdict(self)
        data["finished"] = self.finished
        data["rejected_total"] = sum(self.rejected.values())
        data["failed_total"] = sum(self.failed.values())
        data["errors_total"] = sum(self.errors.values())
        return data


def build_report(
    outcomes: list[OrderOutcome],
    *,
    base_url: str,
    concurrency: int,
    wall_s: float,
    submit_window_s: float,
    client_cpu_s: float = 0.0,
    engine_slots: int | None = None,
) -> LoadtestReport:
    """Reduce per-order outcomes to a report (pure, so the arithmetic is testable alone)."""
    by = _count([o.outcome for o in outcomes])
    accepted = sum(1 for o in outcomes if o.status_code is not None and 200 <= o.status_code < 300)
    finished = sum(by.get(kind, 0) for kind in TERMINAL)
    wall = max(wall_s, 1e-9)
    return LoadtestReport(
        base_url=base_url,
        concurrency=concurrency,
        submitted=len(outcomes),
        accepted=accepted,
        rejected=_count([str(o.status_code) for o in outcomes if o.outcome == "rejected"]),
        confirmed=by.get("confirmed", 0),
        failed=_count([o.error or "unknown" for o in outcomes if o.outcome == "failed"]),
        cancelled=by.get("cancelled", 0),
        expired=by.get("expired", 0),
        lost=by.get("lost", 0),
        timed_out=by.get("timed_out", 0),
        errors=_count([o.error or "unknown" for o in outcomes if o.outcome == "error"]),
        seq_violations=sum(o.seq_violations for o in outcomes),
        seq_gaps=sum(o.seq_gaps for o in outcomes),
        unclean_closes=sum(o.unclean_close for o in outcomes),
        wall_s=wall_s,
        submit_rate_per_s=len(outcomes) / submit_window_s if submit_window_s > 0 else 0.0,
        completion_rate=by.get("confirmed", 0) / accepted if accepted else 0.0,
        orders_per_s=finished / wall,
        orders_per_min=finished / wall * 60,
        confirmed_per_s=by.get("confirmed", 0) / wall,
        latency_s=Latency.of([o.total_s for o in outcomes if o.total_s is not None]),
        submit_latency_s=Latency.of([o.submit_s for o in outcomes if o.submit_s is not None]),
        queue_wait_s=Latency.of([o.queue_s for o in outcomes if o.queue_s is not None]),
        client_cpu_share=client_cpu_s / wall,
        engine_slots=engine_slots,
    )


def ws_url(base_url: str, ws_path: str) -> str:
    """The WebSocket URL of a stream: base_url's scheme made ws/wss, plus the returned wsUrl.

    The path is appended rather than resolved, so an engine mounted under a prefix
    (`https://host/engine`) is streamed from under the same prefix; an absolute URL is kept.
    """
    if "://" in ws_path:
        return "ws" + ws_path[4:] if ws_path.startswith("http") else ws_path
    scheme, sep, rest = base_url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"base URL must start with http:// or https://, got {base_url!r}")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/{ws_path.lstrip('/')}"


def order_body(token_in: str, token_out: str, amount_in: str, slippage_bps: int) -> bytes:
    """The execute request body, encoded once; the amount goes out as an exact JSON number."""
    try:
        amount = Decimal(amount_in)
    except InvalidOperation:
        raise ValueError(f"amount_in must be a decimal number, got {amount_in!r}") from None
    if not amount.is_finite():
        raise ValueError(f"amount_in must be finite, got {amount_in!r}")
    return (
        f'{{"tokenIn":{json.dumps(token_in)},"tokenOut":{json.dumps(token_out)},'
        f'"amountIn":{amount},"slippageBps":{int(slippage_bps)}}}'
    ).encode()


@dataclass(slots=True)
class StreamCheck:
    """Follows one order's frames: seq order, the terminal event, an error frame."""

    last_seq: int | None = None
    violations: int = 0
    gaps: int = 0
    terminal: str | None = None
    error: str | None = None  # a failed order's code, or the code of an error frame
    error_frame: bool = False
    accepted_at: str | None = None  # the engine's timestamps, parsed only if both are seen
    routed_at: str | None = None

    @property
    def queue_s(self) -> float | None:
        """From acceptance to the first routing event: the wait for a free worker slot."""
        if self.accepted_at is None or self.routed_at is None:
            return None
        wait = datetime.fromisoformat(self.routed_at) - datetime.fromisoformat(self.accepted_at)
        return wait.total_seconds()

    def feed(self, frame: dict[str, Any]) -> bool:
        """Take one parsed frame; True once the order is terminal (possibly from the snapshot)."""
        kind = frame.get("type")
        if kind == "routing" and self.routed_at is None:
            self.routed_at = frame.get("at")
        seq = frame.get("seq")
        if isinstance(seq, int):
            if self.last_seq is not None:
                if seq <= self.last_seq:
                    self.violations += 1
                elif seq > self.last_seq + 1:
                    self.gaps += 1
            self.last_seq = seq if self.last_seq is None else max(seq, self.last_seq)
        if kind == "snapshot":
            # An order can finish before its stream opens; then the snapshot is all we get.
            order = frame.get("order") or {}
            kind, self.error = order.get("status"), order.get("error")
            self.accepted_at = order.get("createdAt")
        elif kind == "error":
            self.error_frame, self.error = True, str(frame.get("code") or frame.get("error"))
            return False
        elif kind == "failed":
            self.error = frame.get("error")
        if kind in TERMINAL:
            self.terminal = kind
            return True
        return False


async def _follow(
    url: str, out: OrderOutcome, started: float, headers: dict[str, str] | None = None
) -> None:
    """Read one order's stream until the server closes it, as it must after a terminal event."""
    check = StreamCheck()
    grace = asyncio.timeout(None)  # armed at the terminal event: how long the close may take
    closed_by_server = False
    # No compression (CPU the engine's machine needs) and no proxy lookup for each order.
    async with connect(
        url, compression=None, proxy=None, open_timeout=None, additional_headers=headers
    ) as ws:
        try:
            async with grace:
                async for raw in ws:
                    if check.feed(json.loads(raw)) and out.total_s is None:
                        out.total_s = time.perf_counter() - started
                        grace.reschedule(asyncio.get_running_loop().time() + CLOSE_GRACE_S)
            closed_by_server = True
        except TimeoutError:
            if not grace.expired():
                raise  # the order's own timeout, not the close grace
        except ConnectionClosedError:
            pass  # abnormal close: a lost order, or an unclean close after a terminal event
        finally:  # also on a timeout or cancellation: a terminal order is not a timed-out one
            out.seq_violations, out.seq_gaps = check.violations, check.gaps
            out.queue_s = check.queue_s
            if check.terminal is not None:
                out.outcome, out.error = check.terminal, check.error
                out.unclean_close = not (closed_by_server and ws.close_code == 1000)
    if check.terminal is not None:
        return
    if check.error_frame:
        out.outcome, out.error = "error", f"ws:error-frame:{check.error}:{ws.close_code}"
    else:
        out.outcome = "lost"


@dataclass
class _Run:
    """One load test's shared state; `concurrency` workers each run orders one after another."""

    client: httpx.AsyncClient
    base_url: str
    body: bytes
    count: int
    timeout_s: float
    bar: Progress
    outcomes: list[OrderOutcome]
    post_lanes: int
    headers: dict[str, str]  # the API key's, sent on every stream too
    last_answer: float = 0.0

    def __post_init__(self) -> None:
        self._next = itertools.count()
        self._lanes = asyncio.Semaphore(self.post_lanes)
        self._submitted = self.bar.add_task("submitted", total=self.count)
        self._finished = self.bar.add_task("finished", total=self.count)

    async def worker(self) -> None:
        while next(self._next) < self.count:
            out = OrderOutcome()
            self.outcomes.append(out)
            self.bar.advance(self._submitted)
            await self._one(out)
            self.bar.advance(self._finished)

    async def _one(self, out: OrderOutcome) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._lanes:
                    posted = time.perf_counter()
                    response = await self.client.post(
                        EXECUTE_PATH, content=self.body, headers=_JSON_HEADERS
                    )
                self.last_answer = time.perf_counter()
                out.submit_s, out.status_code = self.last_answer - posted, response.status_code
                if not response.is_success:
                    out.outcome = "rejected"
                    return
                await _follow(
                    ws_url(self.base_url, response.json()["wsUrl"]),
                    out,
                    started,
                    self.headers,
                )
        except TimeoutError:  # before OSError: TimeoutError is one
            if out.outcome not in TERMINAL:
                out.outcome = "timed_out"
        except httpx.HTTPError as error:
            out.outcome, out.error = "error", f"submit:{type(error).__name__}"
        except (WebSocketException, OSError) as error:
            out.outcome, out.error = "error", f"ws:{type(error).__name__}"
        except Exception as error:  # a 2xx body or a frame outside the contract; keep going
            out.outcome, out.error = "error", f"protocol:{type(error).__name__}"


async def run_loadtest(
    base_url: str,
    count: int,
    *,
    concurrency: int = 50,
    token_in: str = "SOL",
    token_out: str = "USDC",
    amount_in: str = "0.1",
    slippage_bps: int = 100,
    timeout_s: float = 120.0,
    progress: bool = True,
    deadline_s: float | None = None,
    console: Console | None = None,
    api_key: str | None = None,
    engine_slots: int | None = None,
) -> LoadtestReport:
    """Submit `count` market orders and follow each over WebSocket to its terminal event.

    Args:
        base_url: The engine's base URL, `http://` or `https://`.
        count: Orders to submit.
        concurrency: Orders in flight at once (submitted and not yet terminal).
        token_in: Token sold.
        token_out: Token bought.
        amount_in: Amount of `token_in` per order, a decimal string.
        slippage_bps: Slippage tolerance in basis points.
        timeout_s: Longest one order may take from submission to terminal event.
        progress: Show a progress bar (submitted / finished).
        deadline_s: Longest the whole run may take; orders still running then count as timed
            out and orders not yet submitted are never submitted.
        console: Where the progress bar goes; stderr by default.
        api_key: Sent as `Authorization: Bearer` on every request and stream, when given.
        engine_slots: The engine's worker slots (`GET /api/engine`), for the report's bounds.

    Returns:
        The report. A refused, lost or timed-out order is counted in it, never raised.

    Raises:
        ValueError: A bad argument (base URL, amount, count, concurrency).
    """
    if count < 0 or concurrency < 1:
        raise ValueError("count must be >= 0 and concurrency >= 1")
    body = order_body(token_in, token_out, amount_in, slippage_bps)
    ws_url(base_url, "/")  # refuse a bad base URL before any order goes out
    # httpcore scans every pooled connection for every queued request (quadratic at hundreds in
    # flight), and a POST is short next to the stream that follows it: a few connections
    # ("lanes") carry all submissions, and the pool never sees more requests than it has.
    lanes = min(concurrency, POST_LANES)
    limits = httpx.Limits(max_connections=lanes, max_keepalive_connections=lanes)
    bar = Progress(
        TextColumn("{task.description:>9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=not progress,
    )
    outcomes: list[OrderOutcome] = []
    # trust_env=False: no proxy from the environment between the client and a local engine.
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=timeout_s, trust_env=False, headers=headers
    ) as client:
        with bar:
            run = _Run(client, base_url, body, count, timeout_s, bar, outcomes, lanes, headers)
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                async with asyncio.timeout(deadline_s), asyncio.TaskGroup() as group:
                    for _ in range(min(concurrency, count)):
                        group.create_task(run.worker())
            except TimeoutError:
                pass  # the run's deadline; unfinished orders are already counted as timed out
            wall_s = time.perf_counter() - started
            cpu_s = time.process_time() - cpu_started
    return build_report(
        outcomes,
        base_url=base_url,
        concurrency=concurrency,
        wall_s=wall_s,
        submit_window_s=max(run.last_answer - started, 0.0),
        client_cpu_s=cpu_s,
        engine_slots=engine_slots,
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def _by(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    detail = ", ".join(f"{key}: {n}" for key, n in counts.items())
    return f"{total} ({detail})" if detail else "0"


def render_report(report: LoadtestReport, console: Console) -> None:
    """Print the report as two tables: outcomes and throughput, then latency percentiles."""
    table = Table(title=f"Load test of {report.base_url}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("submitted", str(report.submitted)),
        ("accepted", str(report.accepted)),
        ("rejected (HTTP status)", _by(report.rejected)),
        ("confirmed", f"[green]{report.confirmed}[/]"),
        ("failed (error code)", _by(report.failed)),
        ("cancelled / expired", f"{report.cancelled} / {report.expired}"),
        ("lost / timed out", f"{report.lost} / {report.timed_out}"),
        ("errors", _by(report.errors)),
        ("seq violations / gaps", f"{report.seq_violations} / {report.seq_gaps}"),
        ("unclean closes after terminal", str(report.unclean_closes)),
        ("concurrency", str(report.concurrency)),
        ("wall time", f"{report.wall_s:,.2f} s"),
        ("submit rate", f"{report.submit_rate_per_s:,.1f} /s"),
        ("completion (confirmed/accepted)", f"{report.completion_rate:.1%}"),
        ("throughput (terminal orders)", f"{report.orders_per_min:,.0f} /min"),
        ("", f"{report.orders_per_s:,.1f} /s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    latency = Table(title="Latency", show_lines=False)
    for column in ("", "n", "p50", "p90", "p99", "max"):
        latency.add_column(column, justify="right" if column else "left")
    for name, stats in (
        ("submit → terminal", report.latency_s),
        ("submit (HTTP)", report.submit_latency_s),
    ):
        latency.add_row(
            name, str(stats.count), _ms(stats.p50), _ms(stats.p90), _ms(stats.p99), _ms(stats.max)
        )
    from oee.loadtest_bounds import bounds_view

    console.print(table)
    console.print(Columns([latency, bounds_view(report)]))
