"""The suite's `e2e` and `scale` parts: N orders through the real HTTP API, each followed over its
WebSocket to its terminal event, against a topology started for the run (`topology.py`).

The load comes from `loadgen.py` in its own process (closed loop: `concurrency` orders in
flight; open loop: `rate` orders/s on a fixed schedule). Figures:
- submit rate (POSTs answered per second) and end-to-end orders/s: over the whole run (first
  POST to last terminal event) and sustained (the middle 80 % of completions);
- POST -> terminal event p50/p90/p99/max, on the generator's clock;
- per-stage latency from the events' `at` (the engine's clock): queue wait (pending ->
  routing), routing (routing -> building), building (building -> submitted), confirmation
  (submitted -> confirmed);
- stuck orders: accepted but not terminal for the client at the end, and the engine's own
  `activeCount` after the run;
- engine RSS: each engine process's resident memory at rest and its peak under the load
  (sampled every `RSS_SAMPLE_S`), in MB;
- engine CPU per order: the CPU time the engine's processes (serve, or api(s) + worker(s))
  spent during the run, over the orders that finished; the simulator's and the generator's
  CPU are reported apart. A generator whose CPU is near one core, or whose open-loop schedule
  slipped, is flagged `generator_saturated`: its figures bound the generator, not the engine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from topology import Kind, Running, start
from wire import process_rss_bytes

from oee.loadtest import TERMINAL, Latency, percentile

LOADGEN = Path(__file__).with_name("loadgen.py")
IDLE_SAMPLE_S = 3.0  # the engine at rest, before the load: its CPU baseline
SATURATED_CPU = 0.85  # of one core: the generator, not the engine, may be what limits the run
SATURATED_LAG_S = 0.1  # open loop: p99 of submissions behind their schedule
RSS_SAMPLE_S = 0.5
STAGES = (
    ("queue_wait", "pending", "routing"),
    ("routing", "routing", "building"),
    ("building", "building", "submitted"),
    ("confirm", "submitted", "confirmed"),
)


def engine_env(latency_scale: float, worker_concurrency: int) -> dict[str, str]:
    """The engine's settings for a benchmark run."""
    return {
        "OEE_SIM_LATENCY_SCALE": str(latency_scale),
        "OEE_WORKER_CONCURRENCY": str(worker_concurrency),
        "OEE_LOG_LEVEL": "WARNING",
        # One client drives all the load: the per-client limits would measure themselves.
        "OEE_RATE_LIMIT": "off",
        "OEE_MAX_STREAMS_PER_KEY": "",
        "OEE_MAX_OPEN_ORDERS_PER_KEY": "",
    }


