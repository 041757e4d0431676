"""What a benchmark's figures were measured on, for the JSON every benchmark writes.

The load average is read before (and, by the caller, after) a run: these machines are shared,
and a figure taken beside other work must say so.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def loadavg() -> list[str] | None:
    """The 1, 5 and 15 minute load averages (None where /proc is not there)."""
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().split()[:3]
    return None


def machine() -> dict[str, Any]:
    """The CPU, its count, Python, the platform, the load now, the commit and the date."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
    ).stdout.strip()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_before": loadavg(),
        "commit": commit or None,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
