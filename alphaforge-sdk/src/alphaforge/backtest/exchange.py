"""``SimulatedExchange``: a backtest venue on the native matching engine.

One :class:`~alphaforge.matching.MatchingEngine` (backtest mode) per instrument matches the
strategy's orders against the replayed market data: top of book for quotes, prints for trades,
OHLC paths for bars, visible liquidity with a queue-position estimate for L2 deltas (the rules
are in ``docs/matching-engine.md``). The exchange implements the
:class:`~alphaforge.execution.client.ExecutionClient` seam, so the execution engine cannot tell
it from a live adapter.

Keeping the per-event path lean (DESIGN.md §3): market data reaches the native engine only
while the instrument has working orders; a market order first syncs the engine with the latest
quote from the cache, then matches. Fees come from the instrument's maker/taker rates;
commissions are charged in the instrument's settlement currency.

Latency: ``order_latency_ns`` delays every command on its way to the venue (it is matched
against the market as it is when it arrives); ``event_latency_ns`` delays the venue's reports
on their way back. Both queues are drained in timestamp order by :meth:`advance`, which the
backtest calls whenever the replay clock passes :attr:`next_due_ns`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from alphaforge.errors import InvalidValue
from alphaforge.execution.client import EventHandler
from alphaforge.execution.messages import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from alphaforge.matching import (
    BAR_DTYPE,
    BOOK_DELTA_DTYPE,
    QUOTE_DTYPE,
    TRADE_DTYPE,
    EngineMode,
    MatchEventKind,
    MatchingEngine,
    QueueModel,
    reason_text,
)
from alphaforge.model.enums import LiquiditySide, OrderSide
from alphaforge.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
)
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    TradeId,
    Venue,
    VenueOrderId,
)
from alphaforge.model.instruments import Instrument
from alphaforge.model.orders import Order
from alphaforge.model.values import Money, Price, Quantity

NEVER = 2**64


@attrs.frozen
class ExchangeConfig:
    """How a simulated venue behaves.

    Parameters
    ----------
    order_latency_ns
        Delay of every command from the strategy to the venue.
    event_latency_ns
        Delay of the venue's reports (accepts, fills, ...) back to the strategy.
    queue_model
        Queue-position model for resting limit orders on L2 data.
    """

    order_latency_ns: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    event_latency_ns: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    queue_model: QueueModel = QueueModel.PROPORTIONAL


class _Market:
    """One instrument's matching engine and the id mappings around it."""

    __slots__ = (
        "engine", "instrument", "pp", "sp", "fee_currency", "working", "quote_buf",
        "synced_ts", "orders", "native_ids",
    )  # fmt: skip

    def __init__(self, instrument: Instrument, queue_model: QueueModel) -> None:
        self.instrument = instrument
        self.pp, self.sp = instrument.price_precision, instrument.size_precision
        self.fee_currency = instrument.settlement_currency
        self.engine = MatchingEngine(
            EngineMode.BACKTEST,
            price_precision=self.pp,
            size_precision=self.sp,
            price_increment=instrument.tick_size.raw,
            size_increment=instrument.lot_size.raw,
            min_quantity=instrument.min_quantity.raw if instrument.min_quantity else 0,
            max_quantity=instrument.max_quantity.raw if instrument.max_quantity else 0,
            maker_fee=instrument.maker_fee,
            taker_fee=instrument.taker_fee,
            fee_precision=self.fee_currency.precision,
            queue_model=queue_model,
        )
        self.working = 0  # orders the engine holds: market data must reach it
        self.quote_buf = np.zeros(1, dtype=QUOTE_DTYPE)
        self.synced_ts = -1  # ts of the last quote the engine saw
        self.orders: dict[int, Order] = {}  # native id -> order
        self.native_ids: dict[ClientOrderId, int] = {}


