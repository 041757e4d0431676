"""The short form of benchmarks/auth_cost.py runs in CI (no speed asserted, only that it works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_auth_cost_benchmark_runs_and_reports_every_case(tmp_path: Path) -> None:
    out = tmp_path / "auth.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/auth_cost.py"), "--short", "--json", str(out)],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    figures = json.loads(out.read_text())
    assert set(figures) == {
        "key check, 1 keys", "key check, 10 keys", "key check, 100 keys", "stream token verify",
    }  # fmt: skip
    assert all(us > 0 for us in figures.values())
