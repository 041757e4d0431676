"""The load-test client's pure parts: percentiles, report arithmetic, URLs, bodies, stream checks."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console

from oee.devtools.engine_process import free_port
from oee.loadtest import (
    Latency,
    OrderOutcome,
    StreamCheck,
    build_report,
    order_body,
    percentile,
    render_report,
    run_loadtest,
    ws_url,
)
from oee.loadtest_bounds import verdict


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile([float(v) for v in range(1, 101)], 99) == pytest.approx(99.01)


def test_latency_sorts_its_samples() -> None:
    stats = Latency.of([3.0, 1.0, 2.0])
    assert (stats.count, stats.p50, stats.max) == (3, 2.0, 3.0)
    assert Latency.of([]) == Latency(0, None, None, None, None)


def _outcomes() -> list[OrderOutcome]:
    return [
        OrderOutcome("confirmed", 200, None, 0.01, 3.0),
        OrderOutcome("confirmed", 200, None, 0.03, 2.0, seq_violations=1),
        OrderOutcome("failed", 200, "SLIPPAGE_EXCEEDED", 0.02, 1.0, seq_gaps=2),
        OrderOutcome("rejected", 400, None, 0.01),
        OrderOutcome("rejected", 503, None, 0.01),
        OrderOutcome("lost", 200, None, 0.02, unclean_close=False),
        OrderOutcome("timed_out", 200, None, 0.02),
        OrderOutcome("error", None, "submit:ConnectError"),
    ]


def test_report_counts_every_outcome_once() -> None:
    report = build_report(
        _outcomes(), base_url="http://x", concurrency=4, wall_s=2.0, submit_window_s=0.5
    )
    assert (report.submitted, report.accepted, report.confirmed) == (8, 5, 2)
    assert report.rejected == {"400": 1, "503": 1}
    assert report.failed == {"SLIPPAGE_EXCEEDED": 1}
    assert (report.lost, report.timed_out) == (1, 1)
    assert report.errors == {"submit:ConnectError": 1}
    assert (report.seq_violations, report.seq_gaps, report.unclean_closes) == (1, 2, 0)
    assert report.finished == 3


def test_report_rates_follow_from_counts_and_times() -> None:
    report = build_report(
        _outcomes(), base_url="http://x", concurrency=4, wall_s=2.0, submit_window_s=0.5
    )
    assert report.submit_rate_per_s == 16.0  # 8 submissions in 0.5 s
    assert report.completion_rate == pytest.approx(2 / 5)  # confirmed / accepted
    assert report.orders_per_s == 1.5  # 3 terminal orders in 2 s
    assert report.orders_per_min == 90.0
    assert report.confirmed_per_s == 1.0
    assert report.latency_s == Latency.of([3.0, 2.0, 1.0])
    assert report.submit_latency_s.count == 7


def test_report_of_nothing_divides_by_nothing() -> None:
    report = build_report([], base_url="http://x", concurrency=1, wall_s=0.0, submit_window_s=0.0)
    assert (report.submit_rate_per_s, report.completion_rate, report.orders_per_s) == (0, 0, 0)


def test_report_dict_is_json_with_totals() -> None:
    report = build_report(
        _outcomes(), base_url="http://x", concurrency=4, wall_s=2.0, submit_window_s=0.5
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["latency_s"]["p50"] == 2.0
    assert (data["rejected_total"], data["failed_total"], data["errors_total"]) == (2, 1, 1)
    assert data["finished"] == 3


def test_render_report_prints_the_figures() -> None:
    report = build_report(
        _outcomes(), base_url="http://x", concurrency=4, wall_s=2.0, submit_window_s=0.5
    )
    console = Console(record=True, width=120)
    render_report(report, console)
    text = console.export_text()
    assert "90 /min" in text
    assert "SLIPPAGE_EXCEEDED: 1" in text
    assert "2,000 ms" in text  # the p50 of submit -> terminal


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("http://localhost:3000", "/ws/orders/a", "ws://localhost:3000/ws/orders/a"),
        ("http://localhost:3000/", "/ws/orders/a", "ws://localhost:3000/ws/orders/a"),
        ("https://oee.example", "/ws/orders/a", "wss://oee.example/ws/orders/a"),
        ("https://h/engine/", "/ws/orders/a", "wss://h/engine/ws/orders/a"),
        ("http://h", "ws/orders/a", "ws://h/ws/orders/a"),
        ("http://h", "wss://other/ws/orders/a", "wss://other/ws/orders/a"),
        ("http://h", "https://other/ws/orders/a", "wss://other/ws/orders/a"),
    ],
)
def test_ws_url_swaps_the_scheme_and_appends_the_path(base: str, path: str, expected: str) -> None:
    assert ws_url(base, path) == expected


@pytest.mark.parametrize("base", ["localhost:3000", "ftp://h", "ws://h"])
def test_ws_url_refuses_a_base_that_is_not_http(base: str) -> None:
    with pytest.raises(ValueError, match="http"):
        ws_url(base, "/ws/orders/a")


def test_order_body_sends_the_amount_as_an_exact_number() -> None:
    body = json.loads(order_body("SOL", "USDC", "0.1", 100), parse_float=Decimal)
    assert body == {
        "tokenIn": "SOL",
        "tokenOut": "USDC",
        "amountIn": Decimal("0.1"),
        "slippageBps": 100,
    }


@pytest.mark.parametrize("amount", ["abc", "NaN", "Infinity", ""])
def test_order_body_refuses_an_amount_that_is_not_a_number(amount: str) -> None:
    with pytest.raises(ValueError, match="amount_in"):
        order_body("SOL", "USDC", amount, 100)


def _frames(*seqs: int, last: str = "confirmed") -> list[dict[str, object]]:
    first, *rest = seqs
    frames: list[dict[str, object]] = [
        {"type": "snapshot", "seq": first, "order": {"status": "pending"}}
    ]
    frames += [{"type": "routing", "seq": s} for s in rest[:-1]]
    frames.append({"type": last, "seq": rest[-1], "error": "NO_ROUTE"})
    return frames


def _feed(frames: list[dict[str, object]]) -> tuple[StreamCheck, list[bool]]:
    check = StreamCheck()
    return check, [check.feed(frame) for frame in frames]


def test_stream_check_follows_a_happy_stream_to_its_terminal_event() -> None:
    check, done = _feed(_frames(1, 2, 3, 4, 5))
    assert done == [False, False, False, False, True]
    assert (check.terminal, check.violations, check.gaps) == ("confirmed", 0, 0)


def test_stream_check_counts_repeated_and_skipped_seqs() -> None:
    check, _ = _feed(_frames(1, 2, 2, 1, 5))
    assert (check.violations, check.gaps) == (2, 1)


def test_stream_check_keeps_a_failed_orders_error_code() -> None:
    check, _ = _feed(_frames(1, 2, last="failed"))
    assert (check.terminal, check.error) == ("failed", "NO_ROUTE")


def test_stream_check_takes_a_terminal_snapshot_as_the_end() -> None:
    snapshot = {"type": "snapshot", "seq": 5, "order": {"status": "failed", "error": "X"}}
    check, done = _feed([snapshot])
    assert done == [True]
    assert (check.terminal, check.error) == ("failed", "X")


def test_stream_check_notes_an_error_frame() -> None:
    check, done = _feed([{"type": "error", "code": "ORDER_NOT_FOUND", "message": "no"}])
    assert done == [False]
    assert (check.terminal, check.error_frame, check.error) == (None, True, "ORDER_NOT_FOUND")


async def test_run_loadtest_counts_an_unreachable_engine_instead_of_raising() -> None:
    report = await run_loadtest(
        f"http://127.0.0.1:{free_port()}", 5, concurrency=2, progress=False, timeout_s=5
    )
    assert (report.submitted, report.accepted) == (5, 0)
    assert report.errors == {"submit:ConnectError": 5}


async def test_run_loadtest_refuses_bad_arguments_before_any_order() -> None:
    with pytest.raises(ValueError, match="base URL"):
        await run_loadtest("localhost:3000", 1, progress=False)
    with pytest.raises(ValueError, match="concurrency"):
        await run_loadtest("http://h", 1, concurrency=0, progress=False)


# --- what bounds the run ------------------------------------------------------------------------


def test_stream_check_measures_the_queue_wait_by_the_engine_s_clock() -> None:
    check = StreamCheck()
    snapshot = {"createdAt": "2025-01-01T12:00:00+00:00", "status": "pending", "error": None}
    check.feed({"type": "snapshot", "seq": 1, "order": snapshot})
    assert check.queue_s is None  # not routed yet
    check.feed({"type": "routing", "seq": 2, "at": "2025-01-01T12:00:12.5+00:00"})
    check.feed({"type": "pending", "seq": 3, "at": "2025-01-01T12:00:13+00:00"})  # a retry
    check.feed({"type": "routing", "seq": 4, "at": "2025-01-01T12:00:20+00:00"})
    assert check.queue_s == 12.5  # the first pickup only


def _bounded(queue: list[float], cpu_s: float) -> Any:
    outcomes = [
        OrderOutcome("confirmed", 200, None, 0.01, total, queue_s=wait)
        for total, wait in zip([10.0, 14.0, 12.0], queue, strict=True)
    ]
    return build_report(
        outcomes,
        base_url="http://x",
        concurrency=50,
        wall_s=20.0,
        submit_window_s=1.0,
        client_cpu_s=cpu_s,
    )


def test_the_verdict_names_queueing_the_client_or_the_engine() -> None:
    queued = _bounded([9.0, 12.0, 10.0], cpu_s=2.0)
    assert queued.queue_wait_s.p50 == 10.0
    assert queued.client_cpu_share == 0.1
    assert verdict(queued).startswith("Bound by queueing: orders spent 83% of their median")
    assert "50 in flight" in verdict(queued)
    assert verdict(_bounded([9.0, 12.0, 10.0], cpu_s=18.0)).startswith("Bound by the client")
    known = build_report(
        [OrderOutcome("confirmed", 200, None, 0.01, 10.0, queue_s=8.0)],
        base_url="http://x",
        concurrency=50,
        wall_s=1.0,
        submit_window_s=1.0,
        engine_slots=10,
    )
    assert "50 in flight against 10 worker slots, so the latency" in verdict(known)
    assert verdict(_bounded([0.1, 0.2, 0.1], cpu_s=1.0)).startswith("Bound by the engine's")
    unseen = build_report(
        [OrderOutcome("confirmed", 200, None, 0.01, 1.0)],
        base_url="http://x",
        concurrency=1,
        wall_s=1.0,
        submit_window_s=1.0,
    )
    assert verdict(unseen).startswith("Queue wait not seen")


def test_render_report_says_what_bounds_the_run() -> None:
    console = Console(record=True, width=200)
    render_report(_bounded([9.0, 12.0, 10.0], cpu_s=2.0), console)
    text = " ".join(console.export_text().split())
    assert "What bounds the run" in text
    assert "50 orders at once" in text
    assert "unknown (the API process runs no worker" in text
    assert "10,000 ms / 11,600 ms (83% of the latency p50)" in text
    assert "10% of one core" in text
    assert "Bound by queueing" in text
