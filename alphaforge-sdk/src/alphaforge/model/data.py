"""Market data: quotes, trades, bars and order-book deltas.

All timestamps are ``int`` nanoseconds since the Unix epoch (``ts_event``: when the venue says it
happened, ``ts_init``: when we built the object).

Validation policy: :class:`QuoteTick`, :class:`TradeTick` and :class:`OrderBookDelta` are on the
hottest path (built by adapters from already-validated :class:`~alphaforge.model.Price` /
:class:`~alphaforge.model.Quantity` values), so they carry **no runtime validators** -- the
field types are enforced by mypy. Crossed quotes are legal market data and are not rejected.
:class:`Bar`, :class:`BarSpecification`, :class:`BarType` and :class:`OrderBookDeltas` are built
far less often and validate their invariants.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.model.enums import (
    AggregationSource,
    AggressorSide,
    BarAggregation,
    BookAction,
    BookType,
    OrderSide,
    PriceType,
)
from alphaforge.model.identifiers import InstrumentId, TradeId
from alphaforge.model.values import Price, Quantity

__all__ = [
    "F_LAST",
    "F_SNAPSHOT",
    "AggregationSource",
    "AggressorSide",
    "Bar",
    "BarAggregation",
    "BarSpecification",
    "BarType",
    "BookAction",
    "BookType",
    "OrderBookDelta",
    "OrderBookDeltas",
    "OrderSide",
    "PriceType",
    "QuoteTick",
    "TradeTick",
]

F_LAST: Final = 1 << 7
"""Delta flag: last delta of an atomic batch (apply the batch, then publish)."""
F_SNAPSHOT: Final = 1 << 5
"""Delta flag: the delta is part of a snapshot."""


_SCALE: Final = tuple(10.0**-p for p in range(19))
_new = object.__new__


class QuoteTick:
    """Top of book: best bid and ask with sizes.

    Immutable and hashable. Stored as raw fixed-point integers (one price and one size
    precision), so the backtest builds a quote with :meth:`from_raw` for the cost of one small
    object; ``bid_price`` & co. are :class:`~alphaforge.model.Price` /
    :class:`~alphaforge.model.Quantity` views built on access. Indicators that want floats use
    ``bid_float`` / ``ask_float`` / ``mid_float``.

    Parameters
    ----------
    instrument_id, bid_price, ask_price, bid_size, ask_size
        The quote; prices (and sizes) of different precisions are stored at the finer one.
        Crossed quotes are legal market data and are not rejected.
    ts_event, ts_init
        Nanoseconds since the Unix epoch.
    """

    __slots__ = ("_iid", "_bid", "_ask", "_bid_size", "_ask_size", "_pp", "_sp", "_ts", "_ts_init")

    def __init__(
        self,
        instrument_id: InstrumentId,
        bid_price: Price,
        ask_price: Price,
        bid_size: Quantity,
        ask_size: Quantity,
        ts_event: int,
        ts_init: int,
    ) -> None:
        if bid_price.precision != ask_price.precision:  # store both at the finer precision
            pp = max(bid_price.precision, ask_price.precision)
            bid_price, ask_price = bid_price.rescale(pp), ask_price.rescale(pp)
        if bid_size.precision != ask_size.precision:
            sp = max(bid_size.precision, ask_size.precision)
            bid_size, ask_size = bid_size.rescale(sp), ask_size.rescale(sp)
        self._iid = instrument_id
        self._bid, self._ask = bid_price.raw, ask_price.raw
        self._bid_size, self._ask_size = bid_size.raw, ask_size.raw
        self._pp, self._sp = bid_price.precision, bid_size.precision
        self._ts, self._ts_init = ts_event, ts_init

    @classmethod
    def from_raw(
        cls,
        instrument_id: InstrumentId,
        bid_raw: int,
        ask_raw: int,
        bid_size_raw: int,
        ask_size_raw: int,
        price_precision: int,
        size_precision: int,
        ts_event: int,
        ts_init: int,
    ) -> QuoteTick:
        """Build from raw integers without checks (the replay path; inputs are validated
        columns)."""
        self = _new(cls)
        self._iid = instrument_id
        self._bid, self._ask, self._bid_size, self._ask_size = (
            bid_raw, ask_raw, bid_size_raw, ask_size_raw,
        )  # fmt: skip
        self._pp, self._sp, self._ts, self._ts_init = (
            price_precision, size_precision, ts_event, ts_init,
        )  # fmt: skip
        return self

    instrument_id = property(lambda self: self._iid, doc="The instrument.")
    bid_raw = property(lambda self: self._bid, doc="Raw bid price at ``price_precision``.")
    ask_raw = property(lambda self: self._ask, doc="Raw ask price at ``price_precision``.")
    bid_size_raw = property(lambda self: self._bid_size, doc="Raw bid size.")
    ask_size_raw = property(lambda self: self._ask_size, doc="Raw ask size.")
    price_precision = property(lambda self: self._pp, doc="Precision of the prices.")
    size_precision = property(lambda self: self._sp, doc="Precision of the sizes.")
    ts_event = property(lambda self: self._ts, doc="Venue timestamp (ns).")
    ts_init = property(lambda self: self._ts_init, doc="Local creation timestamp (ns).")

    @property
    def bid_price(self) -> Price:
        return Price.from_raw(self._bid, self._pp)

    @property
    def ask_price(self) -> Price:
        return Price.from_raw(self._ask, self._pp)

    @property
    def bid_size(self) -> Quantity:
        return Quantity.from_raw(self._bid_size, self._sp)

    @property
    def ask_size(self) -> Quantity:
        return Quantity.from_raw(self._ask_size, self._sp)

    @property
    def bid_float(self) -> float:
        return self._bid * _SCALE[self._pp]

    @property
    def ask_float(self) -> float:
        return self._ask * _SCALE[self._pp]

    @property
    def mid_float(self) -> float:
        return (self._bid + self._ask) * 0.5 * _SCALE[self._pp]

    def _key(self) -> tuple[object, ...]:
        return (self._iid, self.bid_price, self.ask_price, self.bid_size, self.ask_size,
                self._ts, self._ts_init)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if type(other) is not QuoteTick:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"QuoteTick({self._iid}, bid={self.bid_price}x{self.bid_size}, "
            f"ask={self.ask_price}x{self.ask_size}, ts_event={self._ts})"
        )


class TradeTick:
    """A trade print; immutable, raw-backed like :class:`QuoteTick`.

    Parameters
    ----------
    instrument_id, price, size, aggressor_side, trade_id
        The trade.
    ts_event, ts_init
        Nanoseconds since the Unix epoch.
    """

    __slots__ = ("_iid", "_px", "_size", "_pp", "_sp", "_side", "_trade_id", "_ts", "_ts_init")

    def __init__(
        self,
        instrument_id: InstrumentId,
        price: Price,
        size: Quantity,
        aggressor_side: AggressorSide,
        trade_id: TradeId,
        ts_event: int,
        ts_init: int,
    ) -> None:
        self._iid = instrument_id
        self._px, self._pp = price.raw, price.precision
        self._size, self._sp = size.raw, size.precision
        self._side, self._trade_id = aggressor_side, str(trade_id)
        self._ts, self._ts_init = ts_event, ts_init

    @classmethod
    def from_raw(
        cls,
        instrument_id: InstrumentId,
        price_raw: int,
        size_raw: int,
        price_precision: int,
        size_precision: int,
        aggressor_side: AggressorSide,
        trade_id: str,
        ts_event: int,
        ts_init: int,
    ) -> TradeTick:
        """Build from raw integers without checks (the replay path)."""
        self = _new(cls)
        self._iid, self._px, self._size, self._pp, self._sp = (
            instrument_id, price_raw, size_raw, price_precision, size_precision,
        )  # fmt: skip
        self._side, self._trade_id, self._ts, self._ts_init = (
            aggressor_side, trade_id, ts_event, ts_init,
        )  # fmt: skip
        return self

    instrument_id = property(lambda self: self._iid, doc="The instrument.")
    price_raw = property(lambda self: self._px, doc="Raw price at ``price_precision``.")
    size_raw = property(lambda self: self._size, doc="Raw size at ``size_precision``.")
    price_precision = property(lambda self: self._pp, doc="Precision of the price.")
    size_precision = property(lambda self: self._sp, doc="Precision of the size.")
    aggressor_side = property(lambda self: self._side, doc="Who took liquidity.")
    ts_event = property(lambda self: self._ts, doc="Venue timestamp (ns).")
    ts_init = property(lambda self: self._ts_init, doc="Local creation timestamp (ns).")

    @property
    def price(self) -> Price:
        return Price.from_raw(self._px, self._pp)

    @property
    def size(self) -> Quantity:
        return Quantity.from_raw(self._size, self._sp)

    @property
    def trade_id(self) -> TradeId:
        return TradeId(self._trade_id)

    @property
    def price_float(self) -> float:
        return self._px * _SCALE[self._pp]

    def _key(self) -> tuple[object, ...]:
        return (self._iid, self.price, self.size, self._side, self._trade_id, self._ts,
                self._ts_init)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if type(other) is not TradeTick:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"TradeTick({self._iid}, {self.price}x{self.size}, {self._side.name}, "
            f"trade_id={self._trade_id!r}, ts_event={self._ts})"
        )


_AGG_BY_NAME: Final = {a.name: a for a in BarAggregation}
_PRICE_TYPE_BY_NAME: Final = {p.name: p for p in PriceType}
_SOURCE_BY_NAME: Final = {s.name: s for s in AggregationSource}

BAR_UNIT_NS: Final = {
    BarAggregation.SECOND: 1_000_000_000,
    BarAggregation.MINUTE: 60_000_000_000,
    BarAggregation.HOUR: 3_600_000_000_000,
    BarAggregation.DAY: 86_400_000_000_000,
}
"""Nanoseconds per unit of the time aggregations."""


@attrs.frozen(slots=True)
class BarSpecification:
    """What a bar aggregates: ``step`` units of ``aggregation`` over ``price_type``.

    ``str()`` gives ``"1-MINUTE-LAST"``.

    Raises
    ------
    InvalidValue
        ``step`` not a positive int, or an enum field of the wrong type.
    """

    step: int
    aggregation: BarAggregation
    price_type: PriceType

    def __attrs_post_init__(self) -> None:
        if type(self.step) is not int or self.step <= 0:
            raise InvalidValue("step", self.step, "must be a positive int")
        if type(self.aggregation) is not BarAggregation:
            raise InvalidValue("aggregation", self.aggregation, "must be a BarAggregation")
        if type(self.price_type) is not PriceType:
            raise InvalidValue("price_type", self.price_type, "must be a PriceType")

    def __str__(self) -> str:
        return f"{self.step}-{self.aggregation.name}-{self.price_type.name}"

    @property
    def duration_ns(self) -> int | None:
        """A time bar's length in nanoseconds; ``None`` for tick, volume and value bars."""
        unit = BAR_UNIT_NS.get(self.aggregation)
        return None if unit is None else self.step * unit

    @classmethod
    def from_str(cls, value: str) -> BarSpecification:
        """Parse ``"STEP-AGGREGATION-PRICE_TYPE"`` (e.g. ``"5-MINUTE-LAST"``)."""
        parts = value.split("-") if type(value) is str else []
        if len(parts) != 3:
            raise InvalidValue(
                "bar_spec", value, "must have the form 'STEP-AGGREGATION-PRICE_TYPE'"
            )
        return cls(*_parse_spec_parts(parts[0], parts[1], parts[2], value))


