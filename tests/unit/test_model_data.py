"""Behaviour of market data types."""

from __future__ import annotations

import pytest

from alphaforge.errors import InvalidValue
from alphaforge.model import (
    F_LAST,
    F_SNAPSHOT,
    AggregationSource,
    AggressorSide,
    Bar,
    BarAggregation,
    BarSpecification,
    BarType,
    BookAction,
    BookType,
    InstrumentId,
    OrderBookDelta,
    OrderBookDeltas,
    OrderSide,
    Price,
    PriceType,
    Quantity,
    QuoteTick,
    TradeId,
    TradeTick,
)

IID = InstrumentId.from_str("BTCUSDT.BINANCE")


def test_abi_enum_values() -> None:
    assert (BookAction.ADD, BookAction.UPDATE, BookAction.DELETE, BookAction.CLEAR) == (1, 2, 3, 4)
    assert (OrderSide.BUY, OrderSide.SELL) == (1, 2)
    assert (BookType.L1_MBP, BookType.L2_MBP, BookType.L3_MBO) == (1, 2, 3)
    assert F_LAST == 128 and F_SNAPSHOT == 32


def test_quote_and_trade_ticks_are_frozen_values() -> None:
    q = QuoteTick(IID, Price("1.0"), Price("1.1"), Quantity("2"), Quantity("3"), 10, 11)
    assert q == QuoteTick(IID, Price("1.00"), Price("1.1"), Quantity("2"), Quantity("3"), 10, 11)
    assert hash(q) == hash(
        QuoteTick(IID, Price("1.0"), Price("1.1"), Quantity("2"), Quantity("3"), 10, 11)
    )
    with pytest.raises(AttributeError):
        q.ts_event = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        q.extra = 1  # type: ignore[attr-defined]
    assert (q.bid_raw, q.ask_raw, q.price_precision) == (10, 11, 1)
    assert q.mid_float == pytest.approx(1.05)
    fast = QuoteTick.from_raw(IID, 10, 11, 2, 3, 1, 0, 10, 11)
    assert fast == q and fast.bid_price == Price("1.0") and fast.ask_size == Quantity("3")
    t = TradeTick(IID, Price("1"), Quantity("1"), AggressorSide.BUYER, TradeId("T1"), 1, 2)
    assert t.trade_id == TradeId("T1") and t.aggressor_side == AggressorSide.BUYER


def test_bar_spec_and_type_round_trip() -> None:
    spec = BarSpecification(1, BarAggregation.MINUTE, PriceType.LAST)
    assert str(spec) == "1-MINUTE-LAST" and BarSpecification.from_str("1-MINUTE-LAST") == spec
    bt = BarType(IID, spec)
    assert str(bt) == "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"
    assert BarType.from_str(str(bt)) == bt
    bt2 = BarType(
        InstrumentId.from_str("BTC-USDT.OKX"),
        BarSpecification(250, BarAggregation.TICK, PriceType.MID),
        AggregationSource.INTERNAL,
    )
    assert str(bt2) == "BTC-USDT.OKX-250-TICK-MID-INTERNAL"
    assert BarType.from_str(str(bt2)) == bt2
    assert spec.duration_ns == 60_000_000_000
    assert BarSpecification.from_str("4-HOUR-LAST").duration_ns == 4 * 3_600_000_000_000
    assert bt2.spec.duration_ns is None  # tick bars have no fixed length


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("BTCUSDT.BINANCE-1-MINUTE-LAST", "bar_type"),
        ("BTCUSDT.BINANCE-1-MINUTE-LAST-SOMEWHERE", "source"),
        ("BTCUSDT.BINANCE-x-MINUTE-LAST-EXTERNAL", "step"),
        ("BTCUSDT.BINANCE-0-MINUTE-LAST-EXTERNAL", "step"),
        ("BTCUSDT.BINANCE-1-WEEK-LAST-EXTERNAL", "aggregation"),
        ("BTCUSDT.BINANCE-1-MINUTE-CLOSE-EXTERNAL", "price_type"),
        ("BTCUSDT-1-MINUTE-LAST-EXTERNAL", "instrument_id"),
        ("1-MINUTE-LAST", "bar_type"),
    ],
)
def test_bar_type_from_str_errors(text: str, field: str) -> None:
    with pytest.raises(InvalidValue) as ei:
        BarType.from_str(text)
    assert ei.value.field == field


