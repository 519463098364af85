"""The network half of the Binance adapter (Spot and USD-M futures), on ``alphaforge.net``.

- :class:`BinanceRest` -- the venue's one :class:`~alphaforge.net.VenueHttpClient` with the
  server clock, the weight-based limiter (``X-MBX-USED-WEIGHT-1M``) and HMAC-SHA256 or
  Ed25519 signing (an ``api_secret`` that is a PEM private key, or ``key_type="ed25519"``:
  ``signature`` = base64 Ed25519 signature of the query string + body, Binance's scheme).
- :class:`BinanceInstrumentProvider` -- instruments from ``exchangeInfo``.
- :class:`BinanceDataClient` -- trades, quotes and diff-depth books over a
  :class:`~alphaforge.net.ReconnectingWebSocket` (combined stream); a book is synced by
  :class:`~alphaforge_binance.book.BinanceBookSync`, a REST snapshot is fetched whenever it
  ``needs_snapshot``, and every reconnect invalidates it (resync).
- :class:`BinanceExecutionClient` -- signed order entry and queries; the user data stream
  (listenKey) feeds order reports. An order POST that times out raises
  :class:`~alphaforge.net.OutcomeUnknown`: nothing is reported, the order stays in flight until
  :meth:`~BinanceExecutionClient.query_order` settles it. The listenKey is kept alive with a
  ``PUT`` every ``listen_key_keepalive_s`` (30 min); when Binance says it expired
  (``listenKeyExpired`` on the stream, or -1125 on the keepalive) a new one is created and the
  stream reopened on it (``connection_id`` moves on, so the node reconciles).

Spot ``modify_order`` is ``NotSupported`` (``amend`` is not declared: Binance spot's amend only
lowers a quantity). :meth:`BinanceExecutionClient.cancel_replace_order` is the explicit
``POST /api/v3/order/cancelReplace`` (``STOP_ON_FAILURE``, same client order id): it is a
cancel followed by a new order, so the order loses its queue position and is not an atomic
amend -- the engine never uses it behind ``modify_order``. USD-M ``modify_order`` is the
documented amend, ``PUT /fapi/v1/order`` (LIMIT price and quantity).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, Literal

import anyio
import anyio.abc
import attrs
import orjson

from alphaforge.adapters import Capabilities, OrderReport
from alphaforge.adapters.clients import DataSink, ReportSink
from alphaforge.adapters.parsing import ms_to_ns
from alphaforge.adapters.reports import AccountReport, PositionReport, ReportKind
from alphaforge.config import Secret
from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.execution.messages import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from alphaforge.model import (
    AccountId,
    AggregationSource,
    BarType,
    ClientOrderId,
    Instrument,
    InstrumentId,
    OrderSide,
    Venue,
)
from alphaforge.model.enums import OrderStatus
from alphaforge.model.identifiers import VenueOrderId
from alphaforge.net import (
    ConnectionState,
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
from alphaforge.net.signing import Ed25519Signer, SignableRequest
from alphaforge.portfolio import AccountType
from alphaforge_binance.book import BinanceBookSync
from alphaforge_binance.common import BinanceMarket, capabilities_for, venue_for
from alphaforge_binance.instruments import parse_exchange_info
from alphaforge_binance.market_data import (
    kline_interval,
    parse_agg_trade,
    parse_book_ticker,
    parse_depth_snapshot,
    parse_depth_update,
    parse_kline,
    parse_trade,
)
from alphaforge_binance.orders import (
    encode_new_order,
    parse_account_position,
    parse_account_trades,
    parse_account_update,
    parse_order_response,
    parse_spot_account,
    parse_usdm_account,
    parse_user_event,
)

__all__ = [
    "ENDPOINTS",
    "BinanceConfig",
    "BinanceDataClient",
    "BinanceEndpoints",
    "BinanceExecutionClient",
    "BinanceInstrumentProvider",
    "BinanceRest",
]


decode_frame: Final = orjson.loads
"""Decodes a websocket frame: orjson, ~4x json.loads on Binance's small events."""

