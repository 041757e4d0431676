"""`oee config` and the README's settings table, both generated from the settings model."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from oee.cli.__main__ import app
from oee.cli.settings_doc import (
    CLIENT,
    MASK,
    UPDATE_COMMAND,
    markdown_table,
    readme_block,
    settings_groups,
    shown,
    update_readme,
)
from oee.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def every_setting() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        group = field.annotation
        if isinstance(group, type) and issubclass(group, BaseSettings):
            names += [f"{name}.{sub}" for sub in group.model_fields]
        else:
            names.append(name)
    return names


def test_readme_settings_table_is_the_generated_one() -> None:
    assert readme_block(README.read_text(encoding="utf-8")) == markdown_table(), (
        "README.md's settings table differs from the settings model (oee/settings.py): "
        f"regenerate it from the repository's root with `{UPDATE_COMMAND}`"
    )


def test_every_setting_is_listed_once_with_a_description() -> None:
    rows = [row for title, rows in settings_groups() if title != CLIENT for row in rows]
    assert len(rows) == len(every_setting())
    assert len({r.env for r in rows}) == len(rows)
    undescribed = [r.env for r in rows if not r.description]
    assert not undescribed, f"give these a Field(description=...) in oee/settings.py: {undescribed}"
    table = markdown_table()
    for row in rows:
        assert f"| `{row.env}` |" in table
    assert "| `OEE_URL` | `http://localhost:3000` |" in table
    assert "| `OEE_SIM_FAULT_RATE` | `0.0` |" in table
    assert "| `OEE_WORKER_GRACE_S` | `10.0` |" in table


def test_secrets_and_url_passwords_never_show() -> None:
    assert shown(SecretStr("desk=hunter2")) == MASK
    assert shown(SecretStr("")) == "empty"
    assert shown("postgresql://oee:hunter2@db:5432/oee") == f"postgresql://oee:{MASK}@db:5432/oee"
    assert shown("redis://:hunter2@cache:6379/0") == f"redis://:{MASK}@cache:6379/0"
    assert shown("https://api.devnet.solana.com/?api-key=x") == (
        "https://api.devnet.solana.com/?api-key=x"
    )  # no password part: nothing to mask (a query-string key is the provider's URL)


def test_config_prints_current_values_from_the_environment_masked() -> None:
    env = {
        "COLUMNS": "200",
        "OEE_API_KEYS": "desk=hunter2-hunter2",
        "DATABASE_URL": "postgresql://oee:hunter2@db/oee",
        "OEE_WORKER_CONCURRENCY": "32",
        "OEE_API_KEY": "desk-secret",
        "OEE_URL": "http://engine:3601",
    }
    result = CliRunner().invoke(app, ["config"], env=env)
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "desk-secret" not in result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if line.strip()}
    assert lines["OEE_API_KEYS"][1:3] == [MASK, "empty"]
    assert lines["DATABASE_URL"][1:3] == [f"postgresql://oee:{MASK}@db/oee", "unset"]
    assert lines["OEE_WORKER_CONCURRENCY"][1:3] == ["32", "10"]
    assert lines["OEE_URL"][1:3] == ["http://engine:3601", "http://localhost:3000"]
    assert lines["OEE_API_KEY"][1:3] == [MASK, "unset"]
    for title in ("Server", "Stores", "How a worker takes and runs jobs", CLIENT):
        assert title in result.output


def test_config_refuses_invalid_settings_in_one_line() -> None:
    result = CliRunner().invoke(app, ["config"], env={"OEE_WORKER_CONCURRENCY": "0"})
    assert result.exit_code == 2
    assert "invalid settings" in result.output


def test_markdown_and_update_readme(tmp_path: Path) -> None:
    printed = CliRunner().invoke(app, ["config", "--markdown"])
    assert printed.exit_code == 0
    assert printed.output == markdown_table()
    readme = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    stale = text.replace("| `OEE_HOST` |", "| `OEE_HOSTS` |")
    readme.write_text(stale, encoding="utf-8")
    assert update_readme(readme) is True
    assert readme.read_text(encoding="utf-8") == text
    assert update_readme(readme) is False
