"""Behaviour of order events, the Order entity and its state machine."""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from alphaforge.errors import InvalidStateTransition, InvalidValue
from alphaforge.model import (
    CLOSED_STATUSES,
    INFLIGHT_STATUSES,
    OPEN_STATUSES,
    ORDER_TRANSITIONS,
    PREVIOUS_STATUS,
    USDT,
    AccountId,
    ClientOrderId,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    PositionId,
    Price,
    Quantity,
    StrategyId,
    TimeInForce,
    TradeId,
    VenueOrderId,
)

COID = ClientOrderId("O-1")
SID = StrategyId("S-1")
IID = InstrumentId.from_str("BTCUSDT.BINANCE")
ACC = AccountId("BINANCE-1")
VOID = VenueOrderId("V-1")


class Ids:
    """Deterministic event/trade ids."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def next(self) -> int:
        return next(self._n)


def common(ids: Ids) -> dict[str, Any]:
    n = ids.next()
    return dict(
        client_order_id=COID,
        strategy_id=SID,
        instrument_id=IID,
        ts_event=n,
        ts_init=n,
        event_id=f"E{n}",
    )


def fill(ids: Ids, qty: str = "1", px: str = "100", trade: str | None = None) -> OrderFilled:
    c = common(ids)
    return OrderFilled(
        **c,
        venue_order_id=VOID,
        account_id=ACC,
        trade_id=TradeId(trade or f"T{c['ts_event']}"),
        order_side=OrderSide.BUY,
        order_type=OrderType.STOP_LIMIT,
        last_qty=Quantity(qty),
        last_px=Price(px),
        commission=Money("0.01", USDT),
        liquidity_side=LiquiditySide.TAKER,
        position_id=PositionId("P-1"),
    )


EVENT_FACTORIES: dict[type[OrderEvent], Callable[[Ids], OrderEvent]] = {
    OrderInitialized: lambda ids: OrderInitialized(
        **common(ids), side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Quantity("1")
    ),
    OrderDenied: lambda ids: OrderDenied(**common(ids), reason="risk"),
    OrderSubmitted: lambda ids: OrderSubmitted(**common(ids), account_id=ACC),
    OrderAccepted: lambda ids: OrderAccepted(**common(ids), venue_order_id=VOID, account_id=ACC),
    OrderRejected: lambda ids: OrderRejected(**common(ids), account_id=ACC, reason="no"),
    OrderCanceled: lambda ids: OrderCanceled(**common(ids)),
    OrderExpired: lambda ids: OrderExpired(**common(ids)),
    OrderTriggered: lambda ids: OrderTriggered(**common(ids)),
    OrderPendingUpdate: lambda ids: OrderPendingUpdate(**common(ids)),
    OrderPendingCancel: lambda ids: OrderPendingCancel(**common(ids)),
    OrderModifyRejected: lambda ids: OrderModifyRejected(**common(ids), reason="no"),
    OrderCancelRejected: lambda ids: OrderCancelRejected(**common(ids), reason="no"),
    OrderUpdated: lambda ids: OrderUpdated(
        **common(ids), quantity=Quantity("10"), price=Price("99"), trigger_price=Price("98")
    ),
    OrderFilled: lambda ids: fill(ids),
}

# A path of events from INITIALIZED to each status (with the status before any pending state).
PATHS: dict[OrderStatus, list[type[OrderEvent] | str]] = {
    OrderStatus.INITIALIZED: [],
    OrderStatus.DENIED: [OrderDenied],
    OrderStatus.SUBMITTED: [OrderSubmitted],
    OrderStatus.REJECTED: [OrderSubmitted, OrderRejected],
    OrderStatus.ACCEPTED: [OrderSubmitted, OrderAccepted],
    OrderStatus.CANCELED: [OrderSubmitted, OrderAccepted, OrderCanceled],
    OrderStatus.EXPIRED: [OrderSubmitted, OrderAccepted, OrderExpired],
    OrderStatus.TRIGGERED: [OrderSubmitted, OrderAccepted, OrderTriggered],
    OrderStatus.PENDING_UPDATE: [OrderSubmitted, OrderAccepted, OrderPendingUpdate],
    OrderStatus.PENDING_CANCEL: [OrderSubmitted, OrderAccepted, OrderPendingCancel],
    OrderStatus.PARTIALLY_FILLED: [OrderSubmitted, OrderAccepted, OrderFilled],
    OrderStatus.FILLED: [OrderSubmitted, OrderAccepted, "full-fill"],
}


def new_order(ids: Ids, **kw: Any) -> Order:
    args: dict[str, Any] = dict(
        client_order_id=COID,
        strategy_id=SID,
        instrument_id=IID,
        side=OrderSide.BUY,
        quantity=Quantity("10"),
        order_type=OrderType.STOP_LIMIT,
        price=Price("100"),
        trigger_price=Price("101"),
        event_id="E0",
    )
    args.update(kw)
    return Order(**args)


def order_in(status: OrderStatus, ids: Ids) -> Order:
    order = new_order(ids)
    for step in PATHS[status]:
        if step == "full-fill":
            order.apply(fill(ids, qty="10"))
        else:
            assert not isinstance(step, str)
            order.apply(EVENT_FACTORIES[step](ids))
    assert order.status == status
    return order


def snapshot(order: Order) -> tuple[object, ...]:
    return (
        order.status,
        order.quantity,
        order.price,
        order.trigger_price,
        order.filled_qty,
        order.leaves_qty,
        order.avg_px,
        order.venue_order_id,
        order.account_id,
        order.position_id,
        order.events,
        order.ts_last,
        order.is_open,
        order.is_closed,
        order.is_inflight,
    )


def flags(o: Order) -> tuple[bool, bool, bool]:
    return (o.is_open, o.is_closed, o.is_inflight)


def all_pairs() -> Iterator[tuple[OrderStatus, type[OrderEvent]]]:
    return itertools.product(OrderStatus, EVENT_FACTORIES)


@pytest.mark.parametrize(
    ("status", "event_type"),
    list(all_pairs()),
    ids=[f"{s.name}-{e.__name__}" for s, e in all_pairs()],
)
def test_state_machine_exhaustive(status: OrderStatus, event_type: type[OrderEvent]) -> None:
    ids = Ids()
    order = order_in(status, ids)
    event = EVENT_FACTORIES[event_type](ids)
    before = snapshot(order)
    target = ORDER_TRANSITIONS.get((status, event_type))
    if target is None:
        with pytest.raises(InvalidStateTransition) as ei:
            order.apply(event)
        assert status.name in str(ei.value) and event_type.__name__ in str(ei.value)
        assert snapshot(order) == before
        return
    order.apply(event)
    expected = (
        OrderStatus.ACCEPTED if target is PREVIOUS_STATUS else target
    )  # paths pend from ACCEPTED
    assert order.status == expected
    assert order.last_event is event and order.event_count == len(before[10]) + 1  # type: ignore[arg-type]


def test_table_shape() -> None:
    for (status, event_type), target in ORDER_TRANSITIONS.items():
        assert status not in CLOSED_STATUSES  # terminal statuses have no exits
        assert event_type is not OrderInitialized
        if target is PREVIOUS_STATUS:
            assert status in (OrderStatus.PENDING_UPDATE, OrderStatus.PENDING_CANCEL)
        if event_type is OrderFilled:
            assert target == OrderStatus.PARTIALLY_FILLED
    assert set(EVENT_FACTORIES) == {*(e for _, e in ORDER_TRANSITIONS), OrderInitialized}


def test_status_sets() -> None:
    assert OPEN_STATUSES.isdisjoint(CLOSED_STATUSES)
    assert INFLIGHT_STATUSES.isdisjoint(CLOSED_STATUSES)
    ids = Ids()
    o = new_order(ids)
    assert flags(o) == (False, False, False)
    o.apply(EVENT_FACTORIES[OrderSubmitted](ids))
    assert flags(o) == (False, False, True)
    o.apply(EVENT_FACTORIES[OrderAccepted](ids))
    assert flags(o) == (True, False, False)
    o.apply(EVENT_FACTORIES[OrderPendingCancel](ids))
    assert flags(o) == (True, False, True)
    o.apply(EVENT_FACTORIES[OrderCanceled](ids))
    assert flags(o) == (False, True, False) and o.leaves_qty == Quantity("0")


@pytest.mark.parametrize("pending", [OrderPendingUpdate, OrderPendingCancel])
@pytest.mark.parametrize("answer", [OrderModifyRejected, OrderCancelRejected, OrderUpdated])
def test_previous_status_from_partially_filled(
    pending: type[OrderEvent], answer: type[OrderEvent]
) -> None:
    ids = Ids()
    order = order_in(OrderStatus.PARTIALLY_FILLED, ids)
    order.apply(EVENT_FACTORIES[pending](ids))
    target = ORDER_TRANSITIONS[(order.status, answer)]
    order.apply(EVENT_FACTORIES[answer](ids))
    if target is PREVIOUS_STATUS:
        assert order.status == OrderStatus.PARTIALLY_FILLED
    else:
        assert order.status == target


def test_pending_then_pending_keeps_original_previous() -> None:
    ids = Ids()
    order = order_in(OrderStatus.TRIGGERED, ids)
    order.apply(EVENT_FACTORIES[OrderPendingUpdate](ids))
    order.apply(EVENT_FACTORIES[OrderPendingCancel](ids))
    order.apply(EVENT_FACTORIES[OrderCancelRejected](ids))
    assert order.status == OrderStatus.TRIGGERED


def test_fills_and_avg_px() -> None:
    ids = Ids()
    order = order_in(OrderStatus.ACCEPTED, ids)
    assert order.avg_px is None
    order.apply(fill(ids, qty="1", px="100"))
    order.apply(fill(ids, qty="2.5", px="101.5"))
    assert order.status == OrderStatus.PARTIALLY_FILLED
    assert order.filled_qty == Quantity("3.5") and order.leaves_qty == Quantity("6.5")
    ctx38 = decimal.Context(prec=38)
    exact_sum = Decimal("100") + Decimal("2.5") * Decimal("101.5")
    assert order.avg_px == ctx38.divide(exact_sum, Decimal("3.5"))
    order.apply(fill(ids, qty="6.5", px="99.25"))
    assert (order.status, order.is_closed) == (OrderStatus.FILLED, True)
    assert order.filled_qty == Quantity("10") and order.leaves_qty == Quantity("0")
    expected = (Decimal(100) + Decimal("253.75") + Decimal("645.125")) / 10
    assert order.avg_px == expected == Decimal("99.8875")
    assert order.venue_order_id == VOID and order.position_id == PositionId("P-1")


def test_avg_px_inexact_quotient_is_38_digits() -> None:
    ids = Ids()
    order = order_in(OrderStatus.ACCEPTED, ids)
    order.apply(fill(ids, qty="1", px="1"))
    order.apply(fill(ids, qty="2", px="2"))
    assert order.avg_px is not None
    assert str(order.avg_px).startswith("1.6666666666666666666666666666666666667")


def test_overfill_rejected_and_state_unchanged() -> None:
    ids = Ids()
    order = order_in(OrderStatus.PARTIALLY_FILLED, ids)
    before = snapshot(order)
    with pytest.raises(InvalidValue) as ei:
        order.apply(fill(ids, qty="9.5"))
    assert ei.value.field == "last_qty" and ei.value.value == "9.5"
    assert "overfill" in str(ei.value)
    assert snapshot(order) == before


def test_duplicate_trade_id_rejected() -> None:
    ids = Ids()
    order = order_in(OrderStatus.ACCEPTED, ids)
    order.apply(fill(ids, trade="T-X"))
    before = snapshot(order)
    with pytest.raises(InvalidValue) as ei:
        order.apply(fill(ids, trade="T-X"))
    assert ei.value.field == "trade_id" and ei.value.value == "T-X"
    assert snapshot(order) == before


def test_zero_fill_rejected() -> None:
    ids = Ids()
    order = order_in(OrderStatus.ACCEPTED, ids)
    with pytest.raises(InvalidValue) as ei:
        order.apply(fill(ids, qty="0"))
    assert ei.value.field == "last_qty"


def test_event_for_other_order_rejected() -> None:
    ids = Ids()
    order = order_in(OrderStatus.ACCEPTED, ids)
    before = snapshot(order)
    c = common(ids)
    c["client_order_id"] = ClientOrderId("O-2")
    with pytest.raises(InvalidValue) as ei:
        order.apply(OrderCanceled(**c))
    assert ei.value.field == "event.client_order_id" and ei.value.value == "O-2"
    c = common(ids)
    c["instrument_id"] = InstrumentId.from_str("ETHUSDT.BINANCE")
    with pytest.raises(InvalidValue) as ei:
        order.apply(OrderCanceled(**c))
    assert ei.value.field == "event.instrument_id"
    with pytest.raises(InvalidValue):
        order.apply("cancel")  # type: ignore[arg-type]
    assert snapshot(order) == before


def test_update_changes_terms() -> None:
    ids = Ids()
    order = order_in(OrderStatus.ACCEPTED, ids)
    order.apply(OrderUpdated(**common(ids), quantity=Quantity("12"), price=Price("95")))
    assert order.quantity == Quantity("12") and order.price == Price("95")
    assert order.trigger_price == Price("101") and order.leaves_qty == Quantity("12")


def test_update_below_filled_rejected() -> None:
    ids = Ids()
    order = order_in(OrderStatus.PARTIALLY_FILLED, ids)
    order.apply(fill(ids, qty="3"))
    before = snapshot(order)
    with pytest.raises(InvalidValue) as ei:
        order.apply(OrderUpdated(**common(ids), quantity=Quantity("3")))
    assert ei.value.field == "quantity" and ei.value.value == "3"
    assert snapshot(order) == before


def test_update_down_to_filled_completes_order() -> None:
    ids = Ids()
    order = order_in(OrderStatus.PARTIALLY_FILLED, ids)
    order.apply(OrderUpdated(**common(ids), quantity=Quantity("1")))
    assert order.status == OrderStatus.FILLED


def test_events_recorded_in_order() -> None:
    ids = Ids()
    order = order_in(OrderStatus.CANCELED, ids)
    kinds = [type(e) for e in order.events]
    assert kinds == [OrderInitialized, OrderSubmitted, OrderAccepted, OrderCanceled]
    assert order.events[0].event_id == "E0"
    assert isinstance(order.init_event, OrderInitialized)


def test_default_event_ids_are_unique() -> None:
    a = OrderCanceled(
        client_order_id=COID, strategy_id=SID, instrument_id=IID, ts_event=0, ts_init=0
    )
    b = OrderCanceled(
        client_order_id=COID, strategy_id=SID, instrument_id=IID, ts_event=0, ts_init=0
    )
    assert a.event_id != b.event_id and len(a.event_id) == 36


def test_from_init() -> None:
    ids = Ids()
    init = EVENT_FACTORIES[OrderInitialized](ids)
    assert isinstance(init, OrderInitialized)
    order = Order.from_init(init)
    assert order.status == OrderStatus.INITIALIZED and order.order_type == OrderType.MARKET
    with pytest.raises(InvalidValue):
        Order.from_init(OrderDenied(**common(ids), reason="x"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"side": OrderSide.NO_SIDE}, "side"),
        ({"side": 1}, "side"),
        ({"quantity": Quantity("0")}, "quantity"),
        ({"quantity": Price("1")}, "quantity"),
        ({"order_type": OrderType.LIMIT, "price": None, "trigger_price": None}, "price"),
        ({"order_type": OrderType.LIMIT, "trigger_price": Price("1")}, "trigger_price"),
        ({"order_type": OrderType.MARKET, "trigger_price": None}, "price"),
        ({"order_type": OrderType.MARKET, "price": None}, "trigger_price"),
        (
            {"order_type": OrderType.STOP_MARKET, "price": None, "trigger_price": None},
            "trigger_price",
        ),
        ({"order_type": OrderType.STOP_MARKET, "trigger_price": Price("1")}, "price"),
        ({"order_type": OrderType.STOP_LIMIT, "price": None}, "price"),
        ({"order_type": OrderType.LIMIT_IF_TOUCHED, "trigger_price": None}, "trigger_price"),
        (
            {"order_type": OrderType.MARKET_IF_TOUCHED, "price": None, "trigger_price": None},
            "trigger_price",
        ),
        ({"time_in_force": TimeInForce.GTD}, "expire_time_ns"),
        ({"time_in_force": TimeInForce.GTD, "expire_time_ns": 0}, "expire_time_ns"),
        ({"expire_time_ns": 5}, "expire_time_ns"),
        (
            {
                "order_type": OrderType.MARKET,
                "price": None,
                "trigger_price": None,
                "post_only": True,
            },
            "post_only",
        ),
        ({"time_in_force": TimeInForce.IOC, "post_only": True}, "post_only"),
        ({"reduce_only": 1}, "reduce_only"),
        ({"time_in_force": "GTC"}, "time_in_force"),
    ],
)
def test_order_request_validation(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as ei:
        new_order(Ids(), **kw)
    assert ei.value.field == field


def test_valid_requests() -> None:
    ids = Ids()
    o = new_order(ids, order_type=OrderType.MARKET, price=None, trigger_price=None)
    assert o.order_type == OrderType.MARKET and o.price is None
    o = new_order(
        ids,
        order_type=OrderType.LIMIT,
        trigger_price=None,
        time_in_force=TimeInForce.GTD,
        expire_time_ns=10,
        post_only=True,
        reduce_only=True,
    )
    assert o.expire_time_ns == 10 and o.post_only and o.reduce_only
    assert "O-1" in repr(o) and "INITIALIZED" in repr(o)
