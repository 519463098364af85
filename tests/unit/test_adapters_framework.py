"""alphaforge.adapters: Capabilities, the framework book-sync rule, reports and parse helpers."""

from __future__ import annotations

import pytest

from alphaforge.adapters import (
    BookIntegrity,
    BookSnapshot,
    BookSync,
    BookUpdate,
    Capabilities,
    FillReport,
    MarketDataKind,
    OrderReport,
    ReportKind,
    SyncResult,
    SyncState,
    order_events,
)
from alphaforge.adapters.parsing import ms_to_ns, raw_at, step_precision
from alphaforge.book import OrderBook, deltas_from_array
from alphaforge.data import MarketArray
from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.model import (
    F_LAST,
    F_SNAPSHOT,
    USDT,
    AccountId,
    BookAction,
    BookType,
    ClientOrderId,
    InstrumentId,
    LiquiditySide,
    Money,
    OrderAccepted,
    OrderFilled,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    StrategyId,
    TimeInForce,
    TradeId,
    VenueOrderId,
)

IID = InstrumentId.from_str("XYZ.SIM")


def caps(**kw: object) -> Capabilities:
    base: dict[str, object] = {
        "venue": "SIM",
        "order_types": {OrderType.MARKET, OrderType.LIMIT},
        "time_in_force": {TimeInForce.GTC, TimeInForce.IOC},
    }
    base.update(kw)
    return Capabilities(**base)  # type: ignore[arg-type]


# -- capabilities -----------------------------------------------------------------------------


def test_capabilities_both_ways() -> None:
    c = caps(post_only=True)
    assert c.supports_order(OrderType.LIMIT, TimeInForce.IOC)
    c.require_order(OrderType.LIMIT, post_only=True)
    with pytest.raises(NotSupported, match="STOP_MARKET"):
        c.require_order(OrderType.STOP_MARKET)
    with pytest.raises(NotSupported, match="FOK"):
        c.require_order(OrderType.LIMIT, TimeInForce.FOK)
    with pytest.raises(NotSupported, match="reduce-only"):
        c.require_order(OrderType.LIMIT, reduce_only=True)
    with pytest.raises(NotSupported, match="amend"):
        c.require("amend")
    with pytest.raises(InvalidValue):
        c.require("order_types")


def test_capabilities_are_frozen_and_validated() -> None:
    c = caps()
    with pytest.raises(AttributeError):
        c.amend = True  # type: ignore[misc]
    with pytest.raises(InvalidValue, match="order_types"):
        caps(order_types={"LIMIT"})
    with pytest.raises(InvalidValue, match="order_types"):
        caps(order_types="LIMIT")
    with pytest.raises(InvalidValue, match="amend"):
        caps(amend=1)
    with pytest.raises(InvalidValue, match="book_integrity"):
        caps(market_data={MarketDataKind.BOOK_DELTAS})


def test_capabilities_strings_are_stable() -> None:
    c = caps(amend=True, book_integrity={BookIntegrity.CHECKSUM, BookIntegrity.SEQUENCE})
    strings = c.as_strings()
    assert strings == tuple(sorted(strings))
    assert "amend" in strings and "book_integrity:checksum" in strings
    assert "order_type:LIMIT" in strings and "post_only" not in strings


# -- book sync --------------------------------------------------------------------------------


