"""The client commands: talk to a running engine over HTTP and WebSocket.

`submit`, `cancel`, `orders`, `wallet`, `watch`, `loadtest` and `sim move` import no part of
the engine
(see `oee.cli.client`), so they start fast and work from any machine that can reach the
engine's URL. Every failure is one red line on stderr (`error: CODE: message`) and a non-zero exit, never
a traceback.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from oee.cli.client import DEFAULT_URL, KEY_ENV, URL_ENV, CliError, EngineClient
from oee.cli.state import OrderState, parse_time


def _stdout() -> Console:
    # Piped output has no width: rich's fallback of 80 columns would fold transaction hashes
    # and order ids in two, which nobody can then copy or grep.
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=PIPED_WIDTH)
    return console


PIPED_WIDTH = 120
out = _stdout()
err = Console(stderr=True, highlight=False)

ACTIVE_ROWS = 50  # `orders --active` shows this many; the title says how many there are
UrlOpt = Annotated[
    str,
    typer.Option("--url", envvar=URL_ENV, help="Base URL of the running engine."),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=KEY_ENV,
        help="API key for an engine that needs one (sent as Authorization: Bearer).",
        show_default=False,
    ),
]


def run_client(main: Coroutine[Any, Any, int]) -> None:
    """Run a client command; a `CliError` becomes one red line and exit code 1."""
    try:
        code = asyncio.run(main)
    except CliError as error:
        err.print(f"[red]error:[/] {escape(error.code)}: {escape(error.message)}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if code:
        raise typer.Exit(code)


def submit(
    token_in: Annotated[
        str, typer.Argument(help="Token sold: SOL, USDC, USDT, BONK, JUP, WIF, RAY or a mint.")
    ],
    token_out: Annotated[
        str,
        typer.Argument(
            help="Token bought (same choices, not TOKEN_IN); for a sniper order, any mint. "
            "With --mint, leave it out: oee submit SOL 0.5 --mint MINT."
        ),
    ],
    amount: Annotated[
        str | None,
        typer.Argument(
            help="Whole tokens of TOKEN_IN, e.g. 1.5; sent exactly as typed.", show_default=False
        ),
    ] = None,
    slippage_bps: Annotated[
        int, typer.Option("--slippage-bps", help="Tolerated slippage in basis points (1-5000).")
    ] = 50,
    order_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="market (the default: now), limit (waits for --limit-price) or sniper (waits "
            "for the first pool of TOKEN_OUT to open).",
            show_default=False,
        ),
    ] = None,
    limit_price: Annotated[
        str | None,
        typer.Option(
            "--limit-price",
            help="Limit orders: the worst acceptable price in TOKEN_OUT per TOKEN_IN, e.g. 160; "
            "sent exactly as typed.",
            show_default=False,
        ),
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option(
            "--expires-at",
            help="Limit and sniper orders: stop waiting at this ISO-8601 time with its offset, "
            "e.g. 2026-12-04T18:00:00Z (default: in 24 h; at most 7 days away).",
            show_default=False,
        ),
    ] = None,
    ttl: Annotated[
        int | None,
        typer.Option(
            "--ttl",
            help="Limit and sniper orders: or stop waiting after this many seconds.",
            show_default=False,
        ),
    ] = None,
    mint: Annotated[
        str | None,
        typer.Option(
            "--mint",
            help="The mint a sniper order buys (its TOKEN_OUT); implies --type sniper.",
            show_default=False,
        ),
    ] = None,
    venues: Annotated[
        str | None,
        typer.Option(
            "--venues",
            help="Sniper orders: the venues whose pool launches fire it, comma-separated, e.g. "
            "raydium,meteora (default: both).",
            show_default=False,
        ),
    ] = None,
    max_impact_bps: Annotated[
        int | None,
        typer.Option(
            "--max-impact-bps",
            help="Limit and sniper orders: the most price impact the swap may have, in basis "
            "points.",
            show_default=False,
        ),
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Follow the order live (what it waits for, what fired it, stages, quotes, "
            "routing, retries, result); exit 0 when it is confirmed, 1 when it fails, is "
            "cancelled or expires.",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=1,
            help="With --watch: longest wait, in seconds (default: 120; for limit and sniper "
            "orders, until 120 s after they expire).",
            show_default=False,
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Submit a swap order and print its id (with --watch, follow it to the end).

    A market order executes now. A limit order waits until TOKEN_IN fetches
    at least --limit-price: oee submit SOL USDC 2 --type limit --limit-price
    160 --ttl 3600. A sniper order buys a mint when its first pool opens:
    oee submit SOL 0.5 --mint MINT --venues raydium --max-impact-bps 800.
    """
    try:
        token_out, amount, terms = _order_terms(
            token_out,
            amount,
            order_type=order_type,
            limit_price=limit_price,
            expires_at=expires_at,
            ttl=ttl,
            mint=mint,
            venues=venues,
            max_impact_bps=max_impact_bps,
        )
    except CliError as error:
        err.print(f"[red]error:[/] {escape(error.code)}: {escape(error.message)}", soft_wrap=True)
        raise typer.Exit(2) from None
    run_client(
        _submit(url, api_key, token_in, token_out, amount, slippage_bps, terms, watch, timeout)
    )


