"""What bounds a load test, printed beside its latency table.

A latency figure alone misleads: "p50 13.8 s" with 50 orders in flight against 10 worker slots
is time spent queueing for a slot, not a slow engine, and a client that saturates its own core
measures itself. So the report says how many orders the client kept in flight, what the engine
runs at once (its worker slots, from `GET /api/engine`; "unknown" when the process that
answers runs no worker, as `oee api` does), how long orders
waited between acceptance and their first routing event (the engine's own timestamps, read off
each stream), and how busy the client's CPU was; then which of these bounds the run.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from oee.loadtest import LoadtestReport

CLIENT_BOUND = 0.85  # of one core: an asyncio client this busy lags behind its own streams
QUEUE_BOUND = 0.5  # of the median latency spent waiting for a worker slot
SLOTS_UNKNOWN = (
    "unknown (the API process runs no worker; each oee worker runs OEE_WORKER_CONCURRENCY)"
)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def queue_share(report: LoadtestReport) -> float | None:
    """The median queue wait as a share of the median submit-to-terminal latency."""
    wait, total = report.queue_wait_s.p50, report.latency_s.p50
    if wait is None or not total:
        return None
    return wait / total


def verdict(report: LoadtestReport) -> str:
    """Which bound the run hit, in one sentence."""
    cpu = report.client_cpu_share
    if cpu >= CLIENT_BOUND:
        return (
            f"Bound by the client: it used {cpu:.0%} of its one core, so it could not keep up "
            "with its own streams; run it on another machine or lower --concurrency."
        )
    share = queue_share(report)
    if share is not None and share >= QUEUE_BOUND:
        slots = report.engine_slots
        against = f"against {slots} worker slots" if slots else "is more than the engine runs"
        return (
            f"Bound by queueing: orders spent {share:.0%} of their median latency waiting for a "
            f"free worker slot; {report.concurrency} in flight {against}"
            f"{'' if slots else ' at once'}, so the latency is mostly queue time, not slow "
            "execution (add workers or OEE_WORKER_CONCURRENCY, or lower --concurrency)."
        )
    if share is None:
        return (
            "Queue wait not seen (no stream saw its order's first routing event), so what "
            "bounds the run is unknown."
        )
    return (
        f"Bound by the engine's stages (quotes, signing, confirmation): orders waited only "
        f"{share:.0%} of their median latency for a worker slot."
    )


def bounds_view(report: LoadtestReport) -> Group:
    """The bounds table and its verdict."""
    table = Table(title="What bounds the run", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold", max_width=48)
    wait = report.queue_wait_s
    share = queue_share(report)
    waited = f"{_ms(wait.p50)} / {_ms(wait.p90)}"
    if share is not None:
        waited += f" ({share:.0%} of the latency p50)"
    cores = os.cpu_count() or 1
    rows = [
        ("in flight (client)", f"{report.concurrency} orders at once"),
        (
            "engine worker slots",
            f"{report.engine_slots} orders at once" if report.engine_slots else SLOTS_UNKNOWN,
        ),
        ("queue wait p50 / p90", waited if wait.count else "not seen"),
        ("client CPU", f"{report.client_cpu_share:.0%} of one core ({cores} on this machine)"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return Group(table, Text(verdict(report), style="yellow"))
