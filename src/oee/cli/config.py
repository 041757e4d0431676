"""`oee config`: every setting with its environment variable, default and current value
(secrets masked), grouped, from the settings model (`oee.cli.settings_doc`).

`oee config --markdown` prints the README's settings table; `oee config --update-readme` writes
it between README.md's markers (tests/unit/test_cli_config.py fails when they differ).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console


def config(
    markdown: Annotated[
        bool,
        typer.Option("--markdown", help="Print the README's settings table (Markdown) instead."),
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update-readme",
            help="Write that table into ./README.md between its markers (for maintainers).",
        ),
    ] = False,
) -> None:
    """Print every setting: its environment variable, default and current value
    (from this shell's environment; secrets masked), grouped, with what it does.
    """
    from oee.cli.settings_doc import (
        README,
        config_tables,
        markdown_table,
        settings_groups,
        update_readme,
    )

    out = Console(highlight=False)
    if markdown:
        print(markdown_table(), end="")
        return
    if update:
        try:
            changed = update_readme(README)
        except (OSError, ValueError) as error:
            Console(stderr=True).print(f"[red]error:[/] {error}", soft_wrap=True)
            raise typer.Exit(1) from None
        out.print(f"{README}: settings table {'updated' if changed else 'already up to date'}")
        return
    from oee.settings import Settings

    try:
        current = Settings()
    except Exception as error:  # pydantic names the variable and the rule it broke
        Console(stderr=True).print(f"[red]error:[/] invalid settings: {error}", soft_wrap=True)
        raise typer.Exit(2) from None
    for table in config_tables(settings_groups(current)):
        out.print(table)