_log = logging.getLogger("alphaforge_binance")


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
        Spot or USD-M futures.
    endpoints
        REST and stream base URLs.
    api_key, api_secret
        Credentials (needed by the execution client): an HMAC secret, or the PKCS#8 PEM of an
        Ed25519 private key.
    key_type
        ``"hmac"`` or ``"ed25519"``; ``None`` detects it (a PEM secret is Ed25519).
    listen_key_keepalive_s
        Period of the listenKey keepalive (Binance expires a key 60 minutes after the last).
    recv_window_ms
        ``recvWindow`` of signed requests.
    request_timeout
        Read timeout of REST calls (an order POST that exceeds it is an unknown outcome).
    ws_backoff
        Reconnect backoff of the streams.
    trade_stream
        ``"trade"`` (every trade) or ``"aggTrade"`` (trades of one taker order at one price
        aggregated: fewer messages) for ``subscribe_trades``.
    rate_limiter
        The node's process-wide registry (a private one when ``None``).
    """

    market: BinanceMarket = BinanceMarket.SPOT
    endpoints: BinanceEndpoints = ENDPOINTS[(BinanceMarket.SPOT, "mainnet")]
    api_key: Secret | None = attrs.field(default=None, repr=False)
    api_secret: Secret | None = attrs.field(default=None, repr=False)
    key_type: Literal["hmac", "ed25519"] | None = attrs.field(
        default=None, validator=attrs.validators.in_((None, "hmac", "ed25519"))
    )
    listen_key_keepalive_s: float = attrs.field(default=1800.0, validator=attrs.validators.gt(0))
    recv_window_ms: int = 5000
    request_timeout: float = 10.0
    ws_backoff: Backoff = attrs.field(factory=lambda: Backoff(base=0.5, cap=30.0))
    ws_ping_interval: float | None = 20.0
    trade_stream: Literal["trade", "aggTrade"] = attrs.field(
        default="trade", validator=attrs.validators.in_(("trade", "aggTrade"))
    )
    rate_limiter: RateLimiterRegistry | None = attrs.field(default=None, eq=False)

    @property
    def prefix(self) -> str:
        """REST path prefix (``/api/v3`` or ``/fapi/v1``)."""
        return "/api/v3" if self.market is BinanceMarket.SPOT else "/fapi/v1"

    @property
    def spot(self) -> bool:
        """Whether this is the spot market."""
        return self.market is BinanceMarket.SPOT

    @property
    def resolved_key_type(self) -> Literal["hmac", "ed25519"]:
        """The key type: as configured, else Ed25519 for a PEM secret, else HMAC."""
        if self.key_type is not None:
            return self.key_type
        pem = self.api_secret is not None and self.api_secret.get_secret_value().lstrip()
        return "ed25519" if pem and pem.startswith("-----BEGIN") else "hmac"


_CLASSIFIER: Final = ErrorClassifier(
    timestamp_codes=frozenset({-1021}), auth_codes=frozenset({-1022, -2014, -2015})
)


class BinanceRest:
    """The venue's REST client: one httpx pool, clock, limiter and signer."""

    def __init__(self, config: BinanceConfig) -> None:
        self.config = config
        registry = config.rate_limiter or RateLimiterRegistry()
        key = (config.api_key.get_secret_value()[:8] if config.api_key else "anon") or "anon"
        if config.spot:
            rules = {
                "ip": [RateLimitRule("REQUEST_WEIGHT", 6000, 60, "X-MBX-USED-WEIGHT-1M")],
                f"key:{key}": [RateLimitRule("ORDERS_10S", 100, 10, "X-MBX-ORDER-COUNT-10S")],
            }
        else:  # USD-M: 2400 weight/min per IP, 300 orders/10 s and 1200/min per account
            rules = {
                "ip": [RateLimitRule("REQUEST_WEIGHT", 2400, 60, "X-MBX-USED-WEIGHT-1M")],
                f"key:{key}": [RateLimitRule("ORDERS_10S", 300, 10, "X-MBX-ORDER-COUNT-10S"),
                               RateLimitRule("ORDERS_1M", 1200, 60, "X-MBX-ORDER-COUNT-1M")],
            }  # fmt: skip
        self.limiter = registry.limiter(f"binance-{config.market.value}", rules)
        self._ed25519: Ed25519Signer | None = None
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
        """The query signer (``recvWindow``, ``timestamp`` from the server clock, then the
        HMAC-SHA256 hex or Ed25519 base64 ``signature`` of query string + body)."""
        cfg = self.config
        if cfg.api_key is None or cfg.api_secret is None:
            raise InvalidValue("api_key", None, "signed endpoints need api_key and api_secret")
        if cfg.resolved_key_type == "hmac":
            return hmac_query_signer(
                cfg.api_key, cfg.api_secret, self.clock.now_ms, recv_window_ms=cfg.recv_window_ms
            )
        if self._ed25519 is None:
            try:
                self._ed25519 = Ed25519Signer(cfg.api_secret)
            except (ValueError, TypeError, InvalidValue) as exc:
                raise InvalidValue(
                    "api_secret", "***", f"is not an Ed25519 PEM private key ({exc})"
                ) from None
        ed, api_key, now_ms = self._ed25519, cfg.api_key, self.clock.now_ms

        def sign(request: SignableRequest) -> SignableRequest:
            params = [(k, v) for k, v in request.params
                      if k not in ("signature", "timestamp")]  # fmt: skip
            if not any(k == "recvWindow" for k, _ in params):
                params.append(("recvWindow", str(cfg.recv_window_ms)))
            params.append(("timestamp", str(now_ms())))
            request.params = params
            payload = request.query_string().encode() + request.body
            request.params.append(("signature", ed.sign(payload)))
            request.headers["X-MBX-APIKEY"] = api_key.get_secret_value()
            return request

        return sign

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


