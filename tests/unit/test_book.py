"""alphaforge.book: the native order books from Python (semantics, errors, batches, queries)."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from alphaforge._native import ffi
from alphaforge.book import (
    BOOK_DELTA_DTYPE,
    BookDeltaError,
    BookIntegrityError,
    Crossing,
    OrderBook,
    array_from_arrow,
    deltas_to_array,
)
from alphaforge.errors import InvalidValue, PrecisionError
from alphaforge.model import (
    F_LAST,
    F_SNAPSHOT,
    AggressorSide,
    BookAction,
    BookType,
    InstrumentId,
    OrderBookDelta,
    OrderBookDeltas,
    OrderSide,
    Price,
    Quantity,
    QuoteTick,
    TradeId,
    TradeTick,
)

IID = InstrumentId.from_str("BTCUSDT.BINANCE")
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def book(kind: BookType = BookType.L2_MBP, pp: int = 2, sp: int = 3) -> OrderBook:
    return OrderBook(IID, kind, pp, sp)


def delta(
    action: BookAction,
    side: OrderSide,
    price: str,
    size: str,
    order_id: int = 0,
    sequence: int = 0,
    flags: int = 0,
) -> OrderBookDelta:
    return OrderBookDelta(
        IID, action, side, Price(price), Quantity(size), order_id, flags, sequence, 7, 8
    )


def rows(*spec: tuple[int, int, int, int]) -> np.ndarray[Any, Any]:
    """(action, side, price raw, size raw) rows; sequences 1, 2, ..."""
    arr = np.zeros(len(spec), dtype=BOOK_DELTA_DTYPE)
    for i, (a, s, p, q) in enumerate(spec):
        arr[i]["action"], arr[i]["side"], arr[i]["price"], arr[i]["size"] = a, s, p, q
        arr[i]["sequence"] = i + 1
    return arr


def raw_levels(b: OrderBook, side: OrderSide) -> list[tuple[int, int]]:
    prices, sizes = b.levels(side)
    return list(zip(prices.tolist(), sizes.tolist(), strict=True))


class TestLayout:
    def test_dtype_matches_the_native_record(self) -> None:
        assert BOOK_DELTA_DTYPE.itemsize == ffi.sizeof("AfBookDelta") == 56
        assert BOOK_DELTA_DTYPE.names is not None
        for name in BOOK_DELTA_DTYPE.names:
            assert BOOK_DELTA_DTYPE.fields[name][1] == ffi.offsetof("AfBookDelta", name)

    def test_data_catalog_uses_this_dtype(self) -> None:
        schemas = pytest.importorskip("alphaforge.data.schemas")
        assert schemas.book_delta_dtype() == BOOK_DELTA_DTYPE


class TestConstruction:
    def test_properties_and_repr(self) -> None:
        b = OrderBook("ETHUSDT.BINANCE", BookType.L3_MBO, 2, 4)
        assert b.instrument_id == InstrumentId.from_str("ETHUSDT.BINANCE")
        assert (b.book_type, b.price_precision, b.size_precision) == (BookType.L3_MBO, 2, 4)
        assert (b.sequence, b.ts_event, b.update_count) == (0, 0, 0)
        assert repr(b) == "OrderBook(ETHUSDT.BINANCE, L3_MBO, bid=None, ask=None, seq=0)"

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            ((IID, 9, 2, 2), "book_type"),
            ((IID, BookType.L2_MBP, 19, 2), "price_precision"),
            ((IID, BookType.L2_MBP, 2, -1), "size_precision"),
            ((42, BookType.L2_MBP, 2, 2), "instrument_id"),
        ],
    )
    def test_bad_arguments(self, args: tuple[Any, ...], field: str) -> None:
        with pytest.raises(InvalidValue) as info:
            OrderBook(*args)
        assert info.value.field == field


class TestL2:
    def test_cold_path_methods(self) -> None:
        b = book()
        b.add(BUY, Price("100.00"), Quantity("1.5"), sequence=1, ts_event=11)
        b.add(BUY, Price("99.9"), Quantity("2"))  # lower precision is scaled up exactly
        b.add(SELL, Price("100.10"), Quantity("3"))
        b.update(SELL, Price("100.20"), Quantity("4"))  # UPDATE inserts a missing level
        assert b.best_bid_price() == Price("100.00")
        assert b.best_bid_size() == Quantity("1.500")
        assert b.best_ask_price() == Price("100.10")
        assert b.best_ask_size() == Quantity("3")
        assert b.spread() == Price("0.10")
        assert b.mid() == Decimal("100.05")
        assert b.bids() == [(Price("100.00"), Quantity("1.5")), (Price("99.90"), Quantity("2"))]
        assert b.asks(1) == [(Price("100.10"), Quantity("3"))]
        assert (b.sequence, b.ts_event) == (1, 0)  # sequence=None reuses the last one
        b.update(SELL, Price("100.10"), Quantity("0"))  # size 0 removes
        b.delete(BUY, Price("1.00"))  # a missing L2 level: no-op
        b.delete(BUY, Price("100.00"))
        assert raw_levels(b, BUY) == [(9990, 2000)]
        assert raw_levels(b, SELL) == [(10020, 4000)]
        b.clear(SELL)
        assert b.best_ask_price() is None and b.level_count(SELL) == 0
        assert b.level_count(BUY) == 1
        b.clear()
        assert b.best_bid_price() is None
        assert b.update_count == 9

    def test_apply_model_deltas(self) -> None:
        b = book()
        b.apply(delta(BookAction.ADD, BUY, "10.00", "1", sequence=5, flags=F_LAST))
        assert (b.sequence, b.ts_event, b.last_flags) == (5, 7, F_LAST)
        deltas = OrderBookDeltas(
            IID,
            [
                delta(BookAction.CLEAR, OrderSide.NO_SIDE, "0", "0", sequence=6, flags=F_SNAPSHOT),
                delta(BookAction.ADD, BUY, "9.99", "1.25", sequence=6, flags=F_SNAPSHOT),
                delta(BookAction.ADD, SELL, "10.01", "2", sequence=6, flags=F_SNAPSHOT | F_LAST),
            ],
        )
        assert b.apply_deltas(deltas) == 3
        assert b.top_raw() == (999, 1250, 1001, 2000, 3)
        assert b.last_flags == F_SNAPSHOT | F_LAST

    def test_precision_loss_is_rejected(self) -> None:
        b = book(pp=1)
        with pytest.raises(PrecisionError) as info:
            b.apply(delta(BookAction.ADD, BUY, "10.05", "1"))
        assert info.value.field == "delta.price"
        with pytest.raises(PrecisionError):
            b.add(BUY, Price("1.0"), Quantity("0.0001"))
        assert b.level_count(BUY) == 0

    @pytest.mark.parametrize(
        ("action", "side", "size", "sequence", "message"),
        [
            (1, 1, -1, 9, "delta.size=-1: must be >= 0"),
            (1, 1, 0, 9, "delta.size=0: ADD needs a positive size"),
            (1, 3, 1, 9, "delta.side=3: must be 1 (BUY) or 2 (SELL)"),
            (4, 3, 0, 9, "delta.side=3: must be 0 (both sides), 1 (BUY) or 2 (SELL) for CLEAR"),
            (7, 1, 1, 9, "delta.action=7: must be 1 (ADD), 2 (UPDATE), 3 (DELETE) or 4 (CLEAR)"),
            (2, 1, 1, 8, "delta.sequence=8: lower than the book's last applied sequence 9"),
        ],
    )
    def test_rejected_delta_leaves_book_unchanged(
        self, action: int, side: int, size: int, sequence: int, message: str
    ) -> None:
        b = book()
        b.apply_raw(1, 1, 100, 5, sequence=9, ts_event=3)
        before = (raw_levels(b, BUY), b.sequence, b.ts_event, b.update_count)
        with pytest.raises(BookDeltaError) as info:
            b.apply_raw(action, side, 100, size, sequence=sequence)
        assert str(info.value) == message
        assert info.value.index is None
        assert isinstance(info.value, InvalidValue)
        assert info.value.field == message.split("=")[0]
        assert (raw_levels(b, BUY), b.sequence, b.ts_event, b.update_count) == before

    def test_out_of_range_raw_values(self) -> None:
        b = book()
        with pytest.raises(InvalidValue, match="out of its integer range"):
            b.apply_raw(1, 1, 2**63, 1)
        with pytest.raises(InvalidValue):
            b.apply_raw(1, 1, 1, 1, sequence=-1)


class TestBatch:
    def test_applies_and_counts(self) -> None:
        b = book()
        arr = rows((1, 1, 100, 5), (1, 2, 101, 6), (2, 1, 100, 7))
        assert b.apply_batch(arr) == 3
        assert raw_levels(b, BUY) == [(100, 7)]
        assert b.sequence == 3
        assert b.apply_batch(arr[:0]) == 0

    def test_bad_delta_rejects_the_whole_batch(self) -> None:
        b = book()
        b.apply_batch(rows((1, 1, 100, 5), (1, 2, 101, 6)))
        before = (raw_levels(b, BUY), raw_levels(b, SELL), b.sequence, b.update_count)
        arr = rows((4, 0, 0, 0), (1, 1, 90, 1), (1, 2, 95, 1), (2, 2, 95, -4), (1, 1, 1, 1))
        arr["sequence"] = 10
        with pytest.raises(BookDeltaError) as info:
            b.apply_batch(arr)
        err = info.value
        assert (err.index, err.field, err.value) == (3, "deltas[3].size", "-4")
        assert str(err) == "deltas[3].size=-4: must be >= 0"
        assert (raw_levels(b, BUY), raw_levels(b, SELL), b.sequence, b.update_count) == before
        # The valid prefix applies on its own.
        assert b.apply_batch(arr[: err.index]) == 3
        assert raw_levels(b, BUY) == [(90, 1)]

    def test_sequence_must_not_go_back_within_a_batch(self) -> None:
        b = book()
        arr = rows((1, 1, 100, 5), (1, 1, 99, 5))
        arr["sequence"] = [5, 4]
        with pytest.raises(BookDeltaError) as info:
            b.apply_batch(arr)
        assert info.value.index == 1
        assert b.level_count(BUY) == 0

    def test_array_checks(self) -> None:
        b = book()
        with pytest.raises(InvalidValue, match="numpy array"):
            b.apply_batch([1, 2, 3])  # type: ignore[arg-type]
        wrong = np.zeros(2, dtype=[("price", "<i8"), ("size", "<i8")])
        with pytest.raises(InvalidValue) as info:
            b.apply_batch(wrong)
        assert info.value.field == "deltas.dtype"
        arr = rows((1, 1, 100, 5), (1, 1, 99, 5), (1, 1, 98, 5))
        with pytest.raises(InvalidValue, match="C-contiguous"):
            b.apply_batch(arr[::2])
        with pytest.raises(InvalidValue, match="ndim"):
            b.apply_batch(arr.reshape(3, 1))
        raw = np.zeros(3 * 56 + 8, dtype=np.uint8)
        misaligned = raw[4 : 4 + 3 * 56].view(BOOK_DELTA_DTYPE)
        if misaligned.ctypes.data % 8:
            with pytest.raises(InvalidValue, match="not aligned to 8 bytes"):
                b.apply_batch(misaligned)
        assert b.level_count(BUY) == 0

    def test_read_only_and_aligned_spelling_accepted(self) -> None:
        b = book()
        arr = rows((1, 1, 100, 5))
        arr.flags.writeable = False
        assert b.apply_batch(arr) == 1
        aligned = np.dtype(
            [(n, BOOK_DELTA_DTYPE.fields[n][0]) for n in BOOK_DELTA_DTYPE.names[:-1]],  # type: ignore[index]
            align=True,
        )
        other = np.zeros(1, dtype=aligned)
        other["action"], other["side"], other["price"], other["size"] = 1, 2, 101, 3
        other["sequence"] = 1
        assert b.apply_batch(other) == 1
        assert b.best_ask_raw() == 101

    def test_deltas_to_array(self) -> None:
        ds = [
            delta(BookAction.ADD, BUY, "1.5", "2", order_id=3, sequence=4, flags=F_LAST),
            delta(BookAction.DELETE, SELL, "1.75", "0.5", sequence=2**64 - 1),
        ]
        arr = deltas_to_array(ds, price_precision=2, size_precision=1)
        assert arr.dtype == BOOK_DELTA_DTYPE
        assert arr["price"].tolist() == [150, 175]
        assert arr["size"].tolist() == [20, 5]
        assert arr["order_id"].tolist() == [3, 0]
        assert arr["sequence"].tolist() == [4, 2**64 - 1]
        assert arr["action"].tolist() == [1, 3]
        assert arr["side"].tolist() == [1, 2]
        assert arr["flags"].tolist() == [F_LAST, 0]
        assert arr["ts_event"].tolist() == [7, 7] and arr["ts_init"].tolist() == [8, 8]
        # Default precisions come from the first delta ("1.5" -> 1, so "1.75" does not fit).
        with pytest.raises(PrecisionError) as info:
            deltas_to_array(ds)
        assert info.value.field == "deltas[1].price"
        assert deltas_to_array(ds[:1])["price"].tolist() == [15]
        assert len(deltas_to_array([])) == 0


class TestArrow:
    def test_missing_pyarrow_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        with pytest.raises(ImportError, match="pip install pyarrow"):
            array_from_arrow(object())

    def test_table_conversion(self) -> None:
        pa = pytest.importorskip("pyarrow")
        table = pa.table(
            {
                "action": pa.array([1, 1, 2], pa.uint8()),
                "side": pa.array([1, 2, 1], pa.uint8()),
                "price": pa.array(
                    [Decimal("100.5"), Decimal("101"), Decimal("100.25")], pa.decimal128(10, 2)
                ),
                "size": pa.array([1000, 2000, 0], pa.int64()),
                "sequence": pa.array([1, 2, 3], pa.uint64()),
            }
        )
        arr = array_from_arrow(table)
        assert arr["price"].tolist() == [10050, 10100, 10025]
        assert arr["ts_event"].tolist() == [0, 0, 0]
        b = book()
        assert b.apply_batch(arr) == 3
        assert raw_levels(b, BUY) == [(10050, 1000)]
        with pytest.raises(PrecisionError):
            array_from_arrow(table, price_precision=1)
        with pytest.raises(InvalidValue, match="missing required"):
            array_from_arrow(table.drop_columns(["side"]))
        floats = table.set_column(2, "price", pa.array([1.0, 2.0, 3.0]))
        with pytest.raises(InvalidValue, match="integer column"):
            array_from_arrow(floats)
        nulls = table.set_column(3, "size", pa.array([1, None, 2], pa.int64()))
        with pytest.raises(InvalidValue, match="nulls"):
            array_from_arrow(nulls)


class TestQueries:
    def test_fill_estimate(self) -> None:
        b = book(pp=1, sp=3)
        b.apply_batch(rows((1, 2, 1000, 1000), (1, 2, 1001, 2000), (1, 1, 999, 500)))
        est = b.fill_estimate(BUY, Quantity("2"))
        assert est.complete
        assert est.filled == Quantity("2")
        assert est.avg_price == Price("100.050")
        assert est.slippage == Price("0.050")
        assert (est.best_price, est.worst_price, est.levels) == (Price("100.0"), Price("100.1"), 2)
        partial = b.fill_estimate(BUY, Quantity("5"), precision=1)
        assert not partial.complete and partial.filled == Quantity("3")
        assert partial.avg_price == Price("100.1")  # 100.0667 rounded half even at 0.1
        assert b.avg_fill_price(SELL, Quantity("0.1")) == Price("99.9")
        b.clear(BUY)
        empty = b.fill_estimate(SELL, Quantity("1"))
        assert (empty.filled, empty.avg_price, empty.best_price) == (Quantity("0"), None, None)
        with pytest.raises(InvalidValue):
            b.fill_estimate(BUY, Quantity("0"))
        with pytest.raises(InvalidValue):
            b.fill_estimate(BUY, Quantity("1"), precision=0)
        with pytest.raises(InvalidValue, match="order_side"):
            b.fill_estimate(OrderSide.NO_SIDE, Quantity("1"))

    def test_levels_and_depth(self) -> None:
        b = book()
        b.apply_batch(rows(*[(1, 1, 100 - i, i + 1) for i in range(30)]))
        prices, sizes = b.levels(BUY, 5)
        assert prices.dtype == np.int64
        assert prices.tolist() == [100, 99, 98, 97, 96] and sizes.tolist() == [1, 2, 3, 4, 5]
        assert len(b.levels(BUY)[0]) == 30
        assert b.levels(SELL)[0].tolist() == []
        assert b.levels(BUY, 0)[0].tolist() == []
        assert b.order_count(BUY) == 30
        with pytest.raises(InvalidValue):
            b.levels(BUY, -1)
        with pytest.raises(InvalidValue):
            b.level_count(OrderSide.NO_SIDE)

    def test_crossing_and_integrity(self) -> None:
        b = book()
        assert b.crossing() is Crossing.NONE
        b.apply_batch(rows((1, 1, 100, 1), (1, 2, 100, 1)))
        assert b.is_locked() and not b.is_crossed()
        b.check_integrity()
        b.apply_raw(1, 1, 101, 1, sequence=9)
        assert b.is_crossed()
        with pytest.raises(BookIntegrityError, match="best bid 101 > best ask 100"):
            b.check_integrity()
        assert b.spread() == Price("-0.01")

    def test_top_of_book_reads_follow_every_change(self) -> None:
        b = book()
        assert (b.best_bid_price(), b.best_bid_size(), b.best_ask_price()) == (None, None, None)
        assert b.top_raw() == (-(2**63), 0, -(2**63), 0, 0)
        b.apply_raw(1, 1, 100, 5)
        assert (b.best_bid_price(), b.best_bid_size()) == (Price("1.00"), Quantity("0.005"))
        b.apply_raw(3, 1, 100, 0)
        assert (b.best_bid_price(), b.best_bid_size()) == (None, None)
        b.apply_raw(1, 1, 100, 5)  # the same raw values again
        assert (b.best_bid_price(), b.best_bid_size()) == (Price("1.00"), Quantity("0.005"))
        b.apply_raw(1, 1, -(2**63), 7)  # a (silly) level at the sentinel price itself
        assert b.best_bid_price() == Price.from_raw(100, 2)
        b.apply_raw(3, 1, 100, 0)
        assert (b.best_bid_price(), b.best_bid_size()) == (
            Price.from_raw(-(2**63), 2),
            Quantity("0.007"),
        )
        b.apply_raw(3, 1, -(2**63), 0)
        assert (b.best_bid_price(), b.best_bid_size()) == (None, None)
        b.apply_raw(2, 2, 0, 1)  # price 0 is a price
        assert b.best_ask_price() == Price("0")
        assert b.avg_fill_price(BUY, Quantity("0.001")) == Price("0")

    def test_top_snapshot_and_reset(self) -> None:
        b = book()
        b.apply_batch(rows((1, 1, 100, 1), (1, 2, 102, 2)))
        top = b.top()
        assert (top.bid_price, top.ask_size, top.sequence) == (Price("1.00"), Quantity("0.002"), 2)
        assert top.update_count == b.update_count == 1
        b.reset()
        assert (b.sequence, b.best_bid_raw(), b.top().bid_price) == (0, None, None)
        b.apply_raw(1, 1, 1, 1, sequence=1)  # a fresh book accepts any sequence again


class TestL1:
    def test_quotes_and_trades(self) -> None:
        b = book(BookType.L1_MBP)
        q = QuoteTick(IID, Price("10.00"), Price("10.02"), Quantity("1"), Quantity("2"), 5, 6)
        b.update_quote(q, sequence=3)
        assert (b.best_bid_price(), b.best_ask_size(), b.sequence, b.ts_event) == (
            Price("10.00"),
            Quantity("2"),
            3,
            5,
        )
        t = TradeTick(IID, Price("10.01"), Quantity("0.5"), AggressorSide.BUYER, TradeId("1"), 9, 9)
        b.update_trade(t)
        assert b.best_bid_price() == b.best_ask_price() == Price("10.01")
        assert b.is_locked()
        b.add(BUY, Price("10.00"), Quantity("1"))  # L1 deltas replace the side's level
        b.add(BUY, Price("9.00"), Quantity("3"))
        assert b.bids() == [(Price("9.00"), Quantity("3"))]

    def test_quote_on_l2_is_rejected(self) -> None:
        b = book()
        q = QuoteTick(IID, Price("10.00"), Price("10.02"), Quantity("1"), Quantity("2"), 5, 6)
        with pytest.raises(InvalidValue, match="L1 book only"):
            b.update_quote(q)


class TestL3:
    def test_queue_priority_and_lookups(self) -> None:
        b = book(BookType.L3_MBO)
        for oid, size in ((1, "1"), (2, "2"), (3, "3")):
            b.add(BUY, Price("100.00"), Quantity(size), order_id=oid)
        b.add(SELL, Price("100.05"), Quantity("4"), order_id=4)
        assert b.best_bid_size() == Quantity("6")
        o = b.order(3)
        assert o is not None
        assert (o.side, o.price, o.size, o.size_ahead, o.orders_ahead) == (
            BUY,
            Price("100.00"),
            Quantity("3"),
            Quantity("3"),
            2,
        )
        b.update(BUY, Price("100.00"), Quantity("0.5"), order_id=1)  # smaller: keeps its place
        assert b.order(1).orders_ahead == 0  # type: ignore[union-attr]
        b.update(BUY, Price("100.00"), Quantity("5"), order_id=1)  # larger: to the back
        assert b.order(1).orders_ahead == 2  # type: ignore[union-attr]
        b.delete(BUY, Price("100.00"), order_id=2)
        assert b.order(2) is None
        assert (b.order_count(BUY), b.level_count(BUY)) == (2, 1)
        b.check_integrity()

    def test_errors_name_the_order(self) -> None:
        b = book(BookType.L3_MBO)
        b.add(BUY, Price("100.00"), Quantity("1"), order_id=1)
        with pytest.raises(BookDeltaError) as info:
            b.delete(BUY, Price("100.00"), order_id=99)
        assert str(info.value) == "delta.order_id=99: DELETE of an order id that is not on the book"
        with pytest.raises(BookDeltaError, match="already on the book"):
            b.add(BUY, Price("100.00"), Quantity("1"), order_id=1)
        with pytest.raises(BookDeltaError, match="cannot change the side"):
            b.update(SELL, Price("100.00"), Quantity("1"), order_id=1)
        arr = rows((1, 1, 100, 1), (3, 1, 0, 0))
        arr["order_id"] = [5, 6]
        with pytest.raises(BookDeltaError) as batch_info:
            b.apply_batch(arr)
        assert batch_info.value.index == 1
        assert b.order(5) is None  # rolled back
        assert b.order_count(BUY) == 1

    def test_order_on_l2_is_invalid(self) -> None:
        with pytest.raises(InvalidValue, match="only L3_MBO"):
            book().order(1)
