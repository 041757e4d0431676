"""`oee.metrics`: isolated registries, bounded label sets, the queue depth and the worker server."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from oee.adapters.queue.memory import MemoryQueue
from oee.metrics import MAX_LABEL_VALUES, Metrics, start_metrics_server


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = metrics.render()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def test_each_engine_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.orders_for("market", "confirmed").inc()
    assert value(first, "oee_orders_total", type="market", status="confirmed") == 1
    assert value(second, "oee_orders_total", type="market", status="confirmed") == 0


def test_known_series_exist_before_anything_happens() -> None:
    metrics = Metrics(process_collectors=False)
    for status in ("confirmed", "failed", "cancelled", "expired"):
        assert value(metrics, "oee_orders_total", type="market", status=status) == 0
    for stage in ("routing", "building", "submitted"):
        assert value(metrics, "oee_stage_duration_seconds_count", stage=stage) == 0
    assert value(metrics, "oee_ws_connections") == 0
    assert value(metrics, "process_cpu_seconds_total") is None  # asked not to collect them


def test_children_are_bound_once() -> None:
    metrics = Metrics()
    assert metrics.retries_for("VENUE_TIMEOUT") is metrics.retries_for("VENUE_TIMEOUT")


def test_a_label_with_too_many_values_overflows_into_other() -> None:
    metrics = Metrics()
    for i in range(MAX_LABEL_VALUES + 10):
        metrics.retries_for(f"CODE_{i}").inc()
    codes = {
        dict(labels)["code"]
        for name, labels in samples(metrics)
        if name.startswith("oee_order_retries")
    }
    assert len(codes) == MAX_LABEL_VALUES + 1
    assert value(metrics, "oee_order_retries_total", code="OTHER") == 10


async def test_queue_depth_is_read_when_scraped_and_left_out_when_unknown() -> None:
    metrics, queue = Metrics(), MemoryQueue()
    await queue.enqueue("a")
    await queue.enqueue("b")
    await metrics.queue_depth.refresh(queue)
    assert value(metrics, "oee_queue_depth") == 2

    class Broken(MemoryQueue):
        async def depth(self) -> int:
            raise ConnectionError("redis is away")

    await metrics.queue_depth.refresh(Broken())
    assert value(metrics, "oee_queue_depth") is None


def test_openmetrics_when_asked() -> None:
    body, content_type = Metrics().render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


async def test_worker_metrics_server_reads_the_queue_on_its_loop() -> None:
    metrics, queue = Metrics(), MemoryQueue()
    await queue.enqueue("order-1")
    metrics.orders_for("market", "confirmed").inc(3)
    server = start_metrics_server(0, metrics, addr="127.0.0.1", queue=queue)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{server.port}/metrics")
        assert response.status_code == 200
        scraped = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }
        assert scraped[("oee_queue_depth", frozenset())] == 1
        key = ("oee_orders_total", frozenset({"type": "market", "status": "confirmed"}.items()))
        assert scraped[key] == 3
    finally:
        server.stop()
