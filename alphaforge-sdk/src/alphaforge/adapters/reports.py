"""What a venue says about an order, before the engine knows which strategy owns it.

A venue's user stream (Binance ``executionReport`` / ``ORDER_TRADE_UPDATE``, Bybit ``order`` +
``execution``, OKX ``orders``, Coinbase ``user``, Kraken ``executions``) and its REST order
responses are parsed into :class:`OrderReport` (with zero or more :class:`FillReport`). The
venue does not know strategies, so a report carries no ``strategy_id``; the live execution
engine looks the order up by client order id and turns the report into the engine's order
events with :func:`order_events`. Reports for orders the node did not create (no or unknown
client order id) are *external* and go to reconciliation instead.

A venue's account query (Binance ``/api/v3/account``, ``/fapi/v2/balance`` +
``/fapi/v2/positionRisk``) is parsed into an :class:`AccountReport`: the balances as
:class:`~alphaforge.portfolio.AccountBalance` values and, for derivatives, one
:class:`PositionReport` per open position. Live reconciliation applies the balances to the
node's account and compares the positions with the node's.
"""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.model.enums import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
from alphaforge.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderTriggered,
    OrderUpdated,
)
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    StrategyId,
    TradeId,
    VenueOrderId,
)
from alphaforge.model.values import Money, Price, Quantity
from alphaforge.portfolio.accounts import AccountBalance, AccountState, AccountType

__all__ = [
    "AccountReport",
    "FillReport",
    "OrderReport",
    "PositionReport",
    "ReportKind",
    "order_events",
]


