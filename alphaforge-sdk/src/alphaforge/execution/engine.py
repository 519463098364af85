"""The ExecutionEngine: the order management system (OMS).

Responsibilities
----------------
- **Routing.** Commands arrive on the ``exec.execute`` endpoint (from the RiskEngine) and go
  to the :class:`~alphaforge.execution.client.ExecutionClient` registered for the order's
  venue (``instrument_id.venue``). No client: the order is denied.
- **Order state.** Every order event -- generated here (``OrderSubmitted``,
  ``OrderPendingUpdate``, ``OrderPendingCancel``, local cancels of held orders) or reported by
  a client through :meth:`ExecutionEngine.process` (also the ``exec.process`` endpoint) -- is
  applied to the cached :class:`~alphaforge.model.Order` with its state machine
  (:meth:`Order.apply`), then published on ``events.order.<strategy_id>``. An event for an
  unknown order, or one the state machine refuses, is *reported* (``error_count``,
  :attr:`ExecutionEngine.on_error`), never raised, and changes nothing.
- **Positions.** Fills open, change and close :class:`~alphaforge.portfolio.Position` objects in
  the cache and publish ``PositionOpened``/``PositionChanged``/``PositionClosed`` on
  ``events.position.<strategy_id>`` (after the order event). The OMS type decides the ids:

  - ``NETTING``: one position per instrument and strategy, id ``<instrument_id>-<strategy_id>``.
    A flat position that trades again is a new :class:`Position` object under the same id (the
    closed one stays in :attr:`ExecutionEngine.position_history`). A fill larger than the
    position flips it: the fill is split (commission pro rata) into a close and an open.
  - ``HEDGING``: each order that opens opens a new position, id
    ``<instrument_id>-<strategy_id>-<n>``; an order submitted with ``position_id`` (e.g. by
    ``Strategy.close_position``) trades that position.

  The OMS type is chosen per strategy (``StrategyConfig.oms_type``), else per venue
  (``ExecEngineConfig.oms_types``), else ``ExecEngineConfig.default_oms_type``.
- **Portfolio.** Before an event is published, the portfolio books it (balances, locks,
  realized PnL), so strategy callbacks see consistent accounts.
- **Contingent orders.** OCO legs cancel each other (a partial fill of one leg reduces the
  others to its remaining quantity); bracket exits are held until the entry fills, then
  released to the client and linked OCO (see
  :class:`~alphaforge.execution.messages.ContingencyType`).

Re-entrancy: a client may report events synchronously from inside ``submit_order`` (a backtest
venue filling at once); the engine applies ``OrderSubmitted`` *before* calling the client, so
that is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

import attrs

from alphaforge.cache import Cache
from alphaforge.clock import Clock
from alphaforge.errors import InvalidStateTransition, InvalidValue
from alphaforge.execution.client import ExecutionClient
from alphaforge.execution.ids import IdGenerator
from alphaforge.execution.messages import (
    CancelAllOrders,
    CancelOrder,
    ContingencyType,
    ModifyOrder,
    SubmitOrder,
    SubmitOrderList,
)
from alphaforge.execution.oms import OmsType
from alphaforge.model.enums import OrderSide, OrderStatus
from alphaforge.model.events import (
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingUpdate,
    OrderRejected,
    OrderSubmitted,
    OrderUpdated,
)
from alphaforge.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TraderId,
    Venue,
)
from alphaforge.model.instruments import Instrument
from alphaforge.model.orders import Order
from alphaforge.model.values import Money, Quantity, Rounding, _div_round
from alphaforge.msgbus import MessageBus
from alphaforge.portfolio.accounts import AccountState
from alphaforge.portfolio.events import (
    PositionChanged,
    PositionClosed,
    PositionEvent,
    PositionOpened,
    position_event,
)
from alphaforge.portfolio.portfolio import Portfolio
from alphaforge.portfolio.position import Position
from alphaforge.trading.topics import EXEC_EXECUTE_ENDPOINT, EXEC_PROCESS_ENDPOINT

__all__ = ["ExecEngineConfig", "ExecutionEngine", "OmsType"]

_INITIALIZED: Final = OrderStatus.INITIALIZED
_FILLED: Final = OrderStatus.FILLED
_PENDING_CANCEL: Final = OrderStatus.PENDING_CANCEL

ErrorCallback = Callable[[str, Any], None]
"""Called as ``on_error(message, offending_event_or_command)``."""


def _status(order: Order) -> OrderStatus:
    """The order's status (a call, so type checkers do not keep a stale narrowed value)."""
    return order.status


