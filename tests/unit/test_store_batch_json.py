"""The batch writer's remembered JSON conversion: a value mutated in place is re-serialised."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import sqlite

from oee.adapters.store._batch import _EVENT_COLUMNS, _UPDATE_COLUMNS, _converters


def test_a_json_value_mutated_in_place_is_not_served_from_the_cache() -> None:
    position = [c.name for c in _UPDATE_COLUMNS].index("attempts")
    convert = dict(_converters(_UPDATE_COLUMNS, sqlite.dialect()))[position]
    attempts: list[Any] = []
    first = convert(attempts)
    attempts.append({"outcome": "confirmed"})  # the same list object, one attempt more
    assert convert(attempts) != first
    assert "confirmed" in str(convert(attempts))


def test_equal_json_values_still_share_one_conversion() -> None:
    position = [c.name for c in _EVENT_COLUMNS].index("details")
    convert = dict(_converters(_EVENT_COLUMNS, sqlite.dialect()))[position]
    assert convert({"a": 1}) is convert({"a": 1})
