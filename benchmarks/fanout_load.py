"""The fan-out scenario of the load generator (`loadgen.py`): many streams on one API process.

First F firehose clients (`WS /ws/orders?recent=0`) connect and read their snapshot; then M
market orders are placed; then K per-order streams (`WS /ws/orders/<id>`) are opened, spread
round-robin over the M orders. The engine runs at a latency scale that keeps the orders alive
while the streams connect, so both kinds of client receive live events.

Every client is checked: a firehose client must receive every event of every one of the M orders
(all were created after it connected), per order seq 1, 2, ... up to the terminal event, in
order, without a gap or a duplicate; a per-order stream must go from its snapshot's seq to the
terminal event without a gap and be closed with 1000. Delivery latency is the receipt time minus
the event's `at` (stamped by the engine when the transition is made, before its commit and
publish; same host clock). The API's RSS is read from /proc at each phase and sampled for its
peak.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wire import RawHttp, RawWs, WsClosed, host_port, process_cpu_seconds, process_rss_bytes

from oee.loadtest import TERMINAL, Latency, StreamCheck, order_body

EXECUTE_PATH = "/api/orders/execute"
RSS_SAMPLE_S = 0.25


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _age(frame: dict[str, Any], now: float) -> float:
    return now - datetime.fromisoformat(frame["at"]).timestamp()


@dataclass
class Tally:
    """What every client adds to: latencies, open connections, failures to connect."""

    firehose_latency: list[float] = field(default_factory=list)
    stream_latency: list[float] = field(default_factory=list)
    by_type: dict[str, list[float]] = field(default_factory=dict)  # both kinds of client
    open_now: int = 0
    peak_open: int = 0
    connect_errors: dict[str, int] = field(default_factory=dict)
    odd_frames: dict[str, int] = field(default_factory=dict)  # not an event: an error frame

    def odd(self, frame: dict[str, Any]) -> None:
        key = f"{frame.get('type')}:{frame.get('code')}"
        self.odd_frames[key] = self.odd_frames.get(key, 0) + 1

    def opened(self) -> None:
        self.open_now += 1
        self.peak_open = max(self.peak_open, self.open_now)

    def failed(self, error: BaseException) -> None:
        key = type(error).__name__
        self.connect_errors[key] = self.connect_errors.get(key, 0) + 1


class FirehoseClient:
    """One `WS /ws/orders` client: every order's seqs as received, until `expected` are terminal."""

    def __init__(self, tally: Tally, expected: int) -> None:
        self.tally, self.expected = tally, expected
        self.seqs: dict[str, list[int]] = {}
        self.terminal: dict[str, int] = {}
        self.done = asyncio.Event()
        self.ws: RawWs | None = None

    async def connect(self, host: str, port: int) -> None:
        self.ws = await RawWs.connect(host, port, "/ws/orders?recent=0")
        self.tally.opened()
        snapshot = await self.ws.recv()  # the orders before it connected: none of ours
        if snapshot is None or json.loads(snapshot).get("type") != "snapshot":
            raise ConnectionError("no snapshot frame")

    async def read(self) -> None:
        assert self.ws is not None
        latency = self.tally.firehose_latency
        try:
            while (raw := await self.ws.recv()) is not None:
                now = time.time()
                frame = json.loads(raw)
                if "at" not in frame:
                    self.tally.odd(frame)
                    continue
                order_id, seq = frame.get("orderId"), frame.get("seq")
                self.seqs.setdefault(order_id, []).append(seq)
                age = _age(frame, now)
                latency.append(age)
                self.tally.by_type.setdefault(frame.get("type"), []).append(age)
                if frame.get("type") in TERMINAL:
                    self.terminal[order_id] = seq
                    if len(self.terminal) >= self.expected:
                        self.done.set()
        except WsClosed:
            pass
        finally:
            self.done.set()

    def missing(self, order_ids: list[str]) -> int:
        """Orders whose events did not arrive as 1..terminal, in order, exactly once."""
        bad = 0
        for order_id in order_ids:
            last = self.terminal.get(order_id)
            if last is None or self.seqs.get(order_id) != list(range(1, last + 1)):
                bad += 1
        return bad


async def follow_stream(ws: RawWs, tally: Tally) -> bool:
    """Follow one order's stream to its close; True when it was complete and closed cleanly."""
    check = StreamCheck()
    try:
        while (raw := await ws.recv()) is not None:
            now = time.time()
            frame = json.loads(raw)
            if "at" not in frame:
                if frame.get("type") != "snapshot":
                    tally.odd(frame)
            else:
                age = _age(frame, now)
                tally.stream_latency.append(age)
                tally.by_type.setdefault(frame.get("type"), []).append(age)
            check.feed(frame)
    except WsClosed:
        pass
    finally:
        tally.open_now -= 1
        await ws.close()
    clean = check.terminal is not None and ws.close_code == 1000
    return clean and check.gaps == 0 and check.violations == 0


