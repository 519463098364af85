"""OrderFactory: order types, deterministic client order ids, brackets and order lists."""

from __future__ import annotations

import pytest

from alphaforge.clock import TestClock
from alphaforge.errors import InvalidValue
from alphaforge.execution import ContingencyType, OrderList
from alphaforge.model import (
    InstrumentId,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    StrategyId,
    TimeInForce,
    TraderId,
)
from alphaforge.trading import OrderFactory

IID = InstrumentId.from_str("BTCUSDT.SIM")
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z


def factory(clock: TestClock | None = None, tag: str = "001") -> OrderFactory:
    return OrderFactory(
        TraderId("TESTER-007"), StrategyId("S-001"), clock or TestClock(T0), order_id_tag=tag
    )


def test_client_order_ids_are_deterministic_and_readable() -> None:
    clock = TestClock(T0)
    f = factory(clock)
    a = f.market(IID, OrderSide.BUY, Quantity("1"))
    clock.advance_time(T0 + 3_723_000_000_000)  # +1h 2m 3s
    b = f.market(IID, OrderSide.SELL, Quantity("1"))
    assert str(a.client_order_id) == "O-20240101-000000-007-001-1"
    assert str(b.client_order_id) == "O-20240101-010203-007-001-2"
    assert a.init_event.event_id == "I-O-20240101-000000-007-001-1"
    assert a.init_event.ts_init == T0
    assert f.count == 2
    again = factory()
    assert again.market(IID, OrderSide.BUY, Quantity("1")).client_order_id == a.client_order_id
    f.reset()
    assert f.count == 0


@pytest.mark.parametrize(
    ("method", "args", "order_type", "price", "trigger"),
    [
        ("market", (), OrderType.MARKET, None, None),
        ("limit", (Price("10"),), OrderType.LIMIT, "10", None),
        ("stop_market", (Price("9"),), OrderType.STOP_MARKET, None, "9"),
        ("stop_limit", (Price("8"), Price("9")), OrderType.STOP_LIMIT, "8", "9"),
        ("market_if_touched", (Price("11"),), OrderType.MARKET_IF_TOUCHED, None, "11"),
        ("limit_if_touched", (Price("12"), Price("11")), OrderType.LIMIT_IF_TOUCHED, "12", "11"),
    ],
)
def test_order_types(
    method: str,
    args: tuple[Price, ...],
    order_type: OrderType,
    price: str | None,
    trigger: str | None,
) -> None:
    order = getattr(factory(), method)(IID, OrderSide.BUY, Quantity("2"), *args)
    assert order.order_type is order_type
    assert order.status is OrderStatus.INITIALIZED
    assert order.strategy_id == StrategyId("S-001")
    assert order.quantity == Quantity("2")
    assert order.price == (Price(price) if price else None)
    assert order.trigger_price == (Price(trigger) if trigger else None)
    assert order.time_in_force is TimeInForce.GTC


def test_options_are_passed_through() -> None:
    order = factory().limit(
        IID,
        OrderSide.SELL,
        Quantity("1"),
        Price("10"),
        time_in_force=TimeInForce.GTD,
        expire_time_ns=T0 + 1,
        post_only=True,
        reduce_only=True,
    )
    assert order.time_in_force is TimeInForce.GTD
    assert order.expire_time_ns == T0 + 1
    assert order.post_only and order.reduce_only


def test_invalid_requests_do_not_consume_ids() -> None:
    f = factory()
    with pytest.raises(InvalidValue, match="quantity"):
        f.market(IID, OrderSide.BUY, Quantity("0"))
    with pytest.raises(InvalidValue, match="expire_time_ns"):
        f.limit(IID, OrderSide.BUY, Quantity("1"), Price("1"), time_in_force=TimeInForce.GTD)
    with pytest.raises(InvalidValue, match="instrument_id"):
        f.market("BTCUSDT.SIM", OrderSide.BUY, Quantity("1"))  # type: ignore[arg-type]
    assert f.count == 0
    assert str(f.market(IID, OrderSide.BUY, Quantity("1")).client_order_id).endswith("-1")


def test_constructor_validation() -> None:
    with pytest.raises(InvalidValue, match="trader_id"):
        OrderFactory("T-1", StrategyId("S"), TestClock())  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="strategy_id"):
        OrderFactory(TraderId("T-1"), "S", TestClock())  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="order_id_tag"):
        OrderFactory(TraderId("T-1"), StrategyId("S"), TestClock(), order_id_tag="")


