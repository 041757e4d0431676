"""Example orders and timelines shown in the OpenAPI document, the docs and Postman.

Each one is a real answer's shape (unit tests validate them against the models in
`oee.api.openapi` and feed them to the CLI's views), kept apart from the models so both stay
readable.
"""

from __future__ import annotations

from oee.domain.events import JSON

_EXAMPLE_ID = "0b6a3a52-3c1e-4c55-9d0e-6f1f3f1d2a10"
_SIG = "5VfYtq3JbQ8nR2wXk1mZ9pLhT4cD7eA6sB3uN8oG2rF1yW5vK9jH3xC6bM4nQ7tP2sL8dE1fA9gR6hU3kJ5wZ"
EXAMPLE_ORDER: dict[str, JSON] = {
    "orderId": _EXAMPLE_ID,
    "type": "market",
    "status": "confirmed",
    "tokenIn": {
        "symbol": "SOL",
        "mint": "So11111111111111111111111111111111111111112",
        "decimals": 9,
    },
    "tokenOut": {
        "symbol": "USDC",
        "mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        "decimals": 6,
    },
    "amountIn": 1.5,
    "amountInBaseUnits": "1500000000",
    "slippageBps": 50,
    "seq": 5,
    "attempt": 1,
    "createdAt": "2025-01-01T12:00:00.000000+00:00",
    "updatedAt": "2025-01-01T12:00:02.700000+00:00",
    "quotes": [
        {
            "venue": "raydium",
            "amountOut": 224.1,
            "amountOutBaseUnits": "224100000",
            "price": 149.4,
            "priceImpactBps": 2.1,
            "fee": 0.00375,
            "feeBaseUnits": "3750000",
            "feeBps": 25,
            "pool": "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
        },
        {
            "venue": "meteora",
            "amountOut": 225.3,
            "amountOutBaseUnits": "225300000",
            "price": 150.2,
            "priceImpactBps": 1.4,
            "fee": 0.003,
            "feeBaseUnits": "3000000",
            "feeBps": 20,
            "pool": "5rCf1DM8LjKTw4YqhnoLcngyZYeNnQqztScTogYHAS6",
        },
    ],
    "routing": {
        "chosenDex": "meteora",
        "marginBps": 53.55,
        "minAmountOut": 224.1735,
        "minAmountOutBaseUnits": "224173500",
    },
    "transaction": {
        "txHash": _SIG,
        "venue": "meteora",
        "lastValidBlockHeight": 1150,
        "computeUnitPrice": 1000,
        "computeUnitLimit": 84000,
        "minAmountOut": 224.1735,
        "minAmountOutBaseUnits": "224173500",
    },
    "result": {
        "txHash": _SIG,
        "executedPrice": 150.18,
        "amountOut": 225.27,
        "amountOutBaseUnits": "225270000",
        "chosenDex": "meteora",
        "feeLamports": 5000,
    },
    "error": None,
    "reason": None,
    "attempts": [
        {
            "attempt": 1,
            "outcome": "confirmed",
            "venue": "meteora",
            "txHash": _SIG,
            "error": None,
            "reason": None,
            "feeLamports": 7000,
            "at": "2025-01-01T12:00:02.700000+00:00",
        }
    ],
    "txHash": _SIG,
    "executedPrice": 150.18,
    "chosenDex": "meteora",
    "trigger": None,
    "triggeredBy": None,
    "maxPriceImpactBps": None,
}
_NO_ROUTE_YET: dict[str, JSON] = {
    "quotes": [],
    "routing": None,
    "transaction": None,
    "result": None,
    "error": None,
    "reason": None,
    "attempts": [],
    "txHash": None,
    "executedPrice": None,
    "chosenDex": None,
}
_LIMIT_ID = "3f9d2c71-8a4b-4c2e-9b1d-7e6f5a4c3b21"
EXAMPLE_LIMIT_ORDER: dict[str, JSON] = {
    **EXAMPLE_ORDER,
    **_NO_ROUTE_YET,
    "orderId": _LIMIT_ID,
    "type": "limit",
    "status": "watching",
    "amountIn": 2,
    "amountInBaseUnits": "2000000000",
    "seq": 2,
    "createdAt": "2025-01-01T12:00:00.000000+00:00",
    "updatedAt": "2025-01-01T12:00:00.004000+00:00",
    "trigger": {
        "kind": "price",
        "expiresAt": "2025-01-01T18:00:00+00:00",
        "limitPrice": "160",
    },
    "triggeredBy": None,
    "maxPriceImpactBps": None,
}
EXAMPLE_CANCELLED_ORDER: dict[str, JSON] = {
    **EXAMPLE_LIMIT_ORDER,
    "status": "cancelled",
    "seq": 3,
    "updatedAt": "2025-01-01T12:05:00.000000+00:00",
    "reason": "cancelled by the client",
}
EXAMPLE_SNIPER_MINT = "8PTqJt1kC3yt8Sa6ukoVEX14QRX15QGjEmHJ79QyPGVy"
_LAUNCH_SIG = (
    "3UbxpM9hHvCLSQKQ6ugb3qLrsdFpQAi5RE1PmQMmYxqY2zEp4YdPsybcXxY3a5WHQGEPbfLEqk4WazPAoQznuGQK"
)
EXAMPLE_SNIPER_ORDER: dict[str, JSON] = {
    **EXAMPLE_ORDER,
    "orderId": "9a1e5b3c-6d7f-4a8b-8c2d-1e0f9a8b7c6d",
    "type": "sniper",
    "tokenOut": {"symbol": EXAMPLE_SNIPER_MINT, "mint": EXAMPLE_SNIPER_MINT, "decimals": 6},
    "amountIn": 0.5,
    "amountInBaseUnits": "500000000",
    "slippageBps": 300,
    "seq": 7,
    "quotes": [
        {
            "venue": "raydium",
            "amountOut": 74906.9,
            "amountOutBaseUnits": "74906900000",
            "price": 149813.8,
            "priceImpactBps": 29.9,
            "fee": 0.00125,
            "feeBaseUnits": "1250000",
            "feeBps": 25,
            "pool": "HKnr8f2fxa5SovwvxaBS8qEDmraUPdjZsmoCsjdgwCb8",
        }
    ],
    "routing": {
        "chosenDex": "raydium",
        "marginBps": 0,
        "minAmountOut": 72659.693,
        "minAmountOutBaseUnits": "72659693000",
    },
    "transaction": {
        "txHash": _SIG,
        "venue": "raydium",
        "lastValidBlockHeight": 1150,
        "computeUnitPrice": 1000,
        "computeUnitLimit": 84000,
        "minAmountOut": 72659.693,
        "minAmountOutBaseUnits": "72659693000",
    },
    "result": {
        "txHash": _SIG,
        "executedPrice": 149806.4,
        "amountOut": 74903.2,
        "amountOutBaseUnits": "74903200000",
        "chosenDex": "raydium",
        "feeLamports": 5000,
    },
    "attempts": [
        {
            "attempt": 1,
            "outcome": "confirmed",
            "venue": "raydium",
            "txHash": _SIG,
            "error": None,
            "reason": None,
            "feeLamports": 7000,
            "at": "2025-01-01T12:03:12.400000+00:00",
        }
    ],
    "executedPrice": 149806.4,
    "chosenDex": "raydium",
    "trigger": {
        "kind": "launch",
        "expiresAt": "2025-01-02T12:00:00+00:00",
        "venues": ["raydium"],
    },
    "triggeredBy": {
        "at": "2025-01-01T12:03:10.100000+00:00",
        "venue": "raydium",
        "pool": "HKnr8f2fxa5SovwvxaBS8qEDmraUPdjZsmoCsjdgwCb8",
        "signature": _LAUNCH_SIG,
        "slot": 1001000,
        "decimals": 6,
    },
    "maxPriceImpactBps": 800,
}


