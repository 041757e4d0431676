"""`oee sim move PAIR PERCENT`: how it reads its arguments and prints the engine's answer.

The engine is replaced by a stub of `EngineClient.sim_move` here; `tests/e2e/test_cli.py` runs
the command against a real engine.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from oee.cli import remote
from oee.cli.__main__ import app
from oee.cli.client import CliError, EngineClient

ANSWER = {
    "pair": "SOL/USDC",
    "reference": "146.25",
    "prices": {"raydium": "146.3", "meteora": "146.1"},
    "percent": "-2.5",
    "moved": "SOL",
    "previous": {"reference": "150", "prices": {"raydium": "150.05", "meteora": "149.85"}},
}


@pytest.mark.parametrize(
    ("text", "percent"),
    [
        ("+3%", Decimal(3)),
        ("3", Decimal(3)),
        ("-2.5%", Decimal("-2.5")),
        (" 0.5 % ", Decimal("0.5")),
        (".5%", Decimal("0.5")),
        ("-90", Decimal(-90)),
        ("900%", Decimal(900)),
    ],
)
def test_a_percent_reads_as_typed(text: str, percent: Decimal) -> None:
    assert remote.parse_percent(text) == percent


@pytest.mark.parametrize("text", ["", "%", "three", "3%%", "+-3", "1e3", "3 percent", "--3"])
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(CliError) as refused:
        remote.parse_percent(text)
    assert refused.value.code == "USAGE"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Decimal]]:
    """What the command asks the engine for; the engine answers `ANSWER`."""
    calls: list[tuple[str, Decimal]] = []

    async def sim_move(self: EngineClient, pair: str, percent: Decimal) -> dict[str, Any]:
        calls.append((pair, percent))
        return ANSWER

    monkeypatch.setattr(EngineClient, "sim_move", sim_move)
    return calls


@pytest.mark.parametrize(
    ("args", "percent"),
    [
        (["-2.5%"], Decimal("-2.5")),  # a leading minus is PERCENT, not an unknown option
        (["-2%", "--url", "http://engine:3000"], Decimal(-2)),
        (["--url", "http://engine:3000", "--", "-2%"], Decimal(-2)),
        (["+3%"], Decimal(3)),
        (["3"], Decimal(3)),
    ],
)
def test_the_move_goes_to_the_engine_as_typed(
    sent: list[tuple[str, Decimal]], args: list[str], percent: Decimal
) -> None:
    result = CliRunner().invoke(app, ["sim", "move", "SOL/USDC", *args], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert sent == [("SOL/USDC", percent)]


def test_the_answer_is_a_short_table_of_prices_before_and_after(
    sent: list[tuple[str, Decimal]],
) -> None:
    result = CliRunner().invoke(app, ["sim", "move", "SOL/USDC", "-2.5%"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if line.strip()]
    assert lines[0] == ["SOL/USDC", "-2.5%", "(SOL", "moved)"]
    rows = {line[0]: line[1:] for line in lines[3:]}  # under the title, header and rule
    assert set(rows) == {"reference", "raydium", "meteora"}
    assert rows["reference"] == ["150", "146.25", "-2.50%"]
    assert rows["raydium"] == ["150.05", "146.3", "-2.50%"]
    assert rows["meteora"] == ["149.85", "146.1", "-2.50%"]


def test_a_percent_that_is_not_one_is_refused_before_any_call(
    sent: list[tuple[str, Decimal]],
) -> None:
    result = CliRunner().invoke(app, ["sim", "move", "SOL/USDC", "lots"])
    assert result.exit_code == 2
    assert "USAGE: PERCENT must look like +3%, -2.5% or 3, got 'lots'" in result.output
    assert sent == []


def test_help_names_the_url_key_and_the_negative_form() -> None:
    result = CliRunner().invoke(app, ["sim", "move", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for words in ("--url", "OEE_URL", "--api-key", "OEE_API_KEY", "SOL/USDC -2%"):
        assert words in result.output, words
