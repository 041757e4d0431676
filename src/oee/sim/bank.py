"""Accounts and money on the simulated chain, kept by `solders.litesvm`.

litesvm runs the real System, SPL Token and Associated Token Account programs, so lamports,
rent, token accounts, wSOL wrapping and fees behave as on Solana. The venues' programs are not
BPF programs here: the ledger runs a swap with the venue's own math against the pool's
accounts, and the bank executes the transaction with the swap instruction replaced by the two
token transfers it amounts to — the wallet's input to the pool's vault, the pool's vault to
the wallet's output account (a venue whose real binary is loaded is not modelled:
`oee.sim.native` runs its transactions as signed). The vaults are the pool's real token
accounts (owned by the pool's authority); for the one transaction the wallet is the output
vault's delegate for exactly the output, so one atomic transaction succeeds or fails as a
whole, and the wallet signs alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.token.state import Mint, TokenAccount, TokenAccountState
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from oee.sim.accounts import AccountStore
from oee.sim.tx_errors import error_json
from oee.solana.spl import (
    TOKEN_PROGRAM_ID,
    WSOL_MINT,
    associated_token_address,
    transfer_tokens,
)

Json = Any
TOKEN_ACCOUNT_SIZE = 165
U64_MAX = 2**64 - 1
MINT_SIZE = 82


@dataclass(frozen=True, slots=True)
class TokenBalance:
    """A token account's balance, by its index among a transaction's account keys."""

    account_index: int
    mint: str
    owner: str
    amount: int


@dataclass(frozen=True, slots=True)
class Balances:
    """Every account's lamports and every token account's balance, in account-key order."""

    lamports: tuple[int, ...]
    tokens: tuple[TokenBalance, ...]


@dataclass(frozen=True, slots=True)
class SwapLegs:
    """What the swap instruction amounts to: `amount_in` into the pool, `amount_out` out of it."""

    index: int  # the swap instruction's position in the transaction
    wallet: Pubkey
    source: Pubkey  # the wallet's token account paying `amount_in`
    destination: Pubkey  # the wallet's token account receiving `amount_out`
    vault_in: Pubkey  # the pool's token account receiving `amount_in`
    vault_out: Pubkey  # the pool's token account paying `amount_out`
    mint_in: Pubkey
    mint_out: Pubkey
    amount_in: int
    amount_out: int


@dataclass(frozen=True, slots=True)
class Execution:
    """The outcome of running a transaction: `err` is its `TransactionError` JSON (None: ok)."""

    err: Json
    fee: int
    logs: tuple[str, ...]
    units: int
    pre: Balances
    post: Balances


class Bank:
    """Lamports and SPL token accounts, changed only by transactions (and airdrops)."""

    def __init__(self, decimals_of: Callable[[str], int | None]) -> None:
        """Create an empty chain that knows the programs a swap uses.

        Args:
            decimals_of: A mint's decimals, or None for a mint nobody knows; mints are
                created on first use.
        """
        self.store = AccountStore()
        self._svm = self.store.svm
        self._decimals_of = decimals_of
        self._mints: set[Pubkey] = set()
        self._token_rent = self._svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_SIZE)
        self._holdings: dict[Pubkey, set[Pubkey]] = {}  # owner -> mints of accounts it may hold
        # Real programs loaded into litesvm (`oee.sim.programs`): their instructions run as is.
        self.programs: frozenset[Pubkey] = frozenset()

    def lamports(self, owner: str) -> int:
        """The lamports at an address (0 for an account that does not exist)."""
        return self._svm.get_balance(Pubkey.from_string(owner)) or 0

    def airdrop(self, owner: str, mint: str, amount: int) -> int:
        """Credit `amount` to `owner`: lamports for SOL, else tokens in its associated account.

        Returns:
            The new balance (lamports, or the token account's amount).

        Raises:
            ValueError: The balance would pass the u64 limit.
        """
        wallet, token = Pubkey.from_string(owner), Pubkey.from_string(mint)
        if token in (WSOL_MINT, SYSTEM_PROGRAM_ID):
            current = self._svm.get_account(wallet)
            lamports = _u64((current.lamports if current else 0) + amount)
            if current is None:
                self.store.set(wallet, Account(lamports, b"", SYSTEM_PROGRAM_ID))
            else:  # credit lamports only: the account's data and owner stay what they are
                self.store.set(
                    wallet,
                    Account(
                        lamports, current.data, current.owner, current.executable,
                        current.rent_epoch,
                    ),
                )  # fmt: skip
            return lamports
        self.ensure_mint(token)
        address = associated_token_address(wallet, token)
        existing = self._token_account(address)
        if existing is None:
            self.put_token_account(address, token, wallet, _u64(amount))
            self._holdings.setdefault(wallet, set()).add(token)
            return amount
        balance = _u64(existing.amount + amount)  # delegate, state and the rest stay
        state = TokenAccount(
            existing.mint, existing.owner, balance, existing.delegate, existing.state,
            existing.is_native, existing.delegated_amount, existing.close_authority,
        )  # fmt: skip
        account = self._svm.get_account(address)
        assert account is not None  # it is a token account: it exists
        lamports = account.lamports + (amount if existing.is_native is not None else 0)
        self.store.put(address, TOKEN_PROGRAM_ID, bytes(state), _u64(lamports))
        return balance

    def note_holdings(self, addresses: list[Pubkey]) -> None:
        """Remember the owners and mints of whichever of `addresses` are token accounts, for
        accounts written outside this bank's own methods (a real program, a restore)."""
        for address in addresses:
            state = self._token_account(address)
            if state is not None:
                self._holdings.setdefault(state.owner, set()).add(state.mint)

    def decimals(self, mint: str) -> int | None:
        """A mint's decimals as its account on chain says, or None when there is no such mint."""
        account = self._svm.get_account(Pubkey.from_string(mint))
        if account is None or account.owner != TOKEN_PROGRAM_ID or len(account.data) != MINT_SIZE:
            return None
        return Mint.from_bytes(bytes(account.data)).decimals

    def token_accounts(self, owner: str) -> list[tuple[str, str, int]]:
        """The owner's token accounts that exist: (address, mint, amount)."""
        wallet = Pubkey.from_string(owner)
        found = []
        for mint in sorted(self._holdings.get(wallet, ()), key=str):
            address = associated_token_address(wallet, mint)
            account = self._token_account(address)
            if account is not None:
                found.append((str(address), str(mint), account.amount))
        return found

    def token_account(self, address: str) -> tuple[str, str, int] | None:
        """A token account's (owner, mint, amount), or None when there is none at `address`."""
        account = self._token_account(Pubkey.from_string(address))
        return None if account is None else (str(account.owner), str(account.mint), account.amount)

    def execute(self, tx: Transaction, legs: SwapLegs) -> Execution:
        """Run `tx` with its swap instruction executed as `legs`; all of it, or none but the fee."""
        keys = tx.message.account_keys
        rewritten = self._prepare(tx, legs)
        pre = self.balances_of(keys)
        with self._delegated(legs):
            result = self._svm.send_transaction(rewritten)
        self.store.reindex([*keys, legs.vault_in, legs.vault_out])
        post = self.balances_of(keys)
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            err = error_json(result.err(), legs.index)
        else:
            meta, err = result, None
        logs, units = tuple(meta.logs()), meta.compute_units_consumed()
        return Execution(err, meta.fee(), logs, units, pre, post)

    def simulate(self, tx: Transaction, legs: SwapLegs) -> Execution:
        """What `execute` would do, changing no balances (pre and post are today's)."""
        rewritten = self._prepare(tx, legs)
        now = self.balances_of(tx.message.account_keys)
        with self._delegated(legs):
            result = self._svm.simulate_transaction(rewritten)
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            err = error_json(result.err(), legs.index)
        else:
            meta, err = result.meta(), None
        logs, units = tuple(meta.logs()), meta.compute_units_consumed()
        return Execution(err, meta.fee(), logs, units, now, now)

    def _prepare(self, tx: Transaction, legs: SwapLegs) -> Transaction:
        """The transaction with its swap instruction rewritten as its two transfers."""
        for mint in (legs.mint_in, legs.mint_out):
            self.ensure_mint(mint)
        self._holdings.setdefault(legs.wallet, set()).update((legs.mint_in, legs.mint_out))
        swap = [
            transfer_tokens(legs.source, legs.vault_in, legs.wallet, legs.amount_in),
            transfer_tokens(legs.vault_out, legs.destination, legs.wallet, legs.amount_out),
        ]
        instructions = [_instruction(tx, i) for i in range(len(tx.message.instructions))]
        instructions[legs.index : legs.index + 1] = swap
        message = Message.new_with_blockhash(
            instructions, tx.message.account_keys[0], tx.message.recent_blockhash
        )
        # Sigverify is off: the wallet's signature names the transaction, and any other signer
        # (the ledger verified them all on the original) gets a placeholder.
        others = [Signature.default()] * (message.header.num_required_signatures - 1)
        return Transaction.populate(message, [tx.signatures[0], *others])

    @contextmanager
    def _delegated(self, legs: SwapLegs) -> Iterator[None]:
        """The wallet may move exactly `amount_out` out of the vault, for one transaction only.

        The pool's program would sign with its authority; the wallet signing as the vault's
        delegate keeps the transaction's one signature. Whatever happens, the vault's delegate
        is cleared again (a transfer that ran clears it itself; a failed one must not leave it).
        """
        vault = self._token_account(legs.vault_out)
        if vault is None:
            raise ValueError(f"the pool's vault {legs.vault_out} does not exist")
        self._put_state(legs.vault_out, _with_delegate(vault, legs.wallet, legs.amount_out))
        try:
            yield
        finally:
            after = self._token_account(legs.vault_out)
            if after is not None and after.delegate is not None:
                self._put_state(legs.vault_out, _with_delegate(after, None, 0))

    def charge_fee(self, tx: Transaction, fee: int) -> Execution:
        """Take only the fee from the payer: a transaction that failed before touching accounts."""
        keys = tx.message.account_keys
        pre = self.balances_of(keys)
        payer = self._svm.get_account(keys[0])
        if payer is not None:
            charged = min(fee, payer.lamports)
            self.store.set(keys[0], Account(payer.lamports - charged, payer.data, payer.owner))
        return Execution(None, fee, (), 0, pre, self.balances_of(keys))

    def balances_of(self, keys: list[Pubkey]) -> Balances:
        """Lamports of every key, and the balances of those that are token accounts."""
        lamports, tokens = [], []
        for index, key in enumerate(keys):
            account = self._svm.get_account(key)
            lamports.append(account.lamports if account else 0)
            if account is not None and _is_token_account(account):
                state = TokenAccount.from_bytes(bytes(account.data))
                tokens.append(TokenBalance(index, str(state.mint), str(state.owner), state.amount))
        return Balances(tuple(lamports), tuple(tokens))

    def ensure_mint(self, mint: Pubkey, decimals: int | None = None) -> None:
        """Create the mint's account on first use (decimals from the argument or the world)."""
        if mint in self._mints:
            return
        if self._svm.get_account(mint) is None:
            if decimals is None:
                decimals = self._decimals_of(str(mint))
            state = Mint(None, 0, 9 if decimals is None else decimals, True, None)
            self.store.put(mint, TOKEN_PROGRAM_ID, bytes(state))
        self._mints.add(mint)

    def token_amount(self, address: Pubkey) -> int:
        """A token account's balance (0 when there is none)."""
        account = self._token_account(address)
        return 0 if account is None else account.amount

    def set_token_amount(self, address: Pubkey, amount: int) -> None:
        """Set an existing token account's balance: value entering or leaving the simulated
        market from outside (arbitrageurs, liquidity providers), not a transfer.

        Raises:
            ValueError: There is no token account at `address`, or the amount is not a u64.
        """
        state = self._token_account(address)
        if state is None:
            raise ValueError(f"no token account at {address}")
        self.put_token_account(address, state.mint, state.owner, _u64(amount))

    def _token_account(self, address: Pubkey) -> TokenAccount | None:
        account = self._svm.get_account(address)
        if account is None or not _is_token_account(account):
            return None
        return TokenAccount.from_bytes(bytes(account.data))

    def put_token_account(
        self,
        address: Pubkey,
        mint: Pubkey,
        owner: Pubkey,
        amount: int,
        *,
        delegate: Pubkey | None = None,
        delegated: int = 0,
    ) -> None:
        """Write a token account holding `amount` (rent-exempt; wSOL holds the lamports too)."""
        native = mint == WSOL_MINT
        state = TokenAccount(
            mint, owner, amount, delegate, TokenAccountState.Initialized,
            self._token_rent if native else None, delegated, None,
        )  # fmt: skip
        lamports = self._token_rent + (amount if native else 0)
        self.store.put(address, TOKEN_PROGRAM_ID, bytes(state), lamports)

    def _put_state(self, address: Pubkey, state: TokenAccount) -> None:
        account = self._svm.get_account(address)
        assert account is not None  # only called for token accounts that exist
        self.store.put(address, TOKEN_PROGRAM_ID, bytes(state), account.lamports)


def _with_delegate(state: TokenAccount, delegate: Pubkey | None, amount: int) -> TokenAccount:
    return TokenAccount(
        state.mint, state.owner, state.amount, delegate, state.state, state.is_native, amount,
        state.close_authority,
    )  # fmt: skip


def _is_token_account(account: Account) -> bool:
    return account.owner == TOKEN_PROGRAM_ID and len(account.data) == TOKEN_ACCOUNT_SIZE


def _instruction(tx: Transaction, index: int) -> Instruction:
    """Instruction `index` of `tx` with its account keys and flags resolved again."""
    message = tx.message
    compiled = message.instructions[index]
    keys, header = message.account_keys, message.header
    signed, unsigned = (
        header.num_required_signatures,
        len(keys) - header.num_readonly_unsigned_accounts,
    )

    def writable(i: int) -> bool:  # the legacy message header's layout of key permissions
        if i < signed:
            return i < signed - header.num_readonly_signed_accounts
        return i < unsigned

    metas = [AccountMeta(keys[i], message.is_signer(i), writable(i)) for i in compiled.accounts]
    return Instruction(keys[compiled.program_id_index], bytes(compiled.data), metas)


def _u64(value: int) -> int:
    if value > U64_MAX:
        raise ValueError(f"a balance may not pass 2^64-1 base units, this would be {value}")
    return value
