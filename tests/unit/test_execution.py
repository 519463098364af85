"""ExecutionEngine: routing, order state, positions (netting/hedging), contingencies, errors."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from alphaforge.cache import Cache
from alphaforge.clock import TestClock
from alphaforge.errors import InvalidValue
from alphaforge.execution import (
    CancelAllOrders,
    CancelOrder,
    ContingencyType,
    ExecEngineConfig,
    ExecutionClient,
    ExecutionEngine,
    ModifyOrder,
    OmsType,
    OrderList,
    SubmitOrder,
    SubmitOrderList,
)
from alphaforge.model import (
    BTC,
    USDT,
    AccountId,
    ClientOrderId,
    Currency,
    CurrencyPair,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSide,
    OrderStatus,
    OrderType,
    PerpetualContract,
    PositionId,
    Price,
    Quantity,
    StrategyId,
    Symbol,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio import (
    AccountState,
    AccountType,
    MarginAccount,
    Portfolio,
    Position,
    PositionChanged,
    PositionClosed,
    PositionOpened,
    PositionSide,
)

IID = InstrumentId.from_str("BTCUSDT.SIM")
SID = StrategyId("S-001")
TRADER = TraderId("TESTER-001")
ACCOUNT = AccountId("SIM-001")
INSTRUMENT = CurrencyPair(
    id=IID,
    raw_symbol=Symbol("BTCUSDT"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=2,
    size_precision=3,
)


class RecordingClient:
    """A client that records commands and lets the test report events."""

    def __init__(self, venue: str = "SIM", account: AccountId = ACCOUNT) -> None:
        self._venue = Venue(venue)
        self._account = account
        self.commands: list[object] = []
        self.fail_on: set[str] = set()

    @property
    def venue(self) -> Venue:
        return self._venue

    @property
    def account_id(self) -> AccountId:
        return self._account

    def _record(self, kind: str, command: object) -> None:
        if kind in self.fail_on:
            raise RuntimeError(f"{kind} failed")
        self.commands.append(command)

    def submit_order(self, command: SubmitOrder) -> None:
        self._record("submit", command)

    def modify_order(self, command: ModifyOrder) -> None:
        self._record("modify", command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._record("cancel", command)

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        self._record("cancel_all", command)


class Env:
    def __init__(self, *, oms: OmsType = OmsType.NETTING, portfolio: bool = True) -> None:
        self.clock = TestClock(1_000)
        self.cache = Cache()
        self.bus = MessageBus()
        self.portfolio = Portfolio(self.cache, self.clock, self.bus) if portfolio else None
        self.engine = ExecutionEngine(
            self.cache,
            self.clock,
            self.bus,
            portfolio=self.portfolio,
            config=ExecEngineConfig(default_oms_type=oms),
            trader_id=TRADER,
        )
        self.errors: list[str] = []
        self.engine.on_error = lambda msg, obj: self.errors.append(msg)
        self.client = RecordingClient()
        self.engine.register_client(self.client)
        self.cache.add_instrument(INSTRUMENT)
        self.order_events: list[Any] = []
        self.position_events: list[Any] = []
        self.bus.subscribe(f"events.order.{SID}", self.order_events.append)
        self.bus.subscribe(f"events.position.{SID}", self.position_events.append)
        self._ids = itertools.count(1)
        self._trades = itertools.count(1)

    def order(
        self,
        side: OrderSide = OrderSide.BUY,
        qty: str = "1.000",
        order_type: OrderType = OrderType.MARKET,
        price: str | None = None,
        trigger: str | None = None,
        **kw: Any,
    ) -> Order:
        n = next(self._ids)
        return Order(
            client_order_id=ClientOrderId(f"O-{n}"),
            strategy_id=SID,
            instrument_id=IID,
            side=side,
            quantity=Quantity(qty),
            order_type=order_type,
            price=None if price is None else Price(price),
            trigger_price=None if trigger is None else Price(trigger),
            event_id=f"I-{n}",
            **kw,
        )

    def submit(self, order: Order, position_id: PositionId | None = None) -> Order:
        self.engine.execute(
            SubmitOrder(
                trader_id=TRADER,
                strategy_id=SID,
                command_id=f"C-{order.client_order_id}",
                ts_init=self.clock.timestamp_ns(),
                order=order,
                position_id=position_id,
            )
        )
        return order

    def accept(self, order: Order) -> None:
        self.engine.process(
            OrderAccepted(
                client_order_id=order.client_order_id,
                strategy_id=SID,
                instrument_id=IID,
                ts_event=self.clock.timestamp_ns(),
                ts_init=self.clock.timestamp_ns(),
                event_id=f"ACK-{order.client_order_id}",
                venue_order_id=VenueOrderId(f"V-{order.client_order_id}"),
                account_id=ACCOUNT,
            )
        )

    def fill(
        self,
        order: Order,
        qty: str | None = None,
        px: str = "100.00",
        commission: str = "0",
        position_id: PositionId | None = None,
    ) -> None:
        n = next(self._trades)
        self.engine.process(
            OrderFilled(
                client_order_id=order.client_order_id,
                strategy_id=SID,
                instrument_id=IID,
                ts_event=self.clock.timestamp_ns(),
                ts_init=self.clock.timestamp_ns(),
                event_id=f"FILL-{n}",
                venue_order_id=VenueOrderId(f"V-{order.client_order_id}"),
                account_id=ACCOUNT,
                trade_id=TradeId(f"T-{n}"),
                order_side=order.side,
                order_type=order.order_type,
                last_qty=Quantity(qty) if qty is not None else order.leaves_qty,
                last_px=Price(px),
                commission=Money(commission, USDT),
                liquidity_side=LiquiditySide.TAKER,
                position_id=position_id,
            )
        )

    def cancel_event(self, order: Order) -> None:
        self.engine.process(
            OrderCanceled(
                client_order_id=order.client_order_id,
                strategy_id=SID,
                instrument_id=IID,
                ts_event=self.clock.timestamp_ns(),
                ts_init=self.clock.timestamp_ns(),
                event_id=f"CXL-{order.client_order_id}",
            )
        )

    def command(self, cls: type, **fields: Any) -> Any:
        return cls(
            trader_id=TRADER,
            strategy_id=SID,
            command_id=f"C-{next(self._ids)}",
            ts_init=self.clock.timestamp_ns(),
            **fields,
        )


@pytest.fixture
def env() -> Env:
    return Env()


def names(events: list[Any]) -> list[str]:
    return [type(e).__name__ for e in events]


# -- routing and the order lifecycle -------------------------------------------------------------


def test_recording_client_is_an_execution_client() -> None:
    assert isinstance(RecordingClient(), ExecutionClient)


def test_submit_applies_submitted_before_the_client_sees_the_command(env: Env) -> None:
    seen: list[OrderStatus] = []
    env.client.submit_order = lambda cmd: seen.append(cmd.order.status)  # type: ignore[method-assign]
    order = env.submit(env.order())
    assert seen == [OrderStatus.SUBMITTED]
    assert order.account_id == ACCOUNT
    assert env.cache.order(order.client_order_id) is order
    assert names(env.order_events) == ["OrderSubmitted"]
    assert env.engine.working_orders() == [order]


def test_events_are_deterministic_ids(env: Env) -> None:
    env.submit(env.order())
    assert env.order_events[0].event_id == "EXEC-1"
    assert env.order_events[0].ts_event == 1_000


def test_no_client_for_the_venue_denies_the_order(env: Env) -> None:
    env.engine.deregister_client(Venue("SIM"))
    order = env.submit(env.order())
    assert order.status is OrderStatus.DENIED
    assert isinstance(env.order_events[0], OrderDenied)
    assert "venue=SIM" in env.order_events[0].reason


def test_client_error_on_submit_rejects_the_order(env: Env) -> None:
    env.client.fail_on.add("submit")
    order = env.submit(env.order())
    assert order.status is OrderStatus.REJECTED
    assert names(env.order_events) == ["OrderSubmitted", "OrderRejected"]
    assert "submit failed" in env.errors[0]


def test_submitting_twice_is_reported_not_raised(env: Env) -> None:
    order = env.submit(env.order())
    env.submit(order)
    assert order.status is OrderStatus.SUBMITTED
    assert any("cannot submit" in e for e in env.errors)


def test_register_client_validates(env: Env) -> None:
    with pytest.raises(InvalidValue, match=r"client\.venue"):
        env.engine.register_client(RecordingClient())
    with pytest.raises(InvalidValue, match="does not implement"):
        env.engine.register_client(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="venue"):
        env.engine.deregister_client(Venue("NOPE"))


def test_execute_rejects_non_commands(env: Env) -> None:
    with pytest.raises(InvalidValue, match="command"):
        env.engine.execute("hello")


def test_event_for_unknown_order_is_reported(env: Env) -> None:
    ghost = env.order()
    env.accept(ghost)
    assert env.engine.error_count == 1
    assert "unknown order" in env.errors[0]
    assert env.order_events == []


def test_illegal_transition_is_reported_and_changes_nothing(env: Env) -> None:
    order = env.submit(env.order())
    env.fill(order)
    assert order.status is OrderStatus.FILLED
    before = order.event_count
    env.accept(order)  # FILLED is terminal
    assert order.status is OrderStatus.FILLED
    assert order.event_count == before
    assert "event refused" in env.errors[-1]


def test_non_order_event_is_reported(env: Env) -> None:
    env.engine.process(42)
    assert "not an order event" in env.errors[0]


def test_cancel_flow(env: Env) -> None:
    order = env.submit(env.order(order_type=OrderType.LIMIT, price="90.00"))
    env.accept(order)
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=order.client_order_id)
    )
    assert order.status is OrderStatus.PENDING_CANCEL
    assert isinstance(env.client.commands[-1], CancelOrder)
    env.cancel_event(order)
    assert order.status is OrderStatus.CANCELED
    assert env.engine.working_orders() == []
    # canceling a closed order is reported
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=order.client_order_id)
    )
    assert "already closed" in env.errors[-1]


def test_cancel_unknown_order_is_reported(env: Env) -> None:
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=ClientOrderId("nope"))
    )
    assert "not in the cache" in env.errors[-1]


def test_client_error_on_cancel_rolls_back_with_cancel_rejected(env: Env) -> None:
    order = env.submit(env.order(order_type=OrderType.LIMIT, price="90.00"))
    env.accept(order)
    env.client.fail_on.add("cancel")
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=order.client_order_id)
    )
    assert order.status is OrderStatus.ACCEPTED
    assert names(env.order_events)[-2:] == ["OrderPendingCancel", "OrderCancelRejected"]


def test_modify_flow_and_client_error(env: Env) -> None:
    order = env.submit(env.order(order_type=OrderType.LIMIT, price="90.00"))
    env.accept(order)
    cmd = env.command(
        ModifyOrder, instrument_id=IID, client_order_id=order.client_order_id, price=Price("91.00")
    )
    env.engine.execute(cmd)
    assert order.status is OrderStatus.PENDING_UPDATE
    assert env.client.commands[-1] is cmd
    env.client.fail_on.add("modify")
    env.engine.process(
        OrderAccepted(
            client_order_id=order.client_order_id,
            strategy_id=SID,
            instrument_id=IID,
            ts_event=1,
            ts_init=1,
            event_id="x",
            venue_order_id=VenueOrderId("V"),
            account_id=ACCOUNT,
        )
    )
    env.engine.execute(cmd)
    assert order.status is OrderStatus.ACCEPTED
    assert names(env.order_events)[-1] == "OrderModifyRejected"


def test_cancel_all_orders_filters_by_side(env: Env) -> None:
    buy = env.submit(env.order(OrderSide.BUY, order_type=OrderType.LIMIT, price="90.00"))
    sell = env.submit(env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00"))
    env.accept(buy)
    env.accept(sell)
    env.engine.execute(env.command(CancelAllOrders, instrument_id=IID, order_side=OrderSide.SELL))
    assert sell.status is OrderStatus.PENDING_CANCEL
    assert buy.status is OrderStatus.ACCEPTED
    assert isinstance(env.client.commands[-1], CancelAllOrders)


def test_account_state_goes_to_the_portfolio(env: Env) -> None:
    from alphaforge.portfolio import AccountBalance

    state = AccountState(
        account_id=ACCOUNT,
        account_type=AccountType.MARGIN,
        balances=(AccountBalance(Money("10", USDT), Money("0", USDT), Money("10", USDT)),),
    )
    got: list[object] = []
    env.bus.subscribe("events.account.*", got.append)
    env.engine.process(state)
    assert env.portfolio is not None
    account = env.portfolio.account(ACCOUNT)
    assert isinstance(account, MarginAccount)
    assert account.balance_total(USDT) == Money("10", USDT)
    assert got == [state]


# -- positions: netting ----------------------------------------------------------------------------


def test_netting_open_change_close_and_reopen(env: Env) -> None:
    pid = PositionId(f"{IID}-{SID}")
    buy = env.submit(env.order(OrderSide.BUY, "2.000"))
    env.fill(buy, "1.000", "100.00")
    env.fill(buy, "1.000", "102.00")
    position = env.cache.position(pid)
    assert isinstance(position, Position)
    assert position.quantity == Quantity("2.000")
    assert position.avg_px_open == Decimal("101")
    assert buy.position_id == pid
    sell = env.submit(env.order(OrderSide.SELL, "2.000"))
    env.fill(sell, px="105.00")
    assert position.is_closed
    assert position.realized_pnl == Money("8", USDT)
    assert names(env.position_events) == ["PositionOpened", "PositionChanged", "PositionClosed"]
    closed = env.position_events[-1]
    assert isinstance(closed, PositionClosed)
    assert closed.realized_pnl == Money("8", USDT)
    assert closed.duration_ns == 0
    again = env.submit(env.order(OrderSide.SELL, "1.000"))
    env.fill(again, px="104.00")
    reopened = env.cache.position(pid)
    assert isinstance(reopened, Position)
    assert reopened is not position
    assert reopened.side is PositionSide.SHORT
    assert env.engine.position_history == [position, reopened]


def test_order_event_precedes_position_event(env: Env) -> None:
    order_log: list[str] = []
    env.bus.subscribe(f"events.*.{SID}", lambda e: order_log.append(type(e).__name__))
    env.fill(env.submit(env.order()))
    assert order_log[-2:] == ["OrderFilled", "PositionOpened"]


def test_netting_flip_splits_the_fill_and_commission(env: Env) -> None:
    pid = PositionId(f"{IID}-{SID}")
    env.fill(env.submit(env.order(OrderSide.BUY, "1.000")), px="100.00")
    first = env.cache.position(pid)
    env.fill(env.submit(env.order(OrderSide.SELL, "3.000")), px="110.00", commission="0.90")
    assert names(env.position_events)[-2:] == ["PositionClosed", "PositionOpened"]
    assert isinstance(first, Position)
    assert first.realized_pnl == Money("9.70", USDT)  # 10 - 0.30 commission share
    second = env.cache.position(pid)
    assert isinstance(second, Position)
    assert second.signed_qty == Decimal("-2")
    assert second.commissions() == [Money("0.60", USDT)]
    assert second.avg_px_open == Decimal("110")


def test_fill_for_missing_instrument_is_reported_but_order_updates() -> None:
    env = Env()
    other = InstrumentId.from_str("ETHUSDT.SIM")
    order = Order(
        client_order_id=ClientOrderId("O-X"),
        strategy_id=SID,
        instrument_id=other,
        side=OrderSide.BUY,
        quantity=Quantity("1"),
        order_type=OrderType.MARKET,
    )
    env.submit(order)
    env.engine.process(
        OrderFilled(
            client_order_id=order.client_order_id,
            strategy_id=SID,
            instrument_id=other,
            ts_event=1,
            ts_init=1,
            event_id="f",
            venue_order_id=VenueOrderId("V"),
            account_id=ACCOUNT,
            trade_id=TradeId("T"),
            order_side=OrderSide.BUY,
            order_type=OrderType.MARKET,
            last_qty=Quantity("1"),
            last_px=Price("1"),
            commission=Money("0", USDT),
            liquidity_side=LiquiditySide.TAKER,
        )
    )
    assert order.status is OrderStatus.FILLED
    assert "instrument not in the cache" in env.errors[-1]
    assert env.position_events == []


def test_fill_finer_than_the_instrument_is_reported() -> None:
    env = Env()
    order = env.submit(env.order(qty="1.000"))
    env.fill(order, px="100.001")
    assert order.status is OrderStatus.FILLED
    assert "position not updated" in env.errors[-1]


def test_engine_works_without_a_portfolio() -> None:
    env = Env(portfolio=False)
    env.fill(env.submit(env.order()))
    assert len(env.cache.positions()) == 1


# -- positions: hedging ----------------------------------------------------------------------------


def test_hedging_opens_a_position_per_order_and_closes_by_id() -> None:
    env = Env(oms=OmsType.HEDGING)
    a = env.submit(env.order(OrderSide.BUY, "1.000"))
    env.fill(a, px="100.00")
    b = env.submit(env.order(OrderSide.SELL, "1.000"))
    env.fill(b, px="101.00")
    positions = env.cache.positions()
    assert [str(p.id) for p in positions] == [f"{IID}-{SID}-1", f"{IID}-{SID}-2"]
    assert all(p.is_open for p in positions)
    pid = positions[0].id
    close = env.submit(env.order(OrderSide.SELL, "1.000"), position_id=pid)
    env.fill(close, px="103.00")
    first = env.cache.position(pid)
    assert isinstance(first, Position)
    assert first.is_closed
    assert first.realized_pnl == Money("3", USDT)


def test_hedging_fill_for_a_closed_position_opens_a_new_one() -> None:
    env = Env(oms=OmsType.HEDGING)
    env.fill(env.submit(env.order(OrderSide.BUY, "1.000")))
    pid = env.cache.positions()[0].id
    env.fill(env.submit(env.order(OrderSide.SELL, "1.000")), position_id=pid)
    env.fill(env.submit(env.order(OrderSide.SELL, "1.000")), position_id=pid)
    assert len(env.cache.positions()) == 2
    assert env.cache.positions()[1].side is PositionSide.SHORT


def test_hedging_flip_moves_the_remainder_to_a_new_position() -> None:
    env = Env(oms=OmsType.HEDGING)
    env.fill(env.submit(env.order(OrderSide.BUY, "1.000")))
    pid = env.cache.positions()[0].id
    env.fill(env.submit(env.order(OrderSide.SELL, "2.000"), position_id=pid))
    assert [p.is_open for p in env.cache.positions()] == [False, True]
    assert names(env.position_events)[-2:] == ["PositionClosed", "PositionOpened"]


def test_strategy_oms_overrides_the_venue() -> None:
    env = Env(oms=OmsType.NETTING)
    env.engine.register_oms_type(SID, OmsType.HEDGING)
    assert env.engine.oms_type(Venue("SIM"), SID) is OmsType.HEDGING
    env.engine.configure(ExecEngineConfig(oms_types={"SIM": OmsType.NETTING}))
    assert env.engine.oms_type(Venue("SIM"), StrategyId("other")) is OmsType.NETTING
    with pytest.raises(InvalidValue):
        env.engine.register_oms_type(SID, "HEDGING")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        ExecEngineConfig(oms_types={"SIM": "x"})  # type: ignore[dict-item]


# -- contingencies -----------------------------------------------------------------------------


def submit_list(env: Env, orders: tuple[Order, ...], kind: ContingencyType) -> None:
    env.engine.execute(env.command(SubmitOrderList, order_list=OrderList("OL-1", orders, kind)))


def test_oco_fill_cancels_the_other_leg(env: Env) -> None:
    tp = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00")
    sl = env.order(OrderSide.SELL, order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (tp, sl), ContingencyType.OCO)
    assert tp.status is sl.status is OrderStatus.SUBMITTED
    env.accept(tp)
    env.accept(sl)
    env.fill(tp, px="110.00")
    assert sl.status is OrderStatus.PENDING_CANCEL
    assert isinstance(env.client.commands[-1], CancelOrder)
    assert env.client.commands[-1].client_order_id == sl.client_order_id


def test_oco_cancel_cancels_the_other_leg(env: Env) -> None:
    a = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00")
    b = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="120.00")
    submit_list(env, (a, b), ContingencyType.OCO)
    env.accept(a)
    env.accept(b)
    env.cancel_event(a)
    assert b.status is OrderStatus.PENDING_CANCEL


def test_oco_partial_fill_reduces_the_other_leg(env: Env) -> None:
    a = env.order(OrderSide.SELL, "2.000", order_type=OrderType.LIMIT, price="110.00")
    b = env.order(OrderSide.SELL, "2.000", order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (a, b), ContingencyType.OCO)
    env.accept(a)
    env.accept(b)
    env.fill(a, "0.500", "110.00")
    modify = env.client.commands[-1]
    assert isinstance(modify, ModifyOrder)
    assert modify.client_order_id == b.client_order_id
    assert modify.quantity == Quantity("1.500")


def test_bracket_holds_exits_until_the_entry_fills(env: Env) -> None:
    entry = env.order(OrderSide.BUY)
    tp = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00", reduce_only=True)
    sl = env.order(OrderSide.SELL, order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (entry, tp, sl), ContingencyType.BRACKET)
    assert entry.status is OrderStatus.SUBMITTED
    assert tp.status is sl.status is OrderStatus.INITIALIZED
    assert env.engine.is_held(tp.client_order_id)
    assert len(env.client.commands) == 1
    env.fill(entry, px="100.00")
    assert tp.status is sl.status is OrderStatus.SUBMITTED
    assert [c.order for c in env.client.commands[1:]] == [tp, sl]  # type: ignore[attr-defined]
    env.accept(tp)
    env.accept(sl)
    env.fill(sl, px="90.00")
    assert tp.status is OrderStatus.PENDING_CANCEL


def test_bracket_entry_canceled_unfilled_cancels_the_held_exits(env: Env) -> None:
    entry = env.order(OrderSide.BUY, order_type=OrderType.LIMIT, price="99.00")
    tp = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00")
    sl = env.order(OrderSide.SELL, order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (entry, tp, sl), ContingencyType.BRACKET)
    env.accept(entry)
    env.cancel_event(entry)
    assert tp.status is sl.status is OrderStatus.CANCELED
    assert len(env.client.commands) == 1
    assert env.engine.working_orders() == []


def test_bracket_entry_partially_filled_then_canceled_releases_reduced_exits(env: Env) -> None:
    entry = env.order(OrderSide.BUY, "2.000", order_type=OrderType.LIMIT, price="99.00")
    tp = env.order(OrderSide.SELL, "2.000", order_type=OrderType.LIMIT, price="110.00")
    sl = env.order(OrderSide.SELL, "2.000", order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (entry, tp, sl), ContingencyType.BRACKET)
    env.accept(entry)
    env.fill(entry, "0.500", "99.00")
    env.cancel_event(entry)
    assert tp.status is sl.status is OrderStatus.SUBMITTED
    assert tp.quantity == sl.quantity == Quantity("0.500")


def test_held_exit_can_be_canceled_and_modified_locally(env: Env) -> None:
    entry = env.order(OrderSide.BUY, order_type=OrderType.LIMIT, price="99.00")
    tp = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00")
    sl = env.order(OrderSide.SELL, order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (entry, tp, sl), ContingencyType.BRACKET)
    env.engine.execute(
        env.command(
            ModifyOrder,
            instrument_id=IID,
            client_order_id=tp.client_order_id,
            price=Price("111.00"),
        )
    )
    assert tp.price == Price("111.00")
    assert tp.status is OrderStatus.INITIALIZED
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=tp.client_order_id)
    )
    assert tp.status is OrderStatus.CANCELED
    assert sl.status is OrderStatus.CANCELED  # OCO sibling
    env.fill(env.submit(env.order()), px="99.00")
    env.accept(entry)
    env.fill(entry, px="99.00")
    assert len([c for c in env.client.commands if isinstance(c, SubmitOrder)]) == 2


def test_order_list_for_a_non_initialized_order_is_reported(env: Env) -> None:
    a = env.submit(env.order())
    b = env.order()
    submit_list(env, (a, b), ContingencyType.OCO)
    assert "not INITIALIZED" in env.errors[-1]
    assert b.status is OrderStatus.INITIALIZED


def test_portfolio_sees_fills_before_strategies(env: Env) -> None:
    assert env.portfolio is not None
    env.portfolio.add_account(MarginAccount(ACCOUNT, [Money("1000", USDT)]))
    balances: list[Money] = []
    portfolio = env.portfolio

    def on_event(event: object) -> None:
        if isinstance(event, OrderFilled):
            account = portfolio.account(ACCOUNT)
            assert account is not None
            balances.append(account.balance_total(USDT))

    env.bus.subscribe(f"events.order.{SID}", on_event)
    env.fill(env.submit(env.order()), px="100.00", commission="1.50")
    assert balances == [Money("998.50", USDT)]


def test_rejected_event_from_client(env: Env) -> None:
    order = env.submit(env.order())
    env.engine.process(
        OrderRejected(
            client_order_id=order.client_order_id,
            strategy_id=SID,
            instrument_id=IID,
            ts_event=1,
            ts_init=1,
            event_id="r",
            account_id=ACCOUNT,
            reason="no",
        )
    )
    assert order.status is OrderStatus.REJECTED
    assert env.engine.working_orders() == []


def test_inverse_perpetual_positions_settle_in_base() -> None:
    env = Env()
    perp_id = InstrumentId.from_str("XBTUSD.SIM")
    perp = PerpetualContract(
        id=perp_id,
        raw_symbol=Symbol("XBTUSD"),
        quote_currency=USDT,
        base_currency=BTC,
        is_inverse=True,
        price_precision=1,
        size_precision=0,
    )
    env.cache.add_instrument(perp)

    def order(side: OrderSide) -> Order:
        return Order(
            client_order_id=ClientOrderId(f"P-{side.name}"),
            strategy_id=SID,
            instrument_id=perp_id,
            side=side,
            quantity=Quantity("100"),
            order_type=OrderType.MARKET,
        )

    def fill(o: Order, px: str) -> None:
        env.engine.process(
            OrderFilled(
                client_order_id=o.client_order_id,
                strategy_id=SID,
                instrument_id=perp_id,
                ts_event=1,
                ts_init=1,
                event_id=f"f{px}",
                venue_order_id=VenueOrderId("V"),
                account_id=ACCOUNT,
                trade_id=TradeId(f"T{px}"),
                order_side=o.side,
                order_type=OrderType.MARKET,
                last_qty=Quantity("100"),
                last_px=Price(px),
                commission=Money("0", BTC),
                liquidity_side=LiquiditySide.TAKER,
            )
        )

    fill(env.submit(order(OrderSide.BUY)), "50000.0")
    fill(env.submit(order(OrderSide.SELL)), "55000.0")
    closed = env.position_events[-1]
    assert isinstance(closed, PositionClosed)
    # 100 * (1/50000 - 1/55000) BTC = 0.000181818... -> 0.00018182 BTC
    assert closed.realized_pnl == Money("0.00018182", BTC)
    assert isinstance(env.position_events[0], PositionOpened)
    assert not isinstance(env.position_events[0], PositionChanged)


def test_cancel_all_cancels_held_legs_locally_and_reports_client_errors(env: Env) -> None:
    entry = env.order(OrderSide.BUY, order_type=OrderType.LIMIT, price="99.00")
    tp = env.order(OrderSide.SELL, order_type=OrderType.LIMIT, price="110.00")
    sl = env.order(OrderSide.SELL, order_type=OrderType.STOP_MARKET, trigger="90.00")
    submit_list(env, (entry, tp, sl), ContingencyType.BRACKET)
    env.client.fail_on.add("cancel_all")
    env.engine.execute(env.command(CancelAllOrders, instrument_id=IID))
    assert tp.status is sl.status is OrderStatus.CANCELED
    assert entry.status is OrderStatus.PENDING_CANCEL
    assert "cancel_all_orders failed" in env.errors[-1]
    env.engine.execute(env.command(CancelAllOrders, instrument_id=IID))  # still pending: resent
    env.engine.deregister_client(Venue("SIM"))
    env.engine.execute(env.command(CancelAllOrders, instrument_id=IID))
    assert "no client to cancel" in env.errors[-1]


def test_cancel_and_modify_without_a_client_or_while_cancel_pending(env: Env) -> None:
    order = env.submit(env.order(order_type=OrderType.LIMIT, price="90.00"))
    env.accept(order)
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=order.client_order_id)
    )
    env.engine.execute(
        env.command(
            ModifyOrder, instrument_id=IID, client_order_id=order.client_order_id, price=Price("1")
        )
    )
    assert "modify while cancel pending" in env.errors[-1]
    env.engine.deregister_client(Venue("SIM"))
    env.engine.execute(
        env.command(CancelOrder, instrument_id=IID, client_order_id=order.client_order_id)
    )
    assert "no client to cancel it" in env.errors[-1]
    env.engine.execute(
        env.command(
            ModifyOrder, instrument_id=IID, client_order_id=order.client_order_id, price=Price("1")
        )
    )
    assert "no client to modify it" in env.errors[-1]


def test_account_state_problems_are_reported() -> None:
    from alphaforge.portfolio import AccountBalance, CashAccount

    env = Env(portfolio=False)
    state = AccountState(
        account_id=ACCOUNT,
        account_type=AccountType.CASH,
        balances=(AccountBalance(Money("1", USDT), Money("0", USDT), Money("1", USDT)),),
    )
    env.engine.process(state)
    assert "without a portfolio" in env.errors[-1]
    other = Env()
    assert other.portfolio is not None
    other.portfolio.add_account(CashAccount(ACCOUNT, [Money("1", Currency("USDT", 2))]))
    other.engine.process(state)
    assert "account state refused" in other.errors[-1]


def test_another_order_with_the_same_id_is_reported(env: Env) -> None:
    first = env.order()
    env.cache.add_order(first)
    clone = Order.from_init(first.init_event)
    env.submit(clone)
    assert "another order with this id" in env.errors[-1]
    assert clone.status is OrderStatus.INITIALIZED


def test_broken_error_hook_does_not_break_the_engine(env: Env) -> None:
    def hook(message: str, obj: object) -> None:
        raise RuntimeError("hook")

    env.engine.on_error = hook
    env.engine.process(42)
    assert env.engine.error_count == 1
    assert env.engine.command_count == 0
    env.engine.dispose()
    env.engine.dispose()
    assert not env.bus.is_registered("exec.execute")
