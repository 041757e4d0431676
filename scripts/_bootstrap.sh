# Sourced by scripts/oee and scripts/test: makes .venv and installs exactly the locked set
# (requirements-dev.lock, hashes required) on first use, and again whenever the lock changes.
# A lock made from another pyproject.toml is refused: run scripts/lock.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK="$ROOT/requirements-dev.lock"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer is required (none found on PATH)" >&2
  return 1
}

python_bin="$(find_python)"
"$python_bin" "$ROOT/scripts/lockstamp.py" --check "$LOCK" "$ROOT/requirements.lock"
stamp="$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.oee-stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "==> setting up $VENV with $($python_bin --version) from requirements-dev.lock (first run or the lock changed)" >&2
  [ -x "$VENV/bin/python" ] || "$python_bin" -m venv "$VENV"
  # Exactly the locked versions, each checked against its hash; nothing resolved here.
  "$VENV/bin/python" -m pip install --quiet --progress-bar off --require-hashes --no-deps \
    -r "$LOCK" >&2
  # The engine itself, editable, built by the locked hatchling (no isolated build that would
  # fetch an unpinned backend).
  "$VENV/bin/python" -m pip install --quiet --progress-bar off --no-deps --no-build-isolation \
    -e "$ROOT" >&2
  "$VENV/bin/python" -m pip check >&2
  echo "$stamp" > "$VENV/.oee-stamp"
  echo "==> ready" >&2
fi
