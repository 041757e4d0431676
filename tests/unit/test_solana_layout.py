"""The layout core: offsets from the declaration, both directions from one list of fields."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from oee.solana.layout import (
    I64,
    PAD,
    PUBKEY,
    U8,
    U64,
    U128,
    Array,
    Bytes,
    Layout,
    LayoutError,
)


@dataclass(frozen=True)
class _Inner:
    price: int
    amounts: tuple[int, ...]


@dataclass(frozen=True)
class _Outer:
    tag: int
    owner: Pubkey
    delta: int
    inner: _Inner
    blob: bytes


INNER = Layout(_Inner, [("price", U128), ("amounts", Array(U64, 2))])
OUTER = Layout(
    _Outer,
    [
        ("tag", U8),
        (PAD, Bytes(7)),
        ("owner", PUBKEY),
        ("delta", I64),
        ("inner", INNER),
        ("blob", Bytes(3)),
    ],
    discriminator=b"\xaa" * 8,
    size=8 + 8 + 32 + 8 + 32 + 3,
)


def test_offsets_count_the_discriminator_and_padding() -> None:
    assert OUTER.offset("tag") == 8
    assert OUTER.offset("owner") == 16
    assert OUTER.offset("inner") == 56
    assert OUTER.size == 91


@given(
    tag=st.integers(0, 255),
    delta=st.integers(-(2**63), 2**63 - 1),
    price=st.integers(0, 2**128 - 1),
    amounts=st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)),
    blob=st.binary(min_size=3, max_size=3),
)
def test_round_trip(
    tag: int, delta: int, price: int, amounts: tuple[int, int], blob: bytes
) -> None:
    record = _Outer(tag, Pubkey.new_unique(), delta, _Inner(price, amounts), blob)
    raw = OUTER.encode(record)
    assert len(raw) == OUTER.size
    assert raw[8 + 1 : 16] == bytes(7)  # padding written as zeros
    assert OUTER.decode(raw + b"extra") == record


def test_refuses_short_data_and_wrong_discriminator() -> None:
    raw = OUTER.encode(_Outer(1, Pubkey.default(), 0, _Inner(0, (0, 0)), b"abc"))
    with pytest.raises(LayoutError, match="need 91 bytes"):
        OUTER.decode(raw[:-1])
    with pytest.raises(LayoutError, match="discriminator"):
        OUTER.decode(b"\x00" + raw[1:])


def test_declaration_checks_size_and_record_fields() -> None:
    with pytest.raises(LayoutError, match="not 9"):
        Layout(_Inner, [("price", U128), ("amounts", Array(U64, 2))], size=9)
    with pytest.raises(LayoutError, match="dataclass fields"):
        Layout(_Inner, [("price", U128)])
