"""The chaos run's checks after the load: every accepted order read back, and the report.

Each order's view and whole event log (`probe`), the swaps that landed for it (`count_landed`:
from `oee sim`'s ledger, or inferred from the event log), and the reduction of the whole run
to a `ChaosReport` whose `violations()` are what make the run fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from oee.devtools.cluster import Cluster
from oee.loadtest import TERMINAL

if TYPE_CHECKING:
    from oee.devtools.chaos import ChaosRun


@dataclass
class OrderCheck:
    """What the API says about one accepted order after the run."""

    order_id: str
    status: str | None = None
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    landed: int = 0
    seconds: float | None = None  # created -> last update

    @property
    def log_ok(self) -> bool:
        """The log is exactly seqs 1..seq."""
        return [e.get("seq") for e in self.log] == list(range(1, self.seq + 1)) and self.seq > 0


async def probe(client: httpx.AsyncClient, order_id: str) -> OrderCheck:
    """One order's view and its event log as Server-Sent Events, replayed from seq 1."""
    check = OrderCheck(order_id)
    view = (await client.get(f"/api/orders/{order_id}")).json()
    check.status, check.seq = view["status"], int(view["seq"])
    check.seconds = (
        datetime.fromisoformat(view["updatedAt"]) - datetime.fromisoformat(view["createdAt"])
    ).total_seconds()
    headers = {"Last-Event-ID": "0"}
    with contextlib.suppress(TimeoutError):  # a non-terminal order's stream never ends
        async with asyncio.timeout(10):
            url = f"/api/orders/{order_id}/events"
            async with client.stream("GET", url, headers=headers) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        check.log.append(json.loads(line[6:]))
                    if check.log and check.log[-1]["seq"] >= check.seq:
                        break
    return check


def landed_from_log(check: OrderCheck) -> int:
    """Swaps that may have landed, from the event log alone (no shared ledger to ask).

    A confirmed event is one landed swap. A transaction abandoned for a new attempt is safe
    only when the engine saw its blockhash expire; any other way out of `submitted` into a
    retry would let the old transaction land beside the new one, so it counts as landed too.
    """
    landed, previous = 0, None
    for event in check.log:
        if event["type"] == "confirmed":
            landed += 1
        elif previous == "submitted" and event["type"] == "pending":
            landed += event.get("error") != "BLOCKHASH_EXPIRED"
        previous = event["type"]
    return landed


async def count_landed(
    run: ChaosRun, client: httpx.AsyncClient, checks: list[OrderCheck]
) -> tuple[str, list[str]]:
    """Fill `landed` per order; returns the method and any ledger/database disagreements."""
    sim = run.cluster.sim_url
    if sim is None:
        for check in checks:
            check.landed = landed_from_log(check)
        return "event log (each worker simulates its own chain; no shared ledger)", []
    swaps = (await client.get(f"{sim}/admin/swaps")).json()
    signatures: dict[str, list[str]] = {}
    for swap in swaps:  # memo: "<orderId>/<attempt>"
        order_id = str(swap.get("memo") or "").split("/", 1)[0]
        signatures.setdefault(order_id, []).append(str(swap["signature"]))
    mismatches = []
    for check in checks:
        landed = signatures.get(check.order_id, [])
        check.landed = len(landed)
        if check.status not in TERMINAL:
            continue  # counted as lost; its swap may be landing right now
        tx_hash = check.log[-1].get("txHash") if check.log else None
        # A confirmed order names the one swap that landed; any other terminal order none.
        if landed != ([str(tx_hash)] if check.status == "confirmed" else []):
            mismatches.append(f"{check.order_id}: {check.status} {tx_hash}, landed {landed}")
    for order_id in set(signatures) - {c.order_id for c in checks}:  # no accepted order's swap
        mismatches.append(f"{order_id or '(no memo)'}: landed {signatures[order_id]}")
    return "simulator ledger (GET /admin/swaps)", mismatches