class _RestHealth:
    """What the node's health monitor reads from a client that shares :class:`BinanceRest`."""

    _rest: BinanceRest

    @property
    def server_clock(self) -> ServerClock:
        """The venue clock estimate (health and metrics)."""
        return self._rest.clock

    @property
    def rate_limiter(self) -> Any:
        """The venue's weight limiter (health and metrics)."""
        return self._rest.limiter


class BinanceDataClient(_RestHealth):
    """Public market data of Binance Spot over one combined stream connection.

    Book updates are applied to :meth:`book` (a :class:`BinanceBookSync`), which hands every
    applied change to the sink as ``OrderBookDeltas`` (a snapshot as CLEAR + ADDs); ``on_book``
    is called after every change with the sync object. Trades, quotes and bars go to the sink.
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
    def connection_state(self) -> ConnectionState:
        """The market-data stream's state (health)."""
        return self._ws.state if self._ws is not None else ConnectionState.CLOSED

    @property
    def book_syncs(self) -> Mapping[InstrumentId, BinanceBookSync]:
        """The synced books (health: an invalid one is being resynced)."""
        return MappingProxyType(self._books)

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
            cfg, decoder=decode_frame, on_error=self._report_error,
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
        """``<symbol>@trade`` (or ``@aggTrade``, per ``config.trade_stream``)."""
        await self._subscribe(instrument_id, self.config.trade_stream)

    async def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        """``<symbol>@bookTicker``."""
        await self._subscribe(instrument_id, "bookTicker")

    async def subscribe_book(self, instrument_id: InstrumentId, depth: int = 0) -> None:
        """``<symbol>@depth@100ms`` + REST snapshots (``depth`` levels, default 1000)."""
        inst = self._instrument(instrument_id)
        self._books[instrument_id] = BinanceBookSync(
            inst, self.config.market, on_deltas=self._deliver
        )
        self._snapshot_wanted[instrument_id] = anyio.Event()
        assert self._tg is not None
        self._tg.start_soon(self._snapshots, instrument_id, depth or 1000)
        await self._subscribe(instrument_id, "depth@100ms")

    async def subscribe_bars(self, bar_type: BarType) -> None:
        """``<symbol>@kline_<interval>``: EXTERNAL LAST bars, delivered once closed."""
        if bar_type.source is not AggregationSource.EXTERNAL:
            raise NotSupported("bars", str(bar_type), "the venue streams EXTERNAL bars only")
        await self._subscribe(bar_type.instrument_id, f"kline_{kline_interval(bar_type.spec)}")

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
        if self.config.spot:
            weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        else:
            weight = 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
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
            elif kind == "aggTrade":
                self._deliver(parse_agg_trade(data, inst, ts_init))
            elif kind == "bookTicker":
                self._deliver(parse_book_ticker(data, inst, ts_init))
            elif kind.startswith("kline_"):
                bar = parse_kline(data, inst, ts_init)
                if bar is not None:  # None: the bar is still open
                    self._deliver(bar)
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