def _order_terms(
    token_out: str,
    amount: str | None,
    *,
    order_type: str | None,
    limit_price: str | None,
    expires_at: str | None,
    ttl: int | None,
    mint: str | None,
    venues: str | None,
    max_impact_bps: int | None,
) -> tuple[str, str, dict[str, Any]]:
    """TOKEN_OUT, AMOUNT and the body's other fields, from the command line.

    The engine checks every value; only how the arguments fit together is checked here.

    Raises:
        CliError: `USAGE` for arguments that do not fit together.
    """
    if mint is not None:
        if order_type is not None and order_type.lower() != "sniper":
            message = f"--mint names a sniper order's token; it cannot be --type {order_type}"
            raise CliError("USAGE", message)
        if amount is None:  # oee submit SOL 0.5 --mint MINT
            token_out, amount = mint, token_out
        elif token_out != mint:
            raise CliError("USAGE", "give the mint as TOKEN_OUT or as --mint, not both")
        order_type = "sniper"
    if amount is None:
        raise CliError("USAGE", "Missing argument 'AMOUNT'")
    terms: dict[str, Any] = {}
    for name, value in (
        ("type", order_type),
        ("limitPrice", limit_price),
        ("expiresAt", expires_at),
        ("ttlSeconds", ttl),
        ("maxPriceImpactBps", max_impact_bps),
    ):
        if value is not None:
            terms[name] = value
    if venues is not None:
        terms["venues"] = [v.strip() for v in venues.split(",") if v.strip()]
    return token_out, amount, terms


async def _submit(
    url: str,
    api_key: str | None,
    token_in: str,
    token_out: str,
    amount: str,
    slippage: int,
    terms: dict[str, Any],
    watch: bool,
    wait_s: float | None,
) -> int:
    async with EngineClient(url, api_key=api_key) as client:
        answer = await client.submit(token_in, token_out, amount, slippage, terms)
        order_id = answer["orderId"]
        out.print(order_id, soft_wrap=True)
        if not watch:
            return 0
        from oee.cli.live import follow_order

        if wait_s is None:
            wait_s = await _default_wait(client, order_id)
        state = await follow_order(client, order_id, out, wait_s)
        return 0 if state.status == "confirmed" else 1


WATCH_S = 120.0  # how long --watch follows a market order, and a triggered one past its expiry


async def _default_wait(client: EngineClient, order_id: str) -> float:
    """How long --watch waits by default: 120 s, or for a limit or sniper order until 120 s
    after it expires (the engine ends it then)."""
    trigger = (await client.order(order_id)).get("trigger") or {}
    expires = parse_time(trigger.get("expiresAt"))
    if expires is None:
        return WATCH_S
    return max((expires - datetime.now(UTC)).total_seconds(), 0.0) + WATCH_S


