"""Throughput benchmark: `oee serve` in its own process, loaded by `oee.loadtest` from outside.

Each run starts a fresh engine (embedded: a temporary SQLite data dir; production: a new
PostgreSQL database on 127.0.0.1:5432 and a unique Redis prefix), waits for /health, submits
the orders, follows every one over WebSocket, stops the engine with SIGTERM and removes its state.

The two scenarios recorded in docs/benchmarks.md:

    # (a) default latencies (quote ~200 ms, confirmation 2-3 s): target >= 180 orders/min
    python benchmarks/throughput.py --mode both --orders 300 --latency-scale 1 --concurrency 10
    # (b) zero latency: what the engine itself costs per order
    python benchmarks/throughput.py --mode both --orders 2000 --latency-scale 0 \\
        --concurrency 200 --worker-concurrency 50

`--quick` shrinks a run for CI (30 orders, 10 in flight). The exit status is 1 when any order
was refused, lost, timed out or broke the stream contract, or when a run misses `--target-per-min`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from oee.devtools.engine_process import EngineProcess, EngineStartError, Mode
from oee.loadtest import LoadtestReport, run_loadtest

console = Console(stderr=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["embedded", "production", "both"], default="embedded")
    parser.add_argument("--orders", type=int, default=300, help="orders per run")
    parser.add_argument("--latency-scale", type=float, default=1.0, help="OEE_SIM_LATENCY_SCALE")
    parser.add_argument("--concurrency", type=int, default=10, help="orders in flight at once")
    parser.add_argument(
        "--worker-concurrency", type=int, default=10, help="OEE_WORKER_CONCURRENCY of the engine"
    )
    parser.add_argument("--quick", action="store_true", help="30 orders, 10 in flight (CI)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--order-timeout", type=float, default=60.0, help="seconds per order")
    parser.add_argument(
        "--max-seconds", type=float, default=900.0, help="longest load phase of one run"
    )
    parser.add_argument("--target-per-min", type=float, help="fail a run below this throughput")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.concurrency = min(args.orders, 30), min(args.concurrency, 10)
        args.max_seconds = min(args.max_seconds, 120.0)
    return args


def machine() -> dict[str, Any]:
    """What the figures were measured on; the load average shows a machine that was not idle."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
        "commit": commit or None,
    }


def figures(mode: str, report: LoadtestReport, exit_code: int | None) -> dict[str, Any]:
    """The headline numbers of one run."""
    return {
        "mode": mode,
        "orders": report.submitted,
        "confirmed": report.confirmed,
        "failed": sum(report.failed.values()),
        "lost": report.lost,
        "timed_out": report.timed_out,
        "rejected": sum(report.rejected.values()),
        "errors": sum(report.errors.values()),
        "contract_breaks": report.seq_violations + report.seq_gaps + report.unclean_closes,
        "orders_per_min": round(report.orders_per_min, 1),
        "orders_per_s": round(report.orders_per_s, 2),
        "p50_ms": None if report.latency_s.p50 is None else round(report.latency_s.p50 * 1000),
        "p99_ms": None if report.latency_s.p99 is None else round(report.latency_s.p99 * 1000),
        "wall_s": round(report.wall_s, 2),
        "engine_exit_code": exit_code,
    }


async def run_one(mode: Mode, args: argparse.Namespace) -> dict[str, Any]:
    env = {
        "OEE_SIM_LATENCY_SCALE": str(args.latency_scale),
        "OEE_WORKER_CONCURRENCY": str(args.worker_concurrency),
        "OEE_LOG_LEVEL": "WARNING",
        # One client drives all the load: the per-client limits would measure themselves.
        "OEE_RATE_LIMIT": "off",
        "OEE_MAX_STREAMS_PER_KEY": "",
        "OEE_MAX_OPEN_ORDERS_PER_KEY": "",
    }
    console.print(f"[bold]{mode}[/]: starting oee serve ...")
    engine = EngineProcess(mode, env=env, redis_url=args.redis_url, pg_dsn=args.pg_dsn)
    async with engine:
        console.print(f"[bold]{mode}[/]: {engine.base_url} up; {args.orders} orders")
        client_cpu, engine_cpu = time.process_time(), engine.cpu_seconds() or 0.0
        report = await run_loadtest(
            engine.base_url,
            args.orders,
            concurrency=args.concurrency,
            timeout_s=args.order_timeout,
            deadline_s=args.max_seconds,
            progress=not args.no_progress,
            console=console,
        )
        cpu = {
            "client_cpu_s": round(time.process_time() - client_cpu, 2),
            "engine_cpu_s": round((engine.cpu_seconds() or 0.0) - engine_cpu, 2),
        }
        exit_code = await engine.stop()
        # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully.
        if exit_code not in (0, -signal.SIGTERM):
            console.print(f"[yellow]engine exited with {exit_code}[/]\n{engine.log_tail()}")
    return {"figures": figures(mode, report, exit_code) | cpu, "report": report.to_dict()}


def healthy(run: dict[str, Any], target: float | None) -> bool:
    f = run["figures"]
    broken = f["lost"] + f["timed_out"] + f["rejected"] + f["errors"] + f["contract_breaks"]
    return broken == 0 and (target is None or f["orders_per_min"] >= target)


def render(runs: list[dict[str, Any]], info: dict[str, Any], args: argparse.Namespace) -> None:
    title = (
        f"oee throughput: latency scale {args.latency_scale}, {args.concurrency} in flight, "
        f"worker concurrency {args.worker_concurrency}"
    )
    table = Table(title=title)
    columns = ["mode", "orders", "confirmed", "failed", "lost", "orders_per_min", "orders_per_s"]
    columns += ["p50_ms", "p99_ms", "wall_s", "client_cpu_s", "engine_cpu_s"]
    for column in columns:
        table.add_column(column.replace("_per_", "/").replace("_", " "), justify="right")
    for run in runs:
        table.add_row(*(str(run["figures"][c]) for c in columns))
    out = Console(width=None if sys.stdout.isatty() else 140)  # a pipe would get 80 columns
    out.print(table)
    out.print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"load average before {' '.join(info['loadavg_before'])}, commit {info['commit']}"
    )


async def main(args: argparse.Namespace) -> int:
    # SIGTERM (a CI timeout, a supervisor) unwinds like Ctrl-C, so engines and state get cleaned.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    info = machine()
    modes: list[Mode] = ["embedded", "production"] if args.mode == "both" else [args.mode]
    runs = []
    for mode in modes:
        try:
            runs.append(await run_one(mode, args))
        except (EngineStartError, OSError) as error:  # OSError: PostgreSQL or Redis unreachable
            console.print(f"[red]error:[/] the {mode} run could not start: {error}")
            return 2
    render(runs, info, args)
    if args.json:
        params = {k: v for k, v in vars(args).items() if k not in ("json", "redis_url", "pg_dsn")}
        result = {"machine": info, "params": params, "runs": runs}
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0 if all(healthy(run, args.target_per_min) for run in runs) else 1


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(parse_args())))
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted; engines stopped and their state removed[/]")
        sys.exit(130)
