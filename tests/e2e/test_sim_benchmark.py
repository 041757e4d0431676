"""The simulator throughput benchmark's short form (benchmarks/sim_throughput.py, ~100 txs).

Runs the script as its own process, as a developer does, against the ledger directly and over
HTTP to a fresh `oee sim` child with and without preflight. Every transaction must land and the
JSON summary must carry its fields; speed is measured by the benchmark, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "sim_throughput.py"
TXS = 100
FIELDS = {
    "machine", "target", "preflight", "concurrency", "wallets", "txs", "signed_per_s", "sign_s",
    "sent", "rejected", "rejected_by_error", "landed", "failed", "failed_by_error", "lost",
    "send_s", "sent_per_s", "send_p50_ms", "send_p99_ms", "status_calls", "wall_s",
    "landed_per_s", "funding",
}  # fmt: skip


def run_benchmark(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--txs", str(TXS), "--json", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def assert_all_landed(summary: dict[str, Any]) -> None:
    assert summary.keys() >= FIELDS, FIELDS - summary.keys()
    counts = {k: summary[k] for k in ("sent", "landed", "failed", "rejected", "lost")}
    assert counts == {"sent": TXS, "landed": TXS, "failed": 0, "rejected": 0, "lost": 0}, summary
    assert summary["failed_by_error"] == {}
    assert summary["rejected_by_error"] == {}
    assert summary["landed_per_s"] > 0
    assert summary["send_p99_ms"] >= summary["send_p50_ms"]
    assert summary["machine"]["nproc"] >= 1


@pytest.mark.timeout(60)
def test_direct_ledger_lands_every_transaction() -> None:
    summary = run_benchmark("--direct")
    assert_all_landed(summary)
    assert summary["process_cpu_s"] is not None


@pytest.mark.timeout(170)
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "skip-preflight"])
def test_oee_sim_child_lands_every_transaction_over_http(preflight: bool) -> None:
    summary = run_benchmark("--concurrency", "16", *([] if preflight else ["--skip-preflight"]))
    assert_all_landed(summary)
    assert summary["preflight"] is preflight
    assert summary["sim_cpu_s"] is not None
    assert summary["client_cpu_s"] is not None


@pytest.mark.timeout(170)
def test_the_suite_runs_every_mode_and_compares_them() -> None:
    result = run_benchmark("--suite", "--concurrency", "16")
    assert list(result["runs"]) == ["direct", "direct-rpc", "http", "http-skip-preflight"]
    for summary in result["runs"].values():
        assert_all_landed(summary | {"machine": result["machine"]})
    assert set(result["ratios"]) == {
        "direct-rpc_vs_direct",
        "http_vs_direct",
        "http-skip-preflight_vs_direct",
        "http_vs_http-skip-preflight",
    }
    assert all(ratio > 0 for ratio in result["ratios"].values())


@pytest.mark.timeout(60)
def test_a_lost_transaction_fails_the_run(tmp_path: Path) -> None:
    # A transaction signed with a blockhash the chain never issued is forwarded without
    # preflight and never lands: the run must end non-zero and count it as lost.
    wrapper = tmp_path / "unknown_blockhash.py"
    wrapper.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(SCRIPT.parent)!r})\n"
        "import sim_throughput as bench\n"
        "from solders.hash import Hash\n"
        "sign_all = bench.sign_all\n"
        "def forged(n, builders, legs, hashes):\n"
        "    fake = bench.Blockhash(str(Hash.new_unique()), hashes[0].last_valid_block_height)\n"
        "    return sign_all(n, builders, legs, [fake] * len(hashes))\n"
        "bench.sign_all = forged\n"
        "sys.exit(bench.main())\n"
    )
    args = ["--direct-rpc", "--txs", "5", "--skip-preflight", "--land-timeout", "0.5"]
    done = subprocess.run(
        [sys.executable, str(wrapper), *args, "--json", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert (summary["sent"], summary["landed"], summary["lost"]) == (5, 0, 5)
