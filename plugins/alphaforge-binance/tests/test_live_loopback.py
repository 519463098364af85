"""Binance-specific behaviour of the live clients against the loopback venue over real sockets
(anyio: asyncio and trio). The venue-neutral scenarios run in ``test_conformance_live.py``."""

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

from alphaforge.adapters import ReportKind
from alphaforge.config import Secret
from alphaforge.execution.messages import SubmitOrder
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
from alphaforge.net import Backoff, VenueRejected

pytestmark = pytest.mark.anyio
ACCOUNT = AccountId("BINANCE-001")


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


async def test_stream_health_counts_garbage_and_invalid_frames(
    venue: BinanceLoopbackVenue, rest: BinanceRest
) -> None:
    """The client's stream statistics (what health checks read); a frame that is not even a
    websocket frame breaks the connection: reconnect, resubscribe, resync. (The venue-neutral
    scenarios -- gaps, duplicates, reordering, text garbage, drops -- are the live kit's.)"""
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    data = BinanceDataClient(config(venue), rest, provider)
    await data.connect(lambda _item: None)
    try:
        await data.subscribe_book(inst.id)
        await wait_for(lambda: venue.subscribers("btcusdt@depth@100ms") == 1)
        sync = data.book(inst.id)
        ws = data.websocket
        assert sync is not None and ws is not None

        async def synced() -> None:
            await wait_for(lambda: sync.is_valid and sync.last_sequence == venue.last_update_id)
            assert client_book(sync) == venue_book(venue)

        venue.step(10)
        await synced()
        venue.send_garbage()
        venue.step(3)
        await synced()
        assert ws.stats.protocol_errors >= 1 and ws.stats.reconnects == 0
        venue.send_garbage(invalid_frame=True)
        await wait_for(lambda: ws.stats.reconnects >= 1
                       and venue.subscribers("btcusdt@depth@100ms") == 1)  # fmt: skip
        venue.step(5)
        await synced()
        assert sync.stats.invalidations >= 1, "the reconnect must invalidate the book"
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


async def test_clock_skew_market_fill_and_filter_reject(
    venue: BinanceLoopbackVenue, rest: BinanceRest, user_stream: Any
) -> None:
    """Binance specifics around the kit's order checks: a skewed venue clock (-1021 resync),
    a market order's FULL answer carrying its fills, a LOT_SIZE filter rejection (-1013)."""
    venue.clock_skew_ms = 7_000  # the client must sync (and resync on -1021)
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    exe = BinanceExecutionClient(config(venue), rest, provider, ACCOUNT)
    await exe.connect(user_stream)
    reports = user_stream.orders
    try:
        await wait_for(lambda: venue.subscribers("user") == 1)
        answer = await exe.submit_order(order("O-2", OrderSide.BUY, "0.00100", None, inst.id))
        assert answer is not None and answer.kind is ReportKind.FILL and answer.fills
        await wait_for(lambda: any(r.kind is ReportKind.FILL for r in reports))
        fill = next(r for r in reports if r.kind is ReportKind.FILL)
        assert fill.client_order_id == ClientOrderId("O-2") and fill.fills[0].last_px.raw > 0
        assert {f.trade_id for f in fill.fills} <= {f.trade_id for f in answer.fills}
        # a quantity beyond LOT_SIZE maxQty: a definitive rejection with the venue's code
        ask = venue.book()[1][0][0]
        rest_px = f"{(ask - 50 * venue.tick) / 1e8:.2f}"
        with pytest.raises(VenueRejected, match="LOT_SIZE") as info:
            await exe.submit_order(order("O-3", OrderSide.BUY, "9001", rest_px, inst.id))
        assert info.value.code == -1013
        assert await exe.query_order(inst.id, ClientOrderId("O-3")) is None
    finally:
        await exe.disconnect()


async def test_agg_trade_stream_carries_the_same_trades(
    venue: BinanceLoopbackVenue, rest: BinanceRest
) -> None:
    provider = BinanceInstrumentProvider(rest)
    (inst,) = await provider.load_all()
    got: dict[str, list[Any]] = {"trade": [], "aggTrade": []}
    clients = {kind: BinanceDataClient(config(venue, trade_stream=kind), rest, provider)
               for kind in got}  # fmt: skip
    for kind, client in clients.items():
        await client.connect(got[kind].append)
    try:
        for client in clients.values():
            await client.subscribe_trades(inst.id)
        await wait_for(lambda: venue.subscribers("btcusdt@aggTrade") == 1
                       and venue.subscribers("btcusdt@trade") == 1)  # fmt: skip
        venue.step(60)
        await wait_for(lambda: len(got["aggTrade"]) >= 3
                       and len(got["aggTrade"]) == len(got["trade"]))  # fmt: skip
        assert [(t.trade_id, t.price, t.size, t.aggressor_side) for t in got["aggTrade"]] == [
            (t.trade_id, t.price, t.size, t.aggressor_side) for t in got["trade"]
        ]
    finally:  # task groups nest: leave in reverse order
        for client in reversed(clients.values()):
            await client.disconnect()
