"""The native matching engine: one per instrument, price-time priority, reached in batches.

Two modes (see ``docs/matching-engine.md`` for every rule):

* ``EXCHANGE`` -- a venue: resting orders match each other (self-trade prevention, icebergs,
  post-only, reduce-only, stops triggered by the last trade).
* ``BACKTEST`` -- a simulated venue: the user's orders match against market data (quotes,
  trades, bars, L2 deltas) with a queue-position estimate for resting limit orders.

Hot path: build a numpy array of :data:`COMMAND_DTYPE` records and hand it to
:meth:`MatchingEngine.submit_batch` (zero-copy), then drain :data:`EVENT_DTYPE` records with
:meth:`MatchingEngine.events` or :meth:`MatchingEngine.drain_into`. Cold path: the
``submit_*`` / :meth:`~MatchingEngine.cancel` / :meth:`~MatchingEngine.modify` helpers build
one-record batches, and :meth:`MatchingEngine.event_records` returns :class:`MatchEvent` objects.

Every price and quantity crossing the ABI is a raw ``int`` at the engine's precisions; the
helpers also accept :class:`~alphaforge.model.Price`, :class:`~alphaforge.model.Quantity`,
:class:`~decimal.Decimal` and ``str`` values (converted exactly, or :class:`PrecisionError`).

::

    eng = MatchingEngine("exchange", price_precision=2, size_precision=3,
                         maker_fee="-0.0001", taker_fee="0.0005", fee_precision=8)
    eng.submit_limit(1, OrderSide.SELL, "100.50", "2.000", trader_id=7)
    eng.submit_limit(2, OrderSide.BUY, "100.50", "0.500", trader_id=8)
    for ev in eng.event_records():
        print(ev.kind.name, ev.client_order_id, ev.price, ev.qty)

Invalid orders (bad quantity, off-tick price, unknown id, duplicate id, post-only that would
take, ...) become ``REJECTED`` / ``MODIFY_REJECTED`` / ``CANCEL_REJECTED`` events with a
:class:`Reason`; a structurally invalid batch (wrong dtype, unknown enum value) raises
:class:`~alphaforge.errors.InvalidValue` and changes nothing.
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from alphaforge import _native
from alphaforge.errors import ABIMismatch, InvalidValue, PrecisionError
from alphaforge.model.enums import AggressorSide, LiquiditySide, OrderSide, OrderType, TimeInForce
from alphaforge.model.values import Price, Quantity

__all__ = [
    "BAR_DTYPE",
    "BOOK_DELTA_DTYPE",
    "COMMAND_DTYPE",
    "EVENT_DTYPE",
    "LEVEL_DTYPE",
    "ORDER_INFO_DTYPE",
    "QUOTE_DTYPE",
    "TRADE_DTYPE",
    "CommandFlag",
    "CommandKind",
    "EngineMode",
    "Level",
    "MatchEvent",
    "MatchEventKind",
    "MatchingEngine",
    "OpenOrder",
    "QueueModel",
    "Reason",
    "SelfTradePrevention",
    "reason_text",
]

_ffi, _lib = _native.ffi, _native.lib


class EngineMode(enum.IntEnum):
    """What the engine matches against."""

    EXCHANGE = 1
    BACKTEST = 2


class SelfTradePrevention(enum.IntEnum):
    """Exchange mode: an aggressor meets a resting order of the same ``trader_id``."""

    ALLOW = 1
    CANCEL_RESTING = 2
    CANCEL_AGGRESSOR = 3
    CANCEL_BOTH = 4


class QueueModel(enum.IntEnum):
    """Backtest queue-position model for resting limit orders."""

    PROPORTIONAL = 1
    CONSERVATIVE = 2


class CommandKind(enum.IntEnum):
    """``AfOrderCommand.kind``."""

    SUBMIT = 1
    MODIFY = 2
    CANCEL = 3


class CommandFlag(enum.IntFlag):
    """``AfOrderCommand.flags`` bits."""

    NONE = 0
    POST_ONLY = 1
    REDUCE_ONLY = 2
    MODIFY_PRICE = 4
    MODIFY_TRIGGER = 8


class MatchEventKind(enum.IntEnum):
    """``AfMatchEvent.kind``."""

    ACCEPTED = 1
    REJECTED = 2
    CANCELED = 3
    EXPIRED = 4
    TRIGGERED = 5
    UPDATED = 6
    PARTIALLY_FILLED = 7
    FILLED = 8
    MODIFY_REJECTED = 9
    CANCEL_REJECTED = 10


class Reason(enum.IntEnum):
    """Why an order was rejected, canceled or expired (text: :func:`reason_text`)."""

    NONE = 0
    INVALID_QUANTITY = 1
    QUANTITY_NOT_ON_LOT = 2
    QUANTITY_OUT_OF_RANGE = 3
    PRICE_NOT_ON_TICK = 4
    TRIGGER_NOT_ON_TICK = 5
    INVALID_DISPLAY_QUANTITY = 6
    INVALID_EXPIRE_TIME = 7
    DUPLICATE_CLIENT_ORDER_ID = 8
    UNKNOWN_ORDER = 9
    WRONG_TRADER = 10
    POST_ONLY_WOULD_TAKE = 11
    POST_ONLY_NOT_ALLOWED = 12
    REDUCE_ONLY_WOULD_INCREASE = 13
    QUANTITY_BELOW_FILLED = 14
    NOT_APPLICABLE = 15
    PRICE_OUT_OF_RANGE = 16
    REQUESTED = 20
    IOC_REMAINDER = 21
    FOK_NOT_FILLABLE = 22
    NO_LIQUIDITY = 23
    SELF_TRADE = 24
    REDUCE_ONLY_POSITION_CLOSED = 25
    EXPIRED_GTD = 26
    EXPIRED_DAY = 27


def reason_text(reason: int) -> str:
    """The native English description of a reason code (``"unknown reason"`` if unknown)."""
    if not 0 <= reason < 2**32:
        return "unknown reason"
    return str(_ffi.string(_lib.af_matching_reason_text(reason)).decode("utf-8"))


# -- record dtypes --------------------------------------------------------------------------------

_record_dtype = _native.numpy_dtype  # derived from the header, checked against the library

COMMAND_DTYPE: Final = _record_dtype("AfOrderCommand")
"""One command (``AfOrderCommand``, 72 bytes)."""
EVENT_DTYPE: Final = _record_dtype("AfMatchEvent")
"""One output event (``AfMatchEvent``, 88 bytes)."""
QUOTE_DTYPE: Final = _record_dtype("AfQuoteTick")
"""Backtest quote (``AfQuoteTick``)."""
TRADE_DTYPE: Final = _record_dtype("AfTradeTick")
"""Backtest trade print (``AfTradeTick``)."""
BAR_DTYPE: Final = _record_dtype("AfBar")
"""Backtest bar: the bar aggregator's ``AfBar`` (``ts_close`` is the bar time)."""
BOOK_DELTA_DTYPE: Final = _record_dtype("AfBookDelta")
"""Backtest L2 delta: the order book's ``AfBookDelta``."""
LEVEL_DTYPE: Final = _record_dtype("AfMatchLevel")
"""An aggregated level of resting orders (``AfMatchLevel``)."""
ORDER_INFO_DTYPE: Final = _record_dtype("AfOrderInfo")
"""A snapshot of an open order (``AfOrderInfo``)."""