@attrs.frozen(kw_only=True)
class ExecEngineConfig:
    """ExecutionEngine settings.

    Parameters
    ----------
    default_oms_type
        OMS type of venues and strategies that do not set one.
    oms_types
        Per venue name (``"BINANCE"``), the OMS type.
    """

    default_oms_type: OmsType = OmsType.NETTING
    oms_types: dict[str, OmsType] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if type(self.default_oms_type) is not OmsType:
            raise InvalidValue("default_oms_type", self.default_oms_type, "must be an OmsType")
        for venue, oms in self.oms_types.items():
            if type(oms) is not OmsType:
                raise InvalidValue(f"oms_types.{venue}", oms, "must be an OmsType")


class ExecutionEngine:
    """The OMS: routes commands to clients, applies order events, maintains positions.

    Parameters
    ----------
    cache, clock, msgbus
        The node's services.
    portfolio
        Books fills into accounts; optional (positions are maintained either way).
    config
        OMS settings.
    trader_id
        Stamped on commands the engine creates (released bracket legs, OCO cancels).
    """

    def __init__(
        self,
        cache: Cache,
        clock: Clock,
        msgbus: MessageBus,
        *,
        portfolio: Portfolio | None = None,
        config: ExecEngineConfig | None = None,
        trader_id: TraderId | None = None,
    ) -> None:
        self._cache = cache
        self._clock = clock
        self._msgbus = msgbus
        self.portfolio = portfolio
        self.config = config or ExecEngineConfig()
        self.trader_id = trader_id or TraderId("TRADER-001")
        self._logger = logging.getLogger("alphaforge.execution")
        self.on_error: ErrorCallback = self._log_error
        self._ids = IdGenerator("EXEC")
        self._clients: dict[Venue, ExecutionClient] = {}
        self._venue_oms: dict[Venue, OmsType] = {
            Venue(name): oms for name, oms in self.config.oms_types.items()
        }
        self._strategy_oms: dict[StrategyId, OmsType] = {}
        self._order_topics: dict[StrategyId, str] = {}
        self._position_topics: dict[StrategyId, str] = {}
        self._netting_ids: dict[tuple[InstrumentId, StrategyId], PositionId] = {}
        self._order_position: dict[ClientOrderId, PositionId] = {}
        self._hedge_count = 0
        self._working: dict[ClientOrderId, Order] = {}
        self._held: dict[ClientOrderId, Order] = {}
        self._oto_children: dict[ClientOrderId, tuple[Order, ...]] = {}
        self._oco: dict[ClientOrderId, tuple[ClientOrderId, ...]] = {}
        self._history: list[Position] = []
        self._errors = 0
        self._commands = 0
        self._events = 0
        msgbus.register(EXEC_EXECUTE_ENDPOINT, self.execute)
        msgbus.register(EXEC_PROCESS_ENDPOINT, self.process)

    def __repr__(self) -> str:
        venues = ", ".join(str(v) for v in self._clients)
        return f"ExecutionEngine(clients=[{venues}], working_orders={len(self._working)})"

    # ------------------------------------------------------------------ setup

    def register_client(self, client: ExecutionClient) -> None:
        """Route orders for ``client.venue`` to ``client``.

        Raises
        ------
        InvalidValue
            Not an ExecutionClient, or a client for that venue is registered.
        """
        if not isinstance(client, ExecutionClient):
            raise InvalidValue("client", client, "does not implement ExecutionClient")
        venue = client.venue
        if venue in self._clients:
            raise InvalidValue("client.venue", str(venue), "a client for this venue is registered")
        self._clients[venue] = client

    def deregister_client(self, venue: Venue) -> None:
        """Stop routing to the client of ``venue``.

        Raises
        ------
        InvalidValue
            No client is registered for ``venue``.
        """
        if self._clients.pop(venue, None) is None:
            raise InvalidValue("venue", str(venue), "no client is registered for this venue")

    def client(self, venue: Venue) -> ExecutionClient | None:
        """The client routing ``venue``, or ``None``."""
        return self._clients.get(venue)

    def register_oms_type(self, strategy_id: StrategyId, oms_type: OmsType) -> None:
        """Use ``oms_type`` for ``strategy_id``'s orders (overrides the venue's)."""
        if type(oms_type) is not OmsType:
            raise InvalidValue("oms_type", oms_type, "must be an OmsType")
        self._strategy_oms[strategy_id] = oms_type

    def oms_type(self, venue: Venue, strategy_id: StrategyId) -> OmsType:
        """The OMS type applied to ``strategy_id``'s orders on ``venue``."""
        oms = self._strategy_oms.get(strategy_id)
        if oms is None:
            oms = self._venue_oms.get(venue, self.config.default_oms_type)
        return oms

    def configure(self, config: ExecEngineConfig) -> None:
        """Replace the OMS settings (applies to positions opened from now on).

        Raises
        ------
        InvalidValue
            ``config`` is not an :class:`ExecEngineConfig` (nothing changes).
        """
        if not isinstance(config, ExecEngineConfig):
            raise InvalidValue("config", config, "must be an ExecEngineConfig")
        self.config = config
        self._venue_oms = {Venue(name): oms for name, oms in config.oms_types.items()}

    def dispose(self) -> None:
        """Deregister the bus endpoints (idempotent)."""
        for endpoint in (EXEC_EXECUTE_ENDPOINT, EXEC_PROCESS_ENDPOINT):
            if self._msgbus.is_registered(endpoint):
                self._msgbus.deregister(endpoint)

    # ------------------------------------------------------------------ queries

    @property
    def error_count(self) -> int:
        """Reported problems (unknown orders, illegal transitions, client errors, ...)."""
        return self._errors

    @property
    def command_count(self) -> int:
        """Commands executed."""
        return self._commands

    @property
    def event_count(self) -> int:
        """Order events applied (engine-generated and client-reported)."""
        return self._events

    @property
    def position_history(self) -> list[Position]:
        """Every position ever opened, in opening order (closed NETTING cycles included)."""
        return list(self._history)

    def working_orders(
        self,
        instrument_id: InstrumentId | None = None,
        strategy_id: StrategyId | None = None,
    ) -> list[Order]:
        """Orders not yet closed (in flight, working, or held bracket legs)."""
        return [
            o
            for o in self._working.values()
            if (instrument_id is None or o.instrument_id == instrument_id)
            and (strategy_id is None or o.strategy_id == strategy_id)
        ]

    def is_held(self, client_order_id: ClientOrderId) -> bool:
        """Whether the order is a bracket leg waiting for its entry to fill."""
        return client_order_id in self._held

    # ------------------------------------------------------------------ errors

    def _log_error(self, message: str, obj: Any) -> None:
        self._logger.warning("%s (%r)", message, obj)

    def _report(self, message: str, obj: Any) -> None:
        self._errors += 1
        try:
            self.on_error(message, obj)
        except Exception:  # a broken error hook must not break the engine
            self._logger.exception("on_error raised while reporting: %s", message)

    # ------------------------------------------------------------------ commands

    def execute(self, command: object) -> None:
        """Execute a trading command (the ``exec.execute`` endpoint).

        Raises
        ------
        InvalidValue
            ``command`` is not a trading command.
        """
        if isinstance(command, SubmitOrder):
            self._commands += 1
            self._submit(command)
        elif isinstance(command, CancelOrder):
            self._commands += 1
            self._cancel(command)
        elif isinstance(command, ModifyOrder):
            self._commands += 1
            self._modify(command)
        elif isinstance(command, SubmitOrderList):
            self._commands += 1
            self._submit_list(command)
        elif isinstance(command, CancelAllOrders):
            self._commands += 1
            self._cancel_all(command)
        else:
            raise InvalidValue("command", command, "is not a trading command")

    def _now(self) -> int:
        return self._clock.timestamp_ns()

    def _local(self, order: Order, cls: type[OrderEvent], **fields: Any) -> None:
        now = self._clock.timestamp_ns()
        event = cls(
            client_order_id=order.client_order_id,
            strategy_id=order.strategy_id,
            instrument_id=order.instrument_id,
            ts_event=now,
            ts_init=now,
            event_id=self._ids(),
            **fields,
        )
        self._handle(order, event)

    def _ensure_cached(self, order: Order) -> bool:
        cached = self._cache.order(order.client_order_id)
        if cached is None:
            self._cache.add_order(order)
            return True
        if cached is not order:
            self._report(
                f"order {order.client_order_id}: another order with this id is cached", order
            )
            return False
        return True

    def _submit(self, command: SubmitOrder) -> None:
        order = command.order
        if not self._ensure_cached(order):
            return
        if order.status is not _INITIALIZED:
            self._report(
                f"order {order.client_order_id}: cannot submit in status {order.status.name}",
                command,
            )
            return
        venue = order.instrument_id.venue
        client = self._clients.get(venue)
        if client is None:
            self._local(order, OrderDenied, reason=f"venue={venue}: no execution client")
            return
        if command.position_id is not None:
            self._order_position[order.client_order_id] = command.position_id
        self._working[order.client_order_id] = order
        self._local(order, OrderSubmitted, account_id=client.account_id)
        try:
            client.submit_order(command)
        except Exception as exc:  # noqa: BLE001 - the venue never saw the order
            self._report(f"order {order.client_order_id}: client submit failed: {exc}", command)
            if _status(order) is OrderStatus.SUBMITTED:
                self._local(
                    order,
                    OrderRejected,
                    account_id=client.account_id,
                    reason=f"client error: {type(exc).__name__}: {exc}",
                )

    def _submit_list(self, command: SubmitOrderList) -> None:
        order_list = command.order_list
        for order in order_list.orders:
            if not self._ensure_cached(order):
                return
            if order.status is not _INITIALIZED:
                self._report(
                    f"order list {order_list.id}: order {order.client_order_id} is "
                    f"{order.status.name}, not INITIALIZED",
                    command,
                )
                return
        orders = order_list.orders
        kind = order_list.contingency
        if kind is ContingencyType.BRACKET:
            entry, children = orders[0], orders[1:]
            self._oto_children[entry.client_order_id] = children
            for child in children:
                self._held[child.client_order_id] = child
                self._working[child.client_order_id] = child
                if command.position_id is not None:
                    self._order_position[child.client_order_id] = command.position_id
            if len(children) > 1:
                self._link_oco(children)
            live: tuple[Order, ...] = (entry,)
        else:
            if kind is ContingencyType.OCO:
                self._link_oco(orders)
            live = orders
        for order in live:
            self._submit(self._submit_command(command.trader_id, order, command.position_id))

    def _submit_command(
        self, trader_id: TraderId, order: Order, position_id: PositionId | None
    ) -> SubmitOrder:
        return SubmitOrder(
            trader_id=trader_id,
            strategy_id=order.strategy_id,
            command_id=self._ids(),
            ts_init=self._now(),
            order=order,
            position_id=position_id,
        )

    def _link_oco(self, orders: tuple[Order, ...]) -> None:
        ids = tuple(o.client_order_id for o in orders)
        for coid in ids:
            self._oco[coid] = tuple(other for other in ids if other != coid)

    def _cached_order(self, client_order_id: ClientOrderId, command: object) -> Order | None:
        order = self._cache.order(client_order_id)
        if not isinstance(order, Order):
            self._report(f"order {client_order_id}: not in the cache", command)
            return None
        if order.is_closed:
            self._report(f"order {client_order_id}: already closed ({order.status.name})", command)
            return None
        return order

    def _cancel(self, command: CancelOrder) -> None:
        order = self._cached_order(command.client_order_id, command)
        if order is None:
            return
        if order.status is _INITIALIZED:
            self._held.pop(order.client_order_id, None)
            self._local(order, OrderCanceled)
            return
        client = self._clients.get(order.instrument_id.venue)
        if client is None:
            self._report(f"order {order.client_order_id}: no client to cancel it", command)
            return
        if order.status is not _PENDING_CANCEL:
            self._local(order, OrderPendingCancel, account_id=order.account_id)
        try:
            client.cancel_order(command)
        except Exception as exc:  # noqa: BLE001
            self._report(f"order {order.client_order_id}: client cancel failed: {exc}", command)
            if _status(order) is _PENDING_CANCEL:
                self._local(
                    order, OrderCancelRejected, reason=f"client error: {type(exc).__name__}: {exc}"
                )

    def _modify(self, command: ModifyOrder) -> None:
        order = self._cached_order(command.client_order_id, command)
        if order is None:
            return
        if order.status is _INITIALIZED:
            self._local(
                order,
                OrderUpdated,
                quantity=command.quantity or order.quantity,
                price=command.price,
                trigger_price=command.trigger_price,
            )
            return
        client = self._clients.get(order.instrument_id.venue)
        if client is None:
            self._report(f"order {order.client_order_id}: no client to modify it", command)
            return
        if order.status is _PENDING_CANCEL:
            self._report(f"order {order.client_order_id}: modify while cancel pending", command)
            return
        self._local(order, OrderPendingUpdate, account_id=order.account_id)
        try:
            client.modify_order(command)
        except Exception as exc:  # noqa: BLE001
            self._report(f"order {order.client_order_id}: client modify failed: {exc}", command)
            if _status(order) is OrderStatus.PENDING_UPDATE:
                self._local(
                    order, OrderModifyRejected, reason=f"client error: {type(exc).__name__}: {exc}"
                )

    def _cancel_all(self, command: CancelAllOrders) -> None:
        side = command.order_side
        targets = [
            o
            for o in self._working.values()
            if o.instrument_id == command.instrument_id
            and o.strategy_id == command.strategy_id
            and (side == OrderSide.NO_SIDE or o.side == side)
        ]
        remote = False
        for order in targets:
            if order.is_closed:
                continue
            if order.status is _INITIALIZED:
                self._held.pop(order.client_order_id, None)
                self._local(order, OrderCanceled)
            elif order.status is not _PENDING_CANCEL:
                self._local(order, OrderPendingCancel, account_id=order.account_id)
                remote = True
            else:
                remote = True
        if not remote:
            return
        client = self._clients.get(command.instrument_id.venue)
        if client is None:
            self._report(f"venue {command.instrument_id.venue}: no client to cancel", command)
            return
        try:
            client.cancel_all_orders(command)
        except Exception as exc:  # noqa: BLE001
            self._report(f"client cancel_all_orders failed: {exc}", command)

    # ------------------------------------------------------------------ events

    def process(self, event: object) -> None:
        """Apply an event reported by a client (the ``exec.process`` endpoint).

        Order events update the cached order (and positions, for fills) and are published;
        :class:`~alphaforge.portfolio.AccountState` goes to the portfolio. Anything that
        cannot be applied is reported (:attr:`error_count`), not raised.
        """
        if isinstance(event, OrderEvent):
            order = self._cache.order(event.client_order_id)
            if not isinstance(order, Order):
                self._report(f"event for unknown order {event.client_order_id}", event)
                return
            if type(event) is OrderFilled:
                self._fill(order, event)
            else:
                self._handle(order, event)
        elif isinstance(event, AccountState):
            if self.portfolio is None:
                self._report("account state without a portfolio", event)
                return
            try:
                self.portfolio.apply_account_state(event)
            except InvalidValue as exc:
                self._report(f"account state refused: {exc}", event)
        else:
            self._report(f"not an order event: {type(event).__name__}", event)

    def _order_topic(self, strategy_id: StrategyId) -> str:
        topic = self._order_topics.get(strategy_id)
        if topic is None:
            topic = self._order_topics[strategy_id] = f"events.order.{strategy_id}"
        return topic

    def _position_topic(self, strategy_id: StrategyId) -> str:
        topic = self._position_topics.get(strategy_id)
        if topic is None:
            topic = self._position_topics[strategy_id] = f"events.position.{strategy_id}"
        return topic

    def _handle(self, order: Order, event: OrderEvent) -> None:
        """Apply a non-fill event, book it, publish it, run contingencies."""
        try:
            order.apply(event)
        except (InvalidStateTransition, InvalidValue) as exc:
            self._report(f"event refused: {exc}", event)
            return
        self._events += 1
        if order.is_closed:
            self._working.pop(order.client_order_id, None)
            self._held.pop(order.client_order_id, None)
        if self.portfolio is not None:
            self.portfolio.update_order(order)
        self._msgbus.publish(self._order_topic(order.strategy_id), event)
        if order.is_closed:
            self._contingencies(order, event)

    def _position_id(self, order: Order, fill: OrderFilled) -> PositionId:
        iid, sid = order.instrument_id, order.strategy_id
        if self.oms_type(iid.venue, sid) is OmsType.NETTING:
            key = (iid, sid)
            pid = self._netting_ids.get(key)
            if pid is None:
                pid = self._netting_ids[key] = PositionId(f"{iid}-{sid}")
            return pid
        if fill.position_id is not None:
            return fill.position_id
        pid = self._order_position.get(order.client_order_id)
        if pid is None:
            pid = self._new_hedge_id(iid, sid)
            self._order_position[order.client_order_id] = pid
        return pid

    def _new_hedge_id(self, iid: InstrumentId, sid: StrategyId) -> PositionId:
        self._hedge_count += 1
        return PositionId(f"{iid}-{sid}-{self._hedge_count}")

    def _fill(self, order: Order, fill: OrderFilled) -> None:
        pid = self._position_id(order, fill)
        if fill.position_id != pid:
            fill = attrs.evolve(fill, position_id=pid)
        try:
            order.apply(fill)
        except (InvalidStateTransition, InvalidValue) as exc:
            self._report(f"fill refused: {exc}", fill)
            return
        self._events += 1
        if order.is_closed:
            self._working.pop(order.client_order_id, None)
        instrument = self._cache.instrument(fill.instrument_id)
        position_events: list[PositionEvent] = []
        if not isinstance(instrument, Instrument):
            self._report(f"fill for {fill.instrument_id}: instrument not in the cache", fill)
            if self.portfolio is not None:
                self.portfolio.update_order(order)
        else:
            try:
                touched, position_events, realized = self._update_positions(
                    order, instrument, fill, pid
                )
            except InvalidValue as exc:
                self._report(f"fill {fill.trade_id}: position not updated: {exc}", fill)
                touched, realized = [], Money.from_raw(0, instrument.notional_currency)
            if self.portfolio is not None:
                self.portfolio.apply_fill(order, fill, instrument, realized, touched)
        self._msgbus.publish(self._order_topic(order.strategy_id), fill)
        if position_events:
            topic = self._position_topic(order.strategy_id)
            for event in position_events:
                self._msgbus.publish(topic, event)
        self._contingencies(order, fill)

    def _open_position(
        self, instrument: Instrument, pid: PositionId, fill: OrderFilled, **part: Any
    ) -> Position:
        position = Position(instrument=instrument, position_id=pid, fill=fill, **part)
        if self._cache.position(pid) is None:
            self._cache.add_position(position)
        else:
            self._cache.update_position(position)
        self._history.append(position)
        return position

    def _update_positions(
        self, order: Order, instrument: Instrument, fill: OrderFilled, pid: PositionId
    ) -> tuple[list[Position], list[PositionEvent], Money]:
        ts = self._now()
        ids = self._ids
        current = self._cache.position(pid)
        netting = self.oms_type(order.instrument_id.venue, order.strategy_id) is OmsType.NETTING
        if isinstance(current, Position) and current.is_closed and not netting:
            pid = self._new_hedge_id(order.instrument_id, order.strategy_id)
            self._order_position[order.client_order_id] = pid
            current = None
        if not isinstance(current, Position) or current.is_closed:
            opened = self._open_position(instrument, pid, fill)
            event = position_event(PositionOpened, opened, fill, event_id=ids(), ts_init=ts)
            return [opened], [event], Money.from_raw(0, opened.currency)
        size = fill.last_qty
        held = current.quantity
        reducing = (fill.order_side == OrderSide.BUY) != current.is_long
        if not reducing or size <= held:
            realized = current.apply(fill)
            cls = PositionClosed if current.is_closed else PositionChanged
            event = position_event(cls, current, fill, event_id=ids(), ts_init=ts)
            return [current], [event], realized
        # A flip: close what is held, open the remainder.
        rest = size - held
        p = max(size.precision, held.precision)
        size_raw = size.raw * 10 ** (p - size.precision)
        held_raw = held.raw * 10 ** (p - held.precision)
        comm = fill.commission
        close_comm = Money.from_raw(
            _div_round(comm.raw * held_raw, size_raw, Rounding.HALF_EVEN), comm.currency
        )
        open_comm = comm - close_comm
        realized = current.apply(fill, last_qty=held, commission=close_comm)
        closed_event = position_event(PositionClosed, current, fill, event_id=ids(), ts_init=ts)
        if not netting:
            pid = self._new_hedge_id(order.instrument_id, order.strategy_id)
            self._order_position[order.client_order_id] = pid
        opened = self._open_position(instrument, pid, fill, last_qty=rest, commission=open_comm)
        opened_event = position_event(PositionOpened, opened, fill, event_id=ids(), ts_init=ts)
        return [current, opened], [closed_event, opened_event], realized

    # ------------------------------------------------------------------ contingencies

    def _contingencies(self, order: Order, event: OrderEvent) -> None:
        coid = order.client_order_id
        children = self._oto_children.get(coid)
        if children is not None:
            if order.status is _FILLED:
                del self._oto_children[coid]
                self._release(order, children, None)
            elif order.is_closed:
                del self._oto_children[coid]
                if order.filled_qty.raw:
                    self._release(order, children, order.filled_qty)
                else:
                    for child in children:
                        if child.status is _INITIALIZED:
                            self._held.pop(child.client_order_id, None)
                            self._local(child, OrderCanceled)
        others = self._oco.get(coid)
        if others is None:
            return
        if order.is_closed:
            del self._oco[coid]
            for other_id in others:
                self._oco.pop(other_id, None)
            for other_id in others:
                other = self._cache.order(other_id)
                if isinstance(other, Order) and not other.is_closed:
                    self._cancel_linked(other)
        elif type(event) is OrderFilled:
            leaves = order.leaves_qty
            for other_id in others:
                other = self._cache.order(other_id)
                if not isinstance(other, Order) or other.is_closed:
                    continue
                if other.leaves_qty > leaves:
                    self._reduce_linked(other, other.filled_qty + leaves)

    def _release(self, parent: Order, children: tuple[Order, ...], qty: Quantity | None) -> None:
        parent_pid = self._order_position.get(parent.client_order_id) or parent.position_id
        for child in children:
            if child.status is not _INITIALIZED or child.client_order_id not in self._held:
                continue
            if qty is not None and child.quantity > qty:
                self._local(child, OrderUpdated, quantity=qty)
            del self._held[child.client_order_id]
            if parent_pid is not None:
                self._order_position.setdefault(child.client_order_id, parent_pid)
            self._submit(
                self._submit_command(
                    self.trader_id, child, self._order_position.get(child.client_order_id)
                )
            )

    def _cancel_linked(self, order: Order) -> None:
        if order.status is _INITIALIZED:
            self._held.pop(order.client_order_id, None)
            self._local(order, OrderCanceled)
            return
        self._cancel(
            CancelOrder(
                trader_id=self.trader_id,
                strategy_id=order.strategy_id,
                command_id=self._ids(),
                ts_init=self._now(),
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                venue_order_id=order.venue_order_id,
            )
        )

    def _reduce_linked(self, order: Order, quantity: Quantity) -> None:
        if order.status is _INITIALIZED:
            self._local(order, OrderUpdated, quantity=quantity)
            return
        if order.status is _PENDING_CANCEL:
            return
        self._modify(
            ModifyOrder(
                trader_id=self.trader_id,
                strategy_id=order.strategy_id,
                command_id=self._ids(),
                ts_init=self._now(),
                instrument_id=order.instrument_id,
                client_order_id=order.client_order_id,
                quantity=quantity,
                venue_order_id=order.venue_order_id,
            )
        )
