"""The unknown-outcome rule and reconciliation, against a small in-test venue that implements
the async adapter ``ExecutionClient`` protocol (a real implementation of the seam), under
asyncio and trio."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from decimal import Decimal

import anyio
import pytest

from alphaforge.adapters import (
    Capabilities,
    ExecutionClient,
    FillReport,
    OrderReport,
    ReportKind,
    ReportSink,
)
from alphaforge.adapters.reports import AccountReport, PositionReport
from alphaforge.errors import NotSupported
from alphaforge.execution import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from alphaforge.live import LiveNode, LiveNodeConfig, ReconciliationConfig
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
    OrderSide,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    Symbol,
    TimeInForce,
    TradeId,
    Venue,
    VenueOrderId,
)
from alphaforge.net import OutcomeUnknown, VenueRejected
from alphaforge.portfolio import AccountBalance, AccountType
from alphaforge.risk import TradingState
from alphaforge.trading import Strategy

IID = InstrumentId.from_str("BTCUSDT.VEN")
ACCOUNT = AccountId("VEN-001")
INSTRUMENT = CurrencyPair(
    id=IID, raw_symbol=Symbol("BTCUSDT"), quote_currency=USDT, base_currency=BTC,
    price_precision=2, size_precision=3, lot_size=Quantity("0.001"),
    taker_fee=Decimal("0.001"), maker_fee=Decimal("0.0002"),
)  # fmt: skip
CAPS = Capabilities(
    venue="VEN", order_types={OrderType.MARKET, OrderType.LIMIT},
    time_in_force={TimeInForce.GTC}, user_stream=True,
)  # fmt: skip


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class _VenueOrder:
    def __init__(self, order: Order | None, voi: VenueOrderId, qty: Quantity, px: Price) -> None:
        self.coid = order.client_order_id if order is not None else None
        self.side = order.side if order is not None else OrderSide.SELL
        self.qty, self.px, self.voi = qty, px, voi
        self.filled = Quantity("0.000")
        self.status = OrderStatus.ACCEPTED


class InTestVenue:
    """A venue that keeps its own order book of record.

    ``submit_mode``: ``"ok"`` acks synchronously; ``"unknown"`` takes the order but the answer
    is lost (``OutcomeUnknown``); ``"lost"`` raises ``OutcomeUnknown`` and never saw the
    order; ``"reject"`` rejects definitively. ``query_order`` answers ``None`` ("not known")
    until ``reveal`` is set -- a venue whose order store lags its matching engine.
    """

    def __init__(self, submit_mode: str = "ok", *, reveal: bool = True) -> None:
        self.submit_mode = submit_mode
        self.reveal = reveal
        self.sink: ReportSink | None = None
        self.orders: dict[VenueOrderId, _VenueOrder] = {}
        self.fill_log: list[OrderReport] = []
        self.queries = self.submits = 0
        self.cancels: list[CancelOrder] = []
        self.connection_id = 1
        self.usdt = Money("1000.00", USDT)
        self.positions: dict[InstrumentId, Decimal] = {}
        self.account_type = AccountType.MARGIN
        self.account_queries = 0
        self._ids = itertools.count(1)
        self._ts = itertools.count(1_000)

    @property
    def venue(self) -> Venue:
        return Venue("VEN")

    @property
    def account_id(self) -> AccountId:
        return ACCOUNT

    @property
    def capabilities(self) -> Capabilities:
        return CAPS

    async def connect(self, sink: ReportSink) -> None:
        self.sink = sink

    async def disconnect(self) -> None:
        self.sink = None

    def _report(
        self, vo: _VenueOrder, kind: ReportKind, fills: Sequence[FillReport] = ()
    ) -> OrderReport:
        return OrderReport(
            account_id=ACCOUNT, instrument_id=IID, client_order_id=vo.coid,
            venue_order_id=vo.voi, kind=kind, status=vo.status, side=vo.side,
            order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC, quantity=vo.qty,
            filled_qty=vo.filled, price=vo.px, avg_px=vo.px.as_decimal() if vo.filled else None,
            fills=tuple(fills), ts_event=next(self._ts),
        )  # fmt: skip

    def add_external(self) -> VenueOrderId:
        voi = VenueOrderId(f"X-{next(self._ids)}")
        self.orders[voi] = _VenueOrder(None, voi, Quantity("1.000"), Price("99.00"))
        return voi

    def _find(self, coid: ClientOrderId) -> _VenueOrder | None:
        return next((vo for vo in self.orders.values() if vo.coid == coid), None)

    def fill(self, coid: ClientOrderId, qty: str) -> OrderReport:
        """Execute ``qty`` of an order; returns the FILL report (not pushed)."""
        vo = self._find(coid)
        assert vo is not None
        vo.filled = vo.filled + Quantity(qty)
        vo.status = OrderStatus.FILLED if vo.filled == vo.qty else OrderStatus.PARTIALLY_FILLED
        fill = FillReport(
            trade_id=TradeId(f"T-{next(self._ids)}"), last_qty=Quantity(qty), last_px=vo.px,
            commission=Money("0.01", USDT), liquidity_side=LiquiditySide.MAKER,
            ts_event=next(self._ts),
        )  # fmt: skip
        report = self._report(vo, ReportKind.FILL, (fill,))
        self.fill_log.append(report)
        return report

    def push(self, report: OrderReport) -> None:
        assert self.sink is not None
        self.sink(report)

    async def submit_order(self, command: SubmitOrder) -> OrderReport | None:
        self.submits += 1
        order = command.order
        if self.submit_mode == "reject":
            raise VenueRejected("Account has insufficient balance", venue="VEN", code=-2010)
        if self.submit_mode == "lost":
            raise OutcomeUnknown("read timeout", venue="VEN", method="POST", path="/order")
        assert order.price is not None
        voi = VenueOrderId(f"V-{next(self._ids)}")
        vo = self.orders[voi] = _VenueOrder(order, voi, order.quantity, order.price)
        if self.submit_mode == "unknown":
            raise OutcomeUnknown("read timeout", venue="VEN", method="POST", path="/order")
        return self._report(vo, ReportKind.ACCEPTED)

    async def modify_order(self, command: ModifyOrder) -> OrderReport | None:
        raise NotSupported("amend", "VEN", "not declared")

    async def cancel_order(self, command: CancelOrder) -> OrderReport | None:
        self.cancels.append(command)
        vo = self.orders.get(command.venue_order_id) if command.venue_order_id else None
        vo = vo or self._find(command.client_order_id)
        if vo is None:
            raise VenueRejected("Unknown order sent", venue="VEN", code=-2011)
        vo.status = OrderStatus.CANCELED
        return self._report(vo, ReportKind.CANCELED)

    async def cancel_all_orders(self, command: CancelAllOrders) -> Sequence[OrderReport]:
        out = []
        for vo in self.orders.values():
            if vo.coid is not None and vo.status in (
                OrderStatus.ACCEPTED,
                OrderStatus.PARTIALLY_FILLED,
            ):
                vo.status = OrderStatus.CANCELED
                out.append(self._report(vo, ReportKind.CANCELED))
        return out

    async def query_order(
        self, instrument_id: InstrumentId, client_order_id: ClientOrderId
    ) -> OrderReport | None:
        self.queries += 1
        vo = self._find(client_order_id)
        if vo is None or not self.reveal:
            return None
        return self._report(vo, ReportKind.STATUS)

    async def open_orders(self, instrument_id: InstrumentId | None = None) -> Sequence[OrderReport]:
        return [
            self._report(vo, ReportKind.STATUS)
            for vo in self.orders.values()
            if vo.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
        ]

    async def fills_since(self, instrument_id: InstrumentId, ts_ns: int) -> Sequence[OrderReport]:
        return [r for r in self.fill_log if r.ts_event > ts_ns]

    async def account_state(self) -> AccountReport:
        self.account_queries += 1
        zero = Money("0", USDT)
        positions = tuple(
            PositionReport(instrument_id=iid, signed_qty=qty, entry_px=Decimal("100"))
            for iid, qty in self.positions.items()
            if qty
        )
        return AccountReport(
            account_id=ACCOUNT, account_type=self.account_type,
            balances=(AccountBalance(self.usdt, zero, self.usdt),), positions=positions,
        )  # fmt: skip


def test_in_test_venue_implements_the_protocol() -> None:
    assert isinstance(InTestVenue(), ExecutionClient)


class Trader(Strategy):
    def limit_buy(self, qty: str = "0.010", px: str = "100.00") -> Order:
        order = self.order_factory.limit(IID, OrderSide.BUY, Quantity(qty), Price(px))
        self.submit_order(order)
        return order


FAST = ReconciliationConfig(settle_delay_s=0.005, settle_max_delay_s=0.02, not_found_limit=1000)


def make_node(venue: InTestVenue, config: ReconciliationConfig = FAST) -> tuple[LiveNode, Trader]:
    node = LiveNode(LiveNodeConfig(reconciliation=config, health_interval_s=60.0))
    node.add_instrument(INSTRUMENT)
    node.add_execution_client(venue)
    strategy = Trader()
    node.add_strategy(strategy)
    return node, strategy


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.002)


@pytest.mark.anyio
async def test_unknown_submit_stays_in_flight_until_reconciled(anyio_backend: str) -> None:
    venue = InTestVenue("unknown", reveal=False)
    node, strategy = make_node(venue)
    async with node:
        order = strategy.limit_buy()
        bridge = node.execution_client("VEN")
        assert bridge is not None
        await wait_for(lambda: venue.queries >= 3)
        # Timed out and queried three times without an answer: still in flight, never failed.
        assert order.status is OrderStatus.SUBMITTED
        assert order.client_order_id in bridge.unknown
        assert node.health().inflight_orders == 1
        venue.reveal = True
        await wait_for(lambda: order.status is OrderStatus.ACCEPTED)
        assert not bridge.unknown
        assert bridge.stats.settled_unknown == 1
        assert order.venue_order_id is not None


@pytest.mark.anyio
async def test_fill_during_unknown_outcome_is_applied_once(anyio_backend: str) -> None:
    venue = InTestVenue("unknown", reveal=False)
    node, strategy = make_node(venue)
    async with node:
        order = strategy.limit_buy()
        await wait_for(lambda: venue.submits == 1)
        fill = venue.fill(order.client_order_id, "0.004")
        venue.push(fill)  # the user stream delivers it ...
        venue.push(fill)  # ... twice (a replay after a reconnect)
        await node.reconcile()  # ... and fills_since reports it again
        assert order.filled_qty == Quantity("0.004")
        assert order.status is OrderStatus.PARTIALLY_FILLED
        assert node.portfolio.net_position(IID) == Decimal("0.004")
        bridge = node.execution_client("VEN")
        assert bridge is not None and bridge.stats.duplicate_fills >= 2
        assert not bridge.unknown  # a fill settles an unknown submit


@pytest.mark.anyio
async def test_stale_reports_are_skipped_in_order(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    node, strategy = make_node(venue)
    async with node:
        order = strategy.limit_buy()
        await wait_for(lambda: order.status is OrderStatus.ACCEPTED)
        vo = venue._find(order.client_order_id)
        assert vo is not None
        stale_ack = venue._report(vo, ReportKind.ACCEPTED)
        venue.push(venue.fill(order.client_order_id, "0.010"))
        venue.push(stale_ack)  # arrives after the fill: ignored, not an error
        assert order.status is OrderStatus.FILLED
        assert node.exec_engine.error_count == 0


@pytest.mark.anyio
async def test_reconnect_triggers_reconciliation(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    node, strategy = make_node(venue)
    async with node:
        order = strategy.limit_buy()
        await wait_for(lambda: order.status is OrderStatus.ACCEPTED)
        bridge = node.execution_client("VEN")
        assert bridge is not None and bridge.stats.passes == 1  # the start pass
        venue.fill(order.client_order_id, "0.010")  # happens while "disconnected": not pushed
        venue.connection_id += 1
        node.check()
        await wait_for(lambda: bridge.stats.passes == 2)
        assert order.status is OrderStatus.FILLED
        assert node.portfolio.net_position(IID) == Decimal("0.010")


@pytest.mark.anyio
async def test_definitive_rejection_rejects(anyio_backend: str) -> None:
    venue = InTestVenue("reject")
    node, strategy = make_node(venue)
    async with node:
        order = strategy.limit_buy()
        await wait_for(lambda: order.status is OrderStatus.REJECTED)
        assert "-2010" in order.last_event.reason  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_order_the_venue_never_saw_is_settled_by_reconciliation(anyio_backend: str) -> None:
    venue = InTestVenue("lost")
    config = ReconciliationConfig(settle_delay_s=0.005, settle_max_delay_s=0.01, not_found_limit=3)
    node, strategy = make_node(venue, config)
    async with node:
        order = strategy.limit_buy()
        await wait_for(lambda: venue.queries >= 1)
        await wait_for(lambda: order.is_closed)
        assert venue.queries >= 3
        assert order.status is OrderStatus.REJECTED
        assert order.last_event.reason.startswith("reconciliation:")  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_external_orders_are_left_alone_unless_configured(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    voi = venue.add_external()
    node, _ = make_node(venue)
    async with node:
        bridge = node.execution_client("VEN")
        assert bridge is not None and voi in bridge.external_orders
        assert node.kernel.cache.orders() == []
        assert node.health().external_orders == 1
    assert venue.cancels == []

    venue = InTestVenue("ok")
    voi = venue.add_external()
    node, _ = make_node(venue, ReconciliationConfig(external_orders="cancel"))
    async with node:
        await wait_for(lambda: bool(venue.cancels))
    assert venue.cancels[0].venue_order_id == voi
    assert venue.orders[voi].status is OrderStatus.CANCELED


@pytest.mark.anyio
async def test_kill_switch_and_shutdown_cancel_at_the_venue(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    node, strategy = make_node(venue)
    async with node:
        first = strategy.limit_buy()
        await wait_for(lambda: first.status is OrderStatus.ACCEPTED)
        node.halt(cancel_orders=True)
        assert node.risk.trading_state is TradingState.HALTED
        await wait_for(lambda: first.status is OrderStatus.CANCELED)
        denied = strategy.limit_buy()
        assert denied.status is OrderStatus.DENIED
        node.resume()
        second = strategy.limit_buy()
        await wait_for(lambda: second.status is OrderStatus.ACCEPTED)
    assert second.status is OrderStatus.CANCELED  # cancel_on_stop
    assert venue.sink is None  # disconnected


@pytest.mark.anyio
async def test_live_gauges_feed_kernel_metrics(anyio_backend: str) -> None:
    from alphaforge.metrics import MetricsConfig
    from alphaforge.net.clock import ServerClock
    from alphaforge.net.ratelimit import RateLimiterRegistry, RateLimitRule

    venue = InTestVenue("ok")
    clock = ServerClock(wall_ms=lambda: 1_000.0)
    clock.add_sample(sent_ms=995.0, server_ms=1_020.0, received_ms=1_005.0)
    registry = RateLimiterRegistry(clock=lambda: 0.0)
    limiter = registry.limiter("VEN", {"ip": [RateLimitRule("WEIGHT", 100, 60.0)]})
    assert limiter.try_acquire({"WEIGHT": 40})
    venue.server_clock, venue.rate_limiter = clock, limiter  # type: ignore[attr-defined]
    node = LiveNode(
        LiveNodeConfig(
            reconciliation=FAST, metrics=MetricsConfig(enabled=True, export_interval_ms=0)
        )
    )
    node.add_instrument(INSTRUMENT)
    node.add_execution_client(venue)
    strategy = Trader()
    node.add_strategy(strategy)
    async with node:
        order = strategy.limit_buy()
        await wait_for(lambda: order.status is OrderStatus.ACCEPTED)
        metrics = node.kernel.metrics
        metrics.snapshot()
        assert metrics.open_orders.labels("VEN").value == 1
        assert metrics.clock_offset.labels("VEN").value == 20_000_000  # 20 ms in ns
        assert metrics.rate_limit_headroom.labels("VEN", "WEIGHT").value == pytest.approx(0.6)
        health = node.health()
        (exec_health,) = [c for c in health.clients if c.name == "exec:VEN"]
        assert exec_health.clock_offset_ms == pytest.approx(20.0)


@pytest.mark.anyio
async def test_account_balances_and_positions_follow_the_venue(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    other = InstrumentId.from_str("ETHUSDT.VEN")
    venue.positions[other] = Decimal("-2.5")  # opened while the node was down
    node, strategy = make_node(venue)
    async with node:
        bridge = node.execution_client("VEN")
        assert bridge is not None and venue.account_queries == 1
        account = node.portfolio.account(ACCOUNT)
        assert account is not None and account.account_type is AccountType.MARGIN
        assert account.balance_total(USDT) == Money("1000.00", USDT)
        assert bridge.external_positions[other].signed_qty == Decimal("-2.5")
        assert not bridge.position_mismatches

        order = strategy.limit_buy()
        await wait_for(lambda: order.status is OrderStatus.ACCEPTED)
        venue.push(venue.fill(order.client_order_id, "0.010"))
        venue.positions[IID] = Decimal("0.010")
        venue.usdt = Money("998.99", USDT)
        await node.reconcile()
        await node.reconcile()  # idempotent: same figures, same state
        assert account.balance_total(USDT) == Money("998.99", USDT)
        assert IID not in bridge.external_positions
        assert not bridge.position_mismatches
        assert bridge.stats.account_snapshots == 3

        venue.positions[IID] = Decimal("0.020")  # the venue knows more than the node
        del venue.positions[other]  # the external position was closed elsewhere
        await node.reconcile()
        assert bridge.position_mismatches == {IID: (Decimal("0.010"), Decimal("0.020"))}
        assert bridge.external_positions == {}
        assert node.portfolio.net_position(IID) == Decimal("0.010")  # fills, not figures


@pytest.mark.anyio
async def test_cash_account_reconciles_balances_only(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    venue.account_type = AccountType.CASH
    venue.positions[IID] = Decimal("1")  # ignored: a spot venue has no positions
    node, _ = make_node(venue)
    async with node:
        bridge = node.execution_client("VEN")
        assert bridge is not None
        account = node.portfolio.account(ACCOUNT)
        assert account is not None and account.account_type is AccountType.CASH
        assert bridge.external_positions == {} and bridge.position_mismatches == {}


@pytest.mark.anyio
async def test_streamed_balance_changes_apply_between_passes(anyio_backend: str) -> None:
    venue = InTestVenue("ok")
    node, _ = make_node(venue)
    async with node:
        account = node.portfolio.account(ACCOUNT)
        assert account is not None and account.balance_total(USDT) == Money("1000.00", USDT)
        assert venue.sink is not None
        queries = venue.account_queries
        zero, now = Money("0", USDT), Money("990.50", USDT)
        # the user stream reports the changed asset only: applied at once, no query needed
        venue.sink(AccountReport(account_id=ACCOUNT, account_type=AccountType.MARGIN,
                                 balances=(AccountBalance(now, zero, now),)))  # fmt: skip
        assert account.balance_total(USDT) == now
        assert venue.account_queries == queries
        # another account's report is not ours: ignored
        other = AccountId("OTHER-001")
        venue.sink(AccountReport(account_id=other, account_type=AccountType.MARGIN,
                                 balances=(AccountBalance(zero, zero, zero),)))  # fmt: skip
        assert account.balance_total(USDT) == now


def test_account_report_refuses_bad_values() -> None:
    from alphaforge.errors import InvalidValue

    usdt = Money("1", USDT)
    balance = AccountBalance(usdt, Money("0", USDT), usdt)
    with pytest.raises(InvalidValue, match="balances"):
        AccountReport(account_id=ACCOUNT, account_type=AccountType.CASH,
                      balances=(balance, balance))  # fmt: skip
    with pytest.raises(InvalidValue, match="signed_qty"):
        PositionReport(instrument_id=IID, signed_qty=Decimal(0))
    with pytest.raises(InvalidValue, match="entry_px"):
        PositionReport(instrument_id=IID, signed_qty=Decimal(1), entry_px=Decimal("-1"))
    position = PositionReport(instrument_id=IID, signed_qty=Decimal(1))
    with pytest.raises(InvalidValue, match="positions"):
        AccountReport(account_id=ACCOUNT, account_type=AccountType.MARGIN,
                      positions=(position, position))  # fmt: skip
    report = AccountReport(account_id=ACCOUNT, account_type=AccountType.MARGIN,
                           balances=(balance,), positions=(position,), ts_event=5)  # fmt: skip
    assert report.position(IID) == position
    assert report.to_state(ts_init=9).balances == (balance,)