class SimulatedExchange:
    """A backtest venue (an :class:`~alphaforge.execution.client.ExecutionClient`).

    Parameters
    ----------
    venue, account_id
        The venue it simulates and the account orders are placed on.
    instruments
        The instruments it lists.
    on_event
        Where reports go: the execution engine's ``process``.
    clock
        Returns the replay time (ns).
    latest_quote
        Returns the cache's latest quote of an instrument (to sync a matching engine that has
        not seen market data while it held no orders).
    config
        Latency and queue model.
    """

    def __init__(
        self,
        venue: Venue,
        account_id: AccountId,
        instruments: list[Instrument],
        on_event: EventHandler,
        clock: Callable[[], int],
        latest_quote: Callable[[InstrumentId], Any],
        config: ExchangeConfig | None = None,
    ) -> None:
        self._venue, self._account_id = venue, account_id
        self.config = config or ExchangeConfig()
        self._on_event, self._clock, self._latest_quote = on_event, clock, latest_quote
        self._markets: dict[InstrumentId, _Market] = {}
        for instrument in instruments:
            self.add_instrument(instrument)
        self._native_ids = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._inbound: list[tuple[int, int, Any]] = []  # (arrival ts, seq, command)
        self._outbound: list[tuple[int, int, OrderEvent]] = []  # (delivery ts, seq, event)
        self._seq = itertools.count()
        self.next_due_ns = NEVER
        self.fill_count = 0

    # -- ExecutionClient ----------------------------------------------------------------------

    @property
    def venue(self) -> Venue:
        return self._venue

    @property
    def account_id(self) -> AccountId:
        return self._account_id

    def submit_order(self, command: SubmitOrder) -> None:
        self._arrive(command)

    def modify_order(self, command: ModifyOrder) -> None:
        self._arrive(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._arrive(command)

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        self._arrive(command)

    # -- replay hooks (called by the backtest engine) ------------------------------------------

    def add_instrument(self, instrument: Instrument) -> None:
        """List an instrument (one matching engine)."""
        if instrument.id.venue != self._venue:
            raise InvalidValue("instrument", str(instrument.id), f"is not listed on {self._venue}")
        if instrument.id in self._markets:
            raise InvalidValue("instrument", str(instrument.id), "already listed")
        self._markets[instrument.id] = _Market(instrument, self.config.queue_model)

    def market(self, instrument_id: InstrumentId) -> _Market:
        market = self._markets.get(instrument_id)
        if market is None:
            raise InvalidValue("instrument_id", str(instrument_id), f"not listed on {self._venue}")
        return market

    def has_working_orders(self, instrument_id: InstrumentId) -> bool:
        return self._markets[instrument_id].working > 0

    def on_quote(
        self, market: _Market, ts: int, bid: int, ask: int, bid_sz: int, ask_sz: int
    ) -> None:
        """A quote for an instrument with working orders."""
        buf = market.quote_buf
        buf[0] = (ts, bid, ask, bid_sz, ask_sz)
        market.engine.process_quotes(buf)
        market.synced_ts = ts
        self._drain(market)

    def on_trades(self, market: _Market, trades: np.ndarray[Any, Any]) -> None:
        """Trade prints (``TRADE_DTYPE``) for an instrument with working orders."""
        market.engine.process_trades(trades)
        self._drain(market)

    def on_bars(self, market: _Market, bars: np.ndarray[Any, Any]) -> None:
        """Bars (``BAR_DTYPE``): working orders fill along each bar's OHLC path."""
        market.engine.process_bars(bars)
        self._drain(market)

    def on_deltas(self, market: _Market, deltas: np.ndarray[Any, Any]) -> None:
        """L2 deltas (``BOOK_DELTA_DTYPE``): the engine's view of visible liquidity."""
        market.engine.apply_deltas(deltas)
        self._drain(market)

    def advance(self, ts: int) -> None:
        """Deliver delayed commands and reports due at or before ``ts``, and expire orders."""
        while self._inbound and self._inbound[0][0] <= ts:
            _, _, command = heapq.heappop(self._inbound)
            self._execute(command)
        while self._outbound and self._outbound[0][0] <= ts:
            _, _, event = heapq.heappop(self._outbound)
            self._on_event(event)
        for market in self._markets.values():
            if market.working:
                market.engine.advance_time(ts)
                self._drain(market)
        self._reschedule()

    # -- commands ------------------------------------------------------------------------------

    def _reschedule(self) -> None:
        due = [q[0][0] for q in (self._inbound, self._outbound) if q]
        self.next_due_ns = min(due) if due else NEVER

    def _arrive(self, command: Any) -> None:
        latency = self.config.order_latency_ns
        if latency == 0:
            self._execute(command)
            return
        heapq.heappush(self._inbound, (self._clock() + latency, next(self._seq), command))
        self._reschedule()

    def _execute(self, command: Any) -> None:
        if type(command) is SubmitOrder:
            self._submit(command.order)
        elif type(command) is CancelOrder:
            self._cancel(command.instrument_id, command.client_order_id)
        elif type(command) is ModifyOrder:
            self._modify(command)
        elif type(command) is CancelAllOrders:
            market = self.market(command.instrument_id)
            for order in list(market.orders.values()):
                if command.order_side in (OrderSide.NO_SIDE, order.side):
                    self._cancel(command.instrument_id, order.client_order_id)
        else:
            raise InvalidValue("command", type(command).__name__, "not an execution command")

    def _sync(self, market: _Market) -> None:
        """Show the engine the latest quote if it has not seen it (it saw nothing while idle)."""
        quote = self._latest_quote(market.instrument.id)
        if quote is not None and quote.ts_init > market.synced_ts:
            self.on_quote(market, quote.ts_init, quote.bid_raw, quote.ask_raw,
                          quote.bid_size_raw, quote.ask_size_raw)  # fmt: skip

    def _submit(self, order: Order) -> None:
        market = self.market(order.instrument_id)
        self._sync(market)
        native_id = next(self._native_ids)
        market.orders[native_id] = order
        market.native_ids[order.client_order_id] = native_id
        inst = market.instrument
        market.engine.submit(
            native_id,
            order.side,
            order.quantity.raw * 10 ** (inst.size_precision - order.quantity.precision),
            order_type=order.order_type,
            price=_raw_at(order.price, inst.price_precision) or 0,
            trigger_price=_raw_at(order.trigger_price, inst.price_precision) or 0,
            time_in_force=order.time_in_force,
            expire_ts=order.expire_time_ns or 0,
            post_only=order.post_only,
            reduce_only=order.reduce_only,
            ts=self._clock(),
        )
        self._drain(market)

    def _native_id(self, market: _Market, client_order_id: ClientOrderId) -> int:
        # The execution engine only sends commands for orders it submitted here, and commands
        # arrive in the order they were sent; an unknown id is a caller bug, not venue news.
        native_id = market.native_ids.get(client_order_id)
        if native_id is None:
            raise InvalidValue("client_order_id", str(client_order_id), "never reached the venue")
        return native_id

    def _cancel(self, instrument_id: InstrumentId, client_order_id: ClientOrderId) -> None:
        market = self.market(instrument_id)
        native_id = self._native_id(market, client_order_id)
        market.engine.cancel(native_id, ts=self._clock())
        self._drain(market)

    def _modify(self, command: ModifyOrder) -> None:
        market = self.market(command.instrument_id)
        native_id = self._native_id(market, command.client_order_id)
        self._sync(market)
        inst = market.instrument
        market.engine.modify(
            native_id,
            qty=_raw_at(command.quantity, inst.size_precision),
            price=_raw_at(command.price, inst.price_precision),
            trigger_price=_raw_at(command.trigger_price, inst.price_precision),
            ts=self._clock(),
        )
        self._drain(market)

    # -- events ---------------------------------------------------------------------------------

    def _drain(self, market: _Market) -> None:
        for rec in market.engine.events():
            self._translate(market, rec)
        market.working = len(market.engine)  # resting + untriggered orders

    def _translate(self, market: _Market, rec: Any) -> None:
        kind = int(rec["kind"])
        native_id = int(rec["client_order_id"])
        order = market.orders.get(native_id)
        if order is None:
            return  # not one of ours (cannot happen in backtest mode)
        venue_order_id = VenueOrderId(f"{self._venue}-{int(rec['venue_order_id'])}")
        ts = int(rec["ts"]) or self._clock()
        if kind == MatchEventKind.ACCEPTED:
            self._report(order, OrderAccepted, ts=ts, venue_order_id=venue_order_id,
                         account_id=self._account_id)  # fmt: skip
        elif kind in (MatchEventKind.FILLED, MatchEventKind.PARTIALLY_FILLED):
            self.fill_count += 1
            self._report(
                order, OrderFilled, ts=ts,
                venue_order_id=venue_order_id, account_id=self._account_id,
                trade_id=TradeId(f"{self._venue}-{int(rec['trade_id']) or next(self._event_ids)}"),
                order_side=order.side, order_type=order.order_type,
                last_qty=Quantity.from_raw(int(rec["qty"]), market.sp),
                last_px=Price.from_raw(int(rec["price"]), market.pp),
                commission=Money.from_raw(int(rec["fee"]), market.fee_currency),
                liquidity_side=LiquiditySide(int(rec["liquidity"])),
            )  # fmt: skip
        elif kind == MatchEventKind.REJECTED:
            self._report(order, OrderRejected, ts=ts, account_id=self._account_id,
                         reason=reason_text(int(rec["reason"])))  # fmt: skip
        elif kind in (MatchEventKind.CANCELED, MatchEventKind.EXPIRED):
            ended = OrderCanceled if kind == MatchEventKind.CANCELED else OrderExpired
            self._report(order, ended, ts=ts, venue_order_id=venue_order_id,
                         account_id=self._account_id)  # fmt: skip
        elif kind == MatchEventKind.TRIGGERED:
            self._report(order, OrderTriggered, ts=ts, venue_order_id=venue_order_id,
                         account_id=self._account_id)  # fmt: skip
        elif kind == MatchEventKind.UPDATED:
            trigger = int(rec["trigger_price"])
            self._report(
                order, OrderUpdated, ts=ts, venue_order_id=venue_order_id,
                account_id=self._account_id,
                quantity=Quantity.from_raw(int(rec["qty"]), market.sp),
                price=Price.from_raw(int(rec["price"]), market.pp) if order.price else None,
                trigger_price=Price.from_raw(trigger, market.pp) if trigger else None,
            )  # fmt: skip
        elif kind in (MatchEventKind.MODIFY_REJECTED, MatchEventKind.CANCEL_REJECTED):
            cls = (OrderModifyRejected if kind == MatchEventKind.MODIFY_REJECTED
                   else OrderCancelRejected)  # fmt: skip
            self._report(order, cls, ts=ts, venue_order_id=venue_order_id,
                         account_id=self._account_id,
                         reason=reason_text(int(rec["reason"])))  # fmt: skip

    def _report(self, order: Order, cls: type[OrderEvent], ts: int, **fields: Any) -> None:
        fields.update(client_order_id=order.client_order_id, strategy_id=order.strategy_id,
                      instrument_id=order.instrument_id)  # fmt: skip
        now = ts
        event = cls(ts_event=now, ts_init=now + self.config.event_latency_ns,
                    event_id=f"{self._venue}-EV-{next(self._event_ids)}", **fields)  # fmt: skip
        if self.config.event_latency_ns == 0:
            self._on_event(event)
        else:
            heapq.heappush(self._outbound, (event.ts_init, next(self._seq), event))
            self._reschedule()


def _raw_at(value: Price | Quantity | None, precision: int) -> int | None:
    """``value``'s raw at the instrument's ``precision`` (the engine has one fixed scale; the
    risk engine admits only values at that precision or coarser)."""
    return None if value is None else value.raw * 10 ** (precision - value.precision)


__all__ = ["BAR_DTYPE", "BOOK_DELTA_DTYPE", "TRADE_DTYPE", "ExchangeConfig", "SimulatedExchange"]
