"""The seam between the execution engine and a venue: :class:`ExecutionClient`.

Like an HTTP transport, a client is small: it knows its ``venue`` and ``account_id`` and turns
four commands into venue requests. Everything else (order state, positions, contingent orders,
risk) lives in the engines.

Contract
--------
Commands in (called by :class:`~alphaforge.execution.engine.ExecutionEngine`):

- ``submit_order(SubmitOrder)`` -- the engine has already applied ``OrderSubmitted`` (status
  SUBMITTED) before the call. Linked orders (OCO, brackets) arrive leg by leg as plain
  ``SubmitOrder`` commands when the engine releases them.
- ``modify_order(ModifyOrder)`` -- the engine has applied ``OrderPendingUpdate``.
- ``cancel_order(CancelOrder)`` -- the engine has applied ``OrderPendingCancel``.
- ``cancel_all_orders(CancelAllOrders)`` -- the engine has applied ``OrderPendingCancel`` to
  every matching working order; the client reports one ``OrderCanceled`` per order.

Events out: the client reports what the venue says by calling the event handler it was given
(``ExecutionEngine.process``, an :data:`EventHandler`) with
:mod:`alphaforge.model.events` order events -- ``OrderAccepted``, ``OrderRejected``,
``OrderTriggered``, ``OrderUpdated``, ``OrderModifyRejected``, ``OrderCanceled``,
``OrderCancelRejected``, ``OrderExpired``, ``OrderFilled`` -- and
:class:`~alphaforge.portfolio.accounts.AccountState` snapshots (live venues). Clients never emit
``OrderSubmitted``/``OrderPending*``/``OrderDenied`` (the engines do). ``OrderFilled`` needs a
``trade_id`` unique per order, the fill's ``commission`` and ``liquidity_side``; its
``position_id`` may be ``None`` (the OMS assigns it).

A client may call the handler synchronously from inside a command (a backtest venue filling a
market order at once); the engine is re-entrant for that. Live clients do their I/O in anyio
tasks and call the handler from the engine's event loop; no method here may block.

If a command method raises, the engine reports the error; for ``submit_order`` it rejects the
order (``OrderRejected``, reason names the error), since nothing reached the venue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, Union, runtime_checkable

from alphaforge.model.events import OrderEvent
from alphaforge.model.identifiers import AccountId, Venue

if TYPE_CHECKING:
    from alphaforge.execution.messages import (
        CancelAllOrders,
        CancelOrder,
        ModifyOrder,
        SubmitOrder,
    )
    from alphaforge.portfolio.accounts import AccountState

__all__ = ["EventHandler", "ExecutionClient"]

EventHandler = Callable[[Union[OrderEvent, "AccountState"]], None]
"""Where a client reports venue events: ``ExecutionEngine.process``."""


@runtime_checkable
class ExecutionClient(Protocol):
    """A venue connection for orders (live adapter or backtest ``SimulatedExchange``)."""

    @property
    def venue(self) -> Venue:
        """The venue this client routes to; the engine routes orders by ``instrument_id.venue``."""
        ...

    @property
    def account_id(self) -> AccountId:
        """The account orders are placed on (stamped on ``OrderSubmitted``)."""
        ...

    def submit_order(self, command: SubmitOrder) -> None:
        """Send a new order to the venue."""
        ...

    def modify_order(self, command: ModifyOrder) -> None:
        """Ask the venue to change a working order."""
        ...

    def cancel_order(self, command: CancelOrder) -> None:
        """Ask the venue to cancel an order."""
        ...

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        """Ask the venue to cancel every matching working order."""
        ...
