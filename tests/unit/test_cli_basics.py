"""The command line's own surface: its version, `python -m oee`, one way to name the engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
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
    for command in ("submit", "orders", "wallet", "watch", "loadtest"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "--url" in result.output, command


def test_the_start_banner_says_what_to_export() -> None:
    banner = "\n".join(_start_banner("0.0.0.0", 3601))
    assert "export OEE_URL=http://localhost:3601" in banner
    assert "http://localhost:3601/docs" in banner
    assert "http://10.1.2.3:80/" in "\n".join(_start_banner("10.1.2.3", 80))


def test_a_start_logs_one_line_for_its_migrations_and_no_alembic_chatter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import logging

    import structlog

    from oee.adapters.store.migrate import migrate
    from oee.logs import configure_logging

    configure_logging("INFO", "json")
    try:
        url = f"sqlite+aiosqlite:///{tmp_path / 'oee.sqlite3'}"
        asyncio.run(migrate(url))
        asyncio.run(migrate(url))  # already at head: nothing to say
        said = capsys.readouterr().err.splitlines()
    finally:
        structlog.reset_defaults()
    assert not any("alembic" in line for line in said), said
    migrated = [line for line in said if "database_migrated" in line]
    assert len(migrated) == 1, said
    assert logging.getLogger("alembic").getEffectiveLevel() >= logging.WARNING
