"""Order events (immutable attrs classes).

Every event carries ``client_order_id``, ``strategy_id``, ``instrument_id``, ``ts_event``,
``ts_init`` (ns since the Unix epoch) and an ``event_id``. The ``event_id`` defaults to a random
UUID4 string; deterministic backtests pass their own (e.g. a counter rendered as ``str``).
All fields are keyword-only.

:class:`OrderInitialized` is the order request itself and validates it (see
:func:`validate_order_request`); the other events are built by trusted engines/adapters from
typed values and are not re-validated.
"""

from __future__ import annotations

import uuid

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.model.enums import LiquiditySide, OrderSide, OrderType, TimeInForce
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    VenueOrderId,
)
from alphaforge.model.values import Money, Price, Quantity

__all__ = [
    "OrderAccepted",
    "OrderCancelRejected",
    "OrderCanceled",
    "OrderDenied",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderInitialized",
    "OrderModifyRejected",
    "OrderPendingCancel",
    "OrderPendingUpdate",
    "OrderRejected",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderUpdated",
    "validate_order_request",
]

_NEEDS_PRICE = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED})
_NEEDS_TRIGGER = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.MARKET_IF_TOUCHED,
        OrderType.LIMIT_IF_TOUCHED,
    }
)


def _new_event_id() -> str:
    return str(uuid.uuid4())


def validate_order_request(
    *,
    side: object,
    order_type: object,
    quantity: object,
    time_in_force: object,
    price: object,
    trigger_price: object,
    expire_time_ns: object,
    post_only: object,
    reduce_only: object,
) -> None:
    """Check an order request; raise :class:`InvalidValue` naming the first bad field.

    Rules: ``side`` is BUY or SELL; ``quantity`` a positive :class:`Quantity`; LIMIT,
    STOP_LIMIT and LIMIT_IF_TOUCHED need ``price``, the others must not have one; STOP_* and
    *_IF_TOUCHED need ``trigger_price``, the others must not have one; GTD needs a positive
    ``expire_time_ns`` and other time-in-force values must not have one; ``post_only`` needs a
    price-carrying type and is incompatible with IOC/FOK.
    """
    if type(side) is not OrderSide or side == OrderSide.NO_SIDE:
        raise InvalidValue("side", side, "must be OrderSide.BUY or OrderSide.SELL")
    if type(order_type) is not OrderType:
        raise InvalidValue("order_type", order_type, "must be an OrderType")
    if type(quantity) is not Quantity or not quantity.raw:
        raise InvalidValue("quantity", quantity, "must be a positive Quantity")
    if type(time_in_force) is not TimeInForce:
        raise InvalidValue("time_in_force", time_in_force, "must be a TimeInForce")
    if order_type in _NEEDS_PRICE:
        if type(price) is not Price:
            raise InvalidValue("price", price, f"a {order_type.name} order needs a Price")
    elif price is not None:
        raise InvalidValue("price", price, f"a {order_type.name} order takes no price")
    if order_type in _NEEDS_TRIGGER:
        if type(trigger_price) is not Price:
            raise InvalidValue(
                "trigger_price", trigger_price, f"a {order_type.name} order needs a trigger Price"
            )
    elif trigger_price is not None:
        raise InvalidValue(
            "trigger_price", trigger_price, f"a {order_type.name} order takes no trigger price"
        )
    if time_in_force == TimeInForce.GTD:
        if type(expire_time_ns) is not int or expire_time_ns <= 0:
            raise InvalidValue(
                "expire_time_ns", expire_time_ns, "a GTD order needs a positive expire time (ns)"
            )
    elif expire_time_ns is not None:
        raise InvalidValue(
            "expire_time_ns", expire_time_ns, f"only GTD orders take one, not {time_in_force.name}"
        )
    if type(post_only) is not bool:
        raise InvalidValue("post_only", post_only, "must be a bool")
    if type(reduce_only) is not bool:
        raise InvalidValue("reduce_only", reduce_only, "must be a bool")
    if post_only:
        if order_type not in _NEEDS_PRICE:
            raise InvalidValue("post_only", True, f"not allowed for a {order_type.name} order")
        if time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidValue("post_only", True, f"not allowed with {time_in_force.name}")