def test_bracket_market_entry() -> None:
    f = factory()
    bracket = f.bracket(
        IID,
        OrderSide.BUY,
        Quantity("1"),
        take_profit_price=Price("110"),
        stop_loss_trigger_price=Price("90"),
    )
    assert isinstance(bracket, OrderList)
    assert bracket.contingency is ContingencyType.BRACKET
    entry, tp, sl = bracket.orders
    assert entry.order_type is OrderType.MARKET and entry.side is OrderSide.BUY
    assert tp.order_type is OrderType.LIMIT and tp.side is OrderSide.SELL and tp.reduce_only
    assert sl.order_type is OrderType.STOP_MARKET and sl.trigger_price == Price("90")
    assert sl.reduce_only
    assert bracket.id == "OL-20240101-000000-007-001-1"
    assert bracket.instrument_id == IID and bracket.strategy_id == StrategyId("S-001")
    assert bracket.first is entry and len(bracket) == 3


def test_bracket_limit_entry_and_price_sides() -> None:
    f = factory()
    sell = f.bracket(
        IID,
        OrderSide.SELL,
        Quantity("1"),
        entry_price=Price("100"),
        take_profit_price=Price("90"),
        stop_loss_trigger_price=Price("110"),
    )
    assert sell.orders[0].order_type is OrderType.LIMIT
    assert sell.orders[1].side is OrderSide.BUY
    count = f.count
    with pytest.raises(InvalidValue, match="stop_loss_trigger_price"):
        f.bracket(
            IID,
            OrderSide.BUY,
            Quantity("1"),
            take_profit_price=Price("90"),
            stop_loss_trigger_price=Price("110"),
        )
    with pytest.raises(InvalidValue, match="entry_price"):
        f.bracket(
            IID,
            OrderSide.BUY,
            Quantity("1"),
            entry_price=Price("120"),
            take_profit_price=Price("110"),
            stop_loss_trigger_price=Price("90"),
        )
    with pytest.raises(InvalidValue, match="quantity"):
        f.bracket(
            IID,
            OrderSide.BUY,
            Quantity("0"),
            take_profit_price=Price("110"),
            stop_loss_trigger_price=Price("90"),
        )
    with pytest.raises(InvalidValue, match="side"):
        f.bracket(
            IID,
            OrderSide.NO_SIDE,
            Quantity("1"),
            take_profit_price=Price("110"),
            stop_loss_trigger_price=Price("90"),
        )
    with pytest.raises(InvalidValue, match="take_profit_price"):
        f.bracket(
            IID,
            OrderSide.BUY,
            Quantity("1"),
            take_profit_price=110,  # type: ignore[arg-type]
            stop_loss_trigger_price=Price("90"),
        )
    assert f.count == count


def test_order_list_validation() -> None:
    f = factory()
    a = f.limit(IID, OrderSide.SELL, Quantity("1"), Price("110"))
    b = f.stop_market(IID, OrderSide.SELL, Quantity("1"), Price("90"))
    oco = f.order_list([a, b], ContingencyType.OCO)
    assert oco.orders == (a, b)
    other = OrderFactory(TraderId("T-1"), StrategyId("S-2"), TestClock())
    c = other.market(IID, OrderSide.BUY, Quantity("1"))
    d = f.market(InstrumentId.from_str("ETHUSDT.SIM"), OrderSide.BUY, Quantity("1"))
    with pytest.raises(InvalidValue, match="must not be empty"):
        OrderList("L", ())
    with pytest.raises(InvalidValue, match=r"orders\[1\]\.strategy_id"):
        OrderList("L", (a, c))
    with pytest.raises(InvalidValue, match=r"orders\[1\]\.instrument_id"):
        OrderList("L", (a, d))
    with pytest.raises(InvalidValue, match="duplicated"):
        OrderList("L", (a, a))
    with pytest.raises(InvalidValue, match="OCO"):
        OrderList("L", (a,), ContingencyType.OCO)
    with pytest.raises(InvalidValue, match="bracket"):
        OrderList("L", (a,), ContingencyType.BRACKET)
    with pytest.raises(InvalidValue, match="id"):
        OrderList("has space", (a,))
    with pytest.raises(InvalidValue, match=r"orders\[0\]"):
        OrderList("L", ("x",))  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="orders"):
        OrderList("L", a)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="contingency"):
        OrderList("L", (a,), 1)  # type: ignore[arg-type]
