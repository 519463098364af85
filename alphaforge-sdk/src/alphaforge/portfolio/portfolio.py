"""The :class:`Portfolio`: accounts, positions, PnL and exposure across venues.

The portfolio reads positions and market data from the :class:`~alphaforge.cache.Cache` and
owns the accounts (also stored in the cache). The ExecutionEngine drives it:

- :meth:`Portfolio.update_order` after every applied order event (open-order locks);
- :meth:`Portfolio.apply_fill` for every fill, *before* the fill is published, so a strategy's
  ``on_order_filled`` sees the new balances;
- :meth:`Portfolio.apply_account_state` for venue balance snapshots.

Nothing here runs per market-data tick: PnL and exposure are computed on demand from the
latest price in the cache (the mark price). Mark price, in order of preference: the latest
quote's mid, the latest trade, the latest bar close seen on ``data.bars.*``, a price set with
:meth:`Portfolio.set_mark_price`, and finally the position's last fill price.

Equity per account: all balances (converted) plus, for PnL-settled positions (margin accounts,
and non-spot instruments on cash accounts), their unrealized PnL. Spot holdings on a cash
account are already balances, so they are not counted twice.

Conversion between currencies uses, in order: identity, a rate set with :meth:`set_rate` (or
its inverse), the mid price of an instrument in the cache whose base/quote are the two
currencies (or its inverse). Converted amounts round half-even to the target precision.
"""

from __future__ import annotations

import decimal
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from alphaforge.cache import Cache
from alphaforge.clock import Clock
from alphaforge.errors import InvalidValue
from alphaforge.model.data import Bar, QuoteTick, TradeTick
from alphaforge.model.enums import OrderSide
from alphaforge.model.events import OrderFilled
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    Venue,
)
from alphaforge.model.instruments import CurrencyPair, Instrument
from alphaforge.model.orders import Order
from alphaforge.model.values import Currency, Money, Price, Rounding, _div_round
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio.accounts import (
    Account,
    AccountState,
    AccountType,
    CashAccount,
    MarginAccount,
)
from alphaforge.portfolio.position import Position, round_scaled
from alphaforge.trading.topics import account_topic

__all__ = ["Portfolio"]

_CTX: Final = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_STATUS_SUBMITTED: Final = 3  # OrderStatus.SUBMITTED, compared by value on a warm path


def _mid(quote: QuoteTick) -> Price:
    """The exact mid of a quote, one digit finer than the quote (at most 18 digits)."""
    total = quote.bid_raw + quote.ask_raw
    p = quote.price_precision
    if p < 18:
        return Price.from_raw(total * 5, p + 1)
    return Price.from_raw(_div_round(total, 2, Rounding.HALF_EVEN), p)


def _to_money(amount: Decimal, currency: Currency) -> Money:
    q = _CTX.quantize(amount, Decimal(1).scaleb(-currency.precision))
    return Money(q, currency)


