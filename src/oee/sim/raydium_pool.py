"""Raydium AMM v4 pools as the chain holds them, and the simulator's model of the program.

A pool is its real accounts in the bank: the 752-byte `AmmInfo` at the PDA of its OpenBook
market (`venues.raydium.discovery`), owned by the AMM program; the coin and pc vaults, SPL token
accounts owned by the program's authority PDA, holding the reserves; the LP mint; open orders
and target orders; and the market itself (`MarketState`, owned by OpenBook, with its bids,
asks, queues, vaults and vault signer). `initialize2` creates them (`process_initialize2`,
for genesis pools and launches alike); `RaydiumPool` reads them for quotes and writes them for
swaps and the price process. The swap is `SwapBaseIn`, checked and priced by the venue package.
"""

from __future__ import annotations

import decimal
import hashlib
from collections.abc import Callable
from decimal import Decimal

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.token.state import Mint

from oee.sim.bank import Bank
from oee.sim.pools import (
    InsufficientLiquidity,
    PoolQuote,
    pubkey,
    shortfall_bps,
    transfer_cpi_logs,
    user_mint,
)
from oee.sim.swap_calls import SwapCall, SwapFailure, SwapOutcome, SwapPlan
from oee.solana.spl import TOKEN_PROGRAM_ID, associated_token_address
from oee.venues.raydium import MAINNET, RAYDIUM_AMM_V4
from oee.venues.raydium.discovery import find_vault_signer_nonce, pool_addresses
from oee.venues.raydium.errors import AmmErrorCode, AmmProgramError, RaydiumError
from oee.venues.raydium.execution import amm_after_swap, execute_swap_base_in
from oee.venues.raydium.instructions import (
    Initialize2Accounts,
    Initialize2Data,
    SwapBaseInData,
    check_swap_accounts,
    decode_initialize2,
    decode_swap_base_in,
    initialize2,
)
from oee.venues.raydium.launches import PoolLaunch, failure, launch_pool, ray_log_line
from oee.venues.raydium.layout import (
    AMM_INFO,
    MARKET_HEAD,
    MARKET_STATE,
    MARKET_TAIL,
    AmmInfo,
    MarketState,
    encode_market_state,
)
from oee.venues.raydium.math import (
    SwapDirection,
    pool_reserves,
    quote_swap_base_in,
    swap_direction,
)

PROGRAM = RAYDIUM_AMM_V4
MARKET_PROGRAM = MAINNET.openbook_program
SWAP_UNITS = 40_000  # the model's figure for SwapBaseIn itself (mainnet: ~30-45k)
INITIALIZE2_UNITS = 104_585
# A cheap OpenBook market's account sizes (what pool-creation tools allocate), and the AMM's
# own open orders (OpenBook `OpenOrders`) and target orders.
_MARKET_ACCOUNTS = {"req_q": 764, "event_q": 11_308, "bids": 14_524, "asks": 14_524}
OPEN_ORDERS_SIZE, TARGET_ORDERS_SIZE = 3_228, 2_208
_WIDE = decimal.Context(prec=60)  # reserves reach ~1e16, so k ~1e32


def market_address(coin_mint: Pubkey, pc_mint: Pubkey) -> Pubkey:
    """The OpenBook market the simulator lists a pair on (one per pair, from the mints)."""
    return Pubkey(hashlib.sha256(b"oee-sim/openbook/" + bytes(coin_mint) + bytes(pc_mint)).digest())


def _market_part(market: Pubkey, name: str) -> Pubkey:
    return Pubkey(hashlib.sha256(b"oee-sim/openbook/" + bytes(market) + name.encode()).digest())


def initialize2_instruction(
    creator: Pubkey, coin_mint: Pubkey, pc_mint: Pubkey, coin: int, pc: int, open_time: int
) -> Instruction:
    """The `initialize2` that opens a pool on the pair's market, depositing `coin` and `pc`."""
    market = market_address(coin_mint, pc_mint)
    found = pool_addresses(market, PROGRAM)
    accounts = Initialize2Accounts.standard(
        amm=found.amm, amm_authority=found.authority, amm_open_orders=found.open_orders,
        amm_lp_mint=found.lp_mint, coin_mint=coin_mint, pc_mint=pc_mint,
        amm_coin_vault=found.coin_vault, amm_pc_vault=found.pc_vault,
        amm_target_orders=found.target_orders, amm_config=found.amm_config,
        create_fee_destination=MAINNET.create_pool_fee_address, market_program=MARKET_PROGRAM,
        market=market, user_wallet=creator,
        user_token_coin=associated_token_address(creator, coin_mint),
        user_token_pc=associated_token_address(creator, pc_mint),
        user_token_lp=associated_token_address(creator, found.lp_mint),
    )  # fmt: skip
    return initialize2(accounts, Initialize2Data(found.nonce, open_time, pc, coin), PROGRAM)


