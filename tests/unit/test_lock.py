"""The lock files agree with pyproject.toml: every install is the locked set, nothing resolved.

`scripts/_bootstrap.sh` refuses a lock whose fingerprint differs from pyproject.toml's; these
tests check the rest of the agreement, so CI is red when the two drift apart.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def pins(lock: str) -> dict[str, str]:
    """`name -> version` for every package a lock file pins."""
    found = {}
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(3)
    return found


def entries(lock: str) -> list[str]:
    """Each pinned entry with its continuation lines, as pip reads it."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    return [block for block in re.split(r"\n(?=\S)", text) if _PIN.match(block)]


@pytest.mark.parametrize("lock", ["requirements-dev.lock", "requirements.lock"])
def test_lock_was_made_from_this_pyproject(lock: str) -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts/lockstamp.py"), "--check", str(ROOT / lock)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        (
            "requirements-dev.lock",
            PYPROJECT["project"]["dependencies"]
            + PYPROJECT["project"]["optional-dependencies"]["dev"]
            + PYPROJECT["build-system"]["requires"],
        ),
        (
            "requirements.lock",
            PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"],
        ),
    ],
)
def test_every_requirement_is_pinned_within_its_range(lock: str, requirements: list[str]) -> None:
    pinned = pins(lock)
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is required by pyproject.toml but not in {lock}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside {requirement.specifier}"
        )


@pytest.mark.parametrize("lock", ["requirements-dev.lock", "requirements.lock"])
def test_every_pin_carries_hashes(lock: str) -> None:
    for entry in entries(lock):
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_runtime_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    for tool in ("pytest", "mypy", "ruff", "hypothesis", "playwright"):
        assert tool not in runtime