def snap(seq: int, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> BookSnapshot:
    return BookSnapshot(instrument_id=IID, sequence=seq, bids=bids, asks=asks)


def upd(first: int, last: int, bids=(), asks=(), prev: int | None = None) -> BookUpdate:  # type: ignore[no-untyped-def]
    return BookUpdate(
        instrument_id=IID, first_seq=first, last_seq=last, bids=tuple(bids), asks=tuple(asks),
        prev_seq=prev,
    )  # fmt: skip


def test_gap_invalidates_buffers_and_resyncs() -> None:
    reasons: list[str] = []
    sync = BookSync(IID, 2, 0, on_invalid=reasons.append)
    assert sync.state is SyncState.AWAITING_SNAPSHOT and sync.needs_snapshot
    assert sync.on_update(upd(11, 11, bids=[(9900, 5)])) is SyncResult.BUFFERED
    sync.on_snapshot(snap(10, [(10000, 1)], [(10100, 1)]))
    assert sync.is_valid and sync.last_sequence == 11 and sync.book.level_count(OrderSide.BUY) == 2
    assert sync.on_update(upd(11, 11)) is SyncResult.DROPPED
    top = sync.book.top()
    assert sync.on_update(upd(13, 13, asks=[(10050, 1)])) is SyncResult.INVALIDATED
    assert reasons and "gap" in reasons[0] and sync.state is SyncState.INVALID
    assert sync.on_update(upd(14, 14, asks=[(10060, 1)])) is SyncResult.BUFFERED
    assert sync.book.top() == top  # nothing applied while invalid
    assert sync.on_update(upd(12, 12, bids=[(9900, 0)])) is SyncResult.BUFFERED  # late
    assert sync.on_snapshot(snap(11, [(10000, 1), (9900, 5)], [(10100, 1)])) == 3
    assert sync.is_valid and sync.last_sequence == 14 and sync.buffered == 0
    assert sync.book.best_ask_price() == Price("100.50")
    assert sync.book.level_count(OrderSide.BUY) == 1  # 12 removed 99.00


def test_applied_changes_are_handed_on_as_deltas() -> None:
    # A consumer applying only the emitted batches keeps a book identical to the sync's own,
    # through a gap and a resync (whose CLEAR wipes what the consumer held).
    emitted: list[MarketArray] = []
    sync = BookSync(IID, 2, 0, on_deltas=emitted.append)
    mirror = OrderBook(IID, BookType.L2_MBP, 2, 0)

    def actions(batch: MarketArray) -> list[BookAction]:
        return [BookAction(a) for a in batch.records["action"].tolist()]

    def same() -> bool:
        for batch in emitted:
            assert batch.instrument_id == IID.value
            assert (batch.price_precision, batch.size_precision) == (2, 0)
            mirror.apply_batch(batch.records)
        emitted.clear()
        return all(mirror.levels(s)[i].tolist() == sync.book.levels(s)[i].tolist()
                   for s in (OrderSide.BUY, OrderSide.SELL) for i in (0, 1))  # fmt: skip

    sync.on_update(upd(11, 11, bids=[(9900, 5)]))  # buffered: nothing emitted yet
    assert not emitted
    sync.on_snapshot(snap(10, [(10000, 1)], [(10100, 1)]))
    first = emitted[0].records
    assert actions(emitted[0]) == [BookAction.CLEAR, BookAction.ADD, BookAction.ADD]
    assert all(f & F_SNAPSHOT for f in first["flags"].tolist()) and first["flags"][-1] & F_LAST
    assert actions(emitted[1]) == [BookAction.UPDATE]  # the replayed buffer
    assert same()
    sync.on_update(upd(12, 12, asks=[(10100, 0)], bids=[(9950, 2)]))
    assert set(actions(emitted[0])) == {BookAction.UPDATE, BookAction.DELETE}
    assert same()
    sync.on_update(upd(14, 14, bids=[(9000, 1)]))  # gap: nothing emitted while invalid
    assert not emitted
    sync.on_snapshot(snap(13, [(9800, 3)], [(10200, 4)]))
    assert same() and sync.is_valid
    sync.on_snapshot(snap(20, [], []))  # an empty book is a lone CLEAR
    assert actions(emitted[0]) == [BookAction.CLEAR]
    assert same()
    # the objects a deltas subscriber gets carry the same changes
    sync.on_update(upd(21, 21, bids=[(9700, 7)]))
    (delta,) = deltas_from_array(IID, emitted[0].records, 2, 0).deltas
    assert (delta.action, delta.side, delta.price, delta.size) == (
        BookAction.UPDATE, OrderSide.BUY, Price("97.00"), Quantity("7"))  # fmt: skip


def test_prev_seq_chaining_and_overflow() -> None:
    sync = BookSync(IID, 2, 0, max_buffer=2)
    for i in range(4):
        sync.on_update(upd(20 + i, 20 + i))
    assert sync.buffered == 2 and sync.stats.buffer_overflows == 2
    sync.on_snapshot(snap(5, [], []))  # 22..23 do not bridge 5: still needs a newer one
    assert sync.needs_snapshot and "older" in sync.reason
    sync.on_snapshot(snap(21, [(1, 1)], []))
    assert sync.is_valid and sync.last_sequence == 23
    assert sync.on_update(upd(30, 31, prev=23)) is SyncResult.APPLIED
    assert sync.on_update(upd(40, 41, prev=39)) is SyncResult.INVALIDATED


def test_bad_input_leaves_state_unchanged() -> None:
    sync = BookSync(IID, 2, 0)
    sync.on_snapshot(snap(1, [(100, 1)], [(200, 1)]))
    top = sync.book.top()
    with pytest.raises(InvalidValue):
        sync.on_snapshot(snap(5, [(100, 0)], []))
    with pytest.raises(InvalidValue):
        sync.on_update(BookUpdate(instrument_id=InstrumentId.from_str("ABC.SIM"), first_seq=2,
                                  last_seq=2, bids=(), asks=()))  # fmt: skip
    with pytest.raises(InvalidValue, match="first_seq"):
        upd(5, 4)
    assert sync.book.top() == top and sync.is_valid and sync.last_sequence == 1
    # A batch the native book rejects invalidates, atomically.
    assert sync.on_update(upd(2, 2, bids=[(100, -1)])) is SyncResult.INVALIDATED
    assert sync.book.top() == top


def test_checksum_venue_rule() -> None:
    class Checksum(BookSync):
        integrity = frozenset({BookIntegrity.CHECKSUM})

        def verify(self, update: BookUpdate) -> bool:
            return update.checksum == self.book.level_count(OrderSide.BUY)

    sync = Checksum(IID, 0, 0)
    assert sync.on_update(upd(0, 0)) is SyncResult.DROPPED  # nothing to tell stale from new
    sync.on_snapshot(snap(0, [(1, 1)], []))
    ok = BookUpdate(instrument_id=IID, first_seq=0, last_seq=0, bids=((2, 1),), asks=(),
                    checksum=2)  # fmt: skip
    assert sync.on_update(ok) is SyncResult.APPLIED
    bad = BookUpdate(instrument_id=IID, first_seq=0, last_seq=0, bids=((3, 1),), asks=(),
                     checksum=99)  # fmt: skip
    assert sync.on_update(bad) is SyncResult.INVALIDATED and "checksum" in sync.reason
    assert sync.buffered == 0


# -- reports ----------------------------------------------------------------------------------


def report(kind: ReportKind, **kw: object) -> OrderReport:
    base: dict[str, object] = {
        "account_id": AccountId("SIM-001"), "instrument_id": IID,
        "client_order_id": ClientOrderId("O-1"), "venue_order_id": VenueOrderId("V-1"),
        "kind": kind, "status": OrderStatus.ACCEPTED, "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT, "time_in_force": TimeInForce.GTC,
        "quantity": Quantity("2"), "filled_qty": Quantity("0"), "price": Price("1.00"),
    }  # fmt: skip
    base.update(kw)
    return OrderReport(**base)  # type: ignore[arg-type]


def test_order_events_from_reports() -> None:
    sid = StrategyId("S-1")
    (accepted,) = order_events(report(ReportKind.ACCEPTED), strategy_id=sid, ts_init=5)
    assert isinstance(accepted, OrderAccepted) and accepted.strategy_id == sid
    fill = FillReport(trade_id=TradeId("T-1"), last_qty=Quantity("1"), last_px=Price("1.00"),
                      commission=Money("0.01", USDT), liquidity_side=LiquiditySide.MAKER,
                      ts_event=7)  # fmt: skip
    fills = order_events(
        report(ReportKind.FILL, fills=(fill, fill), filled_qty=Quantity("2")),
        strategy_id=sid, ts_init=5,
    )  # fmt: skip
    assert len(fills) == 2 and all(isinstance(e, OrderFilled) for e in fills)
    assert order_events(report(ReportKind.STATUS), strategy_id=sid, ts_init=5) == ()
    with pytest.raises(InvalidValue, match="fills"):
        report(ReportKind.FILL)
    with pytest.raises(InvalidValue, match="filled_qty"):
        report(ReportKind.STATUS, filled_qty=Quantity("3"))


# -- parse helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "precision", "raw"),
    [("0.35210000", 4, 3521), ("10", 2, 1000), ("0.0", 0, 0), ("12.5", 1, 125)],
)
def test_raw_at(text: str, precision: int, raw: int) -> None:
    assert raw_at(text, precision, "x") == raw


@pytest.mark.parametrize("text", ["1.25", "-1", "1e3", " 1", "NaN", "", "1.", 1.5, None, "9" * 30])
def test_raw_at_rejects(text: object) -> None:
    with pytest.raises(InvalidValue) as exc:
        raw_at(text, 1, "depth.bids[0].price")
    assert exc.value.field == "depth.bids[0].price"


def test_step_precision_and_times() -> None:
    assert step_precision("0.01000000", "t") == 2
    assert step_precision("1.00000000", "t") == 0
    assert step_precision("10", "t") == 0
    for bad in ("0", "-0.1", "x", None):
        with pytest.raises(InvalidValue):
            step_precision(bad, "t")
    assert ms_to_ns(1, "T") == 1_000_000
    with pytest.raises(InvalidValue):
        ms_to_ns(True, "T")
