"""The store commit benchmark's short form (benchmarks/store_commit.py --short) runs in CI.

As a developer runs it, in its own process: 50 orders moving at once, each written five
times, with one transaction per write and with group commit, on SQLite; the script checks
every order's events. Speed is measured by the benchmark, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "store_commit.py"


@pytest.mark.timeout(120)
def test_the_short_form_writes_every_event_plain_and_grouped(tmp_path: Path) -> None:
    out = tmp_path / "store_commit.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--short", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    summary = json.loads(out.read_text())
    assert summary["orders"] == 50
    sqlite = summary["backends"]["sqlite"]
    for mode in ("plain", "group"):
        assert sqlite[mode]["cpu_us_per_write"] > 0
        assert sqlite[mode]["writes_per_s"] > 0
