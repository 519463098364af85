"""``LiveNode``: the kernel in live mode, embedded in the caller's event loop.

::

    async with LiveNode(LiveNodeConfig(trader_id="LIVE-001")) as node:   # asyncio or trio
        ...                                                                # the app runs

Before entering, add what the node trades with: instruments (or an instrument provider), data
clients, execution clients (async adapter protocols) or paper venues, and strategies -- the
same :class:`~alphaforge.trading.Strategy` classes a backtest runs. Entering the context

1. builds a task group inside the *caller's* loop (the node never owns an event loop) and
   starts the :class:`~alphaforge.clock.LiveClock` in it;
2. loads instruments, connects data clients (their messages go to the DataEngine on this loop),
   connects execution clients and reconciles them with the venue
   (:class:`~alphaforge.live.execution.LiveExecutionClient`);
3. starts the kernel (strategies' ``on_start``; their subscriptions reach the data clients);
4. runs the health monitor (``events.health``, :attr:`LiveNode.on_health`), which also
   reconciles an execution client after every reconnect.

Leaving it shuts down gracefully: optionally cancels every working order and flattens every
position (``cancel_on_stop`` / ``flatten_on_stop``), waits up to ``shutdown_timeout_s`` for the
venues to answer, stops the strategies, disconnects and disposes the kernel.
:meth:`LiveNode.halt` is the kill switch: the risk engine goes HALTED (no new orders).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import attrs

from alphaforge.adapters.clients import DataClient, InstrumentProvider, MarketData
from alphaforge.adapters.clients import ExecutionClient as AsyncExecutionClient
from alphaforge.backtest.engine import parse_money
from alphaforge.backtest.exchange import ExchangeConfig
from alphaforge.clock import LiveClock
from alphaforge.data.arrays import MarketArray
from alphaforge.data.engine import DataEngine
from alphaforge.data.schemas import DataType
from alphaforge.errors import InvalidValue, KernelStateError
from alphaforge.execution.messages import CancelAllOrders
from alphaforge.execution.oms import OmsType
from alphaforge.kernel import Environment, Kernel, KernelConfig
from alphaforge.live.execution import LiveExecutionClient, ReconciliationConfig
from alphaforge.live.health import (
    HEALTH_TOPIC,
    ClientHealth,
    HealthSnapshot,
    SubscriptionHealth,
    probe_client,
)
from alphaforge.live.paper import PaperExchange
from alphaforge.metrics.config import MetricsConfig
from alphaforge.metrics.engine import EngineMetrics
from alphaforge.model.data import Bar, BarType, OrderBookDeltas, QuoteTick, TradeTick
from alphaforge.model.enums import AggregationSource, PriceType
from alphaforge.model.identifiers import AccountId, InstrumentId, Venue
from alphaforge.model.instruments import Instrument
from alphaforge.model.values import Currency
from alphaforge.portfolio.accounts import CashAccount, MarginAccount
from alphaforge.risk.engine import RiskConfig, TradingState
from alphaforge.trading.messages import DataKind, DataSubscription
from alphaforge.trading.strategy import Strategy
from alphaforge.trading.topics import DATA_SUBSCRIPTIONS_ENDPOINT

__all__ = ["LiveNode", "LiveNodeConfig", "PaperVenueConfig"]

_log = logging.getLogger("alphaforge.live")

ENGINES = ("data", "portfolio", "risk", "execution", "trader")


@attrs.frozen(kw_only=True)
class LiveNodeConfig:
    """Settings of a :class:`LiveNode`.

    Parameters
    ----------
    trader_id
        The trader the node runs for.
    risk
        Pre-trade risk limits (``None``: :class:`~alphaforge.risk.RiskConfig` defaults).
    reconciliation
        How unknown outcomes are settled and external orders treated.
    health_interval_s
        Period of the health monitor (and of the reconnect check).
    stale_after_s
        A subscription silent for longer is reported stale.
    cancel_on_stop, flatten_on_stop
        On shutdown, cancel every working order / close every open position.
    shutdown_timeout_s
        How long shutdown waits for the venues to confirm cancels and closes.
    metrics
        Engine metrics (see :class:`~alphaforge.metrics.MetricsConfig`).
    load_entry_points
        Discover installed plugins (strategies and adapters by name).
    """

    trader_id: str = "TRADER-001"
    risk: RiskConfig | None = None
    reconciliation: ReconciliationConfig = attrs.field(factory=ReconciliationConfig)
    health_interval_s: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    stale_after_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    cancel_on_stop: bool = True
    flatten_on_stop: bool = False
    shutdown_timeout_s: float = attrs.field(default=5.0, validator=attrs.validators.ge(0))
    metrics: MetricsConfig = attrs.field(factory=MetricsConfig)
    load_entry_points: bool = True


@attrs.frozen(kw_only=True)
class PaperVenueConfig:
    """A paper venue: execution on the simulated exchange, data from a live data client.

    Parameters
    ----------
    name
        The venue (the live data's venue, e.g. ``"BINANCE"``).
    starting_balances
        ``"<amount> <CURRENCY>"`` strings of the paper account.
    account_type
        ``"margin"`` or ``"cash"``.
    oms_type
        NETTING or HEDGING.
    exchange
        Latency and queue model of the simulated exchange.
    """

    name: str
    starting_balances: tuple[str, ...] = ("1000000 USDT",)
    account_type: str = attrs.field(
        default="margin", validator=attrs.validators.in_(("margin", "cash"))
    )
    oms_type: OmsType = OmsType.NETTING
    exchange: ExchangeConfig = attrs.field(factory=ExchangeConfig)


HealthCallback = Callable[[HealthSnapshot], None]


class LiveNode:
    """The kernel in live mode (see the module docs).

    Parameters
    ----------
    config
        Node settings.
    plugins
        Extra plugin objects for the kernel.
    on_health
        Called with every :class:`~alphaforge.live.health.HealthSnapshot` (the host app's hook).
    """

    def __init__(
        self,
        config: LiveNodeConfig | None = None,
        *,
        plugins: Sequence[object] = (),
        on_health: HealthCallback | None = None,
    ) -> None:
        self.config = config or LiveNodeConfig()
        self.clock = LiveClock()
        self.kernel = Kernel(
            KernelConfig(
                trader_id=self.config.trader_id,
                environment=Environment.LIVE,
                engines=ENGINES,
                metrics=self.config.metrics,
                load_entry_points=self.config.load_entry_points,
            ),
            plugins=plugins,
            clock=self.clock,
        ).build()
        engines = self.kernel.engines
        self.data_engine: DataEngine = engines["data"]
        self.portfolio, self.risk, self.exec_engine = (
            engines["portfolio"], engines["risk"], engines["execution"],
        )  # fmt: skip
        self.trader = engines["trader"]
        self.risk.configure(self.config.risk or RiskConfig())
        self.on_health = on_health
        self._providers: list[tuple[InstrumentProvider, tuple[InstrumentId, ...] | None]] = []
        self._data_clients: dict[Venue, DataClient] = {}
        self._data_state: dict[Venue, str] = {}
        self._exec_clients: dict[Venue, LiveExecutionClient] = {}
        self._paper: dict[Venue, PaperExchange] = {}
        self._subscribed: dict[tuple[DataKind, Any], int] = {}  # -> ts subscribed
        self._last_seen: dict[tuple[DataKind, Any], int] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        self._reconciling: set[Venue] = set()
        self._stopping: anyio.Event | Any = None
        self._client_tasks: list[tuple[anyio.CancelScope, anyio.Event]] = []
        self._running = False
        self.last_health: HealthSnapshot | None = None
        if self.config.metrics.enabled:
            self.kernel.metrics.add_collector(self._collect_metrics)

    def __repr__(self) -> str:
        venues = sorted(str(v) for v in {*self._data_clients, *self._exec_clients, *self._paper})
        return (
            f"LiveNode(trader_id={self.config.trader_id!r}, venues={venues}, "
            f"running={self._running})"
        )

    # -- setup ------------------------------------------------------------------------------------

    def _check_not_running(self) -> None:
        if self._running:
            raise KernelStateError("add components before the node starts")

    def add_instrument(self, instrument: Instrument) -> None:
        """Put ``instrument`` into the cache (and list it on a paper venue of its venue)."""
        self.kernel.cache.add_instrument(instrument)
        paper = self._paper.get(instrument.id.venue)
        if paper is not None:
            paper.add_instrument(instrument)

    def add_instrument_provider(
        self, provider: InstrumentProvider, instrument_ids: Sequence[InstrumentId] | None = None
    ) -> None:
        """Load instruments from ``provider`` at start (all, or ``instrument_ids``)."""
        self._check_not_running()
        self._providers.append((provider, tuple(instrument_ids) if instrument_ids else None))

    def add_data_client(self, client: DataClient) -> None:
        """Stream market data of ``client.venue`` from ``client``."""
        self._check_not_running()
        if not isinstance(client, DataClient):
            raise InvalidValue("client", client, "does not implement adapters.DataClient")
        if client.venue in self._data_clients:
            raise InvalidValue("client.venue", str(client.venue), "has a data client already")
        self._data_clients[client.venue] = client
        self._data_state[client.venue] = "closed"

    def add_execution_client(self, client: AsyncExecutionClient) -> LiveExecutionClient:
        """Route orders for ``client.venue`` to ``client`` (reconciled at start)."""
        self._check_not_running()
        if not isinstance(client, AsyncExecutionClient):
            raise InvalidValue("client", client, "does not implement adapters.ExecutionClient")
        bridge = LiveExecutionClient(
            client, self.exec_engine.process, self.kernel.cache, self.clock,
            self.kernel.trader_id, self.config.reconciliation,
        )  # fmt: skip
        self.exec_engine.register_client(bridge)
        self._exec_clients[client.venue] = bridge
        return bridge

    def add_paper_venue(self, config: PaperVenueConfig) -> PaperExchange:
        """Execute ``config.name``'s orders on a simulated exchange fed by live quotes."""
        self._check_not_running()
        venue = Venue(config.name)
        balances = [parse_money(text) for text in config.starting_balances]
        account_id = AccountId(f"{config.name}-PAPER")
        account_cls = MarginAccount if config.account_type == "margin" else CashAccount
        base: Currency | None = balances[0].currency if len(balances) == 1 else None
        self.portfolio.add_account(account_cls(account_id, balances, base_currency=base))
        paper = PaperExchange(
            venue, account_id, self.exec_engine.process, self.clock, self.kernel.cache,
            config.exchange,
        )  # fmt: skip
        self.exec_engine.register_client(paper.exchange)
        oms_types = {**self.exec_engine.config.oms_types, config.name: config.oms_type}
        self.exec_engine.configure(attrs.evolve(self.exec_engine.config, oms_types=oms_types))
        self._paper[venue] = paper
        for instrument in self.kernel.cache.instruments():
            if isinstance(instrument, Instrument) and instrument.id.venue == venue:
                paper.add_instrument(instrument)
        return paper

    def add_strategy(self, strategy: Strategy) -> None:
        """Run ``strategy`` (the same class a backtest runs)."""
        self.trader.add_strategy(strategy)

    def execution_client(self, venue: str | Venue) -> LiveExecutionClient | None:
        """The live execution bridge of ``venue`` (reconciliation state, external orders)."""
        return self._exec_clients.get(Venue(str(venue)))

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Whether the node is between start and stop."""
        return self._running

    async def __aenter__(self) -> LiveNode:
        if self._running or self._tg is not None:
            raise KernelStateError("the node is already running")
        self._stopping, self._client_tasks = anyio.Event(), []
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            await tg.start(self.clock.run)
            await self._start(tg)
        except BaseException:
            self._running = False
            tg.cancel_scope.cancel()
            try:
                await tg.__aexit__(None, None, None)  # the caller sees its own exception
            finally:
                self._tg = None
                self.kernel.dispose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg = self._tg
        if tg is None:
            return None
        with anyio.CancelScope(shield=True):
            await self._shutdown(graceful=exc is None)
            await self._stop_clients()
        tg.cancel_scope.cancel()
        try:
            # The body's own exception propagates unchanged (not wrapped in a group).
            await tg.__aexit__(None, None, None)
            return None
        finally:
            self._tg = None
            self.kernel.dispose()

    async def _start(self, tg: anyio.abc.TaskGroup) -> None:
        for provider, ids in self._providers:
            instruments = await (provider.load(ids) if ids else provider.load_all())
            for instrument in instruments:
                self.add_instrument(instrument)
        for client in self._data_clients.values():
            await tg.start(self._run_data_client, client)
        for bridge in self._exec_clients.values():
            await tg.start(self._run_exec_client, bridge, tg)
        bus = self.kernel.msgbus
        bus.deregister(DATA_SUBSCRIPTIONS_ENDPOINT)
        bus.register(DATA_SUBSCRIPTIONS_ENDPOINT, self._on_subscription)
        self._running = True
        self.kernel.start()  # strategies subscribe and may trade in on_start
        tg.start_soon(self._monitor)

    async def _shutdown(self, *, graceful: bool) -> None:
        if not self._running:
            return
        if graceful:
            if self.config.flatten_on_stop:
                self.risk.set_trading_state(TradingState.REDUCING)
                for strategy in self.trader.strategies():
                    strategy.close_all_positions()
            if self.config.cancel_on_stop:
                self.cancel_all_orders()
            with anyio.move_on_after(self.config.shutdown_timeout_s):
                while self._busy():
                    await anyio.sleep(0.01)
        self._running = False
        self.kernel.stop()  # strategies' on_stop

    def _busy(self) -> bool:
        if self.exec_engine.working_orders() and self.config.cancel_on_stop:
            return True
        return self.config.flatten_on_stop and bool(self.portfolio.open_positions())

    async def _run_exec_client(
        self,
        bridge: LiveExecutionClient,
        tg: anyio.abc.TaskGroup,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        done = anyio.Event()
        with anyio.CancelScope(shield=True) as scope:  # ended by the node, not by the host
            self._client_tasks.append((scope, done))
            try:
                await bridge.run(tg, task_status=task_status)
            finally:
                done.set()

    async def _run_data_client(
        self,
        client: DataClient,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Connect ``client``, then hold it open until the node's task group is cancelled
        (connect and disconnect run in this one task, as anyio resources require)."""
        venue = client.venue
        done = anyio.Event()
        # Shielded: a host cancellation does not tear the adapter down mid-await; the node ends
        # this task through ``_stopping`` (or cancels ``scope`` after the shutdown timeout).
        with anyio.CancelScope(shield=True) as scope:
            self._client_tasks.append((scope, done))
            self._data_state[venue] = "connecting"
            try:
                await client.connect(self._on_data)
                self._data_state[venue] = "connected"
                task_status.started()
                await self._stopping.wait()
            except BaseException:
                self._data_state[venue] = "failed" if self._running else "closed"
                raise
            finally:
                try:  # in this task, where connect ran (anyio resources exit where entered)
                    await client.disconnect()
                except Exception:  # noqa: BLE001 - shutting down: report and go on
                    _log.exception("disconnecting data client %s failed", venue)
                if self._data_state[venue] != "failed":
                    self._data_state[venue] = "closed"
                done.set()

    async def _stop_clients(self) -> None:
        """End every client task (disconnecting it), waiting up to the shutdown timeout."""
        self._stopping.set()
        for bridge in self._exec_clients.values():
            bridge.close()
        with anyio.move_on_after(self.config.shutdown_timeout_s):
            for _, done in self._client_tasks:
                await done.wait()
        for scope, done in self._client_tasks:
            if not done.is_set():
                _log.warning("a client did not disconnect in time: cancelled")
                scope.cancel()

    # -- control ----------------------------------------------------------------------------------

    def halt(self, *, cancel_orders: bool = False) -> None:
        """Kill switch: the risk engine goes HALTED (no new orders, no modifies).

        Parameters
        ----------
        cancel_orders
            Also cancel every working order now.
        """
        self.risk.set_trading_state(TradingState.HALTED)
        if cancel_orders:
            self.cancel_all_orders()

    def resume(self) -> None:
        """Back to ACTIVE after :meth:`halt`."""
        self.risk.set_trading_state(TradingState.ACTIVE)

    def cancel_all_orders(self) -> None:
        """Cancel every working order of every strategy (cancels pass the risk engine even
        while HALTED)."""
        groups = {(o.strategy_id, o.instrument_id) for o in self.exec_engine.working_orders()}
        now = self.clock.timestamp_ns()
        for n, (sid, iid) in enumerate(sorted(groups, key=str)):
            self.exec_engine.execute(
                CancelAllOrders(
                    trader_id=self.kernel.trader_id, strategy_id=sid,
                    command_id=f"NODE-CANCEL-{now}-{n}", ts_init=now, instrument_id=iid,
                )
            )  # fmt: skip

    async def reconcile(self, venue: str | Venue | None = None) -> None:
        """Reconcile one venue's (or every venue's) orders, fills and balances now."""
        venues = [Venue(str(venue))] if venue is not None else list(self._exec_clients)
        for v in venues:
            bridge = self._exec_clients[v]
            if v in self._reconciling:
                continue
            self._reconciling.add(v)
            try:
                await bridge.reconcile()
            finally:
                self._reconciling.discard(v)

    # -- data -------------------------------------------------------------------------------------

    def _on_data(self, data: MarketData) -> None:
        """The data clients' sink (runs on the node's loop)."""
        engine, now = self.data_engine, self.clock.timestamp_ns()
        if type(data) is QuoteTick:
            engine.process_quote(data)
            self._last_seen[(DataKind.QUOTES, data.instrument_id)] = now
            paper = self._paper.get(data.instrument_id.venue)
            if paper is not None:
                paper.on_quote(data)
        elif type(data) is TradeTick:
            engine.process_trade(data)
            self._last_seen[(DataKind.TRADES, data.instrument_id)] = now
        elif type(data) is Bar:
            engine.process_bar(data)
            self._last_seen[(DataKind.BARS, data.bar_type)] = now
        elif type(data) is MarketArray and data.data_type is DataType.BOOK_DELTAS:
            engine.process_delta_batch(data)
            self._last_seen[(DataKind.BOOK_DELTAS, InstrumentId.from_str(data.instrument_id))] = now
        elif type(data) is OrderBookDeltas:
            instrument = self.kernel.cache.instrument(data.instrument_id)
            if not isinstance(instrument, Instrument):
                _log.warning("book deltas for unknown instrument %s", data.instrument_id)
                return
            # At the deltas' own precisions: a venue book may be finer than today's tick/lot
            # (orders resting from before a grid change).
            first = data.deltas[0]
            engine.process_deltas(data, first.price.precision, first.size.precision)
            self._last_seen[(DataKind.BOOK_DELTAS, data.instrument_id)] = now
        else:
            _log.warning("data client delivered %s; ignored", type(data).__name__)

    def _on_subscription(self, request: DataSubscription) -> None:
        self.data_engine._on_subscription(request)
        if request.subscribe and self._tg is not None:
            self._tg.start_soon(self._subscribe, request.kind, request.key)

    async def _subscribe(self, kind: DataKind, key: Any) -> None:
        if kind is DataKind.BARS and key.source is AggregationSource.INTERNAL:
            await self._internal_bars(key)
            return
        if kind is DataKind.BOOK:  # the book is maintained from the deltas stream
            kind = DataKind.BOOK_DELTAS
        if (kind, key) in self._subscribed:
            return
        iid: InstrumentId = key.instrument_id if kind is DataKind.BARS else key
        client = self._data_clients.get(iid.venue)
        if client is None:
            _log.warning("no data client for %s (subscription to %s %s)", iid.venue, kind, key)
            return
        self._subscribed[(kind, key)] = self.clock.timestamp_ns()
        try:
            if kind is DataKind.QUOTES:
                await client.subscribe_quotes(iid)
            elif kind is DataKind.TRADES:
                await client.subscribe_trades(iid)
            elif kind is DataKind.BARS:
                await client.subscribe_bars(key)
            else:
                await client.subscribe_book(iid)
        except Exception:  # noqa: BLE001 - reported; health shows the subscription stale
            _log.exception("subscribing %s %s failed", kind.value, key)

    async def _internal_bars(self, bar_type: BarType) -> None:
        instrument = self.kernel.cache.instrument(bar_type.instrument_id)
        if not isinstance(instrument, Instrument):
            _log.warning("internal bars %s: instrument not loaded", bar_type)
            return
        self.data_engine.add_bar_aggregation(
            bar_type, instrument.price_precision, instrument.size_precision
        )
        source = DataKind.TRADES if bar_type.spec.price_type is PriceType.LAST else DataKind.QUOTES
        await self._subscribe(source, bar_type.instrument_id)

    # -- health -----------------------------------------------------------------------------------

    def health(self) -> HealthSnapshot:
        """The node's health now."""
        now = self.clock.timestamp_ns()
        clients: list[ClientHealth] = []
        for venue, client in self._data_clients.items():
            clients.append(probe_client(f"data:{venue}", client, self._data_state[venue]))
        inflight = external = passes = 0
        for venue, bridge in self._exec_clients.items():
            fallback = "connected" if bridge.connected else "closed"
            clients.append(probe_client(f"exec:{venue}", bridge.client, fallback))
            inflight += len(bridge.unknown)
            external += len(bridge.external_orders)
            passes += bridge.stats.passes
        for venue in self._paper:
            clients.append(ClientHealth(name=f"paper:{venue}", connection="connected"))
        stale_ns = int(self.config.stale_after_s * 1e9)
        subs = []
        for (kind, key), since in sorted(self._subscribed.items(), key=lambda kv: str(kv[0])):
            last = self._last_seen.get((kind, key), 0)
            silence_ns = now - (last or since)
            subs.append(
                SubscriptionHealth(
                    key=f"{kind.value}:{key}", last_message_ns=last,
                    silence_s=silence_ns / 1e9, stale=silence_ns > stale_ns,
                )
            )  # fmt: skip
        return HealthSnapshot(
            ts=now, trading_state=self.risk.trading_state.value, clients=tuple(clients),
            subscriptions=tuple(subs), inflight_orders=inflight, external_orders=external,
            reconciliations=passes,
        )  # fmt: skip

    def _collect_metrics(self, metrics: EngineMetrics) -> None:
        """Live gauges at every metrics snapshot: open orders per venue, and the adapters'
        clock offset and rate-limit headroom where they expose them."""
        counts: dict[str, int] = {}
        for order in self.exec_engine.working_orders():
            name = str(order.instrument_id.venue)
            counts[name] = counts.get(name, 0) + 1
        for routed in {*self._exec_clients, *self._paper}:
            metrics.open_orders.labels(str(routed)).value = counts.get(str(routed), 0)
        clients: list[tuple[Venue, object]] = [
            *self._data_clients.items(),
            *((v, b.client) for v, b in self._exec_clients.items()),
        ]
        for venue, client in clients:
            clock = getattr(client, "server_clock", None)
            offset = getattr(clock, "offset_ms", None)
            if isinstance(offset, (int, float)):
                metrics.clock_offset.labels(str(venue)).value = round(offset * 1e6)
            limiter = getattr(client, "rate_limiter", None)
            if limiter is not None and callable(getattr(limiter, "headroom", None)):
                for bucket, ratio in limiter.headroom().items():
                    metrics.rate_limit_headroom.labels(str(venue), str(bucket)).value = ratio

    async def _monitor(self) -> None:
        while True:
            await anyio.sleep(self.config.health_interval_s)
            self.check()

    def check(self) -> HealthSnapshot:
        """One monitor step: reconnect reconciliation, paper timers, health publication."""
        for venue, bridge in self._exec_clients.items():
            if bridge.check_reconnect() and self._tg is not None:
                _log.info("%s reconnected: reconciling", venue)
                self._tg.start_soon(self.reconcile, venue)
        for paper in self._paper.values():
            paper.advance()
        snapshot = self.health()
        self.last_health = snapshot
        self.kernel.msgbus.publish(HEALTH_TOPIC, snapshot)
        if self.on_health is not None:
            try:
                self.on_health(snapshot)
            except Exception:  # noqa: BLE001 - a broken host callback must not stop the node
                _log.exception("on_health callback raised")
        return snapshot