class BinanceExecutionClient(_RestHealth):
    """Signed order entry on Binance Spot or USD-M plus the user data stream."""

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
        self._renew = anyio.Event()
        self._listen_key: str | None = None
        self._past_connects = 0
        self._replacing: dict[ClientOrderId, VenueOrderId] = {}
        self.listen_keys_created = 0
        self.errors: list[Exception] = []
        self.stream_positions: dict[InstrumentId, PositionReport] = {}
        """USD-M: positions as the last ``ACCOUNT_UPDATE`` of each instrument left them."""

    @property
    def venue(self) -> Venue:
        """``BINANCE`` or ``BINANCE_USDM``."""
        return venue_for(self.config.market)

    @property
    def account_id(self) -> AccountId:
        """The account."""
        return self._account_id

    @property
    def capabilities(self) -> Capabilities:
        """The market's capabilities."""
        return capabilities_for(self.config.market)

    @property
    def websocket(self) -> ReconnectingWebSocket | None:
        """The user-stream connection."""
        return self._ws

    @property
    def connection_id(self) -> int:
        """Counts user-stream connections (across listen keys): a change means reports may
        have been missed, and the node reconciles."""
        ws = self._ws
        return self._past_connects + (ws.stats.connects if ws is not None else 0)

    def _path(self, name: str) -> str:
        spot = self.config.spot
        return {
            "listen_key": "/api/v3/userDataStream" if spot else "/fapi/v1/listenKey",
            "cancel_all": "/api/v3/openOrders" if spot else "/fapi/v1/allOpenOrders",
            "trades": "/api/v3/myTrades" if spot else "/fapi/v1/userTrades",
        }.get(name, f"{self.config.prefix}/{name}")

    async def connect(self, sink: ReportSink) -> None:
        """Sync the clock, open a listenKey and its user stream (call :meth:`disconnect` from
        the same task)."""
        if self._tg is not None:
            return
        self._sink = sink
        await self._rest.http.sync_clock()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            await tg.start(self._user_stream)
            tg.start_soon(self._keepalive)
        except BaseException:
            self._tg = None
            tg.cancel_scope.cancel()
            await tg.__aexit__(None, None, None)
            raise

    async def disconnect(self) -> None:
        """Close the user stream and release its listenKey (idempotent)."""
        tg, self._tg = self._tg, None
        if tg is None:
            return
        tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)
        key, self._listen_key = self._listen_key, None
        if key is not None:  # best effort: an unreleased key expires after 60 minutes anyway
            params = {"listenKey": key} if self.config.spot else {}
            with anyio.move_on_after(self.config.request_timeout), contextlib.suppress(NetError):
                await self._rest.http.request(
                    "DELETE", self._path("listen_key"), params=params,
                    headers=self._key_header(), idempotent=True,
                )  # fmt: skip

    def _key_header(self) -> dict[str, str]:
        if self.config.api_key is None:
            raise InvalidValue("api_key", None, "the execution client needs an API key")
        return {"X-MBX-APIKEY": self.config.api_key.get_secret_value()}

    async def _new_listen_key(self) -> str:
        resp = await self._rest.http.post(self._path("listen_key"), weight=2 if self.config.spot
                                          else 1, headers=self._key_header())  # fmt: skip
        self.listen_keys_created += 1
        return str(resp.json()["listenKey"])

    async def _user_stream(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Own the user-stream websocket (entered and exited in this task); reopen it on a
        new listenKey whenever the old one expired."""
        started = False
        while True:
            self._listen_key = await self._new_listen_key()
            cfg = WebSocketConfig(f"{self.config.endpoints.ws_url}/ws/{self._listen_key}",
                                  backoff=self.config.ws_backoff,
                                  ping_interval=self.config.ws_ping_interval)  # fmt: skip
            ws = ReconnectingWebSocket(
                cfg, [Subscription("user", lambda: [])], decoder=decode_frame,
                router=lambda _m: "user", on_error=self.errors.append,
            )  # fmt: skip
            self._renew = anyio.Event()
            async with ws:
                self._ws = ws
                with anyio.move_on_after(self.config.request_timeout):
                    await ws.wait_connected()
                if not started:
                    started = True
                    task_status.started()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._consume, ws)
                    await self._renew.wait()
                    tg.cancel_scope.cancel()
            self._past_connects += ws.stats.connects
            self._ws = None

    async def _keepalive(self) -> None:
        """``PUT`` the listenKey every ``listen_key_keepalive_s``; -1125 renews it."""
        while True:
            await anyio.sleep(self.config.listen_key_keepalive_s)
            await self.keepalive()

    async def keepalive(self) -> None:
        """Extend the listenKey now (``PUT``); an unknown key (-1125) is replaced."""
        params = {"listenKey": self._listen_key or ""} if self.config.spot else {}
        try:
            await self._rest.http.request("PUT", self._path("listen_key"), params=params,
                                          headers=self._key_header(), idempotent=True)  # fmt: skip
        except VenueRejected as exc:
            if exc.code != -1125:
                raise
            _log.warning("%s: listenKey expired (-1125): creating a new one", self.venue)
            self._renew.set()
        except NetError as exc:  # a missed keepalive is retried at the next period
            self.errors.append(exc)

    async def _consume(self, ws: ReconnectingWebSocket) -> None:
        with contextlib.suppress(anyio.ClosedResourceError, anyio.EndOfStream):
            async for msg in ws:
                self._on_user(msg)

    def _on_user(self, msg: WsMessage) -> None:
        data = msg.data
        if isinstance(data, dict) and (
            data.get("e") == "listenKeyExpired" or data.get("code") == -1125
        ):
            _log.warning("%s: listenKey expired: creating a new one", self.venue)
            self._renew.set()
            return
        event = data.get("e") if isinstance(data, dict) else None
        report: OrderReport | AccountReport | None
        try:
            if event == "ACCOUNT_UPDATE":
                balances, positions = parse_account_update(
                    data, self._instruments.by_symbol(), self._account_id
                )
                for iid, position in positions.items():
                    if position is None:
                        self.stream_positions.pop(iid, None)
                    else:
                        self.stream_positions[iid] = position
                report = AccountReport(
                    account_id=self._account_id, account_type=AccountType.MARGIN,
                    balances=balances, ts_event=ms_to_ns(data["T"], "ACCOUNT_UPDATE.T"),
                )  # fmt: skip
            elif event == "outboundAccountPosition":
                report = parse_account_position(data, self._account_id)
            else:
                report = parse_user_event(data, self._instruments.by_symbol(), self._account_id)
                if report is not None:
                    report = self._replaced(report)
        except InvalidValue as exc:
            self.errors.append(exc)
            return
        if report is not None and self._sink is not None:
            self._sink(report)

    def _replaced(self, report: OrderReport) -> OrderReport | None:
        """During a cancel-replace the stream reports the old order canceled and the new one
        (same client order id) new: drop the first, report the second as UPDATED."""
        coid = report.client_order_id
        old = self._replacing.get(coid) if coid is not None else None
        if old is None:
            return report
        if report.venue_order_id == old:
            return None if report.kind is ReportKind.CANCELED else report
        if report.kind is ReportKind.ACCEPTED and coid is not None:
            self._replacing.pop(coid, None)
            return attrs.evolve(report, kind=ReportKind.UPDATED)
        return report

    def _instrument(self, instrument_id: InstrumentId) -> Instrument:
        inst = self._instruments.get(instrument_id)
        if inst is None:
            raise InvalidValue("instrument_id", str(instrument_id), "load the instruments first")
        return inst

    async def _signed(self, method: str, path: str, params: dict[str, str], **kw: Any) -> Any:
        full = path if path.startswith(("/api/", "/fapi/")) else f"{self.config.prefix}{path}"
        resp = await self._rest.http.request(
            method, full, params=params, signer=self._rest.signer(), **kw
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
        """USD-M: ``PUT /fapi/v1/order`` (price and quantity of a LIMIT order; both are sent,
        the unchanged one from the order's last report). Spot: ``NotSupported`` (see the module
        docs for :meth:`cancel_replace_order`)."""
        self.capabilities.require("amend")
        inst = self._instrument(command.instrument_id)
        current = await self.query_order(command.instrument_id, command.client_order_id)
        if current is None:
            raise VenueRejected("Order does not exist.", venue="binance", code=-2013)
        price = command.price or current.price
        if price is None:
            raise InvalidValue("price", None, "only LIMIT orders can be amended on USD-M")
        params = {"symbol": inst.raw_symbol.value,
                  "origClientOrderId": command.client_order_id.value, "side": current.side.name,
                  "quantity": str(inst.make_qty(command.quantity or current.quantity)),
                  "price": str(inst.make_price(price))}  # fmt: skip
        body = await self._signed("PUT", "/order", params, weight={"REQUEST_WEIGHT": 1,
                                                                   "ORDERS_10S": 1})  # fmt: skip
        report = parse_order_response(body, inst, self._account_id, self.config.market,
                                      snapshot=True)  # fmt: skip
        return attrs.evolve(report, kind=ReportKind.UPDATED)

    async def cancel_replace_order(self, command: ModifyOrder) -> OrderReport | None:
        """Spot ``POST /api/v3/order/cancelReplace`` (``STOP_ON_FAILURE``): cancel the order
        and place one with the new price / quantity under the same client order id. Not an
        amend: the new order loses the old one's queue position. Reported as ``UPDATED`` (new
        venue order id); a failed cancel raises ``VenueRejected`` and changes nothing."""
        self.capabilities.require("cancel_replace")
        inst = self._instrument(command.instrument_id)
        current = await self.query_order(command.instrument_id, command.client_order_id)
        if current is None or current.status not in (
            OrderStatus.ACCEPTED,
            OrderStatus.PARTIALLY_FILLED,
        ):
            raise VenueRejected("Unknown order sent.", venue="binance", code=-2011)
        order_type = "LIMIT_MAKER" if current.post_only else current.order_type.name
        if order_type not in ("LIMIT", "LIMIT_MAKER"):
            raise NotSupported("binance: cancel-replace of LIMIT orders only")
        price = command.price or current.price
        assert price is not None
        params = {
            "symbol": inst.raw_symbol.value, "side": current.side.name, "type": order_type,
            "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrigClientOrderId": command.client_order_id.value,
            "newClientOrderId": command.client_order_id.value,
            "quantity": str(inst.make_qty(command.quantity or current.quantity)),
            "price": str(inst.make_price(price)), "newOrderRespType": "RESULT",
        }  # fmt: skip
        if order_type == "LIMIT":
            params["timeInForce"] = current.time_in_force.name
        self._replacing[command.client_order_id] = current.venue_order_id
        try:
            body = await self._signed("POST", "/order/cancelReplace", params,
                                      weight={"REQUEST_WEIGHT": 1, "ORDERS_10S": 1})  # fmt: skip
        except VenueRejected:
            self._replacing.pop(command.client_order_id, None)
            raise
        new = parse_order_response(body["newOrderResponse"], inst, self._account_id,
                                   self.config.market, snapshot=True)  # fmt: skip
        return attrs.evolve(new, kind=ReportKind.UPDATED)

    async def cancel_order(self, command: CancelOrder) -> OrderReport | None:
        """``DELETE order`` by client order id (idempotent: retried on transport errors)."""
        inst = self._instrument(command.instrument_id)
        params = {"symbol": inst.raw_symbol.value,
                  "origClientOrderId": command.client_order_id.value}  # fmt: skip
        body = await self._signed("DELETE", "/order", params, idempotent=True)
        return parse_order_response(body, inst, self._account_id, self.config.market)

    async def cancel_all_orders(self, command: CancelAllOrders) -> Sequence[OrderReport]:
        """Spot ``DELETE openOrders`` / USD-M ``DELETE allOpenOrders`` (both sides only: Binance
        cancels the whole symbol). USD-M answers with no order list: its cancels arrive on the
        user stream."""
        if command.order_side is not OrderSide.NO_SIDE:
            raise NotSupported("binance: cancel-all by side (cancel orders one by one)")
        inst = self._instrument(command.instrument_id)
        body = await self._signed("DELETE", self._path("cancel_all"),
                                  {"symbol": inst.raw_symbol.value}, idempotent=True)  # fmt: skip
        if not isinstance(body, list):
            return []
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
        spot = self.config.spot
        weight = (6 if spot else 1) if instrument_id else (80 if spot else 40)
        body = await self._signed("GET", "/openOrders", params, weight=weight)
        by_symbol = self._instruments.by_symbol()
        return [
            parse_order_response(b, by_symbol[b["symbol"]], self._account_id,
                                 self.config.market, snapshot=True)
            for b in body
        ]  # fmt: skip

    async def fills_since(self, instrument_id: InstrumentId, ts_ns: int) -> Sequence[OrderReport]:
        """Spot ``GET myTrades`` / USD-M ``GET userTrades`` from ``ts_ns`` (paged by trade id),
        joined with ``GET allOrders`` for the client order ids; only fills after ``ts_ns``."""
        inst = self._instrument(instrument_id)
        sym = inst.raw_symbol.value
        weight = 20 if self.config.spot else 5
        rows: list[Any] = []
        params = {"symbol": sym, "startTime": str(ts_ns // 1_000_000), "limit": "1000"}
        while True:
            page = await self._signed("GET", self._path("trades"), params, weight=weight)
            if not isinstance(page, list):
                raise InvalidValue("trades", type(page).__name__, "must be a list")
            rows.extend(page)
            if len(page) < 1000:
                break
            params = {"symbol": sym, "fromId": str(int(page[-1]["id"]) + 1), "limit": "1000"}
        rows = [r for r in rows if isinstance(r, dict) and int(r.get("time", 0)) * 1_000_000
                > ts_ns]  # fmt: skip
        if not rows:
            return []
        first = min(int(r["orderId"]) for r in rows)
        wanted = {int(r["orderId"]) for r in rows}
        orders: list[Any] = []
        params = {"symbol": sym, "orderId": str(first), "limit": "1000"}
        while True:
            page = await self._signed("GET", "/allOrders", params, weight=weight)
            orders.extend(page)
            wanted -= {int(o["orderId"]) for o in page}
            if not wanted or len(page) < 1000:
                break
            params = {**params, "orderId": str(int(page[-1]["orderId"]) + 1)}
        return parse_account_trades(rows, orders, inst, self._account_id, self.config.market)

    async def account_state(self) -> AccountReport:
        """Spot ``GET /api/v3/account``; USD-M ``GET /fapi/v2/balance`` +
        ``GET /fapi/v2/positionRisk`` (balances and open positions)."""
        if self.config.spot:
            body = await self._signed("GET", "/api/v3/account", {"omitZeroBalances": "true"},
                                      weight=20)  # fmt: skip
            return parse_spot_account(body, self._account_id)
        balances = await self._signed("GET", "/fapi/v2/balance", {}, weight=5)
        positions = await self._signed("GET", "/fapi/v2/positionRisk", {}, weight=5)
        return parse_usdm_account(positions=positions, balances=balances,
                                  instruments=self._instruments.by_symbol(),
                                  account_id=self._account_id)  # fmt: skip
