"""Rich renderables of the CLI: the orders table, one order's live panel, the firehose board,
the wallet, a simulator price move.

Pure functions of `oee.cli.state` and a clock reading, so a view can be rebuilt at any refresh
and printed plain when the output is not a terminal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from oee.cli.state import STAGES, Board, OrderState, parse_time

STATUS_STYLE = {
    "pending": "yellow",
    "watching": "yellow",
    "routing": "cyan",
    "building": "cyan",
    "submitted": "blue",
    "confirmed": "bold green",
    "failed": "bold red",
    "cancelled": "magenta",
    "expired": "magenta",
}


def status_text(status: str) -> Text:
    """The status, coloured by how far along it is."""
    return Text(status, style=STATUS_STYLE.get(status, ""))


def num(value: Any) -> str:
    """A number as the engine sent it, without float noise; '-' when absent."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.6f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit (`4s`, `12m`, `3h`, `2d`)."""
    if since is None:
        return "-"
    seconds = max(int((now - since).total_seconds()), 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def orders_table(
    orders: list[OrderState], now: datetime, *, title: str | None = None, short_ids: bool = False
) -> Table:
    """One row per order: id, status, pair, type, amount, venue, price, age."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("id", no_wrap=True, style="dim" if short_ids else "")
    table.add_column("status", no_wrap=True)
    table.add_column("pair", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("amount", justify="right")
    table.add_column("venue")
    table.add_column("price", justify="right")
    table.add_column("age", justify="right", no_wrap=True)
    for state in orders:
        status = status_text(state.status)
        if state.attempt > 1 and not state.finished:
            status.append(f" #{state.attempt}", style="dim")
        table.add_row(
            state.order_id[:8] if short_ids else state.order_id,
            status,
            f"{state.token_in}→{_short(state.token_out)}",
            state.order_type,
            num(state.amount_in),
            state.venue or "-",
            num(state.result.get("executedPrice")),
            age(state.created, now),
        )
    return table


def wallet_table(wallet: dict[str, Any]) -> Table:
    """The engine wallet: its address as the title, one row for SOL and one per token account."""
    table = Table(
        title=f"wallet {wallet['address']}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("token", no_wrap=True)
    table.add_column("balance", justify="right", no_wrap=True)
    table.add_column("mint", no_wrap=True, style="dim")
    table.add_column("account", no_wrap=True, style="dim")
    table.add_row("SOL", wallet["sol"], "(native)", wallet["address"])
    for token in wallet.get("tokens", []):
        symbol = token.get("symbol") or Text("?", style="yellow")
        table.add_row(symbol, token["uiAmount"], token["mint"], token["account"])
    return table


def move_table(move: dict[str, Any]) -> Table:
    """A simulator price move (`POST /api/sim/move`): the pair's reference and venue prices
    before and after, and each one's change."""
    percent = str(move.get("percent", "?"))
    sign = "" if percent.startswith("-") else "+"
    table = Table(
        title=f"{move.get('pair', '?')} {sign}{percent}% ({move.get('moved', '?')} moved)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
    )
    table.add_column("price", no_wrap=True)
    table.add_column("before", justify="right", no_wrap=True)
    table.add_column("now", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    previous = move.get("previous") or {}
    rows = [("reference", previous.get("reference"), move.get("reference"))]
    before_prices = previous.get("prices") or {}
    rows += [(v, before_prices.get(v), now) for v, now in (move.get("prices") or {}).items()]
    for name, before, now in rows:
        table.add_row(name, num(before), num(now), _change(before, now))
    return table


def _change(before: Any, now: Any) -> Text:
    """`now` against `before` in percent, signed and coloured; '-' when either is missing."""
    try:
        change = (Decimal(str(now)) / Decimal(str(before)) - 1) * 100
    except (InvalidOperation, ArithmeticError):  # absent, not a number, or a zero price
        return Text("-")
    style = "green" if change > 0 else "red" if change < 0 else ""
    return Text(f"{change:+.2f}%", style=style)


def _short(token: str) -> str:
    """A token for a table cell: a symbol as is, a mint (a sniper's target) shortened."""
    return token if len(token) <= 12 else f"{token[:4]}…{token[-4:]}"


def _offset(seconds: float) -> str:
    """Time since submission: milliseconds for a market order's quick stages, else larger units."""
    if seconds < 60:
        return f"+{seconds * 1000:,.0f} ms"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"+{hours}h {minutes}m {secs}s" if hours else f"+{minutes}m {secs}s"


ENDINGS = frozenset({"failed", "cancelled", "expired"})


def _stages(state: OrderState) -> Table:
    table = Table.grid(padding=(0, 2))
    start = state.created or state.stages.get("pending")  # times count from submission
    last = state.status if state.status in ENDINGS else "confirmed"
    waits = state.trigger is not None or state.order_type != "market"
    stages = ("pending", "watching", *STAGES[1:-1]) if waits else STAGES[:-1]
    for stage in (*stages, last):
        at = state.stages.get(stage)
        if at is not None:
            mark = Text("✗" if stage in ENDINGS else "✓", style=STATUS_STYLE[stage])
            offset = _offset((at - start).total_seconds()) if start else ""
            table.add_row(mark, Text(stage), at.strftime("%H:%M:%S.%f")[:-3], offset)
        else:
            table.add_row(Text("·", style="dim"), Text(stage, style="dim"), "", "")
    return table


def _when(text: Any) -> str:
    at = parse_time(text)
    return at.isoformat(sep=" ", timespec="seconds") if at else str(text)


def waits_for(state: OrderState) -> list[RenderableType]:
    """What a limit or sniper order waits for, what fired it, and each time it waited again."""
    trigger = state.trigger
    if not trigger:
        return []
    if trigger.get("kind") == "price":
        what = (
            f"a price of at least {trigger.get('limitPrice')} {state.token_out} per "
            f"{state.token_in} (the best quote for its size)"
        )
    else:
        venues = " or ".join(trigger.get("venues") or ("any venue",))
        what = f"the first pool of {state.token_out} to open on {venues}"
    line = f"waits for {what}, until {_when(trigger.get('expiresAt'))}"
    if state.max_impact_bps is not None:
        line += f" · price impact at most {state.max_impact_bps} bps"
    parts: list[RenderableType] = [Text(line, style="yellow")]
    fired = state.triggered_by
    if fired:
        at = parse_time(fired.get("at"))
        when = at.strftime("%H:%M:%S.%f")[:-3] if at else "?"
        if trigger.get("kind") == "price":
            why = f"a price of {fired.get('price')} on {fired.get('venue', '?')}"
        else:
            why = f"a {fired.get('venue', '?')} pool launch: pool {fired.get('pool', '?')}"
            if fired.get("slot") is not None:
                why += f", slot {fired['slot']}"
            if fired.get("signature"):
                why += f", tx {fired['signature']}"
        parts.append(Text(f"triggered at {when} by {why}", style="cyan"))
    for rearm in state.rearms:
        price = f" (price {rearm.price})" if rearm.price else ""
        parts.append(
            Text(
                f"price moved away before the swap{price}: {rearm.error} — {rearm.reason}; "
                "watching again",
                style="yellow",
            )
        )
    return parts


def quotes_table(
    quotes: list[dict[str, Any]],
    winner: str | None,
    token_out: str,
    errors: dict[str, Any] | None = None,
    title: str = "quotes",
) -> Table:
    """Every venue's quote side by side, the winner starred; a venue that gave no quote (in
    `errors`, as `GET /api/quotes` names them) shows its error code instead."""
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    table.add_column("")
    for quote in quotes:
        name = quote["venue"] + (" ★" if quote["venue"] == winner else "")
        table.add_column(name, justify="right", style="bold" if quote["venue"] == winner else "")
    failed = errors or {}
    for venue in failed:
        table.add_column(venue, justify="right", style="red")
    rows = (
        (f"amountOut ({token_out})", "amountOut"),
        ("price", "price"),
        ("impact (bps)", "priceImpactBps"),
        ("fee (bps)", "feeBps"),
    )
    for i, (label, key) in enumerate(rows):
        missing = [(e.get("code", "?") if i == 0 else "") for e in failed.values()]
        table.add_row(label, *(num(q.get(key)) for q in quotes), *missing)
    return table


def routing_line(
    venue: str | None,
    margin_bps: Any,
    routing: dict[str, Any] | None,
    token_out: str,
    quotes: list[dict[str, Any]] | None = None,
) -> Text | None:
    """The decision: which venue won, by how much over the next best quote (in bps, and in
    tokens when the quotes are given), and the output floor."""
    if not venue or margin_bps is None:
        return None
    line = f"routing: {venue} wins by {num(margin_bps)} bps"
    outs = sorted(((Decimal(str(q["amountOut"])), q["venue"]) for q in quotes or ()), reverse=True)
    if len(outs) > 1 and outs[0][1] == venue:
        line += f" (+{num(float(outs[0][0] - outs[1][0]))} {token_out} over {outs[1][1]})"
    elif len(outs) == 1:
        line += " (the only quote)"
    if routing:
        line += f" · minAmountOut {num(routing.get('minAmountOut'))} {token_out}"
    return Text(line)


def order_panel(state: OrderState) -> RenderableType:
    """One order's life so far: what it waits for and what fired it, stages with times, quotes,
    routing, retries, result."""
    kind = f" · {state.order_type} order" if state.order_type != "market" else ""
    head = Text.assemble(
        (f"order {state.order_id}  ", "bold"),
        status_text(state.status),
        f"\n{num(state.amount_in)} {state.token_in} → {state.token_out}{kind}",
        f" · slippage {num(state.slippage_bps)} bps · attempt {state.attempt}",
    )
    parts: list[RenderableType] = [head, *waits_for(state), _stages(state)]
    if state.quotes:
        winner = state.routing.get("chosenDex") if state.routing else state.venue
        parts.append(quotes_table(state.quotes, winner, state.token_out))
    routing = routing_line(state.venue, state.margin_bps, state.routing, state.token_out)
    if routing is not None:
        parts.append(routing)
    for retry in state.retries:
        wait = f", retried after {retry.retry_in_ms} ms" if retry.retry_in_ms is not None else ""
        parts.append(
            Text(f"attempt {retry.attempt}: {retry.error} — {retry.reason}{wait}", style="yellow")
        )
    parts.extend(_outcome(state))
    return Group(*parts)


def _outcome(state: OrderState) -> list[RenderableType]:
    if state.status == "confirmed":
        return [
            Text("confirmed", style="bold green"),
            Text(f"txHash        {state.result.get('txHash', '-')}"),
            Text(f"executedPrice {num(state.result.get('executedPrice'))}"),
            Text(f"amountOut     {num(state.result.get('amountOut'))} {state.token_out}"),
        ]
    if state.status == "failed":
        return [Text(f"failed: {state.error} — {state.reason}", style="bold red")]
    if state.finished:  # cancelled or expired
        why = f" — {state.reason}" if state.reason else ""
        return [Text(f"{state.status}{why}", style="magenta")]
    return []


def board_view(board: Board, now: float, wall: datetime, rows: int) -> RenderableType:
    """The firehose board: a summary line over the newest orders."""
    summary = Text.assemble(
        ("active ", "bold"),
        str(board.active),
        ("  throughput ", "bold"),
        f"{board.throughput(now):.1f} orders/s (last {board.window_s:g} s)",
        ("  confirmed ", "bold"),
        (str(board.confirmed), "green"),
        ("  failed ", "bold"),
        (str(board.failed), "red"),
    )
    return Group(summary, orders_table(board.newest(rows), wall, short_ids=True))
