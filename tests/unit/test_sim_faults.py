"""The simulator's fault rates: each kind changed alone (`POST /admin/faults` with one key), the
others kept; anything but a known kind with a number from 0 to 1 refused."""

from __future__ import annotations

import pytest

from oee.sim.faults import KIND_DESCRIPTIONS, KINDS, Faults, parse_rates


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_changed_alone_and_the_others_stay(kind: str) -> None:
    faults = Faults(0.1, slow_confirm_rate=0.2, expired_blockhash_rate=0.3, slippage_move_rate=0.4)
    before = faults.as_json()
    faults.update(parse_rates(f'{{"{kind}": 1}}'.encode()))
    assert faults.as_json() == {**before, kind: 1.0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{}", "one or more of"),
        (b"[]", "one or more of"),
        (b'{"typo": 0.1}', "unknown fault kind 'typo'"),
        (b'{"rate": 1.5}', "from 0 to 1"),
        (b'{"rate": NaN}', "from 0 to 1"),
        (b'{"rate": true}', "rate must be a number"),
        (b'{"slippageMoveRate": "0.1"}', "slippageMoveRate must be a number"),
        (b"rate=1", "must be JSON"),
    ],
)
def test_a_bad_body_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rates(body)


def test_every_kind_is_described() -> None:
    assert set(KIND_DESCRIPTIONS) == set(KINDS)