# The IntEnum values above are the C ABI's; check them against the header once.
for _py, _c in (
    (EngineMode.BACKTEST, _lib.AF_MATCH_MODE_BACKTEST),
    (SelfTradePrevention.CANCEL_BOTH, _lib.AF_MATCH_STP_CANCEL_BOTH),
    (QueueModel.CONSERVATIVE, _lib.AF_MATCH_QUEUE_CONSERVATIVE),
    (CommandKind.CANCEL, _lib.AF_MATCH_CMD_CANCEL),
    (CommandFlag.MODIFY_TRIGGER, _lib.AF_MATCH_F_MODIFY_TRIGGER),
    (MatchEventKind.CANCEL_REJECTED, _lib.AF_MATCH_EVT_CANCEL_REJECTED),
    (Reason.EXPIRED_DAY, _lib.AF_MATCH_REASON_EXPIRED_DAY),
    (Reason.PRICE_OUT_OF_RANGE, _lib.AF_MATCH_REASON_PRICE_OUT_OF_RANGE),
    (OrderType.LIMIT_IF_TOUCHED, _lib.AF_MATCH_LIMIT_IF_TOUCHED),
    (TimeInForce.DAY, _lib.AF_MATCH_DAY),
    (OrderSide.SELL, _lib.AF_MATCH_SELL),
    (LiquiditySide.TAKER, _lib.AF_MATCH_TAKER),
    (AggressorSide.SELLER, _lib.AF_MATCH_AGGRESSOR_SELLER),
):
    if int(_py) != int(_c):  # pragma: no cover - only with a mismatched build
        raise ABIMismatch(f"{_py!r} != native {_c}")