def latency_ms(samples: list[float]) -> dict[str, Any]:
    """Count and p50/p90/p99/max of latencies in seconds, in milliseconds."""
    stats = Latency.of(samples)
    named = {"p50_ms": stats.p50, "p90_ms": stats.p90, "p99_ms": stats.p99, "max_ms": stats.max}
    return {"count": stats.count} | {
        k: None if v is None else round(v * 1000, 1) for k, v in named.items()
    }


async def _sample_rss(pid: int, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], process_rss_bytes(pid) or 0)
        await asyncio.sleep(RSS_SAMPLE_S)


async def run_fanout(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the scenario described by `spec` (see the module docstring); the JSON result."""
    host, port = host_port(spec["stream_url"])
    pid, tally = spec["api_pid"], Tally()
    rss = {"idle": process_rss_bytes(pid)}
    peak = [rss["idle"] or 0]
    sampler = asyncio.create_task(_sample_rss(pid, peak))
    gate = asyncio.Semaphore(spec.get("connect_parallel", 100))
    cpu, started = _cpu(), time.time()
    api_cpu = process_cpu_seconds(pid)
    hoses = [FirehoseClient(tally, spec["orders"]) for _ in range(spec["firehoses"])]
    readers: list[asyncio.Task[None]] = []

    async def open_hose(hose: FirehoseClient) -> None:
        async with gate:
            try:
                await hose.connect(host, port)
            except (OSError, WsClosed, ConnectionError) as error:
                tally.failed(error)
                hose.done.set()
                return
        readers.append(asyncio.create_task(hose.read()))

    await asyncio.gather(*(open_hose(h) for h in hoses))
    connect_s = time.time() - started
    rss["firehoses_connected"] = process_rss_bytes(pid)

    http = RawHttp(spec["post_url"], 2, spec["timeout_s"])
    body = order_body("SOL", "USDC", "0.01", 100)
    order_ids: list[str] = []
    for _ in range(spec["orders"]):
        status, data = await http.request("POST", EXECUTE_PATH, body)
        if status == 200:
            order_ids.append(json.loads(data)["orderId"])
    await http.aclose()

    async def open_stream(n: int) -> bool:
        async with gate:  # the handshakes are gated; the streams, once open, are not
            try:
                ws = await RawWs.connect(host, port, f"/ws/orders/{order_ids[n % len(order_ids)]}")
            except (OSError, WsClosed, ConnectionError) as error:
                tally.failed(error)
                return False
        tally.opened()
        return await follow_stream(ws, tally)

    streams_ok: list[bool] = []
    try:
        async with asyncio.timeout(spec["timeout_s"]):
            count = spec["streams"] if order_ids else 0
            streams_ok = list(await asyncio.gather(*(open_stream(n) for n in range(count))))
            rss["streams_done"] = process_rss_bytes(pid)
            await asyncio.gather(*(hose.done.wait() for hose in hoses))
    except TimeoutError:
        pass
    wall_s = time.time() - started
    api_cpu_s = _spent(api_cpu, process_cpu_seconds(pid))
    for hose in hoses:
        if hose.ws is not None:
            await hose.ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.sleep(1.0)  # the server notices the closes and frees the connections
    rss["after_close"] = process_rss_bytes(pid)
    sampler.cancel()
    rss["peak"] = peak[0]
    missing = [hose.missing(order_ids) for hose in hoses if hose.ws is not None]
    frames = len(tally.firehose_latency) + len(tally.stream_latency)
    grown = (rss["peak"] or 0) - (rss["idle"] or 0)
    per_frame = round(api_cpu_s * 1e6 / frames, 1) if api_cpu_s and frames else None
    return {
        "orders": len(order_ids),
        "firehoses": {
            "wanted": spec["firehoses"],
            "connected": len(missing),
            "complete": sum(1 for m in missing if m == 0),
            "incomplete": sum(1 for m in missing if m),
            "orders_missing_events": sum(missing),
            "connect_s": round(connect_s, 2),
            "latency": latency_ms(tally.firehose_latency),
        },
        "streams": {
            "wanted": spec["streams"],
            "complete": sum(streams_ok),
            "incomplete": len(streams_ok) - sum(streams_ok),
            "latency": latency_ms(tally.stream_latency),
        },
        "latency": latency_ms(tally.firehose_latency + tally.stream_latency),
        "latency_by_type": {kind: latency_ms(ages) for kind, ages in tally.by_type.items()},
        "peak_open": tally.peak_open,
        "connect_errors": tally.connect_errors,
        "error_frames": tally.odd_frames,
        "rss_bytes": rss,
        "wall_s": round(wall_s, 2),
        "cpu_s": round(_cpu() - cpu, 2),
        # The API's side: CPU from the first handshake to the last terminal event, per event
        # frame delivered (snapshots and handshakes included in the CPU, not in the count).
        "api_cpu_s": api_cpu_s,
        "frames_delivered": frames,
        "api_cpu_us_per_frame": per_frame,
        "rss_kb_per_stream": round(grown / 1024 / tally.peak_open, 1) if tally.peak_open else None,
    }


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 2)
