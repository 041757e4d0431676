"""Every account of the simulated chain, in `solders.litesvm`, with an index by owner.

litesvm keeps the accounts and runs the System, SPL Token and ATA programs over them; this
store is the one way the simulator reads and writes them outside a transaction (pools written
by the venues' program models, airdrops, the price process), so it can keep an owner index:
`getProgramAccounts` then reads one program's accounts instead of scanning the chain. Accounts
a transaction touched are re-indexed after it (`reindex`), since litesvm may have created,
closed or re-owned them.
"""

from __future__ import annotations

from collections.abc import Iterable

from solders.account import Account
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

RENT_EPOCH = 2**64 - 1  # rent-exempt accounts report u64::MAX, as agave does since rent ended


class AccountStore:
    """The chain's accounts (litesvm) and an owner → addresses index kept in step with them."""

    def __init__(self) -> None:
        # The ledger checks signatures and blockhashes itself (on the bytes the wallet signed)
        # and refuses duplicates before the bank sees them; what runs here is its rewrite.
        svm = LiteSVM().with_sigverify(False).with_blockhash_check(False)
        self.svm = svm.with_transaction_history(0)
        self._by_owner: dict[Pubkey, set[Pubkey]] = {}
        self._owner_of: dict[Pubkey, Pubkey] = {}
        # Counts writes, so a snapshot can tell whether anything changed since the last one.
        self.writes = 0

    def get(self, address: Pubkey) -> Account | None:
        """The account at `address`, or None (litesvm reports closed accounts as absent)."""
        account = self.svm.get_account(address)
        if account is None or (account.lamports == 0 and not account.data):
            return None
        return account

    def put(self, address: Pubkey, owner: Pubkey, data: bytes, lamports: int | None = None) -> None:
        """Write an account; `lamports` defaults to the rent-exempt minimum for its size."""
        if lamports is None:
            lamports = self.rent(len(data))
        self.svm.set_account(address, Account(lamports, data, owner, False, RENT_EPOCH))
        self._index(address, owner)
        self.writes += 1

    def set(self, address: Pubkey, account: Account) -> None:
        """Write an account as given (lamports credited to a wallet keep its data and owner)."""
        self.svm.set_account(address, account)
        self._index(address, account.owner)
        self.writes += 1

    def rent(self, size: int) -> int:
        """The rent-exempt minimum balance of an account of `size` bytes."""
        return self.svm.minimum_balance_for_rent_exemption(size)

    def reindex(self, addresses: Iterable[Pubkey]) -> None:
        """Bring the owner index up to date for accounts a transaction may have changed."""
        self.writes += 1
        for address in addresses:
            account = self.get(address)
            if account is None:
                self._forget(address)
            else:
                self._index(address, account.owner)

    def addresses(self) -> list[Pubkey]:
        """Every address ever written through the store (closed ones included), sorted.

        Builtin programs and sysvars are litesvm's own and never written here: this is every
        account the simulated chain itself created, which is what a snapshot must keep.
        """
        return sorted(self._owner_of, key=bytes)

    def close(self, address: Pubkey) -> None:
        """Remove an account (zero lamports, no data: litesvm then reports it absent)."""
        self.svm.set_account(address, Account(0, b"", Pubkey.default()))
        self._forget(address)
        self.writes += 1

    def owned_by(self, owner: Pubkey) -> list[tuple[Pubkey, Account]]:
        """Every account `owner` owns, by address (sorted, so answers are stable)."""
        found = []
        for address in sorted(self._by_owner.get(owner, ()), key=bytes):
            account = self.get(address)
            if account is not None and account.owner == owner:
                found.append((address, account))
        return found

    def _index(self, address: Pubkey, owner: Pubkey) -> None:
        previous = self._owner_of.get(address)
        if previous == owner:
            return
        if previous is not None:
            self._by_owner.get(previous, set()).discard(address)
        self._owner_of[address] = owner
        self._by_owner.setdefault(owner, set()).add(address)

    def _forget(self, address: Pubkey) -> None:
        previous = self._owner_of.pop(address, None)
        if previous is not None:
            self._by_owner.get(previous, set()).discard(address)
