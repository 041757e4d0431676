"""The benchmark suite: e2e, fan-out and scale-out of the whole engine, in one command.

Every run starts the engine as operators do (`topology.py`), drives it from a load generator in
its own process (`loadgen.py`), stops it and removes its state. It prints one table per part,
writes every figure as JSON, and exits 1 when an order was lost or stuck, a stream missed an
event or broke seq order, or a client could not connect (speed never fails it).

    # the full form, run by hand (figures in docs/benchmarks.md)
    python benchmarks/suite.py --json /tmp/suite.json
    python benchmarks/suite.py --parts e2e --topologies production --orders 1000 --concurrency 200
    python benchmarks/suite.py --parts fanout --fanout 1000,10000
    python benchmarks/suite.py --parts seed --seed-orders 3000 --seed-concurrency 1000
    python benchmarks/suite.py --parts overload --json /tmp/overload.json
    # the short form CI runs (tests/e2e/test_bench_suite.py): tiny N, seconds
    python benchmarks/suite.py --short --json /tmp/suite.json

Parts:
- `e2e`: each topology (embedded `oee serve`; production `oee sim` + `oee api` + `oee worker`),
  closed loop at `--concurrency`, then open loop at `--rate` orders/s (`auto`: half the closed
  loop's sustained rate; `0`: no open-loop run).
- `fanout`: K streams on one `oee api` (production, one worker): K/10 firehose clients connected
  first, then `--fanout-orders` orders, then the other streams spread over those orders; the
  engine runs at `--fanout-latency-scale` so orders live while the streams connect.
- `scale`: the e2e closed-loop load on production with 1 and 2 workers, then 2 workers behind 2
  APIs (submitted through one, streamed from the other).
- `seed`: the seed's latencies (latency scale 1: ~200 ms quotes, 2-3 s confirmation) on one
  `oee api` and one `oee worker` whose concurrency is `--seed-concurrency`, closed loop at that
  many orders in flight: orders/min, stuck orders and the worker's RSS with them all in flight.
- `overload` (`overload.py`): production offered `--overload-factor` x its capacity (the e2e
  part's production closed-loop rate, measured here when that part did not run) for
  `--overload-seconds`, without and with a CPU hog; stuck orders, lost job locks, enqueue
  timeouts and 503s, and the throughput kept, as a share of the capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from machine import loadavg, machine
from overload import overload_ok, overload_run, with_share
from rich.console import Console
from rich.table import Table
from topology import Kind, start

from e2e import engine_env, run_e2e, run_loadgen

console = Console(stderr=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parts", default="e2e,fanout,scale,seed,overload", help="comma-separated parts"
    )
    parser.add_argument("--short", action="store_true", help="tiny sizes, seconds (CI)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--topologies", default="embedded,production")
    parser.add_argument("--embedded-sim", choices=["process", "inprocess"], default="process")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200, help="closed loop: in flight")
    parser.add_argument("--rate", default="auto", help="open loop orders/s: auto, 0 or a number")
    parser.add_argument("--latency-scale", type=float, default=0.0, help="OEE_SIM_LATENCY_SCALE")
    parser.add_argument("--worker-concurrency", type=int, default=50)
    parser.add_argument(
        "--engine-env",
        action="append",
        default=[],
        metavar="OEE_X=value",
        help="e2e: a setting for the engine's processes (repeatable), e.g. to compare a setting",
    )
    parser.add_argument("--order-timeout", type=float, default=120.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="longest load phase")
    parser.add_argument("--fanout", default="1000", help="stream counts K, comma-separated")
    parser.add_argument("--fanout-orders", type=int, default=20)
    parser.add_argument("--fanout-latency-scale", type=float, default=10.0)
    parser.add_argument("--scale-orders", type=int, help="orders per scale run (default --orders)")
    parser.add_argument("--seed-orders", type=int, default=3000)
    parser.add_argument("--seed-concurrency", type=int, default=1000, help="in flight = slots")
    parser.add_argument("--seed-latency-scale", type=float, default=1.0)
    parser.add_argument("--seed-order-timeout", type=float, default=600.0)
    parser.add_argument("--overload-factor", type=float, default=2.0, help="x capacity")
    parser.add_argument("--overload-seconds", type=float, default=60.0)
    parser.add_argument(
        "--overload-capacity", type=float, help="orders/s to take as capacity (default: measure)"
    )
    parser.add_argument("--overload-hog", default="off,on", help="runs without/with a CPU hog")
    parser.add_argument("--keep-logs", type=Path, help="fanout: keep the processes' logs here")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)
    if args.short:
        args.orders, args.concurrency, args.rate = 20, 5, "10"
        args.fanout, args.fanout_orders, args.fanout_latency_scale = "40", 4, 2.0
        args.scale_orders, args.order_timeout, args.max_seconds = 10, 60.0, 90.0
        args.seed_orders, args.seed_concurrency, args.seed_order_timeout = 40, 20, 60.0
        args.overload_seconds = 5.0
    return args


def load_of(args: argparse.Namespace, orders: int, **mode: Any) -> dict[str, Any]:
    """A load description for `run_e2e`."""
    return {
        "orders": orders,
        "order_timeout_s": args.order_timeout,
        "deadline_s": args.max_seconds,
        **mode,
    }


async def e2e_part(args: argparse.Namespace, services: dict[str, str]) -> list[dict[str, Any]]:
    env = engine_env(args.latency_scale, args.worker_concurrency)
    env |= dict(pair.split("=", 1) for pair in args.engine_env)
    runs = []
    for kind in args.topologies.split(","):
        topo: Kind = "embedded" if kind == "embedded" else "production"
        console.print(f"[bold]e2e[/] {topo}: {args.orders} orders, {args.concurrency} in flight")
        closed = load_of(args, args.orders, concurrency=args.concurrency)
        run = await run_e2e(topo, closed, env, sim=args.embedded_sim, services=services)
        runs.append(run)
        rate = run["figures"]["sustained_per_s"] or run["figures"]["orders_per_s"] or 0.0
        rate = round(rate / 2, 1) if args.rate == "auto" else float(args.rate)
        if rate > 0:
            console.print(f"[bold]e2e[/] {topo}: {args.orders} orders, open loop at {rate}/s")
            opened = load_of(args, args.orders, rate=rate)
            runs.append(await run_e2e(topo, opened, env, sim=args.embedded_sim, services=services))
    return runs


async def scale_part(args: argparse.Namespace, services: dict[str, str]) -> list[dict[str, Any]]:
    env = engine_env(args.latency_scale, args.worker_concurrency)
    orders = args.scale_orders or args.orders
    shapes = [(1, 1), (2, 1), (2, 2)]
    runs = []
    for workers, apis in shapes:
        console.print(f"[bold]scale[/]: {workers} worker(s), {apis} API(s), {orders} orders")
        load = load_of(args, orders, concurrency=args.concurrency)
        run = await run_e2e("production", load, env, workers=workers, apis=apis, services=services)
        runs.append(run)
    return runs


async def seed_part(args: argparse.Namespace, services: dict[str, str]) -> list[dict[str, Any]]:
    env = engine_env(args.seed_latency_scale, args.seed_concurrency)
    orders, in_flight = args.seed_orders, args.seed_concurrency
    console.print(f"[bold]seed[/]: 1 worker, {orders} orders, {in_flight} in flight")
    load = load_of(args, orders, concurrency=in_flight) | {
        "order_timeout_s": args.seed_order_timeout
    }
    run = await run_e2e("production", load, env, services=services)
    run["load"]["latency_scale"] = args.seed_latency_scale
    rate = run["figures"]["sustained_per_s"] or run["figures"]["orders_per_s"]
    run["figures"]["orders_per_min"] = None if rate is None else round(rate * 60)
    return [run]


async def fanout_part(args: argparse.Namespace, services: dict[str, str]) -> list[dict[str, Any]]:
    env = engine_env(args.fanout_latency_scale, args.worker_concurrency)
    runs = []
    for total in (int(k) for k in args.fanout.split(",")):
        firehoses = max(total // 10, 1)
        streams = total - firehoses
        console.print(
            f"[bold]fanout[/]: {firehoses} firehose + {streams} order streams, "
            f"{args.fanout_orders} orders"
        )
        logs = args.keep_logs / f"fanout-{total}" if args.keep_logs else None
        async with start("production", env, log_dir=logs, **services) as running:
            spec = {
                "mode": "fanout",
                "post_url": running.post_url,
                "stream_url": running.stream_urls[0],
                "api_pid": running.engine_pids["api"],
                "firehoses": firehoses,
                "streams": streams,
                "orders": args.fanout_orders,
                "connect_parallel": 100,
                "timeout_s": args.max_seconds,
            }
            result = await run_loadgen(spec, args.max_seconds + 120)
        load = {"streams": total, "firehoses": firehoses, "order_streams": streams}
        load |= {"orders": args.fanout_orders, "latency_scale": args.fanout_latency_scale}
        runs.append(
            {"topology": {"kind": "production", "apis": 1}, "load": load, "figures": result}
        )
    return runs


def render_seed(runs: list[dict[str, Any]], out: Console) -> None:
    table = Table(title="seed: seed latencies, one oee worker")
    heads = ["latency scale", "in flight", "ok/orders", "stuck", "orders/min", "p50", "p99"]
    heads += ["worker RSS idle→peak MB", "worker CPU s", "worker ms/order"]
    for head in heads:
        table.add_column(head, justify="right")
    for run in runs:
        f, load = run["figures"], run["load"]
        cpu = f["cpu_s_by_process"].get("worker-1")
        rss = "→".join(_num(f["rss_mb"][k].get("worker-1")) for k in ("idle", "peak"))
        table.add_row(
            _num(load["latency_scale"]), _num(load["concurrency"]),
            f"{f['confirmed']}/{f['orders']}", str(f["stuck"]), _num(f["orders_per_min"]),
            _num(f["post_to_terminal"]["p50_ms"]), _num(f["post_to_terminal"]["p99_ms"]), rss,
            _num(cpu), _num(cpu / f["confirmed"] * 1000 if cpu and f["confirmed"] else None),
        )  # fmt: skip
    out.print(table)


async def overload_part(
    args: argparse.Namespace, services: dict[str, str], e2e: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    env = engine_env(args.latency_scale, args.worker_concurrency)
    closed = [
        r for r in e2e if r["topology"]["kind"] == "production" and "concurrency" in r["load"]
    ]
    if args.overload_capacity:
        capacity_run = {"figures": {"sustained_per_s": args.overload_capacity}}
    elif closed:
        capacity_run = closed[0]
    else:
        console.print(f"[bold]overload[/]: capacity, {args.orders} orders, c={args.concurrency}")
        load = load_of(args, args.orders, concurrency=args.concurrency)
        capacity_run = await run_e2e("production", load, env, services=services)
    f = capacity_run["figures"]
    capacity = f["sustained_per_s"] or f["orders_per_s"]
    rate = round((capacity or 1.0) * args.overload_factor, 1)
    runs = []
    for hog in args.overload_hog.split(","):
        console.print(
            f"[bold]overload[/]: {rate}/s ({args.overload_factor:g} x {capacity}/s) for "
            f"{args.overload_seconds:g} s, CPU hog {hog}"
        )
        run = await overload_run(
            env, rate=rate, seconds=args.overload_seconds, hog=hog == "on",
            order_timeout_s=args.order_timeout, services=services,
        )  # fmt: skip
        runs.append(with_share(run, capacity))
    return runs


def render_overload(runs: list[dict[str, Any]], out: Console) -> None:
    table = Table(title="overload: production past capacity (open loop)")
    heads = ["offered/s", "CPU hog", "accepted/orders", "503", "stuck", "lost locks"]
    heads += ["enqueue timeouts", "sustained/s", "share of capacity", "p50 ms", "p99 ms"]
    for head in heads:
        table.add_column(head, justify="right")
    for run in runs:
        f, load = run["figures"], run["load"]
        lat = f["post_to_terminal"]
        table.add_row(
            _num(load["rate"]), "on" if load["cpu_hog"] else "off",
            f"{f['accepted']}/{f['orders']}", str(f["refused_503"]), str(f["stuck"]),
            str(f["lost_locks"]), str(f["enqueue_timeouts"]), _num(f["sustained_per_s"]),
            _num(f["throughput_share"]), _num(lat["p50_ms"]), _num(lat["p99_ms"]),
        )  # fmt: skip
    out.print(table)


def e2e_ok(run: dict[str, Any]) -> bool:
    f = run["figures"]
    broken = f["stuck"] + f["seq_gaps"] + f["seq_violations"] + f["unclean_closes"]
    return broken == 0 and f["accepted"] == f["orders"] and not f["engine_active_after"]


def fanout_ok(run: dict[str, Any]) -> bool:
    f = run["figures"]
    complete = f["firehoses"]["complete"] == f["firehoses"]["wanted"]
    return complete and f["streams"]["complete"] == f["streams"]["wanted"] and f["orders"] > 0


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def render_e2e(title: str, runs: list[dict[str, Any]], out: Console) -> None:
    table = Table(title=title)
    heads = ["topology", "load", "ok/orders", "stuck", "submit/s", "e2e/s", "sustained/s"]
    heads += ["p50", "p90", "p99", "max ms", "queue/route/build/confirm p50 ms"]
    heads += ["engine ms/order (net)", "sim s", "gen CPU"]
    for head in heads:
        table.add_column(head, justify="right")
    for run in runs:
        f, t, load = run["figures"], run["topology"], run["load"]
        where = t["kind"] if t["kind"] == "embedded" else f"prod {t['workers']}w/{t['apis']}api"
        mode = f"c={load['concurrency']}" if "concurrency" in load else f"{load['rate']}/s"
        lat = f["post_to_terminal"]
        stages = "/".join(_num(f["stages"][s]["p50_ms"]) for s in f["stages"])
        gen = f"{f['generator_cpu_share']:.0%}" + (" SATURATED" if f["generator_saturated"] else "")
        table.add_row(
            where, mode, f"{f['confirmed']}/{f['orders']}", str(f["stuck"]),
            _num(f["submit_per_s"]), _num(f["orders_per_s"]), _num(f["sustained_per_s"]),
            _num(lat["p50_ms"]), _num(lat["p90_ms"]), _num(lat["p99_ms"]), _num(lat["max_ms"]),
            stages,
            f"{_num(f['engine_cpu_ms_per_order'])} ({_num(f['engine_cpu_ms_per_order_net'])})",
            _num(f["cpu_s_by_process"].get("sim")), gen,
        )  # fmt: skip
    out.print(table)


def render_fanout(runs: list[dict[str, Any]], out: Console) -> None:
    table = Table(title="fanout: streams on one oee api")
    heads = ["streams", "firehose ok", "order streams ok", "peak open", "p50 ms", "p99 ms"]
    heads += ["max ms", "RSS idle→peak→after MB", "API CPU s", "µs/frame", "gen CPU s"]
    heads += ["connect errors, error frames"]
    for head in heads:
        table.add_column(head, justify="right")
    for run in runs:
        f = run["figures"]
        rss = f["rss_bytes"]
        mb = "→".join(_num((rss.get(k) or 0) / 2**20) for k in ("idle", "peak", "after_close"))
        hoses, streams = f["firehoses"], f["streams"]
        table.add_row(
            _num(run["load"]["streams"]),
            f"{hoses['complete']}/{hoses['wanted']}", f"{streams['complete']}/{streams['wanted']}",
            _num(f["peak_open"]), _num(f["latency"]["p50_ms"]), _num(f["latency"]["p99_ms"]),
            _num(f["latency"]["max_ms"]), mb, _num(f.get("api_cpu_s")),
            _num(f.get("api_cpu_us_per_frame")), _num(f["cpu_s"]),
            json.dumps(f["connect_errors"] | f["error_frames"]),
        )  # fmt: skip
    out.print(table)


async def main(args: argparse.Namespace) -> int:
    # SIGTERM (a CI timeout, a supervisor) unwinds like Ctrl-C, so engines and state get cleaned.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    info = machine()
    services = {"pg_dsn": args.pg_dsn, "redis_url": args.redis_url}
    parts = args.parts.split(",")
    results: dict[str, list[dict[str, Any]]] = {}
    if "e2e" in parts:
        results["e2e"] = await e2e_part(args, services)
    if "fanout" in parts:
        results["fanout"] = await fanout_part(args, services)
    if "scale" in parts:
        results["scale"] = await scale_part(args, services)
    if "seed" in parts:
        results["seed"] = await seed_part(args, services)
    if "overload" in parts:
        results["overload"] = await overload_part(args, services, results.get("e2e", []))
    info["loadavg_after"] = loadavg()
    out = Console(width=None if sys.stdout.isatty() else 200)  # a pipe would get 80 columns
    if "e2e" in results:
        render_e2e(f"e2e: latency scale {args.latency_scale}", results["e2e"], out)
    if "fanout" in results:
        render_fanout(results["fanout"], out)
    if "scale" in results:
        render_e2e("scale: production, workers x APIs", results["scale"], out)
    if "seed" in results:
        render_seed(results["seed"], out)
    if "overload" in results:
        render_overload(results["overload"], out)
    out.print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, load average "
        f"{' '.join(info['loadavg_before'])} before, {' '.join(info['loadavg_after'])} after, "
        f"commit {info['commit']}"
    )
    e2e_runs = results.get("e2e", []) + results.get("scale", []) + results.get("seed", [])
    ok = all(e2e_ok(r) for r in e2e_runs)
    ok = ok and all(fanout_ok(r) for r in results.get("fanout", []))
    ok = ok and all(overload_ok(r) for r in results.get("overload", []))
    if args.json:
        hidden = ("json", "redis_url", "pg_dsn", "keep_logs")
        params = {k: v for k, v in vars(args).items() if k not in hidden}
        document = {"machine": info, "params": params, "ok": ok, **results}
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(parse_args())))
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("[yellow]interrupted; engines stopped and their state removed[/]")
        sys.exit(130)
