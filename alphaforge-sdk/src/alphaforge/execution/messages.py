"""Trading commands: what a strategy asks the risk and execution engines to do.

Commands are immutable (``attrs`` frozen, keyword-only). They travel

``Strategy -> "risk.execute" endpoint (RiskEngine) -> "exec.execute" endpoint (ExecutionEngine)
-> ExecutionClient``

and an :class:`~alphaforge.execution.client.ExecutionClient` receives exactly these objects.
Every command carries the ``trader_id``, ``strategy_id``, a deterministic ``command_id`` and
``ts_init`` (ns).

=====================  =========================================================================
command                meaning
=====================  =========================================================================
:class:`SubmitOrder`   send one new order (``order`` is the :class:`~alphaforge.model.Order`
                       entity, already in the cache in status INITIALIZED)
:class:`SubmitOrderList`  send linked orders (:class:`OrderList`: OCO or bracket); the
                       execution engine manages the linkage and hands the client one
                       :class:`SubmitOrder` per leg when the leg goes live
:class:`ModifyOrder`   change quantity and/or price and/or trigger price of a working order
:class:`CancelOrder`   cancel one order
:class:`CancelAllOrders`  cancel the strategy's working orders of one instrument (one side, or
                       both with ``order_side=NO_SIDE``)
=====================  =========================================================================
"""

from __future__ import annotations

import enum

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.model.enums import OrderSide
from alphaforge.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TraderId,
    VenueOrderId,
)
from alphaforge.model.orders import Order
from alphaforge.model.values import Price, Quantity

__all__ = [
    "CancelAllOrders",
    "CancelOrder",
    "ContingencyType",
    "ModifyOrder",
    "OrderList",
    "SubmitOrder",
    "SubmitOrderList",
    "TradingCommand",
]


class ContingencyType(enum.IntEnum):
    """How the orders of an :class:`OrderList` are linked."""

    NONE = 0
    """Independent orders submitted together."""
    OCO = 1
    """One-cancels-other: every leg works at once; when one leg is filled, canceled, expired
    or rejected, the others are canceled. A partial fill of one leg reduces the others to its
    remaining quantity."""
    BRACKET = 2
    """``orders[0]`` is the entry; the other legs (take-profit, stop-loss) are held locally and
    released (one-triggers-other) when the entry is filled, and are linked OCO with each
    other. If the entry ends without any fill, the held legs are canceled locally."""


def _orders_tuple(orders: object) -> tuple[Order, ...]:
    if isinstance(orders, (list, tuple)):
        return tuple(orders)
    raise InvalidValue("orders", orders, "must be a tuple or list of Order")


@attrs.frozen(slots=True)
class OrderList:
    """Orders submitted together, optionally linked.

    Parameters
    ----------
    id
        Unique id of the list (e.g. ``"OL-20240101-000000-001-001-1"``).
    orders
        The orders, all for one instrument and one strategy, all INITIALIZED.
    contingency
        The linkage; a :attr:`ContingencyType.BRACKET` needs at least two orders (entry first).

    Raises
    ------
    InvalidValue
        Empty list, a non-:class:`Order` item, duplicate client order ids, mixed strategies or
        instruments, or a bracket without exit legs.
    """

    id: str
    orders: tuple[Order, ...] = attrs.field(converter=_orders_tuple)
    contingency: ContingencyType = ContingencyType.NONE

    def __attrs_post_init__(self) -> None:
        if type(self.id) is not str or not self.id or " " in self.id:
            raise InvalidValue("id", self.id, "must be a non-empty str without whitespace")
        if not self.orders:
            raise InvalidValue("orders", self.orders, "must not be empty")
        if type(self.contingency) is not ContingencyType:
            raise InvalidValue("contingency", self.contingency, "must be a ContingencyType")
        first = self.orders[0]
        seen: set[ClientOrderId] = set()
        for i, order in enumerate(self.orders):
            if type(order) is not Order:
                raise InvalidValue(f"orders[{i}]", order, "must be an Order")
            if order.client_order_id in seen:
                raise InvalidValue(
                    f"orders[{i}].client_order_id", str(order.client_order_id), "is duplicated"
                )
            seen.add(order.client_order_id)
            if order.strategy_id != first.strategy_id:
                raise InvalidValue(
                    f"orders[{i}].strategy_id",
                    str(order.strategy_id),
                    f"all orders must belong to {first.strategy_id}",
                )
            if order.instrument_id != first.instrument_id:
                raise InvalidValue(
                    f"orders[{i}].instrument_id",
                    str(order.instrument_id),
                    f"all orders must be for {first.instrument_id}",
                )
        if self.contingency is ContingencyType.BRACKET and len(self.orders) < 2:
            raise InvalidValue("orders", len(self.orders), "a bracket needs an entry and exits")
        if self.contingency is ContingencyType.OCO and len(self.orders) < 2:
            raise InvalidValue("orders", len(self.orders), "an OCO list needs two or more orders")

    @property
    def instrument_id(self) -> InstrumentId:
        """The instrument of every order in the list."""
        return self.orders[0].instrument_id

    @property
    def strategy_id(self) -> StrategyId:
        """The strategy owning every order in the list."""
        return self.orders[0].strategy_id

    @property
    def first(self) -> Order:
        """The first order (the entry of a bracket)."""
        return self.orders[0]

    def __len__(self) -> int:
        return len(self.orders)


