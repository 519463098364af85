"""Embedding a LiveNode in a small web service (asyncio or trio; no web framework needed).

The service owns the event loop and its own tasks; the node is one ``async with`` inside it.
Market data is a real websocket feed (a loopback "DEMO" venue started here, standing in for an
exchange), execution is paper trading on the simulated exchange. Endpoints::

    GET  /health     the node's HealthSnapshot as JSON
    GET  /positions  net position per instrument
    POST /halt       the kill switch (HALTED + cancel every working order)

Run it::

    python docs/examples/embed_web_service.py            # then: curl localhost:8080/health
    python docs/examples/embed_web_service.py --trio
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any

import anyio
import anyio.abc
import attrs

from alphaforge.adapters import BookSnapshot, Capabilities, DataSink, MarketDataKind
from alphaforge.errors import NotSupported
from alphaforge.live import LiveNode, LiveNodeConfig, PaperVenueConfig
from alphaforge.model import (
    BTC,
    USDT,
    CurrencyPair,
    InstrumentId,
    Money,
    OrderSide,
    OrderType,
    Quantity,
    QuoteTick,
    Symbol,
    TimeInForce,
    Venue,
)
from alphaforge.model.data import BarType
from alphaforge.net import Backoff, ReconnectingWebSocket, Subscription, WebSocketConfig
from alphaforge.net.loopback import LoopbackWsServer, WsPeer
from alphaforge.trading import Strategy

IID = InstrumentId.from_str("BTCUSDT.DEMO")
INSTRUMENT = CurrencyPair(
    id=IID, raw_symbol=Symbol("BTCUSDT"), quote_currency=USDT, base_currency=BTC,
    price_precision=2, size_precision=3, lot_size=Quantity("0.001"),
    min_notional=Money("1", USDT), taker_fee=Decimal("0.001"), maker_fee=Decimal("0.0002"),
)  # fmt: skip


# -- the venue side: a loopback websocket quote feed (a random walk) ---------------------------


async def demo_feed(peer: WsPeer) -> None:
    """Ack the SUBSCRIBE, then stream quotes every 5 ms."""
    msg = json.loads(await peer.recv())
    await peer.send(json.dumps({"result": None, "id": msg["id"]}))
    rng, mid = random.Random(7), 6_500_000  # cents
    for i in range(10_000_000):
        mid += rng.choice((-100, 0, 100))
        await peer.send(
            json.dumps({"stream": "btcusdt@quote", "b": mid - 50, "a": mid + 50, "i": i})
        )
        await asyncio.sleep(0.005)


class DemoDataClient:
    """A minimal adapter DataClient for the feed above (quotes only)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stack: AsyncExitStack | None = None
        self._ws: ReconnectingWebSocket | None = None
        self._ids = iter(range(1, 1_000_000_000))

    @property
    def venue(self) -> Venue:
        return Venue("DEMO")

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            venue="DEMO", order_types={OrderType.MARKET, OrderType.LIMIT},
            time_in_force={TimeInForce.GTC}, market_data={MarketDataKind.QUOTES},
        )  # fmt: skip

    @property
    def connection_state(self) -> Any:
        return self._ws.state if self._ws is not None else "closed"

    async def connect(self, sink: DataSink) -> None:
        stack = AsyncExitStack()
        config = WebSocketConfig(self.url, backoff=Backoff(base=0.05, cap=1.0), ping_interval=None)
        ws = ReconnectingWebSocket(config, decoder=json.loads, router=lambda d: d.get("stream"))
        tg = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(tg.cancel_scope.cancel)
        await stack.enter_async_context(ws)
        self._stack, self._ws = stack, ws
        tg.start_soon(self._read, ws, sink)

    async def _read(self, ws: ReconnectingWebSocket, sink: DataSink) -> None:
        async for msg in ws:
            d = msg.data
            if d.get("stream") == "btcusdt@quote":
                ns = time.time_ns()
                sink(QuoteTick.from_raw(IID, d["b"], d["a"], 1000, 1000, 2, 3, ns, ns))

    async def disconnect(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        assert self._ws is not None
        ids = self._ids

        def message() -> str:
            return json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@quote"], "id": next(ids)})

        await self._ws.subscribe(Subscription("btcusdt@quote", message, silence_timeout=10.0))

    async def subscribe_trades(self, instrument_id: InstrumentId) -> None:
        raise NotSupported("trades", "DEMO", "not declared")

    async def subscribe_book(self, instrument_id: InstrumentId, depth: int = 0) -> None:
        raise NotSupported("book", "DEMO", "not declared")

    async def subscribe_bars(self, bar_type: BarType) -> None:
        raise NotSupported("bars", "DEMO", "not declared")

    async def unsubscribe(self, instrument_id: InstrumentId) -> None:
        return None

    async def request_book_snapshot(self, instrument_id: InstrumentId) -> BookSnapshot:
        raise NotSupported("book", "DEMO", "not declared")


# -- the strategy (the same class would run in a backtest) -------------------------------------


class MeanReverter(Strategy):
    """Buys 0.001 when the mid falls 3 ticks below its running mean, sells when above."""

    mean: float | None = None

    def on_start(self) -> None:
        self.subscribe_quotes(IID)

    def on_quote(self, quote: QuoteTick) -> None:
        mid = (quote.bid_raw + quote.ask_raw) / 2
        self.mean = mid if self.mean is None else 0.95 * self.mean + 0.05 * mid
        net = self.portfolio.net_position(IID)
        if mid < self.mean - 300 and net <= 0:
            self.submit_order(self.order_factory.market(IID, OrderSide.BUY, Quantity("0.001")))
        elif mid > self.mean + 300 and net > 0:
            self.submit_order(self.order_factory.market(IID, OrderSide.SELL, Quantity("0.001")))


# -- the web service ------------------------------------------------------------------------------


def _response(status: str, body: object) -> bytes:
    payload = json.dumps(body, default=str).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    return head.encode() + payload


async def handle(node: LiveNode, stream: anyio.abc.ByteStream) -> None:
    """One HTTP/1.1 request per connection."""
    async with stream:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = await stream.receive()
            if not chunk:
                return
            request += chunk
        method, target = request.split(b" ", 2)[:2]
        if method == b"GET" and target == b"/health":
            health = node.health()
            reply = _response("200 OK", {**attrs.asdict(health), "healthy": health.healthy})
        elif method == b"GET" and target == b"/positions":
            reply = _response("200 OK", {str(IID): str(node.portfolio.net_position(IID))})
        elif method == b"POST" and target == b"/halt":
            node.halt(cancel_orders=True)
            reply = _response("200 OK", {"trading_state": node.risk.trading_state.value})
        else:
            reply = _response("404 Not Found", {"error": "not found"})
        await stream.send(reply)


async def serve(
    port: int = 8080,
    *,
    task_status: anyio.abc.TaskStatus[tuple[int, LiveNode]] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the service until cancelled; ``task_status.started((port, node))`` once it listens."""
    with LoopbackWsServer(demo_feed) as feed:
        node = LiveNode(LiveNodeConfig(trader_id="WEB-001", health_interval_s=1.0))
        node.add_paper_venue(PaperVenueConfig(name="DEMO", starting_balances=("10000 USDT",)))
        node.add_instrument(INSTRUMENT)
        node.add_data_client(DemoDataClient(feed.url))
        node.add_strategy(MeanReverter())
        async with (
            node,
            await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port) as listener,
        ):
            bound = listener.extra(anyio.abc.SocketAttribute.local_port)
            task_status.started((bound, node))

            async def on_connection(stream: anyio.abc.ByteStream) -> None:
                await handle(node, stream)

            await listener.serve(on_connection)


if __name__ == "__main__":
    anyio.run(serve, backend="trio" if "--trio" in sys.argv else "asyncio")