# -- cold-path records ----------------------------------------------------------------------------


def _opt_side(value: int) -> OrderSide | None:
    return OrderSide(value) if value else None


def _opt_type(value: int) -> OrderType | None:
    return OrderType(value) if value else None


@attrs.frozen(slots=True)
class MatchEvent:
    """One engine event (the cold-path view of an :data:`EVENT_DTYPE` record).

    ``price``/``qty`` depend on ``kind``: fills carry the fill price and quantity (with
    ``fee``, ``liquidity``, ``trade_id``); ACCEPTED / TRIGGERED / UPDATED / *_REJECTED the
    order's price and total quantity; CANCELED / EXPIRED the quantity taken off the book.
    ``leaves`` is the open quantity after the event. Values are raw ints.
    """

    kind: MatchEventKind
    ts: int
    client_order_id: int
    venue_order_id: int
    trade_id: int
    trader_id: int
    side: OrderSide | None
    order_type: OrderType | None
    price: int
    trigger_price: int
    qty: int
    leaves: int
    fee: int
    liquidity: LiquiditySide
    reason: Reason

    @property
    def is_fill(self) -> bool:
        """FILLED or PARTIALLY_FILLED."""
        return self.kind in (MatchEventKind.FILLED, MatchEventKind.PARTIALLY_FILLED)

    @property
    def reason_text(self) -> str:
        """Text of :attr:`reason`."""
        return reason_text(self.reason)

    @classmethod
    def from_record(cls, rec: Any) -> MatchEvent:
        """Build from one :data:`EVENT_DTYPE` record (numpy void) or cffi ``AfMatchEvent``."""
        return cls(
            kind=MatchEventKind(int(rec["kind"])),
            ts=int(rec["ts"]),
            client_order_id=int(rec["client_order_id"]),
            venue_order_id=int(rec["venue_order_id"]),
            trade_id=int(rec["trade_id"]),
            trader_id=int(rec["trader_id"]),
            side=_opt_side(int(rec["side"])),
            order_type=_opt_type(int(rec["order_type"])),
            price=int(rec["price"]),
            trigger_price=int(rec["trigger_price"]),
            qty=int(rec["qty"]),
            leaves=int(rec["leaves"]),
            fee=int(rec["fee"]),
            liquidity=LiquiditySide(int(rec["liquidity"])),
            reason=Reason(int(rec["reason"])),
        )


@attrs.frozen(slots=True)
class Level:
    """An aggregated level of resting orders (raw values)."""

    price: int
    visible: int
    total: int
    orders: int


@attrs.frozen(slots=True)
class OpenOrder:
    """A snapshot of an open order (raw values).

    ``queue_ahead`` is the backtest queue-position estimate (``None`` when unknown or not
    applicable).
    """

    client_order_id: int
    venue_order_id: int
    trader_id: int
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    post_only: bool
    reduce_only: bool
    price: int
    trigger_price: int
    qty: int
    filled: int
    leaves: int
    visible: int
    display_qty: int
    expire_ts: int
    pending_trigger: bool
    queue_ahead: int | None


# -- value conversion -----------------------------------------------------------------------------


