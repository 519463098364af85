"""Position events: immutable snapshots published on ``events.position.<strategy_id>``.

The ExecutionEngine publishes, for each fill that touches a position, one of

- :class:`PositionOpened` -- the fill opened the position;
- :class:`PositionChanged` -- the fill changed an open position that stays open;
- :class:`PositionClosed` -- the fill made the position flat.

A fill that flips a NETTING position produces ``PositionClosed`` then ``PositionOpened`` (the
same position id; a new :class:`~alphaforge.portfolio.position.Position` object).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from alphaforge.model.enums import OrderSide
from alphaforge.model.events import OrderFilled
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
)
from alphaforge.model.values import Currency, Money, Price, Quantity
from alphaforge.portfolio.position import Position, PositionSide

__all__ = [
    "PositionChanged",
    "PositionClosed",
    "PositionEvent",
    "PositionOpened",
    "position_event",
]


@attrs.frozen(kw_only=True, slots=True)
class PositionEvent:
    """Fields shared by the position events (a snapshot after the fill).

    Attributes
    ----------
    position_id, strategy_id, instrument_id, account_id
        Identity.
    opening_order_id, closing_order_id
        The order that opened the position and the last order that reduced it.
    entry
        Side of the opening fill.
    side
        LONG, SHORT or FLAT after the fill.
    signed_qty, quantity, peak_qty
        Quantity after the fill (signed, absolute) and the largest held.
    last_qty, last_px
        The part of the fill applied to this position.
    currency
        PnL currency.
    avg_px_open, avg_px_close
        Average opening and closing prices.
    realized_pnl
        Cumulative realized PnL, net of commissions in ``currency``.
    fill
        The fill that caused the event.
    ts_opened
        When the position opened.
    ts_event, ts_init, event_id
        Event time (the fill's), creation time and a deterministic id.
    """

    position_id: PositionId
    strategy_id: StrategyId
    instrument_id: InstrumentId
    account_id: AccountId | None
    opening_order_id: ClientOrderId
    closing_order_id: ClientOrderId | None
    entry: OrderSide
    side: PositionSide
    signed_qty: Decimal
    quantity: Quantity
    peak_qty: Quantity
    last_qty: Quantity
    last_px: Price
    currency: Currency
    avg_px_open: Decimal
    avg_px_close: Decimal | None
    realized_pnl: Money
    fill: OrderFilled
    ts_opened: int
    ts_event: int
    ts_init: int
    event_id: str


@attrs.frozen(kw_only=True, slots=True)
class PositionOpened(PositionEvent):
    """A fill opened the position."""


@attrs.frozen(kw_only=True, slots=True)
class PositionChanged(PositionEvent):
    """A fill changed an open position that stays open."""


@attrs.frozen(kw_only=True, slots=True)
class PositionClosed(PositionEvent):
    """A fill closed the position.

    Attributes
    ----------
    ts_closed
        When the position closed.
    duration_ns
        ``ts_closed - ts_opened``.
    """

    ts_closed: int
    duration_ns: int


def position_event(
    cls: type[PositionEvent],
    position: Position,
    fill: OrderFilled,
    *,
    event_id: str,
    ts_init: int,
) -> PositionEvent:
    """Build a position event of type ``cls`` from ``position``'s state after ``fill``."""
    fields: dict[str, Any] = {
        "position_id": position.id,
        "strategy_id": position.strategy_id,
        "instrument_id": position.instrument_id,
        "account_id": position.account_id,
        "opening_order_id": position.opening_order_id,
        "closing_order_id": position.closing_order_id,
        "entry": position.entry,
        "side": position.side,
        "signed_qty": position.signed_qty,
        "quantity": position.quantity,
        "peak_qty": position.peak_qty,
        "last_qty": position.last_qty,
        "last_px": position.last_px,
        "currency": position.currency,
        "avg_px_open": position.avg_px_open,
        "avg_px_close": position.avg_px_close,
        "realized_pnl": position.realized_pnl,
        "fill": fill,
        "ts_opened": position.ts_opened,
        "ts_event": fill.ts_event,
        "ts_init": ts_init,
        "event_id": event_id,
    }
    if cls is PositionClosed:
        closed = position.ts_closed if position.ts_closed is not None else fill.ts_event
        return PositionClosed(ts_closed=closed, duration_ns=closed - position.ts_opened, **fields)
    return cls(**fields)
