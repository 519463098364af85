"""Parsers for Binance public market data (Spot and USD-M; WS streams and REST).

Every parser is a pure function of the decoded JSON (``dict``) and the instrument, returns
AlphaForge values on the instrument's price / size grid, and raises
:class:`~alphaforge.errors.InvalidValue` naming the field for anything malformed. Combined-stream
envelopes (``{"stream": ..., "data": ...}``) are accepted everywhere.

===============  ==============================================================================
stream           result
===============  ==============================================================================
``trade``        :class:`~alphaforge.model.TradeTick` (id ``t``; ``m`` = buyer is maker, so
                 the aggressor is the SELLER)
``aggTrade``     :class:`~alphaforge.model.TradeTick` (id ``a``)
``bookTicker``   :class:`~alphaforge.model.QuoteTick` (``ts_event`` = ``T``, else ``E``, else
                 ``ts_init``: spot bookTicker frames carry no time)
``kline``        :class:`~alphaforge.model.Bar` for closed klines (``x``), ``None`` for open
                 ones; stamped at close time + 1 ms (no look-ahead)
``depthUpdate``  :class:`~alphaforge.adapters.BookUpdate` (``U``/``u``, USD-M ``pu``), at
                 :func:`book_precisions`
REST ``depth``   :class:`~alphaforge.adapters.BookSnapshot` (``lastUpdateId``)
===============  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from alphaforge.adapters import BookSnapshot, BookUpdate, Level
from alphaforge.adapters.parsing import (
    as_bool,
    as_int,
    as_mapping,
    as_str,
    field,
    ms_to_ns,
    parse_price,
    parse_quantity,
    raw_at,
)
from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.model import (
    AggressorSide,
    Bar,
    BarAggregation,
    BarSpecification,
    BarType,
    Instrument,
    PriceType,
    QuoteTick,
    TradeTick,
)
from alphaforge_binance.common import BinanceMarket

__all__ = [
    "BOOK_PRECISION",
    "bar_spec_from_interval",
    "book_precisions",
    "parse_agg_trade",
    "parse_book_ticker",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_kline",
    "parse_trade",
    "unwrap",
]

_INTERVAL_UNITS: Final = {
    "s": BarAggregation.SECOND,
    "m": BarAggregation.MINUTE,
    "h": BarAggregation.HOUR,
    "d": BarAggregation.DAY,
}


def unwrap(msg: object, path: str = "msg") -> Mapping[str, Any]:
    """The payload of a combined-stream (``data``) or user-stream (``event``) envelope."""
    m = as_mapping(msg, path)
    if "data" in m and "stream" in m:
        return as_mapping(m["data"], f"{path}.data")
    if "event" in m and "subscriptionId" in m:
        return as_mapping(m["event"], f"{path}.event")
    return m


def _event(msg: object, kind: str) -> Mapping[str, Any]:
    m = unwrap(msg, kind)
    e = m.get("e")
    if e is not None and e != kind:
        raise InvalidValue(f"{kind}.e", e, f"expected a {kind!r} event")
    return m


def _aggressor(m: Mapping[str, Any], path: str) -> AggressorSide:
    buyer_maker = as_bool(field(m, "m", path), f"{path}.m")
    return AggressorSide.SELLER if buyer_maker else AggressorSide.BUYER


def _check_symbol(m: Mapping[str, Any], inst: Instrument, path: str) -> None:
    sym = m.get("s")
    if sym is not None and sym != inst.raw_symbol.value:
        raise InvalidValue(f"{path}.s", sym, f"is not {inst.raw_symbol}")


def parse_trade(msg: object, instrument: Instrument, ts_init: int = 0) -> TradeTick:
    """A ``trade`` stream event (or a REST ``/trades`` row) as a trade tick."""
    m = _event(msg, "trade")
    _check_symbol(m, instrument, "trade")
    if "isBuyerMaker" in m:  # REST /api/v3/trades, /fapi/v1/trades row
        m = {"p": m.get("price"), "q": m.get("qty"), "t": m.get("id"), "T": m.get("time"),
             "m": m.get("isBuyerMaker")}  # fmt: skip
    pp, sp = instrument.price_precision, instrument.size_precision
    # Raw integers straight into the tick (every field is validated here): the hot path.
    return TradeTick.from_raw(
        instrument.id,
        raw_at(field(m, "p", "trade"), pp, "trade.p"),
        raw_at(field(m, "q", "trade"), sp, "trade.q"),
        pp,
        sp,
        _aggressor(m, "trade"),
        str(as_int(field(m, "t", "trade"), "trade.t")),
        ms_to_ns(field(m, "T", "trade"), "trade.T"),
        ts_init,
    )


def parse_agg_trade(msg: object, instrument: Instrument, ts_init: int = 0) -> TradeTick:
    """An ``aggTrade`` stream event (or a REST ``/aggTrades`` row) as a trade tick."""
    m = _event(msg, "aggTrade")
    _check_symbol(m, instrument, "aggTrade")
    pp, sp = instrument.price_precision, instrument.size_precision
    return TradeTick.from_raw(
        instrument.id,
        raw_at(field(m, "p", "aggTrade"), pp, "aggTrade.p"),
        raw_at(field(m, "q", "aggTrade"), sp, "aggTrade.q"),
        pp,
        sp,
        _aggressor(m, "aggTrade"),
        str(as_int(field(m, "a", "aggTrade"), "aggTrade.a")),
        ms_to_ns(field(m, "T", "aggTrade"), "aggTrade.T"),
        ts_init,
    )


def parse_book_ticker(msg: object, instrument: Instrument, ts_init: int = 0) -> QuoteTick:
    """A ``bookTicker`` event (WS, or a REST ``/ticker/bookTicker`` row) as a quote."""
    m = _event(msg, "bookTicker")
    _check_symbol(m, instrument, "bookTicker")
    if "bidPrice" in m:  # REST row
        m = {"b": m.get("bidPrice"), "B": m.get("bidQty"), "a": m.get("askPrice"),
             "A": m.get("askQty"), "T": m.get("time")}  # fmt: skip
    pp, sp = instrument.price_precision, instrument.size_precision
    ts = m.get("T") or m.get("E")
    return QuoteTick.from_raw(
        instrument.id,
        raw_at(field(m, "b", "bookTicker"), pp, "bookTicker.b"),
        raw_at(field(m, "a", "bookTicker"), pp, "bookTicker.a"),
        raw_at(field(m, "B", "bookTicker"), sp, "bookTicker.B"),
        raw_at(field(m, "A", "bookTicker"), sp, "bookTicker.A"),
        pp,
        sp,
        ms_to_ns(ts, "bookTicker.T") if ts is not None else ts_init,
        ts_init,
    )


def bar_spec_from_interval(interval: object) -> BarSpecification:
    """``"1m"`` -> ``1-MINUTE-LAST`` (weeks and months have no fixed length: rejected)."""
    text = as_str(interval, "kline.i")
    unit = _INTERVAL_UNITS.get(text[-1:])
    step = text[:-1]
    if unit is None or not step.isdigit() or int(step) <= 0:
        raise InvalidValue("kline.i", interval, "must be <n>s, <n>m, <n>h or <n>d")
    return BarSpecification(int(step), unit, PriceType.LAST)


KLINE_INTERVALS: Final = frozenset(
    {"1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d"}
)
"""The fixed-length kline intervals Binance streams (``1w`` and ``1M`` are calendar-based)."""


def kline_interval(spec: BarSpecification) -> str:
    """``1-MINUTE-LAST`` -> ``"1m"``; ``NotSupported`` for what Binance does not stream."""
    units = {unit: letter for letter, unit in _INTERVAL_UNITS.items()}
    interval = f"{spec.step}{units.get(spec.aggregation, '?')}"
    if spec.price_type is not PriceType.LAST or interval not in KLINE_INTERVALS:
        raise NotSupported(
            "bars", str(spec), f"Binance klines are LAST bars of {sorted(KLINE_INTERVALS)}"
        )
    return interval


def parse_kline(msg: object, instrument: Instrument, ts_init: int = 0) -> Bar | None:
    """A ``kline`` event as an EXTERNAL bar once closed (``k.x``); ``None`` while open."""
    m = _event(msg, "kline")
    _check_symbol(m, instrument, "kline")
    k = as_mapping(field(m, "k", "kline"), "kline.k")
    if not as_bool(field(k, "x", "kline.k"), "kline.k.x"):
        return None
    pp, sp = instrument.price_precision, instrument.size_precision
    bar_type = BarType(instrument.id, bar_spec_from_interval(field(k, "i", "kline.k")))
    close_ns = ms_to_ns(field(k, "T", "kline.k"), "kline.k.T") + 1_000_000
    try:
        return Bar(
            bar_type,
            parse_price(field(k, "o", "kline.k"), pp, "kline.k.o"),
            parse_price(field(k, "h", "kline.k"), pp, "kline.k.h"),
            parse_price(field(k, "l", "kline.k"), pp, "kline.k.l"),
            parse_price(field(k, "c", "kline.k"), pp, "kline.k.c"),
            parse_quantity(field(k, "v", "kline.k"), sp, "kline.k.v"),
            close_ns,
            ts_init,
        )
    except InvalidValue as exc:
        raise InvalidValue(f"kline.k.{exc.field}", exc.value, exc.reason) from None


BOOK_PRECISION: Final = 8
"""Binance prints prices and quantities with 8 decimals; books keep (at least) that."""


def book_precisions(instrument: Instrument) -> tuple[int, int]:
    """(price, size) precisions of a Binance book: resting orders placed before a tick or lot
    change stay off today's grid, so a book cannot use the instrument's precisions."""
    return (
        max(instrument.price_precision, BOOK_PRECISION),
        max(instrument.size_precision, BOOK_PRECISION),
    )


def _levels(value: object, instrument: Instrument, path: str) -> tuple[Level, ...]:
    if not isinstance(value, list):
        raise InvalidValue(path, value, "must be a list of [price, qty]")
    pp, sp = book_precisions(instrument)
    out: list[Level] = []
    for i, level in enumerate(value):
        if not isinstance(level, list) or len(level) < 2:
            raise InvalidValue(f"{path}[{i}]", level, "must be [price, qty]")
        try:  # the field path is only built on an error: levels are the hot loop
            out.append((raw_at(level[0], pp, "price"), raw_at(level[1], sp, "qty")))
        except InvalidValue as exc:
            raise InvalidValue(f"{path}[{i}].{exc.field}", exc.value, exc.reason) from None
    return tuple(out)


def parse_depth_update(
    msg: object, instrument: Instrument, market: BinanceMarket, ts_init: int = 0
) -> BookUpdate:
    """A diff-depth ``depthUpdate`` event as a :class:`~alphaforge.adapters.BookUpdate`.

    ``first_seq``/``last_seq`` are ``U``/``u``; USD-M events also carry ``pu`` (``prev_seq``),
    which the USD-M sync rule requires.
    """
    m = _event(msg, "depthUpdate")
    _check_symbol(m, instrument, "depthUpdate")
    first = as_int(field(m, "U", "depthUpdate"), "depthUpdate.U")
    last = as_int(field(m, "u", "depthUpdate"), "depthUpdate.u")
    if first > last:
        raise InvalidValue("depthUpdate.U", first, f"must be <= u {last}")
    prev = None
    if market is BinanceMarket.USDM:
        prev = as_int(field(m, "pu", "depthUpdate"), "depthUpdate.pu", minimum=None)
        if prev < 0:  # the first event after a stream reset has pu=-1 (nothing before it)
            prev = None
    ts = m.get("T") or m.get("E")
    return BookUpdate(
        instrument_id=instrument.id,
        first_seq=first,
        last_seq=last,
        prev_seq=prev,
        bids=_levels(field(m, "b", "depthUpdate"), instrument, "depthUpdate.b"),
        asks=_levels(field(m, "a", "depthUpdate"), instrument, "depthUpdate.a"),
        ts_event=ms_to_ns(ts, "depthUpdate.E") if ts is not None else ts_init,
    )


def parse_depth_snapshot(payload: object, instrument: Instrument) -> BookSnapshot:
    """A REST ``/api/v3/depth`` or ``/fapi/v1/depth`` body as a book snapshot."""
    m = as_mapping(payload, "depth")
    ts = m.get("T") or m.get("E")
    bids = _levels(field(m, "bids", "depth"), instrument, "depth.bids")
    asks = _levels(field(m, "asks", "depth"), instrument, "depth.asks")
    for side, levels in (("bids", bids), ("asks", asks)):
        for i, (_, size) in enumerate(levels):
            if size <= 0:
                raise InvalidValue(f"depth.{side}[{i}].qty", size, "must be > 0 in a snapshot")
    return BookSnapshot(
        instrument_id=instrument.id,
        sequence=as_int(field(m, "lastUpdateId", "depth"), "depth.lastUpdateId"),
        bids=bids,
        asks=asks,
        ts_event=ms_to_ns(ts, "depth.T") if ts is not None else 0,
    )
