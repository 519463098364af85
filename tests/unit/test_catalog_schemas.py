"""Columnar schemas and MarketArray conversions (Arrow, numpy, model objects)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from alphaforge.data.arrays import MarketArray, concat_arrays, rescale_table
from alphaforge.data.schemas import (
    BAR_DTYPE,
    BOOK_DELTA_DTYPE,
    QUOTE_DTYPE,
    TRADE_DTYPE,
    DataType,
    arrow_schema,
    book_delta_dtype,
    instruments_to_table,
    numpy_dtype,
    schema_info,
    schema_precisions,
    table_to_instruments,
)
from alphaforge.errors import ArithmeticOverflow, InvalidValue, PrecisionError
from alphaforge.model import (
    F_LAST,
    F_SNAPSHOT,
    USD,
    USDT,
    AggressorSide,
    Bar,
    BarType,
    BookAction,
    Currency,
    CurrencyPair,
    FuturesContract,
    InstrumentId,
    Money,
    OptionContract,
    OptionKind,
    OrderBookDelta,
    OrderSide,
    PerpetualContract,
    Price,
    Quantity,
    QuoteTick,
    Symbol,
    TradeId,
    TradeTick,
)

IID = InstrumentId.from_str("BTCUSDT.SIM")
BT = BarType.from_str("BTCUSDT.SIM-1-MINUTE-LAST-EXTERNAL")


def quotes() -> list[QuoteTick]:
    return [
        QuoteTick(IID, Price("100.5"), Price("100.75"), Quantity("1"), Quantity("2.5"), 1, 2),
        QuoteTick(IID, Price("100.25"), Price("101"), Quantity("0.125"), Quantity("3"), 3, 4),
    ]


def trades() -> list[TradeTick]:
    return [
        TradeTick(IID, Price("100.5"), Quantity("1.5"), AggressorSide.BUYER, TradeId("t-1"), 5, 5),
        TradeTick(
            IID,
            Price("99.25"),
            Quantity("0.001"),
            AggressorSide.SELLER,
            TradeId("ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf"),
            6,
            7,
        ),
        TradeTick(IID, Price("99"), Quantity("2"), AggressorSide.NO_AGGRESSOR, TradeId("x"), 8, 8),
    ]


def bars() -> list[Bar]:
    return [
        Bar(BT, Price("10.5"), Price("11"), Price("10"), Price("10.75"), Quantity("3.5"), 60, 60),
        Bar(BT, Price("10.75"), Price("12"), Price("10.5"), Price("11.5"), Quantity("1"), 120, 120),
    ]


def deltas() -> list[OrderBookDelta]:
    return [
        OrderBookDelta(
            IID,
            BookAction.CLEAR,
            OrderSide.NO_SIDE,
            Price("0"),
            Quantity("0"),
            0,
            F_SNAPSHOT,
            9,
            1,
            1,
        ),
        OrderBookDelta(
            IID,
            BookAction.ADD,
            OrderSide.BUY,
            Price("99.5"),
            Quantity("1.25"),
            0,
            F_SNAPSHOT,
            9,
            1,
            1,
        ),
        OrderBookDelta(
            IID,
            BookAction.ADD,
            OrderSide.SELL,
            Price("100"),
            Quantity("2"),
            7,
            F_SNAPSHOT | F_LAST,
            9,
            1,
            1,
        ),
        OrderBookDelta(
            IID, BookAction.DELETE, OrderSide.BUY, Price("99.5"), Quantity("0"), 0, F_LAST, 10, 2, 3
        ),
    ]


@pytest.mark.parametrize("make", [quotes, trades, bars, deltas])
def test_objects_round_trip_through_numpy_and_arrow(make) -> None:  # type: ignore[no-untyped-def]
    objs = make()
    ma = MarketArray.from_objects(objs)
    assert ma.to_objects() == objs
    table = ma.to_arrow()
    back = MarketArray.from_arrow(table)
    assert back.equals(ma)
    assert back.to_objects() == objs


def test_precision_is_the_largest_and_raw_values_are_rescaled() -> None:
    ma = MarketArray.from_objects(quotes())
    assert (ma.price_precision, ma.size_precision) == (2, 3)
    assert ma.records["bid_price"].tolist() == [10050, 10025]
    assert ma.records["ask_price"].tolist() == [10075, 10100]
    assert ma.records["bid_size"].tolist() == [1000, 125]


def test_explicit_precision_must_be_exact() -> None:
    with pytest.raises(PrecisionError):
        MarketArray.from_objects(quotes(), price_precision=1)
    ma = MarketArray.from_objects(quotes(), price_precision=4)
    assert ma.records["bid_price"][0] == 1005000


def test_dtypes_are_fixed_width_records() -> None:
    assert QUOTE_DTYPE.itemsize == 48
    assert BAR_DTYPE.itemsize == 56
    assert TRADE_DTYPE.itemsize == 72
    assert BOOK_DELTA_DTYPE.itemsize == 56
    assert numpy_dtype("quotes") == QUOTE_DTYPE
    assert numpy_dtype(DataType.BOOK_DELTAS) == book_delta_dtype()
    assert set(BOOK_DELTA_DTYPE.names or ()) <= set(book_delta_dtype().names or ())
    with pytest.raises(InvalidValue):
        numpy_dtype("instruments")
    with pytest.raises(InvalidValue, match="data_type"):
        DataType.parse("ticks")


def test_arrow_schema_carries_precision_and_identity() -> None:
    schema = arrow_schema("quotes", 2, 3, "BTCUSDT.SIM")
    assert schema.field("ts_init").type == pa.uint64()
    assert schema.field("bid_price").type == pa.int64()
    assert schema.field("bid_price").metadata[b"precision"] == b"2"
    assert schema.field("ask_size").metadata[b"precision"] == b"3"
    assert schema_info(schema) == (DataType.QUOTES, "BTCUSDT.SIM", None)
    assert schema_precisions(schema) == (2, 3)
    bars_schema = arrow_schema("bars", 1, 0, "BTCUSDT.SIM", str(BT))
    assert schema_info(bars_schema)[2] == str(BT)
    with pytest.raises(InvalidValue, match="bar_type"):
        arrow_schema("bars", 1, 0, "BTCUSDT.SIM")
    with pytest.raises(InvalidValue):
        schema_info(pa.schema([pa.field("x", pa.int64())]))


def test_market_array_validates() -> None:
    with pytest.raises(InvalidValue, match="records"):
        MarketArray("quotes", "A.B", np.zeros(1, TRADE_DTYPE), 0, 0)
    with pytest.raises(InvalidValue, match="price_precision"):
        MarketArray("quotes", "A.B", np.zeros(1, QUOTE_DTYPE), 19, 0)
    with pytest.raises(InvalidValue, match="bar_type"):
        MarketArray("bars", "A.B", np.zeros(1, BAR_DTYPE), 0, 0)
    with pytest.raises(InvalidValue, match="bar_type"):
        MarketArray("quotes", "A.B", np.zeros(1, QUOTE_DTYPE), 0, 0, bar_type="x")
    with pytest.raises(InvalidValue, match="empty"):
        MarketArray.from_objects([])
    with pytest.raises(InvalidValue):
        MarketArray.from_objects([*quotes(), trades()[0]])  # type: ignore[list-item]


def test_mixed_instruments_are_rejected() -> None:
    other = QuoteTick(
        InstrumentId.from_str("ETHUSDT.SIM"),
        Price("1"),
        Price("2"),
        Quantity("1"),
        Quantity("1"),
        0,
        0,
    )
    with pytest.raises(InvalidValue, match="instrument_id"):
        MarketArray.from_objects([*quotes(), other])


def test_too_long_trade_id_is_rejected() -> None:
    t = TradeTick(IID, Price("1"), Quantity("1"), AggressorSide.BUYER, TradeId("x" * 37), 0, 0)
    with pytest.raises(ValueError, match="36"):
        MarketArray.from_objects([t])


def test_rescale_and_overflow() -> None:
    ma = MarketArray.from_objects(quotes())
    up = ma.rescale(4, 3)
    assert up.records["bid_price"][0] == 1005000
    assert up.rescale(2, 3).equals(ma)
    with pytest.raises(PrecisionError):
        ma.rescale(1, 3)
    big = ma.replace(ma.records.copy())
    big.records["bid_price"][0] = 2**62
    with pytest.raises(ArithmeticOverflow):
        big.rescale(3, 3)


def test_rescale_table_updates_metadata() -> None:
    table = MarketArray.from_objects(quotes()).to_arrow()
    out = rescale_table(table, 3, 4)
    assert schema_precisions(out.schema) == (3, 4)
    assert out.column("bid_price").to_pylist() == [100500, 100250]
    assert out.column("ts_init").to_pylist() == table.column("ts_init").to_pylist()


def test_concat_unifies_precision_and_refuses_mixed_streams() -> None:
    a = MarketArray.from_objects(quotes()[:1])
    b = MarketArray.from_objects(quotes()[1:])
    both = concat_arrays([a, b])
    assert both.to_objects() == quotes()
    with pytest.raises(InvalidValue):
        concat_arrays([a, MarketArray.from_objects(trades())])
    with pytest.raises(InvalidValue):
        concat_arrays([])


def test_sorted_between_and_is_sorted() -> None:
    ma = MarketArray.from_objects(quotes()[::-1])
    assert not ma.is_sorted()
    s = ma.sorted()
    assert s.is_sorted() and s.ts_init.tolist() == [2, 4]
    assert len(s.between(3, 4)) == 1
    assert len(s.between(None, 1)) == 0


def test_native_book_delta_record_is_used_when_present() -> None:
    dtype = book_delta_dtype()
    ma = MarketArray.from_objects(deltas())
    assert ma.records.dtype == dtype
    for name in ("ts_event", "ts_init", "sequence", "order_id", "price", "size"):
        assert name in (dtype.names or ())


def _instruments() -> list[object]:
    btc = Currency("BTC", 8)
    return [
        CurrencyPair(
            id=InstrumentId.from_str("BTC/USDT.KRAKEN"),
            raw_symbol=Symbol("XBT/USDT"),
            base_currency=btc,
            quote_currency=USDT,
            price_precision=1,
            size_precision=8,
            tick_size=Price("0.5"),
            min_quantity=Quantity("0.0001"),
            max_quantity=Quantity("100.00"),
            min_notional=Money("5", USDT),
            max_notional=Money("1000000.5", USDT),
            maker_fee=Decimal("-0.00010"),
            taker_fee=Decimal("0.0004"),
            ts_event=5,
            ts_init=6,
        ),
        PerpetualContract(
            id=InstrumentId.from_str("XBTUSD.BITMEX"),
            raw_symbol=Symbol("XBTUSD"),
            base_currency=btc,
            quote_currency=USD,
            is_inverse=True,
            price_precision=1,
            size_precision=0,
            multiplier=Decimal("1"),
            min_notional=Money("0.0001", btc),
            margin_init=Decimal("0.01"),
            margin_maint=Decimal("0.005"),
        ),
        FuturesContract(
            id=InstrumentId.from_str("6EH4.XCME"),
            raw_symbol=Symbol("6EH4"),
            quote_currency=USD,
            price_precision=5,
            size_precision=0,
            tick_size=Price("0.00005"),
            multiplier=Decimal("125000"),
            underlying="EUR",
            expiry_ns=1_710_000_000 * 10**9,
            activation_ns=1_690_000_000 * 10**9,
        ),
        OptionContract(
            id=InstrumentId.from_str("BTC-27DEC24-50000-C.DERIBIT"),
            raw_symbol=Symbol("BTC-27DEC24-50000-C"),
            quote_currency=btc,
            base_currency=btc,
            price_precision=4,
            size_precision=1,
            underlying="BTC",
            kind=OptionKind.CALL,
            strike=Price("50000"),
            expiry_ns=1_735_286_400 * 10**9,
        ),
    ]


def test_instruments_round_trip_every_field() -> None:
    insts = _instruments()
    table = instruments_to_table(insts)  # type: ignore[arg-type]
    assert table.num_rows == 4
    back = table_to_instruments(table)
    assert back == insts
    assert [type(i) for i in back] == [type(i) for i in insts]
    assert back[0].tick_size.precision == 1 and str(back[0].max_quantity) == "100.00"
