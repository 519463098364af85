"""A loopback Binance Spot venue for tests: Binance's REST and WebSocket protocol over real
sockets on ``127.0.0.1``, backed by the native :class:`~alphaforge.matching.MatchingEngine`
in exchange mode.

It reuses :class:`alphaforge.net.loopback.LoopbackHttpServer` (REST) and
:class:`~alphaforge.net.loopback.LoopbackWsServer` (streams); both run their own asyncio loop in
a thread, so the code under test can use either anyio backend.

REST (``/api/v3``): ``ping``, ``time``, ``exchangeInfo``, ``depth``, ``order``
(``POST``/``DELETE``/``GET``), ``openOrders`` (``GET``/``DELETE``), ``userDataStream``
(``POST``). Signed endpoints check ``X-MBX-APIKEY`` (-2015), the HMAC-SHA256 ``signature`` of
the query string + body (-1022) and ``timestamp``/``recvWindow`` (-1021). Every response carries
``X-MBX-USED-WEIGHT-1M`` (order endpoints also ``X-MBX-ORDER-COUNT-10S``/``-1D``); beyond
``weight_limit`` per ``weight_window`` the venue answers 429 with ``Retry-After`` (-1003).

Streams: ``/ws`` (raw) and ``/stream?streams=a/b`` (combined envelope ``{"stream", "data"}``)
with ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS``; ``<symbol>@depth[@100ms]`` diffs with
``U``/``u``, ``<symbol>@trade``, ``<symbol>@bookTicker``; ``/ws/<listenKey>`` is the user data
stream (``executionReport`` on accept, fill, cancel, expiry).

The market is scripted: :meth:`BinanceLoopbackVenue.step` lets a seeded market maker add and
cancel orders and a seeded taker trade against them; every change of the book is published as
one diff-depth event. Fault switches are on :class:`Faults`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import math
import random
import secrets
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl

import attrs

from alphaforge.matching import MatchEvent, MatchEventKind, MatchingEngine, Reason
from alphaforge.model import OrderSide, OrderType, TimeInForce
from alphaforge.net.loopback import (
    HttpReply,
    LoopbackHttpServer,
    LoopbackWsServer,
    RecordedRequest,
    WsPeer,
)

__all__ = ["BinanceLoopbackVenue", "Faults", "LoopbackSymbol"]

_P: Final = 8  # every value is at 8 decimals, as Binance prints them
_SCALE: Final = 10**_P
_MM, _TAKER = 1, 2  # trader ids of the scripted market
_JSON: Final = ("Content-Type", "application/json;charset=UTF-8")
_DROP: Final = object()


def fmt(raw: int) -> str:
    """A raw value at 8 decimals as Binance prints it (``"30000.01000000"``)."""
    sign = "-" if raw < 0 else ""
    raw = abs(raw)
    return f"{sign}{raw // _SCALE}.{raw % _SCALE:08d}"


def _raw(text: str) -> int | None:
    try:
        whole, _, frac = text.strip().partition(".")
        if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > _P:
            return None
        return int(whole) * _SCALE + int((frac or "0").ljust(_P, "0"))
    except ValueError:
        return None


@attrs.frozen
class LoopbackSymbol:
    """The one spot pair the venue trades (values as decimal strings)."""

    symbol: str = "BTCUSDT"
    base: str = "BTC"
    quote: str = "USDT"
    tick: str = "0.01"
    lot: str = "0.00001"
    min_qty: str = "0.00001"
    max_qty: str = "9000"
    min_notional: str = "5"
    start_price: str = "30000.00"


@attrs.define
class Faults:
    """Fault-injection switches (set them from the test thread; each is consumed once).

    Attributes
    ----------
    skip_depth
        The next ``n`` diff-depth events are not sent (a sequence gap).
    duplicate_next
        The next stream message of a market stream is sent twice.
    reorder_next
        The next market stream message is held back and sent after the one that follows it.
    delay_next_order
        Seconds to delay the answer to the next ``POST /api/v3/order`` (executed at once).
    rate_limit_next
        The next ``n`` REST requests are answered 429 with ``Retry-After: retry_after``.
    retry_after
        Seconds announced in ``Retry-After`` by ``rate_limit_next``.
    """

    skip_depth: int = 0
    duplicate_next: bool = False
    reorder_next: bool = False
    delay_next_order: float = 0.0
    rate_limit_next: int = 0
    retry_after: int = 1


@attrs.define
class _Order:
    internal_id: int
    account: str
    symbol: str
    client_order_id: str
    order_id: int
    side: OrderSide
    type: str
    tif: str
    price: int
    stop_price: int
    qty: int
    time_ms: int
    executed: int = 0
    cum_quote: int = 0
    status: str = "NEW"
    update_ms: int = 0
    fills: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define
class _Conn:
    peer: WsPeer
    queue: asyncio.Queue[Any]
    combined: bool
    streams: set[str]
    listen_key: str | None


class _Reject(Exception):
    def __init__(self, status: int, code: int, msg: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers


_TYPES: Final = {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET,
                 "LIMIT_MAKER": OrderType.LIMIT}  # fmt: skip
_TIFS: Final = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
_WEIGHTS: Final = {
    ("GET", "/api/v3/ping"): 1, ("GET", "/api/v3/time"): 1, ("GET", "/api/v3/exchangeInfo"): 20,
    ("POST", "/api/v3/order"): 1, ("DELETE", "/api/v3/order"): 1, ("GET", "/api/v3/order"): 4,
    ("GET", "/api/v3/openOrders"): 6, ("DELETE", "/api/v3/openOrders"): 1,
    ("POST", "/api/v3/userDataStream"): 2, ("PUT", "/api/v3/userDataStream"): 2,
    ("DELETE", "/api/v3/userDataStream"): 2,
}  # fmt: skip


def _depth_weight(limit: int) -> int:
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


class BinanceLoopbackVenue:
    """A Binance Spot venue on 127.0.0.1 (use as a ``with`` block).

    Parameters
    ----------
    symbol
        The traded pair.
    seed
        Seed of the scripted market.
    api_keys
        ``{api_key: secret}`` of the accounts that may trade.
    weight_limit, weight_window
        Request weight allowed per window (seconds) before 429s.
    clock_skew_ms
        The venue's clock is ahead of the local clock by this much (tests clock sync).
    levels
        Price levels per side the market maker keeps.

    Attributes
    ----------
    faults
        Fault-injection switches.
    """

    def __init__(
        self,
        symbol: LoopbackSymbol | None = None,
        *,
        seed: int = 7,
        api_keys: Mapping[str, str] | None = None,
        weight_limit: int = 6000,
        weight_window: float = 60.0,
        clock_skew_ms: int = 0,
        levels: int = 10,
    ) -> None:
        self.symbol = symbol or LoopbackSymbol()
        s = self.symbol
        self.tick, self.lot = _need(s.tick), _need(s.lot)
        self.api_keys = dict(api_keys or {"loopback-key": "loopback-secret"})
        self.weight_limit, self.weight_window = weight_limit, weight_window
        self.clock_skew_ms = clock_skew_ms
        self.faults = Faults()
        self.engine = MatchingEngine(
            "exchange", price_precision=_P, size_precision=_P, price_increment=self.tick,
            size_increment=self.lot, min_quantity=_need(s.min_qty),
            max_quantity=_need(s.max_qty), maker_fee="0.001", taker_fee="0.001",
            fee_precision=_P,
        )  # fmt: skip
        self._rng = random.Random(seed)
        self._levels = levels
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._orders: dict[int, _Order] = {}
        self._by_client: dict[tuple[str, str], int] = {}
        self._by_order_id: dict[int, int] = {}
        self._mm_orders: list[int] = []
        self._update_id = 1_000
        self._published: dict[OrderSide, dict[int, int]] = {OrderSide.BUY: {}, OrderSide.SELL: {}}
        self._top: tuple[int, int, int, int] = (0, 0, 0, 0)
        self._trade_id = 0
        self._conns: list[_Conn] = []
        self._held: list[tuple[str, str]] = []
        self._listen_keys: dict[str, str] = {}
        self._trader_ids = {key: 10 + i for i, key in enumerate(self.api_keys)}
        self._weight_used = 0
        self._weight_bucket = -1
        self._order_count = 0
        self._ws_loop: asyncio.AbstractEventLoop | None = None
        self.http = LoopbackHttpServer(self._handle_http)
        self.ws = LoopbackWsServer(self._handle_ws)
        self._seed_book()

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> BinanceLoopbackVenue:
        self.http.__enter__()
        try:
            self.ws.__enter__()
        except BaseException:
            self.http.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.ws.__exit__(t, e, tb)
        finally:
            self.http.__exit__(t, e, tb)

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.http.url

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT`` (append ``/ws``, ``/stream`` or ``/ws/<listenKey>``)."""
        return self.ws.url

    def server_time_ms(self) -> int:
        """The venue's clock (local clock + ``clock_skew_ms``)."""
        return int(time.time() * 1000) + self.clock_skew_ms

    # -- inspection -------------------------------------------------------------------------

    @property
    def last_update_id(self) -> int:
        """Update id of the last published book change."""
        with self._lock:
            return self._update_id

    def book(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The venue's published book: raw ``(price, size)`` bids (best first) and asks."""
        with self._lock:
            bids = sorted(self._published[OrderSide.BUY].items(), reverse=True)
            asks = sorted(self._published[OrderSide.SELL].items())
            return bids, asks

    def subscribers(self, stream: str) -> int:
        """Open connections subscribed to ``stream`` (``"user"`` counts user streams)."""
        with self._lock:
            if stream == "user":
                return sum(1 for c in self._conns if c.listen_key is not None)
            return sum(1 for c in self._conns if stream in c.streams)

    def order(self, client_order_id: str, api_key: str | None = None) -> dict[str, Any] | None:
        """The venue's view of an order (the ``GET /api/v3/order`` body) or ``None``."""
        key = api_key or next(iter(self.api_keys))
        with self._lock:
            internal = self._by_client.get((key, client_order_id))
            return None if internal is None else self._order_body(self._orders[internal])

    # -- the scripted market ---------------------------------------------------------------

    def _seed_book(self) -> None:
        mid = _need(self.symbol.start_price)
        with self._lock:
            for i in range(1, self._levels + 1):
                self._mm_limit(OrderSide.BUY, mid - i * self.tick)
                self._mm_limit(OrderSide.SELL, mid + i * self.tick)
            self._process(self.engine.event_records(), publish=False)
            self._snapshot_published()

    def _mm_limit(self, side: OrderSide, price: int) -> None:
        internal = next(self._ids)
        qty = self.lot * self._rng.randint(1_000, 50_000)
        self.engine.submit_limit(internal, side, price, qty, trader_id=_MM, ts=self._ts())
        self._mm_orders.append(internal)

    def step(self, n: int = 1) -> None:
        """Move the market ``n`` times (each move publishes its book change and trades)."""
        for _ in range(n):
            with self._lock:
                roll = self._rng.random()
                bid, ask = self.engine.best_bid(), self.engine.best_ask()
                if bid is None or ask is None or roll < 0.45:
                    side = self._rng.choice((OrderSide.BUY, OrderSide.SELL))
                    ref = (bid if side is OrderSide.BUY else ask) or ask or bid
                    base = ref.price if ref is not None else _need(self.symbol.start_price)
                    off = self._rng.randint(0, self._levels) * self.tick
                    self._mm_limit(side, base - off if side is OrderSide.BUY else base + off)
                elif roll < 0.8 and self._mm_orders:
                    victim = self._mm_orders.pop(self._rng.randrange(len(self._mm_orders)))
                    self.engine.cancel(victim, trader_id=_MM, ts=self._ts())
                else:
                    side = self._rng.choice((OrderSide.BUY, OrderSide.SELL))
                    qty = self.lot * self._rng.randint(1_000, 30_000)
                    self.engine.submit_market(next(self._ids), side, qty, trader_id=_TAKER,
                                              ts=self._ts())  # fmt: skip
                self._process(self.engine.event_records())

    def _ts(self) -> int:
        return max(self.server_time_ms() * 1_000_000, self.engine.clock)

    # -- events -> orders, streams ---------------------------------------------------------

    def _process(self, events: list[MatchEvent], *, publish: bool = True) -> None:
        """Apply engine events to the order records, stream them, publish the book."""
        now = self.server_time_ms()
        reports: list[tuple[str, dict[str, Any]]] = []
        trades: list[MatchEvent] = []
        for ev in events:
            if ev.is_fill and ev.liquidity.name == "TAKER":
                trades.append(ev)
            order = self._orders.get(ev.client_order_id)
            if order is None:
                continue
            if ev.kind is MatchEventKind.ACCEPTED:
                order.order_id = ev.venue_order_id
                self._by_order_id[ev.venue_order_id] = order.internal_id
                reports.append((order.account, self._exec_report(order, "NEW", now)))
            elif ev.is_fill:
                order.executed += ev.qty
                order.cum_quote += ev.qty * ev.price // _SCALE
                order.status = "FILLED" if ev.leaves == 0 else "PARTIALLY_FILLED"
                fill = {"price": fmt(ev.price), "qty": fmt(ev.qty), "commission": fmt(ev.fee),
                        "commissionAsset": self.symbol.quote, "tradeId": ev.trade_id}  # fmt: skip
                order.fills.append(fill)
                extra = {"l": fmt(ev.qty), "L": fmt(ev.price), "n": fmt(ev.fee),
                         "N": self.symbol.quote, "t": ev.trade_id,
                         "m": ev.liquidity.name == "MAKER"}  # fmt: skip
                reports.append((order.account, self._exec_report(order, "TRADE", now, extra)))
            elif ev.kind in (MatchEventKind.CANCELED, MatchEventKind.EXPIRED):
                requested = ev.reason is Reason.REQUESTED
                if ev.reason is Reason.SELF_TRADE:
                    order.status, x = "EXPIRED_IN_MATCH", "TRADE_PREVENTION"
                else:
                    order.status = "CANCELED" if requested else "EXPIRED"
                    x = order.status
                reports.append((order.account, self._exec_report(order, x, now)))
            order.update_ms = now
        if not publish:
            return
        for ev in trades:
            self._trade_id += 1
            msg = {"e": "trade", "E": now, "s": self.symbol.symbol, "t": ev.trade_id,
                   "p": fmt(ev.price), "q": fmt(ev.qty), "T": now,
                   "m": ev.side is OrderSide.SELL, "M": True}  # fmt: skip
            self._broadcast(f"{self.symbol.symbol.lower()}@trade", msg)
        self._publish_book(now, max(1, len(events)))
        for account, report in reports:
            self._send_user(account, report)

    def _snapshot_published(self) -> None:
        for side in (OrderSide.BUY, OrderSide.SELL):
            self._published[side] = {
                lv.price: lv.visible for lv in self.engine.depth(side, 100_000) if lv.visible
            }

    def _publish_book(self, now: int, ids: int) -> None:
        old = {side: dict(levels) for side, levels in self._published.items()}
        self._snapshot_published()
        changes: dict[OrderSide, list[list[str]]] = {}
        for side in (OrderSide.BUY, OrderSide.SELL):
            new = self._published[side]
            diff = [[fmt(p), fmt(q)] for p, q in sorted(new.items()) if old[side].get(p) != q]
            diff += [[fmt(p), fmt(0)] for p in sorted(old[side]) if p not in new]
            changes[side] = diff
        if not changes[OrderSide.BUY] and not changes[OrderSide.SELL]:
            return
        first = self._update_id + 1
        self._update_id += ids
        sym = self.symbol.symbol
        msg = {"e": "depthUpdate", "E": now, "s": sym, "U": first, "u": self._update_id,
               "b": changes[OrderSide.BUY], "a": changes[OrderSide.SELL]}  # fmt: skip
        if self.faults.skip_depth > 0:
            self.faults.skip_depth -= 1
        else:
            for name in (f"{sym.lower()}@depth", f"{sym.lower()}@depth@100ms"):
                self._broadcast(name, msg)
        bid = max(self._published[OrderSide.BUY].items(), default=(0, 0))
        ask = min(self._published[OrderSide.SELL].items(), default=(0, 0))
        top = (*bid, *ask)
        if top != self._top:
            self._top = top
            ticker = {"u": self._update_id, "s": sym, "b": fmt(bid[0]), "B": fmt(bid[1]),
                      "a": fmt(ask[0]), "A": fmt(ask[1])}  # fmt: skip
            self._broadcast(f"{sym.lower()}@bookTicker", ticker)

    def _exec_report(
        self, o: _Order, x: str, now: int, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "e": "executionReport", "E": now, "s": o.symbol, "c": o.client_order_id,
            "S": o.side.name, "o": o.type, "f": o.tif, "q": fmt(o.qty), "p": fmt(o.price),
            "P": fmt(o.stop_price), "F": fmt(0), "g": -1, "C": "", "x": x, "X": o.status,
            "r": "NONE", "i": o.order_id, "l": fmt(0), "z": fmt(o.executed), "L": fmt(0),
            "n": "0", "N": None, "T": now, "t": -1, "I": next(self._ids), "w": o.status == "NEW",
            "m": False, "M": False, "O": o.time_ms, "Z": fmt(o.cum_quote), "Y": fmt(0),
            "Q": fmt(0), "W": o.time_ms, "V": "EXPIRE_MAKER",
        }  # fmt: skip
        if x == "CANCELED":
            msg["c"], msg["C"] = secrets.token_hex(8), o.client_order_id
        if extra:
            msg.update(extra)
            msg["M"] = True
            msg["Y"] = fmt(int(extra["l"].replace(".", "")) * _need(extra["L"]) // _SCALE)
        return msg

    # -- websocket side ---------------------------------------------------------------------

    def _push(self, conn: _Conn, item: Any) -> None:
        loop = self._ws_loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(conn.queue.put_nowait, item)

    def _broadcast(self, stream: str, data: Mapping[str, Any]) -> None:
        targets = [c for c in self._conns if stream in c.streams]
        if not targets:
            return
        out: list[tuple[str, dict[str, Any]]] = [(stream, dict(data))]
        if self.faults.reorder_next:
            self.faults.reorder_next = False
            self._held.append((stream, json.dumps(data)))
            return
        if self.faults.duplicate_next:
            self.faults.duplicate_next = False
            out.append((stream, dict(data)))
        held, self._held = self._held, []
        frames = [(s, json.dumps(d)) for s, d in out] + held
        for conn in targets:
            for name, text in frames:
                if name in conn.streams:
                    self._push(conn, _wrap(conn, name, text))

    def _send_user(self, account: str, report: Mapping[str, Any]) -> None:
        text = json.dumps(report)
        for conn in self._conns:
            if conn.listen_key is not None and self._listen_keys.get(conn.listen_key) == account:
                self._push(conn, text)

    def drop_connections(self, *, user: bool = False) -> int:
        """Abort every market-stream connection (and user streams with ``user=True``)
        without a close frame; returns how many."""
        with self._lock:
            victims = [c for c in self._conns if user or c.listen_key is None]
            for conn in victims:
                self._push(conn, _DROP)
            return len(victims)

    def send_garbage(self, *, invalid_frame: bool = False) -> None:
        """Send a non-JSON text message (or, with ``invalid_frame``, bytes that are not a
        websocket frame) on every market-stream connection."""
        with self._lock:
            for conn in self._conns:
                if conn.listen_key is None:
                    self._push(conn, b"\xff\x00garbage" if invalid_frame else "}{not json")

    async def _handle_ws(self, peer: WsPeer) -> None:
        self._ws_loop = asyncio.get_running_loop()
        request = peer.conn.request
        path = request.path if request is not None else "/ws"
        route, _, query = path.partition("?")
        streams: set[str] = set()
        listen_key: str | None = None
        if route.startswith("/ws/"):
            listen_key = route[4:]
            if listen_key not in self._listen_keys:
                await peer.send(
                    json.dumps({"code": -1125, "msg": "This listenKey does not exist."})
                )
                return
        if query.startswith("streams="):
            streams = {s for s in query[8:].split("/") if s}
        conn = _Conn(peer, asyncio.Queue(), route.startswith("/stream"), streams, listen_key)
        with self._lock:
            self._conns.append(conn)
        sender = asyncio.create_task(self._sender(conn))
        try:
            while not sender.done():
                raw = await peer.recv()
                reply = self._control(conn, raw)
                if reply is not None:
                    with self._lock:
                        self._push(conn, reply)
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            sender.cancel()

    async def _sender(self, conn: _Conn) -> None:
        while True:
            item = await conn.queue.get()
            if item is _DROP:
                with self._lock:
                    if conn in self._conns:
                        self._conns.remove(conn)
                conn.peer.drop()
                return
            if isinstance(item, bytes):
                conn.peer.send_raw(item)
            else:
                await conn.peer.send(item)

    def _control(self, conn: _Conn, raw: str | bytes) -> str | None:
        try:
            msg = json.loads(raw)
            method, ident = msg["method"], msg.get("id")
        except (ValueError, KeyError, TypeError):
            return json.dumps({"error": {"code": 3, "msg": "Invalid JSON"}})
        params = msg.get("params") or []
        with self._lock:
            if method == "SUBSCRIBE":
                conn.streams.update(str(p) for p in params)
            elif method == "UNSUBSCRIBE":
                conn.streams.difference_update(str(p) for p in params)
            elif method == "LIST_SUBSCRIPTIONS":
                return json.dumps({"result": sorted(conn.streams), "id": ident})
            else:
                return json.dumps({"error": {"code": 2, "msg": f"Invalid request: {method}"},
                                   "id": ident})  # fmt: skip
        return json.dumps({"result": None, "id": ident})

    # -- REST side --------------------------------------------------------------------------

    def _handle_http(self, req: RecordedRequest) -> HttpReply:
        with self._lock:
            try:
                return self._route(req)
            except _Reject as rej:
                body = json.dumps({"code": rej.code, "msg": rej.msg}).encode()
                return HttpReply(rej.status, body, (_JSON, *rej.headers, *self._weight_hdr()))

    def _weight_hdr(self) -> tuple[tuple[str, str], ...]:
        return (("X-MBX-USED-WEIGHT-1M", str(self._weight_used)),)

    def _charge(self, weight: int) -> None:
        now = time.monotonic()
        bucket = int(now // self.weight_window)
        if bucket != self._weight_bucket:
            self._weight_bucket, self._weight_used = bucket, 0
        if self.faults.rate_limit_next > 0:
            self.faults.rate_limit_next -= 1
            self._too_many(self.faults.retry_after)
        if self._weight_used + weight > self.weight_limit:
            self._too_many(max(1, math.ceil((bucket + 1) * self.weight_window - now)))
        self._weight_used += weight

    def _too_many(self, retry_after: int) -> None:
        msg = (f"Too many requests; current limit of IP(127.0.0.1) request weight per minute is "
               f"{self.weight_limit}. Please use WebSocket Streams for live updates to avoid "
               "polling the API.")  # fmt: skip
        raise _Reject(429, -1003, msg, (("Retry-After", str(retry_after)),))

    def _route(self, req: RecordedRequest) -> HttpReply:
        params = dict(parse_qsl(req.query, keep_blank_values=True))
        if req.body and "x-www-form-urlencoded" in req.headers.get("content-type", ""):
            params.update(parse_qsl(req.body.decode(), keep_blank_values=True))
        key = (req.method, req.path)
        if req.path == "/api/v3/depth" and req.method == "GET":
            weight = _depth_weight(_int(params.get("limit", "100"), "limit"))
        elif key in _WEIGHTS:
            weight = _WEIGHTS[key]
        else:
            return HttpReply(404, b"", (_JSON,))
        self._charge(weight)
        delay = 0.0
        if key == ("GET", "/api/v3/ping"):
            body: Any = {}
        elif key == ("GET", "/api/v3/time"):
            body = {"serverTime": self.server_time_ms()}
        elif key == ("GET", "/api/v3/exchangeInfo"):
            body = self._exchange_info()
        elif key == ("GET", "/api/v3/depth"):
            body = self._depth(params)
        elif req.path == "/api/v3/userDataStream":
            account = self._api_key(req)
            if req.method == "POST":
                listen_key = secrets.token_hex(32)
                self._listen_keys[listen_key] = account
                body = {"listenKey": listen_key}
            else:
                body = {}
        else:
            account = self._signed(req, params)
            self._check_symbol(params)
            if key == ("POST", "/api/v3/order"):
                body = self._new_order(account, params)
                delay, self.faults.delay_next_order = self.faults.delay_next_order, 0.0
            elif key == ("DELETE", "/api/v3/order"):
                body = self._cancel(account, params)
            elif key == ("GET", "/api/v3/order"):
                body = self._order_body(self._find(account, params, -2013, "Order does not exist."))
            elif key == ("GET", "/api/v3/openOrders"):
                body = [self._order_body(o) for o in self._open(account)]
            else:  # DELETE openOrders
                body = [self._cancel_one(account, o) for o in self._open(account)]
        headers = (_JSON, *self._weight_hdr())
        if req.path == "/api/v3/order" and req.method == "POST":
            headers += (("X-MBX-ORDER-COUNT-10S", str(self._order_count)),
                        ("X-MBX-ORDER-COUNT-1D", str(self._order_count)))  # fmt: skip
        return HttpReply(200, json.dumps(body).encode(), headers, delay=delay)

    def _api_key(self, req: RecordedRequest) -> str:
        key = req.headers.get("x-mbx-apikey", "")
        if key not in self.api_keys:
            raise _Reject(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return key

    def _signed(self, req: RecordedRequest, params: Mapping[str, str]) -> str:
        key = self._api_key(req)
        parts = [p for p in req.query.split("&") if p and not p.startswith("signature=")]
        payload = "&".join(parts).encode() + req.body
        expected = hmac.new(self.api_keys[key].encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, params.get("signature", "")):
            raise _Reject(400, -1022, "Signature for this request is not valid.")
        if "timestamp" not in params:
            raise _Reject(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            )
        ts = _int(params["timestamp"], "timestamp")
        window = _int(params.get("recvWindow", "5000"), "recvWindow")
        if window > 60_000:
            raise _Reject(400, -1131, "recvWindow must be less than 60000")
        now = self.server_time_ms()
        if ts >= now + 1000:
            raise _Reject(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - ts > window:
            raise _Reject(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return key

    def _check_symbol(self, params: Mapping[str, str]) -> None:
        sym = params.get("symbol")
        if sym is not None and sym != self.symbol.symbol:
            raise _Reject(400, -1121, "Invalid symbol.")

    def _exchange_info(self) -> dict[str, Any]:
        s = self.symbol
        return {
            "timezone": "UTC", "serverTime": self.server_time_ms(),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.weight_limit},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
                 "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": [{
                "symbol": s.symbol, "status": "TRADING", "baseAsset": s.base,
                "baseAssetPrecision": 8, "quoteAsset": s.quote, "quotePrecision": 8,
                "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
                "quoteOrderQtyMarketAllowed": False, "allowTrailingStop": False,
                "cancelReplaceAllowed": False, "amendAllowed": False,
                "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": fmt(self.tick),
                     "maxPrice": "1000000.00000000", "tickSize": fmt(self.tick)},
                    {"filterType": "LOT_SIZE", "minQty": fmt(_need(s.min_qty)),
                     "maxQty": fmt(_need(s.max_qty)), "stepSize": fmt(self.lot)},
                    {"filterType": "NOTIONAL", "minNotional": fmt(_need(s.min_notional)),
                     "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                     "applyMaxToMarket": False, "avgPriceMins": 5},
                ],
                "permissions": [], "permissionSets": [["SPOT"]],
                "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER",
                                                    "EXPIRE_BOTH"],
            }],
        }  # fmt: skip

    def _depth(self, params: Mapping[str, str]) -> dict[str, Any]:
        if "symbol" not in params:
            raise _Reject(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        self._check_symbol(params)
        limit = min(5000, _int(params.get("limit", "100"), "limit"))
        bids, asks = self.book()
        return {
            "lastUpdateId": self._update_id,
            "bids": [[fmt(p), fmt(q)] for p, q in bids[:limit]],
            "asks": [[fmt(p), fmt(q)] for p, q in asks[:limit]],
        }

    def _new_order(self, account: str, params: Mapping[str, str]) -> dict[str, Any]:
        for name in ("symbol", "side", "type", "quantity"):
            if not params.get(name):
                raise _Reject(
                    400,
                    -1102,
                    f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                )
        side = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}.get(params["side"])
        otype = _TYPES.get(params["type"])
        if side is None:
            raise _Reject(400, -1117, "Invalid side.")
        if otype is None:
            raise _Reject(400, -1116, "Invalid orderType.")
        qty = _raw(params["quantity"])
        if qty is None:
            raise _Reject(
                400,
                -1100,
                "Illegal characters found in parameter 'quantity'; legal range is "
                "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
            )
        price = 0
        tif = params.get("timeInForce", "GTC")
        if params["type"] == "LIMIT" and ("price" not in params or "timeInForce" not in params):
            raise _Reject(
                400,
                -1102,
                "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
            )
        if otype is OrderType.LIMIT:
            p = _raw(params.get("price", ""))
            if p is None or p <= 0:
                raise _Reject(400, -1100, "Illegal characters found in parameter 'price'.")
            price = p
            if price % self.tick:
                raise _Reject(400, -1013, "Filter failure: PRICE_FILTER")
        if tif not in _TIFS:
            raise _Reject(400, -1115, "Invalid timeInForce.")
        if (
            qty <= 0
            or qty % self.lot
            or not _need(self.symbol.min_qty) <= qty <= _need(self.symbol.max_qty)
        ):
            raise _Reject(400, -1013, "Filter failure: LOT_SIZE")
        client_id = params.get("newClientOrderId") or f"web_{secrets.token_hex(10)}"
        existing = self._by_client.get((account, client_id))
        if existing is not None and self._orders[existing].status in ("NEW", "PARTIALLY_FILLED"):
            raise _Reject(400, -2010, "Duplicate order sent.")
        now = self.server_time_ms()
        internal = next(self._ids)
        post_only = params["type"] == "LIMIT_MAKER"
        order = _Order(internal, account, self.symbol.symbol, client_id, 0, side,
                       params["type"], "GTC" if post_only else tif, price, 0, qty, now,
                       update_ms=now)  # fmt: skip
        self._orders[internal] = order
        self._by_client[(account, client_id)] = internal
        self._order_count += 1
        self.engine.submit(
            internal, side, qty, order_type=otype, price=price,
            time_in_force=TimeInForce.GTC if post_only else _TIFS[tif], post_only=post_only,
            trader_id=self._trader_ids[account], ts=self._ts(),
        )  # fmt: skip
        events = self.engine.event_records()
        rejected = [e for e in events if e.kind is MatchEventKind.REJECTED]
        if rejected and rejected[0].client_order_id == internal:
            del self._orders[internal]
            del self._by_client[(account, client_id)]
            reason = rejected[0].reason
            if reason is Reason.POST_ONLY_WOULD_TAKE:
                raise _Reject(400, -2010, "Order would immediately match and take.")
            text = "PRICE_FILTER" if "PRICE" in reason.name else "LOT_SIZE"
            raise _Reject(400, -1013, f"Filter failure: {text}")
        self._process(events)
        resp = params.get("newOrderRespType", "FULL" if otype is OrderType.MARKET else "ACK")
        ack = {"symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
               "clientOrderId": client_id, "transactTime": now}  # fmt: skip
        if resp == "ACK":
            return ack
        body = {**ack, **{k: v for k, v in self._order_body(order).items()
                          if k not in ("time", "updateTime", "isWorking", "stopPrice",
                                       "icebergQty")}}  # fmt: skip
        body["transactTime"] = now
        if resp == "FULL":
            body["fills"] = list(order.fills)
        return body

    def _find(self, account: str, params: Mapping[str, str], code: int, msg: str) -> _Order:
        internal: int | None = None
        if params.get("orderId"):
            internal = self._by_order_id.get(_int(params["orderId"], "orderId"))
        elif params.get("origClientOrderId"):
            internal = self._by_client.get((account, params["origClientOrderId"]))
        else:
            raise _Reject(
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        order = self._orders.get(internal) if internal is not None else None
        if order is None or order.account != account:
            raise _Reject(400, code, msg)
        return order

    def _open(self, account: str) -> list[_Order]:
        return [o for o in self._orders.values()
                if o.account == account and o.status in ("NEW", "PARTIALLY_FILLED")]  # fmt: skip

    def _cancel(self, account: str, params: Mapping[str, str]) -> dict[str, Any]:
        order = self._find(account, params, -2011, "Unknown order sent.")
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise _Reject(400, -2011, "Unknown order sent.")
        return self._cancel_one(account, order)

    def _cancel_one(self, account: str, order: _Order) -> dict[str, Any]:
        self.engine.cancel(order.internal_id, trader_id=self._trader_ids[account], ts=self._ts())
        self._process(self.engine.event_records())
        body = {"symbol": order.symbol, "origClientOrderId": order.client_order_id,
                "orderId": order.order_id, "orderListId": -1,
                "clientOrderId": secrets.token_hex(11),
                "transactTime": self.server_time_ms()}  # fmt: skip
        full = self._order_body(order)
        for k in ("price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty",
                  "status", "timeInForce", "type", "side", "selfTradePreventionMode"):  # fmt: skip
            body[k] = full[k]
        return body

    def _order_body(self, o: _Order) -> dict[str, Any]:
        return {
            "symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
            "clientOrderId": o.client_order_id, "price": fmt(o.price), "origQty": fmt(o.qty),
            "executedQty": fmt(o.executed), "cummulativeQuoteQty": fmt(o.cum_quote),
            "status": o.status, "timeInForce": o.tif, "type": o.type, "side": o.side.name,
            "stopPrice": fmt(o.stop_price), "icebergQty": fmt(0), "time": o.time_ms,
            "updateTime": o.update_ms, "isWorking": True, "workingTime": o.time_ms,
            "origQuoteOrderQty": fmt(0), "selfTradePreventionMode": "NONE",
        }  # fmt: skip


def _wrap(conn: _Conn, stream: str, text: str) -> str:
    return f'{{"stream":{json.dumps(stream)},"data":{text}}}' if conn.combined else text


def _need(text: str) -> int:
    raw = _raw(text)
    if raw is None:
        raise ValueError(f"not a decimal: {text!r}")
    return raw


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Reject(400, -1100, f"Illegal characters found in parameter '{name}'.") from None
