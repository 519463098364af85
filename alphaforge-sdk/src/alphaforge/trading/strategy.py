"""The :class:`Strategy`: an :class:`~alphaforge.trading.actor.Actor` that trades.

On top of the actor's data handlers a strategy has

- an :attr:`Strategy.order_factory` (:class:`~alphaforge.trading.factory.OrderFactory`);
- order commands: :meth:`submit_order`, :meth:`submit_order_list`, :meth:`modify_order`,
  :meth:`cancel_order`, :meth:`cancel_all_orders`, :meth:`close_position`,
  :meth:`close_all_positions`. They put the order in the cache and send the command to the
  ``risk.execute`` endpoint (or ``exec.execute`` when the kernel has no risk engine); results
  come back as events;
- order event handlers ``on_order_<event>`` (``denied``, ``submitted``, ``accepted``,
  ``rejected``, ``canceled``, ``expired``, ``triggered``, ``pending_update``,
  ``pending_cancel``, ``modify_rejected``, ``cancel_rejected``, ``updated``, ``filled``), then
  the generic :meth:`on_order_event`, for every event on ``events.order.<strategy_id>``;
- position handlers :meth:`on_position_opened`, :meth:`on_position_changed`,
  :meth:`on_position_closed`, then :meth:`on_position_event`, for ``events.position.<id>``.

Order and position events are delivered from registration to disposal (also while STOPPED,
e.g. cancel acknowledgements after ``on_stop`` canceled the working orders).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from alphaforge.errors import InvalidValue, KernelStateError
from alphaforge.execution.ids import IdGenerator
from alphaforge.execution.messages import (
    CancelAllOrders,
    CancelOrder,
    ModifyOrder,
    OrderList,
    SubmitOrder,
    SubmitOrderList,
)
from alphaforge.model.enums import OrderSide, OrderStatus, TimeInForce
from alphaforge.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
)
from alphaforge.model.identifiers import InstrumentId, PositionId, StrategyId
from alphaforge.model.orders import Order
from alphaforge.model.values import Price, Quantity
from alphaforge.portfolio.events import (
    PositionChanged,
    PositionClosed,
    PositionEvent,
    PositionOpened,
)
from alphaforge.portfolio.position import Position, PositionSide
from alphaforge.trading.actor import Actor
from alphaforge.trading.config import StrategyConfig
from alphaforge.trading.factory import OrderFactory
from alphaforge.trading.topics import (
    EXEC_EXECUTE_ENDPOINT,
    RISK_EXECUTE_ENDPOINT,
    order_events_topic,
    position_events_topic,
)

__all__ = ["Strategy"]


class Strategy(Actor):
    """Base class of trading strategies (see the module docs).

    Parameters
    ----------
    config
        A :class:`~alphaforge.trading.config.StrategyConfig` (or subclass with parameters).

    Attributes
    ----------
    strategy_id
        ``config.strategy_id`` or ``"<ClassName>-<order_id_tag>"``.
    order_factory
        Builds this strategy's orders (available once registered).
    """

    order_factory: OrderFactory

    def __init__(self, config: StrategyConfig | None = None) -> None:
        if config is None:
            config = StrategyConfig()
        elif not isinstance(config, StrategyConfig):
            raise InvalidValue("config", config, "must be a StrategyConfig")
        self.config: Any = config
        self.id = config.strategy_id or f"{type(self).__name__}-{config.order_id_tag}"
        self.strategy_id = StrategyId(self.id)
        self.log = logging.getLogger(f"alphaforge.strategy.{self.id}")
        self._init_component()
        self._cmd_ids = IdGenerator(f"C-{self.id}")
        self._order_handlers: dict[type, Callable[[Any], None]] = {
            OrderDenied: self.on_order_denied,
            OrderSubmitted: self.on_order_submitted,
            OrderAccepted: self.on_order_accepted,
            OrderRejected: self.on_order_rejected,
            OrderCanceled: self.on_order_canceled,
            OrderExpired: self.on_order_expired,
            OrderTriggered: self.on_order_triggered,
            OrderPendingUpdate: self.on_order_pending_update,
            OrderPendingCancel: self.on_order_pending_cancel,
            OrderModifyRejected: self.on_order_modify_rejected,
            OrderCancelRejected: self.on_order_cancel_rejected,
            OrderUpdated: self.on_order_updated,
            OrderFilled: self.on_order_filled,
        }
        self._position_handlers: dict[type, Callable[[Any], None]] = {
            PositionOpened: self.on_position_opened,
            PositionChanged: self.on_position_changed,
            PositionClosed: self.on_position_closed,
        }

    # ------------------------------------------------------------------ wiring

    def _on_register(self) -> None:
        self.order_factory = OrderFactory(
            self.trader_id, self.strategy_id, self.clock, order_id_tag=self.config.order_id_tag
        )
        self._order_topic = order_events_topic(self.strategy_id)
        self._position_topic = position_events_topic(self.strategy_id)
        self.msgbus.subscribe(self._order_topic, self._handle_order_event)
        self.msgbus.subscribe(self._position_topic, self._handle_position_event)

    def _on_dispose_internal(self) -> None:
        bus = self.msgbus
        if bus.is_subscribed(self._order_topic, self._handle_order_event):
            bus.unsubscribe(self._order_topic, self._handle_order_event)
        if bus.is_subscribed(self._position_topic, self._handle_position_event):
            bus.unsubscribe(self._position_topic, self._handle_position_event)

    def _handle_order_event(self, event: OrderEvent) -> None:
        handler = self._order_handlers.get(type(event))
        if handler is not None:
            handler(event)
        self.on_order_event(event)

    def _handle_position_event(self, event: PositionEvent) -> None:
        handler = self._position_handlers.get(type(event))
        if handler is not None:
            handler(event)
        self.on_position_event(event)

    # ------------------------------------------------------------------ event handlers

    def on_order_denied(self, event: OrderDenied) -> None:
        """The risk engine (or the OMS) denied an order; ``event.reason`` says why."""

    def on_order_submitted(self, event: OrderSubmitted) -> None:
        """An order was sent to its venue."""

    def on_order_accepted(self, event: OrderAccepted) -> None:
        """The venue accepted an order."""

    def on_order_rejected(self, event: OrderRejected) -> None:
        """The venue rejected an order."""

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """An order was canceled."""

    def on_order_expired(self, event: OrderExpired) -> None:
        """An order expired."""

    def on_order_triggered(self, event: OrderTriggered) -> None:
        """A stop / if-touched order triggered."""

    def on_order_pending_update(self, event: OrderPendingUpdate) -> None:
        """A modify request was sent."""

    def on_order_pending_cancel(self, event: OrderPendingCancel) -> None:
        """A cancel request was sent."""

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        """A modify was rejected (by the risk engine or the venue)."""

    def on_order_cancel_rejected(self, event: OrderCancelRejected) -> None:
        """A cancel was rejected."""

    def on_order_updated(self, event: OrderUpdated) -> None:
        """An order's terms changed."""

    def on_order_filled(self, event: OrderFilled) -> None:
        """An order was (partially) filled; the portfolio is already updated."""

    def on_order_event(self, event: OrderEvent) -> None:
        """Every order event, after its specific handler."""

    def on_position_opened(self, event: PositionOpened) -> None:
        """A position opened."""

    def on_position_changed(self, event: PositionChanged) -> None:
        """An open position changed."""

    def on_position_closed(self, event: PositionClosed) -> None:
        """A position closed."""

    def on_position_event(self, event: PositionEvent) -> None:
        """Every position event, after its specific handler."""

    # ------------------------------------------------------------------ commands

    def _endpoint(self) -> str:
        bus = self.msgbus
        if bus.is_registered(RISK_EXECUTE_ENDPOINT):
            return RISK_EXECUTE_ENDPOINT
        if bus.is_registered(EXEC_EXECUTE_ENDPOINT):
            return EXEC_EXECUTE_ENDPOINT
        raise KernelStateError(
            f"{self.id}: no risk or execution engine is registered on the message bus"
        )

    def _check_new_order(self, order: object, field: str = "order") -> Order:
        if type(order) is not Order:
            raise InvalidValue(field, order, "must be an Order")
        if order.strategy_id != self.strategy_id:
            raise InvalidValue(
                f"{field}.strategy_id", str(order.strategy_id), f"is not {self.strategy_id}"
            )
        if order.status is not OrderStatus.INITIALIZED:
            raise InvalidValue(field, order, "was already submitted (status is not INITIALIZED)")
        if self.cache.order_exists(order.client_order_id):
            raise InvalidValue(
                f"{field}.client_order_id", str(order.client_order_id), "is already in the cache"
            )
        return order

    def submit_order(self, order: Order, position_id: PositionId | None = None) -> None:
        """Submit ``order`` (built by :attr:`order_factory`) through the risk engine.

        Parameters
        ----------
        order
            A new order of this strategy.
        position_id
            HEDGING: the position the order trades (e.g. to close it).

        Raises
        ------
        InvalidValue
            Not a new order of this strategy, or its id is already cached (nothing changes).
        KernelStateError
            Not registered, or no risk/execution engine on the bus.
        """
        self._require_registered()
        order = self._check_new_order(order)
        if position_id is not None and type(position_id) is not PositionId:
            raise InvalidValue("position_id", position_id, "must be a PositionId or None")
        endpoint = self._endpoint()
        self.cache.add_order(order)
        self.msgbus.send(
            endpoint,
            SubmitOrder(
                trader_id=self.trader_id,
                strategy_id=self.strategy_id,
                command_id=self._cmd_ids(),
                ts_init=self.clock.timestamp_ns(),
                order=order,
                position_id=position_id,
            ),
        )

    def submit_order_list(
        self, order_list: OrderList, position_id: PositionId | None = None
    ) -> None:
        """Submit an :class:`OrderList` (OCO, bracket, ...) through the risk engine.

        Raises
        ------
        InvalidValue
            Not an OrderList of new orders of this strategy (nothing changes).
        """
        self._require_registered()
        if not isinstance(order_list, OrderList):
            raise InvalidValue("order_list", order_list, "must be an OrderList")
        for i, order in enumerate(order_list.orders):
            self._check_new_order(order, f"order_list.orders[{i}]")
        endpoint = self._endpoint()
        for order in order_list.orders:
            self.cache.add_order(order)
        self.msgbus.send(
            endpoint,
            SubmitOrderList(
                trader_id=self.trader_id,
                strategy_id=self.strategy_id,
                command_id=self._cmd_ids(),
                ts_init=self.clock.timestamp_ns(),
                order_list=order_list,
                position_id=position_id,
            ),
        )

    def _check_own(self, order: object) -> Order:
        if type(order) is not Order:
            raise InvalidValue("order", order, "must be an Order")
        if order.strategy_id != self.strategy_id:
            raise InvalidValue("order.strategy_id", str(order.strategy_id), f"is not {self.id}")
        return order

    def modify_order(
        self,
        order: Order,
        *,
        quantity: Quantity | None = None,
        price: Price | None = None,
        trigger_price: Price | None = None,
    ) -> None:
        """Ask to change a working order (at least one of the three values).

        Raises
        ------
        InvalidValue
            Not this strategy's order, or no/invalid new values.
        """
        self._require_registered()
        order = self._check_own(order)
        command = ModifyOrder(
            trader_id=self.trader_id,
            strategy_id=self.strategy_id,
            command_id=self._cmd_ids(),
            ts_init=self.clock.timestamp_ns(),
            instrument_id=order.instrument_id,
            client_order_id=order.client_order_id,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            venue_order_id=order.venue_order_id,
        )
        self.msgbus.send(self._endpoint(), command)

    def cancel_order(self, order: Order) -> None:
        """Ask to cancel an order."""
        self._require_registered()
        order = self._check_own(order)
        self.msgbus.send(
            self._endpoint(),
            CancelOrder(
                trader_id=self.trader_id,
                strategy_id=self.strategy_id,
                command_id=self._cmd_ids(),
                ts_init=self.clock.timestamp_ns(),
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=order.venue_order_id,
            ),
        )

    def cancel_all_orders(
        self, instrument_id: InstrumentId, order_side: OrderSide = OrderSide.NO_SIDE
    ) -> None:
        """Cancel this strategy's working orders in ``instrument_id`` (one side or both)."""
        self._require_registered()
        iid = self._check_iid(instrument_id)
        if type(order_side) is not OrderSide:
            raise InvalidValue("order_side", order_side, "must be an OrderSide")
        self.msgbus.send(
            self._endpoint(),
            CancelAllOrders(
                trader_id=self.trader_id,
                strategy_id=self.strategy_id,
                command_id=self._cmd_ids(),
                ts_init=self.clock.timestamp_ns(),
                instrument_id=iid,
                order_side=order_side,
            ),
        )

    def close_position(
        self,
        position: Position,
        *,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = True,
    ) -> Order:
        """Flatten ``position`` with a market order for its quantity.

        Parameters
        ----------
        reduce_only
            Flag the order reduce-only (the risk engine then requires it to reduce the
            instrument's *net* position; pass ``False`` for HEDGING books with offsetting
            positions).

        Returns
        -------
        Order
            The submitted closing order.

        Raises
        ------
        InvalidValue
            Not an open position of this strategy.
        """
        self._require_registered()
        if not isinstance(position, Position):
            raise InvalidValue("position", position, "must be a Position")
        if position.strategy_id != self.strategy_id:
            raise InvalidValue(
                "position.strategy_id", str(position.strategy_id), f"is not {self.id}"
            )
        if not position.is_open:
            raise InvalidValue("position", str(position.id), "is already closed")
        side = OrderSide.SELL if position.is_long else OrderSide.BUY
        order = self.order_factory.market(
            position.instrument_id,
            side,
            position.quantity,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
        )
        self.submit_order(order, position_id=position.id)
        return order

    def close_all_positions(
        self,
        instrument_id: InstrumentId | None = None,
        *,
        side: PositionSide | None = None,
        reduce_only: bool = True,
    ) -> list[Order]:
        """Close every open position of this strategy (optionally one instrument / side)."""
        self._require_registered()
        orders = []
        for position in self.portfolio.open_positions(instrument_id, self.strategy_id):
            if side is not None and position.side != side:
                continue
            orders.append(self.close_position(position, reduce_only=reduce_only))
        return orders