def _raw(value: object, precision: int, field: str) -> int:
    """A raw int at ``precision`` from int (already raw), Price/Quantity, Decimal or str."""
    if type(value) is int:
        return value
    if isinstance(value, (Price, Quantity)):
        if value.precision <= precision:
            return int(value.raw * 10 ** (precision - value.precision))
        scale = 10 ** (value.precision - precision)
        if value.raw % scale:
            raise PrecisionError(
                field, str(value), f"has more than the engine's {precision} fraction digits"
            )
        return int(value.raw // scale)
    if isinstance(value, (Decimal, str)):
        try:
            dec = Decimal(value)
        except InvalidOperation:
            raise InvalidValue(field, value, "not a decimal number") from None
        if not dec.is_finite():
            raise InvalidValue(field, value, "must be finite")
        scaled = dec.scaleb(precision)
        if scaled != scaled.to_integral_value():
            raise PrecisionError(
                field, str(value), f"has more than the engine's {precision} fraction digits"
            )
        return int(scaled)
    raise InvalidValue(
        field, value, "must be a raw int, Price, Quantity, Decimal or str (floats are not exact)"
    )


def _rate(value: object, field: str) -> tuple[int, int]:
    """A fee rate as (raw, precision)."""
    if type(value) is int:
        return value, 0
    if isinstance(value, (Decimal, str)):
        try:
            dec = Decimal(value)
        except InvalidOperation:
            raise InvalidValue(field, value, "not a decimal number") from None
        if not dec.is_finite():
            raise InvalidValue(field, value, "must be finite")
        exp = dec.as_tuple().exponent
        precision = max(0, -int(exp))
        if precision > 18:
            raise PrecisionError(field, str(value), "more than 18 fraction digits")
        return int(dec.scaleb(precision)), precision
    raise InvalidValue(field, value, "must be an int, Decimal or str")


class MatchingEngine:
    """A native matching engine for one instrument.

    Parameters
    ----------
    mode
        ``EngineMode`` or ``"exchange"`` / ``"backtest"``.
    price_precision, size_precision
        Fraction digits of raw prices and quantities (0..18).
    price_increment, size_increment
        Tick and lot size: raw ints, or values at the precisions (``"0.05"``).
    min_quantity, max_quantity
        Order quantity limits (0: none).
    maker_fee, taker_fee
        Fee rates as decimals (``"0.0002"``; negative = rebate). A fill's fee is
        ``price * qty * rate`` at ``fee_precision``, rounded half to even.
    fee_precision
        Fraction digits of fees in events.
    day_end_offset_ns
        DAY orders expire at UTC midnight plus this offset.
    self_trade
        Exchange-mode self-trade prevention.
    queue_model
        Backtest queue-position model.

    Raises
    ------
    InvalidValue
        A bad configuration value (the message names it).
    """

    __slots__ = ("_handle", "_price_precision", "_size_precision", "_mode", "__weakref__")

    def __init__(
        self,
        mode: EngineMode | str = EngineMode.EXCHANGE,
        *,
        price_precision: int = 0,
        size_precision: int = 0,
        price_increment: object = 1,
        size_increment: object = 1,
        min_quantity: object = 0,
        max_quantity: object = 0,
        maker_fee: object = 0,
        taker_fee: object = 0,
        fee_precision: int = 0,
        day_end_offset_ns: int = 0,
        self_trade: SelfTradePrevention = SelfTradePrevention.CANCEL_RESTING,
        queue_model: QueueModel = QueueModel.PROPORTIONAL,
    ) -> None:
        if isinstance(mode, str):
            try:
                mode = EngineMode[mode.upper()]
            except KeyError:
                raise InvalidValue("mode", mode, "must be 'exchange' or 'backtest'") from None
        for name, prec in (
            ("price_precision", price_precision),
            ("size_precision", size_precision),
            ("fee_precision", fee_precision),
        ):
            if type(prec) is not int or not 0 <= prec <= 18:
                raise InvalidValue(name, prec, "must be an int in 0..=18")
        maker_raw, maker_prec = _rate(maker_fee, "maker_fee")
        taker_raw, taker_prec = _rate(taker_fee, "taker_fee")
        rate_prec = max(maker_prec, taker_prec)
        config = _ffi.new("AfMatchingConfig *")
        _native.check(_lib.af_matching_config_default(int(mode), config))
        config.price_increment = _raw(price_increment, price_precision, "price_increment")
        config.size_increment = _raw(size_increment, size_precision, "size_increment")
        config.min_quantity = _raw(min_quantity, size_precision, "min_quantity")
        config.max_quantity = _raw(max_quantity, size_precision, "max_quantity")
        config.maker_fee_rate = maker_raw * 10 ** (rate_prec - maker_prec)
        config.taker_fee_rate = taker_raw * 10 ** (rate_prec - taker_prec)
        config.fee_rate_precision = rate_prec
        config.price_precision = price_precision
        config.size_precision = size_precision
        config.fee_precision = fee_precision
        config.day_end_offset_ns = day_end_offset_ns
        config.self_trade = int(self_trade)
        config.queue_model = int(queue_model)
        out = _ffi.new("AfMatchingEngine **")
        _native.check(_lib.af_matching_new(config, out))
        self._handle = _ffi.gc(out[0], _lib.af_matching_free)
        self._price_precision = price_precision
        self._size_precision = size_precision
        self._mode = EngineMode(mode)

    @property
    def mode(self) -> EngineMode:
        """EXCHANGE or BACKTEST."""
        return self._mode

    @property
    def price_precision(self) -> int:
        """Fraction digits of raw prices."""
        return self._price_precision

    @property
    def size_precision(self) -> int:
        """Fraction digits of raw quantities."""
        return self._size_precision

    def __repr__(self) -> str:
        return f"MatchingEngine({self._mode.name}, open_orders={len(self)})"

    # -- batches (hot path) --------------------------------------------------------------------

    def submit_batch(self, commands: npt.NDArray[Any]) -> int:
        """Process a :data:`COMMAND_DTYPE` array in order (zero-copy); returns how many.

        Raises
        ------
        InvalidValue
            Wrong dtype / layout, or a record with an unknown enum value or flag bits (the
            message names ``cmds[i].field``); nothing was processed.
        """
        ptr = _native.batch_pointer(commands, "AfOrderCommand", "commands")
        processed = _ffi.new("size_t *")
        _native.check(_lib.af_matching_submit_batch(self._handle, ptr, len(commands), processed))
        return int(processed[0])

    def process_quotes(self, quotes: npt.NDArray[Any]) -> None:
        """Backtest: apply a :data:`QUOTE_DTYPE` array in order."""
        ptr = _native.batch_pointer(quotes, "AfQuoteTick", "quotes")
        _native.check(_lib.af_matching_process_quotes(self._handle, ptr, len(quotes)))

    def process_trades(self, trades: npt.NDArray[Any]) -> None:
        """Backtest: apply a :data:`TRADE_DTYPE` array in order."""
        ptr = _native.batch_pointer(trades, "AfTradeTick", "trades")
        _native.check(_lib.af_matching_process_trades(self._handle, ptr, len(trades)))

    def process_bars(self, bars: npt.NDArray[Any]) -> None:
        """Backtest: replay a :data:`BAR_DTYPE` array (O, nearer extreme, other, C)."""
        ptr = _native.batch_pointer(bars, "AfBar", "bars")
        _native.check(_lib.af_matching_process_bars(self._handle, ptr, len(bars)))

    def apply_deltas(self, deltas: npt.NDArray[Any]) -> None:
        """Backtest: apply L2 deltas (:data:`BOOK_DELTA_DTYPE`, the order book's records)."""
        ptr = _native.batch_pointer(deltas, "AfBookDelta", "deltas")
        _native.check(_lib.af_matching_apply_deltas(self._handle, ptr, len(deltas)))

    def advance_time(self, ts: int) -> None:
        """Move the engine clock to ``ts`` (never back), expiring due GTD/DAY orders."""
        _native.check(_lib.af_matching_advance_time(self._handle, ts))

    def drain_into(self, buffer: npt.NDArray[Any]) -> int:
        """Move up to ``len(buffer)`` queued events into ``buffer``; returns how many.

        Events that do not fit stay queued for the next call (nothing is lost).
        """
        ptr = _native.batch_pointer(buffer, "AfMatchEvent", "buffer")
        if not buffer.flags.writeable:
            raise InvalidValue("buffer", "read-only", "expected a writable array")
        written = _ffi.new("size_t *")
        _native.check(_lib.af_matching_drain_events(self._handle, ptr, len(buffer), written))
        return int(written[0])

    def events(self, max_events: int | None = None) -> npt.NDArray[Any]:
        """Drain queued events (all, or at most ``max_events``) as an :data:`EVENT_DTYPE` array."""
        n = self.pending_events
        if max_events is not None:
            n = min(n, max_events)
        out = np.empty(n, dtype=EVENT_DTYPE)
        written = self.drain_into(out)
        return out[:written]

    def event_records(self, max_events: int | None = None) -> list[MatchEvent]:
        """Drain queued events as :class:`MatchEvent` objects (cold path)."""
        return [MatchEvent.from_record(rec) for rec in self.events(max_events)]

    @property
    def pending_events(self) -> int:
        """Number of queued events."""
        out = _ffi.new("size_t *")
        _native.check(_lib.af_matching_pending_events(self._handle, out))
        return int(out[0])

    # -- single commands (cold path) ------------------------------------------------------------

    def submit(
        self,
        client_order_id: int,
        side: OrderSide,
        qty: object,
        *,
        order_type: OrderType = OrderType.LIMIT,
        price: object = 0,
        trigger_price: object = 0,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_ts: int = 0,
        post_only: bool = False,
        reduce_only: bool = False,
        display_qty: object = 0,
        trader_id: int = 0,
        ts: int = 0,
    ) -> None:
        """Submit one order of any type. ``ts`` 0 means "now" (the engine clock)."""
        flags = (CommandFlag.POST_ONLY if post_only else 0) | (
            CommandFlag.REDUCE_ONLY if reduce_only else 0
        )
        self._one(
            kind=CommandKind.SUBMIT,
            ts=ts,
            client_order_id=client_order_id,
            price=_raw(price, self._price_precision, "price"),
            trigger_price=_raw(trigger_price, self._price_precision, "trigger_price"),
            qty=_raw(qty, self._size_precision, "qty"),
            display_qty=_raw(display_qty, self._size_precision, "display_qty"),
            expire_ts=expire_ts,
            trader_id=trader_id,
            flags=int(flags),
            side=int(side),
            order_type=int(order_type),
            time_in_force=int(time_in_force),
        )

    def submit_limit(
        self, client_order_id: int, side: OrderSide, price: object, qty: object, **kw: Any
    ) -> None:
        """Submit a LIMIT order (keywords as :meth:`submit`)."""
        self.submit(client_order_id, side, qty, order_type=OrderType.LIMIT, price=price, **kw)

    def submit_market(self, client_order_id: int, side: OrderSide, qty: object, **kw: Any) -> None:
        """Submit a MARKET order (never rests; the remainder is canceled)."""
        self.submit(client_order_id, side, qty, order_type=OrderType.MARKET, **kw)

    def submit_stop_market(
        self, client_order_id: int, side: OrderSide, trigger_price: object, qty: object, **kw: Any
    ) -> None:
        """Submit a STOP_MARKET order."""
        self.submit(
            client_order_id,
            side,
            qty,
            order_type=OrderType.STOP_MARKET,
            trigger_price=trigger_price,
            **kw,
        )

    def submit_stop_limit(
        self,
        client_order_id: int,
        side: OrderSide,
        trigger_price: object,
        price: object,
        qty: object,
        **kw: Any,
    ) -> None:
        """Submit a STOP_LIMIT order."""
        self.submit(
            client_order_id,
            side,
            qty,
            order_type=OrderType.STOP_LIMIT,
            trigger_price=trigger_price,
            price=price,
            **kw,
        )

    def submit_market_if_touched(
        self, client_order_id: int, side: OrderSide, trigger_price: object, qty: object, **kw: Any
    ) -> None:
        """Submit a MARKET_IF_TOUCHED order."""
        self.submit(
            client_order_id,
            side,
            qty,
            order_type=OrderType.MARKET_IF_TOUCHED,
            trigger_price=trigger_price,
            **kw,
        )

    def submit_limit_if_touched(
        self,
        client_order_id: int,
        side: OrderSide,
        trigger_price: object,
        price: object,
        qty: object,
        **kw: Any,
    ) -> None:
        """Submit a LIMIT_IF_TOUCHED order."""
        self.submit(
            client_order_id,
            side,
            qty,
            order_type=OrderType.LIMIT_IF_TOUCHED,
            trigger_price=trigger_price,
            price=price,
            **kw,
        )

    def modify(
        self,
        client_order_id: int,
        *,
        price: object = None,
        qty: object = None,
        trigger_price: object = None,
        trader_id: int = 0,
        ts: int = 0,
    ) -> None:
        """Modify an open order: ``None`` leaves a field unchanged; ``qty`` is the new total.

        A price change or size increase loses queue priority; a size decrease keeps it.
        """
        flags = 0
        raw_price = raw_trigger = raw_qty = 0
        if price is not None:
            flags |= CommandFlag.MODIFY_PRICE
            raw_price = _raw(price, self._price_precision, "price")
        if trigger_price is not None:
            flags |= CommandFlag.MODIFY_TRIGGER
            raw_trigger = _raw(trigger_price, self._price_precision, "trigger_price")
        if qty is not None:
            raw_qty = _raw(qty, self._size_precision, "qty")
            if raw_qty == 0:
                raise InvalidValue("qty", qty, "must be positive (None keeps the quantity)")
        self._one(
            kind=CommandKind.MODIFY,
            ts=ts,
            client_order_id=client_order_id,
            price=raw_price,
            trigger_price=raw_trigger,
            qty=raw_qty,
            trader_id=trader_id,
            flags=int(flags),
        )

    def cancel(self, client_order_id: int, *, trader_id: int = 0, ts: int = 0) -> None:
        """Cancel an open order (an unknown id becomes a CANCEL_REJECTED event)."""
        self._one(
            kind=CommandKind.CANCEL, ts=ts, client_order_id=client_order_id, trader_id=trader_id
        )

    def _one(self, **fields: int) -> None:
        rec = np.zeros(1, dtype=COMMAND_DTYPE)
        for name, value in fields.items():
            if value < 0 and COMMAND_DTYPE[name].kind == "u":
                raise InvalidValue(name, value, "must be >= 0")
            try:
                rec[name] = value
            except OverflowError:
                raise InvalidValue(name, value, "out of range for the record field") from None
        self.submit_batch(rec)

    # -- queries --------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Open orders (resting and waiting for a trigger)."""
        out = _ffi.new("size_t *")
        _native.check(_lib.af_matching_order_count(self._handle, out))
        return int(out[0])

    @property
    def clock(self) -> int:
        """Engine time: the largest timestamp seen (ns)."""
        out = _ffi.new("uint64_t *")
        _native.check(_lib.af_matching_clock(self._handle, out))
        return int(out[0])

    def best(self, side: OrderSide) -> Level | None:
        """Best level of resting orders on ``side`` (backtest: the user's orders)."""
        out = _ffi.new("AfMatchLevel *")
        status = _lib.af_matching_best(self._handle, int(side), out)
        if status == _lib.AF_ERR_NOT_FOUND:
            return None
        _native.check(status)
        return Level(int(out.price), int(out.visible), int(out.total), int(out.orders))

    def best_bid(self) -> Level | None:
        """Best resting bid level."""
        return self.best(OrderSide.BUY)

    def best_ask(self) -> Level | None:
        """Best resting ask level."""
        return self.best(OrderSide.SELL)

    def depth(self, side: OrderSide, levels: int = 10) -> list[Level]:
        """Up to ``levels`` resting levels of ``side``, best first."""
        if levels <= 0:
            return []
        buf = _ffi.new("AfMatchLevel[]", levels)
        written = _ffi.new("size_t *")
        _native.check(_lib.af_matching_depth(self._handle, int(side), buf, levels, written))
        return [
            Level(int(b.price), int(b.visible), int(b.total), int(b.orders))
            for b in buf[0 : written[0]]
        ]

    def order(self, client_order_id: int) -> OpenOrder | None:
        """Snapshot of an open order, or ``None`` (unknown or closed)."""
        out = _ffi.new("AfOrderInfo *")
        status = _lib.af_matching_order(self._handle, client_order_id, out)
        if status == _lib.AF_ERR_NOT_FOUND:
            return None
        _native.check(status)
        return OpenOrder(
            client_order_id=int(out.client_order_id),
            venue_order_id=int(out.venue_order_id),
            trader_id=int(out.trader_id),
            side=OrderSide(out.side),
            order_type=OrderType(out.order_type),
            time_in_force=TimeInForce(out.time_in_force),
            post_only=bool(out.flags & CommandFlag.POST_ONLY),
            reduce_only=bool(out.flags & CommandFlag.REDUCE_ONLY),
            price=int(out.price),
            trigger_price=int(out.trigger_price),
            qty=int(out.qty),
            filled=int(out.filled),
            leaves=int(out.leaves),
            visible=int(out.visible),
            display_qty=int(out.display_qty),
            expire_ts=int(out.expire_ts),
            pending_trigger=bool(out.pending_trigger),
            queue_ahead=None if out.queue_ahead < 0 else int(out.queue_ahead),
        )

    def position(self, trader_id: int = 0) -> int:
        """Net position (raw, > 0 long) of ``trader_id`` from this engine's fills."""
        out = _ffi.new("int64_t *")
        _native.check(_lib.af_matching_position(self._handle, trader_id, out))
        return int(out[0])

    def set_position(self, position: int, trader_id: int = 0) -> None:
        """Set the net position of ``trader_id`` (raw), e.g. a starting position."""
        _native.check(_lib.af_matching_set_position(self._handle, trader_id, position))
