"""Client commands that look things up: `oee order ID` (one order's whole story) and
`oee quote` (every venue's quote now, and the decision).

Like every client command they import no part of the engine (`oee.cli.client`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from oee.cli.client import DEFAULT_URL, EngineClient
from oee.cli.remote import KeyOpt, UrlOpt, out, run_client

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the engine's raw answer as JSON instead.")
]


def order(
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    json_out: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Show one order's whole story: every stage with its time and duration,
    every venue's quote and the decision, each attempt with its error, fee
    and signature, what a limit or sniper order waited for and what fired it,
    and the result.

    With --json, prints {"order": <GET /api/orders/ID>, "timeline": <GET
    /api/orders/ID/timeline>}. Works on orders still in flight (the story so
    far). An unknown id is ORDER_NOT_FOUND (exit 1).
    """
    run_client(_order(url, api_key, order_id, json_out))


async def _order(url: str, api_key: str | None, order_id: str, json_out: bool) -> int:
    async with EngineClient(url, api_key=api_key) as client:
        timeline = await client.timeline(order_id)  # first: a bad id fails here, once
        view = await client.order(order_id)
    if json_out:
        _print_json({"order": view, "timeline": timeline})
        return 0
    from oee.cli.story import order_story

    out.print(order_story(view, timeline, out.width))
    return 0


def quote(
    token_in: Annotated[str, typer.Argument(help="Token sold: a symbol (SOL, USDC, ...) or mint.")],
    token_out: Annotated[str, typer.Argument(help="Token bought.")],
    amount: Annotated[str, typer.Argument(help="Whole tokens of TOKEN_IN, e.g. 1.5.")],
    slippage_bps: Annotated[
        int | None,
        typer.Option(
            "--slippage-bps",
            help="Tolerated slippage for minAmountOut, in basis points (default: the engine's, 50).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Quote a swap on every venue now, without placing an order: the quotes
    side by side, the venue that would win and by how much.

    Backed by GET /api/quotes (the same quoting and routing as an order's).
    A venue that gives no quote shows its error code.
    """
    run_client(_quote(url, api_key, token_in, token_out, amount, slippage_bps, json_out))


async def _quote(
    url: str,
    api_key: str | None,
    token_in: str,
    token_out: str,
    amount: str,
    slippage_bps: int | None,
    json_out: bool,
) -> int:
    async with EngineClient(url, api_key=api_key) as client:
        answer = await client.quotes(token_in, token_out, amount, slippage_bps)
    if json_out:
        _print_json(answer)
        return 0
    from rich.text import Text

    from oee.cli.views import num, quotes_table, routing_line

    sold, bought = answer["tokenIn"]["symbol"], answer["tokenOut"]["symbol"]
    routing = answer["routing"]
    out.print(
        Text(f"{num(answer['amountIn'])} {sold} → {bought} · slippage {answer['slippageBps']} bps")
    )
    out.print(quotes_table(answer["quotes"], routing["chosenDex"], bought, answer["errors"]))
    line = routing_line(
        routing["chosenDex"], routing["marginBps"], routing, bought, answer["quotes"]
    )
    if line is not None:
        out.print(line)
    for venue, error in answer["errors"].items():
        out.print(Text(f"{venue}: {error['code']} — {error['message']}", style="red"))
    return 0


def _print_json(data: Any) -> None:
    # Plain print: rich would wrap long values and colour the text a program reads.
    print(json.dumps(data, indent=2))
