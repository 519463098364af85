"""The loopback Binance venue as the live conformance kit steers it.

:class:`BinanceConformanceVenue` is a :class:`~alphaforge_binance.loopback.BinanceLoopbackVenue`
that implements :class:`alphaforge.testing.VenueControl`: it moves and reports its market in
the kit's terms (decimal levels, the diff-depth update id as the book sequence, the trade
stream's ids), fills a resting order by venue-side flow, and injects the kit's faults. It lives
in this package because it works on the loopback's internals (orders, connections, streams);
the loopback itself stays the Binance protocol, the faults here are the kit's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from alphaforge.errors import InvalidValue
from alphaforge.matching import MatchEventKind
from alphaforge.model import InstrumentId, OrderSide, OrderType, TimeInForce
from alphaforge.net.loopback import HttpReply, RecordedRequest
from alphaforge_binance import loopback as _lb
from alphaforge_binance.loopback import BinanceLoopbackVenue

__all__ = ["BinanceConformanceVenue"]

_SCALE: Final = Decimal(10) ** 8  # the loopback prints every value at 8 decimals
_JSON: Final = ("Content-Type", "application/json;charset=UTF-8")
_SETTLE_S: Final = 0.05  # clock tolerance of the Retry-After window (same host, two threads)
_ORDER_ENTRY: Final = frozenset({"POST", "PUT", "DELETE"})


def _dec(raw: int) -> Decimal:
    return Decimal(raw) / _SCALE


class BinanceConformanceVenue(BinanceLoopbackVenue):
    """The loopback venue plus the :class:`~alphaforge.testing.VenueControl` of the live kit.

    Takes the arguments of :class:`~alphaforge_binance.loopback.BinanceLoopbackVenue`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._printed: list[str] = []
        self._duplicate: set[str] = set()
        self._hold: set[str] = set()
        self._held_book: dict[str, Mapping[str, Any]] = {}
        self._reject_next = False
        self._throttle_next: int | None = None
        self._blocked_until = 0.0
        self._violations = 0

    # -- the market ------------------------------------------------------------------------

    def _stream(self, instrument_id: InstrumentId, suffix: str) -> str:
        symbol = instrument_id.symbol.value
        if symbol != self.symbol.symbol:
            raise InvalidValue("instrument_id", str(instrument_id),
                               f"the loopback venue trades {self.symbol.symbol} only")  # fmt: skip
        return f"{symbol.lower()}@{suffix}"

    def move_market(self, steps: int = 1) -> None:
        """Scripted market moves (:meth:`step`)."""
        self.step(steps)

    def market_book(
        self, instrument_id: InstrumentId
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The published book in decimals, best first."""
        self._stream(instrument_id, "depth")
        bids, asks = self.book()
        return [(_dec(p), _dec(q)) for p, q in bids], [(_dec(p), _dec(q)) for p, q in asks]

    def book_sequence(self, instrument_id: InstrumentId) -> int:
        """The last published diff-depth update id (``u``)."""
        self._stream(instrument_id, "depth")
        return self.last_update_id

    def printed_trades(self, instrument_id: InstrumentId) -> Sequence[str]:
        """Ids (``t``) of every trade printed on ``<symbol>@trade``."""
        self._stream(instrument_id, "trade")
        with self._lock:
            return tuple(self._printed)

    def fill_resting(
        self, instrument_id: InstrumentId, client_order_id: str, quantity: Decimal
    ) -> None:
        """A taker sends an IOC limit at the order's price sized to trade exactly ``quantity``
        with it: everything ahead of it (better prices, earlier orders at its price) first."""
        self._stream(instrument_id, "trade")
        raw = Decimal(quantity) * _SCALE
        if raw != raw.to_integral_value() or raw <= 0:
            raise InvalidValue("quantity", str(quantity), "must be > 0 at 8 decimals at most")
        qty = int(raw)
        with self._lock:
            internal = next((i for (_, coid), i in self._by_client.items()
                             if coid == client_order_id), None)  # fmt: skip
            resting = self.engine.order(internal) if internal is not None else None
            if internal is None or resting is None:
                raise InvalidValue("client_order_id", client_order_id, "no resting order")
            if qty > resting.leaves:
                raise InvalidValue("quantity", str(quantity),
                                   f"exceeds what is left ({_dec(resting.leaves)})")  # fmt: skip
            side, price = resting.side, resting.price
            sign = 1 if side is OrderSide.BUY else -1  # better = higher bid / lower ask
            ahead = sum(
                lv.visible
                for lv in self.engine.depth(side, 100_000)
                if sign * (lv.price - price) > 0
            )
            for other in (*self._mm_orders, *self._orders):  # time priority = arrival order
                if other < internal:
                    o = self.engine.order(other)
                    if o is not None and o.side is side and o.price == price:
                        ahead += o.visible
            before = self._orders[internal].executed
            taker = OrderSide.SELL if side is OrderSide.BUY else OrderSide.BUY
            self.engine.submit(next(self._ids), taker, ahead + qty, order_type=OrderType.LIMIT,
                               price=price, time_in_force=TimeInForce.IOC,
                               trader_id=_lb._TAKER, ts=self._ts())  # fmt: skip
            events = self.engine.event_records()
            if any(e.kind is MatchEventKind.REJECTED for e in events):
                raise RuntimeError(f"the venue refused the taker order: {events}")
            self._process(events)
            filled = self._orders[internal].executed - before
            if filled != qty:
                raise RuntimeError(f"venue-side flow filled {_dec(filled)} of {client_order_id}, "
                                   f"not {quantity}")  # fmt: skip

    # -- observation ---------------------------------------------------------------------

    def stream_subscribers(self, channel: str, instrument_id: InstrumentId | None = None) -> int:
        """Open connections receiving ``channel`` (``trades``/``quotes``/``book``/``bars``/
        ``user``)."""
        if channel == "user":
            return self.subscribers("user")
        if instrument_id is None:
            raise InvalidValue("instrument_id", None, f"channel {channel!r} needs one")
        if channel == "bars":  # any kline interval
            prefix = self._stream(instrument_id, "kline_")
            with self._lock:
                return sum(1 for c in self._conns if any(s.startswith(prefix) for s in c.streams))
        names = {"trades": ("trade",), "quotes": ("bookTicker",),
                 "book": ("depth", "depth@100ms")}.get(channel)  # fmt: skip
        if names is None:
            raise InvalidValue("channel", channel, "must be trades, quotes, book, bars or user")
        streams = {self._stream(instrument_id, n) for n in names}
        with self._lock:
            return sum(1 for c in self._conns if c.streams & streams)

    def stream_connections(self) -> int:
        """Websocket connections accepted so far."""
        return self.ws.connections

    def order_requests(self) -> int:
        """Order-entry requests (POST/PUT/DELETE except listen-key management) received."""
        return sum(
            1 for r in list(self.http.requests)
            if r.method in _ORDER_ENTRY and "userDataStream" not in r.path
            and "listenKey" not in r.path
        )  # fmt: skip

    # -- faults --------------------------------------------------------------------------

    def drop_streams(self, *, market: bool = True, user: bool = False) -> int:
        """Abort public and/or user-stream connections after what is queued on them."""
        with self._lock:
            victims = [c for c in self._conns
                       if (market if c.listen_key is None else user)]  # fmt: skip
            for conn in victims:
                self._push(conn, _lb._DROP)
            return len(victims)

    def skip_book_updates(self, count: int = 1) -> None:
        """Withhold the next ``count`` diff-depth events."""
        with self._lock:
            self.faults.skip_depth += count

    def _depth_streams(self) -> set[str]:
        sym = self.symbol.symbol.lower()
        return {f"{sym}@depth", f"{sym}@depth@100ms"}

    def duplicate_next_book_update(self) -> None:
        """Send the next diff-depth event twice (on each depth stream)."""
        with self._lock:
            self._duplicate = self._depth_streams()

    def reorder_next_book_updates(self) -> None:
        """Send the next two diff-depth events swapped (on each depth stream)."""
        with self._lock:
            self._hold = self._depth_streams()

    def send_garbage_frames(self) -> None:
        """A non-JSON text frame on every public-stream connection."""
        self.send_garbage()

    def delay_next_order_reply(self, seconds: float) -> None:
        """Answer the next new order ``seconds`` late (it executes at once)."""
        with self._lock:
            self.faults.delay_next_order = seconds

    def reject_next_order(self) -> None:
        """Answer the next new order -2010 (insufficient balance), unexecuted."""
        with self._lock:
            self._reject_next = True

    def rate_limit_next_request(self, retry_after: int) -> None:
        """429 + ``Retry-After`` to the next request; 418 (ban) to any before it passes."""
        with self._lock:
            self._throttle_next = retry_after

    def rate_limit_violations(self) -> int:
        """Requests that arrived inside an announced Retry-After window."""
        with self._lock:
            return self._violations

    # -- hooks into the loopback ---------------------------------------------------------

    def _broadcast(self, stream: str, data: Mapping[str, Any]) -> None:
        if stream.endswith("@trade"):
            self._printed.append(str(data["t"]))
        if stream in self._duplicate:
            self._duplicate.discard(stream)
            super()._broadcast(stream, data)
        elif stream in self._hold:
            self._hold.discard(stream)
            self._held_book[stream] = dict(data)
            return
        super()._broadcast(stream, data)
        held = self._held_book.pop(stream, None)
        if held is not None:
            super()._broadcast(stream, held)

    def _handle_http(self, req: RecordedRequest) -> HttpReply:
        with self._lock:
            now = time.monotonic()
            if now < self._blocked_until:
                self._violations += 1
                ban_ms = int((time.time() + 120) * 1000)
                return self._error(418, -1003, f"Way too many requests; IP(127.0.0.1) banned "
                                   f"until {ban_ms}. Please use the websocket for live updates "
                                   "to avoid bans.", retry_after=120)  # fmt: skip
            if self._throttle_next is not None:
                retry_after, self._throttle_next = self._throttle_next, None
                self._blocked_until = now + retry_after - _SETTLE_S
                return self._error(429, -1003, "Too many requests; current limit of IP(127.0.0.1) "
                                   f"request weight per minute is {self.weight_limit}.",
                                   retry_after=retry_after)  # fmt: skip
            if self._reject_next and req.method == "POST" and req.path.endswith("/order"):
                self._reject_next = False
                return self._error(400, -2010, "Account has insufficient balance for "
                                   "requested action.")  # fmt: skip
        return super()._handle_http(req)

    def _error(
        self, status: int, code: int, msg: str, *, retry_after: int | None = None
    ) -> HttpReply:
        headers: tuple[tuple[str, str], ...] = (_JSON, *self._weight_hdr())
        if retry_after is not None:
            headers += (("Retry-After", str(retry_after)),)
        return HttpReply(status, json.dumps({"code": code, "msg": msg}).encode(), headers)
