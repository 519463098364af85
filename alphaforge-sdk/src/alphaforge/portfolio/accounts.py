"""Accounts: balances per currency (total, locked, free), exact.

:class:`CashAccount`
    Spot trading without leverage. A fill of a spot pair (:class:`~alphaforge.model.
    CurrencyPair`) moves both legs: BUY ``q @ p`` adds ``q`` base and subtracts the notional
    (rounded half-even to the quote precision, per fill) from the quote balance; SELL does the
    opposite. Open orders lock what they may spend (quote notional for buys, base quantity for
    sells).
:class:`MarginAccount`
    Derivatives (and spot with leverage). A fill changes the settlement balance by its realized
    PnL; open orders lock their *initial* margin (``notional * instrument.margin_init``) and
    open positions their *maintenance* margin (``|cost basis| * instrument.margin_maint``).

Commissions are always debited from the commission's currency. ``free = total - locked`` (it
may go negative after losses or fee debits; the risk engine then denies new exposure).

Balances are raw ints at each currency's precision; every mutation validates first and only
then changes state.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Mapping

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.model.identifiers import AccountId
from alphaforge.model.values import Currency, Money

__all__ = [
    "Account",
    "AccountBalance",
    "AccountState",
    "AccountType",
    "CashAccount",
    "MarginAccount",
    "MarginBalance",
]


class AccountType(enum.Enum):
    """Kind of account."""

    CASH = "CASH"
    MARGIN = "MARGIN"


@attrs.frozen(slots=True)
class AccountBalance:
    """One currency's balance.

    Raises
    ------
    InvalidValue
        Mixed currencies or ``free != total - locked``.
    """

    total: Money
    locked: Money
    free: Money

    def __attrs_post_init__(self) -> None:
        ccy = self.total.currency
        if self.locked.currency != ccy or self.free.currency != ccy:
            raise InvalidValue("currency", str(self.locked), f"balance must be all {ccy.code}")
        if self.total.raw - self.locked.raw != self.free.raw:
            raise InvalidValue(
                "free", str(self.free), f"must equal total {self.total} - locked {self.locked}"
            )

    @property
    def currency(self) -> Currency:
        """The balance's currency."""
        return self.total.currency


@attrs.frozen(slots=True)
class MarginBalance:
    """Margin held for one instrument."""

    initial: Money
    maintenance: Money


@attrs.frozen(kw_only=True, slots=True)
class AccountState:
    """A balance snapshot reported by a venue (live clients); replaces the account's totals.

    Parameters
    ----------
    account_id, account_type
        The account; ``account_type`` is used when the portfolio creates it.
    balances
        One :class:`AccountBalance` per currency. ``total`` replaces the tracked total; the
        locked amounts stay those computed from open orders and positions.
    base_currency
        For single-currency accounts.
    ts_event, ts_init, event_id
        Timestamps (ns) and a deterministic id.
    """

    account_id: AccountId
    account_type: AccountType
    balances: tuple[AccountBalance, ...]
    base_currency: Currency | None = None
    ts_event: int = 0
    ts_init: int = 0
    event_id: str = ""


