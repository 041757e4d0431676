"""Server-Sent Events at GET /api/orders/{id}/events, in both deployments, over real HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from tests.support.api import Api, Driver


async def read_events(api: Api, order_id: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Every SSE event until the server ends the response, as (id, event, data) triples."""
    events: list[Any] = []
    url = f"/api/orders/{order_id}/events"
    async with asyncio.timeout(15), api.http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue  # keepalive comment
            if not line:
                if fields:
                    events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
    return events


async def test_snapshot_then_live_events_then_the_end(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    reading = asyncio.create_task(read_events(api, order_id))
    await asyncio.sleep(0.3)  # the client is connected and has its snapshot
    await driver.run(order_id, "routing", "building", "submitted", "confirmed")
    events = await reading
    assert [(seq, kind) for seq, kind, _ in events] == [
        (1, "snapshot"),
        (2, "routing"),
        (3, "building"),
        (4, "submitted"),
        (5, "confirmed"),
    ]
    assert events[0][2]["order"]["orderId"] == order_id
    assert events[-1][2]["txHash"] == "5igSig"


async def test_last_event_id_resumes_after_it(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    await driver.run(order_id, "routing", "building", "submitted", "confirmed")
    events = await read_events(api, order_id, {"Last-Event-ID": "2"})
    assert [seq for seq, _, _ in events] == [3, 4, 5]


async def test_a_finished_order_gets_its_snapshot_and_the_end(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    await driver.run(order_id, "routing", "failed")
    events = await read_events(api, order_id)
    assert [(seq, kind) for seq, kind, _ in events] == [(3, "snapshot")]
    assert events[0][2]["order"]["status"] == "failed"


async def test_bad_requests_are_plain_http_errors(api: Api, driver: Driver) -> None:
    order_id = await driver.submit()
    cases = [
        (f"/api/orders/{uuid.uuid4()}/events", {}, 404, "ORDER_NOT_FOUND"),
        ("/api/orders/not-a-uuid/events", {}, 400, "INVALID_ORDER_ID"),
        (f"/api/orders/{order_id}/events", {"Last-Event-ID": "x"}, 400, "INVALID_SINCE"),
        (f"/api/orders/{order_id}/events", {"Last-Event-ID": "9"}, 400, "INVALID_SINCE"),
        (f"/api/orders/{order_id}/events?since=%201", {}, 400, "INVALID_SINCE"),
        # The header wins, but a bad `since` beside it is refused, not ignored.
        (f"/api/orders/{order_id}/events?since=x", {"Last-Event-ID": "1"}, 400, "INVALID_SINCE"),
    ]
    for url, headers, status, code in cases:
        response = await api.http.get(url, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), url
