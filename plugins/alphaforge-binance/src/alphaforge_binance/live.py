"""The network half of the Binance Spot adapter, on ``alphaforge.net``.

- :class:`BinanceRest` -- the venue's one :class:`~alphaforge.net.VenueHttpClient` with the
  server clock, the weight-based limiter (``X-MBX-USED-WEIGHT-1M``) and HMAC signing.
- :class:`BinanceInstrumentProvider` -- instruments from ``exchangeInfo``.
- :class:`BinanceDataClient` -- trades, quotes and diff-depth books over a
  :class:`~alphaforge.net.ReconnectingWebSocket` (combined stream); a book is synced by
  :class:`~alphaforge_binance.book.BinanceBookSync`, a REST snapshot is fetched whenever it
  ``needs_snapshot``, and every reconnect invalidates it (resync).
- :class:`BinanceExecutionClient` -- signed order entry and queries; the user data stream
  (listenKey) feeds order reports. An order POST that times out raises
  :class:`~alphaforge.net.OutcomeUnknown`: nothing is reported, the order stays in flight until
  :meth:`~BinanceExecutionClient.query_order` settles it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import anyio
import anyio.abc
import attrs

from alphaforge.adapters import Capabilities, OrderReport
from alphaforge.adapters.clients import DataSink, ReportSink
from alphaforge.config import Secret
from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.execution.messages import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from alphaforge.model import (
    AccountId,
    BarType,
    ClientOrderId,
    Instrument,
    InstrumentId,
    OrderSide,
    Venue,
)
from alphaforge.net import (
    ErrorClassifier,
    HttpClientConfig,
    NetError,
    RateLimiterRegistry,
    RateLimitRule,
    ReconnectingWebSocket,
    ServerClock,
    Subscription,
    VenueHttpClient,
    VenueRejected,
    WebSocketConfig,
    WsMessage,
    hmac_query_signer,
)
from alphaforge.net.backoff import Backoff
from alphaforge_binance.book import BinanceBookSync
from alphaforge_binance.common import BinanceMarket, capabilities_for, venue_for
from alphaforge_binance.instruments import parse_exchange_info
from alphaforge_binance.market_data import (
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_trade,
)
from alphaforge_binance.orders import encode_new_order, parse_order_response, parse_user_event

__all__ = [
    "ENDPOINTS",
    "BinanceConfig",
    "BinanceDataClient",
    "BinanceEndpoints",
    "BinanceExecutionClient",
    "BinanceInstrumentProvider",
    "BinanceRest",
]


@attrs.frozen
class BinanceEndpoints:
    """Base URLs of one Binance environment (REST and stream hosts)."""

    rest_url: str
    ws_url: str


ENDPOINTS: Final = {
    (BinanceMarket.SPOT, "mainnet"): BinanceEndpoints(
        "https://api.binance.com", "wss://stream.binance.com:9443"
    ),
    (BinanceMarket.SPOT, "testnet"): BinanceEndpoints(
        "https://testnet.binance.vision", "wss://stream.testnet.binance.vision"
    ),
    (BinanceMarket.USDM, "mainnet"): BinanceEndpoints(
        "https://fapi.binance.com", "wss://fstream.binance.com"
    ),
    (BinanceMarket.USDM, "testnet"): BinanceEndpoints(
        "https://testnet.binancefuture.com", "wss://fstream.binancefuture.com"
    ),
}
"""Documented mainnet and testnet URLs (a loopback venue passes its own)."""


@attrs.frozen
class BinanceConfig:
    """Configuration of the Binance clients.

    Parameters
    ----------
    market
        Spot (the live clients support spot; USD-M is parsing-only for now).
    endpoints
        REST and stream base URLs.
    api_key, api_secret
        HMAC-SHA256 credentials (needed by the execution client).
    recv_window_ms
        ``recvWindow`` of signed requests.
    request_timeout
        Read timeout of REST calls (an order POST that exceeds it is an unknown outcome).
    ws_backoff
        Reconnect backoff of the streams.
    rate_limiter
        The node's process-wide registry (a private one when ``None``).
    """

    market: BinanceMarket = BinanceMarket.SPOT
    endpoints: BinanceEndpoints = ENDPOINTS[(BinanceMarket.SPOT, "mainnet")]
    api_key: Secret | None = attrs.field(default=None, repr=False)
    api_secret: Secret | None = attrs.field(default=None, repr=False)
    recv_window_ms: int = 5000
    request_timeout: float = 10.0
    ws_backoff: Backoff = attrs.field(factory=lambda: Backoff(base=0.5, cap=30.0))
    ws_ping_interval: float | None = 20.0
    rate_limiter: RateLimiterRegistry | None = attrs.field(default=None, eq=False)

    @property
    def prefix(self) -> str:
        """REST path prefix (``/api/v3``)."""
        return "/api/v3" if self.market is BinanceMarket.SPOT else "/fapi/v1"


_CLASSIFIER: Final = ErrorClassifier(
    timestamp_codes=frozenset({-1021}), auth_codes=frozenset({-1022, -2014, -2015})
)


class BinanceRest:
    """The venue's REST client: one httpx pool, clock, limiter and signer."""

    def __init__(self, config: BinanceConfig) -> None:
        if config.market is not BinanceMarket.SPOT:
            raise NotSupported("binance: the live clients support spot only (USD-M: parsing)")
        self.config = config
        registry = config.rate_limiter or RateLimiterRegistry()
        key = (config.api_key.get_secret_value()[:8] if config.api_key else "anon") or "anon"
        self.limiter = registry.limiter("binance", {
            "ip": [RateLimitRule("REQUEST_WEIGHT", 6000, 60, "X-MBX-USED-WEIGHT-1M")],
            f"key:{key}": [RateLimitRule("ORDERS_10S", 100, 10, "X-MBX-ORDER-COUNT-10S")],
        })  # fmt: skip
        self.clock = ServerClock()
        self.http = VenueHttpClient(
            HttpClientConfig("binance", config.endpoints.rest_url,
                             read_timeout=config.request_timeout),
            rate_limiter=self.limiter, clock=self.clock, fetch_server_time=self._server_time,
            classifier=_CLASSIFIER,
        )  # fmt: skip

    async def _server_time(self, http: VenueHttpClient) -> float:
        body = (await http.get(f"{self.config.prefix}/time")).json()
        return float(body["serverTime"])

    def signer(self) -> Any:
        """The HMAC query signer (``recvWindow``, ``timestamp`` from the server clock)."""
        cfg = self.config
        if cfg.api_key is None or cfg.api_secret is None:
            raise InvalidValue("api_key", None, "signed endpoints need api_key and api_secret")
        return hmac_query_signer(
            cfg.api_key, cfg.api_secret, self.clock.now_ms, recv_window_ms=cfg.recv_window_ms
        )

    async def get_json(self, path: str, **kw: Any) -> Any:
        """``GET`` a public endpoint and decode the JSON."""
        return (await self.http.get(f"{self.config.prefix}{path}", **kw)).json()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()


