"""The suite's `overload` part: the production engine offered twice what it can do.

First the capacity is measured (closed loop on production, as the e2e part does). Then an open
loop offers `factor` x that rate for `seconds`, once as is and once beside a CPU hog (a process
spinning on one core, as a noisy neighbour would). Past capacity the engine should slow down,
never thrash: it refuses what it cannot start soon (503 `OVERLOADED` with `Retry-After`) and
finishes everything it accepted. Figures per run:

- `stuck`: accepted but not terminal when the generator gave up (order timeout);
- `lost_locks`: BullMQ job locks that expired under a running job (the worker's
  `job_lock_lost`, BullMQ's "could not renew lock" or "Missing lock");
- `enqueue_timeouts`: submits whose enqueue to Redis failed (`enqueue_failed_recovery_will_retry`);
- `refused_503`: submits answered 503 (`OVERLOADED`);
- `throughput_share`: orders finished per second (sustained) over the unloaded capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from topology import start

from e2e import active_count, load_spec, run_loadgen, summarise

LOST_LOCK_MARKS = ("job_lock_lost", "could not renew lock", "Missing lock")
ENQUEUE_TIMEOUT_MARKS = ("enqueue_failed_recovery_will_retry",)
_HOG = "while True: pass"


@contextlib.asynccontextmanager
async def cpu_hog(enabled: bool) -> AsyncIterator[None]:
    """A process spinning on one core for the duration, when `enabled`."""
    if not enabled:
        yield
        return
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _HOG)
    try:
        yield
    finally:
        proc.kill()
        await proc.wait()


def count_marks(log_dir: Path, marks: tuple[str, ...]) -> int:
    """Log lines (of every process) that carry one of `marks`."""
    total = 0
    for path in log_dir.glob("*.log"):
        with path.open("rb") as log:
            total += sum(1 for line in log if any(m.encode() in line for m in marks))
    return total


async def overload_run(
    env: dict[str, str],
    *,
    rate: float,
    seconds: float,
    hog: bool,
    order_timeout_s: float,
    services: dict[str, str],
) -> dict[str, Any]:
    """One open-loop run at `rate` orders/s for `seconds` on production; its figures."""
    orders = max(int(rate * seconds), 1)
    logs = Path(tempfile.mkdtemp(prefix="oee-bench-overload-"))
    try:
        async with start("production", env, log_dir=logs, **services) as running:
            before = running.cpu()
            load = {
                "orders": orders,
                "rate": rate,
                "order_timeout_s": order_timeout_s,
                "deadline_s": seconds + order_timeout_s,
            }
            async with cpu_hog(hog):
                result = await run_loadgen(load_spec(running, load), seconds + order_timeout_s + 60)
            after = running.cpu()
            active = await active_count(running.post_url)
        cpu = {name: after[name] - before.get(name, 0.0) for name in after}
        figures = summarise(result, cpu, 0.0)
        figures["engine_active_after"] = active
        figures["refused_503"] = sum(1 for r in result["records"] if r["s"] == 503)
        figures["lost_locks"] = count_marks(logs, LOST_LOCK_MARKS)
        figures["enqueue_timeouts"] = count_marks(logs, ENQUEUE_TIMEOUT_MARKS)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    load_desc = {"rate": rate, "orders": orders, "seconds": seconds, "cpu_hog": hog}
    return {"topology": {"kind": "production", "workers": 1, "apis": 1}, "load": load_desc,
            "figures": figures}  # fmt: skip


def with_share(run: dict[str, Any], capacity: float | None) -> dict[str, Any]:
    """Add `throughput_share`: the run's sustained rate over the unloaded capacity."""
    f = run["figures"]
    rate = f["sustained_per_s"] or f["orders_per_s"]
    f["capacity_per_s"] = capacity
    f["throughput_share"] = round(rate / capacity, 2) if rate and capacity else None
    return run


def overload_ok(run: dict[str, Any]) -> bool:
    """Nothing accepted was left behind and no lock or enqueue was lost."""
    f = run["figures"]
    return (f["stuck"], f["lost_locks"], f["enqueue_timeouts"]) == (0, 0, 0)
