"""The benchmark suite's short form (benchmarks/suite.py --short) runs in CI.

As a developer runs it, in its own process: e2e on both topologies (closed and open loop),
fan-out on one API, scale-out (1 and 2 workers, 2 APIs), the seed part (one worker at the
seed's latencies) and overload (twice capacity, with and without a CPU hog), each against
processes started for the run on the real PostgreSQL and Redis. Every order must reach its
terminal event and every
stream client must see every event; the JSON must carry the figures the full form records.
Speed is measured by the full form, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import PG_HOST, PG_PORT, PG_USER, REDIS_TEST_URL

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "suite.py"
E2E_FIGURES = {
    "orders", "accepted", "confirmed", "failed", "stuck", "seq_gaps", "seq_violations",
    "unclean_closes", "submit_per_s", "orders_per_s", "sustained_per_s", "post_to_terminal",
    "post_answer", "stages", "schedule_lag", "engine_cpu_s", "engine_cpu_ms_per_order",
    "engine_cpu_ms_per_order_net", "engine_idle_cpu_share", "errors", "cpu_s_by_process", "generator_cpu_s", "generator_cpu_share", "generator_saturated",
    "engine_active_after", "wall_s",
}  # fmt: skip
OVERLOAD_FIGURES = {
    "refused_503", "lost_locks", "enqueue_timeouts", "capacity_per_s", "throughput_share",
}  # fmt: skip
PERCENTILES = {"count", "p50_ms", "p90_ms", "p99_ms", "max_ms"}


@pytest.fixture(scope="module")
def suite(
    tmp_path_factory: pytest.TempPathFactory, postgres_available: None, redis_available: None
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("suite") / "suite.json"
    args = ["--short", "--json", str(out), "--redis-url", REDIS_TEST_URL]
    args += ["--pg-dsn", f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, (
        f"exit {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(out.read_text())
    assert "e2e" in done.stdout  # the tables went to stdout
    return result


def assert_every_order_finished(run: dict[str, Any]) -> None:
    figures = run["figures"]
    assert figures.keys() >= E2E_FIGURES, E2E_FIGURES - figures.keys()
    assert figures["accepted"] == figures["confirmed"] == run["load"]["orders"], figures
    assert (figures["stuck"], figures["engine_active_after"]) == (0, 0), figures
    assert (figures["seq_gaps"], figures["seq_violations"], figures["unclean_closes"]) == (0, 0, 0)
    assert figures["post_to_terminal"].keys() == PERCENTILES
    assert figures["post_to_terminal"]["count"] == run["load"]["orders"]
    # Every stream replays from seq 1, so every order's every stage is timed.
    stages = figures["stages"]
    assert list(stages) == ["queue_wait", "routing", "building", "confirm"]
    assert all(s["count"] == run["load"]["orders"] for s in stages.values()), stages
    assert figures["engine_cpu_ms_per_order"] > 0
    assert "sim" in figures["cpu_s_by_process"]
    assert figures["generator_cpu_s"] >= 0


@pytest.mark.postgres
@pytest.mark.timeout(420)
def test_e2e_runs_both_topologies_closed_and_open_loop(suite: dict[str, Any]) -> None:
    assert suite["ok"] is True
    shapes = [(r["topology"]["kind"], "rate" in r["load"]) for r in suite["e2e"]]
    assert shapes == [
        ("embedded", False),
        ("embedded", True),
        ("production", False),
        ("production", True),
    ]
    for run in suite["e2e"]:
        assert_every_order_finished(run)
    assert suite["machine"]["nproc"] >= 1


@pytest.mark.postgres
@pytest.mark.timeout(420)
def test_fanout_delivers_every_event_to_every_client(suite: dict[str, Any]) -> None:
    (run,) = suite["fanout"]
    figures = run["figures"]
    hoses, streams = figures["firehoses"], figures["streams"]
    assert hoses["complete"] == hoses["wanted"] == run["load"]["firehoses"], hoses
    assert (hoses["incomplete"], hoses["orders_missing_events"]) == (0, 0)
    assert streams["complete"] == streams["wanted"] == run["load"]["order_streams"], streams
    assert figures["orders"] == run["load"]["orders"]
    assert figures["connect_errors"] == {}
    assert figures["peak_open"] >= hoses["wanted"]
    assert figures["latency"].keys() == PERCENTILES
    assert figures["latency"]["count"] > 0
    assert all(figures["rss_bytes"][k] > 0 for k in ("idle", "peak", "after_close"))


@pytest.mark.postgres
@pytest.mark.timeout(420)
def test_scale_runs_one_and_two_workers_and_two_apis(suite: dict[str, Any]) -> None:
    shapes = [(r["topology"]["workers"], r["topology"]["apis"]) for r in suite["scale"]]
    assert shapes == [(1, 1), (2, 1), (2, 2)]
    for run in suite["scale"]:
        assert_every_order_finished(run)
        workers = {k for k in run["figures"]["cpu_s_by_process"] if k.startswith("worker")}
        assert len(workers) == run["topology"]["workers"]


@pytest.mark.postgres
@pytest.mark.timeout(420)
def test_seed_runs_one_worker_at_seed_latencies_with_its_rss(suite: dict[str, Any]) -> None:
    (run,) = suite["seed"]
    assert (run["topology"]["workers"], run["topology"]["apis"]) == (1, 1)
    assert run["load"]["latency_scale"] == 1.0
    assert run["load"]["concurrency"] == suite["params"]["seed_concurrency"]
    assert_every_order_finished(run)
    figures = run["figures"]
    assert figures["orders_per_min"] > 0
    # The worker's RSS at rest and at its peak with every slot busy, as the docs report it.
    assert 0 < figures["rss_mb"]["idle"]["worker-1"] <= figures["rss_mb"]["peak"]["worker-1"]


def test_overload_runs_past_capacity_without_and_with_a_cpu_hog(suite: dict[str, Any]) -> None:
    runs = suite["overload"]
    assert [r["load"]["cpu_hog"] for r in runs] == [False, True]
    for run in runs:
        figures = run["figures"]
        assert figures.keys() >= E2E_FIGURES | OVERLOAD_FIGURES, figures.keys()
        # Slows down, never thrashes: all it accepted finished, no lock or enqueue was lost.
        assert (figures["stuck"], figures["lost_locks"], figures["enqueue_timeouts"]) == (0, 0, 0)
        assert figures["accepted"] + figures["refused_503"] <= run["load"]["orders"]
        assert figures["capacity_per_s"] > 0
