"""The :class:`Order` entity and its explicit state machine.

The whole lifecycle is one table, :data:`ORDER_TRANSITIONS`, mapping ``(status, event type)`` to
the new status. Two targets are not a plain status:

* :data:`PREVIOUS_STATUS` -- return to the status the order had before it entered
  ``PENDING_UPDATE`` / ``PENDING_CANCEL`` (e.g. ``OrderCancelRejected`` while
  ``PENDING_CANCEL`` goes back to ``ACCEPTED`` or ``PARTIALLY_FILLED``).
* ``OrderFilled`` rows say ``PARTIALLY_FILLED``; a fill that leaves nothing open makes the order
  ``FILLED`` instead.

A pair missing from the table raises :class:`~alphaforge.errors.InvalidStateTransition` naming
the status and the event, and the order is left exactly as it was. The same holds for any other
error in :meth:`Order.apply` (wrong order id, overfill, duplicate trade id, ...): all checks run
before any field changes.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final, Literal

from alphaforge.errors import InvalidStateTransition, InvalidValue
from alphaforge.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from alphaforge.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderInitialized,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    VenueOrderId,
)
from alphaforge.model.values import Price, Quantity

__all__ = [
    "CLOSED_STATUSES",
    "INFLIGHT_STATUSES",
    "OPEN_STATUSES",
    "ORDER_TRANSITIONS",
    "PREVIOUS_STATUS",
    "Order",
    "TransitionTarget",
]


class _Previous(enum.Enum):
    PREVIOUS = "PREVIOUS_STATUS"

    def __repr__(self) -> str:
        return "PREVIOUS_STATUS"


PREVIOUS_STATUS: Final = _Previous.PREVIOUS
"""Table target: go back to the status held before the pending request."""

TransitionTarget = OrderStatus | Literal[_Previous.PREVIOUS]

_S = OrderStatus
_PF = OrderStatus.PARTIALLY_FILLED

ORDER_TRANSITIONS: Final[Mapping[tuple[OrderStatus, type[OrderEvent]], TransitionTarget]] = (
    MappingProxyType(
        {
            # INITIALIZED: local decisions, or emulated/reconciled orders.
            (_S.INITIALIZED, OrderDenied): _S.DENIED,
            (_S.INITIALIZED, OrderSubmitted): _S.SUBMITTED,
            (_S.INITIALIZED, OrderRejected): _S.REJECTED,
            (_S.INITIALIZED, OrderAccepted): _S.ACCEPTED,
            (_S.INITIALIZED, OrderCanceled): _S.CANCELED,
            (_S.INITIALIZED, OrderExpired): _S.EXPIRED,
            (_S.INITIALIZED, OrderTriggered): _S.TRIGGERED,
            (_S.INITIALIZED, OrderUpdated): _S.INITIALIZED,
            # SUBMITTED: in flight; venue answers may arrive in any order (fill before ack).
            (_S.SUBMITTED, OrderRejected): _S.REJECTED,
            (_S.SUBMITTED, OrderAccepted): _S.ACCEPTED,
            (_S.SUBMITTED, OrderCanceled): _S.CANCELED,
            (_S.SUBMITTED, OrderExpired): _S.EXPIRED,
            (_S.SUBMITTED, OrderTriggered): _S.TRIGGERED,
            (_S.SUBMITTED, OrderPendingUpdate): _S.PENDING_UPDATE,
            (_S.SUBMITTED, OrderPendingCancel): _S.PENDING_CANCEL,
            (_S.SUBMITTED, OrderModifyRejected): _S.SUBMITTED,
            (_S.SUBMITTED, OrderCancelRejected): _S.SUBMITTED,
            (_S.SUBMITTED, OrderUpdated): _S.SUBMITTED,
            (_S.SUBMITTED, OrderFilled): _PF,
            # ACCEPTED: working at the venue.
            (_S.ACCEPTED, OrderRejected): _S.REJECTED,
            (_S.ACCEPTED, OrderCanceled): _S.CANCELED,
            (_S.ACCEPTED, OrderExpired): _S.EXPIRED,
            (_S.ACCEPTED, OrderTriggered): _S.TRIGGERED,
            (_S.ACCEPTED, OrderPendingUpdate): _S.PENDING_UPDATE,
            (_S.ACCEPTED, OrderPendingCancel): _S.PENDING_CANCEL,
            (_S.ACCEPTED, OrderModifyRejected): _S.ACCEPTED,
            (_S.ACCEPTED, OrderCancelRejected): _S.ACCEPTED,
            (_S.ACCEPTED, OrderUpdated): _S.ACCEPTED,
            (_S.ACCEPTED, OrderFilled): _PF,
            # TRIGGERED: a stop/if-touched order became live.
            (_S.TRIGGERED, OrderRejected): _S.REJECTED,
            (_S.TRIGGERED, OrderCanceled): _S.CANCELED,
            (_S.TRIGGERED, OrderExpired): _S.EXPIRED,
            (_S.TRIGGERED, OrderPendingUpdate): _S.PENDING_UPDATE,
            (_S.TRIGGERED, OrderPendingCancel): _S.PENDING_CANCEL,
            (_S.TRIGGERED, OrderModifyRejected): _S.TRIGGERED,
            (_S.TRIGGERED, OrderCancelRejected): _S.TRIGGERED,
            (_S.TRIGGERED, OrderUpdated): _S.TRIGGERED,
            (_S.TRIGGERED, OrderFilled): _PF,
            # PENDING_UPDATE: a modify is in flight.
            (_S.PENDING_UPDATE, OrderRejected): _S.REJECTED,
            (_S.PENDING_UPDATE, OrderAccepted): _S.ACCEPTED,
            (_S.PENDING_UPDATE, OrderCanceled): _S.CANCELED,
            (_S.PENDING_UPDATE, OrderExpired): _S.EXPIRED,
            (_S.PENDING_UPDATE, OrderTriggered): _S.TRIGGERED,
            (_S.PENDING_UPDATE, OrderPendingUpdate): _S.PENDING_UPDATE,
            (_S.PENDING_UPDATE, OrderPendingCancel): _S.PENDING_CANCEL,
            (_S.PENDING_UPDATE, OrderModifyRejected): PREVIOUS_STATUS,
            (_S.PENDING_UPDATE, OrderCancelRejected): PREVIOUS_STATUS,
            (_S.PENDING_UPDATE, OrderUpdated): PREVIOUS_STATUS,
            (_S.PENDING_UPDATE, OrderFilled): _PF,
            # PENDING_CANCEL: a cancel is in flight.
            (_S.PENDING_CANCEL, OrderRejected): _S.REJECTED,
            (_S.PENDING_CANCEL, OrderAccepted): _S.ACCEPTED,
            (_S.PENDING_CANCEL, OrderCanceled): _S.CANCELED,
            (_S.PENDING_CANCEL, OrderExpired): _S.EXPIRED,
            (_S.PENDING_CANCEL, OrderPendingCancel): _S.PENDING_CANCEL,
            (_S.PENDING_CANCEL, OrderModifyRejected): _S.PENDING_CANCEL,
            (_S.PENDING_CANCEL, OrderCancelRejected): PREVIOUS_STATUS,
            (_S.PENDING_CANCEL, OrderUpdated): _S.PENDING_CANCEL,
            (_S.PENDING_CANCEL, OrderFilled): _PF,
            # PARTIALLY_FILLED: working with some quantity done.
            (_PF, OrderCanceled): _S.CANCELED,
            (_PF, OrderExpired): _S.EXPIRED,
            (_PF, OrderPendingUpdate): _S.PENDING_UPDATE,
            (_PF, OrderPendingCancel): _S.PENDING_CANCEL,
            (_PF, OrderModifyRejected): _PF,
            (_PF, OrderCancelRejected): _PF,
            (_PF, OrderUpdated): _PF,
            (_PF, OrderFilled): _PF,
            # DENIED, REJECTED, CANCELED, EXPIRED, FILLED are terminal: no rows.
        }
    )
)
"""The order state machine: ``(status, event type) -> new status``; absent pairs are illegal."""

OPEN_STATUSES: Final = frozenset(
    {_S.ACCEPTED, _S.TRIGGERED, _S.PENDING_UPDATE, _S.PENDING_CANCEL, _PF}
)
"""Working at the venue."""
CLOSED_STATUSES: Final = frozenset({_S.DENIED, _S.REJECTED, _S.CANCELED, _S.EXPIRED, _S.FILLED})
"""Terminal."""
INFLIGHT_STATUSES: Final = frozenset({_S.SUBMITTED, _S.PENDING_UPDATE, _S.PENDING_CANCEL})
"""A request is awaiting the venue's answer."""

