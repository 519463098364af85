"""The same Strategy API on live Binance data: a LiveNode with the Binance data client on the
loopback venue (real sockets; asyncio and trio) hands strategies the synced order book, trades,
quotes and venue klines -- the book identical to the venue's across a sequence gap, each bar the
aggregate of the trades in its window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from alphaforge_binance.common import BinanceMarket
from alphaforge_binance.live import (
    BinanceConfig,
    BinanceDataClient,
    BinanceEndpoints,
    BinanceInstrumentProvider,
    BinanceRest,
)
from alphaforge_binance.loopback import BinanceLoopbackVenue

from alphaforge.live import LiveNode, LiveNodeConfig
from alphaforge.model import (
    Bar,
    BarType,
    BookAction,
    InstrumentId,
    OrderBookDeltas,
    OrderSide,
    QuoteTick,
    TradeTick,
)
from alphaforge.net import Backoff
from alphaforge.trading import Strategy

pytestmark = pytest.mark.anyio
IID = InstrumentId.from_str("BTCUSDT.BINANCE")
SECOND_BARS = BarType.from_str("BTCUSDT.BINANCE-1-SECOND-LAST-EXTERNAL")


@pytest.fixture
def venue() -> Iterator[BinanceLoopbackVenue]:
    with BinanceLoopbackVenue(seed=23) as v:
        yield v


class BookWatcher(Strategy):
    def on_start(self) -> None:
        self.books: list[Any] = []
        self.trades: list[TradeTick] = []
        self.quotes: list[QuoteTick] = []
        self.bars: list[Bar] = []
        self.deltas: list[OrderBookDeltas] = []
        self.subscribe_book(IID)
        self.subscribe_book_deltas(IID)
        self.subscribe_bars(SECOND_BARS)
        self.subscribe_trades(IID)
        self.subscribe_quotes(IID)

    def on_book(self, book: Any) -> None:
        self.books.append(book)

    def on_trade(self, trade: TradeTick) -> None:
        self.trades.append(trade)

    def on_quote(self, quote: QuoteTick) -> None:
        self.quotes.append(quote)

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)

    def on_book_deltas(self, deltas: OrderBookDeltas) -> None:
        self.deltas.append(deltas)


def levels(book: Any, side: OrderSide) -> list[tuple[int, int]]:
    prices, sizes = book.levels(side)
    return list(zip(prices.tolist(), sizes.tolist(), strict=True))


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.01)


async def test_strategy_sees_the_venue_book(venue: BinanceLoopbackVenue) -> None:
    config = BinanceConfig(
        market=BinanceMarket.SPOT, endpoints=BinanceEndpoints(venue.rest_url, venue.ws_url),
        ws_backoff=Backoff(base=0.05, cap=0.2), ws_ping_interval=None,
    )  # fmt: skip
    rest = BinanceRest(config)
    provider = BinanceInstrumentProvider(rest)
    node = LiveNode(LiveNodeConfig(health_interval_s=0.2))
    node.add_instrument_provider(provider)
    client = BinanceDataClient(config, rest, provider)
    node.add_data_client(client)
    strategy = BookWatcher()
    node.add_strategy(strategy)
    try:
        async with node:
            await wait_for(lambda: venue.subscribers("btcusdt@depth@100ms") == 1
                           and venue.subscribers("btcusdt@trade") == 1)  # fmt: skip

            def node_book_matches() -> bool:
                sync = client.book(IID)
                if not strategy.books or sync is None or not sync.is_valid:
                    return False
                if sync.last_sequence != venue.last_update_id:
                    return False
                book = strategy.books[-1]
                bids, asks = venue.book()
                # The venue's levels are at 8 decimals, as the node's book (the deltas' own).
                return levels(book, OrderSide.BUY) == bids and levels(book, OrderSide.SELL) == asks

            venue.step(40)
            await wait_for(node_book_matches)
            venue.faults.skip_depth = 1  # a gap: invalid, resynced from a snapshot (CLEAR + ADDs)
            venue.step(20)
            await wait_for(node_book_matches)
            sync = client.book(IID)
            assert sync is not None and sync.stats.invalidations >= 1
            # deltas subscribers get the same changes as objects, the resync's CLEAR included
            assert strategy.deltas[-1].sequence == venue.last_update_id
            assert any(d.deltas[0].action is BookAction.CLEAR for d in strategy.deltas[1:])
            assert strategy.trades and strategy.quotes
            # health: the data client's connection, clock, limiter and books
            (data,) = [c for c in node.health().clients if c.name == "data:BINANCE"]
            assert data.connection == "connected" and data.invalid_books == ()
            assert data.clock_offset_ms is not None and data.rate_limit_headroom is not None
            assert node.health().healthy
            sync.invalidate("a test")  # e.g. a stream hiccup: the node reports it
            report = node.health()
            assert not report.healthy
            assert [c.invalid_books for c in report.clients] == [("BTCUSDT.BINANCE",)]
            venue.step(5)  # the next update asks for a snapshot: valid again
            await wait_for(node_book_matches)
            assert node.health().healthy
            # 1-second klines: trade for a while, then one more move closes the last window.
            with anyio.fail_after(20):
                while len(strategy.bars) < 2:
                    venue.step(5)
                    await anyio.sleep(0.05)
            check_bars(strategy.bars, strategy.trades)
    finally:
        await rest.aclose()


def check_bars(bars: list[Bar], trades: list[TradeTick]) -> None:
    """Each closed kline is the OHLCV of the trades in its one-second window."""
    for bar in bars:
        assert bar.bar_type == SECOND_BARS
        start = bar.ts_event - 1_000_000_000
        window = [t for t in trades if start <= t.ts_event < bar.ts_event]
        assert window, bar
        prices = [t.price for t in window]
        assert (bar.open, bar.close) == (prices[0], prices[-1]), bar
        assert (bar.high, bar.low) == (max(prices), min(prices)), bar
        assert bar.volume.as_decimal() == sum(t.size.as_decimal() for t in window), bar
