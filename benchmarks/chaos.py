"""Chaos run: no order lost, none executed twice, no stream gap — while processes die.

Runs production as operators do (`oee sim`, `oee api` and N x `oee worker`, each its own
process) on the real PostgreSQL and Redis, submits orders at a steady rate and meanwhile
kill -9s workers and the API (restarting each), FLUSHDBs the engine's Redis database and
restarts PostgreSQL. A submit that fails is retried with the same Idempotency-Key, as a
careful client would. Then every accepted order is checked through the API: terminal, its
event log 1..N with no gap, at most one landed swap (read from `oee sim`'s ledger; with
`--no-sim` each worker simulates its own chain and only the event log can be read); and a
sample of orders followed live over WebSocket (reconnecting with `?since=<last seq>`) must
never have seen a gap or a duplicate. Exit status 1 on any violation.

    # the full run recorded in docs/reliability.md (about 4 minutes)
    .venv/bin/python benchmarks/chaos.py --orders 1000 --rate 5
    # what CI runs (tests/e2e/test_chaos_short.py), by hand
    .venv/bin/python benchmarks/chaos.py --short

PostgreSQL's restart hits every database on the server: `--no-pg-restart` on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from machine import machine
from rich.console import Console
from rich.table import Table

from oee.devtools.chaos import ChaosConfig, run_chaos, short_config
from oee.devtools.chaos_checks import ChaosReport


def ok(n: int) -> str:
    """A count that must be zero, coloured by whether it is."""
    return f"[green]{n}[/]" if n == 0 else f"[red]{n}[/]"


def render(report: ChaosReport, console: Console) -> None:
    """The final table, then the faults and the evidence of every violation."""
    table = Table(title="Chaos run", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("simulator", report.simulator),
        ("submitted / accepted (HTTP 200)", f"{report.submitted} / {report.accepted}"),
        ("submits retried / replayed by key", f"{report.retried_submits} / {report.replayed}"),
        ("orders in database / duplicates", f"{report.orders_in_db} / {ok(report.duplicate_orders)}"),
        ("terminal", str(report.accepted - len(report.lost))),
        ("  outcomes", ", ".join(f"{k} {v}" for k, v in report.outcomes.items())),
        ("lost (not terminal after settle)", ok(len(report.lost))),
        ("executed twice / swaps landed", f"{ok(len(report.executed_twice))} / {report.landed_total}"),
        ("  method", report.landed_method),
        ("event logs with gap or duplicate", ok(len(report.log_gaps))),
        ("WS clients followed / dropped", f"{report.ws_followed} / {report.ws_reconnected} ({report.ws_reconnects} reconnects)"),
        ("WS clients with gap / duplicate", f"{ok(len(report.ws_gap_clients))} / {ok(len(report.ws_duplicate_clients))}"),
        ("orders raced by two runs (StaleOrder)", str(report.taken_over)),
        ("order time p50 / p99 / max", " / ".join(f"{v} s" for v in report.order_seconds.values())),
        ("wall time", f"{report.wall_s} s"),
    ]  # fmt: skip
    for name, value in rows:
        table.add_row(name, value)
    faults = Table(title="Faults", show_lines=False)
    for column in ("at s", "fault", "target", "took s", "error"):
        faults.add_column(column)
    for f in report.faults:
        faults.add_row(str(f["at_s"]), f["kind"], f["target"], str(f["took_s"]), f["error"] or "")
    console.print(table, faults)
    if report.warnings:
        console.print("process log warnings:", report.warnings)
    for order_id, proof in report.evidence.items():
        console.rule(f"[red]order {order_id}[/] ({proof['status']})")
        console.print_json(data=proof)
    violations = report.violations()
    console.print(f"[red]FAILED[/]: {'; '.join(violations)}" if violations else "[green]OK[/]")


def parse_args(argv: list[str] | None = None) -> tuple[ChaosConfig, Path | None]:
    """The command line as a config; `--short` starts from CI's form, other flags still apply."""
    d = short_config() if "--short" in (sys.argv[1:] if argv is None else argv) else ChaosConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=d.orders)
    p.add_argument("--rate", type=float, default=d.rate, help="orders submitted per second")
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--worker-concurrency", type=int, default=d.worker_concurrency)
    p.add_argument(
        "--latency-scale", type=float, default=d.latency_scale, help="OEE_SIM_LATENCY_SCALE"
    )
    p.add_argument("--fault-rate", type=float, default=d.fault_rate, help="OEE_SIM_FAULT_RATE")
    p.add_argument("--follow", type=int, default=d.follow, help="orders followed over WS")
    p.add_argument("--worker-kills", type=int, default=d.worker_kills)
    p.add_argument("--api-kills", type=int, default=d.api_kills)
    p.add_argument("--flushes", type=int, default=d.flushes, help="FLUSHDBs of the engine's db")
    p.add_argument("--pg-restart", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--pg-restart-command", default=d.pg_restart_command)
    p.add_argument("--down-s", type=float, default=d.down_s, help="downtime of a killed process")
    p.add_argument("--settle-s", type=float, default=d.settle_s)
    p.add_argument("--observe-lost-s", type=float, default=d.observe_lost_s)
    p.add_argument("--redis-url", default=d.redis_url, help="a Redis db index for this run only")
    p.add_argument("--pg-dsn", default=d.pg_dsn)
    p.add_argument(
        "--sim",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a shared `oee sim` (default: when the command exists)",
    )
    p.add_argument("--keep-logs", type=Path, help="keep the processes' logs in this directory")
    p.add_argument("--json", type=Path, help="also write the report here")
    p.add_argument("--short", action="store_true", help="CI's form: 60 orders, one of each fault")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    config = ChaosConfig(
        orders=a.orders, rate=a.rate, workers=a.workers, worker_concurrency=a.worker_concurrency,
        latency_scale=a.latency_scale, fault_rate=a.fault_rate, follow=a.follow,
        worker_kills=a.worker_kills, api_kills=a.api_kills, flushes=a.flushes,
        pg_restarts=1 if a.pg_restart else 0, down_s=a.down_s, settle_s=a.settle_s,
        observe_lost_s=a.observe_lost_s, redis_url=a.redis_url, pg_dsn=a.pg_dsn,
        pg_restart_command=a.pg_restart_command, use_sim=a.sim, log_dir=a.keep_logs,
        progress=not a.no_progress,
    )  # fmt: skip
    return config, a.json


def main() -> int:
    """Run once, print the table, write the JSON; 1 when a guarantee broke."""
    config, json_path = parse_args()
    # SIGTERM (a CI runner, `timeout`) unwinds like Ctrl-C, so the cluster is torn down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    console = Console(stderr=True)
    host = machine()
    try:
        report = asyncio.run(run_chaos(config, console))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: the cluster was stopped and its state removed")
        return 130
    render(report, console)
    if json_path is not None:
        json_path.write_text(json.dumps({"machine": host} | asdict(report), indent=2, default=str))
    return 1 if report.violations() else 0


if __name__ == "__main__":
    raise SystemExit(main())
