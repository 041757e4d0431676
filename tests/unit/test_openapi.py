"""The OpenAPI document shows an example for every success and every error a route answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import oee.api
from oee.adapters.bus.memory import MemoryBus
from oee.adapters.queue.memory import MemoryQueue
from oee.api.app import create_app
from oee.api.examples import ERRORS, ORDER_RULES, TRIGGER_RULES
from oee.domain.orders import OrderType
from oee.domain.status import OrderStatus
from oee.domain.triggers import MAX_TTL, VENUE_NAMES
from tests.support.api import make_engine

# Codes only the WebSocket routes or the pages outside the schema answer.
NOT_IN_SCHEMA = {"INVALID_RECENT", "NOT_FOUND"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    engine = make_engine(None, MemoryQueue(), MemoryBus())  # type: ignore[arg-type]
    return create_app(engine).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, ms in spec["paths"].items() for m, op in ms.items()]


def examples_of(response: dict[str, Any]) -> list[Any]:
    found: list[Any] = []
    for media in response.get("content", {}).values():
        if "example" in media:
            found.append(media["example"])
        found.extend(e["value"] for e in media.get("examples", {}).values())
    return found


def test_every_operation_has_a_success_example(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        successes = [r for status, r in op["responses"].items() if status.startswith("2")]
        assert successes, f"{method} {path} documents no 2xx"
        assert any(examples_of(r) for r in successes), f"{method} {path} has no 2xx example"


def test_every_error_status_has_examples_with_real_codes(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if status[0] not in "45":
                continue
            bodies = examples_of(response)
            assert bodies, f"{method} {path} {status} has no example"
            for body in bodies:
                assert body["code"] in ERRORS, f"{method} {path} {status}: {body['code']}"
                assert ERRORS[body["code"]][0] == int(status), f"{method} {path} {body}"
                assert isinstance(body["message"], str)
                assert body["message"]


def test_every_code_of_the_table_is_shown_somewhere(spec: dict[str, Any]) -> None:
    shown = {
        body["code"]
        for _, _, op in operations(spec)
        for status, response in op["responses"].items()
        if status[0] in "45"
        for body in examples_of(response)
    }
    assert set(ERRORS) == shown


def test_the_table_knows_every_code_the_api_raises() -> None:
    """Each `ApiError(status, "CODE", ...)` in the API package is in the table, same status."""
    raised: set[tuple[int, str]] = set()
    for source in Path(oee.api.__file__).parent.glob("*.py"):
        text = source.read_text()
        raised |= {(int(s), c) for s, c in re.findall(r'ApiError\(\s*(\d{3}),\s*"([A-Z_]+)"', text)}
    assert raised, "the scan found nothing: has ApiError changed shape?"
    table = {(status, code) for code, (status, _, _) in ERRORS.items()}
    assert {(s, c) for s, c in raised if c not in NOT_IN_SCHEMA} <= table
    for code in ("VALIDATION_ERROR", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"):  # errors.py
        assert code in ERRORS


def test_execute_documents_every_order_rule(spec: dict[str, Any]) -> None:
    responses = spec["paths"]["/api/orders/execute"]["post"]["responses"]
    codes = {body["code"] for body in examples_of(responses["422"])}
    assert {"VALIDATION_ERROR", "UNSUPPORTED_ORDER_TYPE", *ORDER_RULES, *TRIGGER_RULES} == codes
    assert {b["code"] for b in examples_of(responses["400"])} >= {
        "MALFORMED_JSON",
        "BODY_NOT_OBJECT",
        "INVALID_IDEMPOTENCY_KEY",
    }
    assert [b["code"] for b in examples_of(responses["409"])] == ["IDEMPOTENCY_KEY_REUSED"]
    assert [b["code"] for b in examples_of(responses["413"])] == ["BODY_TOO_LARGE"]
    assert [b["code"] for b in examples_of(responses["503"])] == [
        "SERVICE_UNAVAILABLE",
        "HALTED",
        "OVERLOADED",
    ]
    assert [b["code"] for b in examples_of(responses["403"])] == ["TOKEN_NOT_ALLOWED"]


def test_the_kill_switch_routes_are_admin_only_and_declare_their_answers(
    spec: dict[str, Any],
) -> None:
    paths = spec["paths"]
    assert set(paths["/api/admin/halt"]) == {"get", "post"}
    assert set(paths["/api/admin/resume"]) == {"post"}
    for path, method in (
        ("/api/admin/halt", "get"),
        ("/api/admin/halt", "post"),
        ("/api/admin/resume", "post"),
    ):
        responses = paths[path][method]["responses"]
        assert [b["code"] for b in examples_of(responses["403"])] == ["FORBIDDEN"]
        assert [b["code"] for b in examples_of(responses["401"])] == ["UNAUTHENTICATED"]
        assert [b["code"] for b in examples_of(responses["429"])] == ["RATE_LIMITED"]
        example = responses["200"]["content"]["application/json"]["example"]
        assert {"halted", "by", "since"} <= set(example)  # (the schema drops a null reason)
        if method == "post":
            assert {b["code"] for b in examples_of(responses["422"])} == {"VALIDATION_ERROR"}
            assert "UNSUPPORTED_MEDIA_TYPE" in {b["code"] for b in examples_of(responses["415"])}


def test_the_documented_request_is_exactly_what_the_server_reads() -> None:
    from oee.api.openapi import ExecuteRequest
    from oee.api.requests import EXECUTE_FIELDS

    schema = ExecuteRequest.model_json_schema()
    assert tuple(schema["properties"]) == EXECUTE_FIELDS
    assert schema["additionalProperties"] is False
    string_amount = [s for s in schema["properties"]["amountIn"]["anyOf"] if s["type"] == "string"]
    assert string_amount == [{"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}]
    # Only tokenIn, tokenOut and amountIn are required; nothing optional may be null.
    assert schema["required"] == ["tokenIn", "tokenOut", "amountIn"]
    for name, field in schema["properties"].items():
        assert "null" not in json.dumps(field.get("anyOf", field.get("type"))), name
        if name not in {"slippageBps", "type"}:
            assert "default" not in field, name


def test_the_new_execute_fields_are_declared_as_enforced() -> None:
    from oee.api.openapi import ExecuteRequest
    from oee.api.requests import EXPIRES_AT_PATTERN, LIMIT_PRICE_STRING_PATTERN

    props = ExecuteRequest.model_json_schema()["properties"]
    assert props["type"]["enum"] == [t.value for t in OrderType]
    assert props["type"]["default"] == "market"
    assert props["orderType"]["deprecated"] is True
    number, string = props["limitPrice"]["anyOf"]
    assert number == {"type": "number", "exclusiveMinimum": 0, "maximum": 1e30}
    assert string == {"type": "string", "pattern": LIMIT_PRICE_STRING_PATTERN}
    assert props["expiresAt"]["format"] == "date-time"
    assert props["expiresAt"]["pattern"] == EXPIRES_AT_PATTERN
    assert (props["ttlSeconds"]["minimum"], props["ttlSeconds"]["maximum"]) == (
        1,
        int(MAX_TTL.total_seconds()),
    )
    assert props["venues"]["items"]["enum"] == list(VENUE_NAMES)
    assert props["venues"]["minItems"] == 1
    assert (props["maxPriceImpactBps"]["minimum"], props["maxPriceImpactBps"]["maximum"]) == (
        1,
        10_000,
    )


def test_the_served_schema_carries_this_engine_s_price_impact_cap() -> None:
    engine = make_engine(None, MemoryQueue(), MemoryBus(), max_price_impact_cap_bps=800)  # type: ignore[arg-type]
    body = create_app(engine).openapi()["paths"]["/api/orders/execute"]["post"]["requestBody"]
    field = body["content"]["application/json"]["schema"]["properties"]["maxPriceImpactBps"]
    assert field["maximum"] == 800


def test_cancel_is_documented_with_its_answers(spec: dict[str, Any]) -> None:
    cancel = spec["paths"]["/api/orders/{order_id}/cancel"]["post"]
    assert set(cancel["responses"]) == {
        "200",
        "400",
        "401",
        "404",
        "409",
        "413",
        "415",
        "422",
        "429",
        "500",
        "503",
    }
    assert cancel["responses"]["200"]["content"]["application/json"]["example"]["status"] == (
        "cancelled"
    )
    (conflict,) = examples_of(cancel["responses"]["409"])
    assert (conflict["code"], conflict["status"]) == ("ORDER_NOT_CANCELLABLE", "confirmed")
    (param,) = [p for p in cancel["parameters"] if p["in"] == "path"]
    assert param["schema"]["format"] == "uuid"
    assert "status" in spec["components"]["schemas"]["ErrorBody"]["properties"]


def test_recent_declares_its_filters(spec: dict[str, Any]) -> None:
    recent = spec["paths"]["/api/orders/recent"]["get"]
    params = {p["name"]: p["schema"] for p in recent["parameters"]}
    assert params["status"]["enum"] == [s.value for s in OrderStatus]
    assert params["type"]["enum"] == [t.value for t in OrderType]
    codes = {b["code"] for b in examples_of(recent["responses"]["422"])}
    assert codes == {"INVALID_LIMIT", "INVALID_STATUS", "INVALID_TYPE", "INVALID_SINCE_TIME"}
    assert params["since"]["type"] == "string"


def test_order_ids_are_declared_as_uuids(spec: dict[str, Any]) -> None:
    paths = (
        "/api/orders/{order_id}",
        "/api/orders/{order_id}/events",
        "/api/orders/{order_id}/timeline",
    )
    for path in paths:
        (param,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["in"] == "path"]
        assert param["schema"]["format"] == "uuid", path


def test_timeline_is_documented_with_an_example_and_its_errors(spec: dict[str, Any]) -> None:
    timeline = spec["paths"]["/api/orders/{order_id}/timeline"]["get"]
    example = timeline["responses"]["200"]["content"]["application/json"]["example"]
    assert [e["seq"] for e in example["events"]] == [1, 2, 3, 4, 5]
    assert all({"type", "seq", "at", "orderId", "attempt"} <= set(e) for e in example["events"])
    codes = {
        b["code"] for status in ("400", "404") for b in examples_of(timeline["responses"][status])
    }
    assert codes == {"INVALID_ORDER_ID", "ORDER_NOT_FOUND"}
    assert set(timeline["responses"]) == {"200", "400", "401", "404", "429", "500", "503"}