_PENDING: Final = frozenset({_S.PENDING_UPDATE, _S.PENDING_CANCEL})
_AVG_PX_CONTEXT: Final = decimal.Context(prec=38, rounding=decimal.ROUND_HALF_EVEN)


class Order:
    """A mutable order entity driven by events.

    Build it from the request fields (an :class:`OrderInitialized` event is created and
    validated) or from an existing event with :meth:`from_init`; then feed venue/engine events
    to :meth:`apply`.

    Parameters
    ----------
    client_order_id, strategy_id, instrument_id
        Identity.
    side
        BUY or SELL.
    quantity
        Positive order quantity.
    order_type
        Default LIMIT.
    price, trigger_price
        Required/forbidden per type (see
        :func:`~alphaforge.model.events.validate_order_request`).
    time_in_force, expire_time_ns
        GTD needs ``expire_time_ns``.
    post_only, reduce_only
        Execution flags.
    ts_init
        Creation time, ns.
    event_id
        Id of the :class:`OrderInitialized` event (random UUID4 if ``None``).

    Raises
    ------
    InvalidValue
        The request is invalid (names the field and value).
    """

    __slots__ = (
        "_init",
        "_status",
        "_previous_status",
        "_quantity",
        "_price",
        "_trigger_price",
        "_filled_qty",
        "_notional_raw",
        "_notional_exp",
        "_venue_order_id",
        "_account_id",
        "_position_id",
        "_trade_ids",
        "_events",
        "_ts_last",
    )

    def __init__(
        self,
        *,
        client_order_id: ClientOrderId,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Quantity,
        order_type: OrderType = OrderType.LIMIT,
        price: Price | None = None,
        trigger_price: Price | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        expire_time_ns: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        ts_init: int = 0,
        event_id: str | None = None,
    ) -> None:
        extra = {} if event_id is None else {"event_id": event_id}
        init = OrderInitialized(
            client_order_id=client_order_id,
            strategy_id=strategy_id,
            instrument_id=instrument_id,
            side=side,
            order_type=order_type,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            time_in_force=time_in_force,
            expire_time_ns=expire_time_ns,
            post_only=post_only,
            reduce_only=reduce_only,
            ts_event=ts_init,
            ts_init=ts_init,
            **extra,
        )
        self._setup(init)

    @classmethod
    def from_init(cls, init: OrderInitialized) -> Order:
        """Build an order from its (already validated) :class:`OrderInitialized` event."""
        if type(init) is not OrderInitialized:
            raise InvalidValue("init", init, "must be an OrderInitialized event")
        order = object.__new__(cls)
        order._setup(init)
        return order

    def _setup(self, init: OrderInitialized) -> None:
        self._init = init
        self._status = OrderStatus.INITIALIZED
        self._previous_status: OrderStatus | None = None
        self._quantity = init.quantity
        self._price = init.price
        self._trigger_price = init.trigger_price
        self._filled_qty = Quantity.from_raw(0, init.quantity.precision)
        self._notional_raw = 0  # sum(last_px.raw * last_qty.raw), scaled to 10**-_notional_exp
        self._notional_exp = 0
        self._venue_order_id: VenueOrderId | None = None
        self._account_id: AccountId | None = None
        self._position_id: PositionId | None = None
        self._trade_ids: set[TradeId] = set()
        self._events: list[OrderEvent] = [init]
        self._ts_last = init.ts_event

    # -- read-only view ------------------------------------------------------------------------

    @property
    def client_order_id(self) -> ClientOrderId:
        """Client order id."""
        return self._init.client_order_id

    @property
    def strategy_id(self) -> StrategyId:
        """Owning strategy."""
        return self._init.strategy_id

    @property
    def instrument_id(self) -> InstrumentId:
        """Instrument."""
        return self._init.instrument_id

    @property
    def side(self) -> OrderSide:
        """BUY or SELL."""
        return self._init.side

    @property
    def order_type(self) -> OrderType:
        """Order type."""
        return self._init.order_type

    @property
    def time_in_force(self) -> TimeInForce:
        """Time in force."""
        return self._init.time_in_force

    @property
    def expire_time_ns(self) -> int | None:
        """GTD expiry (ns) or ``None``."""
        return self._init.expire_time_ns

    @property
    def post_only(self) -> bool:
        """Post-only flag."""
        return self._init.post_only

    @property
    def reduce_only(self) -> bool:
        """Reduce-only flag."""
        return self._init.reduce_only

    @property
    def init_event(self) -> OrderInitialized:
        """The originating request event."""
        return self._init

    @property
    def status(self) -> OrderStatus:
        """Current status."""
        return self._status

    @property
    def quantity(self) -> Quantity:
        """Current order quantity (may change with :class:`OrderUpdated`)."""
        return self._quantity

    @property
    def price(self) -> Price | None:
        """Current limit price."""
        return self._price

    @property
    def trigger_price(self) -> Price | None:
        """Current trigger price."""
        return self._trigger_price

    @property
    def filled_qty(self) -> Quantity:
        """Total filled quantity."""
        return self._filled_qty

    @property
    def leaves_qty(self) -> Quantity:
        """Quantity still open: ``quantity - filled_qty`` (zero once closed)."""
        if self._status in CLOSED_STATUSES:
            return Quantity.from_raw(0, self._quantity.precision)
        return self._quantity - self._filled_qty

    @property
    def avg_px(self) -> Decimal | None:
        """Volume-weighted average fill price (``None`` before any fill).

        Computed from an exact integer sum of ``price * size``; the single division is done
        with 38 significant digits, half-even.
        """
        filled = self._filled_qty
        if not filled.raw:
            return None
        num = Decimal(self._notional_raw).scaleb(-self._notional_exp)
        return _AVG_PX_CONTEXT.divide(num, filled.as_decimal())

    @property
    def venue_order_id(self) -> VenueOrderId | None:
        """Venue order id once known."""
        return self._venue_order_id

    @property
    def account_id(self) -> AccountId | None:
        """Account once known."""
        return self._account_id

    @property
    def position_id(self) -> PositionId | None:
        """Position id from the last fill that carried one."""
        return self._position_id

    @property
    def ts_last(self) -> int:
        """``ts_event`` of the last applied event."""
        return self._ts_last

    @property
    def events(self) -> tuple[OrderEvent, ...]:
        """All applied events, the :class:`OrderInitialized` first."""
        return tuple(self._events)

    @property
    def event_count(self) -> int:
        """Number of applied events."""
        return len(self._events)

    @property
    def last_event(self) -> OrderEvent:
        """The most recently applied event."""
        return self._events[-1]

    @property
    def is_open(self) -> bool:
        """Working at the venue (ACCEPTED, TRIGGERED, PENDING_*, PARTIALLY_FILLED)."""
        return self._status in OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        """Terminal (DENIED, REJECTED, CANCELED, EXPIRED, FILLED)."""
        return self._status in CLOSED_STATUSES

    @property
    def is_inflight(self) -> bool:
        """Awaiting a venue answer (SUBMITTED, PENDING_UPDATE, PENDING_CANCEL)."""
        return self._status in INFLIGHT_STATUSES

    def __repr__(self) -> str:
        return (
            f"Order({self.client_order_id}, {self.instrument_id}, {self.side.name} "
            f"{self._quantity} {self.order_type.name}, status={self._status.name}, "
            f"filled={self._filled_qty})"
        )

    # -- state machine -------------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> None:
        """Apply an event, moving the order along :data:`ORDER_TRANSITIONS`.

        Raises
        ------
        InvalidStateTransition
            The (status, event type) pair is not in the table.
        InvalidValue
            The event is for another order/instrument, a fill over-fills the order, repeats a
            trade id or has a zero size, or an update sets the quantity below the filled
            quantity.

        Any error leaves the order unchanged.
        """
        if not isinstance(event, OrderEvent):
            raise InvalidValue("event", event, "must be an OrderEvent")
        if event.client_order_id != self._init.client_order_id:
            raise InvalidValue(
                "event.client_order_id",
                str(event.client_order_id),
                f"event is not for order {self._init.client_order_id}",
            )
        if event.instrument_id != self._init.instrument_id:
            raise InvalidValue(
                "event.instrument_id",
                str(event.instrument_id),
                f"order {self._init.client_order_id} is for {self._init.instrument_id}",
            )
        status = self._status
        target = ORDER_TRANSITIONS.get((status, type(event)))
        if target is None:
            raise InvalidStateTransition(
                f"order {self._init.client_order_id}: {type(event).__name__} is not allowed "
                f"in status {status.name}"
            )
        new_status = (self._previous_status or status) if target is PREVIOUS_STATUS else target

        # Compute every change first; mutate only when nothing can fail any more.
        quantity = self._quantity
        price = self._price
        trigger_price = self._trigger_price
        filled = self._filled_qty
        notional_raw, notional_exp = self._notional_raw, self._notional_exp
        if isinstance(event, OrderFilled):
            last_qty = event.last_qty
            if type(last_qty) is not Quantity or not last_qty.raw:
                raise InvalidValue("last_qty", last_qty, "a fill must have a positive Quantity")
            if event.trade_id in self._trade_ids:
                raise InvalidValue("trade_id", str(event.trade_id), "duplicate fill for order")
            filled = filled + last_qty
            if filled > quantity:
                raise InvalidValue(
                    "last_qty",
                    str(last_qty),
                    f"overfill: filled {self._filled_qty} + {last_qty} > quantity {quantity}",
                )
            px = event.last_px
            exp = px.precision + last_qty.precision
            add = px.raw * last_qty.raw
            if exp > notional_exp:
                notional_raw *= 10 ** (exp - notional_exp)
                notional_exp = exp
            else:
                add *= 10 ** (notional_exp - exp)
            notional_raw += add
            new_status = OrderStatus.FILLED if filled == quantity else OrderStatus.PARTIALLY_FILLED
        elif isinstance(event, OrderUpdated):
            if type(event.quantity) is not Quantity or not event.quantity.raw:
                raise InvalidValue("quantity", event.quantity, "must be a positive Quantity")
            if event.quantity < filled:
                raise InvalidValue(
                    "quantity",
                    str(event.quantity),
                    f"below the filled quantity {filled} of order {self._init.client_order_id}",
                )
            quantity = event.quantity
            if event.price is not None:
                price = event.price
            if event.trigger_price is not None:
                trigger_price = event.trigger_price
            if filled.raw and filled == quantity:
                new_status = OrderStatus.FILLED

        # -- commit (no failure possible below) --
        if new_status in _PENDING and status not in _PENDING:
            self._previous_status = status
        elif new_status not in _PENDING:
            self._previous_status = None
        self._status = new_status
        self._quantity = quantity
        self._price = price
        self._trigger_price = trigger_price
        self._filled_qty = filled
        self._notional_raw = notional_raw
        self._notional_exp = notional_exp
        venue_order_id = getattr(event, "venue_order_id", None)
        if venue_order_id is not None:
            self._venue_order_id = venue_order_id
        account_id = getattr(event, "account_id", None)
        if account_id is not None:
            self._account_id = account_id
        if isinstance(event, OrderFilled):
            self._trade_ids.add(event.trade_id)
            if event.position_id is not None:
                self._position_id = event.position_id
        self._events.append(event)
        self._ts_last = event.ts_event