def cancel(
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Cancel an order that is still pending or watching, and print its status.

    Cancelling a cancelled order prints the same again. An order already
    routing or later cannot be stopped: exit 1 with the engine's answer
    (ORDER_NOT_CANCELLABLE and its status); an unknown id is ORDER_NOT_FOUND.
    """
    run_client(_cancel(url, api_key, order_id))


async def _cancel(url: str, api_key: str | None, order_id: str) -> int:
    async with EngineClient(url, api_key=api_key) as client:
        view = await client.cancel(order_id)
    out.print(f"{view['orderId']} {view['status']}", soft_wrap=True)
    return 0


# `+3%`, `-2.5%`, `3`, `3.0 %`: a signed decimal, the percent sign optional.
_PERCENT = re.compile(r"\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*%?\s*")
MOVE_CONTEXT = {"ignore_unknown_options": True}  # so `-2%` is PERCENT, not an unknown option


def parse_percent(text: str) -> Decimal:
    """`+3%`, `-2.5%`, `3` or `.5` as the Decimal percent it names.

    Raises:
        CliError: `USAGE` for anything else.
    """
    found = _PERCENT.fullmatch(text)
    if found is None:
        raise CliError("USAGE", f"PERCENT must look like +3%, -2.5% or 3, got {text!r}")
    return Decimal(found.group(1))


def sim_move(
    pair: Annotated[
        str,
        typer.Argument(help="BASE/QUOTE, e.g. SOL/USDC (its price is QUOTE per BASE)."),
    ],
    percent: Annotated[
        str,
        typer.Argument(
            help="How far to push it: +3%, -2.5% or 3 (from -90% to +900%).", show_default=False
        ),
    ],
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Push a pair's price in the engine's simulator, now, on both venues.

    Goes through the engine's API (POST /api/sim/move; an admin key when the
    engine has keys) and prints the pair's prices before and after. A
    negative PERCENT works as typed: oee sim move SOL/USDC -2%.
    """
    try:
        change = parse_percent(percent)
    except CliError as error:
        err.print(f"[red]error:[/] {escape(error.code)}: {escape(error.message)}", soft_wrap=True)
        raise typer.Exit(2) from None
    run_client(_sim_move(url, api_key, pair, change))


async def _sim_move(url: str, api_key: str | None, pair: str, percent: Decimal) -> int:
    from oee.cli.views import move_table

    async with EngineClient(url, api_key=api_key) as client:
        answer = await client.sim_move(pair, percent)
    out.print(move_table(answer))
    return 0


def orders(
    active: Annotated[
        bool, typer.Option("--active", help="Only the orders being worked now (not terminal).")
    ] = False,
    recent: Annotated[
        int | None,
        typer.Option(
            "--recent", min=1, max=500, help="The N most recently created orders (default: 20)."
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only recent orders in this status (pending, watching, routing, building, "
            "submitted, confirmed, failed, cancelled, expired).",
            show_default=False,
        ),
    ] = None,
    order_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Only recent orders of this type (market, limit, sniper).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only recent orders created since then: a duration back from now (90s, 10m, "
            "2h, 7d) or an ISO-8601 time with its offset (2026-12-04T18:00:00Z).",
            show_default=False,
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """List orders as a table: id, status, pair, type, amount, venue, price, age."""
    if active and recent is not None:
        err.print("[red]error:[/] USAGE: use --active or --recent N, not both", soft_wrap=True)
        raise typer.Exit(2)
    if active and (status is not None or order_type is not None or since is not None):
        err.print(
            "[red]error:[/] USAGE: --status, --type and --since filter the recent orders, "
            "not --active",
            soft_wrap=True,
        )
        raise typer.Exit(2)
    run_client(_orders(url, api_key, active, recent or 20, status, order_type, since))


async def _orders(
    url: str,
    api_key: str | None,
    active: bool,
    recent: int,
    status: str | None = None,
    order_type: str | None = None,
    since: str | None = None,
) -> int:
    from oee.cli.views import orders_table

    async with EngineClient(url, api_key=api_key) as client:
        if active:
            answer = await client.active()
            ids, count = answer["orderIds"][:ACTIVE_ROWS], answer["activeCount"]
            views = list(await asyncio.gather(*map(client.order, ids)))
            shown = f"{count} active" if len(views) == count else f"{len(views)} of {count} active"
            title, empty = f"{shown} orders", "no active orders"
        else:
            views = await client.recent(recent, status=status, order_type=order_type, since=since)
            which = " ".join(w for w in (status, order_type) if w)
            when = f" since {since}" if since else ""
            title = (
                f"{len(views)} most recent {which + ' ' if which else ''}orders{when}, newest first"
            )
            empty = f"no {which + ' ' if which else ''}orders{when or ' yet'}"
    if not views:
        out.print(empty)
        return 0
    states = [OrderState.from_view(v) for v in views]
    out.print(orders_table(states, datetime.now(UTC), title=title))
    return 0


def wallet(url: UrlOpt = DEFAULT_URL, api_key: KeyOpt = None) -> None:
    """Show the engine wallet (the one every worker signs with) and its balances on chain."""
    run_client(_wallet(url, api_key))


async def _wallet(url: str, api_key: str | None) -> int:
    from oee.cli.views import wallet_table

    async with EngineClient(url, api_key=api_key) as client:
        answer = await client.wallet()
    out.print(wallet_table(answer))
    return 0


def watch(
    recent: Annotated[
        int,
        typer.Option("--recent", min=0, max=500, help="Finished orders to start the table with."),
    ] = 20,
    rows: Annotated[int, typer.Option("--rows", min=1, help="Orders shown at once.")] = 20,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", min=0, help="Stop after this many seconds (default: at Ctrl-C)."
        ),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
) -> None:
    """Show every order flowing through the engine live, with active count and throughput.

    Fed by the firehose (WS /ws/orders). Throughput counts the orders
    that finished in the last 10 s. Ctrl-C or SIGTERM stops it (exit 0).
    When the output is not a terminal, the final table is printed once.
    """
    run_client(_watch(url, api_key, recent, rows, duration))


async def _watch(
    url: str, api_key: str | None, recent: int, rows: int, duration: float | None
) -> int:
    from oee.cli.live import watch_board

    async with EngineClient(url, api_key=api_key) as client:
        await watch_board(client, out, err, recent=recent, rows=rows, duration_s=duration)
    return 0


def loadtest(
    count: Annotated[int, typer.Argument(min=1, max=1_000_000, help="Orders to submit.")] = 100,
    url: UrlOpt = DEFAULT_URL,
    api_key: KeyOpt = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Orders in flight at once.")] = 50,
    token_in: Annotated[str, typer.Option(help="Token sold.")] = "SOL",
    token_out: Annotated[str, typer.Option(help="Token bought.")] = "USDC",
    amount: Annotated[str, typer.Option(help="Amount of token_in per order.")] = "0.1",
    slippage_bps: Annotated[
        int, typer.Option("--slippage-bps", help="Tolerated slippage in basis points.")
    ] = 100,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Longest one order may take to finish, seconds."),
    ] = 120.0,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show the progress bars on stderr.")
    ] = True,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the report as JSON to this file.")
    ] = None,
) -> None:
    """Submit COUNT orders, follow each over WebSocket, and report throughput and latency."""
    import json

    from oee.loadtest import render_report, run_loadtest

    async def main() -> Any:
        async with EngineClient(url, api_key=api_key) as client:
            # An engine that is not running, or a refused key, is one line, not a report.
            await client.health()
            await client.active()
        return await run_loadtest(
            url,
            count,
            concurrency=concurrency,
            token_in=token_in,
            token_out=token_out,
            amount_in=amount,
            slippage_bps=slippage_bps,
            timeout_s=timeout,
            progress=progress,
            api_key=api_key,
        )

    try:
        report = asyncio.run(main())
    except (CliError, ValueError) as error:
        line = f"{error.code}: {error.message}" if isinstance(error, CliError) else str(error)
        err.print(f"[red]error:[/] {escape(line)}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    render_report(report, Console())
    if json_out:
        with open(json_out, "w") as fh:
            json.dump(report.to_dict(), fh, indent=2)
    if report.accepted == 0:
        raise typer.Exit(1)
