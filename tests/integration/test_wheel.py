"""`pip install .` as a Python user runs it: the wheel alone gives a working `oee`.

The wheel is built from this tree (hatchling, no build isolation: nothing is downloaded) and
installed without its dependencies into a throwaway virtualenv, which borrows the test
environment's installed dependencies through a path file, but not its editable `oee`. From
there `oee --version`, `python -m oee`, `oee migrate` (the Alembic tree must be inside the
wheel) and `oee serve` with its dashboard page and static files are run for real, with no
PYTHONPATH, so only the installed package can answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import httpx
import pytest

import oee
from oee.api.dashboard import ASSETS
from oee.devtools.engine_process import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def run(*argv: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=240, env=env
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", out, ROOT)
    (built,) = out.glob("oee-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", home)
    python = home / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python)
    run(*pip, "install", "--no-deps", "--quiet", wheel)
    # The dependencies, from this environment: its site-packages as a plain path entry, whose
    # own .pth files (the editable install of oee among them) are not processed.
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return home


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OEE_") and k != "PYTHONPATH"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env | {"OEE_DATA_DIR": str(tmp_path / "data"), "OEE_LOG_FORMAT": "json"}


def test_the_wheel_holds_the_migrations_and_the_dashboard(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    versions = sorted(
        p.name for p in (ROOT / "src" / "oee" / "migrations" / "versions").glob("*.py")
    )
    for name in versions:
        assert f"oee/migrations/versions/{name}" in names
    for name in ("oee/migrations/env.py", "oee/migrations/script.py.mako"):
        assert name in names
    static_root = ROOT / "src" / "oee" / "api" / "static"
    for static in static_root.rglob("*"):
        if static.is_file() and "__pycache__" not in static.parts:
            assert f"oee/api/static/{static.relative_to(static_root).as_posix()}" in names
    assert wheel.name == f"oee-{oee.__version__}-py3-none-any.whl"


def test_the_installed_oee_runs_from_the_wheel_alone(venv: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    bin_dir = venv / "bin"
    where = run(bin_dir / "python", "-c", "import oee; print(oee.__file__)", env=env)
    assert where.startswith(str(venv)), where  # not this source tree
    assert run(bin_dir / "oee", "--version", env=env).strip() == f"oee {oee.__version__}"
    assert run(bin_dir / "python", "-m", "oee", "--version", env=env).strip().startswith("oee ")
    migrate = subprocess.run(
        [bin_dir / "oee", "migrate"], capture_output=True, text=True, timeout=120, env=env
    )
    assert migrate.returncode == 0, migrate.stderr
    assert '"to_revision": "0004"' in migrate.stderr or "database_migrated" in migrate.stderr
    assert (tmp_path / "data" / "oee.sqlite3").exists()


def test_the_installed_oee_serves_the_dashboard(venv: Path, tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path) | {"OEE_SIM_LATENCY_SCALE": "0"}
    proc = subprocess.Popen(
        [venv / "bin" / "oee", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"{base}/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "oee serve from the wheel did not come up"
            time.sleep(0.3)
        page = httpx.get(f"{base}/", trust_env=False)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        for asset in ASSETS:  # every file the page may load, served from the installed wheel
            answer = httpx.get(f"{base}/static/{asset}", trust_env=False)
            assert answer.status_code == 200, asset
    finally:
        proc.terminate()
        proc.wait(timeout=30)
