"""The command line's own surface: its version, `python -m oee`, one way to name the engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

import oee
from oee.cli.__main__ import app
from oee.cli.server import _start_banner


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output.strip()) == (0, f"oee {oee.__version__}")


def test_python_dash_m_oee_is_the_same_command() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "oee", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (run.returncode, run.stdout.strip()) == (0, f"oee {oee.__version__}")


def test_every_client_command_takes_url_as_an_option() -> None:
    for command in ("submit", "cancel", "order", "orders", "quote", "wallet", "watch", "loadtest"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "--url" in result.output, command


def test_the_start_banner_says_what_to_export() -> None:
    banner = "\n".join(_start_banner("0.0.0.0", 3601))
    assert "export OEE_URL=http://localhost:3601" in banner
    assert "http://localhost:3601/docs" in banner
    assert "http://10.1.2.3:80/" in "\n".join(_start_banner("10.1.2.3", 80))


def test_a_start_logs_one_line_for_its_migrations_and_no_alembic_chatter(tmp_path: Path) -> None:
    # A fresh process, as a user starts it: logging is configured once, by the command.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OEE_")}
    env |= {"OEE_DATA_DIR": str(tmp_path), "OEE_LOG_FORMAT": "json"}
    for attempt in range(2):  # the second finds the schema at head: nothing to say
        run = subprocess.run(
            [sys.executable, "-m", "oee", "migrate"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        said = run.stderr.splitlines()
        assert not any("alembic" in line for line in said), said
        migrated = [line for line in said if "database_migrated" in line]
        assert len(migrated) == (1 if attempt == 0 else 0), said