def process_initialize2(
    bank: Bank, data: bytes, keys: list[Pubkey], *, now: int, epoch: int
) -> PoolLaunch:
    """Run `initialize2` as the program does: check the derived accounts, create the pool's.

    The market is created with the pool when it does not exist yet (on chain an OpenBook
    transaction comes first). The deposits are credited to the vaults as the program's
    transfers from the creator would.

    Raises:
        RaydiumError: The program's failure (`AmmProgramError` with its code).
    """
    ix = decode_initialize2(data, keys)
    acc = ix.accounts
    expected = pool_addresses(acc.market, PROGRAM)
    derived = (expected.amm, expected.coin_vault, expected.pc_vault, expected.lp_mint)
    if derived != (acc.amm, acc.amm_coin_vault, acc.amm_pc_vault, acc.amm_lp_mint):
        raise AmmProgramError(AmmErrorCode.INVALID_PROGRAM_ADDRESS, "not the market's accounts")
    if acc.amm_authority != expected.authority or ix.data.nonce != expected.nonce:
        raise AmmProgramError(AmmErrorCode.INVALID_PROGRAM_ADDRESS, "wrong authority or nonce")
    if bank.store.get(acc.amm) is not None:
        raise AmmProgramError(AmmErrorCode.REPEAT_CREATE_AMM)
    coin_decimals, pc_decimals = bank.decimals(str(acc.coin_mint)), bank.decimals(str(acc.pc_mint))
    if coin_decimals is None or pc_decimals is None:
        raise AmmProgramError(AmmErrorCode.INVALID_COIN_MINT, "a mint does not exist")
    market = _ensure_market(bank, acc.market, acc.coin_mint, acc.pc_mint, coin_decimals)
    coin, pc = ix.data.init_coin_amount, ix.data.init_pc_amount
    launch = launch_pool(
        ix, coin_decimals=coin_decimals, pc_decimals=pc_decimals, coin_vault_amount=coin,
        pc_vault_amount=pc, market_coin_lot_size=market.coin_lot_size,
        market_pc_lot_size=market.pc_lot_size, now=now, epoch=epoch,
    )  # fmt: skip
    authority = expected.authority
    bank.put_token_account(acc.amm_coin_vault, acc.coin_mint, authority, coin)
    bank.put_token_account(acc.amm_pc_vault, acc.pc_mint, authority, pc)
    lp_mint = Mint(authority, launch.amm.lp_amount, coin_decimals, True, None)
    bank.store.put(acc.amm_lp_mint, TOKEN_PROGRAM_ID, bytes(lp_mint))
    bank.store.put(acc.amm_open_orders, MARKET_PROGRAM, _serum_account(OPEN_ORDERS_SIZE))
    bank.store.put(acc.amm_target_orders, PROGRAM, bytes(TARGET_ORDERS_SIZE))
    bank.store.put(acc.amm, PROGRAM, AMM_INFO.encode(launch.amm))
    return launch


