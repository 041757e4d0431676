"""One order's whole story as `oee order ID` prints it: pure renderables of its view and its
timeline (`GET /api/orders/{id}` and `GET /api/orders/{id}/timeline`).

Stages with their durations (every event of every attempt, not only the last attempt's), the
venues' quotes side by side with the decision, each attempt with its error, fee and signature,
what a limit or sniper order waited for and what fired it, and the result. Laid out to read in
80 columns: long values (signatures, reasons) fold inside their column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from oee.cli.state import OrderState, parse_time
from oee.cli.views import (
    ENDINGS,
    STATUS_STYLE,
    num,
    quotes_table,
    routing_line,
    status_text,
    waits_for,
)

SIGNATURE_LEN = 88  # the longest base58 signature
_WIRE_KEYS = frozenset({"type", "orderId", "seq", "at", "attempt"})


def duration(seconds: float) -> str:
    """A span for people: `840 ms`, `2.31 s`, `4m 05s`, `3h 12m`."""
    if seconds < 1:
        return f"{seconds * 1000:,.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def short_signature(signature: str) -> str:
    """A signature cut to its ends, for a column where the whole one would not fit."""
    return signature if len(signature) <= 20 else f"{signature[:8]}…{signature[-8:]}"


def fold(events: list[dict[str, Any]], view: dict[str, Any]) -> OrderState:
    """The order as the live views know it: its events folded in, then its full view."""
    state = OrderState(view["orderId"])
    for event in events:
        state.apply(event)
    state.apply_view(view)
    return state


def event_detail(event: dict[str, Any]) -> str:
    """What one event adds, in a few words (the reasons in full are under attempts)."""
    kind = event["type"]
    if kind == "pending":
        if event["seq"] == 1:
            return "accepted"
        wait = event.get("retryInMs")
        return f"retry after {event.get('error')}" + (f", in {wait:,} ms" if wait else "")
    if kind == "watching":
        if "error" in event:
            return f"re-armed: {event.get('error')}"
        return "armed: waits for its trigger"
    if kind == "routing":
        fired = event.get("triggeredBy")
        if fired:
            what = f"price {fired['price']}" if fired.get("price") else "pool launch"
            return f"fired by {what} on {fired.get('venue', '?')}"
        return "quoting every venue"
    if kind == "building":
        quoted = ", ".join(f"{v} {num(out)}" for v, out in (event.get("quotes") or {}).items())
        return f"{event.get('chosenDex')} by {num(event.get('marginBps'))} bps ({quoted})"
    if kind == "submitted":
        return f"sent {short_signature(str(event.get('txHash')))} to {event.get('chosenDex')}"
    if kind == "confirmed":
        return f"{num(event.get('amountOut'))} out at {num(event.get('executedPrice'))}"
    if kind == "failed":
        return str(event.get("error"))
    if kind in ENDINGS:
        return str(event.get("reason") or "")
    return ", ".join(f"{k}={v}" for k, v in event.items() if k not in _WIRE_KEYS)


def timeline_table(events: list[dict[str, Any]], finished: bool = True) -> Table:
    """Every event: how long after the first (the order's creation), how long until the next,
    and its detail."""
    table = Table(box=box.SIMPLE_HEAD, title="timeline", title_justify="left", pad_edge=False)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("+start", justify="right", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    times = [parse_time(e.get("at")) for e in events]
    start = times[0] if times else None
    for i, event in enumerate(events):
        at = times[i]
        after = times[i + 1] if i + 1 < len(events) else None
        stage = Text(event["type"], style=STATUS_STYLE.get(event["type"], ""))
        if event.get("attempt", 1) > 1:
            stage.append(f" #{event['attempt']}", style="dim")
        table.add_row(
            str(event["seq"]),
            stage,
            _since(start, at),
            duration((after - at).total_seconds()) if at and after else "",
            event_detail(event),
        )
    end = times[-1] if times else None
    if start and end and len(events) > 1:
        label = "total" if finished else "so far"
        table.add_row("", Text(label, style="bold"), _since(start, end), "", "")
    return table


def _since(start: datetime | None, at: datetime | None) -> str:
    return duration((at - start).total_seconds()) if start and at else ""


def attempts_lines(view: dict[str, Any], width: int) -> list[RenderableType]:
    """Each finished attempt: outcome, venue, fee, then its error and signature; and the one
    still running, if any."""
    lines: list[RenderableType] = [Text("attempts", style="italic")]
    for done in view.get("attempts") or []:
        fee = done.get("feeLamports")
        paid = f"fee {fee:,} lamports" if fee is not None else "no fee (no transaction landed)"
        outcome = str(done.get("outcome"))
        style = "green" if outcome == "confirmed" else "yellow" if outcome == "retried" else "red"
        lines.append(
            Text.assemble(
                f"  {done.get('attempt')}  ",
                (outcome, style),
                f" · {done.get('venue') or 'no venue'} · {paid}",
            )
        )
        if done.get("error"):
            lines.append(Text(f"     {done['error']} — {done.get('reason') or ''}", style=style))
        if done.get("txHash"):
            sig = str(done["txHash"])
            shown = sig if width >= 9 + SIGNATURE_LEN else short_signature(sig)
            lines.append(Text(f"     tx {shown}", style="dim"))
    if view["status"] not in ("confirmed", *ENDINGS):
        lines.append(Text(f"  {view.get('attempt')}  in progress ({view['status']})"))
    if len(lines) == 1:
        lines.append(Text("  none yet", style="dim"))
    return lines


def result_lines(view: dict[str, Any]) -> list[RenderableType]:
    """How it ended: the fill, the failure, or why it stopped; or that it is still going."""
    status, token_out = view["status"], view["tokenOut"]["symbol"]
    result = view.get("result") or {}
    if status == "confirmed":
        fee = result.get("feeLamports")
        return [
            Text(
                f"result: confirmed on {result.get('chosenDex')} · "
                f"{num(result.get('amountOut'))} {token_out} at "
                f"{num(result.get('executedPrice'))}",
                style="bold green",
            ),
            Text(f"fee    {fee:,} lamports" if fee is not None else "fee    -"),
            Text(f"txHash {result.get('txHash')}", overflow="fold"),
        ]
    if status == "failed":
        return [Text(f"result: failed: {view.get('error')} — {view.get('reason')}", "bold red")]
    if status in ENDINGS:
        why = f" — {view['reason']}" if view.get("reason") else ""
        return [Text(f"result: {status}{why}", style="magenta")]
    return [Text(f"result: not yet, the order is {status}", style="yellow")]


def order_story(view: dict[str, Any], timeline: dict[str, Any], width: int = 80) -> Group:
    """The whole story of one order, from its view and its timeline.

    Args:
        view: `GET /api/orders/{id}`.
        timeline: `GET /api/orders/{id}/timeline`.
        width: The console's width (a full signature is shown only where it fits).
    """
    events = list(timeline.get("events") or [])
    state = fold(events, view)
    created = parse_time(view.get("createdAt"))
    head = Text.assemble(
        (f"order {view['orderId']}  ", "bold"),
        status_text(view["status"]),
        f"\n{num(view.get('amountIn'))} {state.token_in} → {view['tokenOut']['symbol']}",
        f" · {view.get('type', 'market')} · slippage {num(view.get('slippageBps'))} bps",
        f"\ncreated {created.isoformat(sep=' ', timespec='milliseconds') if created else '?'}",
    )
    finished = view["status"] in ("confirmed", *ENDINGS)
    parts: list[RenderableType] = [head, *waits_for(state), timeline_table(events, finished)]
    quotes = view.get("quotes") or []
    if quotes:
        winner = (view.get("routing") or {}).get("chosenDex")
        title = "quotes" if view.get("attempt", 1) == 1 else f"quotes (attempt {view['attempt']})"
        parts.append(quotes_table(quotes, winner, state.token_out, title=title))
    routing = view.get("routing")
    if routing:
        line = routing_line(
            routing.get("chosenDex"), routing.get("marginBps"), routing, state.token_out, quotes
        )
        if line is not None:
            parts.append(line)
    parts.extend([Text(""), *attempts_lines(view, width), Text(""), *result_lines(view)])
    return Group(*parts)
