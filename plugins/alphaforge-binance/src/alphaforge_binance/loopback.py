"""A loopback Binance venue for tests (Spot, or USD-M futures with ``market="usdm"``): Binance's
REST and WebSocket protocol over real sockets on ``127.0.0.1``, backed by the native
:class:`~alphaforge.matching.MatchingEngine` in exchange mode.

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
``U``/``u``, ``<symbol>@trade``, ``@aggTrade``, ``@bookTicker``, ``@kline_<interval>`` (from
the venue's trades); ``/ws/<listenKey>`` is the user data stream (``executionReport`` on
accept, fill, cancel, expiry).

Accounts: spot ``GET /api/v3/account`` (balances: fills move base and quote, the quote
commission is debited, open orders lock what they may spend), ``GET /api/v3/myTrades``,
``GET /api/v3/allOrders``, ``POST /api/v3/order/cancelReplace`` (``STOP_ON_FAILURE``) and
``PUT``/``DELETE /api/v3/userDataStream``. Listen keys expire after ``listen_key_ttl_s`` without
a keepalive (:meth:`BinanceLoopbackVenue.expire_listen_keys` forces it: the user streams get
``listenKeyExpired`` and are closed; the key is unknown afterwards, ``-1125``).

USD-M (``market="usdm"``): the same engine behind ``/fapi/v1`` (``ping``, ``time``,
``exchangeInfo`` of one perpetual, ``depth``, ``order`` incl. ``PUT`` amend, ``openOrders``,
``allOpenOrders``, ``allOrders``, ``userTrades``, ``listenKey``) and ``/fapi/v2`` (``balance``,
``account``, ``positionRisk``); diff-depth events carry ``pu``; the user stream sends
``ORDER_TRADE_UPDATE`` and, on fills, ``ACCOUNT_UPDATE``. One-way (net) positions per account:
a fill moves the position at its average entry price and settles realised PnL and commission
in the margin asset; ``reduceOnly`` orders that would not reduce are rejected (-2022).

Keys: ``api_keys`` maps an API key to its HMAC secret, or to the PEM public key of an Ed25519
key pair (the ``signature`` is then the base64 Ed25519 signature of the same payload).

The market is scripted: :meth:`BinanceLoopbackVenue.step` lets a seeded market maker add and
cancel orders and a seeded taker trade against them; every change of the book is published as
one diff-depth event. Fault switches are on :class:`Faults`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

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
    reduce_only: bool = False


@attrs.define
class _Conn:
    peer: WsPeer
    queue: asyncio.Queue[Any]
    combined: bool
    streams: set[str]
    listen_key: str | None


class _CancelReplaceFailed(Exception):
    """A failed cancel-replace: HTTP 400 with code -2022 and both halves' results."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__("Order cancel-replace failed.")
        self.data = data


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
    ("DELETE", "/api/v3/userDataStream"): 2, ("POST", "/api/v3/order/cancelReplace"): 1,
    ("GET", "/api/v3/account"): 20, ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/api/v3/allOrders"): 20, ("PUT", "/api/v3/order"): 1,
    ("GET", "/fapi/v2/balance"): 5, ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
}  # fmt: skip
# USD-M request paths -> the handler's (spot-named) path; anything else is a 404 on USD-M.
_USDM_PATHS: Final = {
    **{f"/fapi/v1/{name}": f"/api/v3/{name}"
       for name in ("ping", "time", "exchangeInfo", "depth", "order", "openOrders", "allOrders")},
    "/fapi/v1/allOpenOrders": "/api/v3/openOrders", "/fapi/v1/listenKey": "/api/v3/userDataStream",
    "/fapi/v1/userTrades": "/api/v3/myTrades", "/fapi/v2/balance": "/fapi/v2/balance",
    "/fapi/v2/account": "/fapi/v2/account", "/fapi/v2/positionRisk": "/fapi/v2/positionRisk",
}  # fmt: skip
_SPOT_ONLY: Final = frozenset({"/api/v3/order/cancelReplace", "/api/v3/account"})


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
        ``{api_key: secret}`` of the accounts that may trade (HMAC secret, or the PEM public
        key of an Ed25519 key).
    market
        ``"spot"`` or ``"usdm"`` (see the module docs).
    balances
        Starting balances of every account (asset -> decimal string); default 100000 USDT and,
        on spot, 10 of the base asset.
    listen_key_ttl_s
        A listen key without keepalive for this long expires.
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
        market: str = "spot",
        balances: Mapping[str, str] | None = None,
        listen_key_ttl_s: float = 3600.0,
    ) -> None:
        if market not in ("spot", "usdm"):
            raise ValueError(f"market must be 'spot' or 'usdm', not {market!r}")
        self.market = market
        self.symbol = symbol or LoopbackSymbol()
        s = self.symbol
        self.tick, self.lot = _need(s.tick), _need(s.lot)
        self.api_keys = dict(api_keys or {"loopback-key": "loopback-secret"})
        self._public_keys = {
            key: _ed25519_public(key, secret)
            for key, secret in self.api_keys.items()
            if secret.startswith("-----BEGIN")
        }
        start = dict(balances or ({"USDT": "100000"} if market == "usdm"
                                  else {s.quote: "100000", s.base: "10"}))  # fmt: skip
        self._balances = {key: {a: _need(v) for a, v in start.items()} for key in self.api_keys}
        self._positions: dict[str, tuple[int, int]] = {k: (0, 0) for k in self.api_keys}
        self._my_trades: dict[str, list[dict[str, Any]]] = {k: [] for k in self.api_keys}
        self._last_price = _need(s.start_price)
        self.listen_key_ttl_s = listen_key_ttl_s
        self._listen_key_seen: dict[str, float] = {}
        self.keepalives = 0
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
        self._klines: dict[str, dict[str, int]] = {}  # interval -> the open kline (raw values)
        self._conns: list[_Conn] = []
        self._held: list[tuple[str, str]] = []
        self._listen_keys: dict[str, str] = {}
        self._trader_ids = {key: 10 + i for i, key in enumerate(self.api_keys)}
        self._weight_used = 0
        self._weight_bucket = -1
        self._order_times: dict[str, list[float]] = {}
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
                self._last_price = ev.price
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
                reports.extend(self._settle_fill(order, ev, now))
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
            # One taker fill at one price: an aggregate of exactly one trade.
            agg = {"e": "aggTrade", "E": now, "s": self.symbol.symbol, "a": ev.trade_id,
                   "p": fmt(ev.price), "q": fmt(ev.qty), "f": ev.trade_id, "l": ev.trade_id,
                   "T": now, "m": ev.side is OrderSide.SELL, "M": True}  # fmt: skip
            self._broadcast(f"{self.symbol.symbol.lower()}@aggTrade", agg)
        self._publish_klines(now, trades)
        self._publish_book(now, max(1, len(events)))
        for account, report in reports:
            self._send_user(account, report)

    def _publish_klines(self, now: int, trades: list[MatchEvent]) -> None:
        """``<symbol>@kline_<interval>`` for every interval someone streams: the open kline after
        each move with trades, the closed one (``"x": true``) once a move falls in a later
        window. Windows without trades are not published."""
        sym = self.symbol.symbol
        prefix = f"{sym.lower()}@kline_"
        wanted = {s[len(prefix) :] for c in self._conns for s in c.streams if s.startswith(prefix)}
        for interval in sorted(wanted):
            ms = _KLINE_MS.get(interval[-1:], 0) * int(interval[:-1] or 0)
            if not ms:
                continue
            start = now - now % ms
            k = self._klines.get(interval)
            if k is not None and k["t"] < start:
                self._broadcast(prefix + interval, _kline_msg(sym, interval, k, now, closed=True))
                del self._klines[interval]
                k = None
            for ev in trades:
                if k is None:
                    k = self._klines[interval] = {
                        "t": start, "T": start + ms - 1, "f": ev.trade_id, "o": ev.price,
                        "h": ev.price, "l": ev.price, "v": 0, "q": 0, "n": 0,
                    }  # fmt: skip
                k["L"], k["c"], k["n"] = ev.trade_id, ev.price, k["n"] + 1
                k["h"], k["l"] = max(k["h"], ev.price), min(k["l"], ev.price)
                k["v"] += ev.qty
                k["q"] += ev.qty * ev.price // _SCALE
            if trades and k is not None:
                self._broadcast(prefix + interval, _kline_msg(sym, interval, k, now, closed=False))

    def _snapshot_published(self) -> None:
        for side in (OrderSide.BUY, OrderSide.SELL):
            # Ask for a little more than the last count (a step moves a few levels), doubling
            # until the engine returns fewer: reading a fixed 100k levels cost ~0.5 ms a step.
            want = len(self._published[side]) + 64
            while len(levels := self.engine.depth(side, want)) == want:
                want *= 2
            self._published[side] = {lv.price: lv.visible for lv in levels if lv.visible}

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
        if self.market == "usdm":  # USD-M chains events by the previous event's u
            msg.update({"T": now, "pu": first - 1})
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
        if self.market == "usdm":
            return self._order_trade_update(o, msg, now)
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
            with self._lock:
                self._expire_stale_keys()
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
            except _CancelReplaceFailed as failed:
                text = json.dumps({"code": -2022, "msg": str(failed), "data": failed.data})
                return HttpReply(400, text.encode(), (_JSON, *self._weight_hdr()))

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

    def _local_path(self, method: str, path: str) -> str | None:
        """The handler path of a request path on this market (``None``: not served)."""
        if self.market == "spot":
            return None if path.startswith("/fapi/") else path
        local = _USDM_PATHS.get(path)
        if local == "/api/v3/openOrders" and (path == "/fapi/v1/openOrders") == (
            method == "DELETE"
        ):  # USD-M lists with GET openOrders and cancels with DELETE allOpenOrders
            return None
        if local in ("/api/v3/order", "/api/v3/userDataStream") or method != "PUT":
            return local
        return None

    def _route(self, req: RecordedRequest) -> HttpReply:
        params = dict(parse_qsl(req.query, keep_blank_values=True))
        if req.body and "x-www-form-urlencoded" in req.headers.get("content-type", ""):
            params.update(parse_qsl(req.body.decode(), keep_blank_values=True))
        path = self._local_path(req.method, req.path)
        if path is None or (self.market == "usdm" and path in _SPOT_ONLY):
            return HttpReply(404, b"", (_JSON,))
        if self.market == "spot" and (req.method, path) == ("PUT", "/api/v3/order"):
            return HttpReply(404, b"", (_JSON,))  # spot has no PUT order
        key = (req.method, path)
        if path == "/api/v3/depth" and req.method == "GET":
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
        elif path == "/api/v3/userDataStream":
            body = self._user_data_stream(req.method, self._api_key(req), params)
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
            elif key == ("DELETE", "/api/v3/openOrders"):
                body = [self._cancel_one(account, o) for o in self._open(account)]
                if self.market == "usdm":
                    body = {"code": 200, "msg": "The operation of cancel all open order is done."}
            elif key == ("POST", "/api/v3/order/cancelReplace"):
                body = self._cancel_replace(account, params)
            elif key == ("PUT", "/api/v3/order"):
                body = self._amend(account, params)
            elif key == ("GET", "/api/v3/myTrades"):
                body = self._trades_since(account, params)
            elif key == ("GET", "/api/v3/allOrders"):
                body = self._all_orders(account, params)
            else:
                body = self._account_body(account, path)
        headers = (_JSON, *self._weight_hdr())
        if path == "/api/v3/order" and req.method == "POST":
            in_10s, in_1d = self._order_counts(account)
            headers += (("X-MBX-ORDER-COUNT-10S", str(in_10s)),
                        ("X-MBX-ORDER-COUNT-1D", str(in_1d)))  # fmt: skip
        return HttpReply(200, json.dumps(body).encode(), headers, delay=delay)

    def _order_counts(self, account: str) -> tuple[int, int]:
        """New orders of ``account`` in the last 10 s and the last day (Binance counts per
        account, in rolling windows)."""
        now = time.monotonic()
        times = self._order_times.get(account, [])
        times[:] = [t for t in times if now - t < 86_400.0]
        return sum(1 for t in times if now - t < 10.0), len(times)

    def _api_key(self, req: RecordedRequest) -> str:
        key = req.headers.get("x-mbx-apikey", "")
        if key not in self.api_keys:
            raise _Reject(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return key

    def _signed(self, req: RecordedRequest, params: Mapping[str, str]) -> str:
        key = self._api_key(req)
        parts = [p for p in req.query.split("&") if p and not p.startswith("signature=")]
        payload = "&".join(parts).encode() + req.body
        if not self._signature_ok(key, payload, params.get("signature", "")):
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
        if self.market == "usdm":
            return self._usdm_exchange_info()
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
        gtx = self.market == "usdm" and tif == "GTX"  # USD-M post-only
        if gtx:
            tif = "GTC"
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
        reduce_only = params.get("reduceOnly") == "true"
        if reduce_only and not self._reduces(account, side, qty):
            raise _Reject(400, -2022, "ReduceOnly Order is rejected.")
        now = self.server_time_ms()
        internal = next(self._ids)
        post_only = params["type"] == "LIMIT_MAKER" or gtx
        order = _Order(internal, account, self.symbol.symbol, client_id, 0, side,
                       params["type"], "GTC" if post_only else tif, price, 0, qty, now,
                       update_ms=now)  # fmt: skip
        order.reduce_only = reduce_only
        self._orders[internal] = order
        self._by_client[(account, client_id)] = internal
        self._order_times.setdefault(account, []).append(time.monotonic())
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
        if self.market == "usdm":  # USD-M answers with the order object (RESULT)
            return self._order_body(order)
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

    # -- accounts, listen keys, cancel-replace, amend, USD-M bodies ------------------------------

    def _signature_ok(self, key: str, payload: bytes, signature: str) -> bool:
        public = self._public_keys.get(key)
        if public is None:
            expected = hmac.new(self.api_keys[key].encode(), payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected, signature)
        try:
            public.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    def _expire_stale_keys(self) -> None:
        now = time.monotonic()
        for listen_key, seen in list(self._listen_key_seen.items()):
            if now - seen > self.listen_key_ttl_s:
                self._expire(listen_key)

    def _expire(self, listen_key: str) -> None:
        self._listen_keys.pop(listen_key, None)
        self._listen_key_seen.pop(listen_key, None)
        event = {"e": "listenKeyExpired", "E": self.server_time_ms(), "listenKey": listen_key}
        for conn in self._conns:
            if conn.listen_key == listen_key:
                self._push(conn, json.dumps(event))
                self._push(conn, _DROP)

    @property
    def listen_keys(self) -> int:
        """How many listenKeys are live."""
        with self._lock:
            return len(self._listen_keys)

    def expire_listen_keys(self) -> int:
        """Expire every listen key now (as Binance does 60 minutes after the last keepalive):
        user streams get ``listenKeyExpired`` and are closed; returns how many keys."""
        with self._lock:
            keys = list(self._listen_keys)
            for listen_key in keys:
                self._expire(listen_key)
            return len(keys)

    def _user_data_stream(self, method: str, account: str, params: Mapping[str, str]) -> Any:
        self._expire_stale_keys()
        if method == "POST":
            mine = [k for k, a in self._listen_keys.items() if a == account]
            # USD-M hands out the account's live key again (extended); spot a new one.
            listen_key = mine[0] if mine and self.market == "usdm" else secrets.token_hex(32)
            self._listen_keys[listen_key] = account
            self._listen_key_seen[listen_key] = time.monotonic()
            return {"listenKey": listen_key}
        if self.market == "spot":
            listen_key = params.get("listenKey", "")
        else:
            listen_key = next((k for k, a in self._listen_keys.items() if a == account), "")
        if self._listen_keys.get(listen_key) != account:
            raise _Reject(400, -1125, "This listenKey does not exist.")
        if method == "PUT":
            self._listen_key_seen[listen_key] = time.monotonic()
            self.keepalives += 1
            return {"listenKey": listen_key} if self.market == "usdm" else {}
        self._listen_keys.pop(listen_key, None)  # DELETE
        self._listen_key_seen.pop(listen_key, None)
        return {}

    def _reduces(self, account: str, side: OrderSide, qty: int) -> bool:
        pos = self._positions[account][0] if self.market == "usdm" else 0
        signed = qty if side is OrderSide.BUY else -qty
        return pos != 0 and (pos > 0) != (signed > 0) and abs(signed) <= abs(pos)

    def _settle_fill(self, order: _Order, ev: MatchEvent, now: int) -> list[tuple[str, Any]]:
        """Book one fill on the account: balances, position, trade history."""
        account, qty, px, fee = order.account, ev.qty, ev.price, ev.fee
        buy = order.side is OrderSide.BUY
        balances = self._balances[account]
        quote, base = self.symbol.quote, self.symbol.base
        notional = qty * px // _SCALE
        realized = 0
        if self.market == "spot":
            balances[base] = balances.get(base, 0) + (qty if buy else -qty)
            balances[quote] = balances.get(quote, 0) + (-notional if buy else notional)
        else:
            pos, entry = self._positions[account]
            signed = qty if buy else -qty
            if pos == 0 or (pos > 0) == (signed > 0):
                entry = (abs(pos) * entry + qty * px) // (abs(pos) + qty)
            else:
                closed = min(qty, abs(pos))
                realized = closed * (px - entry) // _SCALE * (1 if pos > 0 else -1)
                if qty > abs(pos):
                    entry = px
            pos += signed
            self._positions[account] = (pos, entry if pos else 0)
            balances[quote] = balances.get(quote, 0) + realized
        balances[quote] = balances.get(quote, 0) - fee
        row: dict[str, Any] = {
            "symbol": order.symbol, "id": ev.trade_id, "orderId": order.order_id,
            "price": fmt(px), "qty": fmt(qty), "quoteQty": fmt(notional),
            "commission": fmt(fee), "commissionAsset": quote, "time": now,
        }  # fmt: skip
        if self.market == "spot":
            row.update({"orderListId": -1, "isBuyer": buy, "isMaker": ev.liquidity.name == "MAKER",
                        "isBestMatch": True})  # fmt: skip
        else:
            row.update({"side": order.side.name, "realizedPnl": fmt(realized),
                        "marginAsset": quote, "positionSide": "BOTH", "buyer": buy,
                        "maker": ev.liquidity.name == "MAKER"})  # fmt: skip
        self._my_trades[account].append(row)
        if self.market == "spot":  # the changed assets, free and locked
            locked = self._locked(account)
            rows = [{"a": a, "f": fmt(balances.get(a, 0) - locked.get(a, 0)),
                     "l": fmt(locked.get(a, 0))} for a in (base, quote)]  # fmt: skip
            return [(account, {"e": "outboundAccountPosition", "E": now, "u": now, "B": rows})]
        pos, entry = self._positions[account]
        update = {
            "e": "ACCOUNT_UPDATE", "E": now, "T": now,
            "a": {"m": "ORDER",
                  "B": [{"a": quote, "wb": fmt(balances[quote]), "cw": fmt(balances[quote]),
                         "bc": "0"}],
                  "P": [{"s": order.symbol, "pa": fmt(pos), "ep": fmt(entry), "bep": fmt(entry),
                         "cr": fmt(realized), "up": fmt(self._upnl(account)), "mt": "cross",
                         "iw": "0", "ps": "BOTH"}]},
        }  # fmt: skip
        return [(account, update)]

    def _mark(self) -> int:
        bid, ask = self.engine.best_bid(), self.engine.best_ask()
        if bid is not None and ask is not None:
            return (bid.price + ask.price) // 2
        return self._last_price

    def _upnl(self, account: str) -> int:
        pos, entry = self._positions[account]
        return pos * (self._mark() - entry) // _SCALE

    def _locked(self, account: str) -> dict[str, int]:
        """What open orders hold: spot quote notional of buys and base of sells; USD-M the
        initial margin (5%) of open orders and the position."""
        locked: dict[str, int] = {}
        quote, base = self.symbol.quote, self.symbol.base
        for o in self._open(account):
            left = o.qty - o.executed
            if self.market == "usdm" or o.side is OrderSide.BUY:
                locked[quote] = locked.get(quote, 0) + left * o.price // _SCALE
            else:
                locked[base] = locked.get(base, 0) + left
        if self.market == "usdm":
            pos, entry = self._positions[account]
            locked[quote] = (locked.get(quote, 0) + abs(pos) * entry // _SCALE) // 20
        return locked

    def position(self, api_key: str | None = None) -> tuple[str, str]:
        """USD-M: the account's net position ``(signed quantity, entry price)`` as decimals."""
        key = api_key or next(iter(self.api_keys))
        with self._lock:
            pos, entry = self._positions[key]
            return fmt(pos), fmt(entry)

    def balance(self, asset: str, api_key: str | None = None) -> str:
        """The account's total balance of ``asset`` (wallet balance on USD-M)."""
        key = api_key or next(iter(self.api_keys))
        with self._lock:
            return fmt(self._balances[key].get(asset, 0))

    def _account_body(self, account: str, path: str) -> Any:
        now = self.server_time_ms()
        balances, locked = self._balances[account], self._locked(account)
        if path == "/api/v3/account":
            return {
                "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "brokered": False, "updateTime": now,
                "accountType": "SPOT",
                "balances": [{"asset": a, "free": fmt(t - locked.get(a, 0)),
                              "locked": fmt(locked.get(a, 0))} for a, t in balances.items()],
                "permissions": ["SPOT"], "uid": 1,
            }  # fmt: skip
        quote = self.symbol.quote
        upnl = self._upnl(account)
        if path == "/fapi/v2/positionRisk":
            pos, entry = self._positions[account]
            mark = self._mark()
            return [{
                "symbol": self.symbol.symbol, "positionAmt": fmt(pos), "entryPrice": fmt(entry),
                "breakEvenPrice": fmt(entry), "markPrice": fmt(mark),
                "unRealizedProfit": fmt(upnl), "liquidationPrice": "0", "leverage": "20",
                "maxNotionalValue": "250000", "marginType": "cross", "isolatedMargin": "0",
                "isAutoAddMargin": "false", "positionSide": "BOTH",
                "notional": fmt(pos * mark // _SCALE), "isolatedWallet": "0", "updateTime": now,
            }]  # fmt: skip
        rows = [{
            "accountAlias": "LoOp", "asset": a, "balance": fmt(t), "crossWalletBalance": fmt(t),
            "crossUnPnl": fmt(upnl if a == quote else 0),
            "availableBalance": fmt(t - locked.get(a, 0) + (upnl if a == quote else 0)),
            "maxWithdrawAmount": fmt(t - locked.get(a, 0)), "marginAvailable": True,
            "updateTime": now,
        } for a, t in balances.items()]  # fmt: skip
        if path == "/fapi/v2/balance":
            return rows
        return {"assets": [{"asset": r["asset"], "walletBalance": r["balance"],
                            "availableBalance": r["availableBalance"]} for r in rows],
                "positions": self._account_body(account, "/fapi/v2/positionRisk")}  # fmt: skip

    def _trades_since(self, account: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        if not params.get("symbol"):
            raise _Reject(400, -1102, "Mandatory parameter 'symbol' was not sent, was "
                                      "empty/null, or malformed.")  # fmt: skip
        start = _int(params.get("startTime", "0"), "startTime")
        from_id = _int(params.get("fromId", "0"), "fromId")
        limit = min(1000, _int(params.get("limit", "500"), "limit"))
        rows = [r for r in self._my_trades[account] if r["time"] >= start and r["id"] >= from_id]
        return rows[:limit]

    def _all_orders(self, account: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        first = _int(params.get("orderId", "0"), "orderId")
        limit = min(1000, _int(params.get("limit", "500"), "limit"))
        rows = sorted((o for o in self._orders.values()
                       if o.account == account and o.order_id >= first),
                      key=lambda o: o.order_id)  # fmt: skip
        return [self._order_body(o) for o in rows[:limit]]

    def _cancel_replace(self, account: str, params: Mapping[str, str]) -> dict[str, Any]:
        """``STOP_ON_FAILURE`` only: cancel, then (if that worked) place the new order."""
        mode = params.get("cancelReplaceMode")
        if mode != "STOP_ON_FAILURE":
            raise _Reject(400, -1104, f"cancelReplaceMode {mode!r} is not supported here.")
        cancel_params = {"origClientOrderId": params.get("cancelOrigClientOrderId", ""),
                         "orderId": params.get("cancelOrderId", "")}  # fmt: skip
        try:
            cancel = self._cancel(account, cancel_params)
        except _Reject as rej:
            data = {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                    "cancelResponse": {"code": rej.code, "msg": rej.msg},
                    "newOrderResponse": None}  # fmt: skip
            raise _CancelReplaceFailed(data) from None
        new_params = {k: v for k, v in params.items() if not k.startswith("cancel")}
        try:
            new = self._new_order(account, new_params)
        except _Reject as rej:
            data = {"cancelResult": "SUCCESS", "newOrderResult": "FAILURE",
                    "cancelResponse": cancel,
                    "newOrderResponse": {"code": rej.code, "msg": rej.msg}}  # fmt: skip
            raise _CancelReplaceFailed(data) from None
        return {"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
                "cancelResponse": cancel, "newOrderResponse": new}  # fmt: skip

    def _amend(self, account: str, params: Mapping[str, str]) -> dict[str, Any]:
        """USD-M ``PUT /fapi/v1/order``: a LIMIT order's price and quantity."""
        order = self._find(account, params, -2013, "Order does not exist.")
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise _Reject(400, -2013, "Order does not exist.")
        price, qty = _raw(params.get("price", "")), _raw(params.get("quantity", ""))
        if price is None or qty is None or price <= 0 or qty <= order.executed:
            raise _Reject(400, -4028, "Price or quantity is not valid for an amendment.")
        if price % self.tick or qty % self.lot:
            raise _Reject(400, -1013, "Filter failure: PRICE_FILTER / LOT_SIZE")
        self.engine.modify(order.internal_id, price=price, qty=qty,
                           trader_id=self._trader_ids[account], ts=self._ts())  # fmt: skip
        events = self.engine.event_records()
        if any(e.kind is MatchEventKind.MODIFY_REJECTED for e in events):
            raise _Reject(400, -5027, "No need to modify the order.")
        order.price, order.qty = price, qty
        now = self.server_time_ms()
        order.update_ms = now
        self._send_user(account, self._exec_report(order, "AMENDMENT", now))
        self._process([e for e in events if e.kind is not MatchEventKind.UPDATED])
        return self._order_body(order)

    def _usdm_order_body(self, o: _Order) -> dict[str, Any]:
        avg = o.cum_quote * _SCALE // o.executed if o.executed else 0
        otype = "LIMIT" if o.type == "LIMIT_MAKER" else o.type
        return {
            "orderId": o.order_id, "symbol": o.symbol, "status": o.status,
            "clientOrderId": o.client_order_id, "price": fmt(o.price), "avgPrice": fmt(avg),
            "origQty": fmt(o.qty), "executedQty": fmt(o.executed), "cumQty": fmt(o.executed),
            "cumQuote": fmt(o.cum_quote), "timeInForce": o.tif, "type": otype,
            "reduceOnly": o.reduce_only, "closePosition": False, "side": o.side.name,
            "positionSide": "BOTH", "stopPrice": fmt(o.stop_price), "workingType": "CONTRACT_PRICE",
            "priceProtect": False, "origType": otype, "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE", "goodTillDate": 0, "time": o.time_ms,
            "updateTime": o.update_ms,
        }  # fmt: skip

    def _order_trade_update(self, o: _Order, spot: Mapping[str, Any], now: int) -> dict[str, Any]:
        """The USD-M ``ORDER_TRADE_UPDATE`` carrying what a spot ``executionReport`` says."""
        x = spot["x"]
        avg = o.cum_quote * _SCALE // o.executed if o.executed else 0
        return {
            "e": "ORDER_TRADE_UPDATE", "E": now, "T": now,
            "o": {
                "s": o.symbol, "c": o.client_order_id, "S": o.side.name,
                "o": "LIMIT" if o.type == "LIMIT_MAKER" else o.type,
                "f": "GTX" if o.type == "LIMIT_MAKER" else o.tif, "q": fmt(o.qty),
                "p": fmt(o.price), "ap": fmt(avg), "sp": fmt(o.stop_price),
                "x": "EXPIRED" if x == "TRADE_PREVENTION" else x, "X": o.status,
                "i": o.order_id, "l": spot["l"], "z": fmt(o.executed), "L": spot["L"],
                "N": spot["N"] or self.symbol.quote, "n": spot["n"], "T": now, "t": spot["t"],
                "b": "0", "a": "0", "m": spot["m"], "R": o.reduce_only, "wt": "CONTRACT_PRICE",
                "ot": o.type, "ps": "BOTH", "cp": False, "rp": "0", "pP": False, "si": 0,
                "ss": 0, "V": "NONE", "pm": "NONE", "gtd": 0,
            },
        }  # fmt: skip

    def _usdm_exchange_info(self) -> dict[str, Any]:
        s = self.symbol
        return {
            "timezone": "UTC", "serverTime": self.server_time_ms(), "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.weight_limit},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                 "limit": 1200},
            ],
            "exchangeFilters": [], "assets": [{"asset": s.quote, "marginAvailable": True}],
            "symbols": [{
                "symbol": s.symbol, "pair": s.symbol, "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000, "onboardDate": 1569398400000,
                "status": "TRADING", "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000", "baseAsset": s.base, "quoteAsset": s.quote,
                "marginAsset": s.quote, "pricePrecision": 2, "quantityPrecision": 5,
                "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
                "settlePlan": 0, "triggerProtect": "0.0500", "liquidationFee": "0.012500",
                "marketTakeBound": "0.05",
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": fmt(self.tick),
                     "maxPrice": "1000000", "tickSize": fmt(self.tick)},
                    {"filterType": "LOT_SIZE", "minQty": fmt(_need(s.min_qty)),
                     "maxQty": fmt(_need(s.max_qty)), "stepSize": fmt(self.lot)},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(_need(s.min_qty)),
                     "maxQty": fmt(_need(s.max_qty)), "stepSize": fmt(self.lot)},
                    {"filterType": "MIN_NOTIONAL", "notional": fmt(_need(s.min_notional))},
                ],
                "orderTypes": ["LIMIT", "MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }],
        }  # fmt: skip

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
        if self.market == "usdm":
            return self._order_body(order)
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
        if self.market == "usdm":
            return self._usdm_order_body(o)
        return {
            "symbol": o.symbol, "orderId": o.order_id, "orderListId": -1,
            "clientOrderId": o.client_order_id, "price": fmt(o.price), "origQty": fmt(o.qty),
            "executedQty": fmt(o.executed), "cummulativeQuoteQty": fmt(o.cum_quote),
            "status": o.status, "timeInForce": o.tif, "type": o.type, "side": o.side.name,
            "stopPrice": fmt(o.stop_price), "icebergQty": fmt(0), "time": o.time_ms,
            "updateTime": o.update_ms, "isWorking": True, "workingTime": o.time_ms,
            "origQuoteOrderQty": fmt(0), "selfTradePreventionMode": "NONE",
        }  # fmt: skip


_KLINE_MS: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _kline_msg(
    symbol: str, interval: str, k: Mapping[str, int], now: int, *, closed: bool
) -> dict[str, Any]:
    """A ``kline`` stream event as Binance sends it."""
    body = {"t": k["t"], "T": k["T"], "s": symbol, "i": interval, "f": k["f"], "L": k["L"],
            "o": fmt(k["o"]), "c": fmt(k["c"]), "h": fmt(k["h"]), "l": fmt(k["l"]),
            "v": fmt(k["v"]), "n": k["n"], "x": closed, "q": fmt(k["q"]), "V": "0.00000000",
            "Q": "0.00000000", "B": "0"}  # fmt: skip
    return {"e": "kline", "E": now, "s": symbol, "k": body}


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


def _ed25519_public(api_key: str, pem: str) -> ed25519.Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError(f"api_keys[{api_key!r}]: not an Ed25519 public key")
    return key