@attrs.frozen(kw_only=True, slots=True)
class OrderEvent:
    """Base class of order events (fields shared by all)."""

    client_order_id: ClientOrderId
    strategy_id: StrategyId
    instrument_id: InstrumentId
    ts_event: int
    ts_init: int
    event_id: str = attrs.field(factory=_new_event_id)


@attrs.frozen(kw_only=True, slots=True)
class OrderInitialized(OrderEvent):
    """The order request; the first event of every order. Validated at construction.

    Raises
    ------
    InvalidValue
        See :func:`validate_order_request`.
    """

    side: OrderSide
    order_type: OrderType
    quantity: Quantity
    time_in_force: TimeInForce = TimeInForce.GTC
    price: Price | None = None
    trigger_price: Price | None = None
    expire_time_ns: int | None = None
    post_only: bool = False
    reduce_only: bool = False

    def __attrs_post_init__(self) -> None:
        validate_order_request(
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            time_in_force=self.time_in_force,
            price=self.price,
            trigger_price=self.trigger_price,
            expire_time_ns=self.expire_time_ns,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
        )


@attrs.frozen(kw_only=True, slots=True)
class OrderDenied(OrderEvent):
    """Denied before submission (e.g. by the risk engine)."""

    reason: str


@attrs.frozen(kw_only=True, slots=True)
class OrderSubmitted(OrderEvent):
    """Sent to the venue."""

    account_id: AccountId


@attrs.frozen(kw_only=True, slots=True)
class OrderAccepted(OrderEvent):
    """Acknowledged by the venue."""

    venue_order_id: VenueOrderId
    account_id: AccountId


@attrs.frozen(kw_only=True, slots=True)
class OrderRejected(OrderEvent):
    """Rejected by the venue."""

    account_id: AccountId
    reason: str


@attrs.frozen(kw_only=True, slots=True)
class OrderCanceled(OrderEvent):
    """Canceled (by request, by the venue, or IOC/FOK remainder)."""

    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderExpired(OrderEvent):
    """Expired (GTD / DAY)."""

    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderTriggered(OrderEvent):
    """A stop / if-touched order's trigger price was hit."""

    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderPendingUpdate(OrderEvent):
    """A modify request was sent; awaiting the venue's answer."""

    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderPendingCancel(OrderEvent):
    """A cancel request was sent; awaiting the venue's answer."""

    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderModifyRejected(OrderEvent):
    """The venue rejected a modify request; the order keeps its previous terms."""

    reason: str
    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderCancelRejected(OrderEvent):
    """The venue rejected a cancel request; the order stays working."""

    reason: str
    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderUpdated(OrderEvent):
    """The order's terms changed (quantity and/or prices)."""

    quantity: Quantity
    price: Price | None = None
    trigger_price: Price | None = None
    venue_order_id: VenueOrderId | None = None
    account_id: AccountId | None = None


@attrs.frozen(kw_only=True, slots=True)
class OrderFilled(OrderEvent):
    """A (partial) fill.

    Parameters
    ----------
    trade_id
        Venue trade id (unique per order; a duplicate is rejected by :meth:`Order.apply`).
    order_side
        Side of the order that was filled.
    last_qty, last_px
        This fill's size and price.
    commission
        Commission charged for this fill.
    liquidity_side
        MAKER or TAKER.
    position_id
        Position the fill belongs to, if known.
    """

    venue_order_id: VenueOrderId
    account_id: AccountId
    trade_id: TradeId
    order_side: OrderSide
    order_type: OrderType
    last_qty: Quantity
    last_px: Price
    commission: Money
    liquidity_side: LiquiditySide
    position_id: PositionId | None = None