def evidence(cluster: Cluster, order_id: str, lines: int = 12) -> list[str]:
    """The processes' log lines that mention the order (the last few)."""
    found = []
    for process in cluster.processes.values():
        with contextlib.suppress(OSError):
            text = process.log_path.read_text(errors="replace")
            found += [f"{process.name}: {line}" for line in text.splitlines() if order_id in line]
    return found[-lines:]


@dataclass
class ChaosReport:
    """The figures of one run, and the evidence behind every violation."""

    config: dict[str, Any]
    simulator: str
    landed_method: str
    submitted: int
    accepted: int
    not_accepted: int
    retried_submits: int  # submits that needed more than one try (client-visible failures)
    replayed: int  # answered from the Idempotency-Key (the first try had created the order)
    orders_in_db: int
    duplicate_orders: int  # orders in the database beyond one per accepted key
    key_mismatches: int  # keys whose stored order differs from the one the client got
    outcomes: dict[str, int]  # terminal status (failed: by error code) -> orders
    lost: list[str]
    executed_twice: list[str]
    landed_total: int  # landed swaps counted (ledger) or inferred (event log)
    ledger_mismatches: list[str]
    log_gaps: list[str]  # orders whose event log is not exactly 1..seq
    ws_followed: int
    ws_reconnected: int  # clients whose connection dropped at least once
    ws_reconnects: int
    ws_gap_clients: list[str]
    ws_duplicate_clients: list[str]
    ws_unfinished: list[str]
    taken_over: int  # orders two runs raced on (the loser stopped: StaleOrder)
    faults: list[dict[str, Any]]
    order_seconds: dict[str, float | None]  # created -> terminal: p50, p99, max
    late: dict[str, float | None] = field(default_factory=dict)  # lost id -> s until terminal
    warnings: dict[str, int] = field(default_factory=dict)  # process log warnings by event
    evidence: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    cluster: dict[str, Any] = field(default_factory=dict)  # database, prefix, pids

    def violations(self) -> list[str]:
        """Everything that makes the run fail; empty when the guarantees held."""
        named = {
            "lost": len(self.lost),
            "executed twice": len(self.executed_twice),
            "ledger/database mismatches": len(self.ledger_mismatches),
            "duplicate orders": self.duplicate_orders,
            "idempotency key mismatches": self.key_mismatches,
            "event-log gaps": len(self.log_gaps),
            "WS clients with a gap": len(self.ws_gap_clients),
            "WS clients with a duplicate": len(self.ws_duplicate_clients),
            "WS clients not finished": len(self.ws_unfinished),
            "submits never accepted": self.not_accepted,
            "faults not injected": sum(1 for f in self.faults if f["error"]),
        }
        return [f"{name}: {n}" for name, n in named.items() if n]


def _percentiles(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {}
    at = {name: min(int(q * len(ordered)), len(ordered) - 1) for name, q in _QUANTILES}
    return {name: round(ordered[i], 2) for name, i in at.items()}


_QUANTILES = (("p50", 0.5), ("p99", 0.99), ("max", 1.0))


def _log_events(cluster: Cluster) -> tuple[int, dict[str, int]]:
    """Orders taken over by another run, and warning/error events by name, from the logs."""
    taken, warnings = set(), Counter[str]()
    for process in cluster.processes.values():
        with contextlib.suppress(OSError):
            for line in process.log_path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line) if line.startswith("{") else {}
                except ValueError:  # a line cut short by kill -9
                    continue
                if entry.get("event") == "order_taken_over":
                    taken.add(entry.get("order_id"))
                if entry.get("level") in ("warning", "error", "critical"):
                    warnings[f"{process.name.split('-')[0]}:{entry.get('event')}"] += 1
    return len(taken), dict(warnings.most_common())


