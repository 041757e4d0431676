"""Cluster profiles: what changes when the engine moves from the simulator to devnet or mainnet.

A profile holds the venues' program ids on that cluster, the tokens it trades (its registry's
mints), the default RPC and WebSocket URLs, and what the cluster offers (a faucet, the venues'
pools). `OEE_CLUSTER` picks one; `OEE_RPC_URL` / `OEE_WS_URL` override its URLs. The simulator
runs mainnet's program ids and mints, so what works against it works against mainnet's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from oee.domain.tokens import DEVNET_TOKENS, MAINNET_TOKENS, Registry
from oee.venues import raydium
from oee.venues.meteora import PROGRAM_ID as DLMM_PROGRAM_ID

ClusterName = Literal["sim", "devnet", "mainnet-beta"]


@dataclass(frozen=True)
class ClusterProfile:
    """One cluster's addresses and capabilities.

    Attributes:
        name: `sim`, `devnet` or `mainnet-beta`.
        rpc_url: The public JSON-RPC endpoint; None for `sim` (in process unless OEE_RPC_URL).
        ws_url: The public WebSocket endpoint (None for `sim`).
        raydium_program: Raydium AMM v4 on this cluster.
        openbook_program: The OpenBook market program its pools trade through.
        meteora_program: Meteora DLMM (the same id on every cluster).
        registry: The tokens orders may name here.
        faucet: Whether `requestAirdrop` exists (never on mainnet).
    """

    name: ClusterName
    rpc_url: str | None
    ws_url: str | None
    raydium_program: str
    openbook_program: str
    meteora_program: str
    registry: Registry
    faucet: bool


def _profile(
    name: ClusterName, rpc: str | None, ws: str | None, ids: raydium.Cluster, tokens: Registry
) -> ClusterProfile:
    return ClusterProfile(
        name=name,
        rpc_url=rpc,
        ws_url=ws,
        raydium_program=str(ids.amm_program),
        openbook_program=str(ids.openbook_program),
        meteora_program=str(DLMM_PROGRAM_ID),
        registry=tokens,
        faucet=name != "mainnet-beta",
    )


PROFILES: dict[ClusterName, ClusterProfile] = {
    "sim": _profile("sim", None, None, raydium.MAINNET, MAINNET_TOKENS),
    "devnet": _profile(
        "devnet",
        "https://api.devnet.solana.com",
        "wss://api.devnet.solana.com",
        raydium.DEVNET,
        DEVNET_TOKENS,
    ),
    "mainnet-beta": _profile(
        "mainnet-beta",
        "https://api.mainnet-beta.solana.com",
        "wss://api.mainnet-beta.solana.com",
        raydium.MAINNET,
        MAINNET_TOKENS,
    ),
}


def pubsub_url(ws_url: str | None, rpc_url: str | None, profile: ClusterProfile) -> str | None:
    """Where the engine listens for launches (Solana PubSub), from the settings and profile.

    `OEE_WS_URL` when set; else the WebSocket twin of an explicit `OEE_RPC_URL` (the node
    the engine reads transactions and pools from is the one it should hear launches from);
    else the cluster's public endpoint; else None (the `sim` cluster in process, where the
    feed talks to the simulator's app directly).

    The twin is the same host, port and path with `ws`/`wss` for `http`/`https`: how `oee sim`
    (JSON-RPC and PubSub on one port, 8899) and hosted RPC providers serve both. A bare agave
    validator is the exception: its PubSub listens on the RPC port + 1 (8900), so point
    `OEE_WS_URL` at it.

    Raises:
        ValueError: The RPC URL is not http(s), so it has no WebSocket twin.
    """
    if ws_url:
        return ws_url
    if rpc_url:
        return websocket_twin(rpc_url)
    return profile.ws_url


def websocket_twin(rpc_url: str) -> str:
    """`http://host:port/path` as `ws://host:port/path` (`https` as `wss`).

    Raises:
        ValueError: `rpc_url` is not an http or https URL.
    """
    parts = urlsplit(rpc_url)
    schemes = {"http": "ws", "https": "wss"}
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"no WebSocket URL follows from {rpc_url!r}: set OEE_WS_URL")
    return urlunsplit(parts._replace(scheme=schemes[parts.scheme]))
