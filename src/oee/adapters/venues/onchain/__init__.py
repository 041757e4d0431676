"""Venues quoted from the chain: pool accounts read over JSON-RPC, priced with the venue's math.

As a production engine does it, without any venue's quote service:

1. **Find** a pair's pools with `getProgramAccounts` (`dataSize` and `memcmp` on the mint
   offsets, both mint orders; the filters come from `oee.venues.<venue>.discovery`). The pool
   list is cached `pool_ttl_s` (pools appear rarely); an empty answer only `miss_ttl_s`, so a
   freshly launched pool is found within seconds, and `forget_pools` drops a pair at once.
2. **Read** the pools' state with one `getMultipleAccounts` per quote (Raydium: the `AmmInfo`
   and its two vaults, plus the OpenBook market when building; Meteora: the `LbPair`, its
   reserves and the bin arrays the swap direction may walk). Reads are shared: concurrent
   quotes of the same pools wait for one request, and its answer serves `state_ttl_s` (about
   one slot), so the hot path reads each pool at most once a slot and never quotes older state.
3. **Quote** every pool with the venue's exact integer math and keep the best output.
4. **Build** the venue's real swap instruction from the chosen pool's state, as the neutral
   `SwapInstruction` record the signer assembles.

`reader` holds what both venues share (the account source, the caches); `venue` the flow
above; `raydium` and `meteora` only what differs.
"""
