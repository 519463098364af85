"""The live clients against the loopback venue over real sockets (anyio: asyncio and trio)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
from alphaforge_binance.common import BinanceMarket
from alphaforge_binance.live import (
    BinanceConfig,
    BinanceDataClient,
    BinanceEndpoints,
    BinanceExecutionClient,
    BinanceInstrumentProvider,
    BinanceRest,
)
from alphaforge_binance.loopback import BinanceLoopbackVenue

from alphaforge.adapters import OrderReport, ReportKind
from alphaforge.config import Secret
from alphaforge.execution.messages import CancelOrder, SubmitOrder
from alphaforge.model import (
    AccountId,
    ClientOrderId,
    Order,
    OrderInitialized,
    OrderSide,
    OrderType,
    Price,
    Quantity,
    StrategyId,
    TraderId,
)
from alphaforge.net import Backoff, OutcomeUnknown, VenueRejected

pytestmark = pytest.mark.anyio
ACCOUNT = AccountId("BINANCE-001")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def venue() -> Iterator[BinanceLoopbackVenue]:
    with BinanceLoopbackVenue(seed=11) as v:
        yield v


def config(venue: BinanceLoopbackVenue, **kw: Any) -> BinanceConfig:
    return BinanceConfig(
        market=BinanceMarket.SPOT, endpoints=BinanceEndpoints(venue.rest_url, venue.ws_url),
        api_key=Secret("loopback-key"), api_secret=Secret("loopback-secret"),
        ws_backoff=Backoff(base=0.05, cap=0.2), ws_ping_interval=None, **kw,
    )  # fmt: skip


@pytest.fixture
async def rest(venue: BinanceLoopbackVenue) -> AsyncIterator[BinanceRest]:
    r = BinanceRest(config(venue, request_timeout=0.5))
    yield r
    await r.aclose()


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.01)


def venue_book(venue: BinanceLoopbackVenue) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return venue.book()


def client_book(sync: Any) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    bids = sync.book.levels(OrderSide.BUY)
    asks = sync.book.levels(OrderSide.SELL)
    return (list(zip(bids[0].tolist(), bids[1].tolist(), strict=True)),
            list(zip(asks[0].tolist(), asks[1].tolist(), strict=True)))  # fmt: skip


async def test_book_sync_gap_and_reconnect(venue: BinanceLoopbackVenue, rest: BinanceRest) -> None:
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    data = BinanceDataClient(config(venue), rest, provider)
    trades: list[Any] = []
    await data.connect(trades.append)
    try:
        await data.subscribe_book(inst.id)
        await data.subscribe_trades(inst.id)
        await wait_for(lambda: venue.subscribers("btcusdt@depth@100ms") == 1
                       and venue.subscribers("btcusdt@trade") == 1)  # fmt: skip
        sync = data.book(inst.id)
        assert sync is not None

        async def synced() -> None:
            await wait_for(lambda: sync.is_valid and sync.last_sequence == venue.last_update_id)
            assert client_book(sync) == venue_book(venue)

        venue.step(30)
        await synced()
        # a sequence gap: invalid -> snapshot -> identical book
        venue.faults.skip_depth = 1
        venue.step(5)
        await synced()
        assert sync.stats.invalidations >= 1
        # duplicates and reordering
        venue.faults.duplicate_next = True
        venue.step(3)
        venue.faults.reorder_next = True
        venue.step(3)
        await synced()
        # garbage is skipped, the stream continues
        venue.send_garbage()
        venue.step(3)
        await synced()
        # dropped connection: reconnect, resubscribe, resync
        ws = data.websocket
        assert ws is not None
        before = ws.stats.reconnects
        venue.drop_connections()
        await wait_for(lambda: ws.stats.reconnects > before
                       and venue.subscribers("btcusdt@depth@100ms") == 1)  # fmt: skip
        venue.step(10)
        await synced()
        assert trades, "the scripted taker traded"
        assert ws.stats.protocol_errors >= 1
    finally:
        await data.disconnect()


def order(coid: str, side: OrderSide, qty: str, price: str | None, inst_id: Any) -> SubmitOrder:
    init = OrderInitialized(
        client_order_id=ClientOrderId(coid), strategy_id=StrategyId("S-1"),
        instrument_id=inst_id, ts_event=0, ts_init=0, side=side,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        quantity=Quantity(qty), price=Price(price) if price else None,
    )  # fmt: skip
    return SubmitOrder(trader_id=TraderId("T-1"), strategy_id=StrategyId("S-1"),
                       command_id="c", ts_init=0, order=Order.from_init(init))  # fmt: skip


async def test_orders_round_trip(venue: BinanceLoopbackVenue, rest: BinanceRest) -> None:
    venue.clock_skew_ms = 7_000  # the client must sync (and resync on -1021)
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    exe = BinanceExecutionClient(config(venue), rest, provider, ACCOUNT)
    reports: list[OrderReport] = []
    await exe.connect(reports.append)
    try:
        await wait_for(lambda: venue.subscribers("user") == 1)
        ask = venue.book()[1][0][0]
        # resting buy below the market: ack via REST and user stream
        rest_px = f"{(ask - 50 * venue.tick) / 1e8:.2f}"
        ack = await exe.submit_order(order("O-1", OrderSide.BUY, "0.00100", rest_px, inst.id))
        assert ack is not None and ack.kind is ReportKind.ACCEPTED
        await wait_for(lambda: any(r.kind is ReportKind.ACCEPTED for r in reports))
        assert [r.client_order_id for r in await exe.open_orders(inst.id)] == [ClientOrderId("O-1")]
        # cancel
        canceled = await exe.cancel_order(CancelOrder(
            trader_id=TraderId("T-1"), strategy_id=StrategyId("S-1"), command_id="x",
            ts_init=0, instrument_id=inst.id, client_order_id=ClientOrderId("O-1")))  # fmt: skip
        assert canceled is not None and canceled.kind is ReportKind.CANCELED
        await wait_for(lambda: any(r.kind is ReportKind.CANCELED for r in reports))
        # marketable buy: fills on the user stream
        await exe.submit_order(order("O-2", OrderSide.BUY, "0.00100", None, inst.id))
        await wait_for(lambda: any(r.kind is ReportKind.FILL for r in reports))
        fill = next(r for r in reports if r.kind is ReportKind.FILL)
        assert fill.client_order_id == ClientOrderId("O-2") and fill.fills[0].last_px.raw > 0
        # reject: a quantity beyond LOT_SIZE maxQty is a definitive rejection, nothing streamed
        n = len(reports)
        with pytest.raises(VenueRejected, match="LOT_SIZE") as info:
            await exe.submit_order(order("O-3", OrderSide.BUY, "9001", rest_px, inst.id))
        assert info.value.code == -1013
        assert await exe.query_order(inst.id, ClientOrderId("O-3")) is None
        await anyio.sleep(0.1)
        assert len(reports) == n
    finally:
        await exe.disconnect()


async def test_timeout_after_send_is_unknown_then_found(
    venue: BinanceLoopbackVenue, rest: BinanceRest
) -> None:
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    exe = BinanceExecutionClient(config(venue), rest, provider, ACCOUNT)
    reports: list[OrderReport] = []
    await exe.connect(reports.append)
    try:
        await wait_for(lambda: venue.subscribers("user") == 1)
        bid = venue.book()[0][0][0]
        px = f"{(bid - 40 * venue.tick) / 1e8:.2f}"
        venue.faults.delay_next_order = 2.0  # client read timeout is 0.5 s
        with pytest.raises(OutcomeUnknown):
            await exe.submit_order(order("O-9", OrderSide.BUY, "0.00100", px, inst.id))
        assert not any(r.kind is ReportKind.REJECTED for r in reports)
        found = await exe.query_order(inst.id, ClientOrderId("O-9"))
        assert found is not None and found.kind is ReportKind.STATUS
        await wait_for(lambda: any(r.client_order_id == ClientOrderId("O-9") for r in reports))
    finally:
        await exe.disconnect()


async def test_429_backoff(venue: BinanceLoopbackVenue, rest: BinanceRest) -> None:
    venue.faults.rate_limit_next = 1
    start = anyio.current_time()
    body = await rest.get_json("/depth", params={"symbol": "BTCUSDT", "limit": 5}, weight=5)
    assert body["lastUpdateId"] == venue.last_update_id
    assert anyio.current_time() - start >= 0.9  # Retry-After: 1 honoured
    statuses = [r.path for r in venue.http.requests]
    assert statuses.count("/api/v3/depth") == 2
