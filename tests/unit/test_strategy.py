"""Actor / Strategy / Trader: lifecycle, subscriptions, timers, order commands, events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from alphaforge import builtins
from alphaforge.cache import Cache
from alphaforge.clock import TestClock, TimeEvent
from alphaforge.config import load_config
from alphaforge.errors import InvalidValue, KernelStateError
from alphaforge.execution import (
    CancelAllOrders,
    CancelOrder,
    ContingencyType,
    ModifyOrder,
    OmsType,
    SubmitOrder,
    SubmitOrderList,
)
from alphaforge.indicators import EMA
from alphaforge.kernel import Kernel, KernelConfig
from alphaforge.model import (
    USDT,
    AccountId,
    AggregationSource,
    Bar,
    BarAggregation,
    BarSpecification,
    BarType,
    ClientOrderId,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderFilled,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    PriceType,
    Quantity,
    QuoteTick,
    StrategyId,
    TradeId,
    TraderId,
    TradeTick,
    VenueOrderId,
)
from alphaforge.model.enums import AggressorSide
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio import Portfolio, PositionOpened
from alphaforge.trading import (
    Actor,
    ActorConfig,
    ComponentState,
    DataKind,
    DataSubscription,
    Strategy,
    StrategyConfig,
    Trader,
)

IID = InstrumentId.from_str("BTCUSDT.SIM")
BAR_TYPE = BarType(
    IID, BarSpecification(1, BarAggregation.MINUTE, PriceType.LAST), AggregationSource.INTERNAL
)
QUOTE = QuoteTick(IID, Price("100.00"), Price("101.00"), Quantity("1"), Quantity("1"), 5, 5)


class Recorder(Strategy):
    def __init__(self, config: StrategyConfig | None = None) -> None:
        super().__init__(config)
        self.calls: list[str] = []
        self.data: list[Any] = []

    def on_start(self) -> None:
        self.calls.append("start")
        self.subscribe_quotes(IID)

    def on_stop(self) -> None:
        self.calls.append("stop")

    def on_reset(self) -> None:
        self.calls.append("reset")

    def on_dispose(self) -> None:
        self.calls.append("dispose")

    def on_quote(self, quote: QuoteTick) -> None:
        self.data.append(quote)

    def on_trade(self, trade: TradeTick) -> None:
        self.data.append(trade)

    def on_bar(self, bar: Bar) -> None:
        self.data.append(bar)

    def on_book(self, book: Any) -> None:
        self.data.append(("book", book))

    def on_book_deltas(self, deltas: Any) -> None:
        self.data.append(("deltas", deltas))

    def on_timer(self, event: TimeEvent) -> None:
        self.data.append(event)

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self.calls.append("accepted")

    def on_order_filled(self, event: OrderFilled) -> None:
        self.calls.append("filled")

    def on_order_event(self, event: Any) -> None:
        self.calls.append(f"order:{type(event).__name__}")

    def on_position_opened(self, event: PositionOpened) -> None:
        self.calls.append("opened")

    def on_position_event(self, event: Any) -> None:
        self.calls.append(f"position:{type(event).__name__}")


class Node:
    """Services plus a trader; optional fake risk endpoint recording commands."""

    def __init__(self, *, endpoint: str | None = "risk.execute") -> None:
        self.clock = TestClock(1_000)
        self.cache = Cache()
        self.bus = MessageBus()
        self.portfolio = Portfolio(self.cache, self.clock, self.bus)
        self.trader = Trader(
            trader_id=TraderId("TESTER-001"),
            clock=self.clock,
            cache=self.cache,
            msgbus=self.bus,
            portfolio=self.portfolio,
        )
        self.commands: list[Any] = []
        if endpoint is not None:
            self.bus.register(endpoint, self.commands.append)
        self.errors: list[Exception] = []
        self.bus.on_handler_error = lambda exc, *_: self.errors.append(exc)


@pytest.fixture
def node() -> Node:
    return Node()


# -- configuration --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CrossConfig(StrategyConfig):
    instrument_id: str
    fast: int = 10
    trade_size: Decimal = Decimal("0.01")


def test_strategy_config_subclass_loads_from_toml() -> None:
    cfg = load_config(
        CrossConfig,
        'instrument_id = "BTCUSDT.SIM"\nfast = 5\ntrade_size = "0.5"\norder_id_tag = "002"\n'
        'oms_type = "HEDGING"\n',
    )
    assert cfg.fast == 5 and cfg.trade_size == Decimal("0.5")
    assert cfg.oms_type is OmsType.HEDGING
    strategy = Strategy(cfg)
    assert strategy.id == "Strategy-002"
    assert strategy.strategy_id == StrategyId("Strategy-002")
    assert strategy.config.fast == 5


def test_config_validation() -> None:
    with pytest.raises(InvalidValue, match="order_id_tag"):
        StrategyConfig(order_id_tag="a-b")
    with pytest.raises(InvalidValue, match="strategy_id"):
        StrategyConfig(strategy_id="has space")
    with pytest.raises(InvalidValue, match="oms_type"):
        StrategyConfig(oms_type="NETTING")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="component_id"):
        ActorConfig(component_id="")
    with pytest.raises(InvalidValue, match="config"):
        Strategy(ActorConfig())  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="config"):
        Actor(StrategyConfig())  # type: ignore[arg-type]
    assert Strategy(StrategyConfig(strategy_id="Mine")).id == "Mine"
    assert Actor(ActorConfig(component_id="A1")).id == "A1"


# -- lifecycle ------------------------------------------------------------------------------------


def test_lifecycle(node: Node) -> None:
    s = Recorder()
    assert s.state is ComponentState.PRE_INITIALIZED
    with pytest.raises(KernelStateError, match="not registered"):
        s.subscribe_quotes(IID)
    node.trader.add_strategy(s)
    assert s.state is ComponentState.READY
    node.trader.start()
    assert s.is_running and node.trader.is_running
    node.bus.publish(f"data.quotes.{IID}", QUOTE)
    node.trader.stop()
    assert s.state is ComponentState.STOPPED
    node.bus.publish(f"data.quotes.{IID}", QUOTE)  # unsubscribed on stop
    node.trader.reset()
    node.trader.start()
    node.bus.publish(f"data.quotes.{IID}", QUOTE)
    node.trader.dispose()
    assert s.state is ComponentState.DISPOSED
    assert s.calls == ["start", "stop", "reset", "start", "stop", "dispose"]
    assert s.data == [QUOTE, QUOTE]
    s.dispose()  # idempotent
    with pytest.raises(KernelStateError):
        s.start()


def test_illegal_lifecycle_calls(node: Node) -> None:
    s = Recorder()
    node.trader.add_strategy(s)
    with pytest.raises(KernelStateError, match="cannot stop"):
        s.stop()
    s.start()
    with pytest.raises(KernelStateError, match="cannot start"):
        s.start()
    with pytest.raises(KernelStateError, match="cannot reset"):
        s.reset()
    with pytest.raises(KernelStateError, match="already registered"):
        s.register(
            trader_id=TraderId("A-1"),
            clock=node.clock,
            cache=node.cache,
            msgbus=node.bus,
            portfolio=node.portfolio,
        )


def test_failing_on_start_undoes_subscriptions_and_keeps_state(node: Node) -> None:
    class Broken(Recorder):
        def on_start(self) -> None:
            self.subscribe_quotes(IID)
            self.set_timer("t", 10)
            raise RuntimeError("boom")

    s = Broken()
    node.trader.add_strategy(s)
    with pytest.raises(RuntimeError):
        s.start()
    assert s.state is ComponentState.READY
    assert not node.bus.has_subscribers(f"data.quotes.{IID}")
    assert node.clock.timer_names == []


# -- subscriptions: the hot path -------------------------------------------------------------------


def test_quote_handler_is_bound_directly_to_the_bus(node: Node) -> None:
    s = Recorder()
    node.trader.add_strategy(s)
    s.start()
    assert node.bus.subscribers(f"data.quotes.{IID}") == (s.on_quote,)
    s.subscribe_quotes(IID)  # idempotent
    assert len(node.bus.subscriptions(f"data.quotes.{IID}")) == 1


def test_all_data_kinds(node: Node) -> None:
    requests: list[DataSubscription] = []
    node.bus.register("data.subscriptions", requests.append)
    s = Recorder()
    node.trader.add_strategy(s)
    s.start()
    s.subscribe_trades(IID)
    s.subscribe_bars(BAR_TYPE)
    s.subscribe_book(IID, depth=10)
    s.subscribe_book_deltas(IID)
    trade = TradeTick(IID, Price("1"), Quantity("1"), AggressorSide.BUYER, TradeId("t"), 0, 0)
    bar = Bar(BAR_TYPE, Price("1"), Price("1"), Price("1"), Price("1"), Quantity("1"), 0, 0)
    node.bus.publish(f"data.trades.{IID}", trade)
    node.bus.publish(f"data.bars.{BAR_TYPE}", bar)
    node.bus.publish(f"data.book.{IID}", "BOOK")
    node.bus.publish(f"data.book_deltas.{IID}", "DELTAS")
    assert s.data == [trade, bar, ("book", "BOOK"), ("deltas", "DELTAS")]
    kinds = [(r.kind, r.subscribe) for r in requests]
    assert kinds == [
        (DataKind.QUOTES, True),
        (DataKind.TRADES, True),
        (DataKind.BARS, True),
        (DataKind.BOOK, True),
        (DataKind.BOOK_DELTAS, True),
    ]
    assert requests[3].depth == 10 and requests[0].subscriber == s.id
    s.unsubscribe_trades(IID)
    s.unsubscribe_bars(BAR_TYPE)
    s.unsubscribe_book(IID)
    s.unsubscribe_book_deltas(IID)
    s.unsubscribe_quotes(IID)
    assert [r.subscribe for r in requests[5:]] == [False] * 5
    with pytest.raises(InvalidValue, match="not subscribed"):
        s.unsubscribe_quotes(IID)
    with pytest.raises(InvalidValue, match="instrument_id"):
        s.subscribe_quotes("BTCUSDT.SIM")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="bar_type"):
        s.subscribe_bars("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="depth"):
        s.subscribe_book(IID, depth=-1)


def test_stop_sends_unsubscribe_requests(node: Node) -> None:
    requests: list[DataSubscription] = []
    node.bus.register("data.subscriptions", requests.append)
    s = Recorder()
    node.trader.add_strategy(s)
    s.start()
    s.stop()
    assert [(r.kind, r.subscribe) for r in requests] == [
        (DataKind.QUOTES, True),
        (DataKind.QUOTES, False),
    ]


def test_registered_indicators_update_before_the_handler(node: Node) -> None:
    seen: list[tuple[int, float]] = []

    class WithEma(Strategy):
        def on_start(self) -> None:
            self.ema = EMA(3)
            self.register_indicator_for_quotes(IID, self.ema)
            self.register_indicator_for_trades(IID, EMA(2))
            self.register_indicator_for_bars(BAR_TYPE, EMA(2))
            self.subscribe_quotes(IID)

        def on_quote(self, quote: QuoteTick) -> None:
            seen.append((self.ema.count, self.ema.value))

    s = WithEma()
    node.trader.add_strategy(s)
    s.start()
    node.bus.publish(f"data.quotes.{IID}", QUOTE)
    assert seen == [(1, 100.5)]
    assert len(s.registered_indicators) == 3
    with pytest.raises(InvalidValue, match="already registered"):
        s.register_indicator_for_quotes(IID, s.ema)
    s.stop()
    assert not node.bus.has_subscribers(f"data.quotes.{IID}")
    s.reset()
    assert s.ema.count == 0


# -- timers ---------------------------------------------------------------------------------------


def test_timers_default_to_on_timer_and_are_cancelled_on_stop(node: Node) -> None:
    s = Recorder()
    node.trader.add_strategy(s)
    s.start()
    s.set_timer("tick", 100)
    other: list[TimeEvent] = []
    s.set_time_alert("once", 1_050, callback=other.append)
    node.clock.advance_time(1_250)
    assert [e.ts_event for e in s.data] == [1_100, 1_200]
    assert [e.name for e in other] == ["once"]
    s.cancel_timer("tick")
    with pytest.raises(InvalidValue, match="no active timer"):
        s.cancel_timer("tick")
    s.set_timer("again", 100)
    s.stop()
    assert node.clock.timer_names == []


# -- order commands -------------------------------------------------------------------------------


def started(node: Node, config: StrategyConfig | None = None) -> Recorder:
    s = Recorder(config)
    node.trader.add_strategy(s)
    s.start()
    return s


def test_submit_order_caches_and_sends_to_risk(node: Node) -> None:
    s = started(node)
    order = s.order_factory.market(IID, OrderSide.BUY, Quantity("1"))
    s.submit_order(order)
    assert node.cache.order(order.client_order_id) is order
    cmd = node.commands[0]
    assert isinstance(cmd, SubmitOrder)
    assert cmd.order is order and cmd.ts_init == 1_000
    assert cmd.trader_id == TraderId("TESTER-001")
    assert cmd.command_id == f"C-{s.id}-1"
    with pytest.raises(InvalidValue, match=r"already submitted|already in the cache"):
        s.submit_order(order)


def test_submit_order_validation(node: Node) -> None:
    s = started(node)
    foreign = Order(
        client_order_id=ClientOrderId("X-1"),
        strategy_id=StrategyId("other"),
        instrument_id=IID,
        side=OrderSide.BUY,
        quantity=Quantity("1"),
        order_type=OrderType.MARKET,
    )
    with pytest.raises(InvalidValue, match="strategy_id"):
        s.submit_order(foreign)
    with pytest.raises(InvalidValue, match="order"):
        s.submit_order("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="position_id"):
        s.submit_order(s.order_factory.market(IID, OrderSide.BUY, Quantity("1")), "P")  # type: ignore[arg-type]
    assert node.commands == [] and node.cache.order_count() == 0


def test_commands_go_to_exec_without_risk_and_fail_without_either() -> None:
    node = Node(endpoint="exec.execute")
    s = started(node)
    s.submit_order(s.order_factory.market(IID, OrderSide.BUY, Quantity("1")))
    assert len(node.commands) == 1
    bare = Node(endpoint=None)
    t = started(bare)
    order = t.order_factory.market(IID, OrderSide.BUY, Quantity("1"))
    with pytest.raises(KernelStateError, match="no risk or execution engine"):
        t.submit_order(order)
    assert bare.cache.order_count() == 0


def test_modify_cancel_and_cancel_all(node: Node) -> None:
    s = started(node)
    order = s.order_factory.limit(IID, OrderSide.BUY, Quantity("1"), Price("99.00"))
    s.submit_order(order)
    s.modify_order(order, price=Price("98.00"))
    s.cancel_order(order)
    s.cancel_all_orders(IID, OrderSide.BUY)
    kinds = [type(c) for c in node.commands]
    assert kinds == [SubmitOrder, ModifyOrder, CancelOrder, CancelAllOrders]
    assert node.commands[1].price == Price("98.00")
    assert node.commands[3].order_side is OrderSide.BUY
    with pytest.raises(InvalidValue, match="quantity"):
        s.modify_order(order)
    with pytest.raises(InvalidValue, match="order_side"):
        s.cancel_all_orders(IID, "BUY")  # type: ignore[arg-type]


def test_submit_order_list(node: Node) -> None:
    s = started(node)
    bracket = s.order_factory.bracket(
        IID,
        OrderSide.BUY,
        Quantity("1"),
        take_profit_price=Price("110.00"),
        stop_loss_trigger_price=Price("90.00"),
    )
    s.submit_order_list(bracket)
    cmd = node.commands[0]
    assert isinstance(cmd, SubmitOrderList)
    assert cmd.order_list.contingency is ContingencyType.BRACKET
    assert node.cache.order_count() == 3
    with pytest.raises(InvalidValue, match="order_list"):
        s.submit_order_list("x")  # type: ignore[arg-type]


def test_order_and_position_events_dispatch(node: Node) -> None:
    s = started(node)
    event = OrderAccepted(
        client_order_id=ClientOrderId("O-1"),
        strategy_id=s.strategy_id,
        instrument_id=IID,
        ts_event=0,
        ts_init=0,
        venue_order_id=VenueOrderId("V"),
        account_id=AccountId("SIM-001"),
    )
    node.bus.publish(f"events.order.{s.strategy_id}", event)
    assert s.calls[-2:] == ["accepted", "order:OrderAccepted"]
    s.stop()  # order events still flow while stopped
    node.bus.publish(f"events.order.{s.strategy_id}", event)
    assert s.calls[-1] == "order:OrderAccepted"
    s.dispose()
    node.bus.publish(f"events.order.{s.strategy_id}", event)
    assert s.calls[-1] == "dispose"


# -- the trader and the kernel ---------------------------------------------------------------------


def test_trader_registration_rules(node: Node) -> None:
    s = Recorder()
    node.trader.add_strategy(s)
    with pytest.raises(InvalidValue, match="component with this id"):
        node.trader.add_strategy(Recorder())
    with pytest.raises(InvalidValue, match="strategy"):
        node.trader.add_strategy(Actor())  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="add_strategy"):
        node.trader.add_actor(Recorder(StrategyConfig(strategy_id="other")))
    actor = Actor()
    node.trader.add_actor(actor)
    assert node.trader.strategies() == [s]
    assert node.trader.actors() == [actor]
    assert node.trader.component(s.id) is s
    node.trader.start()
    late = Recorder(StrategyConfig(strategy_id="late"))
    node.trader.add_strategy(late)
    assert late.is_running
    node.trader.remove("late")
    assert late.state is ComponentState.DISPOSED
    with pytest.raises(InvalidValue, match="no such component"):
        node.trader.remove("late")
    assert "Trader(TESTER-001" in repr(node.trader)


def test_kernel_wires_engines_and_runs_the_trader_lifecycle() -> None:
    kernel = Kernel(
        KernelConfig(engines=("trader", "risk"), load_entry_points=False), plugins=[builtins]
    )
    kernel.build()
    assert set(kernel.engines) == {"portfolio", "execution", "trader", "risk"}
    trader = kernel.engines["trader"]
    s = Recorder(StrategyConfig(oms_type=OmsType.HEDGING))
    trader.add_strategy(s)
    assert kernel.engines["execution"].oms_type(IID.venue, s.strategy_id) is OmsType.HEDGING
    kernel.start()
    assert s.is_running
    kernel.msgbus.publish(f"data.quotes.{IID}", QUOTE)
    assert s.data == [QUOTE]
    kernel.stop()
    assert s.state is ComponentState.STOPPED
    kernel.dispose()
    assert s.state is ComponentState.DISPOSED
    assert s.calls == ["start", "stop", "dispose"]


def test_kernel_engine_names_resolve_to_one_instance_each() -> None:
    kernel = Kernel(
        KernelConfig(engines=("execution", "portfolio", "risk"), load_entry_points=False),
        plugins=[builtins],
    )
    kernel.build()
    assert kernel.engines["execution"].portfolio is kernel.engines["portfolio"]
    assert kernel.engines["risk"].portfolio is kernel.engines["portfolio"]
    assert "engine:risk" in {c for info in kernel.plugin_report() for c in info.components}
    kernel.dispose()


def test_full_round_trip_through_real_engines() -> None:
    """Strategy -> risk -> exec -> client -> events -> strategy, in one synchronous pass."""
    kernel = Kernel(
        KernelConfig(engines=("portfolio", "risk", "execution", "trader"), load_entry_points=False),
        plugins=[builtins],
    )
    kernel.build()
    exec_engine = kernel.engines["execution"]

    class Filler:
        venue = IID.venue
        account_id = AccountId("SIM-001")

        def submit_order(self, command: SubmitOrder) -> None:
            o = command.order
            exec_engine.process(
                OrderFilled(
                    client_order_id=o.client_order_id,
                    strategy_id=o.strategy_id,
                    instrument_id=o.instrument_id,
                    ts_event=0,
                    ts_init=0,
                    event_id="F",
                    venue_order_id=VenueOrderId("V"),
                    account_id=self.account_id,
                    trade_id=TradeId("T"),
                    order_side=o.side,
                    order_type=o.order_type,
                    last_qty=o.quantity,
                    last_px=Price("100.00"),
                    commission=Money("0", USDT),
                    liquidity_side=LiquiditySide.TAKER,
                )
            )

        def modify_order(self, command: object) -> None: ...
        def cancel_order(self, command: object) -> None: ...
        def cancel_all_orders(self, command: object) -> None: ...

    from alphaforge.model import BTC, CurrencyPair, Symbol

    kernel.cache.add_instrument(
        CurrencyPair(
            id=IID,
            raw_symbol=Symbol("BTCUSDT"),
            quote_currency=USDT,
            base_currency=BTC,
            price_precision=2,
            size_precision=3,
        )
    )
    exec_engine.register_client(Filler())
    s = Recorder()
    kernel.engines["trader"].add_strategy(s)
    kernel.start()
    order = s.order_factory.market(IID, OrderSide.BUY, Quantity("1.000"))
    s.submit_order(order)
    assert order.status is OrderStatus.FILLED
    assert s.calls[1:] == [
        "order:OrderSubmitted",
        "filled",
        "order:OrderFilled",
        "opened",
        "position:PositionOpened",
    ]
    kernel.dispose()


def test_wiring_configures_existing_engines_and_checks_types() -> None:
    from alphaforge.execution import ExecEngineConfig
    from alphaforge.risk import RiskConfig, TradingState
    from alphaforge.trading.wiring import exec_engine_from_kernel, risk_engine_from_kernel

    kernel = Kernel(KernelConfig(engines=("risk",), load_entry_points=False), plugins=[builtins])
    kernel.build()
    risk = risk_engine_from_kernel(kernel, RiskConfig(trading_state=TradingState.HALTED))
    assert risk is kernel.engines["risk"]
    assert risk.trading_state is TradingState.HALTED
    engine = exec_engine_from_kernel(kernel, ExecEngineConfig(default_oms_type=OmsType.HEDGING))
    assert exec_engine_from_kernel(kernel) is engine
    exec_engine_from_kernel(kernel, ExecEngineConfig())
    assert engine.config.default_oms_type is OmsType.NETTING
    kernel.engines["trader"] = "not a trader"
    from alphaforge.trading.wiring import trader_from_kernel

    with pytest.raises(InvalidValue, match=r"engines\.trader"):
        trader_from_kernel(kernel)
    del kernel.engines["trader"]
    kernel.dispose()