class Portfolio:
    """Accounts, positions, PnL, exposure and equity.

    Parameters
    ----------
    cache
        Where instruments, positions, accounts and market data live.
    clock
        The node's clock.
    msgbus
        The bus: the portfolio subscribes to ``data.bars.*`` (bar-close marks) and publishes
        ``AccountState`` on ``events.account.<account_id>``.
    """

    def __init__(self, cache: Cache, clock: Clock, msgbus: MessageBus) -> None:
        self._cache = cache
        self._clock = clock
        self._msgbus = msgbus
        self._logger = logging.getLogger("alphaforge.portfolio")
        self._accounts: dict[AccountId, Account] = {}
        self._venue_accounts: dict[Venue, Account] = {}
        self._rates: dict[tuple[str, str], Decimal] = {}
        self._marks: dict[InstrumentId, Price] = {}
        self._bar_marks: dict[InstrumentId, Price] = {}
        self._open_orders: dict[InstrumentId, dict[ClientOrderId, Order]] = {}
        self._open_positions: dict[InstrumentId, dict[PositionId, Position]] = {}
        self._realized: dict[InstrumentId, Money] = {}
        self._unaccounted_fills = 0
        msgbus.subscribe("data.bars.*", self._on_bar)

    def __repr__(self) -> str:
        return f"Portfolio(accounts={[str(a) for a in self._accounts]})"

    # ------------------------------------------------------------------ accounts

    def add_account(self, account: Account) -> None:
        """Add an account (also to the cache); it serves the venue named by its id's issuer.

        Raises
        ------
        InvalidValue
            Not an :class:`Account`, or an account with this id exists.
        """
        if not isinstance(account, Account):
            raise InvalidValue("account", account, "must be a CashAccount or MarginAccount")
        if account.id in self._accounts:
            raise InvalidValue("account_id", str(account.id), "an account with this id exists")
        self._cache.add_account(account)
        self._accounts[account.id] = account
        self._venue_accounts.setdefault(Venue(account.id.issuer), account)

    def account(self, account_id: AccountId) -> Account | None:
        """The account with this id, or ``None``."""
        return self._accounts.get(account_id)

    def account_for_venue(self, venue: Venue) -> Account | None:
        """The (first) account trading on ``venue``, or ``None``."""
        return self._venue_accounts.get(venue)

    def accounts(self) -> list[Account]:
        """All accounts, in insertion order."""
        return list(self._accounts.values())

    def apply_account_state(self, state: AccountState) -> None:
        """Apply a venue balance snapshot, creating the account if needed, and publish it."""
        if not isinstance(state, AccountState):
            raise InvalidValue("state", state, "must be an AccountState")
        account = self._accounts.get(state.account_id)
        if account is None:
            cls = MarginAccount if state.account_type is AccountType.MARGIN else CashAccount
            account = cls(state.account_id, base_currency=state.base_currency)
            account.apply_state(state)
            self.add_account(account)
        else:
            account.apply_state(state)
        self._msgbus.publish(account_topic(state.account_id), state)

    def _account_for(
        self, instrument_id: InstrumentId, account_id: AccountId | None
    ) -> Account | None:
        if account_id is not None:
            found = self._accounts.get(account_id)
            if found is not None:
                return found
        return self._venue_accounts.get(instrument_id.venue)

    @property
    def unaccounted_fill_count(self) -> int:
        """Fills that found no account (positions were still updated)."""
        return self._unaccounted_fills

    # ------------------------------------------------------------------ engine hooks

    def update_order(self, order: Order) -> None:
        """Track an order after an event was applied to it; recompute its instrument's locks."""
        if order.price is None and order.trigger_price is None:
            return  # market orders lock nothing (they fill at once); no index needed
        iid = order.instrument_id
        book = self._open_orders.get(iid)
        if order.is_open or order.status == _STATUS_SUBMITTED:
            if book is None:
                book = self._open_orders[iid] = {}
            book[order.client_order_id] = order
        elif book is None or book.pop(order.client_order_id, None) is None:
            return
        instrument = self._cache.instrument(iid)
        if isinstance(instrument, Instrument):
            self._recompute_locks(instrument, order.account_id)

    def apply_fill(
        self,
        order: Order,
        fill: OrderFilled,
        instrument: Instrument,
        realized_pnl: Money,
        positions: Iterable[Position] = (),
    ) -> None:
        """Book a fill: account balances, commissions, realized PnL, position tracking, locks.

        Parameters
        ----------
        order
            The order after the fill was applied.
        fill
            The fill.
        instrument
            The fill's instrument.
        realized_pnl
            The gross realized PnL the fill produced (sum over the positions it touched).
        positions
            The positions the fill touched, after the fill.
        """
        iid = fill.instrument_id
        commission = fill.commission
        net = realized_pnl
        if commission.currency == net.currency:
            net = net - commission
        prev = self._realized.get(iid)
        self._realized[iid] = net if prev is None else prev + net
        for position in positions:
            tracked = self._open_positions.get(iid)
            if position.is_open:
                if tracked is None:
                    tracked = self._open_positions[iid] = {}
                tracked[position.id] = position
            elif tracked is not None:
                tracked.pop(position.id, None)
        book = self._open_orders.get(iid)
        if book is not None and not order.is_open:
            book.pop(order.client_order_id, None)
        account = self._account_for(iid, fill.account_id)
        if account is None:
            self._unaccounted_fills += 1
            self._logger.warning("fill %s: no account for %s", fill.trade_id, fill.account_id)
            return
        if self._spot_settled(account, instrument):
            base = instrument.base_currency
            assert base is not None  # a CurrencyPair always has one
            notional = instrument.notional(fill.last_qty, fill.last_px)
            qty = fill.last_qty
            base_amount = Money.from_raw(round_scaled(qty.raw, qty.precision, base.precision), base)
            if fill.order_side == OrderSide.BUY:
                account.deposit(-notional)
                account.deposit(base_amount)
            else:
                account.deposit(notional)
                account.deposit(-base_amount)
        elif realized_pnl.raw:
            account.deposit(realized_pnl)
        account.charge_commission(commission)
        priced = order.price is not None or order.trigger_price is not None
        if priced or (instrument.margin_maint and not self._spot_settled(account, instrument)):
            self._recompute_locks(instrument, fill.account_id)

    @staticmethod
    def _spot_settled(account: Account, instrument: Instrument) -> bool:
        return isinstance(account, CashAccount) and isinstance(instrument, CurrencyPair)

    def _recompute_locks(self, instrument: Instrument, account_id: AccountId | None) -> None:
        account = self._account_for(instrument.id, account_id)
        if account is None:
            return
        orders = self._open_orders.get(instrument.id, {})
        if self._spot_settled(account, instrument):
            base = instrument.base_currency
            assert base is not None
            quote_raw = 0
            base_raw = 0
            for o in orders.values():
                px = o.price if o.price is not None else o.trigger_price
                if px is None:
                    continue
                leaves = o.leaves_qty
                if o.side == OrderSide.BUY:
                    quote_raw += instrument.notional(leaves, px).raw
                else:
                    base_raw += round_scaled(leaves.raw, leaves.precision, base.precision)
            account.set_locked(
                instrument.id, {instrument.notional_currency: quote_raw, base: base_raw}
            )
            return
        ccy = instrument.notional_currency
        init_raw = 0
        if instrument.margin_init:
            for o in orders.values():
                px = o.price if o.price is not None else o.trigger_price
                if px is None:
                    continue
                init_raw += instrument.notional(o.leaves_qty, px).mul(instrument.margin_init).raw
        maint_raw = 0
        if instrument.margin_maint:
            for p in self._open_positions.get(instrument.id, {}).values():
                maint_raw += p.cost_basis.mul(instrument.margin_maint).raw
        if isinstance(account, MarginAccount):
            account.set_margins(
                instrument.id, Money.from_raw(init_raw, ccy), Money.from_raw(maint_raw, ccy)
            )
        else:
            account.set_locked(instrument.id, {ccy: init_raw + maint_raw})

    # ------------------------------------------------------------------ market data

    def _on_bar(self, bar: Bar) -> None:
        self._bar_marks[bar.bar_type.instrument_id] = bar.close

    def set_mark_price(self, instrument_id: InstrumentId, price: Price | None) -> None:
        """Set (or clear with ``None``) a fallback mark price for an instrument without data."""
        if type(instrument_id) is not InstrumentId:
            raise InvalidValue("instrument_id", instrument_id, "must be an InstrumentId")
        if price is None:
            self._marks.pop(instrument_id, None)
            return
        if type(price) is not Price:
            raise InvalidValue("price", price, "must be a Price or None")
        self._marks[instrument_id] = price

    def mark_price(self, instrument_id: InstrumentId) -> Price | None:
        """The price positions are marked at (see the module docs), or ``None``."""
        quote = self._cache.quote(instrument_id)
        if isinstance(quote, QuoteTick):
            return _mid(quote)
        trade = self._cache.trade(instrument_id)
        if isinstance(trade, TradeTick):
            return trade.price
        bar_close = self._bar_marks.get(instrument_id)
        if bar_close is not None:
            return bar_close
        return self._marks.get(instrument_id)

    # ------------------------------------------------------------------ rates

    def set_rate(self, from_currency: Currency, to_currency: Currency, rate: Decimal | str) -> None:
        """Set the conversion rate ``1 from_currency = rate to_currency``.

        Raises
        ------
        InvalidValue
            Not currencies, the same currency, or a rate that is not a positive finite
            Decimal (a ``str`` is parsed; floats are refused).
        """
        for name, ccy in (("from_currency", from_currency), ("to_currency", to_currency)):
            if type(ccy) is not Currency:
                raise InvalidValue(name, ccy, "must be a Currency")
        if from_currency.code == to_currency.code:
            raise InvalidValue("to_currency", to_currency.code, "must differ from from_currency")
        value: Decimal
        if isinstance(rate, Decimal):
            value = rate
        elif type(rate) is str:
            try:
                value = Decimal(rate)
            except decimal.InvalidOperation:
                raise InvalidValue("rate", rate, "not a decimal number") from None
        else:
            raise InvalidValue("rate", rate, "must be a Decimal or str (floats are inexact)")
        if not value.is_finite() or value <= 0:
            raise InvalidValue("rate", rate, "must be positive and finite")
        self._rates[(from_currency.code, to_currency.code)] = value

    def rate(self, from_currency: Currency, to_currency: Currency) -> Decimal | None:
        """The conversion rate, or ``None`` if unknown (see the module docs)."""
        f, t = from_currency.code, to_currency.code
        if f == t:
            return Decimal(1)
        direct = self._rates.get((f, t))
        if direct is not None:
            return direct
        inverse = self._rates.get((t, f))
        if inverse is not None:
            return _CTX.divide(Decimal(1), inverse)
        for instrument in self._cache.instruments():
            if not isinstance(instrument, Instrument) or instrument.base_currency is None:
                continue
            b, q = instrument.base_currency.code, instrument.quote_currency.code
            if (b, q) in ((f, t), (t, f)):
                mark = self.mark_price(instrument.id)
                if mark is None or mark.raw <= 0:
                    continue
                px = mark.as_decimal()
                return px if b == f else _CTX.divide(Decimal(1), px)
        return None

    def convert(self, amount: Money, to_currency: Currency) -> Money:
        """Convert ``amount`` to ``to_currency``, rounding half-even.

        Raises
        ------
        InvalidValue
            No rate is known for the pair.
        """
        if amount.currency == to_currency:
            return amount
        rate = self.rate(amount.currency, to_currency)
        if rate is None:
            raise InvalidValue(
                "to_currency",
                to_currency.code,
                f"no conversion rate from {amount.currency.code}; use set_rate() or add a "
                "conversion instrument with prices",
            )
        return _to_money(_CTX.multiply(amount.as_decimal(), rate), to_currency)

    # ------------------------------------------------------------------ positions & PnL

    def open_positions(
        self, instrument_id: InstrumentId | None = None, strategy_id: StrategyId | None = None
    ) -> list[Position]:
        """Open positions (as tracked from fills), optionally filtered."""
        if instrument_id is not None:
            pools: Iterable[dict[PositionId, Position]] = (
                self._open_positions.get(instrument_id, {}),
            )
        else:
            pools = self._open_positions.values()
        return [
            p
            for pool in pools
            for p in pool.values()
            if strategy_id is None or p.strategy_id == strategy_id
        ]

    def net_position(
        self, instrument_id: InstrumentId, strategy_id: StrategyId | None = None
    ) -> Decimal:
        """Signed net quantity of the open positions in an instrument (long positive)."""
        raw = 0
        prec = 0
        for p in self._open_positions.get(instrument_id, {}).values():
            if strategy_id is None or p.strategy_id == strategy_id:
                raw += p.signed_qty_raw
                prec = p.instrument.size_precision
        return Decimal(raw).scaleb(-prec)

    def net_position_raw(
        self, instrument_id: InstrumentId, strategy_id: StrategyId | None = None
    ) -> int:
        """:meth:`net_position` as a raw int at the instrument's size precision."""
        return sum(
            p.signed_qty_raw
            for p in self._open_positions.get(instrument_id, {}).values()
            if strategy_id is None or p.strategy_id == strategy_id
        )

    def is_flat(self, instrument_id: InstrumentId) -> bool:
        """Whether the net position is zero."""
        return self.net_position_raw(instrument_id) == 0

    def is_net_long(self, instrument_id: InstrumentId) -> bool:
        """Whether the net position is long."""
        return self.net_position_raw(instrument_id) > 0

    def is_net_short(self, instrument_id: InstrumentId) -> bool:
        """Whether the net position is short."""
        return self.net_position_raw(instrument_id) < 0

    def _mark_for(self, position: Position) -> Price:
        mark = self.mark_price(position.instrument_id)
        return mark if mark is not None else position.last_px

    def _target(
        self,
        currency: Currency | None,
        instrument_id: InstrumentId | None,
        seen: Iterable[Currency],
    ) -> Currency:
        if currency is not None:
            if type(currency) is not Currency:
                raise InvalidValue("currency", currency, "must be a Currency or None")
            return currency
        if instrument_id is not None:
            instrument = self._cache.instrument(instrument_id)
            if isinstance(instrument, Instrument):
                return instrument.notional_currency
        distinct = {c.code: c for c in seen}
        if len(distinct) == 1:
            return next(iter(distinct.values()))
        reason = "amounts are in several currencies" if distinct else "nothing to infer it from"
        raise InvalidValue("currency", None, f"{reason}; pass currency=")

    def _sum(
        self, amounts: list[Money], currency: Currency | None, iid: InstrumentId | None
    ) -> Money:
        target = self._target(currency, iid, (m.currency for m in amounts))
        raw = 0
        for m in amounts:
            raw += self.convert(m, target).raw
        return Money.from_raw(raw, target)

    def unrealized_pnl(
        self, instrument_id: InstrumentId | None = None, *, currency: Currency | None = None
    ) -> Money:
        """Unrealized PnL of the open positions (all, or one instrument's) at mark prices.

        Parameters
        ----------
        instrument_id
            Restrict to one instrument.
        currency
            Convert to this currency; required when the positions settle in several.
        """
        amounts = [p.unrealized_pnl(self._mark_for(p)) for p in self.open_positions(instrument_id)]
        return self._sum(amounts, currency, instrument_id)

    def realized_pnl(
        self, instrument_id: InstrumentId | None = None, *, currency: Currency | None = None
    ) -> Money:
        """Realized PnL (net of commissions in the PnL currency) of all fills so far."""
        if instrument_id is not None:
            found = self._realized.get(instrument_id)
            amounts = [] if found is None else [found]
        else:
            amounts = list(self._realized.values())
        return self._sum(amounts, currency, instrument_id)

    def net_exposure(
        self, instrument_id: InstrumentId | None = None, *, currency: Currency | None = None
    ) -> Money:
        """Signed notional of the open positions at mark prices (long positive, short negative)."""
        amounts = []
        for p in self.open_positions(instrument_id):
            value = p.notional_value(self._mark_for(p))
            amounts.append(value if p.is_long else -value)
        return self._sum(amounts, currency, instrument_id)

    def equity(
        self, currency: Currency | None = None, *, account_id: AccountId | None = None
    ) -> Money:
        """Total equity: balances plus unrealized PnL of PnL-settled positions, converted.

        Parameters
        ----------
        currency
            Reporting currency; defaults to the accounts' common ``base_currency`` or their one
            common balance currency.
        account_id
            Restrict to one account.
        """
        accounts = list(self._accounts.values())
        if account_id is not None:
            acc = self._accounts.get(account_id)
            if acc is None:
                raise InvalidValue("account_id", str(account_id), "no such account")
            accounts = [acc]
        if currency is None:
            bases = {a.base_currency.code: a.base_currency for a in accounts if a.base_currency}
            if len(bases) == 1:
                currency = next(iter(bases.values()))
        amounts: list[Money] = []
        for acc in accounts:
            amounts.extend(acc.balance_total(c) for c in acc.currencies())
        for pool in self._open_positions.values():
            for p in pool.values():
                acc = self._account_for(p.instrument_id, p.account_id)
                if acc is None or acc not in accounts or self._spot_settled(acc, p.instrument):
                    continue
                amounts.append(p.unrealized_pnl(self._mark_for(p)))
        return self._sum(amounts, currency, None)
