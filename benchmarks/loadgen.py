"""The load generator of the benchmark suite: its own process, its own CPU, lean on the wire.

The suite (`benchmarks/suite.py`) starts it as a child with a JSON spec and reads a JSON
result, so the generator's CPU is measured apart from the engine's and a saturated generator
(CPU near one core, or an open-loop schedule it could not keep) is reported as such. Keep-alive
HTTP/1.1 for the submissions and a minimal WebSocket client for the streams (`wire.py`),
frames parsed with `json` alone, on uvloop when it is installed.

    python benchmarks/loadgen.py --spec spec.json --out result.json

Two scenarios (`spec["mode"]`):
- `e2e`: N market orders through `POST /api/orders/execute`, closed loop (`concurrency`
  orders in flight) or open loop (`rate` orders/s on a fixed schedule); each order followed over
  its WebSocket to the terminal event and the server's close. With `replay` the stream opens
  with `?since=0`, so every event (from `pending`) arrives with its `at` and every order's
  stages can be timed.
- `fanout`: F firehose clients connected first, then M orders, then K per-order streams spread
  over them; every client's events checked for completeness and timed from `at` to receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from fanout_load import run_fanout
from wire import RawHttp, RawWs, WsClosed, host_port

from oee.loadtest import TERMINAL, StreamCheck, order_body

EXECUTE_PATH = "/api/orders/execute"
CLOSE_GRACE_S = 5.0  # how long the server may take to close a stream after its terminal event


def cpu_now() -> float:
    """This process's CPU time (user + system) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(slots=True)
class Record:
    """One order as the generator saw it; times are wall-clock epoch seconds (`time.time`)."""

    outcome: str = "timed_out"  # a terminal type, rejected, lost, timed_out, error
    error: str | None = None
    status: int | None = None
    scheduled: float | None = None  # open loop: when the schedule said to submit
    posted: float | None = None
    acked: float | None = None
    terminal: float | None = None
    ats: dict[str, str] = field(default_factory=dict)  # first `at` of each event type
    gaps: int = 0
    violations: int = 0
    clean_close: bool = False

    def to_json(self) -> dict[str, Any]:
        """Compact JSON: the suite reduces thousands of these."""
        return {
            "o": self.outcome, "e": self.error, "s": self.status, "sch": self.scheduled,
            "p": self.posted, "a": self.acked, "t": self.terminal, "at": self.ats,
            "g": self.gaps, "v": self.violations, "c": self.clean_close,
        }  # fmt: skip


class E2eLoad:
    """Submits and follows orders; one `Record` per order."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.body = order_body("SOL", "USDC", str(spec.get("amount_in", "0.01")), 100)
        self.http = RawHttp(spec["post_url"], spec.get("lanes", 8), spec["timeout_s"])
        self.streams = itertools.cycle([host_port(url) for url in spec["stream_urls"]])
        self.records: list[Record] = []
        self.suffix = "?since=0" if spec.get("replay", True) else ""

    async def one(self, record: Record) -> None:
        """Submit one order and follow it; trouble is recorded, never raised."""
        try:
            async with asyncio.timeout(self.spec["timeout_s"]):
                record.posted = time.time()
                status, data = await self.http.request("POST", EXECUTE_PATH, self.body)
                record.acked, record.status = time.time(), status
                if not 200 <= status < 300:
                    record.outcome = "rejected"
                    return
                path = json.loads(data)["wsUrl"]
                host, port = next(self.streams)
                await self.follow(record, host, port, path + self.suffix)
        except TimeoutError:
            if record.outcome not in TERMINAL:
                record.outcome = "timed_out"
        except (OSError, WsClosed, asyncio.IncompleteReadError) as error:
            if record.outcome not in TERMINAL:
                stage = "ws" if record.acked else "submit"
                record.outcome, record.error = "error", f"{stage}:{type(error).__name__}:{error}"
        except Exception as error:  # a frame or body outside the contract; keep going
            record.outcome, record.error = "error", f"protocol:{type(error).__name__}"

    async def follow(self, record: Record, host: str, port: int, path: str) -> None:
        ws = await RawWs.connect(host, port, path)
        check = StreamCheck()
        grace = asyncio.timeout(None)
        try:
            async with grace:
                while (raw := await ws.recv()) is not None:
                    frame = json.loads(raw)
                    kind = frame.get("type")
                    if kind != "snapshot" and "at" in frame:
                        record.ats.setdefault(kind, frame["at"])
                    if check.feed(frame) and record.terminal is None:
                        record.terminal = time.time()
                        grace.reschedule(asyncio.get_running_loop().time() + CLOSE_GRACE_S)
        except TimeoutError:
            if not grace.expired():
                raise
        except WsClosed:
            pass
        finally:
            await ws.close()
            record.gaps, record.violations = check.gaps, check.violations
            if check.terminal is not None:
                record.outcome, record.error = check.terminal, check.error
                record.clean_close = ws.close_code == 1000
        if check.terminal is None:
            record.outcome = "error" if check.error_frame else "lost"
            record.error = check.error

    async def closed_loop(self, count: int, concurrency: int) -> None:
        numbers = itertools.count()

        async def worker() -> None:
            while next(numbers) < count:
                record = Record()
                self.records.append(record)
                await self.one(record)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, count)):
                group.create_task(worker())

    async def open_loop(self, count: int, rate: float, max_in_flight: int) -> None:
        slots = asyncio.Semaphore(max_in_flight)
        start = time.time() + 0.05

        async def run(record: Record) -> None:
            try:
                await self.one(record)
            finally:
                slots.release()

        async with asyncio.TaskGroup() as group:
            for n in range(count):
                due = start + n / rate
                if (wait := due - time.time()) > 0:
                    await asyncio.sleep(wait)
                await slots.acquire()  # past max_in_flight the schedule slips: shown as lag
                record = Record(scheduled=due)
                self.records.append(record)
                group.create_task(run(record))


async def run_e2e(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the e2e scenario; the records, the wall time and this process's CPU."""
    load = E2eLoad(spec)
    cpu, started = cpu_now(), time.time()
    try:
        async with asyncio.timeout(spec["deadline_s"]):
            if spec.get("rate"):
                await load.open_loop(spec["orders"], spec["rate"], spec["max_in_flight"])
            else:
                await load.closed_loop(spec["orders"], spec["concurrency"])
    except TimeoutError:
        pass  # the deadline: unfinished orders keep their `timed_out`
    finally:
        await load.http.aclose()
    return {
        "started": started,
        "wall_s": time.time() - started,
        "cpu_s": cpu_now() - cpu,
        "records": [r.to_json() for r in load.records],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="the scenario, a JSON file")
    parser.add_argument("--out", required=True, help="where the JSON result goes")
    args = parser.parse_args(argv)
    with open(args.spec) as spec_file:
        spec = json.load(spec_file)
    scenario = run_fanout(spec) if spec["mode"] == "fanout" else run_e2e(spec)
    try:
        import uvloop  # the engine's own loop; cheaper per frame than asyncio's
    except ImportError:
        result = asyncio.run(scenario)
    else:
        result = uvloop.run(scenario)
    with open(args.out, "w") as out:
        json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