class BinanceInstrumentProvider:
    """Instruments from ``GET exchangeInfo`` (weight 20)."""

    def __init__(self, rest: BinanceRest) -> None:
        self._rest = rest
        self._cache: dict[InstrumentId, Instrument] = {}

    async def load_all(self) -> Sequence[Instrument]:
        """Fetch every trading symbol (replaces the cache)."""
        body = await self._rest.get_json("/exchangeInfo", weight=20)
        instruments = parse_exchange_info(body, self._rest.config.market)
        self._cache = {i.id: i for i in instruments}
        return instruments

    async def load(self, instrument_ids: Sequence[InstrumentId]) -> Sequence[Instrument]:
        """Fetch the given instruments (unknown id -> ``InvalidValue``)."""
        await self.load_all()
        out = []
        for iid in instrument_ids:
            if iid not in self._cache:
                raise InvalidValue("instrument_id", str(iid), "unknown at the venue")
            out.append(self._cache[iid])
        return out

    def get(self, instrument_id: InstrumentId) -> Instrument | None:
        """A cached instrument."""
        return self._cache.get(instrument_id)

    def by_symbol(self) -> dict[str, Instrument]:
        """Cached instruments keyed by Binance symbol."""
        return {i.raw_symbol.value: i for i in self._cache.values()}