def test_bar_spec_validation() -> None:
    with pytest.raises(InvalidValue) as ei:
        BarSpecification(0, BarAggregation.MINUTE, PriceType.LAST)
    assert ei.value.field == "step" and ei.value.value == 0
    with pytest.raises(InvalidValue) as ei:
        BarSpecification(1, 5, PriceType.LAST)  # type: ignore[arg-type]
    assert ei.value.field == "aggregation"
    with pytest.raises(InvalidValue) as ei:
        BarSpecification.from_str("1-MINUTE")
    assert ei.value.field == "bar_spec"
    with pytest.raises(InvalidValue) as ei:
        BarType("X", BarSpecification(1, BarAggregation.DAY, PriceType.BID))  # type: ignore[arg-type]
    assert ei.value.field == "instrument_id"


def _bar(o: str, h: str, lo: str, c: str) -> Bar:
    bt = BarType.from_str("BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL")
    return Bar(bt, Price(o), Price(h), Price(lo), Price(c), Quantity("10"), 1, 2)


def test_bar_valid() -> None:
    b = _bar("10", "12", "9", "11")
    assert b.high == Price("12") and b.volume == Quantity("10")
    _bar("10", "10", "10", "10")


@pytest.mark.parametrize(
    ("ohlc", "field"),
    [
        (("10", "9.5", "9", "9"), "high"),  # high < open
        (("10", "12", "9", "12.5"), "high"),  # high < close
        (("10", "12", "10.5", "11"), "low"),  # low > open
        (("10", "12", "9", "8"), "low"),  # low > close
    ],
)
def test_bar_invalid(ohlc: tuple[str, str, str, str], field: str) -> None:
    with pytest.raises(InvalidValue) as ei:
        _bar(*ohlc)
    assert ei.value.field == field


def test_bar_negative_ts() -> None:
    bt = BarType.from_str("BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL")
    with pytest.raises(InvalidValue) as ei:
        Bar(bt, Price("1"), Price("1"), Price("1"), Price("1"), Quantity("1"), -1, 0)
    assert ei.value.field == "ts_event"


def _delta(flags: int = 0, iid: InstrumentId = IID, seq: int = 1) -> OrderBookDelta:
    return OrderBookDelta(
        iid, BookAction.ADD, OrderSide.BUY, Price("100.5"), Quantity("1"), 0, flags, seq, 5, 6
    )


def test_order_book_delta_flags() -> None:
    d = _delta(F_LAST | F_SNAPSHOT)
    assert d.is_last and d.is_snapshot
    assert not _delta().is_last


def test_order_book_deltas() -> None:
    batch = OrderBookDeltas(IID, [_delta(seq=1), _delta(F_LAST, seq=2)])
    assert isinstance(batch.deltas, tuple) and len(batch) == 2
    assert (
        batch.flags == F_LAST and batch.sequence == 2 and batch.ts_event == 5 and batch.ts_init == 6
    )


def test_order_book_deltas_invalid() -> None:
    with pytest.raises(InvalidValue) as ei:
        OrderBookDeltas(IID, ())
    assert ei.value.field == "deltas"
    other = InstrumentId.from_str("ETHUSDT.BINANCE")
    with pytest.raises(InvalidValue) as ei:
        OrderBookDeltas(IID, (_delta(), _delta(iid=other)))
    assert ei.value.field == "deltas[1].instrument_id" and ei.value.value == "ETHUSDT.BINANCE"
