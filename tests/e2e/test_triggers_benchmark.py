"""The trigger benchmark's short form (benchmarks/triggers.py --short) runs in CI.

As a developer runs it, in its own process: 2,000 armed limit orders fired 200 at a time and
then all at once (the script counts the store's orders by status after each check), and 3
snipers through the whole embedded engine, each confirmed. Speed is measured by the benchmark,
never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "triggers.py"


def run_short(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "triggers.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--short", "--no-progress", "--json", str(out), *args],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    summary: dict[str, Any] = json.loads(out.read_text())
    return summary


@pytest.mark.timeout(180)
def test_the_short_form_fires_exactly_the_crossed_orders_and_every_sniper(tmp_path: Path) -> None:
    summary = run_short(tmp_path)
    limit = summary["limit"]
    assert [(r["backend"], r["orders"], r["crossed"]) for r in limit] == [
        ("sqlite", 2000, 200),
        ("sqlite", 2000, 2000),
    ]
    assert all(r["verified"] for r in limit)
    assert [len(r["rounds"]) for r in limit] == [2, 1]
    assert limit[0]["tracemalloc_per_order_bytes"] > 0
    for run in limit:
        assert run["claimed_per_s"] > 0
        for check in run["rounds"]:
            assert check["check_ms"] >= check["applied_ms"] >= check["persisted_ms"] > 0
            assert check["applied_ms"] >= check["save_many_ms"] > 0
            assert check["persisted_ms"] >= check["decide_ms"] > 0  # decided first
    sniper = summary["sniper"]
    assert sniper["verified"]
    assert sniper["confirmed"] == sniper["snipers"] == 3
    assert sniper["engine_max_ms"] >= sniper["engine_p99_ms"] >= sniper["engine_p50_ms"] > 0


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_the_short_limit_form_on_a_fresh_postgres_database(
    tmp_path: Path, postgres_available: None
) -> None:
    summary = run_short(tmp_path, "--part", "limit", "--mode", "postgres")
    assert [(r["backend"], r["crossed"], r["verified"]) for r in summary["limit"]] == [
        ("postgres", 200, True),
        ("postgres", 2000, True),
    ]
    assert "sniper" not in summary