class BinanceDataClient:
    """Public market data of Binance Spot over one combined stream connection.

    Book updates are applied to :meth:`book` (a :class:`BinanceBookSync`); ``on_book`` is
    called after every change with the sync object. Trades and quotes go to the sink.
    """

    def __init__(
        self,
        config: BinanceConfig,
        rest: BinanceRest,
        instruments: BinanceInstrumentProvider,
        *,
        on_book: Callable[[BinanceBookSync], None] | None = None,
        on_error: Callable[[NetError], None] | None = None,
    ) -> None:
        self.config = config
        self._rest = rest
        self._instruments = instruments
        self._on_book = on_book
        self._on_error = on_error
        self._sink: DataSink | None = None
        self._ws: ReconnectingWebSocket | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._books: dict[InstrumentId, BinanceBookSync] = {}
        self._streams: dict[str, tuple[InstrumentId, str]] = {}
        self._snapshot_wanted: dict[InstrumentId, anyio.Event] = {}
        self._last_connection = 0
        self._ids = iter(range(1, 1 << 62))
        self.errors: list[Exception] = []

    @property
    def venue(self) -> Venue:
        """``BINANCE``."""
        return venue_for(self.config.market)

    @property
    def capabilities(self) -> Capabilities:
        """Spot capabilities."""
        return capabilities_for(self.config.market)

    @property
    def websocket(self) -> ReconnectingWebSocket | None:
        """The stream connection (state and stats for health checks)."""
        return self._ws

    def book(self, instrument_id: InstrumentId) -> BinanceBookSync | None:
        """The synced book of a subscribed instrument."""
        return self._books.get(instrument_id)

    async def connect(self, sink: DataSink) -> None:
        """Open the stream connection (call :meth:`disconnect` from the same task)."""
        if self._tg is not None:
            return
        self._sink = sink
        cfg = WebSocketConfig(f"{self.config.endpoints.ws_url}/stream",
                              backoff=self.config.ws_backoff,
                              ping_interval=self.config.ws_ping_interval)  # fmt: skip
        self._ws = ReconnectingWebSocket(
            cfg, decoder=json.loads, on_error=self._report_error,
            router=lambda m: m.get("stream") if isinstance(m, dict) else None,
        )  # fmt: skip
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        await self._ws.__aenter__()
        tg.start_soon(self._consume)

    async def disconnect(self) -> None:
        """Close the stream (idempotent)."""
        tg, self._tg = self._tg, None
        if tg is None:
            return
        if self._ws is not None:
            await self._ws.__aexit__(None, None, None)
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)

    def _report_error(self, error: NetError) -> None:
        self.errors.append(error)
        if self._on_error is not None:
            self._on_error(error)

    def _instrument(self, instrument_id: InstrumentId) -> Instrument:
        inst = self._instruments.get(instrument_id)
        if inst is None:
            raise InvalidValue("instrument_id", str(instrument_id), "load the instruments first")
        return inst

    async def _subscribe(self, instrument_id: InstrumentId, kind: str) -> None:
        if self._ws is None:
            raise InvalidValue("connect", None, "connect() before subscribing")
        inst = self._instrument(instrument_id)
        stream = f"{inst.raw_symbol.value.lower()}@{kind}"
        self._streams[stream] = (instrument_id, kind)
        ids = self._ids

        def message() -> str:
            return json.dumps({"method": "SUBSCRIBE", "params": [stream], "id": next(ids)})

        await self._ws.subscribe(Subscription(stream, message))

    async def subscribe_trades(self, instrument_id: InstrumentId) -> None:
        """``<symbol>@trade``."""
        await self._subscribe(instrument_id, "trade")

    async def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        """``<symbol>@bookTicker``."""
        await self._subscribe(instrument_id, "bookTicker")

    async def subscribe_book(self, instrument_id: InstrumentId, depth: int = 0) -> None:
        """``<symbol>@depth@100ms`` + REST snapshots (``depth`` levels, default 1000)."""
        inst = self._instrument(instrument_id)
        self._books[instrument_id] = BinanceBookSync(inst, self.config.market)
        self._snapshot_wanted[instrument_id] = anyio.Event()
        assert self._tg is not None
        self._tg.start_soon(self._snapshots, instrument_id, depth or 1000)
        await self._subscribe(instrument_id, "depth@100ms")

    async def subscribe_bars(self, bar_type: BarType) -> None:
        """Not wired yet."""
        raise NotSupported("binance: live kline streams are not wired yet")

    async def unsubscribe(self, instrument_id: InstrumentId) -> None:
        """Forget every stream of the instrument (the next reconnect does not resubscribe)."""
        for stream, (iid, _) in list(self._streams.items()):
            if iid == instrument_id:
                del self._streams[stream]
                if self._ws is not None:
                    msg = {"method": "UNSUBSCRIBE", "params": [stream], "id": next(self._ids)}
                    await self._ws.send(json.dumps(msg))
        self._books.pop(instrument_id, None)

    async def request_book_snapshot(self, instrument_id: InstrumentId, limit: int = 1000) -> Any:
        """``GET /api/v3/depth`` as a :class:`~alphaforge.adapters.BookSnapshot`."""
        inst = self._instrument(instrument_id)
        weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        body = await self._rest.get_json(
            "/depth", params={"symbol": inst.raw_symbol.value, "limit": limit}, weight=weight
        )
        return parse_depth_snapshot(body, inst)

    async def _snapshots(self, instrument_id: InstrumentId, limit: int) -> None:
        """Fetch a snapshot whenever the book needs one (after its first buffered update)."""
        while instrument_id in self._books:
            await self._snapshot_wanted[instrument_id].wait()
            self._snapshot_wanted[instrument_id] = anyio.Event()
            sync = self._books.get(instrument_id)
            if sync is None or not sync.needs_snapshot:
                continue
            try:
                snapshot = await self.request_book_snapshot(instrument_id, limit)
            except NetError as exc:
                self._report_error(exc)
                await anyio.sleep(0.5)
                self._snapshot_wanted[instrument_id].set()
                continue
            sync.on_snapshot(snapshot)
            if not sync.is_valid:  # snapshot older than the stream: try again
                self._snapshot_wanted[instrument_id].set()
            elif self._on_book is not None:
                self._on_book(sync)

    async def _consume(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(anyio.ClosedResourceError, anyio.EndOfStream):
            async for msg in self._ws:
                self._handle(msg)

    def _handle(self, msg: WsMessage) -> None:
        if msg.connection_id != self._last_connection:
            self._last_connection = msg.connection_id
            for iid, sync in self._books.items():  # messages may have been missed
                sync.invalidate("stream reconnected")
                self._snapshot_wanted[iid].set()
        route = self._streams.get(msg.subscription or "")
        if route is None:
            return
        iid, kind = route
        inst = self._instrument(iid)
        data = msg.data
        # Spot bookTicker carries no event time: ts_init (receipt) is what orders quotes in the
        # node and in a paper venue's matching.
        ts_init = time.time_ns()
        try:
            if kind == "trade":
                self._deliver(parse_trade(data, inst, ts_init))
            elif kind == "bookTicker":
                self._deliver(parse_book_ticker(data, inst, ts_init))
            else:
                sync = self._books[iid]
                sync.on_update(parse_depth_update(data, inst, self.config.market, ts_init))
                if sync.needs_snapshot:
                    self._snapshot_wanted[iid].set()
                elif self._on_book is not None:
                    self._on_book(sync)
        except InvalidValue as exc:
            self.errors.append(exc)

    def _deliver(self, item: Any) -> None:
        if self._sink is not None:
            self._sink(item)


class BinanceExecutionClient:
    """Signed order entry on Binance Spot plus the user data stream."""

    def __init__(
        self,
        config: BinanceConfig,
        rest: BinanceRest,
        instruments: BinanceInstrumentProvider,
        account_id: AccountId,
    ) -> None:
        self.config = config
        self._rest = rest
        self._instruments = instruments
        self._account_id = account_id
        self._sink: ReportSink | None = None
        self._ws: ReconnectingWebSocket | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self.errors: list[Exception] = []

    @property
    def venue(self) -> Venue:
        """``BINANCE``."""
        return venue_for(self.config.market)

    @property
    def account_id(self) -> AccountId:
        """The account."""
        return self._account_id

    @property
    def capabilities(self) -> Capabilities:
        """Spot capabilities."""
        return capabilities_for(self.config.market)

    @property
    def websocket(self) -> ReconnectingWebSocket | None:
        """The user-stream connection."""
        return self._ws

    async def connect(self, sink: ReportSink) -> None:
        """Sync the clock, open a listenKey and its user stream."""
        if self._tg is not None:
            return
        self._sink = sink
        await self._rest.http.sync_clock()
        resp = await self._rest.http.post(
            f"{self.config.prefix}/userDataStream", weight=2, headers=self._key_header()
        )
        listen_key = resp.json()["listenKey"]
        cfg = WebSocketConfig(f"{self.config.endpoints.ws_url}/ws/{listen_key}",
                              backoff=self.config.ws_backoff,
                              ping_interval=self.config.ws_ping_interval)  # fmt: skip
        self._ws = ReconnectingWebSocket(
            cfg, [Subscription("user", lambda: [])], decoder=json.loads,
            router=lambda _m: "user", on_error=self.errors.append,
        )  # fmt: skip
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        await self._ws.__aenter__()
        tg.start_soon(self._consume)

    async def disconnect(self) -> None:
        """Close the user stream (idempotent)."""
        tg, self._tg = self._tg, None
        if tg is None:
            return
        if self._ws is not None:
            await self._ws.__aexit__(None, None, None)
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)

    def _key_header(self) -> dict[str, str]:
        if self.config.api_key is None:
            raise InvalidValue("api_key", None, "the execution client needs an API key")
        return {"X-MBX-APIKEY": self.config.api_key.get_secret_value()}

    async def _consume(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(anyio.ClosedResourceError, anyio.EndOfStream):
            async for msg in self._ws:
                self._on_user(msg)

    def _on_user(self, msg: WsMessage) -> None:
        try:
            report = parse_user_event(msg.data, self._instruments.by_symbol(), self._account_id)
        except InvalidValue as exc:
            self.errors.append(exc)
            return
        if report is not None and self._sink is not None:
            self._sink(report)

    def _instrument(self, instrument_id: InstrumentId) -> Instrument:
        inst = self._instruments.get(instrument_id)
        if inst is None:
            raise InvalidValue("instrument_id", str(instrument_id), "load the instruments first")
        return inst

    async def _signed(self, method: str, path: str, params: dict[str, str], **kw: Any) -> Any:
        resp = await self._rest.http.request(
            method, f"{self.config.prefix}{path}", params=params, signer=self._rest.signer(), **kw
        )
        return resp.json()

    async def submit_order(self, command: SubmitOrder) -> OrderReport | None:
        """``POST order`` (sent once; a timeout raises ``OutcomeUnknown``, never a rejection)."""
        inst = self._instrument(command.order.instrument_id)
        params = encode_new_order(command.order, inst, self.config.market)
        body = await self._signed("POST", "/order", params,
                                  weight={"REQUEST_WEIGHT": 1, "ORDERS_10S": 1})  # fmt: skip
        return parse_order_response(body, inst, self._account_id, self.config.market)

    async def modify_order(self, command: ModifyOrder) -> OrderReport | None:
        """Spot has no general amend."""
        self.capabilities.require("amend")
        return None

    async def cancel_order(self, command: CancelOrder) -> OrderReport | None:
        """``DELETE order`` by client order id (idempotent: retried on transport errors)."""
        inst = self._instrument(command.instrument_id)
        params = {"symbol": inst.raw_symbol.value,
                  "origClientOrderId": command.client_order_id.value}  # fmt: skip
        body = await self._signed("DELETE", "/order", params, idempotent=True)
        return parse_order_response(body, inst, self._account_id, self.config.market)

    async def cancel_all_orders(self, command: CancelAllOrders) -> Sequence[OrderReport]:
        """``DELETE openOrders`` (both sides only: Binance cancels the whole symbol)."""
        if command.order_side is not OrderSide.NO_SIDE:
            raise NotSupported("binance: cancel-all by side (cancel orders one by one)")
        inst = self._instrument(command.instrument_id)
        body = await self._signed("DELETE", "/openOrders", {"symbol": inst.raw_symbol.value},
                                  idempotent=True)  # fmt: skip
        return [parse_order_response(b, inst, self._account_id, self.config.market) for b in body]

    async def query_order(
        self, instrument_id: InstrumentId, client_order_id: ClientOrderId
    ) -> OrderReport | None:
        """``GET order`` as a ``STATUS`` report; ``None`` if the venue does not know it."""
        inst = self._instrument(instrument_id)
        params = {"symbol": inst.raw_symbol.value, "origClientOrderId": client_order_id.value}
        try:
            body = await self._signed("GET", "/order", params, weight=4)
        except VenueRejected as exc:
            if exc.code == -2013:
                return None
            raise
        return parse_order_response(body, inst, self._account_id, self.config.market,
                                    snapshot=True)  # fmt: skip

    async def open_orders(self, instrument_id: InstrumentId | None = None) -> Sequence[OrderReport]:
        """``GET openOrders`` (one symbol: weight 6; all: 80)."""
        params: dict[str, str] = {}
        if instrument_id is not None:
            params["symbol"] = self._instrument(instrument_id).raw_symbol.value
        body = await self._signed("GET", "/openOrders", params,
                                  weight=6 if instrument_id else 80)  # fmt: skip
        by_symbol = self._instruments.by_symbol()
        return [
            parse_order_response(b, by_symbol[b["symbol"]], self._account_id,
                                 self.config.market, snapshot=True)
            for b in body
        ]  # fmt: skip

    async def fills_since(self, instrument_id: InstrumentId, ts_ns: int) -> Sequence[OrderReport]:
        """Not wired yet (``GET myTrades``)."""
        raise NotSupported("binance: fills_since (myTrades) is not wired yet")