class ReportKind(enum.Enum):
    """What happened to the order in this report."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    TRIGGERED = "triggered"
    UPDATED = "updated"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    STATUS = "status"
    """A state snapshot (REST query / open orders): input for reconciliation, no event."""


@attrs.frozen(kw_only=True, slots=True)
class FillReport:
    """One execution of an order as the venue reported it."""

    trade_id: TradeId
    last_qty: Quantity
    last_px: Price
    commission: Money
    liquidity_side: LiquiditySide
    ts_event: int


@attrs.frozen(kw_only=True, slots=True)
class OrderReport:
    """One venue message about one order (see the module docs).

    Parameters
    ----------
    account_id, instrument_id
        Where the order lives.
    client_order_id
        Our id, or ``None`` when the venue has none (an external order).
    venue_order_id
        The venue's id.
    kind
        What happened (:class:`ReportKind`).
    status
        The order status after this report, in AlphaForge terms.
    side, order_type, time_in_force, quantity, filled_qty
        The order's terms and cumulative filled quantity.
    price, trigger_price
        Limit / trigger price when the order has one.
    avg_px
        Average fill price (exact), ``None`` before any fill.
    post_only, reduce_only
        Order flags as the venue reports them.
    reason
        Venue text for rejections / cancels (``""`` otherwise).
    fills
        Executions carried by this report (a ``FILL`` report has at least one).
    ts_event
        Venue time (ns).
    """

    account_id: AccountId
    instrument_id: InstrumentId
    client_order_id: ClientOrderId | None
    venue_order_id: VenueOrderId
    kind: ReportKind
    status: OrderStatus
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Quantity
    filled_qty: Quantity
    price: Price | None = None
    trigger_price: Price | None = None
    avg_px: Decimal | None = None
    post_only: bool = False
    reduce_only: bool = False
    reason: str = ""
    fills: tuple[FillReport, ...] = ()
    ts_event: int = 0

    def __attrs_post_init__(self) -> None:
        if self.kind is ReportKind.FILL and not self.fills:
            raise InvalidValue("fills", (), "a FILL report needs at least one fill")
        if self.filled_qty > self.quantity:
            raise InvalidValue(
                "filled_qty", str(self.filled_qty), f"must be <= quantity {self.quantity}"
            )

    @property
    def is_external(self) -> bool:
        """Whether the report has no client order id (an order the node did not create)."""
        return self.client_order_id is None


@attrs.frozen(kw_only=True, slots=True)
class PositionReport:
    """One open position as the venue reports it (net, one per instrument and side mode).

    Parameters
    ----------
    instrument_id
        The position's instrument.
    signed_qty
        Exact quantity, positive long and negative short (never zero: flat positions are not
        reported).
    entry_px
        The venue's average entry price, ``None`` if it gives none.
    unrealized_pnl
        The venue's unrealised PnL at its mark price, ``None`` if it gives none.
    ts_event
        Venue time (ns) of the figures, ``0`` if unknown.
    """

    instrument_id: InstrumentId
    signed_qty: Decimal
    entry_px: Decimal | None = None
    unrealized_pnl: Money | None = None
    ts_event: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.signed_qty, Decimal) or not self.signed_qty.is_finite():
            raise InvalidValue("signed_qty", self.signed_qty, "must be a finite Decimal")
        if not self.signed_qty:
            raise InvalidValue(
                "signed_qty", str(self.signed_qty), "a flat position is not reported"
            )
        if self.entry_px is not None and (
            not isinstance(self.entry_px, Decimal) or not self.entry_px.is_finite()
            or self.entry_px < 0
        ):  # fmt: skip
            raise InvalidValue("entry_px", self.entry_px, "must be a finite Decimal >= 0")


@attrs.frozen(kw_only=True, slots=True)
class AccountReport:
    """A venue's account snapshot: balances and (derivatives) open positions.

    Parameters
    ----------
    account_id
        The account.
    account_type
        ``CASH`` (spot) or ``MARGIN`` (derivatives, margin trading).
    balances
        One :class:`~alphaforge.portfolio.AccountBalance` per asset (``total = free +
        locked``, exact); assets the venue lists at zero may be left out.
    positions
        Open positions (empty for spot).
    ts_event
        Venue time (ns) of the snapshot, ``0`` if unknown.
    """

    account_id: AccountId
    account_type: AccountType
    balances: tuple[AccountBalance, ...] = ()
    positions: tuple[PositionReport, ...] = ()
    ts_event: int = 0

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for balance in self.balances:
            if not isinstance(balance, AccountBalance):
                raise InvalidValue("balances", balance, "must hold AccountBalance values")
            code = balance.currency.code
            if code in seen:
                raise InvalidValue("balances", code, "an asset is listed twice")
            seen.add(code)
        instruments: set[InstrumentId] = set()
        for position in self.positions:
            if not isinstance(position, PositionReport):
                raise InvalidValue("positions", position, "must hold PositionReport values")
            if position.instrument_id in instruments:
                raise InvalidValue(
                    "positions", str(position.instrument_id), "an instrument is listed twice"
                )
            instruments.add(position.instrument_id)

    def position(self, instrument_id: InstrumentId) -> PositionReport | None:
        """The reported position of ``instrument_id``, ``None`` when flat."""
        return next((p for p in self.positions if p.instrument_id == instrument_id), None)

    def to_state(self, *, ts_init: int) -> AccountState:
        """The balances as the :class:`~alphaforge.portfolio.AccountState` the portfolio
        applies (positions are not part of it)."""
        return AccountState(
            account_id=self.account_id, account_type=self.account_type, balances=self.balances,
            ts_event=self.ts_event or ts_init, ts_init=ts_init,
            event_id=f"ACCOUNT-{self.account_id}-{self.ts_event or ts_init}",
        )  # fmt: skip


def order_events(
    report: OrderReport, *, strategy_id: StrategyId, ts_init: int
) -> tuple[OrderEvent, ...]:
    """The engine's order events for ``report`` of an order owned by ``strategy_id``.

    ``STATUS`` and ``PENDING_CANCEL`` reports give no event (the engine emits its own pending
    events; snapshots are for reconciliation).

    Raises
    ------
    InvalidValue
        The report is external (no client order id).
    """
    if report.client_order_id is None:
        raise InvalidValue(
            "client_order_id", None, "an external order's report goes to reconciliation"
        )
    coid, iid, ts = report.client_order_id, report.instrument_id, report.ts_event
    voi, acc = report.venue_order_id, report.account_id
    sid = strategy_id
    kind = report.kind
    if kind is ReportKind.ACCEPTED:
        return (
            OrderAccepted(
                client_order_id=coid, strategy_id=sid, instrument_id=iid, ts_event=ts,
                ts_init=ts_init, venue_order_id=voi, account_id=acc,
            ),
        )  # fmt: skip
    if kind is ReportKind.REJECTED:
        return (
            OrderRejected(
                client_order_id=coid, strategy_id=sid, instrument_id=iid, ts_event=ts,
                ts_init=ts_init, account_id=acc, reason=report.reason,
            ),
        )  # fmt: skip
    simple: dict[ReportKind, type[OrderCanceled | OrderExpired | OrderTriggered]] = {
        ReportKind.CANCELED: OrderCanceled,
        ReportKind.EXPIRED: OrderExpired,
        ReportKind.TRIGGERED: OrderTriggered,
    }
    cls = simple.get(kind)
    if cls is not None:
        return (
            cls(
                client_order_id=coid, strategy_id=sid, instrument_id=iid, ts_event=ts,
                ts_init=ts_init, venue_order_id=voi, account_id=acc,
            ),
        )  # fmt: skip
    if kind is ReportKind.UPDATED:
        return (
            OrderUpdated(
                client_order_id=coid, strategy_id=sid, instrument_id=iid, ts_event=ts,
                ts_init=ts_init, venue_order_id=voi, account_id=acc, quantity=report.quantity,
                price=report.price, trigger_price=report.trigger_price,
            ),
        )  # fmt: skip
    if kind is ReportKind.FILL:
        return tuple(
            OrderFilled(
                client_order_id=coid, strategy_id=sid, instrument_id=iid,
                ts_event=fill.ts_event, ts_init=ts_init, venue_order_id=voi, account_id=acc,
                trade_id=fill.trade_id, order_side=report.side, order_type=report.order_type,
                last_qty=fill.last_qty, last_px=fill.last_px, commission=fill.commission,
                liquidity_side=fill.liquidity_side,
            )
            for fill in report.fills
        )  # fmt: skip
    return ()
