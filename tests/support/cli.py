"""The `oee` command run as a user runs it: a real subprocess, its exit code and output."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

OEE = str(Path(sys.executable).with_name("oee"))
# Nothing from the caller's shell that changes what the CLI prints (OEE_URL, COLUMNS, colours).
ENV = {
    "PATH": os.environ.get("PATH", ""),
    "HOME": os.environ.get("HOME", "/tmp"),
    "LANG": "C.UTF-8",
    # Which source tree is under test (a worktree run against a shared virtualenv).
    **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
}


@dataclass
class Run:
    """How one `oee` run ended: its exit code and what it printed."""

    code: int
    out: str
    err: str


async def oee(*args: str, timeout: float = 60, **env: str) -> Run:
    """Run `oee *args` with `ENV` plus `env`; fails after `timeout` seconds."""
    proc = await asyncio.create_subprocess_exec(
        OEE, *args, env=ENV | env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())
