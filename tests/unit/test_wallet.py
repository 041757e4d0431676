"""The engine wallet: where its keypair lives, its balances over the simulator's JSON-RPC, their wire shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from oee.api.wallet import decimal_text, wallet_view
from oee.api.wallet_sim_models import EXAMPLE_WALLET, WalletView
from oee.domain.ports import TokenBalance, WalletBalances
from oee.domain.tokens import resolve_token
from oee.services.wallet import sol_to_lamports
from oee.settings import Settings, SimSettings
from oee.sim.ledger import NATIVE_MINT
from oee.solana.spl import associated_token_address
from tests.support.sim import SimNode, sim_node

USDC, BONK = resolve_token("USDC"), resolve_token("BONK")
UNKNOWN_MINT = str(Keypair().pubkey())


# --- settings ----------------------------------------------------------------------------------


def test_the_wallet_defaults_to_wallet_json_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OEE_WALLET_PATH", raising=False)
    settings = Settings(data_dir=Path("/srv/oee"))
    assert settings.wallet_path is None
    assert settings.wallet_file == Path("/srv/oee/wallet.json")


def test_oee_wallet_path_names_the_file_whatever_the_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OEE_WALLET_PATH", "/run/secrets/engine-wallet.json")
    monkeypatch.setenv("OEE_DATA_DIR", "/somewhere/else")
    assert Settings().wallet_file == Path("/run/secrets/engine-wallet.json")


def test_a_blank_wallet_path_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OEE_WALLET_PATH", "")
    assert Settings(data_dir=Path("d")).wallet_file == Path("d/wallet.json")


def test_airdrop_settings_are_exact_sol_amounts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OEE_WALLET_AIRDROP_SOL", "2.5")
    monkeypatch.setenv("OEE_WALLET_MIN_SOL", "0")
    settings = Settings()
    assert settings.wallet_airdrop_sol == Decimal("2.5")
    assert sol_to_lamports(settings.wallet_airdrop_sol) == 2_500_000_000
    assert sol_to_lamports(settings.wallet_min_sol) == 0
    defaults = Settings(wallet_airdrop_sol=Decimal(1_000_000), wallet_min_sol=Decimal(1_000))
    assert sol_to_lamports(defaults.wallet_min_sol) == 1_000 * 10**9


@pytest.mark.parametrize("value", ["-1", "abc", "1e12", "nan"])
def test_bad_airdrop_amounts_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("OEE_WALLET_AIRDROP_SOL", value)
    with pytest.raises(ValidationError, match="wallet_airdrop_sol"):
        Settings()


# --- RpcChain over the simulator ---------------------------------------------------------------


@pytest.fixture
async def node() -> AsyncIterator[SimNode]:
    async with sim_node(SimSettings(latency_scale=0.0)) as node:
        yield node


async def test_a_new_wallet_holds_nothing(node: SimNode) -> None:
    chain = node.chain
    balances = await chain.balances(str(Keypair().pubkey()))
    assert (balances.lamports, balances.tokens) == (0, ())
    assert balances.slot is not None


async def test_balances_list_lamports_and_each_token_in_its_associated_account(
    node: SimNode,
) -> None:
    chain, ledger = node.chain, node.ledger
    owner = Keypair().pubkey()
    ledger.airdrop(str(owner), NATIVE_MINT, 7)
    ledger.airdrop(str(owner), USDC.mint, 1_500_000)
    ledger.airdrop(str(owner), BONK.mint, 42)
    balances = await chain.balances(str(owner))
    assert balances.lamports == 7
    by_mint = {token.mint: token for token in balances.tokens}
    assert set(by_mint) == {USDC.mint, BONK.mint}
    usdc = by_mint[USDC.mint]
    assert (usdc.amount, usdc.decimals) == (1_500_000, 6)
    assert usdc.account == str(associated_token_address(owner, Pubkey.from_string(USDC.mint)))
    assert by_mint[BONK.mint].decimals == 5


async def test_an_airdrop_credits_lamports_and_answers_a_fresh_signature(node: SimNode) -> None:
    chain, ledger = node.chain, node.ledger
    owner = str(Keypair().pubkey())
    first = await chain.request_airdrop(owner, 2_000_000_000)
    second = await chain.request_airdrop(owner, 500)
    assert first != second
    Signature.from_string(first)  # a signature's shape, as requestAirdrop answers
    assert (await chain.balances(owner)).lamports == 2_000_000_500
    assert ledger.balances(owner)[NATIVE_MINT] == 2_000_000_500


@pytest.mark.parametrize(
    ("owner", "lamports", "message"),
    [
        ("not-a-key", 1, "not a base58 public key"),
        (str(Pubkey.default()), 0, "lamports must be from 1"),
        (str(Pubkey.default()), -5, "lamports must be from 1"),
        (str(Pubkey.default()), 2**64, "lamports must be from 1"),
        (str(Pubkey.default()), True, "whole number"),
    ],
)
async def test_bad_airdrop_arguments_are_clear_errors(
    node: SimNode, owner: str, lamports: int, message: str
) -> None:
    chain = node.chain
    with pytest.raises(ValueError, match=message):
        await chain.request_airdrop(owner, lamports)


async def test_balances_of_a_bad_address_is_a_clear_error(node: SimNode) -> None:
    chain = node.chain
    with pytest.raises(ValueError, match="'0xdeadbeef' is not a base58 public key"):
        await chain.balances("0xdeadbeef")


# --- the wire shape ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (0, 9, "0"),
        (12_500_000_000, 9, "12.5"),
        (1, 9, "0.000000001"),
        (10**15, 9, "1000000"),
        (2**64 - 1, 6, "18446744073709.551615"),
        (42, 0, "42"),
    ],
)
def test_amounts_are_exact_decimal_strings(units: int, decimals: int, text: str) -> None:
    assert decimal_text(units, decimals) == text


def test_wallet_view_orders_registry_tokens_first_and_names_unknown_mints_null() -> None:
    balances = WalletBalances(
        lamports=12_500_000_000,
        tokens=(
            TokenBalance(UNKNOWN_MINT, "acct-x", 3, 0),
            TokenBalance(BONK.mint, "acct-bonk", 123_456, 5),
            TokenBalance(USDC.mint, "acct-usdc", 1_000_000, 6),
        ),
        slot=99,
    )
    view = wallet_view("Addr", balances)
    assert (view["address"], view["sol"], view["lamports"], view["slot"]) == (
        "Addr",
        "12.5",
        12_500_000_000,
        99,
    )
    assert view["tokens"] == [
        {
            "symbol": "USDC",
            "mint": USDC.mint,
            "account": "acct-usdc",
            "amount": "1000000",
            "uiAmount": "1",
            "decimals": 6,
        },
        {
            "symbol": "BONK",
            "mint": BONK.mint,
            "account": "acct-bonk",
            "amount": "123456",
            "uiAmount": "1.23456",
            "decimals": 5,
        },
        {
            "symbol": None,
            "mint": UNKNOWN_MINT,
            "account": "acct-x",
            "amount": "3",
            "uiAmount": "3",
            "decimals": 0,
        },
    ]
    WalletView.model_validate(view)
    assert "slot" not in wallet_view("Addr", WalletBalances(0))


def test_the_documented_example_is_a_valid_wallet_view() -> None:
    WalletView.model_validate(EXAMPLE_WALLET)