def _ensure_market(
    bank: Bank, market: Pubkey, coin_mint: Pubkey, pc_mint: Pubkey, coin_decimals: int
) -> MarketState:
    """The market's state, creating its accounts (owned by OpenBook) when it is new."""
    existing = bank.store.get(market)
    if existing is not None:
        return MARKET_STATE.decode(bytes(existing.data))
    signer, nonce = find_vault_signer_nonce(market, MARKET_PROGRAM)
    parts = {name: _market_part(market, name) for name in (*_MARKET_ACCOUNTS, "coin", "pc")}
    state = MarketState(
        account_flags=3, own_address=market, vault_signer_nonce=nonce, coin_mint=coin_mint,
        pc_mint=pc_mint, coin_vault=parts["coin"], coin_deposits_total=0, coin_fees_accrued=0,
        pc_vault=parts["pc"], pc_deposits_total=0, pc_fees_accrued=0, pc_dust_threshold=0,
        req_q=parts["req_q"], event_q=parts["event_q"], bids=parts["bids"], asks=parts["asks"],
        coin_lot_size=max(1, 10**coin_decimals // 1_000), pc_lot_size=1, fee_rate_bps=0,
        referrer_rebates_accrued=0,
    )  # fmt: skip
    bank.store.put(market, MARKET_PROGRAM, encode_market_state(state))
    for name, size in _MARKET_ACCOUNTS.items():
        bank.store.put(parts[name], MARKET_PROGRAM, _serum_account(size))
    bank.put_token_account(parts["coin"], coin_mint, signer, 0)
    bank.put_token_account(parts["pc"], pc_mint, signer, 0)
    return state


def _serum_account(size: int) -> bytes:
    """An OpenBook account's bytes: the `serum` head and `padding` tail around zeroed state."""
    return MARKET_HEAD + bytes(size - len(MARKET_HEAD) - len(MARKET_TAIL)) + MARKET_TAIL


class RaydiumPool:
    """A view of one pool's accounts: every read decodes them, every change writes them.

    `mint_a` is the pool's coin, `mint_b` its pc; the reserves are the vaults' balances.
    """

    venue = "raydium"

    def __init__(self, bank: Bank, address: Pubkey, epoch: Callable[[], int]) -> None:
        self._bank, self._key, self._epoch = bank, address, epoch
        self._cached: tuple[bytes, AmmInfo] | None = None
        amm = self.amm()
        self.address = str(address)
        self.mint_a, self.mint_b = str(amm.coin_vault_mint), str(amm.pc_vault_mint)

    def amm(self) -> AmmInfo:
        """The pool account, decoded (once per distinct bytes)."""
        account = self._bank.store.get(self._key)
        if account is None:
            raise LookupError(f"no Raydium pool at {self._key}")
        data = bytes(account.data)
        if self._cached is None or self._cached[0] != data:
            self._cached = (data, AMM_INFO.decode(data))
        return self._cached[1]

    @property
    def fee_bps(self) -> int:
        """The swap fee in basis points (25)."""
        fees = self.amm().fees
        return fees.swap_fee_numerator * 10_000 // fees.swap_fee_denominator

    def reserves(self) -> tuple[int, int]:
        """The coin and pc vaults' balances."""
        amm = self.amm()
        return self._bank.token_amount(amm.coin_vault), self._bank.token_amount(amm.pc_vault)

    def spot_price(self) -> Decimal:
        """pc base units per coin base unit: the reserve ratio."""
        coin, pc = self.reserves()
        return Decimal(pc) / Decimal(coin)

    def quote(self, mint_in: str, amount_in: int) -> PoolQuote:
        """The venue's `SwapBaseIn` price on the accounts as they are."""
        if amount_in <= 0:
            raise ValueError("amount_in must be positive")
        amm = self.amm()
        direction = self._direction(pubkey(mint_in))
        reserves = pool_reserves(amm, *self.reserves())
        quote = quote_swap_base_in(amm.fees, reserves, direction, amount_in)
        if quote.amount_out >= quote.reserve_out:
            raise InsufficientLiquidity("the swap would drain the pool")
        spot = Decimal(quote.reserve_out) / Decimal(quote.reserve_in)
        impact = shortfall_bps(amount_in - quote.fee, quote.amount_out, spot)
        return PoolQuote(quote.amount_out, quote.fee, impact)

    def swap(self, mint_in: str, amount_in: int) -> PoolQuote:
        """Swap straight on the accounts: the vaults take the input and pay the output."""
        result = self.quote(mint_in, amount_in)
        amm = self.amm()
        vault_in, vault_out = self._vaults(self._direction(pubkey(mint_in)) is _COIN2PC)
        outcome = execute_swap_base_in(
            amm, pool_reserves(amm, *self.reserves()), self._direction(pubkey(mint_in)),
            SwapBaseInData(amount_in, 0), user_source_amount=amount_in, now=2**62,
        )  # fmt: skip
        bank = self._bank
        bank.set_token_amount(vault_in, bank.token_amount(vault_in) + amount_in)
        bank.set_token_amount(vault_out, bank.token_amount(vault_out) - result.amount_out)
        self._write(amm_after_swap(amm, outcome, epoch=self._epoch()))
        return result

    def drift_toward(self, price: Decimal, weight: Decimal) -> None:
        """Slide along the curve (k kept) to a price `weight` of the way to `price`, by setting
        the vaults (arbitrageurs' trades, netted). The step is geometric in log price, so a
        pool far from target and one close to it converge at the same relative speed."""
        if weight <= 0:
            return
        coin, pc = self.reserves()
        with decimal.localcontext(_WIDE):
            current = Decimal(pc) / Decimal(coin)
            new_price = current * (price / current) ** min(weight, Decimal(1))
            k = Decimal(coin) * Decimal(pc)
            new_coin = int((k / new_price).sqrt())
            new_pc = int(k / new_coin) if new_coin > 0 else 0
        if new_coin > 0 and new_pc > 0:  # a degenerate target must never empty a pool
            amm = self.amm()
            self._bank.set_token_amount(amm.coin_vault, new_coin)
            self._bank.set_token_amount(amm.pc_vault, new_pc)

    def plan(self, call: SwapCall, now: int) -> SwapOutcome:
        """Check and price a `SwapBaseIn` as the program would."""
        amm = self.amm()
        try:
            wallet, source, destination, data, direction = self._read(call, amm)
            reserves = pool_reserves(amm, *self.reserves())
        except AmmProgramError as error:
            return _failure(error.code, str(error))
        except RaydiumError as error:  # the instruction's bytes do not decode
            return SwapFailure("INVALID_ACCOUNT", "InvalidInstructionData", str(error), (), 0)
        # The program logs the user's balance; the wallet's input may only be funded by an
        # earlier instruction of the same transaction (wSOL), so the token program, running
        # the transfer, is what refuses a short balance.
        held = max(self._bank.token_amount(source), data.amount_in)
        outcome = execute_swap_base_in(
            amm, reserves, direction, data, user_source_amount=held, now=now
        )
        ray_log = [ray_log_line(outcome.ray_log)] if outcome.ray_log else []
        if outcome.error is not None:
            paid = outcome.quote.amount_out if outcome.quote else 0
            why = f"the swap pays {paid}, below the minimum {data.minimum_amount_out}"
            return _failure(outcome.error, why, ray_log)
        assert outcome.quote is not None  # a successful swap was priced
        new_amm = amm_after_swap(amm, outcome, epoch=self._epoch())
        vault_in, vault_out = self._vaults(direction is _COIN2PC)
        mint_in, mint_out = (
            (amm.coin_vault_mint, amm.pc_vault_mint)
            if direction is _COIN2PC
            else (amm.pc_vault_mint, amm.coin_vault_mint)
        )
        return SwapPlan(
            wallet, source, destination, vault_in, vault_out, mint_in, mint_out,
            data.amount_in, outcome.quote.amount_out, (*ray_log, *transfer_cpi_logs()),
            SWAP_UNITS, lambda: self._write(new_amm),
        )  # fmt: skip

    def _read(
        self, call: SwapCall, amm: AmmInfo
    ) -> tuple[Pubkey, Pubkey, Pubkey, SwapBaseInData, SwapDirection]:
        """The swap's wallet, token accounts, amounts and direction, checked as the program does.

        Raises:
            AmmProgramError: The program's error for the first failed check.
            RaydiumError: The instruction's data does not decode.
        """
        ix = decode_swap_base_in(call.data, call.keys)
        accounts = ix.accounts
        check_swap_accounts(accounts, amm, PROGRAM)
        if accounts.user_owner not in call.signers:
            raise AmmProgramError(AmmErrorCode.INVALID_SIGN_ACCOUNT)
        wallet = accounts.user_owner
        mints = (
            self._mint_of(accounts.user_source, wallet, amm),
            self._mint_of(accounts.user_destination, wallet, amm),
        )
        direction = swap_direction(amm, *mints)
        return wallet, accounts.user_source, accounts.user_destination, ix.data, direction

    def _mint_of(self, account: Pubkey, wallet: Pubkey, amm: AmmInfo) -> Pubkey:
        mint = user_mint(self._bank, account, wallet, (amm.coin_vault_mint, amm.pc_vault_mint))
        if mint is None:
            raise AmmProgramError(AmmErrorCode.INVALID_USER_TOKEN, f"{account} is no token account")
        return mint

    def _direction(self, mint_in: Pubkey) -> SwapDirection:
        amm = self.amm()
        if mint_in == amm.coin_vault_mint:
            return _COIN2PC
        if mint_in == amm.pc_vault_mint:
            return SwapDirection.PC2COIN
        raise ValueError(f"pool {self.address} does not hold mint {mint_in}")

    def _vaults(self, coin_in: bool) -> tuple[Pubkey, Pubkey]:
        amm = self.amm()
        return (amm.coin_vault, amm.pc_vault) if coin_in else (amm.pc_vault, amm.coin_vault)

    def _write(self, amm: AmmInfo) -> None:
        self._bank.store.put(self._key, PROGRAM, AMM_INFO.encode(amm))


_COIN2PC = SwapDirection.COIN2PC
_LEDGER_CODES = {
    AmmErrorCode.EXCEEDED_SLIPPAGE: "SLIPPAGE_EXCEEDED",
    AmmErrorCode.INSUFFICIENT_FUNDS: "INSUFFICIENT_LIQUIDITY",
}


def _failure(code: AmmErrorCode, why: str, before: list[str] | None = None) -> SwapFailure:
    """The program failing with `code`: its log line, and the node's words for it."""
    line, _ = failure(code)
    name = "ExceededSlippage" if code is AmmErrorCode.EXCEEDED_SLIPPAGE else code.name.title()
    message = f"custom program error: {code.value:#x} ({name.replace('_', '')}): {why}"
    ledger_code = _LEDGER_CODES.get(code, "INVALID_ACCOUNT")
    return SwapFailure(
        ledger_code, {"Custom": code.value}, message, (*(before or []), line), SWAP_UNITS // 2
    )
