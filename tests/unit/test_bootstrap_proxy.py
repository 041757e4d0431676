"""Behind a proxy the engine's RPC and quote calls go through httpx, which honours it: the
lean keep-alive client speaks to the origin only."""

from __future__ import annotations

import pytest

from oee.adapters.http1 import Http1Client
from oee.bootstrap import _chain_and_venues, _proxied
from oee.settings import Settings

RPC = "http://rpc.example:8899/"


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_no_proxy_configured_means_direct() -> None:
    assert _proxied(RPC, None, "https://quotes.example/q") == []


def test_a_proxy_for_the_scheme_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert _proxied(RPC, "https://quotes.example/q") == ["https://quotes.example/q"]
    monkeypatch.setenv("ALL_PROXY", "http://proxy.corp:3128")
    assert _proxied(RPC) == [RPC]


def test_no_proxy_exempts_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "rpc.example,localhost")
    assert _proxied(RPC, "http://other.example/") == ["http://other.example/"]


@pytest.mark.parametrize("proxy", [None, "http://proxy.corp:3128"])
async def test_the_chain_client_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, proxy: str | None
) -> None:
    if proxy is not None:
        monkeypatch.setenv("HTTP_PROXY", proxy)
    side = _chain_and_venues(Settings(rpc_url=RPC), "worker")
    try:
        assert isinstance(side.lean_http, Http1Client) is (proxy is None)
    finally:
        await side.http.aclose()
        if side.lean_http is not None:
            await side.lean_http.aclose()
