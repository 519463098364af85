"""The native matching engine through its Python wrapper: batches, helpers, events, queries."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from alphaforge._native import ffi
from alphaforge.errors import InvalidValue, PrecisionError
from alphaforge.matching import (
    BAR_DTYPE,
    BOOK_DELTA_DTYPE,
    COMMAND_DTYPE,
    EVENT_DTYPE,
    QUOTE_DTYPE,
    TRADE_DTYPE,
    CommandFlag,
    CommandKind,
    EngineMode,
    Level,
    MatchEventKind,
    MatchingEngine,
    QueueModel,
    Reason,
    SelfTradePrevention,
    reason_text,
)
from alphaforge.model.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from alphaforge.model.values import Price, Quantity

BUY, SELL = OrderSide.BUY, OrderSide.SELL
K = MatchEventKind


def kinds(eng: MatchingEngine) -> list[tuple[MatchEventKind, int, Reason]]:
    return [(e.kind, e.client_order_id, e.reason) for e in eng.event_records()]


def fills(eng: MatchingEngine) -> list[tuple[int, int, int, LiquiditySide]]:
    return [
        (e.client_order_id, e.price, e.qty, e.liquidity) for e in eng.event_records() if e.is_fill
    ]


def exchange(**kw: object) -> MatchingEngine:
    kw.setdefault("self_trade", SelfTradePrevention.ALLOW)
    return MatchingEngine("exchange", **kw)  # type: ignore[arg-type]


# -- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "record"),
    [
        (COMMAND_DTYPE, "AfOrderCommand"),
        (EVENT_DTYPE, "AfMatchEvent"),
        (QUOTE_DTYPE, "AfQuoteTick"),
        (TRADE_DTYPE, "AfTradeTick"),
        (BAR_DTYPE, "AfBar"),
        (BOOK_DELTA_DTYPE, "AfBookDelta"),
    ],
)
def test_dtypes_mirror_the_records(dtype: np.dtype, record: str) -> None:
    assert dtype.itemsize == ffi.sizeof(record)
    assert dtype.fields is not None
    for name, (_, offset, *_rest) in dtype.fields.items():
        assert offset == ffi.offsetof(record, name), name
    assert {name for name, _ in ffi.typeof(record).fields} == set(dtype.fields)


# -- configuration ----------------------------------------------------------------------------


def test_config_errors_name_the_field() -> None:
    with pytest.raises(InvalidValue, match="mode"):
        MatchingEngine("venue")
    with pytest.raises(InvalidValue, match="price_increment=0"):
        MatchingEngine("exchange", price_increment=0)
    with pytest.raises(InvalidValue, match="price_precision"):
        MatchingEngine("exchange", price_precision=19)
    with pytest.raises(PrecisionError, match="price_increment"):
        MatchingEngine("exchange", price_precision=1, price_increment="0.05")
    with pytest.raises(InvalidValue, match="day_end_offset_ns"):
        MatchingEngine("backtest", day_end_offset_ns=86_400_000_000_000)
    eng = MatchingEngine(EngineMode.BACKTEST, price_precision=2, price_increment="0.05")
    assert (eng.mode, eng.price_precision, eng.size_precision) == (EngineMode.BACKTEST, 2, 0)
    assert "BACKTEST" in repr(eng)


def test_values_are_converted_exactly() -> None:
    eng = exchange(price_precision=2, size_precision=3)
    eng.submit_limit(1, BUY, Price("100.5"), Quantity("1.25"))
    eng.submit_limit(2, BUY, Decimal("99.00"), "2")
    eng.submit_limit(3, BUY, 9800, 1000)  # ints are raw
    orders = [eng.order(i) for i in (1, 2, 3)]
    assert [(o.price, o.qty) for o in orders if o] == [(10050, 1250), (9900, 2000), (9800, 1000)]
    with pytest.raises(PrecisionError, match="price"):
        eng.submit_limit(4, BUY, "100.001", 1)
    with pytest.raises(PrecisionError, match="qty"):
        eng.submit_limit(4, BUY, 1, Quantity("0.0001"))
    with pytest.raises(InvalidValue, match="floats are not exact"):
        eng.submit_limit(4, BUY, 100.5, 1)
    with pytest.raises(InvalidValue, match="not a decimal"):
        eng.submit_limit(4, BUY, "abc", 1)


# -- exchange mode ----------------------------------------------------------------------------


def test_price_time_priority_and_fees() -> None:
    eng = exchange(
        price_precision=2,
        size_precision=3,
        maker_fee="-0.0001",
        taker_fee="0.0005",
        fee_precision=8,
    )
    eng.submit_limit(1, SELL, "100.00", "1.000")
    eng.submit_limit(2, SELL, "100.00", "1.000")
    eng.submit_limit(3, SELL, "99.00", "1.000")
    eng.events()
    eng.submit_limit(4, BUY, "100.00", "2.500")
    recs = [e for e in eng.event_records() if e.is_fill]
    assert [(e.client_order_id, e.price, e.qty, e.liquidity) for e in recs] == [
        (4, 9900, 1000, LiquiditySide.TAKER),
        (3, 9900, 1000, LiquiditySide.MAKER),
        (4, 10000, 1000, LiquiditySide.TAKER),
        (1, 10000, 1000, LiquiditySide.MAKER),
        (4, 10000, 500, LiquiditySide.TAKER),
        (2, 10000, 500, LiquiditySide.MAKER),
    ]
    # taker fee 0.0005 * 99 = 0.0495; maker rebate -0.0099 (precision 8)
    assert (recs[0].fee, recs[1].fee) == (4_950_000, -990_000)
    assert recs[0].trade_id == recs[1].trade_id != recs[2].trade_id
    assert recs[-2].kind is K.FILLED and recs[-1].kind is K.PARTIALLY_FILLED
    assert eng.best_ask() == Level(price=10000, visible=500, total=500, orders=1)
    assert eng.best_bid() is None
    assert len(eng) == 1


def test_time_in_force_and_market_orders() -> None:
    eng = exchange()
    eng.submit_limit(1, SELL, 100, 3)
    eng.submit_limit(2, SELL, 101, 3)
    eng.events()
    eng.submit_limit(3, BUY, 100, 5, time_in_force=TimeInForce.IOC)
    assert kinds(eng)[-1] == (K.CANCELED, 3, Reason.IOC_REMAINDER)
    eng.submit_limit(4, BUY, 101, 4, time_in_force=TimeInForce.FOK)
    assert kinds(eng) == [(K.ACCEPTED, 4, Reason.NONE), (K.CANCELED, 4, Reason.FOK_NOT_FILLABLE)]
    eng.submit_market(5, BUY, 5)
    assert kinds(eng)[-1] == (K.CANCELED, 5, Reason.NO_LIQUIDITY)
    assert len(eng) == 0


def test_gtd_and_day_expire_on_the_clock() -> None:
    day = 86_400_000_000_000
    eng = exchange(day_end_offset_ns=3_600_000_000_000)
    eng.submit_limit(1, BUY, 100, 1, time_in_force=TimeInForce.GTD, expire_ts=500, ts=10)
    eng.submit_limit(2, BUY, 99, 1, time_in_force=TimeInForce.DAY, ts=20)
    eng.submit_limit(3, BUY, 99, 1, time_in_force=TimeInForce.GTD, expire_ts=5, ts=20)
    order2 = eng.order(2)
    assert order2 is not None and order2.expire_ts == 3_600_000_000_000
    eng.advance_time(499)
    assert len(eng) == 2
    eng.advance_time(day)
    assert [k for k in kinds(eng) if k[0] is not K.ACCEPTED] == [
        (K.REJECTED, 3, Reason.INVALID_EXPIRE_TIME),
        (K.EXPIRED, 1, Reason.EXPIRED_GTD),
        (K.EXPIRED, 2, Reason.EXPIRED_DAY),
    ]
    assert eng.clock == day


def test_flags_post_only_reduce_only_iceberg() -> None:
    eng = exchange()
    eng.submit_limit(1, SELL, 100, 5, display_qty=2)
    assert eng.best_ask() == Level(100, 2, 5, 1)
    eng.submit_limit(2, BUY, 100, 1, post_only=True)
    eng.submit_limit(3, BUY, 99, 1, post_only=True)
    eng.submit_limit(4, SELL, 101, 1, reduce_only=True, trader_id=9)
    assert kinds(eng)[1:] == [
        (K.REJECTED, 2, Reason.POST_ONLY_WOULD_TAKE),
        (K.ACCEPTED, 3, Reason.NONE),
        (K.REJECTED, 4, Reason.REDUCE_ONLY_WOULD_INCREASE),
    ]
    eng.set_position(3, trader_id=9)
    assert eng.position(9) == 3
    eng.submit_limit(5, BUY, 101, 10, trader_id=8)  # takes the iceberg's 5
    eng.submit_limit(6, SELL, 101, 4, reduce_only=True, trader_id=9)
    recs = eng.event_records()
    assert recs[-1].kind is K.CANCELED and recs[-1].reason is Reason.REDUCE_ONLY_POSITION_CLOSED
    assert recs[-1].qty == 1
    assert eng.position(9) == 0 and eng.position(8) == 8


def test_self_trade_prevention_cancel_resting() -> None:
    eng = MatchingEngine("exchange")  # default: cancel resting
    eng.submit_limit(1, SELL, 100, 1, trader_id=1)
    eng.submit_limit(2, BUY, 100, 1, trader_id=1)
    assert kinds(eng)[2] == (K.CANCELED, 1, Reason.SELF_TRADE)
    order = eng.order(2)
    assert order is not None and order.leaves == 1


def test_modify_and_cancel() -> None:
    eng = exchange()
    eng.submit_limit(1, BUY, 100, 5)
    eng.submit_limit(2, BUY, 100, 5)
    eng.modify(1, qty=4)  # keeps priority
    eng.modify(2, price=101)
    eng.modify(2, price=100)  # back, but behind 1
    eng.modify(9, price=1)
    eng.cancel(9)
    eng.cancel(1, trader_id=3)
    recs = eng.event_records()
    assert [r.kind for r in recs[2:5]] == [K.UPDATED] * 3
    assert (recs[2].qty, recs[2].leaves) == (4, 4)
    assert [(r.kind, r.reason) for r in recs[5:]] == [
        (K.MODIFY_REJECTED, Reason.UNKNOWN_ORDER),
        (K.CANCEL_REJECTED, Reason.UNKNOWN_ORDER),
        (K.CANCEL_REJECTED, Reason.WRONG_TRADER),
    ]
    assert recs[5].side is None
    eng.submit_limit(3, SELL, 100, 6)
    assert [f[0] for f in fills(eng) if f[3] is LiquiditySide.MAKER] == [1, 2]
    eng.cancel(2)
    assert kinds(eng) == [(K.CANCELED, 2, Reason.REQUESTED)]
    assert len(eng) == 0
    with pytest.raises(InvalidValue, match="qty"):
        eng.modify(2, qty=0)


def test_stop_orders_in_exchange_mode() -> None:
    eng = exchange()
    eng.submit_stop_market(1, BUY, 101, 2)
    eng.submit_stop_limit(2, SELL, 99, 98, 1)
    eng.submit_market_if_touched(3, BUY, 99, 1)
    eng.submit_limit_if_touched(4, SELL, 102, 103, 1)
    info = eng.order(1)
    assert info is not None and info.pending_trigger and info.order_type is OrderType.STOP_MARKET
    eng.submit_limit(10, SELL, 101, 5)
    eng.events()
    eng.submit_limit(11, BUY, 101, 1)  # prints 101: fires the buy stop
    recs = eng.event_records()
    assert (K.TRIGGERED, 1) in [(r.kind, r.client_order_id) for r in recs]
    assert (recs[-2].kind, recs[-2].client_order_id, recs[-2].qty) == (K.FILLED, 1, 2)
    eng.modify(4, trigger_price=103)
    info = eng.order(4)
    assert info is not None and info.trigger_price == 103


# -- batches and events -----------------------------------------------------------------------


def _limits(n: int) -> np.ndarray:
    cmds = np.zeros(n, dtype=COMMAND_DTYPE)
    cmds["kind"] = CommandKind.SUBMIT
    cmds["client_order_id"] = np.arange(1, n + 1)
    cmds["trader_id"] = np.arange(1, n + 1)
    cmds["side"] = np.where(np.arange(n) % 2 == 0, SELL, BUY)
    cmds["order_type"] = OrderType.LIMIT
    cmds["time_in_force"] = TimeInForce.GTC
    cmds["price"] = 100
    cmds["qty"] = 1
    return cmds


def test_batch_events_drained_in_pieces() -> None:
    eng = MatchingEngine("exchange")
    assert eng.submit_batch(_limits(10)) == 10
    assert eng.pending_events == 10 + 10  # 10 accepted + 5 matches x 2 fills
    buf = np.zeros(7, dtype=EVENT_DTYPE)
    got = []
    while n := eng.drain_into(buf):
        got.append(buf[:n].copy())
    events = np.concatenate(got)
    assert len(events) == 20 and eng.pending_events == 0
    assert (events["kind"] == K.FILLED).sum() == 10
    assert eng.events().shape == (0,)
    assert eng.submit_batch(np.zeros(0, dtype=COMMAND_DTYPE)) == 0


def test_structurally_invalid_batch_changes_nothing() -> None:
    eng = MatchingEngine("exchange")
    cmds = _limits(4)
    cmds[3]["order_type"] = 42
    with pytest.raises(InvalidValue, match=r"cmds\[3\]\.order_type=42"):
        eng.submit_batch(cmds)
    assert eng.pending_events == 0 and len(eng) == 0
    cmds = _limits(2)
    cmds[1]["flags"] = 1 << 10
    with pytest.raises(InvalidValue, match="unknown flag bits"):
        eng.submit_batch(cmds)
    with pytest.raises(InvalidValue, match="dtype"):
        eng.submit_batch(np.zeros(3, dtype=np.int64))
    with pytest.raises(InvalidValue, match="contiguous"):
        eng.submit_batch(_limits(4)[::2])
    with pytest.raises(InvalidValue, match="1-d"):
        eng.submit_batch([1, 2])  # type: ignore[arg-type]
    buf = np.zeros(2, dtype=EVENT_DTYPE)
    buf.flags.writeable = False
    with pytest.raises(InvalidValue, match="writable"):
        eng.drain_into(buf)
    with pytest.raises(InvalidValue, match="EXCHANGE mode"):
        eng.process_quotes(np.zeros(1, dtype=QUOTE_DTYPE))


def test_invalid_orders_are_rejected_events() -> None:
    eng = MatchingEngine("exchange", price_increment=5, size_increment=10)
    eng.submit_limit(1, BUY, 101, 10)
    eng.submit_limit(1, BUY, 100, 15)
    eng.submit_limit(1, BUY, 100, -10)
    eng.submit_limit(1, BUY, 100, 10)
    eng.submit_limit(1, BUY, 100, 10)
    assert [r for _, _, r in kinds(eng)] == [
        Reason.PRICE_NOT_ON_TICK,
        Reason.QUANTITY_NOT_ON_LOT,
        Reason.INVALID_QUANTITY,
        Reason.NONE,
        Reason.DUPLICATE_CLIENT_ORDER_ID,
    ]
    assert len(eng) == 1


def test_reason_texts() -> None:
    assert reason_text(Reason.POST_ONLY_WOULD_TAKE) == "post-only order would take liquidity"
    assert reason_text(12345) == reason_text(-1) == "unknown reason"
    for reason in Reason:
        assert reason_text(reason) != "unknown reason"
    assert CommandFlag.POST_ONLY | CommandFlag.REDUCE_ONLY == 3


# -- backtest mode ----------------------------------------------------------------------------


def quotes(*rows: tuple[int, int, int, int, int]) -> np.ndarray:
    arr = np.zeros(len(rows), dtype=QUOTE_DTYPE)
    for i, (ts, bid, bsz, ask, asz) in enumerate(rows):
        arr[i] = (ts, bid, ask, bsz, asz)
    return arr


def trades(*rows: tuple[int, int, int, int]) -> np.ndarray:
    arr = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for i, (ts, price, size, aggressor) in enumerate(rows):
        arr[i]["ts"], arr[i]["price"], arr[i]["size"] = ts, price, size
        arr[i]["aggressor"] = aggressor
    return arr


def deltas(*rows: tuple[int, int, int, int, int]) -> np.ndarray:
    """(action, side, price, size, flags)."""
    arr = np.zeros(len(rows), dtype=BOOK_DELTA_DTYPE)
    for i, (action, side, price, size, flags) in enumerate(rows):
        rec = arr[i]
        rec["action"], rec["side"], rec["price"], rec["size"], rec["flags"] = (
            action,
            side,
            price,
            size,
            flags,
        )
    return arr


SELLER, BUYER = 2, 1


def test_backtest_l1_taker_and_queue_position() -> None:
    eng = MatchingEngine("backtest")
    eng.process_quotes(quotes((1, 100, 8, 101, 3)))
    eng.submit_market(1, BUY, 5)
    assert fills(eng) == [(1, 101, 3, LiquiditySide.TAKER)]
    eng.submit_limit(2, BUY, 100, 3)  # joins the bid behind 8
    order = eng.order(2)
    assert order is not None and order.queue_ahead == 8
    eng.events()
    eng.process_trades(trades((2, 100, 5, SELLER)))
    assert fills(eng) == []
    eng.process_trades(trades((3, 100, 50, BUYER)))  # lifts offers: not our queue
    eng.process_trades(trades((4, 100, 4, SELLER)))
    assert fills(eng) == [(2, 100, 1, LiquiditySide.MAKER)]
    eng.process_trades(trades((5, 99, 10, SELLER)))  # through our price
    assert fills(eng) == [(2, 100, 2, LiquiditySide.MAKER)]
    assert eng.clock == 5
    with pytest.raises(InvalidValue, match=r"trades\[0\]\.size=0"):
        eng.process_trades(trades((6, 99, 0, SELLER)))
    with pytest.raises(InvalidValue, match=r"quotes\[0\]\.ask_size=-1"):
        eng.process_quotes(quotes((6, 99, 1, 100, -1)))
    assert eng.clock == 5


@pytest.mark.parametrize(
    ("model", "expected"), [(QueueModel.PROPORTIONAL, 5), (QueueModel.CONSERVATIVE, 8)]
)
def test_backtest_l2_queue_models(model: QueueModel, expected: int) -> None:
    eng = MatchingEngine("backtest", queue_model=model)
    eng.apply_deltas(deltas((1, BUY, 100, 10, 0)))
    eng.submit_limit(1, BUY, 100, 1)
    eng.apply_deltas(deltas((1, BUY, 100, 20, 0)))  # 10 join behind us
    eng.apply_deltas(deltas((2, BUY, 100, 15, 0)))  # 5 cancels: 5*10/20 = 2 from ahead
    eng.apply_deltas(deltas((2, BUY, 100, 8, 0)))  # 7 cancels: 7*8/15 = 3 from ahead
    order = eng.order(1)
    assert order is not None and order.queue_ahead == expected


def test_backtest_l2_fill_only_after_queue_ahead() -> None:
    eng = MatchingEngine("backtest")
    eng.apply_deltas(deltas((1, BUY, 100, 10, 0), (1, SELL, 101, 10, 0x80)))
    eng.submit_limit(1, BUY, 100, 4)
    eng.events()
    eng.process_trades(trades((1, 100, 7, SELLER)))
    eng.apply_deltas(deltas((2, BUY, 100, 3, 0)))  # the trade, not cancels
    order = eng.order(1)
    assert order is not None and order.queue_ahead == 3
    assert fills(eng) == []
    eng.process_trades(trades((2, 100, 5, SELLER)))
    assert fills(eng) == [(1, 100, 2, LiquiditySide.MAKER)]
    # walking the book: consumed liquidity stays consumed until the level updates
    eng.submit_market(2, BUY, 4)
    eng.submit_market(3, BUY, 7)
    assert fills(eng) == [(2, 101, 4, LiquiditySide.TAKER), (3, 101, 6, LiquiditySide.TAKER)]
    eng.apply_deltas(deltas((2, SELL, 101, 10, 0)))
    eng.submit_market(4, BUY, 1)
    assert fills(eng) == [(4, 101, 1, LiquiditySide.TAKER)]
    with pytest.raises(InvalidValue, match=r"deltas\[0\]\.action=9"):
        eng.apply_deltas(deltas((9, BUY, 100, 1, 0)))


def test_backtest_bars() -> None:
    eng = MatchingEngine("backtest")
    eng.submit_limit(1, BUY, 95, 10)
    eng.submit_stop_market(2, BUY, 103, 5)
    eng.events()
    bars = np.zeros(1, dtype=BAR_DTYPE)
    bars[0]["ts_close"] = 60
    bars[0]["open"], bars[0]["high"], bars[0]["low"], bars[0]["close"] = 100, 104, 95, 98
    bars[0]["volume"] = 400
    eng.process_bars(bars)
    # O(100) -> H(104): the stop fires at 103; -> L(95): our bid fills at 95
    assert fills(eng) == [(2, 103, 5, LiquiditySide.TAKER), (1, 95, 10, LiquiditySide.MAKER)]
    assert eng.clock == 60
    bars[0]["low"] = 99
    with pytest.raises(InvalidValue, match=r"bars\[0\]\.low=99"):
        eng.process_bars(bars)
