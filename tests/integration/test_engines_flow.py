"""The whole trading flow in one kernel: risk -> execution -> events -> portfolio -> strategy.

The test plays the DataEngine (quotes into the cache, then onto the bus) and provides a tiny
but real, deterministic ExecutionClient: market orders fill at once at the top of book, limit
and stop orders rest and fill when a later quote reaches them, cancels and modifies are
acknowledged. The real SimulatedExchange lives in the backtest package.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import attrs
import pytest

from alphaforge import builtins
from alphaforge.execution import (
    CancelAllOrders,
    CancelOrder,
    ExecutionClient,
    ExecutionEngine,
    ModifyOrder,
    SubmitOrder,
)
from alphaforge.indicators import EMA
from alphaforge.kernel import Kernel, KernelConfig
from alphaforge.model import (
    BTC,
    USDT,
    AccountId,
    CurrencyPair,
    InstrumentId,
    LiquiditySide,
    Money,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderSide,
    OrderStatus,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    Price,
    Quantity,
    QuoteTick,
    Symbol,
    TradeId,
    Venue,
    VenueOrderId,
)
from alphaforge.portfolio import MarginAccount, Portfolio, PositionClosed
from alphaforge.risk import RiskConfig
from alphaforge.trading import Strategy, StrategyConfig

IID = InstrumentId.from_str("BTCUSDT.SIM")
ACCOUNT = AccountId("SIM-001")
INSTRUMENT = CurrencyPair(
    id=IID,
    raw_symbol=Symbol("BTCUSDT"),
    quote_currency=USDT,
    base_currency=BTC,
    price_precision=2,
    size_precision=3,
    lot_size=Quantity("0.001"),
    min_notional=Money("100", USDT),
    taker_fee=Decimal("0.001"),
    maker_fee=Decimal("0.0002"),
)


class TopOfBookClient:
    """Deterministic venue: fills at the top of book from the cache, fees from the instrument."""

    def __init__(self, kernel: Kernel, engine: ExecutionEngine) -> None:
        self._kernel = kernel
        self._engine = engine
        self._resting: dict[str, Order] = {}
        self._ids = itertools.count(1)
        kernel.msgbus.subscribe(f"data.quotes.{IID}", self._on_quote, priority=-10)

    @property
    def venue(self) -> Venue:
        return Venue("SIM")

    @property
    def account_id(self) -> AccountId:
        return ACCOUNT

    def _common(self, order: Order) -> dict[str, Any]:
        now = self._kernel.clock.timestamp_ns()
        return {
            "client_order_id": order.client_order_id,
            "strategy_id": order.strategy_id,
            "instrument_id": order.instrument_id,
            "ts_event": now,
            "ts_init": now,
            "event_id": f"SIM-{next(self._ids)}",
        }

    def _fill(self, order: Order, px: Price, liquidity: LiquiditySide) -> None:
        qty = order.leaves_qty
        rate = INSTRUMENT.taker_fee if liquidity is LiquiditySide.TAKER else INSTRUMENT.maker_fee
        self._engine.process(
            OrderFilled(
                venue_order_id=VenueOrderId(f"V-{order.client_order_id}"),
                account_id=ACCOUNT,
                trade_id=TradeId(f"T-{next(self._ids)}"),
                order_side=order.side,
                order_type=order.order_type,
                last_qty=qty,
                last_px=px,
                commission=INSTRUMENT.notional(qty, px).mul(rate),
                liquidity_side=liquidity,
                **self._common(order),
            )
        )

    def submit_order(self, command: SubmitOrder) -> None:
        order = command.order
        self._engine.process(
            OrderAccepted(
                venue_order_id=VenueOrderId(f"V-{order.client_order_id}"),
                account_id=ACCOUNT,
                **self._common(order),
            )
        )
        if order.order_type is OrderType.MARKET:
            quote = self._kernel.cache.quote(IID)
            assert isinstance(quote, QuoteTick)
            px = quote.ask_price if order.side is OrderSide.BUY else quote.bid_price
            self._fill(order, px, LiquiditySide.TAKER)
        else:
            self._resting[str(order.client_order_id)] = order

    def _on_quote(self, quote: QuoteTick) -> None:
        for key, order in list(self._resting.items()):
            if order.is_closed:
                del self._resting[key]
                continue
            buy = order.side is OrderSide.BUY
            if order.order_type is OrderType.LIMIT:
                assert order.price is not None
                if (buy and quote.ask_price <= order.price) or (
                    not buy and quote.bid_price >= order.price
                ):
                    del self._resting[key]
                    self._fill(order, order.price, LiquiditySide.MAKER)
            elif order.order_type is OrderType.STOP_MARKET:
                assert order.trigger_price is not None
                if (buy and quote.ask_price >= order.trigger_price) or (
                    not buy and quote.bid_price <= order.trigger_price
                ):
                    del self._resting[key]
                    self._engine.process(OrderTriggered(**self._common(order)))
                    self._fill(
                        order, quote.ask_price if buy else quote.bid_price, LiquiditySide.TAKER
                    )

    def modify_order(self, command: ModifyOrder) -> None:
        order = self._resting[str(command.client_order_id)]
        self._engine.process(
            OrderUpdated(
                quantity=command.quantity or order.quantity,
                price=command.price,
                trigger_price=command.trigger_price,
                **self._common(order),
            )
        )

    def cancel_order(self, command: CancelOrder) -> None:
        order = self._resting.pop(str(command.client_order_id), None)
        if order is not None:
            self._engine.process(OrderCanceled(**self._common(order)))

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        for key, order in list(self._resting.items()):
            if order.instrument_id == command.instrument_id:
                del self._resting[key]
                self._engine.process(OrderCanceled(**self._common(order)))


@attrs.frozen(kw_only=True)
class EMACrossConfig(StrategyConfig):
    fast: int = 3
    slow: int = 8
    trade_size: Decimal = Decimal("0.100")


class EMACross(Strategy):
    """Flat -> long on a golden cross, long -> short on a death cross (market orders)."""

    def __init__(self, config: EMACrossConfig) -> None:
        super().__init__(config)
        self.log_events: list[str] = []
        self.denials: list[str] = []
        self.crossings = 0

    def on_start(self) -> None:
        self.fast = EMA(self.config.fast)
        self.slow = EMA(self.config.slow)
        self.register_indicator_for_quotes(IID, self.fast)
        self.register_indicator_for_quotes(IID, self.slow)
        self.subscribe_quotes(IID)
        self.above: bool | None = None
        # An order the risk engine must deny (below min_notional).
        self.submit_order(self.order_factory.market(IID, OrderSide.BUY, Quantity("0.001")))

    def on_quote(self, quote: QuoteTick) -> None:
        if not self.slow.initialized:
            return
        above = self.fast.value > self.slow.value
        if self.above is None or above == self.above:
            self.above = above
            return
        self.above = above
        self.crossings += 1
        net = self.portfolio.net_position(IID, self.strategy_id)
        size = Decimal(self.config.trade_size)
        target = size if above else -size
        delta = target - net
        if delta:
            side = OrderSide.BUY if delta > 0 else OrderSide.SELL
            self.submit_order(self.order_factory.market(IID, side, Quantity(str(abs(delta)))))

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denials.append(event.reason)

    def on_order_event(self, event: Any) -> None:
        self.log_events.append(f"{type(event).__name__}:{event.client_order_id}:{event.event_id}")

    def on_position_event(self, event: Any) -> None:
        self.log_events.append(f"{type(event).__name__}:{event.position_id}:{event.realized_pnl}")

    def on_stop(self) -> None:
        self.close_all_positions()


def make_quotes(n: int = 400) -> list[QuoteTick]:
    """A deterministic zig-zag market (crossings guaranteed)."""
    quotes = []
    px = 5_000_000
    for i in range(n):
        step = 150 if (i // 25) % 2 == 0 else -150
        px += step + (i % 7) * 3 - 9
        quotes.append(
            QuoteTick(
                IID,
                Price.from_raw(px, 2),
                Price.from_raw(px + 10, 2),
                Quantity("5.000"),
                Quantity("5.000"),
                1_000_000_000 * (i + 1),
                1_000_000_000 * (i + 1),
            )
        )
    return quotes


def build(strategy: Strategy) -> tuple[Kernel, TopOfBookClient]:
    kernel = Kernel(
        KernelConfig(engines=("portfolio", "risk", "execution", "trader"), load_entry_points=False),
        plugins=[builtins],
    )
    kernel.build()
    kernel.engines["risk"].configure(RiskConfig(max_order_submit_rate=1000))
    kernel.cache.add_instrument(INSTRUMENT)
    kernel.engines["portfolio"].add_account(MarginAccount(ACCOUNT, [Money("100000", USDT)]))
    engine = kernel.engines["execution"]
    client = TopOfBookClient(kernel, engine)
    assert isinstance(client, ExecutionClient)
    engine.register_client(client)
    kernel.engines["trader"].add_strategy(strategy)
    # the first quote must be in the cache before on_start's market order is checked
    return kernel, client


def feed(kernel: Kernel, quotes: list[QuoteTick]) -> None:
    topic = f"data.quotes.{IID}"
    for q in quotes:
        kernel.clock.advance_time(q.ts_event)
        kernel.cache.add_quote(q)
        kernel.msgbus.publish(topic, q)


def run_once() -> tuple[EMACross, Kernel]:
    strategy = EMACross(EMACrossConfig(order_id_tag="001"))
    kernel, _ = build(strategy)
    quotes = make_quotes()
    feed(kernel, quotes[:1])
    kernel.start()
    feed(kernel, quotes[1:])
    kernel.stop()
    return strategy, kernel


def test_ema_cross_flows_through_every_engine() -> None:
    strategy, kernel = run_once()
    portfolio: Portfolio = kernel.engines["portfolio"]
    engine: ExecutionEngine = kernel.engines["execution"]
    assert kernel.msgbus.handler_error_count == 0
    assert engine.error_count == 0
    # risk: the tiny order was denied with a reason naming the field and the value
    assert len(strategy.denials) == 1
    assert strategy.denials[0].startswith("notional=")
    assert "below min_notional 100" in strategy.denials[0]
    # trades happened and every order but the denied one is filled
    orders = kernel.cache.orders()
    assert strategy.crossings >= 4
    statuses = [o.status for o in orders]  # type: ignore[attr-defined]
    assert statuses[0] is OrderStatus.DENIED
    assert all(s is OrderStatus.FILLED for s in statuses[1:])
    # close_all_positions in on_stop flattened the book
    assert portfolio.net_position(IID) == 0
    # accounting: balance = start + realized (net of fees)
    account = portfolio.account(ACCOUNT)
    assert account is not None
    fees = sum(
        (e.commission for o in orders for e in o.events if isinstance(e, OrderFilled)),  # type: ignore[attr-defined]
        Money("0", USDT),
    )
    realized = portfolio.realized_pnl(IID)
    assert account.balance_total(USDT) == Money("100000", USDT) + realized
    assert account.commissions()[USDT] == fees
    gross = sum((p.realized_pnl_gross for p in engine.position_history), Money("0", USDT))
    assert realized == gross - fees
    # the callback order for one filled order: submitted, accepted, filled, then the position
    first_filled = str(orders[1].client_order_id)  # type: ignore[attr-defined]
    sequence = [e.split(":")[0] for e in strategy.log_events if first_filled in e]
    assert sequence == ["OrderSubmitted", "OrderAccepted", "OrderFilled"]
    index = strategy.log_events.index(next(e for e in strategy.log_events if "OrderFilled" in e))
    assert strategy.log_events[index + 1].startswith("PositionOpened")
    assert any(e.startswith("PositionClosed") for e in strategy.log_events)
    kernel.dispose()


def test_two_runs_are_identical() -> None:
    a, ka = run_once()
    b, kb = run_once()
    assert a.log_events == b.log_events
    assert [str(o.client_order_id) for o in ka.cache.orders()] == [
        str(o.client_order_id) for o in kb.cache.orders()
    ]
    assert ka.engines["portfolio"].equity(USDT) == kb.engines["portfolio"].equity(USDT)


class BracketTrader(Strategy):
    def on_start(self) -> None:
        self.subscribe_quotes(IID)
        self.closed: list[PositionClosed] = []
        self.sent = False

    def on_quote(self, quote: QuoteTick) -> None:
        if self.sent:
            return
        self.sent = True
        self.bracket = self.order_factory.bracket(
            IID,
            OrderSide.BUY,
            Quantity("0.500"),
            take_profit_price=Price("50100.00"),
            stop_loss_trigger_price=Price("49900.00"),
        )
        self.submit_order_list(self.bracket)

    def on_position_closed(self, event: PositionClosed) -> None:
        self.closed.append(event)


def quote_at(px: str, ts: int) -> QuoteTick:
    bid = Price(px)
    return QuoteTick(IID, bid, bid + Price("0.10"), Quantity("1.000"), Quantity("1.000"), ts, ts)


@pytest.mark.parametrize(
    ("path", "exit_leg", "pnl_sign"),
    [(["50050.00", "50100.00"], 1, 1), (["49950.00", "49899.90"], 2, -1)],
)
def test_bracket_take_profit_or_stop_loss(path: list[str], exit_leg: int, pnl_sign: int) -> None:
    strategy = BracketTrader(StrategyConfig(order_id_tag="002"))
    kernel, _ = build(strategy)
    first = quote_at("50000.00", 1)
    feed(kernel, [first])
    kernel.start()
    feed(kernel, [first] + [quote_at(px, 2 + i) for i, px in enumerate(path)])
    entry, tp, sl = strategy.bracket.orders
    assert entry.status is OrderStatus.FILLED
    winner, loser = (tp, sl) if exit_leg == 1 else (sl, tp)
    assert winner.status is OrderStatus.FILLED
    assert loser.status is OrderStatus.CANCELED
    assert len(strategy.closed) == 1
    assert (strategy.closed[0].realized_pnl.raw > 0) == (pnl_sign > 0)
    assert kernel.engines["portfolio"].is_flat(IID)
    kernel.dispose()


def test_halted_trading_denies_and_reducing_allows_closing() -> None:
    from alphaforge.risk import TradingState

    strategy = BracketTrader(StrategyConfig(order_id_tag="003"))
    kernel, _ = build(strategy)
    feed(kernel, [quote_at("50000.00", 1)])
    kernel.start()
    risk = kernel.engines["risk"]
    denied: list[OrderDenied] = []
    kernel.msgbus.subscribe(f"events.order.{strategy.strategy_id}", lambda e: (
        denied.append(e) if isinstance(e, OrderDenied) else None
    ))  # fmt: skip
    risk.set_trading_state(TradingState.HALTED)
    order = strategy.order_factory.market(IID, OrderSide.BUY, Quantity("0.100"))
    strategy.submit_order(order)
    assert order.status is OrderStatus.DENIED
    assert denied[0].reason.startswith("trading_state=HALTED")
    risk.set_trading_state(TradingState.ACTIVE)
    buy = strategy.order_factory.market(IID, OrderSide.BUY, Quantity("0.100"))
    strategy.submit_order(buy)
    assert buy.status is OrderStatus.FILLED
    risk.set_trading_state(TradingState.REDUCING)
    more = strategy.order_factory.market(IID, OrderSide.BUY, Quantity("0.100"))
    strategy.submit_order(more)
    assert more.status is OrderStatus.DENIED
    closing = strategy.close_all_positions()
    assert [o.status for o in closing] == [OrderStatus.FILLED]
    assert kernel.engines["portfolio"].is_flat(IID)
    kernel.dispose()