def _parse_spec_parts(
    step: str, agg: str, price_type: str, whole: str
) -> tuple[int, BarAggregation, PriceType]:
    if not (step.isascii() and step.isdigit()):
        raise InvalidValue("step", step, f"in {whole!r}: must be a positive integer")
    aggregation = _AGG_BY_NAME.get(agg)
    if aggregation is None:
        raise InvalidValue("aggregation", agg, f"in {whole!r}: unknown bar aggregation")
    ptype = _PRICE_TYPE_BY_NAME.get(price_type)
    if ptype is None:
        raise InvalidValue("price_type", price_type, f"in {whole!r}: unknown price type")
    return int(step), aggregation, ptype


@attrs.frozen(slots=True)
class BarType:
    """A bar stream: instrument + specification + source.

    ``str()`` gives ``"BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"``; :meth:`from_str` round-trips
    it (the instrument id may itself contain ``-``).
    """

    instrument_id: InstrumentId
    spec: BarSpecification
    source: AggregationSource = AggregationSource.EXTERNAL

    def __attrs_post_init__(self) -> None:
        if type(self.instrument_id) is not InstrumentId:
            raise InvalidValue("instrument_id", self.instrument_id, "must be an InstrumentId")
        if type(self.spec) is not BarSpecification:
            raise InvalidValue("spec", self.spec, "must be a BarSpecification")
        if type(self.source) is not AggregationSource:
            raise InvalidValue("source", self.source, "must be an AggregationSource")

    def __str__(self) -> str:
        return f"{self.instrument_id}-{self.spec}-{self.source.name}"

    @classmethod
    def from_str(cls, value: str) -> BarType:
        """Parse ``"SYMBOL.VENUE-STEP-AGGREGATION-PRICE_TYPE-SOURCE"``.

        Raises
        ------
        InvalidValue
            Wrong number of parts or an unknown token (the message names it).
        """
        parts = value.rsplit("-", 4) if type(value) is str else []
        if len(parts) != 5:
            raise InvalidValue(
                "bar_type",
                value,
                "must have the form 'SYMBOL.VENUE-STEP-AGGREGATION-PRICE_TYPE-SOURCE'",
            )
        iid, step, agg, ptype, src = parts
        source = _SOURCE_BY_NAME.get(src)
        if source is None:
            raise InvalidValue("source", src, f"in {value!r}: unknown aggregation source")
        spec = BarSpecification(*_parse_spec_parts(step, agg, ptype, value))
        return cls(InstrumentId.from_str(iid), spec, source)


