# Sourced by scripts/oee and scripts/test: makes .venv and installs the project on first use,
# and again whenever pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

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

stamp="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.oee-stamp" 2>/dev/null)" != "$stamp" ]; then
  python_bin="$(find_python)"
  echo "==> setting up $VENV with $($python_bin --version) (first run or pyproject.toml changed)" >&2
  [ -x "$VENV/bin/python" ] || "$python_bin" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --progress-bar off -e "$ROOT[dev]" >&2
  echo "$stamp" > "$VENV/.oee-stamp"
  echo "==> ready" >&2
fi
