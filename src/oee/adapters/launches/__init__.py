"""The `LaunchFeed` port: pool launches heard on the chain's PubSub, as a sniper bot hears them.

1. **Subscribe**: one `logsSubscribe` per venue program (`{"mentions": [<program id>]}`, at
   `confirmed`) over one WebSocket (`oee.adapters.chain.pubsub`), a real socket to a node or
   `oee sim`, or in-process to the embedded simulator's app.
2. **Recognise** a launch from the notification's logs alone, with the venue's own parser
   (Raydium `initialize2`, DLMM `InitializeLbPair` and its variants, in a frame that
   succeeded): the stream of a busy program is mostly swaps, skipped without a request.
3. **Read** the new pool: logs carry no addresses, so `getTransaction(signature)` (retried a
   few times: a node may notify before it can serve the transaction) and the venue's helper
   reads the pool and both mints from the creating instruction.
4. **Catch up**: after each (re)subscription the caller is told, and `pools_of(mint)` finds what
   it missed with `getProgramAccounts` (a `memcmp` on each mint position of the venue's pool
   layout).

`venues` holds what differs per venue, `transactions` the `getTransaction` reading, `feed` the
loop (reconnecting with capped exponential backoff) and the catch-up.
"""