@attrs.frozen(slots=True)
class Bar:
    """An OHLCV bar.

    Raises
    ------
    InvalidValue
        ``high < max(open, close)``, ``low > min(open, close)`` or ``ts_init``/``ts_event``
        negative. The message names the field and value.
    """

    bar_type: BarType
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Quantity
    ts_event: int
    ts_init: int

    def __attrs_post_init__(self) -> None:
        o, h, lo, c = self.open, self.high, self.low, self.close
        if h < o or h < c or h < lo:
            raise InvalidValue("high", str(h), f"must be >= open {o}, close {c} and low {lo}")
        if lo > o or lo > c:
            raise InvalidValue("low", str(lo), f"must be <= open {o} and close {c}")
        if self.ts_event < 0:
            raise InvalidValue("ts_event", self.ts_event, "must be >= 0")
        if self.ts_init < 0:
            raise InvalidValue("ts_init", self.ts_init, "must be >= 0")


@attrs.frozen(slots=True)
class OrderBookDelta:
    """One change to an order book.

    Parameters
    ----------
    instrument_id
        The book's instrument.
    action
        ADD / UPDATE / DELETE / CLEAR.
    side
        BUY (bid) or SELL (ask); ``NO_SIDE`` for CLEAR.
    price, size
        Level price and the new size (L2) or order size (L3).
    order_id
        Venue order id for L3 (MBO) books, ``0`` otherwise.
    flags
        Bit set of :data:`F_LAST`, :data:`F_SNAPSHOT`.
    sequence
        Venue sequence number (``0`` when the venue has none).
    ts_event, ts_init
        Nanoseconds since the Unix epoch.

    Not validated at runtime (hot path); the book applying it validates.
    """

    instrument_id: InstrumentId
    action: BookAction
    side: OrderSide
    price: Price
    size: Quantity
    order_id: int
    flags: int
    sequence: int
    ts_event: int
    ts_init: int

    @property
    def is_last(self) -> bool:
        """Whether :data:`F_LAST` is set."""
        return bool(self.flags & F_LAST)

    @property
    def is_snapshot(self) -> bool:
        """Whether :data:`F_SNAPSHOT` is set."""
        return bool(self.flags & F_SNAPSHOT)