async def run_loadgen(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Run `loadgen.py` as a child process on `spec`; its JSON result.

    Raises:
        RuntimeError: The generator failed or outlived `timeout_s`.
    """
    with tempfile.TemporaryDirectory(prefix="oee-loadgen-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        await asyncio.to_thread(spec_path.write_text, json.dumps(spec))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(LOADGEN), "--spec", str(spec_path), "--out", str(out_path),
            stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"the load generator ran past {timeout_s:.0f} s") from None
        if proc.returncode != 0:
            raise RuntimeError(f"load generator exit {proc.returncode}: {err.decode()[-2000:]}")
        result: dict[str, Any] = json.loads(await asyncio.to_thread(out_path.read_text))
        return result


def ms(stats: Latency) -> dict[str, Any]:
    """A `Latency` in milliseconds, rounded."""
    named = {"p50_ms": stats.p50, "p90_ms": stats.p90, "p99_ms": stats.p99, "max_ms": stats.max}
    rounded = {k: None if v is None else round(v * 1000, 1) for k, v in named.items()}
    return {"count": stats.count} | rounded


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at).timestamp()


def stage_latencies(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-stage latency from the events' `at`, over the orders whose stream showed both ends."""
    samples: dict[str, list[float]] = {name: [] for name, _, _ in STAGES}
    for record in records:
        ats = record["at"]
        for name, begin, end in STAGES:
            if begin in ats and end in ats:
                samples[name].append(_epoch(ats[end]) - _epoch(ats[begin]))
    return {name: ms(Latency.of(values)) for name, values in samples.items()}


def sustained_rate(completions: list[float]) -> float | None:
    """Orders/s over the middle 80 % of completion times (ramp-up and tail left out)."""
    if len(completions) < 10:
        return None
    ordered = sorted(completions)
    low, high = percentile(ordered, 10), percentile(ordered, 90)
    assert low is not None
    assert high is not None
    inside = sum(1 for t in ordered if low <= t <= high)
    return inside / (high - low) if high > low else None


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def summarise(result: dict[str, Any], cpu: dict[str, float], idle: float) -> dict[str, Any]:
    """The figures of one run from the generator's records and the processes' CPU deltas.

    `idle` is the engine's CPU share (cores) measured at rest before the load: timers, lock
    renewals, polls. The net CPU per order leaves that baseline out, so an open-loop run
    spread over minutes is comparable with a short closed-loop one.
    """
    records = result["records"]
    outcomes = _count(r["o"] for r in records)
    accepted = sum(1 for r in records if r["s"] is not None and 200 <= r["s"] < 300)
    done = [r for r in records if r["o"] in TERMINAL and r["t"] is not None]
    posts = [r["p"] for r in records if r["p"] is not None]
    acks = [r["a"] for r in records if r["a"] is not None]
    completions = [r["t"] for r in done]
    span = max(completions) - min(posts) if done else 0.0
    submit_window = max(acks) - min(posts) if acks else 0.0
    lags = [r["p"] - r["sch"] for r in records if r["sch"] is not None and r["p"] is not None]
    lag = Latency.of(lags)
    engine_cpu = sum(v for k, v in cpu.items() if k != "sim")
    net_cpu = engine_cpu - idle * result["wall_s"]
    gen_share = result["cpu_s"] / result["wall_s"] if result["wall_s"] else 0.0
    return {
        "orders": len(records),
        "accepted": accepted,
        "confirmed": outcomes.get("confirmed", 0),
        "failed": outcomes.get("failed", 0),
        "outcomes": outcomes,
        "errors": _count(r["e"] or "?" for r in records if r["o"] in ("error", "lost", "failed")),
        "stuck": accepted - len(done),
        "seq_gaps": sum(r["g"] for r in records),
        "seq_violations": sum(r["v"] for r in records),
        "unclean_closes": sum(1 for r in done if not r["c"]),
        "submit_per_s": round(len(acks) / submit_window, 1) if submit_window else None,
        "orders_per_s": round(len(done) / span, 1) if span else None,
        "sustained_per_s": (lambda v: None if v is None else round(v, 1))(
            sustained_rate(completions)
        ),
        "post_to_terminal": ms(Latency.of([r["t"] - r["p"] for r in done])),
        "post_answer": ms(Latency.of([r["a"] - r["p"] for r in records if r["a"] is not None])),
        "stages": stage_latencies(done),
        "schedule_lag": ms(lag),
        "engine_cpu_s": round(engine_cpu, 2),
        "engine_cpu_ms_per_order": round(engine_cpu / len(done) * 1000, 2) if done else None,
        "engine_cpu_ms_per_order_net": round(net_cpu / len(done) * 1000, 2) if done else None,
        "engine_idle_cpu_share": round(idle, 3),
        "cpu_s_by_process": {k: round(v, 2) for k, v in cpu.items()},
        "generator_cpu_s": round(result["cpu_s"], 2),
        "generator_cpu_share": round(gen_share, 2),
        "generator_saturated": gen_share >= SATURATED_CPU
        or (lag.p99 is not None and lag.p99 > SATURATED_LAG_S),
        "wall_s": round(result["wall_s"], 2),
    }


async def active_count(url: str) -> int | None:
    """The engine's own count of unfinished orders (`GET /api/orders/active`)."""
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10, trust_env=False) as client:
            return int((await client.get("/api/orders/active")).json()["activeCount"])
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def load_spec(running: Running, load: dict[str, Any]) -> dict[str, Any]:
    """The generator's spec for `load` against `running`."""
    return {
        "mode": "e2e",
        "post_url": running.post_url,
        "stream_urls": running.stream_urls,
        "orders": load["orders"],
        "concurrency": load.get("concurrency") or 1,
        "rate": load.get("rate"),
        "max_in_flight": load.get("max_in_flight", 5000),
        "timeout_s": load["order_timeout_s"],
        "deadline_s": load["deadline_s"],
        "lanes": 8,
        "replay": True,
    }


def engine_rss_mb(running: Running) -> dict[str, float]:
    """Resident memory (MB) of every engine process now (the simulator's left out)."""
    return {
        name: round((process_rss_bytes(pid) or 0) / 2**20, 1)
        for name, pid in running.engine_pids.items()
    }


async def sample_peak_rss(running: Running, peak: dict[str, float]) -> None:
    """Keep `peak` at each engine process's highest RSS (MB) until cancelled."""
    while True:
        for name, mb in engine_rss_mb(running).items():
            peak[name] = max(peak.get(name, 0.0), mb)
        await asyncio.sleep(RSS_SAMPLE_S)


async def run_e2e(
    kind: Kind,
    load: dict[str, Any],
    env: dict[str, str],
    *,
    workers: int = 1,
    apis: int = 1,
    sim: str = "process",
    services: dict[str, str],
) -> dict[str, Any]:
    """Start `kind`, run `load` against it from the generator process, stop it; the figures."""
    async with start(kind, env, workers=workers, apis=apis, sim=sim, **services) as running:
        rest = running.cpu()
        await asyncio.sleep(IDLE_SAMPLE_S)
        before = running.cpu()
        idle = sum(before[k] - rest[k] for k in before if k != "sim") / IDLE_SAMPLE_S
        rss = {"idle": engine_rss_mb(running), "peak": {}}
        sampler = asyncio.create_task(sample_peak_rss(running, rss["peak"]))
        try:
            result = await run_loadgen(load_spec(running, load), load["deadline_s"] + 60)
        finally:
            sampler.cancel()
        after = running.cpu()
        active = await active_count(running.post_url)
    cpu = {name: after[name] - before.get(name, 0.0) for name in after}
    topology = {"kind": kind, "workers": workers if kind == "production" else 1, "apis": apis}
    if kind == "embedded":
        topology["sim"] = sim
    mode = {"rate": load["rate"]} if load.get("rate") else {"concurrency": load["concurrency"]}
    figures = summarise(result, cpu, idle) | {"engine_active_after": active, "rss_mb": rss}
    return {"topology": topology, "load": mode | {"orders": load["orders"]}, "figures": figures}