_T0 = "2025-01-01T12:00:0"
EXAMPLE_TIMELINE: dict[str, JSON] = {
    "orderId": _EXAMPLE_ID,
    "status": "confirmed",
    "events": [
        {
            "type": "pending",
            "orderId": _EXAMPLE_ID,
            "seq": 1,
            "at": f"{_T0}0.000000+00:00",
            "attempt": 1,
            "orderType": "market",
            "tokenIn": "SOL",
            "tokenOut": "USDC",
            "amountIn": 1.5,
            "slippageBps": 50,
        },
        {
            "type": "routing",
            "orderId": _EXAMPLE_ID,
            "seq": 2,
            "at": f"{_T0}0.004000+00:00",
            "attempt": 1,
        },
        {
            "type": "building",
            "orderId": _EXAMPLE_ID,
            "seq": 3,
            "at": f"{_T0}0.210000+00:00",
            "attempt": 1,
            "chosenDex": "meteora",
            "marginBps": 53.55,
            "quotes": {"raydium": 224.1, "meteora": 225.3},
        },
        {
            "type": "submitted",
            "orderId": _EXAMPLE_ID,
            "seq": 4,
            "at": f"{_T0}0.260000+00:00",
            "attempt": 1,
            "txHash": _SIG,
            "chosenDex": "meteora",
            "lastValidBlockHeight": 1150,
        },
        {
            "type": "confirmed",
            "orderId": _EXAMPLE_ID,
            "seq": 5,
            "at": f"{_T0}2.700000+00:00",
            "attempt": 1,
            "txHash": _SIG,
            "executedPrice": 150.18,
            "chosenDex": "meteora",
            "amountOut": 225.27,
            "amountOutBaseUnits": "225270000",
        },
    ],
}
