"""Conformance checks for strategy plugins: the same code, deterministic in backtest and alive
in a live node.

Subclass :class:`StrategyConformance` in your plugin's tests::

    from alphaforge.testing import StrategyConformance

    class TestMyStrategy(StrategyConformance):
        strategy_name = "my_strategy"          # the name your plugin registers

        @pytest.fixture
        def strategy_config(self):             # the [[strategies]] config table of a run file
            return {"instrument_id": "BTCUSDT.SIM", "threshold": 3}

The market defaults to the embedded synthetic one (:func:`alphaforge.data.synthetic.
generate_market`: ``BTCUSDT.SIM`` quotes and trades, seeded); override ``strategy_market`` to
run on your own :class:`~alphaforge.data.synthetic.MarketData`. A strategy that is not
registered overrides ``make_strategy`` instead and leaves ``strategy_name`` unset.

The checks: the plugin registers the strategy and its config errors name the key; a backtest
runs, trades (unless ``expects_orders`` is false) and every order passes pre-trade risk; two
runs in one process give identical results (no hidden state: module globals, wall clock,
unseeded randomness); the stop is clean (nothing in flight, every fill accounted); a market with
no data gives no orders; and the same strategy runs in a :class:`~alphaforge.live.LiveNode`
on a paper venue fed by a live data client. Each check is a test method with a fixed name
(stable id ``strategy/<check>``); :data:`STRATEGY_CHECKS` lists them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import anyio
import pytest

from alphaforge.adapters import BookSnapshot, Capabilities, DataSink, MarketDataKind
from alphaforge.errors import ConfigError, NotSupported
from alphaforge.model import (
    InstrumentId,
    OrderStatus,
    OrderType,
    QuoteTick,
    TimeInForce,
    TradeTick,
    Venue,
)
from alphaforge.model.data import BarType
from alphaforge.testing.registered import registered_component

__all__ = ["STRATEGY_CHECKS", "ReplayDataClient", "StrategyConformance"]

KIND = "strategy"
STRATEGY_CHECKS = (
    "registered_by_plugin",
    "config_errors_name_the_key",
    "backtest_runs",
    "orders_pass_pre_trade_risk",
    "deterministic",
    "clean_stop",
    "no_data_no_orders",
    "runs_live_on_paper",
)
"""The stable ids of the checks, in order (``strategy/<id>``)."""

_IN_FLIGHT = frozenset(
    {OrderStatus.INITIALIZED, OrderStatus.SUBMITTED, OrderStatus.PENDING_UPDATE,
     OrderStatus.PENDING_CANCEL}
)  # fmt: skip


def check_id(check: str) -> pytest.MarkDecorator:
    """The marker every check carries (stable id ``strategy/<check>``)."""
    assert check in STRATEGY_CHECKS, check
    return pytest.mark.alphaforge_conformance(KIND, check)


class ReplayDataClient:
    """A live :class:`~alphaforge.adapters.DataClient` that streams recorded quotes and trades.

    Each item is re-stamped with the wall clock as it is delivered (the node runs on a
    :class:`~alphaforge.clock.LiveClock`), ``batch`` items per event-loop turn; it finishes when
    the recording does. Useful wherever a node needs market data without a venue.
    """

    def __init__(
        self, venue: Venue, items: list[QuoteTick | TradeTick], *, batch: int = 50
    ) -> None:
        self._venue = venue
        self._items = items
        self._batch = batch
        self._sink: DataSink | None = None
        self._wanted: set[tuple[MarketDataKind, InstrumentId]] = set()
        self._scope: anyio.CancelScope | None = None
        self.delivered = 0
        self.finished = anyio.Event()

    @property
    def venue(self) -> Venue:
        return self._venue

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            venue=str(self._venue), order_types={OrderType.MARKET, OrderType.LIMIT},
            time_in_force={TimeInForce.GTC},
            market_data={MarketDataKind.QUOTES, MarketDataKind.TRADES},
        )  # fmt: skip

    async def connect(self, sink: DataSink) -> None:
        self._sink = sink

    async def disconnect(self) -> None:
        self._sink = None

    async def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        self._wanted.add((MarketDataKind.QUOTES, instrument_id))

    async def subscribe_trades(self, instrument_id: InstrumentId) -> None:
        self._wanted.add((MarketDataKind.TRADES, instrument_id))

    async def subscribe_book(self, instrument_id: InstrumentId, depth: int = 0) -> None:
        raise NotSupported("book", str(self._venue), "a replay of quotes and trades")

    async def subscribe_bars(self, bar_type: BarType) -> None:
        raise NotSupported("bars", str(self._venue), "build INTERNAL bars from the quotes")

    async def unsubscribe(self, instrument_id: InstrumentId) -> None:
        self._wanted = {w for w in self._wanted if w[1] != instrument_id}

    async def request_book_snapshot(self, instrument_id: InstrumentId) -> BookSnapshot:
        raise NotSupported("book", str(self._venue), "a replay of quotes and trades")

    async def replay(self) -> None:
        """Stream the recording to the sink (call once the node has started)."""
        for start in range(0, len(self._items), self._batch):
            for item in self._items[start : start + self._batch]:
                now = time.time_ns()
                stamped: QuoteTick | TradeTick
                if isinstance(item, QuoteTick):
                    kind = MarketDataKind.QUOTES
                    stamped = QuoteTick(item.instrument_id, item.bid_price, item.ask_price,
                                        item.bid_size, item.ask_size, now, now)  # fmt: skip
                else:
                    kind = MarketDataKind.TRADES
                    stamped = TradeTick(item.instrument_id, item.price, item.size,
                                        item.aggressor_side, item.trade_id, now, now)  # fmt: skip
                if self._sink is not None and (kind, item.instrument_id) in self._wanted:
                    self._sink(stamped)
                    self.delivered += 1
            await anyio.sleep(0)
        self.finished.set()


def _recorded(market: Any, limit: int) -> list[QuoteTick | TradeTick]:
    """The market's first ``limit`` quotes and the trades between them, as objects in replay
    order (the backtest's merge: quotes before trades on equal timestamps)."""
    from alphaforge.data.merge import merge_order

    quotes = market.quotes.replace(market.quotes.records[:limit])
    last = quotes.records["ts_init"][-1] if len(quotes) else 0
    trades = market.trades.replace(market.trades.records[market.trades.ts_init <= last])
    streams = (quotes.to_objects(), trades.to_objects())
    order = merge_order(quotes.ts_init, trades.ts_init)
    return [streams[s][r] for s, r in zip(order[0].tolist(), order[1].tolist(), strict=True)]


class StrategyConformance:
    """The checks every strategy plugin must pass. Subclass it as ``Test...`` (module docs).

    Attributes
    ----------
    strategy_name
        The name the plugin registers through ``alphaforge_register_strategies``; the default
        ``make_strategy`` builds it from ``strategy_config``. ``None``: override
        ``make_strategy`` (``registered_by_plugin`` and ``config_errors_name_the_key`` skip).
    expects_orders
        Whether the strategy trades on ``strategy_market`` (a pure signal strategy may not).
    with_trades
        Feed the market's trades as well as its quotes.
    live_expects_orders
        Whether the short live run trades (``None``: as ``expects_orders``; a strategy on
        wall-clock bars may not within a fast replay).
    live_quotes
        How many quotes the live check streams.
    """

    strategy_name: ClassVar[str | None] = None
    expects_orders: ClassVar[bool] = True
    with_trades: ClassVar[bool] = False
    live_expects_orders: ClassVar[bool | None] = None
    live_quotes: ClassVar[int] = 5_000

    @pytest.fixture
    def strategy_config(self) -> Mapping[str, Any]:
        """Override: the strategy's parameters, as in a ``[[strategies]]`` table."""
        return {}

    @pytest.fixture(scope="class")
    @classmethod
    def strategy_market(cls) -> Any:
        """Override for your own data: a :class:`~alphaforge.data.synthetic.MarketData`."""
        from alphaforge.data.synthetic import generate_market

        return generate_market(seed=7, n_quotes=20_000, book=False)

    @pytest.fixture
    def make_strategy(self, strategy_config: Mapping[str, Any]) -> Callable[[], Any]:
        """Builds a fresh strategy (default: the registered ``strategy_name``)."""
        name = self.strategy_name
        if name is None:
            raise NotImplementedError("set strategy_name or supply a 'make_strategy' fixture")
        return lambda: _build_registered(name, strategy_config)

    # -- helpers -----------------------------------------------------------------------------

    def backtest(self, market: Any, strategy: Any) -> tuple[Any, Any]:
        """``(engine, result)`` of a backtest of ``strategy`` on ``market``."""
        from alphaforge.backtest.engine import BacktestEngine, BacktestEngineConfig, VenueConfig

        engine = BacktestEngine(BacktestEngineConfig(progress=False))
        engine.add_venue(VenueConfig(str(market.instrument.id.venue)))
        engine.add_instrument(market.instrument)
        engine.add_data(market.quotes)
        if self.with_trades:
            engine.add_data(market.trades)
        engine.add_strategy(strategy)
        return engine, engine.run()

    # -- checks ------------------------------------------------------------------------------

    @check_id("registered_by_plugin")
    def test_registered_by_plugin(self, strategy_config: Mapping[str, Any]) -> None:
        if self.strategy_name is None:
            pytest.skip("strategy_name is not set on the test class")
        registered_component("strategy", self.strategy_name, "strategy")
        _build_registered(self.strategy_name, strategy_config)

    @check_id("config_errors_name_the_key")
    def test_config_errors_name_the_key(self, strategy_config: Mapping[str, Any]) -> None:
        if self.strategy_name is None:
            pytest.skip("strategy_name is not set on the test class")
        bad = {**strategy_config, "no_such_parameter": 1}
        with pytest.raises(ConfigError) as info:
            _build_registered(self.strategy_name, bad)
        assert "no_such_parameter" in str(info.value), str(info.value)

    @check_id("backtest_runs")
    def test_backtest_runs(self, strategy_market: Any, make_strategy: Callable[[], Any]) -> None:
        _, result = self.backtest(strategy_market, make_strategy())
        assert not result.interrupted
        if self.expects_orders:
            assert result.orders.num_rows > 0, "the strategy placed no order"

    @check_id("orders_pass_pre_trade_risk")
    def test_orders_pass_pre_trade_risk(
        self, strategy_market: Any, make_strategy: Callable[[], Any]
    ) -> None:
        _, result = self.backtest(strategy_market, make_strategy())
        denied = [o for o in result.orders.to_pylist() if o["status"] == "DENIED"]
        assert not denied, f"{len(denied)} orders denied by pre-trade risk, e.g. {denied[0]}"

    @check_id("deterministic")
    def test_deterministic(self, strategy_market: Any, make_strategy: Callable[[], Any]) -> None:
        first = self.backtest(strategy_market, make_strategy())[1]
        second = self.backtest(strategy_market, make_strategy())[1]
        assert first.fingerprint() == second.fingerprint(), (
            "two runs on the same data differ: hidden state (module globals, wall clock, "
            "unseeded randomness)?"
        )

    @check_id("clean_stop")
    def test_clean_stop(self, strategy_market: Any, make_strategy: Callable[[], Any]) -> None:
        engine, result = self.backtest(strategy_market, make_strategy())
        for strategy in engine.trader.strategies():
            assert not strategy.is_running, f"{strategy} still running after stop"
        in_flight = [o for o in result.orders.to_pylist()
                     if OrderStatus[o["status"]] in _IN_FLIGHT]  # fmt: skip
        assert not in_flight, f"orders still in flight after stop: {in_flight[:3]}"
        assert engine.portfolio.unaccounted_fill_count == 0

    @check_id("no_data_no_orders")
    def test_no_data_no_orders(
        self, strategy_market: Any, make_strategy: Callable[[], Any]
    ) -> None:
        import attrs

        empty = attrs.evolve(
            strategy_market,
            quotes=strategy_market.quotes.replace(strategy_market.quotes.records[:0]),
            trades=strategy_market.trades.replace(strategy_market.trades.records[:0]),
        )
        _, result = self.backtest(empty, make_strategy())
        assert result.orders.num_rows == 0, "orders without any market data"

    @check_id("runs_live_on_paper")
    def test_runs_live_on_paper(
        self, strategy_market: Any, make_strategy: Callable[[], Any]
    ) -> None:
        anyio.run(self._live, strategy_market, make_strategy())

    async def _live(self, market: Any, strategy: Any) -> None:
        from alphaforge.live import LiveNode, LiveNodeConfig, PaperVenueConfig

        venue = market.instrument.id.venue
        client = ReplayDataClient(venue, _recorded(market, self.live_quotes))
        node = LiveNode(LiveNodeConfig(health_interval_s=0.2))
        node.add_instrument(market.instrument)
        node.add_data_client(client)
        paper = node.add_paper_venue(PaperVenueConfig(name=str(venue)))
        node.add_strategy(strategy)
        with anyio.fail_after(60):
            async with node:
                assert strategy.is_running
                await client.replay()
                assert client.delivered > 0, "the strategy subscribed to neither quotes nor trades"
                paper.advance()
                orders = node.kernel.cache.orders()
        assert not strategy.is_running
        expects = (
            self.expects_orders if self.live_expects_orders is None else (self.live_expects_orders)
        )
        if expects:
            assert orders, "no order in the live run (the backtest of the same data traded)"
        for order in orders:
            status = order.status  # type: ignore[attr-defined]
            assert status not in _IN_FLIGHT, f"{order} left in flight by the live run"


def _build_registered(name: str, config: Mapping[str, Any]) -> Any:
    from alphaforge.kernel import Kernel, KernelConfig
    from alphaforge.trading.config import StrategySection, build_strategies

    kernel = Kernel(KernelConfig()).build()
    try:
        (strategy,) = build_strategies(kernel, [StrategySection(name, dict(config))])
    finally:
        kernel.dispose()
    return strategy
