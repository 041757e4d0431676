"""The kill switch from the command line: `oee halt`, `oee resume` (client commands).

They call the engine's admin API (`/api/admin/halt`, `/api/admin/resume`; an admin key when the
engine has keys), so they work from any machine that reaches `--url` / `OEE_URL`. Each prints
the state the engine answered: by then every API and worker process sees it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from oee.cli.client import DEFAULT_URL, EngineClient
from oee.cli.remote import KeyOpt, UrlOpt, out, run_client


def _line(state: dict[str, Any]) -> str:
    if state.get("halted"):
        why = f": {state['reason']}" if state.get("reason") else ""
        who = f" by {state['by']}" if state.get("by") else ""
        return f"trading HALTED since {state.get('since')}{who}{why}"
    since = f" since {state['since']}" if state.get("since") else ""
    return f"trading{since}"


def halt(
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", help="Why, shown to clients whose submits are refused.", show_default=False
        ),
    ] = None,
    status: Annotated[
        bool, typer.Option("--status", help="Only show whether trading is halted.")
    ] = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Halt trading: no new order routes until `oee resume`.

    Submits are refused (503 HALTED); accepted orders that have not
    started routing wait and route after the resume; orders already
    building or submitted finish. Needs an admin key on an engine with keys.
    """
    run_client(_halt(url, api_key, reason, status))


async def _halt(url: str, api_key: str | None, reason: str | None, status: bool) -> int:
    async with EngineClient(url, api_key=api_key) as client:
        state = await (client.halt_state() if status else client.halt(reason))
    out.print(_line(state), soft_wrap=True)
    return 0


def resume(url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Resume trading after `oee halt`; the orders it held route at once."""
    run_client(_resume(url, api_key))


async def _resume(url: str, api_key: str | None) -> int:
    async with EngineClient(url, api_key=api_key) as client:
        state = await client.resume()
    out.print(_line(state), soft_wrap=True)
    return 0
