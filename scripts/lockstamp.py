"""Prints the fingerprint of what pyproject.toml asks to install (dependencies, extras, build
requirements), which `scripts/lock` writes into the lock files' headers and `scripts/_bootstrap.sh`
compares before installing: a lock made from another pyproject.toml is refused, not used.

Usage: python scripts/lockstamp.py [pyproject.toml]       prints the fingerprint
       python scripts/lockstamp.py --check LOCK [...]     exits 1 when a lock's header differs
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# pyproject-fingerprint: "


def fingerprint(pyproject: Path) -> str:
    """The sha256 of the install inputs, normalised so that reordering changes nothing."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "extras": {k: sorted(v) for k, v in project.get("optional-dependencies", {}).items()},
        "build": sorted(data.get("build-system", {}).get("requires", [])),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]


def recorded(lock: Path) -> str | None:
    """The fingerprint a lock file was made from (None when its header lacks one)."""
    for line in lock.read_text(encoding="utf-8").splitlines()[:20]:
        if line.startswith(HEADER):
            return line[len(HEADER) :].strip()
    return None


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        want = fingerprint(ROOT / "pyproject.toml")
        stale = [name for name in argv[1:] if recorded(Path(name)) != want]
        for name in stale:
            print(
                f"error: {name} was not made from this pyproject.toml "
                "(dependencies changed): run scripts/lock, then commit the lock",
                file=sys.stderr,
            )
        return 1 if stale else 0
    print(fingerprint(Path(argv[0]) if argv else ROOT / "pyproject.toml"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