async def summarise(
    run: ChaosRun, client: httpx.AsyncClient, checks: list[OrderCheck]
) -> ChaosReport:
    """Reduce the run to its report (the cluster must still be up: logs, ledger, database)."""
    method, mismatches = await count_landed(run, client, checks)
    rows = await run.cluster.fetch("SELECT key, order_id FROM idempotency_keys")
    keys = {str(key): str(order_id) for key, order_id in rows}
    orders_in_db = int((await run.cluster.fetch("SELECT count(*) FROM orders"))[0][0])
    accepted = [s for s in run.subs if s.order_id is not None]
    outcomes = Counter(
        f"failed:{c.log[-1].get('error')}" if c.status == "failed" and c.log else str(c.status)
        for c in checks
    )
    taken_over, warnings = _log_events(run.cluster)
    return ChaosReport(
        config={k: str(v) for k, v in asdict(run.config).items()},
        simulator="oee sim (shared)" if run.cluster.sim_url else "in-process, one per worker",
        landed_method=method,
        submitted=len(run.subs),
        accepted=len(accepted),
        not_accepted=len(run.subs) - len(accepted),
        retried_submits=sum(s.tries > 1 for s in run.subs),
        replayed=sum(s.replayed for s in run.subs),
        orders_in_db=orders_in_db,
        duplicate_orders=orders_in_db - len({s.order_id for s in accepted}),
        key_mismatches=sum(keys.get(s.key) != s.order_id for s in accepted),
        outcomes=dict(sorted(outcomes.items())),
        lost=[c.order_id for c in checks if c.status not in TERMINAL],
        executed_twice=[c.order_id for c in checks if c.landed > 1],
        landed_total=sum(c.landed for c in checks),
        ledger_mismatches=mismatches,
        log_gaps=[c.order_id for c in checks if not c.log_ok],
        ws_followed=len(run.follows),
        ws_reconnected=sum(f.reconnects > 0 for f in run.follows),
        ws_reconnects=sum(f.reconnects for f in run.follows),
        ws_gap_clients=[f.order_id for f in run.follows if f.gaps],
        ws_duplicate_clients=[f.order_id for f in run.follows if f.duplicates],
        ws_unfinished=[f.order_id for f in run.follows if f.terminal is None],
        taken_over=taken_over,
        faults=[asdict(f) for f in run.faults],
        order_seconds=_percentiles([c.seconds for c in checks if c.seconds is not None]),
        warnings=warnings,
    )


async def gather_evidence(
    run: ChaosRun, client: httpx.AsyncClient, report: ChaosReport, checks: list[OrderCheck]
) -> None:
    """For every order behind a violation: its event log now, and its process log lines."""
    by_id = {c.order_id: c for c in checks}
    follows = {f.order_id: f for f in run.follows}
    suspects = set(report.lost + report.executed_twice + report.log_gaps)
    suspects |= set(report.ws_gap_clients + report.ws_duplicate_clients + report.ws_unfinished)
    for order_id in sorted(suspects)[:20]:
        checked, follow = by_id.get(order_id), follows.get(order_id)
        now = OrderCheck(order_id)
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            now = await probe(client, order_id)  # the state may have moved since the check
        report.evidence[order_id] = {
            "status": now.status,
            "status_at_check": checked.status if checked else None,
            "landed": checked.landed if checked else None,
            "log": [
                {k: e.get(k) for k in ("seq", "type", "attempt", "at", "error", "txHash")}
                for e in now.log
            ],
            "ws": asdict(follow) if follow else None,
            "process_log": evidence(run.cluster, order_id),
        }


async def observe_lost(client: httpx.AsyncClient, report: ChaosReport, seconds: float) -> None:
    """Keep polling lost orders for `seconds`: slow (finished late) or stuck (never)."""
    started, pending = time.monotonic(), set(report.lost)
    report.late = dict.fromkeys(report.lost)
    while pending and time.monotonic() - started < seconds:
        for order_id in sorted(pending):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"/api/orders/{order_id}")).json()["status"] in TERMINAL:
                    report.late[order_id] = round(time.monotonic() - started, 1)
                    pending.discard(order_id)
        await asyncio.sleep(1.0)