@attrs.frozen(kw_only=True, slots=True)
class TradingCommand:
    """Fields shared by every trading command."""

    trader_id: TraderId
    strategy_id: StrategyId
    command_id: str
    ts_init: int


@attrs.frozen(kw_only=True, slots=True)
class SubmitOrder(TradingCommand):
    """Submit one order.

    Parameters
    ----------
    order
        The order entity (status INITIALIZED, already in the cache).
    position_id
        For HEDGING accounts: the position the order's fills apply to (e.g. when closing a
        specific position). ``None`` lets the OMS decide.
    """

    order: Order
    position_id: PositionId | None = None

    @property
    def instrument_id(self) -> InstrumentId:
        """The order's instrument."""
        return self.order.instrument_id

    @property
    def client_order_id(self) -> ClientOrderId:
        """The order's client order id."""
        return self.order.client_order_id


@attrs.frozen(kw_only=True, slots=True)
class SubmitOrderList(TradingCommand):
    """Submit an :class:`OrderList` (independent, OCO or bracket)."""

    order_list: OrderList
    position_id: PositionId | None = None

    @property
    def instrument_id(self) -> InstrumentId:
        """The instrument of the list."""
        return self.order_list.instrument_id


@attrs.frozen(kw_only=True, slots=True)
class ModifyOrder(TradingCommand):
    """Change a working order's quantity, price and/or trigger price.

    Raises
    ------
    InvalidValue
        None of ``quantity``, ``price``, ``trigger_price`` given, or one of the wrong type.
    """

    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    quantity: Quantity | None = None
    price: Price | None = None
    trigger_price: Price | None = None
    venue_order_id: VenueOrderId | None = None

    def __attrs_post_init__(self) -> None:
        if self.quantity is None and self.price is None and self.trigger_price is None:
            raise InvalidValue(
                "quantity", None, "a modify needs at least one of quantity, price, trigger_price"
            )
        if self.quantity is not None and (type(self.quantity) is not Quantity or not self.quantity):
            raise InvalidValue("quantity", self.quantity, "must be a positive Quantity")
        if self.price is not None and type(self.price) is not Price:
            raise InvalidValue("price", self.price, "must be a Price")
        if self.trigger_price is not None and type(self.trigger_price) is not Price:
            raise InvalidValue("trigger_price", self.trigger_price, "must be a Price")


@attrs.frozen(kw_only=True, slots=True)
class CancelOrder(TradingCommand):
    """Cancel one order."""

    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId | None = None


@attrs.frozen(kw_only=True, slots=True)
class CancelAllOrders(TradingCommand):
    """Cancel the strategy's working orders for one instrument.

    Parameters
    ----------
    order_side
        Only orders of this side; ``OrderSide.NO_SIDE`` (default) cancels both sides.
    """

    instrument_id: InstrumentId
    order_side: OrderSide = OrderSide.NO_SIDE
