"""The simulator's faucet: what a wallet gets with its first `requestAirdrop`.

Devnet's faucet gives SOL only; a trading engine also needs the tokens it sells, so the
simulated one adds a starter amount of every registry token, worth `FAUCET_USD` each at the
reference price. It is a property of the simulated world, not of the RPC protocol.
"""

from __future__ import annotations

from decimal import Decimal

from oee.domain.tokens import MAX_BASE_UNITS, REGISTRY, WSOL_MINT, Token
from oee.sim.ledger import NATIVE_MINT, SimLedger
from oee.sim.world import SimWorld

FAUCET_USD = Decimal(10_000_000)


def fund(
    world: SimWorld, ledger: SimLedger, owner: str, lamports: int, *, starter_tokens: bool = True
) -> None:
    """Credit `lamports` to `owner` and, with `starter_tokens`, the faucet's grant of each token."""
    ledger.airdrop(owner, NATIVE_MINT, lamports)
    if starter_tokens:
        for token, units in faucet_grant(world):
            ledger.airdrop(owner, token.mint, units)


def faucet_grant(world: SimWorld) -> list[tuple[Token, int]]:
    """Every registry token but SOL, with the base units worth `FAUCET_USD` of it right now."""
    grant = []
    for token in REGISTRY:
        if token.mint == WSOL_MINT:
            continue  # SOL is what the airdrop itself credits
        units = int((FAUCET_USD / world.reference_price(token.symbol)).scaleb(token.decimals))
        grant.append((token, min(units, MAX_BASE_UNITS)))
    return grant
