"""Where the engine listens for launches: `OEE_WS_URL`, else its RPC URL's WebSocket twin, else
the cluster's public endpoint; and the feed the composition root builds from that."""

from __future__ import annotations

from pathlib import Path

import pytest

from oee.bootstrap import build_launch_feed
from oee.clusters import PROFILES, pubsub_url, websocket_twin
from oee.settings import Settings

SIM, DEVNET = PROFILES["sim"], PROFILES["devnet"]


@pytest.mark.parametrize(
    ("rpc_url", "expected"),
    [
        ("http://sim:8899/", "ws://sim:8899/"),  # `oee sim`: JSON-RPC and PubSub on one port
        ("https://rpc.example.com/?api-key=k", "wss://rpc.example.com/?api-key=k"),
        ("HTTP://127.0.0.1:8899", "ws://127.0.0.1:8899"),
    ],
)
def test_the_twin_keeps_host_port_path_and_query(rpc_url: str, expected: str) -> None:
    assert websocket_twin(rpc_url) == expected


@pytest.mark.parametrize("rpc_url", ["ws://node:8900", "sim:8899", "http://", ""])
def test_a_url_without_a_twin_names_the_setting_to_set(rpc_url: str) -> None:
    with pytest.raises(ValueError, match="OEE_WS_URL"):
        websocket_twin(rpc_url)


def test_the_setting_wins_then_the_rpc_nodes_twin_then_the_clusters_endpoint() -> None:
    node = "wss://ws.example.com/"
    assert pubsub_url(node, "https://rpc.example.com/", DEVNET) == node
    assert pubsub_url(None, "https://rpc.example.com/", DEVNET) == "wss://rpc.example.com/"
    assert pubsub_url(None, None, DEVNET) == "wss://api.devnet.solana.com"
    assert pubsub_url(None, None, SIM) is None  # in process: no URL at all


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, wallet_airdrop_sol=2, wallet_min_sol=1, **values)  # type: ignore[arg-type]


def test_the_feed_is_built_on_the_clusters_programs(tmp_path: Path) -> None:
    feed = build_launch_feed(settings(tmp_path, cluster="devnet"), chain=None)  # type: ignore[arg-type]
    assert [(v.name, v.program_id) for v in feed.venues] == [
        ("raydium", DEVNET.raydium_program),
        ("meteora", DEVNET.meteora_program),
    ]


def test_a_feed_with_nowhere_to_listen_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="OEE_WS_URL"):
        build_launch_feed(settings(tmp_path), chain=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ws:// or wss://"):
        build_launch_feed(settings(tmp_path, ws_url="http://node:8900"), chain=None)  # type: ignore[arg-type]
