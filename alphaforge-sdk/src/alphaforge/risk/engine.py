"""The RiskEngine: pre-trade checks between strategies and the ExecutionEngine.

Commands arrive on the ``risk.execute`` endpoint. A command that passes goes on to
``exec.execute``; an order that fails is *denied*: an ``OrderDenied`` event whose ``reason``
names the field and value (``"quantity=0.0005: below min_quantity 0.001 of BTCUSDT.BINANCE"``)
is sent to ``exec.process``, so the order closes (DENIED) and the strategy receives
``on_order_denied``. Nothing else changes: no balance is locked, no token is spent.

Checks for a new order, in order (the first failure is the reason):

1. trading state: ``HALTED`` denies every order; ``REDUCING`` only orders that reduce the
   instrument's net position (over all strategies) without flipping it;
2. the instrument is in the cache;
3. ``price``/``trigger_price``: precision <= ``price_precision``, a multiple of ``tick_size``;
4. ``quantity``: precision <= ``size_precision``, a multiple of ``lot_size``, within
   ``min_quantity``/``max_quantity``;
5. ``reduce_only`` orders must reduce the net position;
6. notional (``quantity`` at the order's price, else its trigger price, else the market: ask
   for buys, bid for sells, last trade, the portfolio's mark): ``min_notional`` and
   ``max_notional`` of the instrument, ``RiskConfig.max_notional_per_order``; skipped when no
   price is known;
7. ``RiskConfig.max_position``: the absolute net position after a full fill;
8. balance: free balance of the venue's account covers the order (cash account, spot BUY:
   notional + taker fee in the quote currency; spot SELL: the quantity in the base currency;
   otherwise initial margin ``notional * margin_init`` + taker fee). Skipped without a
   portfolio, an account or a price, and for margin orders that reduce the position;
9. submit rate: a token bucket of ``max_order_submit_rate`` tokens per
   ``max_order_submit_interval_ns`` on the node clock (deterministic in a backtest). An order
   list is one submission.

A modify is rejected (``OrderModifyRejected``) when trading is HALTED, when it increases the
quantity while REDUCING, on precision/increment violations of the new values, or above the
modify rate. Cancels always pass.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any, Final

import attrs

from alphaforge.cache import Cache
from alphaforge.clock import Clock
from alphaforge.errors import InvalidValue
from alphaforge.execution.ids import IdGenerator
from alphaforge.execution.messages import (
    CancelAllOrders,
    CancelOrder,
    ContingencyType,
    ModifyOrder,
    SubmitOrder,
    SubmitOrderList,
)
from alphaforge.model.data import QuoteTick, TradeTick
from alphaforge.model.enums import OrderSide
from alphaforge.model.events import OrderDenied, OrderEvent, OrderModifyRejected
from alphaforge.model.instruments import CurrencyPair, Instrument
from alphaforge.model.orders import Order
from alphaforge.model.values import Money, Price, Quantity
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio.accounts import CashAccount, MarginAccount
from alphaforge.portfolio.portfolio import Portfolio
from alphaforge.portfolio.position import round_scaled
from alphaforge.trading.topics import (
    EXEC_EXECUTE_ENDPOINT,
    EXEC_PROCESS_ENDPOINT,
    RISK_EVENTS_TOPIC,
    RISK_EXECUTE_ENDPOINT,
)

_POW10: Final[tuple[int, ...]] = tuple(10**i for i in range(19))

__all__ = ["RiskConfig", "RiskEngine", "TokenBucket", "TradingState", "TradingStateChanged"]


class TradingState(enum.Enum):
    """What the risk engine lets through."""

    ACTIVE = "ACTIVE"
    """Everything that passes the checks."""
    REDUCING = "REDUCING"
    """Only orders that reduce positions."""
    HALTED = "HALTED"
    """No new orders and no modifies; cancels still pass."""


def _positive_int(field: str, value: object) -> None:
    if type(value) is not int or value <= 0:
        raise InvalidValue(field, value, "must be a positive int")


@attrs.frozen(kw_only=True)
class RiskConfig:
    """RiskEngine settings.

    Parameters
    ----------
    bypass
        Forward every command unchecked (research only).
    trading_state
        The initial trading state.
    max_order_submit_rate, max_order_submit_interval_ns
        At most this many submissions per interval (token bucket).
    max_order_modify_rate, max_order_modify_interval_ns
        At most this many modifies per interval.
    max_notional_per_order
        Per instrument id (``"BTCUSDT.BINANCE"``): the largest notional of one order, in the
        instrument's notional currency.
    max_position
        Per instrument id: the largest absolute net position (in units of quantity).
    check_balance
        Check free balance / margin.

    Raises
    ------
    InvalidValue
        A non-positive rate, interval or limit.
    """

    bypass: bool = False
    trading_state: TradingState = TradingState.ACTIVE
    max_order_submit_rate: int = 100
    max_order_submit_interval_ns: int = 1_000_000_000
    max_order_modify_rate: int = 100
    max_order_modify_interval_ns: int = 1_000_000_000
    max_notional_per_order: dict[str, Decimal] = attrs.field(factory=dict)
    max_position: dict[str, Decimal] = attrs.field(factory=dict)
    check_balance: bool = True

    def __attrs_post_init__(self) -> None:
        _positive_int("max_order_submit_rate", self.max_order_submit_rate)
        _positive_int("max_order_submit_interval_ns", self.max_order_submit_interval_ns)
        _positive_int("max_order_modify_rate", self.max_order_modify_rate)
        _positive_int("max_order_modify_interval_ns", self.max_order_modify_interval_ns)
        if type(self.trading_state) is not TradingState:
            raise InvalidValue("trading_state", self.trading_state, "must be a TradingState")
        for name in ("max_notional_per_order", "max_position"):
            for key, limit in getattr(self, name).items():
                if not isinstance(limit, Decimal) or not limit.is_finite() or limit <= 0:
                    raise InvalidValue(f"{name}.{key}", limit, "must be a positive Decimal")


@attrs.frozen(kw_only=True, slots=True)
class TradingStateChanged:
    """Published on ``events.risk`` when the trading state changes."""

    state: TradingState
    previous: TradingState
    ts_event: int
    ts_init: int
    event_id: str


class TokenBucket:
    """A deterministic token bucket: ``rate`` tokens per ``interval_ns``, burst ``rate``.

    The level is kept as an integer in units of ``1 / interval_ns`` token, so refills are exact.

    Parameters
    ----------
    rate
        Tokens per interval (also the capacity).
    interval_ns
        The interval.
    now_ns
        The time the bucket starts (full).
    """

    __slots__ = ("_capacity", "_interval", "_last", "_level", "_rate")

    def __init__(self, rate: int, interval_ns: int, now_ns: int = 0) -> None:
        _positive_int("rate", rate)
        _positive_int("interval_ns", interval_ns)
        self._rate = rate
        self._interval = interval_ns
        self._capacity = rate * interval_ns
        self._level = self._capacity
        self._last = now_ns

    def _refill(self, now_ns: int) -> None:
        if now_ns > self._last:
            self._level = min(self._capacity, self._level + (now_ns - self._last) * self._rate)
            self._last = now_ns

    def try_take(self, now_ns: int) -> bool:
        """Take one token at ``now_ns`` if one is available."""
        self._refill(now_ns)
        if self._level >= self._interval:
            self._level -= self._interval
            return True
        return False

    def available(self, now_ns: int) -> int:
        """Whole tokens available at ``now_ns``."""
        self._refill(now_ns)
        return self._level // self._interval


def _why(field: str, value: object, reason: str) -> str:
    return f"{field}={value}: {reason}"


class RiskEngine:
    """Pre-trade risk checks (see the module docs).

    Parameters
    ----------
    cache, clock, msgbus
        The node's services.
    portfolio
        For positions, accounts and marks; without it position/balance checks are skipped.
    config
        Limits and the initial trading state.
    """

    def __init__(
        self,
        cache: Cache,
        clock: Clock,
        msgbus: MessageBus,
        *,
        portfolio: Portfolio | None = None,
        config: RiskConfig | None = None,
    ) -> None:
        self._cache = cache
        self._clock = clock
        self._msgbus = msgbus
        self.portfolio = portfolio
        self.config = config or RiskConfig()
        self._state = self.config.trading_state
        now = clock.timestamp_ns()
        self._submit_bucket = TokenBucket(
            self.config.max_order_submit_rate, self.config.max_order_submit_interval_ns, now
        )
        self._modify_bucket = TokenBucket(
            self.config.max_order_modify_rate, self.config.max_order_modify_interval_ns, now
        )
        self._ids = IdGenerator("RISK")
        self._denied = 0
        msgbus.register(RISK_EXECUTE_ENDPOINT, self.execute)

    def __repr__(self) -> str:
        return f"RiskEngine(trading_state={self._state.value}, denied={self._denied})"

    # ------------------------------------------------------------------ state

    @property
    def trading_state(self) -> TradingState:
        """The current trading state."""
        return self._state

    @property
    def denied_count(self) -> int:
        """Orders denied and modifies rejected so far."""
        return self._denied

    def set_trading_state(self, state: TradingState) -> None:
        """Change the trading state and publish :class:`TradingStateChanged` on ``events.risk``."""
        if type(state) is not TradingState:
            raise InvalidValue("state", state, "must be a TradingState")
        previous = self._state
        if state is previous:
            return
        self._state = state
        now = self._clock.timestamp_ns()
        self._msgbus.publish(
            RISK_EVENTS_TOPIC,
            TradingStateChanged(
                state=state, previous=previous, ts_event=now, ts_init=now, event_id=self._ids()
            ),
        )

    def configure(self, config: RiskConfig) -> None:
        """Replace the settings: the trading state becomes ``config.trading_state`` and the
        rate buckets start full.

        Raises
        ------
        InvalidValue
            ``config`` is not a :class:`RiskConfig` (nothing changes).
        """
        if not isinstance(config, RiskConfig):
            raise InvalidValue("config", config, "must be a RiskConfig")
        now = self._clock.timestamp_ns()
        self.config = config
        self._submit_bucket = TokenBucket(
            config.max_order_submit_rate, config.max_order_submit_interval_ns, now
        )
        self._modify_bucket = TokenBucket(
            config.max_order_modify_rate, config.max_order_modify_interval_ns, now
        )
        self.set_trading_state(config.trading_state)

    def dispose(self) -> None:
        """Deregister the ``risk.execute`` endpoint (idempotent)."""
        if self._msgbus.is_registered(RISK_EXECUTE_ENDPOINT):
            self._msgbus.deregister(RISK_EXECUTE_ENDPOINT)

    # ------------------------------------------------------------------ commands

    def execute(self, command: object) -> None:
        """Check a trading command and forward or deny it (the ``risk.execute`` endpoint).

        Raises
        ------
        InvalidValue
            ``command`` is not a trading command.
        """
        if not isinstance(
            command, (SubmitOrder, SubmitOrderList, ModifyOrder, CancelOrder, CancelAllOrders)
        ):
            raise InvalidValue("command", command, "is not a trading command")
        if self.config.bypass or isinstance(command, (CancelOrder, CancelAllOrders)):
            self._forward(command)
            return
        now = self._clock.timestamp_ns()
        if isinstance(command, SubmitOrder):
            reason = self.check_order(command.order)
            if reason is None and not self._submit_bucket.try_take(now):
                reason = self._rate_reason("submit")
            if reason is not None:
                self._deny(command.order, reason)
                return
        elif isinstance(command, SubmitOrderList):
            order_list = command.order_list
            orders = order_list.orders
            reason = None
            offset = 0
            for i, order in enumerate(orders):
                if i and order_list.contingency is ContingencyType.BRACKET:
                    # Exits are checked as if the entry had filled; they need no balance.
                    reason = self.check_order(order, net_offset=offset, check_balance=False)
                else:
                    reason = self.check_order(order)
                if reason is not None:
                    reason = f"order {order.client_order_id}: {reason}"
                    break
                if not i:
                    instrument = self._instrument(order.instrument_id)
                    if instrument is not None:
                        offset = self._signed_raw(instrument, order, order.quantity)
            if reason is None and not self._submit_bucket.try_take(now):
                reason = self._rate_reason("submit")
            if reason is not None:
                for order in orders:
                    self._deny(order, f"order list {command.order_list.id} denied: {reason}")
                return
        else:
            reason = self.check_modify(command)
            if reason is None and not self._modify_bucket.try_take(now):
                reason = self._rate_reason("modify")
            if reason is not None:
                self._reject_modify(command, reason)
                return
        self._forward(command)

    def _rate_reason(self, kind: str) -> str:
        cfg = self.config
        if kind == "submit":
            rate, interval = cfg.max_order_submit_rate, cfg.max_order_submit_interval_ns
        else:
            rate, interval = cfg.max_order_modify_rate, cfg.max_order_modify_interval_ns
        return _why(f"max_order_{kind}_rate", f"{rate}/{interval}ns", "rate exceeded")

    def _forward(self, command: object) -> None:
        if not self._msgbus.is_registered(EXEC_EXECUTE_ENDPOINT):
            if isinstance(command, SubmitOrder):
                self._deny(command.order, "exec.execute: no execution engine")
            elif isinstance(command, SubmitOrderList):
                for order in command.order_list.orders:
                    self._deny(order, "exec.execute: no execution engine")
            return
        self._msgbus.send(EXEC_EXECUTE_ENDPOINT, command)

    def _emit(self, event: OrderEvent, order: Order | None) -> None:
        if self._msgbus.is_registered(EXEC_PROCESS_ENDPOINT):
            self._msgbus.send(EXEC_PROCESS_ENDPOINT, event)
        elif order is not None:
            order.apply(event)
            self._msgbus.publish(f"events.order.{order.strategy_id}", event)

    def _deny(self, order: Order, reason: str) -> None:
        self._denied += 1
        now = self._clock.timestamp_ns()
        event = OrderDenied(
            client_order_id=order.client_order_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            ts_event=now,
            ts_init=now,
            event_id=self._ids(),
            reason=reason,
        )
        if self._cache.order(order.client_order_id) is None:
            self._cache.add_order(order)
        self._emit(event, order)

    def _reject_modify(self, command: ModifyOrder, reason: str) -> None:
        self._denied += 1
        now = self._clock.timestamp_ns()
        order = self._cache.order(command.client_order_id)
        event = OrderModifyRejected(
            client_order_id=command.client_order_id,
            strategy_id=command.strategy_id,
            instrument_id=command.instrument_id,
            ts_event=now,
            ts_init=now,
            event_id=self._ids(),
            reason=reason,
            venue_order_id=command.venue_order_id,
        )
        self._emit(event, order if isinstance(order, Order) else None)

    # ------------------------------------------------------------------ checks

    def _instrument(self, order_instrument: Any) -> Instrument | None:
        instrument = self._cache.instrument(order_instrument)
        return instrument if isinstance(instrument, Instrument) else None

    @staticmethod
    def _check_price(instrument: Instrument, field: str, price: Price | None) -> str | None:
        if price is None:
            return None
        if price.precision > instrument.price_precision:
            return _why(
                field,
                price,
                f"precision {price.precision} exceeds price_precision "
                f"{instrument.price_precision} of {instrument.id}",
            )
        if not instrument.is_price_on_tick(price):
            return _why(field, price, f"not a multiple of tick_size {instrument.tick_size}")
        return None

    @staticmethod
    def _check_quantity(instrument: Instrument, qty: Quantity) -> str | None:
        sp = instrument.size_precision
        if qty.precision > sp:
            return _why(
                "quantity",
                qty,
                f"precision {qty.precision} exceeds size_precision {sp} of {instrument.id}",
            )
        raw: int = qty.raw * _POW10[sp - qty.precision]
        if raw % instrument.lot_size.raw:
            return _why("quantity", qty, f"not a multiple of lot_size {instrument.lot_size}")
        if instrument.min_quantity is not None and qty < instrument.min_quantity:
            return _why(
                "quantity", qty, f"below min_quantity {instrument.min_quantity} of {instrument.id}"
            )
        if instrument.max_quantity is not None and qty > instrument.max_quantity:
            return _why(
                "quantity", qty, f"above max_quantity {instrument.max_quantity} of {instrument.id}"
            )
        return None

    def _reference_price(self, order: Order) -> Price | None:
        if order.price is not None:
            return order.price
        if order.trigger_price is not None:
            return order.trigger_price
        iid = order.instrument_id
        quote = self._cache.quote(iid)
        if isinstance(quote, QuoteTick):
            return quote.ask_price if order.side == OrderSide.BUY else quote.bid_price
        trade = self._cache.trade(iid)
        if isinstance(trade, TradeTick):
            return trade.price
        if self.portfolio is not None:
            return self.portfolio.mark_price(iid)
        return None

    def _signed_raw(self, instrument: Instrument, order: Order, qty: Quantity) -> int:
        raw: int = qty.raw * _POW10[instrument.size_precision - qty.precision]
        return raw if order.side == OrderSide.BUY else -raw

    def check_order(
        self, order: Order, *, net_offset: int = 0, check_balance: bool = True
    ) -> str | None:
        """Run the checks for a new order; return the denial reason, or ``None`` if it passes.

        Does not consume a rate token.

        Parameters
        ----------
        order
            The order.
        net_offset
            Added to the instrument's net position (raw, at size precision) before the
            position checks; bracket exits are checked with the entry's signed quantity.
        check_balance
            Run the balance check (``RiskConfig.check_balance`` must also be on).
        """
        if not isinstance(order, Order):
            raise InvalidValue("order", order, "must be an Order")
        state = self._state
        if state is TradingState.HALTED:
            return _why("trading_state", state.value, "no new orders while HALTED")
        instrument = self._instrument(order.instrument_id)
        if instrument is None:
            return _why("instrument_id", order.instrument_id, "not in the cache")
        reason = (
            self._check_price(instrument, "price", order.price)
            or self._check_price(instrument, "trigger_price", order.trigger_price)
            or self._check_quantity(instrument, order.quantity)
        )
        if reason is not None:
            return reason
        qty = order.quantity
        signed = self._signed_raw(instrument, order, qty)
        net = net_offset
        if self.portfolio is not None:
            net += self.portfolio.net_position_raw(order.instrument_id)
        reduces = net != 0 and (net > 0) != (signed > 0) and abs(signed) <= abs(net)
        if state is TradingState.REDUCING and not reduces:
            return _why(
                "trading_state",
                state.value,
                f"{order.side.name} {qty} does not reduce the net position "
                f"{Decimal(net).scaleb(-instrument.size_precision)} of {instrument.id}",
            )
        if order.reduce_only and not reduces:
            return _why(
                "reduce_only",
                True,
                f"{order.side.name} {qty} would not reduce the net position "
                f"{Decimal(net).scaleb(-instrument.size_precision)} of {instrument.id}",
            )
        price = self._reference_price(order)
        notional: Money | None = None
        if price is not None and (price.raw > 0 or not instrument.is_inverse):
            notional = instrument.notional(qty, price)
            if instrument.min_notional is not None and notional < instrument.min_notional:
                return _why("notional", notional, f"below min_notional {instrument.min_notional}")
            if instrument.max_notional is not None and notional > instrument.max_notional:
                return _why("notional", notional, f"above max_notional {instrument.max_notional}")
            limit = self.config.max_notional_per_order.get(str(instrument.id))
            if limit is not None and notional.as_decimal() > limit:
                return _why("notional", notional, f"above max_notional_per_order {limit}")
        limit = self.config.max_position.get(str(instrument.id))
        if limit is not None:
            after = abs(Decimal(net + signed).scaleb(-instrument.size_precision))
            if after > limit and abs(net + signed) > abs(net):
                return _why("position", after, f"would exceed max_position {limit}")
        if check_balance and self.config.check_balance and notional is not None:
            return self._check_balance(instrument, order, qty, notional, reduces)
        return None

    def _check_balance(
        self,
        instrument: Instrument,
        order: Order,
        qty: Quantity,
        notional: Money,
        reduces: bool,
    ) -> str | None:
        if self.portfolio is None:
            return None
        account = self.portfolio.account_for_venue(order.instrument_id.venue)
        if account is None:
            return None
        fee_rate = instrument.taker_fee if instrument.taker_fee > 0 else Decimal(0)
        fee = notional.mul(fee_rate)
        if isinstance(account, CashAccount) and isinstance(instrument, CurrencyPair):
            if order.side == OrderSide.BUY:
                need = notional + fee
            else:
                base = instrument.base_currency
                assert base is not None
                need = Money.from_raw(round_scaled(qty.raw, qty.precision, base.precision), base)
        else:
            if reduces and isinstance(account, MarginAccount):
                return None
            need = notional.mul(instrument.margin_init) + fee
        free = account.balance_free(need.currency)
        if need > free:
            return _why(
                "free_balance",
                free,
                f"{need} needed for {order.side.name} {qty} {instrument.id} "
                f"on account {account.id}",
            )
        return None

    def check_modify(self, command: ModifyOrder) -> str | None:
        """Run the checks for a modify; return the rejection reason or ``None``."""
        state = self._state
        if state is TradingState.HALTED:
            return _why("trading_state", state.value, "no modifies while HALTED")
        instrument = self._instrument(command.instrument_id)
        if instrument is None:
            return _why("instrument_id", command.instrument_id, "not in the cache")
        reason = self._check_price(instrument, "price", command.price) or self._check_price(
            instrument, "trigger_price", command.trigger_price
        )
        if reason is not None:
            return reason
        if command.quantity is not None:
            reason = self._check_quantity(instrument, command.quantity)
            if reason is not None:
                return reason
            order = self._cache.order(command.client_order_id)
            if (
                state is TradingState.REDUCING
                and isinstance(order, Order)
                and command.quantity > order.quantity
            ):
                return _why("quantity", command.quantity, "increases an order while REDUCING")
        return None
