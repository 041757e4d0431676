"""The `oee` command line: run the engine (server commands) or talk to a running one (client).

This module only assembles the app. Server commands (`oee.cli.server`) import the engine
inside themselves; client commands (`oee.cli.remote`) never import it, so they start fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from oee.cli import admin, check, config, lookup, remote, server

app = typer.Typer(
    name="oee",
    help="Order execution engine for Solana DEX trading (Raydium and Meteora).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PANELS: dict[str, tuple[Callable[..., None], ...]] = {
    "Run the engine": (
        server.serve,
        server.api,
        server.worker,
        server.migrate,
        check.check,
        config.config,
    ),
    "Use a running engine": (
        remote.submit,
        remote.cancel,
        lookup.order,
        remote.orders,
        lookup.quote,
        remote.wallet,
        remote.watch,
        remote.loadtest,
        admin.halt,
        admin.resume,
    ),
}


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"oee {version('oee')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Order execution engine for Solana DEX trading (Raydium and Meteora)."""


for panel, commands in PANELS.items():
    for command in commands:
        app.command(rich_help_panel=panel)(command)
# `oee sim` runs the simulator; `oee sim reset` deletes its chain; `oee sim move` is a client
# command (it talks to a running engine's API) filed beside them.
server.sim_app.command("move", context_settings=remote.MOVE_CONTEXT)(remote.sim_move)
app.add_typer(server.sim_app, rich_help_panel="Run the engine")


def main() -> None:
    """Entry point of the `oee` script."""
    app()


if __name__ == "__main__":
    main()
