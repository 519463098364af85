"""LiveNode end to end: a real websocket quote feed (loopback) -> DataEngine -> Strategy ->
paper execution on the real SimulatedExchange, under asyncio and trio."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import anyio
import anyio.abc
import attrs
import pytest

from alphaforge.adapters import BookSnapshot, Capabilities, DataSink, MarketDataKind
from alphaforge.errors import NotSupported
from alphaforge.live import (
    HEALTH_TOPIC,
    HealthSnapshot,
    LiveNode,
    LiveNodeConfig,
    PaperVenueConfig,
)
from alphaforge.model import (
    BTC,
    USDT,
    CurrencyPair,
    InstrumentId,
    Money,
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    QuoteTick,
    Symbol,
    TimeInForce,
    Venue,
)
from alphaforge.model.data import BarType
from alphaforge.model.events import OrderDenied, OrderFilled
from alphaforge.net import Backoff, ReconnectingWebSocket, Subscription, WebSocketConfig
from alphaforge.net.loopback import LoopbackWsServer, WsPeer
from alphaforge.risk import TradingState
from alphaforge.trading import Strategy, StrategyConfig

IID = InstrumentId.from_str("BTCUSDT.LOOP")
INSTRUMENT = CurrencyPair(
    id=IID, raw_symbol=Symbol("BTCUSDT"), quote_currency=USDT, base_currency=BTC,
    price_precision=2, size_precision=3, lot_size=Quantity("0.001"),
    min_notional=Money("0.10", USDT), taker_fee=Decimal("0.001"), maker_fee=Decimal("0.0002"),
)  # fmt: skip
CAPS = Capabilities(
    venue="LOOP", order_types={OrderType.MARKET, OrderType.LIMIT},
    time_in_force={TimeInForce.GTC}, market_data={MarketDataKind.QUOTES},
)  # fmt: skip


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def quote_feed(peer: WsPeer) -> None:
    """Ack SUBSCRIBE, then stream quotes whose ask falls one tick per message."""
    msg = json.loads(await peer.recv())
    await peer.send(json.dumps({"result": None, "id": msg["id"]}))
    for i in range(100_000):
        ask = 10_000 - i  # cents
        await peer.send(json.dumps({"stream": "BTCUSDT@quote", "b": ask - 1, "a": ask, "i": i}))
        await asyncio.sleep(0.002)


class WsQuoteClient:
    """A real (if tiny) DataClient: quotes over a ReconnectingWebSocket."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stack: AsyncExitStack | None = None
        self._ws: ReconnectingWebSocket | None = None
        self._ids = iter(range(1, 1_000_000))

    @property
    def venue(self) -> Venue:
        return Venue("LOOP")

    @property
    def capabilities(self) -> Capabilities:
        return CAPS

    @property
    def connection_state(self) -> Any:
        return self._ws.state if self._ws is not None else "closed"

    async def connect(self, sink: DataSink) -> None:
        stack = AsyncExitStack()
        cfg = WebSocketConfig(self.url, backoff=Backoff(base=0.02, cap=0.1), ping_interval=None)
        ws = ReconnectingWebSocket(
            cfg, decoder=json.loads, router=lambda d: d.get("stream") if "stream" in d else None
        )
        tg = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(tg.cancel_scope.cancel)  # runs before the task group exits
        await stack.enter_async_context(ws)
        self._stack, self._ws = stack, ws
        tg.start_soon(self._read, ws, sink)

    async def _read(self, ws: ReconnectingWebSocket, sink: DataSink) -> None:
        async for msg in ws:
            d = msg.data
            if "stream" not in d:
                continue
            sink(
                QuoteTick.from_raw(
                    IID, d["b"], d["a"], 1000, 1000, 2, 3, ts_event=d["i"], ts_init=d["i"]
                )
            )

    async def disconnect(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        assert self._ws is not None
        payload = lambda: json.dumps(  # noqa: E731
            {"method": "SUBSCRIBE", "params": ["BTCUSDT@quote"], "id": next(self._ids)}
        )
        await self._ws.subscribe(Subscription("BTCUSDT@quote", payload))

    async def subscribe_trades(self, instrument_id: InstrumentId) -> None:
        raise NotSupported("trades", "LOOP", "not declared")

    async def subscribe_book(self, instrument_id: InstrumentId, depth: int = 0) -> None:
        raise NotSupported("book", "LOOP", "not declared")

    async def subscribe_bars(self, bar_type: BarType) -> None:
        raise NotSupported("bars", "LOOP", "not declared")

    async def unsubscribe(self, instrument_id: InstrumentId) -> None:
        return None

    async def request_book_snapshot(self, instrument_id: InstrumentId) -> BookSnapshot:
        raise NotSupported("book", "LOOP", "not declared")


@attrs.frozen
class DipBuyerConfig(StrategyConfig):
    below_ticks: int = 5


class DipBuyer(Strategy):
    """Rests a limit buy a few ticks under the first ask (the same code runs in a backtest)."""

    config_class = DipBuyerConfig

    def __init__(self, config: DipBuyerConfig | None = None) -> None:
        super().__init__(config or DipBuyerConfig())
        self.cfg = config or DipBuyerConfig()
        self.quotes = 0
        self.fills: list[OrderFilled] = []
        self.denied: list[OrderDenied] = []
        self.limit_order: Any = None

    def on_start(self) -> None:
        self.subscribe_quotes(IID)

    def on_quote(self, quote: QuoteTick) -> None:
        self.quotes += 1
        if self.limit_order is None:
            px = Price.from_raw(quote.ask_raw - self.cfg.below_ticks, 2)
            self.limit_order = self.order_factory.limit(IID, OrderSide.BUY, Quantity("0.010"), px)
            self.submit_order(self.limit_order)

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills.append(event)

    def on_order_denied(self, event: OrderDenied) -> None:
        self.denied.append(event)


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_paper_trading_on_a_live_websocket_feed(anyio_backend: str) -> None:
    snapshots: list[HealthSnapshot] = []
    on_bus: list[HealthSnapshot] = []
    with LoopbackWsServer(quote_feed) as server:
        node = LiveNode(
            LiveNodeConfig(trader_id="LIVE-001", health_interval_s=0.02),
            on_health=snapshots.append,
        )
        node.kernel.msgbus.subscribe(HEALTH_TOPIC, on_bus.append)
        node.add_paper_venue(PaperVenueConfig(name="LOOP", starting_balances=("100000 USDT",)))
        node.add_instrument(INSTRUMENT)
        node.add_data_client(WsQuoteClient(server.url))
        strategy = DipBuyer()
        node.add_strategy(strategy)
        async with node:
            assert node.is_running
            await wait_for(lambda: bool(strategy.fills))
            order = strategy.limit_order
            assert order.status is OrderStatus.FILLED
            assert order.avg_px is not None and order.avg_px <= order.price.as_decimal()
            position = node.portfolio.net_position(IID)
            assert position == Decimal("0.010")
            # The kill switch: HALTED denies new orders.
            node.halt()
            assert node.risk.trading_state is TradingState.HALTED
            strategy.submit_order(
                strategy.order_factory.market(IID, OrderSide.BUY, Quantity("0.010"))
            )
            assert strategy.denied and "HALTED" in strategy.denied[0].reason
            await wait_for(lambda: len(on_bus) >= 2 and len(snapshots) >= 2)
        assert not node.is_running
    health = snapshots[-1]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        health.ts = 0  # type: ignore[misc]
    assert health.trading_state == "HALTED"
    names = {c.name: c for c in health.clients}
    assert names["paper:LOOP"].connection == "connected"
    assert [s.key for s in health.subscriptions] == ["quotes:BTCUSDT.LOOP"]
    assert not health.subscriptions[0].stale
    assert on_bus[-1] is snapshots[-1]
    assert server.connections == 1
    assert strategy.quotes > 5


@pytest.mark.anyio
async def test_graceful_shutdown_cancels_and_flattens(anyio_backend: str) -> None:
    with LoopbackWsServer(quote_feed) as server:
        node = LiveNode(
            LiveNodeConfig(health_interval_s=0.05, cancel_on_stop=True, flatten_on_stop=True)
        )
        node.add_paper_venue(PaperVenueConfig(name="LOOP", starting_balances=("100000 USDT",)))
        node.add_instrument(INSTRUMENT)
        node.add_data_client(WsQuoteClient(server.url))
        strategy = DipBuyer(DipBuyerConfig(below_ticks=5_000))  # never fills: stays working
        node.add_strategy(strategy)
        async with node:
            await wait_for(lambda: strategy.limit_order is not None)
            market = strategy.order_factory.market(IID, OrderSide.BUY, Quantity("0.020"))
            strategy.submit_order(market)
            await wait_for(lambda: market.status is OrderStatus.FILLED)
            assert node.portfolio.net_position(IID) == Decimal("0.020")
            assert strategy.limit_order.status is OrderStatus.ACCEPTED
        assert strategy.limit_order.status is OrderStatus.CANCELED
        assert node.portfolio.net_position(IID) == Decimal("0")


@pytest.mark.anyio
async def test_node_runs_inside_the_callers_task_group(anyio_backend: str) -> None:
    """The host app keeps its own tasks; the node is one more `async with` inside them."""
    with LoopbackWsServer(quote_feed) as server:
        ticks: list[int] = []

        async def app_task() -> None:
            while True:
                ticks.append(1)
                await anyio.sleep(0.005)

        async with anyio.create_task_group() as app:
            app.start_soon(app_task)
            node = LiveNode(LiveNodeConfig(health_interval_s=0.05))
            node.add_instrument(INSTRUMENT)
            node.add_data_client(WsQuoteClient(server.url))
            strategy = DipBuyer()
            node.add_strategy(strategy)
            async with node:
                await wait_for(lambda: strategy.quotes >= 3 and len(ticks) >= 3)
                # No execution client for LOOP: the order is denied, the node keeps running.
                assert strategy.limit_order.status is OrderStatus.DENIED
            app.cancel_scope.cancel()
    assert not node.is_running