def _delta_tuple(deltas: Iterable[OrderBookDelta]) -> tuple[OrderBookDelta, ...]:
    return deltas if type(deltas) is tuple else tuple(deltas)


@attrs.frozen(slots=True)
class OrderBookDeltas:
    """A batch of deltas for one instrument, applied atomically.

    Parameters
    ----------
    instrument_id
        The instrument every delta must belong to.
    deltas
        Non-empty tuple of deltas (a list is converted to a tuple).

    Raises
    ------
    InvalidValue
        Empty batch or a delta for another instrument.
    """

    instrument_id: InstrumentId
    deltas: tuple[OrderBookDelta, ...] = attrs.field(converter=_delta_tuple)

    def __attrs_post_init__(self) -> None:
        if not self.deltas:
            raise InvalidValue("deltas", self.deltas, "must not be empty")
        iid = self.instrument_id
        for i, d in enumerate(self.deltas):
            if d.instrument_id != iid:
                raise InvalidValue(
                    f"deltas[{i}].instrument_id", str(d.instrument_id), f"batch is for {iid}"
                )

    def __len__(self) -> int:
        return len(self.deltas)

    @property
    def flags(self) -> int:
        """Flags of the last delta."""
        return self.deltas[-1].flags

    @property
    def sequence(self) -> int:
        """Sequence of the last delta."""
        return self.deltas[-1].sequence

    @property
    def ts_event(self) -> int:
        """``ts_event`` of the last delta."""
        return self.deltas[-1].ts_event

    @property
    def ts_init(self) -> int:
        """``ts_init`` of the last delta."""
        return self.deltas[-1].ts_init