class Account:
    """Balances of one venue account (base class of :class:`CashAccount`/:class:`MarginAccount`).

    Parameters
    ----------
    account_id
        ``VENUE-NUMBER``; the issuer part names the venue the account trades on.
    balances
        Starting totals, at most one :class:`~alphaforge.model.Money` per currency.
    base_currency
        Optional reporting currency (used by ``Portfolio.equity()`` when no currency is given).

    Raises
    ------
    InvalidValue
        Bad id, a non-Money balance or a currency given twice.
    """

    account_type: AccountType = AccountType.CASH

    __slots__ = (
        "_base_currency",
        "_commissions",
        "_currencies",
        "_id",
        "_locked",
        "_locked_by_key",
        "_total",
    )

    def __init__(
        self,
        account_id: AccountId,
        balances: Iterable[Money] = (),
        *,
        base_currency: Currency | None = None,
    ) -> None:
        if type(account_id) is not AccountId:
            raise InvalidValue("account_id", account_id, "must be an AccountId")
        if base_currency is not None and type(base_currency) is not Currency:
            raise InvalidValue("base_currency", base_currency, "must be a Currency or None")
        total: dict[Currency, int] = {}
        for i, money in enumerate(balances):
            if type(money) is not Money:
                raise InvalidValue(f"balances[{i}]", money, "must be Money")
            if money.currency in total:
                raise InvalidValue(f"balances[{i}]", str(money), "currency given twice")
            total[money.currency] = money.raw
        self._id = account_id
        self._base_currency = base_currency
        self._total = total
        self._locked: dict[Currency, int] = {}
        self._locked_by_key: dict[Hashable, dict[Currency, int]] = {}
        self._commissions: dict[Currency, int] = {}
        self._currencies: dict[str, Currency] = {c.code: c for c in total}

    def __repr__(self) -> str:
        balances = ", ".join(str(b.total) for b in self.balances().values())
        return f"{type(self).__name__}({self._id}, [{balances}])"

    # -- queries -------------------------------------------------------------------------------

    @property
    def id(self) -> AccountId:
        """The account id."""
        return self._id

    @property
    def base_currency(self) -> Currency | None:
        """Reporting currency, if any."""
        return self._base_currency

    def currencies(self) -> list[Currency]:
        """Currencies with a balance or lock, in first-seen order."""
        return list(self._currencies.values())

    def balance(self, currency: Currency) -> AccountBalance:
        """The balance of ``currency`` (zeros if it was never touched)."""
        total = self._total.get(currency, 0)
        locked = self._locked.get(currency, 0)
        return AccountBalance(
            Money.from_raw(total, currency),
            Money.from_raw(locked, currency),
            Money.from_raw(total - locked, currency),
        )

    def balances(self) -> dict[Currency, AccountBalance]:
        """Every currency's balance."""
        return {c: self.balance(c) for c in self._currencies.values()}

    def balance_total(self, currency: Currency) -> Money:
        """Total of ``currency``."""
        return Money.from_raw(self._total.get(currency, 0), currency)

    def balance_locked(self, currency: Currency) -> Money:
        """Locked amount of ``currency``."""
        return Money.from_raw(self._locked.get(currency, 0), currency)

    def balance_free(self, currency: Currency) -> Money:
        """``total - locked`` of ``currency``."""
        return Money.from_raw(
            self._total.get(currency, 0) - self._locked.get(currency, 0), currency
        )

    def commissions(self) -> dict[Currency, Money]:
        """Cumulative commissions paid, per currency."""
        return {c: Money.from_raw(raw, c) for c, raw in self._commissions.items()}

    def locked_for(self, key: Hashable) -> dict[Currency, Money]:
        """What one key (an instrument id) currently locks."""
        return {c: Money.from_raw(raw, c) for c, raw in self._locked_by_key.get(key, {}).items()}

    # -- mutation ------------------------------------------------------------------------------

    def _see(self, currency: Currency) -> None:
        if currency.code not in self._currencies:
            self._currencies[currency.code] = currency

    def deposit(self, amount: Money) -> None:
        """Add ``amount`` (negative withdraws) to the total of its currency.

        Raises
        ------
        InvalidValue
            ``amount`` is not Money, or its currency shares a code with a different currency
            already on the account.
        """
        if type(amount) is not Money:
            raise InvalidValue("amount", amount, "must be Money")
        self._check_currency(amount.currency)
        self._see(amount.currency)
        self._total[amount.currency] = self._total.get(amount.currency, 0) + amount.raw

    def _check_currency(self, currency: Currency) -> None:
        known = self._currencies.get(currency.code)
        if known is not None and known != currency:
            raise InvalidValue(
                "currency", repr(currency), f"account {self._id} holds {known!r} with that code"
            )

    def charge_commission(self, commission: Money) -> None:
        """Debit a commission (a negative commission is a rebate) and record it."""
        if type(commission) is not Money:
            raise InvalidValue("commission", commission, "must be Money")
        self._check_currency(commission.currency)
        ccy = commission.currency
        self._see(ccy)
        self._total[ccy] = self._total.get(ccy, 0) - commission.raw
        self._commissions[ccy] = self._commissions.get(ccy, 0) + commission.raw

    def set_locked(self, key: Hashable, amounts: Mapping[Currency, int]) -> None:
        """Replace what ``key`` (an instrument id) locks: raw amounts per currency.

        Raises
        ------
        InvalidValue
            A negative amount or a conflicting currency; nothing changes.
        """
        for ccy, raw in amounts.items():
            if type(raw) is not int or raw < 0:
                raise InvalidValue("locked", raw, f"must be a non-negative raw int ({ccy.code})")
            self._check_currency(ccy)
        old = self._locked_by_key.pop(key, {})
        for ccy, raw in old.items():
            self._locked[ccy] -= raw
        new = {c: r for c, r in amounts.items() if r}
        if new:
            self._locked_by_key[key] = new
        for ccy, raw in new.items():
            self._see(ccy)
            self._locked[ccy] = self._locked.get(ccy, 0) + raw

    def apply_state(self, state: AccountState) -> None:
        """Replace the totals with a venue snapshot (locks are kept).

        Raises
        ------
        InvalidValue
            The state is for another account; nothing changes.
        """
        if state.account_id != self._id:
            raise InvalidValue(
                "account_id", str(state.account_id), f"state is not for account {self._id}"
            )
        for b in state.balances:
            self._check_currency(b.currency)
        for b in state.balances:
            self._see(b.currency)
            self._total[b.currency] = b.total.raw


class CashAccount(Account):
    """A spot account without leverage (see the module docs)."""

    __slots__ = ()
    account_type = AccountType.CASH


class MarginAccount(Account):
    """A margin account: locks initial margin for orders and maintenance margin for positions."""

    __slots__ = ("_margins",)
    account_type = AccountType.MARGIN

    def __init__(
        self,
        account_id: AccountId,
        balances: Iterable[Money] = (),
        *,
        base_currency: Currency | None = None,
    ) -> None:
        super().__init__(account_id, balances, base_currency=base_currency)
        self._margins: dict[Hashable, MarginBalance] = {}

    def set_margins(self, key: Hashable, initial: Money, maintenance: Money) -> None:
        """Set the margins held for one instrument; they are the key's locked amount.

        Raises
        ------
        InvalidValue
            Negative or non-Money amounts; nothing changes.
        """
        for name, m in (("initial", initial), ("maintenance", maintenance)):
            if type(m) is not Money or m.raw < 0:
                raise InvalidValue(name, m, "must be non-negative Money")
        amounts: dict[Currency, int] = {initial.currency: initial.raw}
        amounts[maintenance.currency] = amounts.get(maintenance.currency, 0) + maintenance.raw
        self.set_locked(key, amounts)
        if initial.raw or maintenance.raw:
            self._margins[key] = MarginBalance(initial, maintenance)
        else:
            self._margins.pop(key, None)

    def margins(self) -> dict[Hashable, MarginBalance]:
        """Margins per instrument id."""
        return dict(self._margins)

    def margin(self, key: Hashable) -> MarginBalance | None:
        """Margins held for one instrument, or ``None``."""
        return self._margins.get(key)
