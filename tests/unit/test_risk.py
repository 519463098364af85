"""RiskEngine: every pre-trade check, denial events with reasons, trading states, rate limits."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from alphaforge.cache import Cache
from alphaforge.clock import TestClock
from alphaforge.errors import InvalidValue
from alphaforge.execution import (
    CancelOrder,
    ContingencyType,
    ModifyOrder,
    OrderList,
    SubmitOrder,
    SubmitOrderList,
)
from alphaforge.model import (
    BTC,
    USDT,
    AccountId,
    ClientOrderId,
    CurrencyPair,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderFilled,
    OrderModifyRejected,
    OrderSide,
    OrderStatus,
    OrderType,
    PerpetualContract,
    Price,
    Quantity,
    QuoteTick,
    StrategyId,
    Symbol,
    TradeId,
    TraderId,
    VenueOrderId,
)
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio import CashAccount, MarginAccount, Portfolio
from alphaforge.risk import RiskConfig, RiskEngine, TokenBucket, TradingState, TradingStateChanged

IID = InstrumentId.from_str("BTCUSDT.SIM")
PERP_ID = InstrumentId.from_str("BTCPERP.SIM")
SID = StrategyId("S-001")
TRADER = TraderId("TESTER-001")
ACCOUNT = AccountId("SIM-001")
SPOT = CurrencyPair(
    id=IID,
    raw_symbol=Symbol("BTCUSDT"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=2,
    size_precision=3,
    tick_size=Price("0.50"),
    lot_size=Quantity("0.010"),
    min_quantity=Quantity("0.010"),
    max_quantity=Quantity("5.000"),
    min_notional=Money("10", USDT),
    max_notional=Money("400000", USDT),
    taker_fee=Decimal("0.001"),
)
PERP = PerpetualContract(
    id=PERP_ID,
    raw_symbol=Symbol("BTCPERP"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=1,
    size_precision=3,
    margin_init=Decimal("0.10"),
    margin_maint=Decimal("0.05"),
)


class Env:
    """A risk engine with a fake execution endpoint that records what passes."""

    def __init__(self, config: RiskConfig | None = None, *, account: str | None = "cash") -> None:
        self.clock = TestClock(0)
        self.cache = Cache()
        self.bus = MessageBus()
        self.portfolio = Portfolio(self.cache, self.clock, self.bus)
        self.risk = RiskEngine(
            self.cache, self.clock, self.bus, portfolio=self.portfolio, config=config
        )
        self.passed: list[Any] = []
        self.events: list[Any] = []
        self.bus.register("exec.execute", self.passed.append)
        self.bus.register("exec.process", self._process)
        self.cache.add_instrument(SPOT)
        self.cache.add_instrument(PERP)
        if account == "cash":
            self.portfolio.add_account(
                CashAccount(ACCOUNT, [Money("100000", USDT), Money("1", BTC)])
            )
        elif account == "margin":
            self.portfolio.add_account(MarginAccount(ACCOUNT, [Money("10000", USDT)]))
        self._n = itertools.count(1)

    def _process(self, event: Any) -> None:
        self.events.append(event)
        order = self.cache.order(event.client_order_id)
        if order is not None and order.status is OrderStatus.INITIALIZED:
            order.apply(event)

    def quote(self, iid: InstrumentId = IID, bid: str = "50000.00", ask: str = "50000.50") -> None:
        self.cache.add_quote(
            QuoteTick(iid, Price(bid), Price(ask), Quantity("1.000"), Quantity("1.000"), 0, 0)
        )

    def order(
        self,
        side: OrderSide = OrderSide.BUY,
        qty: str = "0.100",
        order_type: OrderType = OrderType.MARKET,
        price: str | None = None,
        trigger: str | None = None,
        iid: InstrumentId = IID,
        **kw: Any,
    ) -> Order:
        n = next(self._n)
        return Order(
            client_order_id=ClientOrderId(f"O-{n}"),
            strategy_id=SID,
            instrument_id=iid,
            side=side,
            quantity=Quantity(qty),
            order_type=order_type,
            price=None if price is None else Price(price),
            trigger_price=None if trigger is None else Price(trigger),
            **kw,
        )

    def submit(self, order: Order) -> Order:
        self.cache.add_order(order)
        self.risk.execute(
            SubmitOrder(
                trader_id=TRADER,
                strategy_id=SID,
                command_id=f"C-{next(self._n)}",
                ts_init=self.clock.timestamp_ns(),
                order=order,
            )
        )
        return order

    def denial(self) -> str:
        assert self.events, "no event"
        reason: str = self.events[-1].reason
        return reason

    def hold(self, iid: InstrumentId, side: OrderSide, qty: str, px: str) -> None:
        """Give the portfolio an open position (through a real fill booking)."""
        from alphaforge.portfolio import Position

        order = self.order(side, qty, iid=iid)
        fill = OrderFilled(
            client_order_id=order.client_order_id,
            strategy_id=SID,
            instrument_id=iid,
            ts_event=0,
            ts_init=0,
            event_id="f",
            venue_order_id=VenueOrderId("V"),
            account_id=ACCOUNT,
            trade_id=TradeId(f"T-{order.client_order_id}"),
            order_side=side,
            order_type=OrderType.MARKET,
            last_qty=Quantity(qty),
            last_px=Price(px),
            commission=Money("0", USDT),
            liquidity_side=LiquiditySide.TAKER,
        )
        instrument = SPOT if iid == IID else PERP
        from alphaforge.model import PositionId

        position = Position(instrument=instrument, position_id=PositionId(f"P-{iid}"), fill=fill)
        self.portfolio.apply_fill(order, fill, instrument, Money("0", USDT), [position])


def test_valid_order_passes_and_spends_a_token() -> None:
    env = Env()
    env.quote()
    order = env.submit(env.order())
    assert env.passed and env.passed[0].order is order
    assert env.events == []
    assert order.status is OrderStatus.INITIALIZED


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"qty": "0.1000"}, "quantity=0.1000", "precision 4 exceeds size_precision 3"),
        ({"qty": "0.105"}, "quantity=0.105", "not a multiple of lot_size 0.010"),
        ({"qty": "6.000"}, "quantity=6.000", "above max_quantity 5.000"),
        (
            {"order_type": OrderType.LIMIT, "price": "50000.123"},
            "price=50000.123",
            "precision 3 exceeds price_precision 2",
        ),
        (
            {"order_type": OrderType.LIMIT, "price": "50000.20"},
            "price=50000.20",
            "not a multiple of tick_size 0.50",
        ),
        (
            {"order_type": OrderType.STOP_MARKET, "trigger": "50000.20"},
            "trigger_price=50000.20",
            "not a multiple of tick_size",
        ),
        ({"qty": "0.010", "order_type": OrderType.LIMIT, "price": "100.00"}, "notional=1.00", ""),
    ],
)
def test_instrument_rule_violations_are_denied_with_field_and_value(
    kwargs: dict[str, Any], field: str, text: str
) -> None:
    env = Env()
    env.quote()
    order = env.submit(env.order(**kwargs))
    assert order.status is OrderStatus.DENIED
    reason = env.denial()
    assert reason.startswith(field)
    assert text in reason
    assert env.passed == []


def test_min_quantity() -> None:
    instrument = CurrencyPair(
        id=InstrumentId.from_str("ETHUSDT.SIM"),
        raw_symbol=Symbol("ETHUSDT"),
        quote_currency=USDT,
        base_currency=BTC,
        price_precision=2,
        size_precision=3,
        min_quantity=Quantity("0.500"),
    )
    env = Env(account=None)
    env.cache.add_instrument(instrument)
    env.submit(env.order(qty="0.100", iid=instrument.id))
    assert "below min_quantity 0.500" in env.denial()


def test_notional_limits() -> None:
    env = Env(RiskConfig(max_notional_per_order={str(IID): Decimal("1000")}))
    env.quote()
    env.submit(env.order(qty="0.100"))  # ~5000 USDT
    assert env.denial().startswith("notional=5000.05000000 USDT: above max_notional_per_order 1000")
    env.submit(env.order(qty="0.010"))  # 500 passes
    assert len(env.passed) == 1
    env.submit(env.order(qty="5.000", order_type=OrderType.LIMIT, price="90000.00"))
    assert "above max_notional 400000" in env.denial()


def test_notional_checks_skipped_without_a_price() -> None:
    env = Env(account=None)
    env.submit(env.order(qty="0.010"))  # no quote: min_notional cannot be evaluated
    assert len(env.passed) == 1


def test_unknown_instrument() -> None:
    env = Env()
    env.submit(env.order(iid=InstrumentId.from_str("NOPE.SIM")))
    assert env.denial() == "instrument_id=NOPE.SIM: not in the cache"


def test_halted_denies_orders_and_modifies_but_passes_cancels() -> None:
    env = Env()
    published: list[Any] = []
    env.bus.subscribe("events.risk", published.append)
    env.risk.set_trading_state(TradingState.HALTED)
    assert isinstance(published[0], TradingStateChanged)
    assert published[0].previous is TradingState.ACTIVE
    env.risk.set_trading_state(TradingState.HALTED)  # no change, no event
    assert len(published) == 1
    env.quote()
    env.submit(env.order())
    assert env.denial() == "trading_state=HALTED: no new orders while HALTED"
    cancel = CancelOrder(
        trader_id=TRADER,
        strategy_id=SID,
        command_id="c",
        ts_init=0,
        instrument_id=IID,
        client_order_id=ClientOrderId("O-1"),
    )
    env.risk.execute(cancel)
    assert env.passed == [cancel]
    modify = ModifyOrder(
        trader_id=TRADER,
        strategy_id=SID,
        command_id="m",
        ts_init=0,
        instrument_id=IID,
        client_order_id=ClientOrderId("O-1"),
        price=Price("1.00"),
    )
    env.risk.execute(modify)
    assert isinstance(env.events[-1], OrderModifyRejected)
    assert "HALTED" in env.events[-1].reason


def test_reducing_allows_only_reducing_orders() -> None:
    env = Env(account="margin")
    env.hold(PERP_ID, OrderSide.BUY, "1.000", "50000.0")
    env.risk.set_trading_state(TradingState.REDUCING)
    env.submit(env.order(OrderSide.BUY, "0.100", iid=PERP_ID))
    assert "does not reduce the net position 1.000" in env.denial()
    env.submit(env.order(OrderSide.SELL, "2.000", iid=PERP_ID))  # would flip
    assert env.denial().startswith("trading_state=REDUCING")
    env.submit(env.order(OrderSide.SELL, "1.000", iid=PERP_ID))
    assert len(env.passed) == 1


def test_reduce_only_flag() -> None:
    env = Env(account="margin")
    env.submit(env.order(OrderSide.SELL, "0.100", iid=PERP_ID, reduce_only=True))
    assert env.denial().startswith("reduce_only=True")
    env.hold(PERP_ID, OrderSide.SELL, "0.500", "50000.0")
    env.submit(env.order(OrderSide.BUY, "0.100", iid=PERP_ID, reduce_only=True))
    assert len(env.passed) == 1


def test_max_position() -> None:
    env = Env(RiskConfig(max_position={str(PERP_ID): Decimal("1")}), account=None)
    env.hold(PERP_ID, OrderSide.BUY, "0.800", "50000.0")
    env.submit(env.order(OrderSide.BUY, "0.300", iid=PERP_ID))
    assert env.denial() == "position=1.100: would exceed max_position 1"
    env.submit(env.order(OrderSide.SELL, "0.300", iid=PERP_ID))
    assert len(env.passed) == 1


def test_cash_buy_needs_notional_plus_fee_in_quote() -> None:
    env = Env()
    env.quote(bid="50000.00", ask="50000.00")
    env.submit(env.order(OrderSide.BUY, "2.000"))  # 100000 + 100 fee > 100000
    reason = env.denial()
    assert reason.startswith("free_balance=100000.00000000 USDT")
    assert "100100.00000000 USDT needed for BUY 2.000" in reason
    env.submit(env.order(OrderSide.BUY, "1.990"))
    assert len(env.passed) == 1


def test_cash_sell_needs_base() -> None:
    env = Env()
    env.quote()
    env.submit(env.order(OrderSide.SELL, "1.500"))
    assert env.denial().startswith("free_balance=1.00000000 BTC")
    env.submit(env.order(OrderSide.SELL, "1.000"))
    assert len(env.passed) == 1


def test_margin_needs_initial_margin_and_reducing_orders_need_none() -> None:
    env = Env(account="margin")
    env.quote(PERP_ID, "50000.0", "50000.0")
    env.submit(env.order(OrderSide.BUY, "2.100", iid=PERP_ID))  # 10500 margin > 10000
    assert "10500.00000000 USDT needed" in env.denial()
    env.submit(env.order(OrderSide.BUY, "2.000", iid=PERP_ID))
    assert len(env.passed) == 1
    env.hold(PERP_ID, OrderSide.BUY, "5.000", "50000.0")
    env.submit(env.order(OrderSide.SELL, "5.000", iid=PERP_ID))  # reduces: no margin needed
    assert len(env.passed) == 2


def test_denial_changes_no_balance_and_spends_no_token() -> None:
    env = Env(RiskConfig(max_order_submit_rate=1))
    env.quote()
    account = env.portfolio.account(ACCOUNT)
    assert account is not None
    before = account.balances()
    env.submit(env.order(qty="0.105"))
    assert account.balances() == before
    env.submit(env.order())
    assert len(env.passed) == 1


def test_submit_rate_token_bucket_is_deterministic() -> None:
    env = Env(RiskConfig(max_order_submit_rate=2, max_order_submit_interval_ns=1_000))
    env.quote()
    for _ in range(3):
        env.submit(env.order())
    assert len(env.passed) == 2
    assert env.denial() == "max_order_submit_rate=2/1000ns: rate exceeded"
    env.clock.advance_time(500)  # one token back
    env.submit(env.order())
    env.submit(env.order())
    assert len(env.passed) == 3


def test_token_bucket() -> None:
    bucket = TokenBucket(3, 300, now_ns=0)
    assert [bucket.try_take(0) for _ in range(4)] == [True, True, True, False]
    assert bucket.available(100) == 1
    assert bucket.available(10_000) == 3
    with pytest.raises(InvalidValue, match="rate"):
        TokenBucket(0, 1)


def test_modify_checks() -> None:
    env = Env(RiskConfig(max_order_modify_rate=1))
    order = env.order(order_type=OrderType.LIMIT, price="50000.00")
    env.cache.add_order(order)

    def modify(**kw: Any) -> None:
        env.risk.execute(
            ModifyOrder(
                trader_id=TRADER,
                strategy_id=SID,
                command_id="m",
                ts_init=0,
                instrument_id=IID,
                client_order_id=order.client_order_id,
                **kw,
            )
        )

    modify(price=Price("50000.20"))
    assert "not a multiple of tick_size" in env.events[-1].reason
    modify(quantity=Quantity("0.105"))
    assert "lot_size" in env.events[-1].reason
    modify(price=Price("50001.00"))
    assert isinstance(env.passed[-1], ModifyOrder)
    modify(price=Price("50002.00"))
    assert "max_order_modify_rate" in env.events[-1].reason
    env.risk.configure(RiskConfig(trading_state=TradingState.REDUCING))
    modify(quantity=Quantity("0.200"))
    assert "increases an order while REDUCING" in env.events[-1].reason


def test_order_list_is_denied_as_a_whole() -> None:
    env = Env()
    env.quote()
    good = env.order()
    bad = env.order(qty="0.105")
    for o in (good, bad):
        env.cache.add_order(o)
    env.risk.execute(
        SubmitOrderList(
            trader_id=TRADER,
            strategy_id=SID,
            command_id="l",
            ts_init=0,
            order_list=OrderList("OL-1", (good, bad), ContingencyType.OCO),
        )
    )
    assert good.status is bad.status is OrderStatus.DENIED
    assert env.events[0].reason.startswith("order list OL-1 denied: order O-2: quantity=0.105")


def test_bracket_exits_are_checked_as_if_the_entry_filled() -> None:
    env = Env(account="margin")
    env.quote(PERP_ID, "50000.0", "50000.0")
    entry = env.order(OrderSide.BUY, "0.100", iid=PERP_ID)
    tp = env.order(
        OrderSide.SELL,
        "0.100",
        OrderType.LIMIT,
        price="55000.0",
        iid=PERP_ID,
        reduce_only=True,
    )
    sl = env.order(
        OrderSide.SELL,
        "0.100",
        OrderType.STOP_MARKET,
        trigger="45000.0",
        iid=PERP_ID,
        reduce_only=True,
    )
    env.risk.execute(
        SubmitOrderList(
            trader_id=TRADER,
            strategy_id=SID,
            command_id="l",
            ts_init=0,
            order_list=OrderList("OL-1", (entry, tp, sl), ContingencyType.BRACKET),
        )
    )
    assert env.events == []
    assert isinstance(env.passed[0], SubmitOrderList)


def test_bypass_forwards_everything() -> None:
    env = Env(RiskConfig(bypass=True))
    env.submit(env.order(qty="0.105"))
    assert len(env.passed) == 1


def test_without_execution_engine_orders_are_denied() -> None:
    env = Env()
    env.bus.deregister("exec.execute")
    env.quote()
    env.submit(env.order())
    assert env.denial() == "exec.execute: no execution engine"


def test_denial_without_exec_process_endpoint_applies_and_publishes() -> None:
    env = Env()
    env.bus.deregister("exec.process")
    got: list[Any] = []
    env.bus.subscribe(f"events.order.{SID}", got.append)
    order = env.submit(env.order(qty="0.105"))
    assert order.status is OrderStatus.DENIED
    assert len(got) == 1


def test_config_validation() -> None:
    with pytest.raises(InvalidValue, match="max_order_submit_rate"):
        RiskConfig(max_order_submit_rate=0)
    with pytest.raises(InvalidValue, match=r"max_position\.X"):
        RiskConfig(max_position={"X": Decimal("-1")})
    with pytest.raises(InvalidValue, match="trading_state"):
        RiskConfig(trading_state="HALTED")  # type: ignore[arg-type]
    env = Env()
    with pytest.raises(InvalidValue, match="config"):
        env.risk.configure("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="command"):
        env.risk.execute(1)
    with pytest.raises(InvalidValue, match="state"):
        env.risk.set_trading_state("HALTED")  # type: ignore[arg-type]


def test_config_loads_from_toml() -> None:
    from alphaforge.config import load_config

    cfg = load_config(
        RiskConfig,
        'trading_state = "REDUCING"\nmax_order_submit_rate = 5\n'
        '[max_notional_per_order]\n"BTCUSDT.SIM" = "1000"\n',
    )
    assert cfg.trading_state is TradingState.REDUCING
    assert cfg.max_notional_per_order == {"BTCUSDT.SIM": Decimal("1000")}


def test_dispose_deregisters_the_endpoint() -> None:
    env = Env()
    env.risk.dispose()
    env.risk.dispose()
    assert not env.bus.is_registered("risk.execute")
