"""Rate limits: the `OEE_RATE_LIMIT` setting, the GCRA on a fake clock, the headers, the
in-memory limiter, and how the composition root picks a limiter. No sleeps, no timed asserts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oee.adapters.ratelimit.memory import SWEEP_EVERY, MemoryRateLimiter
from oee.adapters.ratelimit.redis import RedisRateLimiter
from oee.api.keys import Principal
from oee.api.limits import client_of, rate_headers
from oee.bootstrap import _build_rate_limiter
from oee.domain.ratelimit import US, RatePolicy, gcra, parse_rate
from oee.settings import Settings

# --- the setting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "burst", "expected"),
    [
        ("20/s", None, RatePolicy(20, 1, 40)),
        (" 600 / min ", None, RatePolicy(600, 60, 1200)),
        ("10000/h", 50, RatePolicy(10000, 3600, 50)),
        ("5/second", 1, RatePolicy(5, 1, 1)),
        ("50/S", None, RatePolicy(50, 1, 100)),
        ("off", None, None),
        ("OFF", 10, None),
        ("", None, None),
        ("0", None, None),
    ],
)
def test_the_setting_parses(text: str, burst: int | None, expected: RatePolicy | None) -> None:
    assert parse_rate(text, burst) == expected


@pytest.mark.parametrize("text", ["50", "50/day", "fifty/s", "-5/s", "0/s", "1.5/s", "5/s/s"])
def test_anything_else_is_refused_with_the_form_expected(text: str) -> None:
    with pytest.raises(ValueError, match="OEE_RATE_LIMIT must"):
        parse_rate(text)


def test_settings_refuse_a_bad_limit_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OEE_RATE_LIMIT", "lots")
    with pytest.raises(ValidationError, match="50/s, 600/min or 10000/h"):
        Settings()
    monkeypatch.setenv("OEE_RATE_LIMIT", "20/s")
    monkeypatch.setenv("OEE_RATE_LIMIT_BURST", "0")
    with pytest.raises(ValidationError, match="rate_limit_burst"):
        Settings()


def test_settings_defaults_and_blank_values(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.rate_policy == RatePolicy(50, 1, 100)
    assert (settings.max_open_orders_per_key, settings.max_streams_per_key) == (1000, 100)
    assert settings.stream_idle_timeout_s == 300
    for name in (
        "OEE_RATE_LIMIT_BURST",
        "OEE_MAX_OPEN_ORDERS_PER_KEY",
        "OEE_MAX_STREAMS_PER_KEY",
        "OEE_STREAM_IDLE_TIMEOUT_S",
    ):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("OEE_RATE_LIMIT", "off")
    blank = Settings()
    assert blank.rate_policy is None
    assert blank.rate_limit_burst is None
    assert blank.max_open_orders_per_key is None
    assert blank.max_streams_per_key is None
    assert blank.stream_idle_timeout_s is None


def test_the_policy_s_interval_and_window() -> None:
    assert RatePolicy(50, 1, 100).interval_us == 20_000
    assert RatePolicy(50, 1, 100).window_s == 2
    assert RatePolicy(600, 60, 1200).window_s == 120
    assert RatePolicy(3, 1, 1).interval_us == 333_333
    assert RatePolicy(3, 1, 1).window_s == 1
    assert str(RatePolicy(600, 60, 1200)) == "600/min (burst 1200)"


# --- the algorithm on a fake clock ---------------------------------------------------------------

POLICY = RatePolicy(count=10, period_s=1, burst=3)  # 100 ms apart, 3 at once
T0 = 1_000 * US


def run(times_ms: list[int], policy: RatePolicy = POLICY) -> list[tuple[bool, int, int, int]]:
    """(allowed, remaining, reset µs, retry after µs) of requests at these ms after T0."""
    tat: int | None = None
    seen = []
    for ms in times_ms:
        new_tat, decision = gcra(tat, T0 + ms * 1000, policy)
        tat = new_tat if new_tat is not None else tat
        assert decision.limit == policy.burst
        seen.append(
            (decision.allowed, decision.remaining, decision.reset_us, decision.retry_after_us)
        )
    return seen


def test_a_burst_passes_then_the_next_waits_one_interval() -> None:
    assert run([0, 0, 0, 0]) == [
        (True, 2, 100_000, 0),
        (True, 1, 200_000, 0),
        (True, 0, 300_000, 0),
        (False, 0, 300_000, 100_000),
    ]


def test_a_refusal_costs_nothing_and_time_brings_requests_back() -> None:
    decisions = run([0, 0, 0, 50, 50, 99, 100, 100])
    assert [d[0] for d in decisions] == [True, True, True, False, False, False, True, False]
    assert decisions[3][3] == 50_000  # retry after: 100 ms from the start, 50 ms from now
    assert decisions[5][3] == 1_000


def test_an_idle_client_gets_its_whole_burst_back() -> None:
    decisions = run([0, 0, 0, 300, 300, 300, 300])
    assert [d[0] for d in decisions] == [True] * 6 + [False]
    assert run([0, 10_000])[1] == (True, 2, 100_000, 0)  # long idle: as new


def test_a_steady_client_at_the_rate_is_never_refused() -> None:
    decisions = run([i * 100 for i in range(50)])
    assert all(allowed for allowed, *_ in decisions)
    assert {remaining for _, remaining, _, _ in decisions} == {2}


def test_a_client_above_the_rate_gets_exactly_the_rate_after_the_burst() -> None:
    # 20 a second for 2 s against 10 a second, 3 at once: 3 + 10 a second after.
    decisions = run([i * 50 for i in range(40)])
    allowed = sum(1 for ok, *_ in decisions if ok)
    assert allowed == 3 + 19  # the burst, then one every 100 ms through 1950 ms


def test_decisions_in_whole_seconds_round_up() -> None:
    _, refused = gcra(T0 + 3 * 100_000, T0, POLICY)
    assert (refused.allowed, refused.retry_after_s, refused.reset_s) == (False, 1, 1)
    slow = RatePolicy(1, 60, 1)
    _, first = gcra(None, T0, slow)
    _, second = gcra(T0 + 60 * US, T0 + US // 2, slow)
    assert (first.allowed, first.reset_s) == (True, 60)
    assert (second.allowed, second.retry_after_s) == (False, 60)  # 59.5 s, rounded up


def test_headers_follow_draft_06() -> None:
    _, allowed = gcra(None, T0, RatePolicy(50, 1, 100))
    assert rate_headers(allowed, RatePolicy(50, 1, 100)) == {
        "RateLimit-Limit": "100",
        "RateLimit-Remaining": "99",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "100;w=2",
    }
    _, refused = gcra(T0 + 3 * 100_000, T0, POLICY)
    assert rate_headers(refused, POLICY) == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "3;w=1",
        "Retry-After": "1",
    }


def test_clients_are_keys_by_name_else_addresses() -> None:
    assert client_of({"oee.principal": Principal("desk", admin=False)}) == "key:desk"
    assert client_of({"oee.principal": Principal(None, admin=True), "client": ("10.0.0.7", 5)}) == (
        "addr:10.0.0.7"
    )
    assert client_of({"client": ("::1", 5)}) == "addr:::1"
    assert client_of({"client": None}) == "addr:unknown"


# --- the in-memory limiter ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_the_memory_limiter_forgets_clients_whose_bucket_is_full_again() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    for i in range(SWEEP_EVERY - 1):
        decision = await limiter.hit(f"addr:10.0.{i // 256}.{i % 256}", POLICY)
        assert decision.allowed
    assert len(limiter) == SWEEP_EVERY - 1
    clock.t += 1  # every bucket is full again
    await limiter.hit("key:last", POLICY)  # the sweep runs on this hit
    assert len(limiter) == 1


# --- the composition root ----------------------------------------------------------------------


async def test_the_composition_root_picks_the_limiter_by_settings() -> None:
    assert isinstance(_build_rate_limiter(Settings(redis_url=None)), MemoryRateLimiter)
    shared = _build_rate_limiter(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(shared, RedisRateLimiter)
    await shared.close()
    assert _build_rate_limiter(Settings(redis_url=None, rate_limit="off")) is None


# --- the OpenAPI document ----------------------------------------------------------------------


def test_openapi_declares_the_429s_and_the_rate_headers() -> None:
    from oee.adapters.bus.memory import MemoryBus
    from oee.adapters.queue.memory import MemoryQueue
    from oee.api.app import create_app
    from tests.support.api import make_engine

    engine = make_engine(None, MemoryQueue(), MemoryBus())  # type: ignore[arg-type]
    spec = create_app(engine).openapi()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            if path in ("/health", "/ready"):
                assert "429" not in responses, path
                continue
            if path == "/metrics":  # not rate-limited, but it needs a key: wrong keys are
                assert set(responses["429"]["content"]["application/json"]["examples"]) == {
                    "RATE_LIMITED"
                }
                assert "Retry-After" in responses["429"]["headers"]
                continue
            examples = responses["429"]["content"]["application/json"]["examples"]
            codes = set(examples)
            expected = {"RATE_LIMITED"}
            if (path, method) == ("/api/orders/execute", "post"):
                expected.add("TOO_MANY_OPEN_ORDERS")
            if path == "/api/orders/{order_id}/events":
                expected.add("TOO_MANY_STREAMS")
            assert codes == expected, (method, path)
            assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining"} <= set(
                responses["429"]["headers"]
            )
            ok = [r for status, r in responses.items() if status.startswith("2")]
            assert all("RateLimit-Reset" in r["headers"] for r in ok), (method, path)
            assert list(responses) == sorted(responses), (method, path)
