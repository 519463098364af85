"""The live execution bridge: the sync engine seam over an async venue client.

:class:`LiveExecutionClient` is what the :class:`~alphaforge.execution.ExecutionEngine` routes a
venue's orders to (the sync :class:`alphaforge.execution.client.ExecutionClient` seam). Commands
are queued and sent, one at a time and in order, by a task of the node's task group; reports come
back through the adapter's report sink on the same event loop.

The framework rule (enforced here, not by adapters)
---------------------------------------------------
- A definitive answer (:class:`~alphaforge.net.errors.VenueRejected`,
  :class:`~alphaforge.net.errors.ConnectError`, :class:`~alphaforge.errors.NotSupported`,
  ``InvalidValue``: nothing reached the venue) rejects the order.
- Any other failure after sending -- :class:`~alphaforge.net.errors.OutcomeUnknown`, a dropped
  connection, a timeout -- leaves the order *in flight* (SUBMITTED / PENDING_CANCEL /
  PENDING_UPDATE). It is settled only by reconciliation: a ``query_order`` answer, the open
  orders, or the fills; it is never marked failed because of the error.
- Reports are applied idempotently and in order: an event the order's state machine does not
  accept in its current state is a duplicate or stale report and is skipped; a fill is keyed
  by its trade id and applied once.
- Reports about orders the node did not create are *external*: recorded in
  :attr:`LiveExecutionClient.external_orders` and left alone (or canceled, if configured).
- The account is the venue's: every reconciliation pass applies the venue's balances
  (:meth:`~alphaforge.adapters.ExecutionClient.account_state`) to the node's account. On a
  margin account the venue's positions are compared with the node's net positions: a venue
  position the node has no position for is *external* (logged once, recorded in
  :attr:`LiveExecutionClient.external_positions`, left alone); a different quantity is a
  mismatch (logged, recorded in :attr:`LiveExecutionClient.position_mismatches`). The node's
  positions are never rewritten from the venue's figures: they come from fills, which carry
  the prices and commissions a position's PnL needs. Between passes, balance changes the user
  stream reports (an :class:`~alphaforge.adapters.AccountReport` through the report sink) are
  applied as they come; positions are compared at the passes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Literal

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from alphaforge.adapters.clients import ExecutionClient as AsyncExecutionClient
from alphaforge.adapters.reports import (
    AccountReport,
    OrderReport,
    PositionReport,
    ReportKind,
    order_events,
)
from alphaforge.cache import Cache
from alphaforge.clock import Clock
from alphaforge.errors import InvalidValue, KernelStateError, NotSupported
from alphaforge.execution.messages import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from alphaforge.model.enums import LiquiditySide, OrderStatus
from alphaforge.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModifyRejected,
    OrderRejected,
)
from alphaforge.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    StrategyId,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)
from alphaforge.model.instruments import Instrument
from alphaforge.model.orders import ORDER_TRANSITIONS, Order
from alphaforge.model.values import Money, Price
from alphaforge.net.errors import ConnectError, VenueRejected
from alphaforge.portfolio.accounts import AccountType

__all__ = ["LiveExecutionClient", "ReconciliationConfig", "ReconciliationStats"]

_log = logging.getLogger("alphaforge.live.execution")

_DEFINITIVE: tuple[type[BaseException], ...] = (
    VenueRejected,
    ConnectError,
    NotSupported,
    InvalidValue,
)
_OPEN = frozenset(
    {
        OrderStatus.ACCEPTED,
        OrderStatus.TRIGGERED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_UPDATE,
    }
)


@attrs.frozen(kw_only=True)
class ReconciliationConfig:
    """How the node settles orders whose outcome it does not know.

    Parameters
    ----------
    settle_delay_s
        First ``query_order`` this long after an unknown outcome (then doubling, capped at
        ``settle_max_delay_s``).
    settle_max_delay_s
        Cap of the delay between settle queries.
    not_found_limit
        After an unknown *submit*, this many consecutive "venue does not know the order" answers
        (plus a full reconciliation pass) settle it as rejected: it never arrived.
    external_orders
        ``"ignore"`` (record them, leave them alone) or ``"cancel"`` them at the venue.
    lookback_ns
        At start, fills since ``start - lookback_ns`` are fetched.
    """

    settle_delay_s: float = attrs.field(default=0.5, validator=attrs.validators.gt(0))
    settle_max_delay_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    not_found_limit: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    external_orders: Literal["ignore", "cancel"] = attrs.field(
        default="ignore", validator=attrs.validators.in_(("ignore", "cancel"))
    )
    lookback_ns: int = attrs.field(default=0, validator=attrs.validators.ge(0))


@attrs.define
class ReconciliationStats:
    """Counters of one venue's reconciliation."""

    passes: int = 0
    reports: int = 0
    skipped: int = 0
    duplicate_fills: int = 0
    synthesized_fills: int = 0
    settled_unknown: int = 0
    account_snapshots: int = 0


class LiveExecutionClient:
    """Adapts an async adapter :class:`~alphaforge.adapters.ExecutionClient` onto the engine.

    Parameters
    ----------
    client
        The venue's async execution client.
    process
        Where order events go: ``ExecutionEngine.process``.
    cache, clock
        The node's cache and clock.
    trader_id
        Stamped on commands the bridge creates (external cancels).
    config
        Reconciliation settings.
    """

    def __init__(
        self,
        client: AsyncExecutionClient,
        process: Callable[[Any], None],
        cache: Cache,
        clock: Clock,
        trader_id: TraderId,
        config: ReconciliationConfig | None = None,
    ) -> None:
        self.client = client
        self.config = config or ReconciliationConfig()
        self._process, self._cache, self._clock = process, cache, clock
        self._trader_id = trader_id
        self._send: MemoryObjectSendStream[tuple[str, Any]]
        self._recv: MemoryObjectReceiveStream[tuple[str, Any]]
        self._send, self._recv = anyio.create_memory_object_stream[tuple[str, Any]](math.inf)
        self._tg: anyio.abc.TaskGroup | None = None
        self._seen_fills: set[tuple[ClientOrderId, TradeId]] = set()
        self._last_fill_ts: dict[InstrumentId, int] = {}
        self._instruments: set[InstrumentId] = set()
        self.unknown: dict[ClientOrderId, str] = {}
        """Orders whose last command's outcome is unknown -> the command kind."""
        self.external_orders: dict[VenueOrderId, OrderReport] = {}
        """Orders at the venue the node did not create (latest report of each)."""
        self.account: AccountReport | None = None
        """The venue's latest account snapshot (balances and positions)."""
        self.external_positions: dict[InstrumentId, PositionReport] = {}
        """Venue positions of instruments the node holds no position in."""
        self.position_mismatches: dict[InstrumentId, tuple[Decimal, Decimal]] = {}
        """Instruments whose net position differs: ``(node quantity, venue quantity)``."""
        self.stats = ReconciliationStats()
        self.connected = False
        self.last_connection_id: int | None = None
        self._start_ns = 0

    # -- the sync seam ---------------------------------------------------------------------

    @property
    def venue(self) -> Venue:
        return self.client.venue

    @property
    def account_id(self) -> AccountId:
        return self.client.account_id

    def _enqueue(self, kind: str, command: Any) -> None:
        if self._tg is None:
            raise KernelStateError("the live execution client is not running")
        self._send.send_nowait((kind, command))

    def submit_order(self, command: SubmitOrder) -> None:
        self._instruments.add(command.instrument_id)
        self._enqueue("submit", command)

    def modify_order(self, command: ModifyOrder) -> None:
        self._enqueue("modify", command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._enqueue("cancel", command)

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        self._enqueue("cancel_all", command)

    def watch(self, instrument_id: InstrumentId) -> None:
        """Include ``instrument_id`` in fill reconciliation (instruments ordered on are)."""
        self._instruments.add(instrument_id)

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(
        self,
        tg: anyio.abc.TaskGroup,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Connect, reconcile, signal ``started``, then send queued commands until
        :meth:`close` (or cancellation); disconnects on the way out. Settle queries run in
        ``tg``."""
        self._start_ns = self._clock.timestamp_ns()
        try:
            await self.client.connect(self.on_report)
            self.connected = True
            conn_id = getattr(self.client, "connection_id", None)
            self.last_connection_id = conn_id if isinstance(conn_id, int) else None
            self._tg = tg  # commands queue from now on; they are sent after the start pass
            await self.reconcile()
            task_status.started()
            async for kind, command in self._recv:
                await self._run(kind, command)
        finally:
            self._tg = None
            self.connected = False
            try:  # in this task, where connect ran (anyio resources must exit where entered)
                await self.client.disconnect()
            except Exception:  # noqa: BLE001 - shutting down: report and go on
                _log.exception("disconnecting %s failed", self.venue)

    def close(self) -> None:
        """Stop taking commands; :meth:`run` sends what is queued, disconnects and returns."""
        self._tg = None
        self._send.close()

    async def _run(self, kind: str, command: Any) -> None:
        client = self.client
        try:
            if kind == "submit":
                answer: Any = await client.submit_order(command)
            elif kind == "modify":
                answer = await client.modify_order(command)
            elif kind == "cancel":
                answer = await client.cancel_order(command)
            else:
                answer = await client.cancel_all_orders(command)
        except _DEFINITIVE as exc:
            self._definitive_failure(kind, command, exc)
            return
        except Exception as exc:  # noqa: BLE001 - unknown outcome: in flight until reconciled
            self._unknown_outcome(kind, command, exc)
            return
        for report in answer if isinstance(answer, (list, tuple)) else (answer,):
            if isinstance(report, OrderReport):
                self.on_report(report)

    def _event(self, order: Order, cls: type[OrderEvent], **fields: Any) -> OrderEvent:
        now = self._clock.timestamp_ns()
        return cls(
            client_order_id=order.client_order_id, strategy_id=order.strategy_id,
            instrument_id=order.instrument_id, ts_event=now, ts_init=now, **fields,
        )  # fmt: skip

    def _definitive_failure(self, kind: str, command: Any, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        coid = getattr(command, "client_order_id", None)
        order = self._cache.order(coid) if coid is not None else None
        if not isinstance(order, Order):
            _log.warning("%s %s failed: %s", kind, self.venue, reason)
            return
        if kind == "submit":
            event = self._event(order, OrderRejected, account_id=self.account_id, reason=reason)
        elif kind == "cancel":
            event = self._event(order, OrderCancelRejected, reason=reason)
        else:
            event = self._event(order, OrderModifyRejected, reason=reason)
        self._apply(order, event)

    def _unknown_outcome(self, kind: str, command: Any, exc: BaseException) -> None:
        coid = getattr(command, "client_order_id", None)
        _log.warning(
            "%s on %s: outcome unknown (%s: %s); the order stays in flight until reconciled",
            kind, self.venue, type(exc).__name__, exc,
        )  # fmt: skip
        if coid is None or self._tg is None:
            return
        self.unknown[coid] = kind
        self._tg.start_soon(self._settle, command.instrument_id, coid)

    async def _settle(self, instrument_id: InstrumentId, coid: ClientOrderId) -> None:
        """Query an unknown-outcome order until reconciliation settles it."""
        delay, not_found = self.config.settle_delay_s, 0
        while coid in self.unknown:
            await anyio.sleep(delay)
            delay = min(delay * 2, self.config.settle_max_delay_s)
            try:
                report = await self.client.query_order(instrument_id, coid)
            except Exception as exc:  # noqa: BLE001 - still unknown; ask again later
                _log.info("query_order %s failed (%s); retrying", coid, exc)
                continue
            order = self._cache.order(coid)
            if not isinstance(order, Order) or order.is_closed:
                self.unknown.pop(coid, None)
                break
            if report is None:
                not_found += 1
                if self.unknown.get(coid) == "submit" and not_found >= self.config.not_found_limit:
                    await self._settle_not_found(order)
                continue
            await self.reconcile_order(order, report)
            self._settled(order)

    async def _settle_not_found(self, order: Order) -> None:
        # A full pass first: a fill report may know the order even if the order query does not.
        await self.reconcile_fills((order.instrument_id,))
        if order.is_closed or order.filled_qty:
            self._settled(order)
            return
        reason = "reconciliation: the venue does not know the order (never arrived)"
        self._apply(order, self._event(order, OrderRejected, account_id=self.account_id,
                                       reason=reason))  # fmt: skip
        self._settled(order)

    def _settled(self, order: Order) -> None:
        kind = self.unknown.pop(order.client_order_id, None)
        if kind is None:
            return
        self.stats.settled_unknown += 1
        status = order.status
        if kind == "cancel" and status is OrderStatus.PENDING_CANCEL:
            reason = "reconciliation: the order is still open at the venue"
            self._apply(order, self._event(order, OrderCancelRejected, reason=reason))
        elif kind == "modify" and status is OrderStatus.PENDING_UPDATE:
            reason = "reconciliation: the order was not modified at the venue"
            self._apply(order, self._event(order, OrderModifyRejected, reason=reason))

    # -- reports -------------------------------------------------------------------------------

    def on_report(self, report: OrderReport | AccountReport) -> None:
        """Apply one venue report (the adapter's report sink; idempotent)."""
        self.stats.reports += 1
        if type(report) is AccountReport:
            self._apply_balances(report)
            return
        if type(report) is not OrderReport:
            raise InvalidValue(
                "report", type(report).__name__, "must be an OrderReport or AccountReport"
            )
        order = self._own_order(report)
        if order is None:
            self._external(report)
            return
        if report.kind is ReportKind.STATUS:
            self._apply_status(order, report)
            return
        now = self._clock.timestamp_ns()
        for event in order_events(report, strategy_id=order.strategy_id, ts_init=now):
            self._apply(order, event)
        pending = self.unknown.get(order.client_order_id)
        if pending is not None and (
            order.is_closed
            or pending == "submit"
            or (pending == "modify" and report.kind is ReportKind.UPDATED)
        ):
            self._settled(order)

    def _own_order(self, report: OrderReport) -> Order | None:
        coid = report.client_order_id
        if coid is None:
            return None
        order = self._cache.order(coid)
        return order if isinstance(order, Order) else None

    def _external(self, report: OrderReport) -> None:
        first = report.venue_order_id not in self.external_orders
        self.external_orders[report.venue_order_id] = report
        if not first or self.config.external_orders != "cancel" or self._tg is None:
            return
        if report.status in _OPEN or report.status is OrderStatus.SUBMITTED:
            coid = report.client_order_id or ClientOrderId(f"EXT-{report.venue_order_id}")
            self._enqueue(
                "cancel",
                CancelOrder(
                    trader_id=self._trader_id, strategy_id=StrategyId("EXTERNAL-000"),
                    command_id=f"EXT-CANCEL-{report.venue_order_id}",
                    ts_init=self._clock.timestamp_ns(), instrument_id=report.instrument_id,
                    client_order_id=coid, venue_order_id=report.venue_order_id,
                ),
            )  # fmt: skip

    def _apply(self, order: Order, event: OrderEvent) -> None:
        """Hand ``event`` to the engine unless it is a duplicate or stale for ``order``."""
        if type(event) is OrderFilled:
            key = (order.client_order_id, event.trade_id)
            if key in self._seen_fills or event.last_qty > order.leaves_qty:
                self.stats.duplicate_fills += 1
                return
            self._seen_fills.add(key)
            iid = order.instrument_id
            self._last_fill_ts[iid] = max(self._last_fill_ts.get(iid, 0), event.ts_event)
        if (order.status, type(event)) not in ORDER_TRANSITIONS:
            self.stats.skipped += 1
            return
        self._process(event)

    def _apply_status(self, order: Order, report: OrderReport) -> None:
        """Bring ``order`` to the state a STATUS report describes (fills are not invented
        here; :meth:`reconcile_order` fetches them first)."""
        now = self._clock.timestamp_ns()
        ts, voi, acc = report.ts_event or now, report.venue_order_id, report.account_id
        status = report.status
        if order.status is OrderStatus.SUBMITTED and (status in _OPEN or report.filled_qty):
            self._apply(order, OrderAccepted(
                client_order_id=order.client_order_id, strategy_id=order.strategy_id,
                instrument_id=order.instrument_id, ts_event=ts, ts_init=now,
                venue_order_id=voi, account_id=acc,
            ))  # fmt: skip
        ended: dict[OrderStatus, type[OrderCanceled | OrderExpired]] = {
            OrderStatus.CANCELED: OrderCanceled,
            OrderStatus.EXPIRED: OrderExpired,
        }
        cls = ended.get(status)
        if cls is not None and report.filled_qty <= order.filled_qty:
            self._apply(order, cls(
                client_order_id=order.client_order_id, strategy_id=order.strategy_id,
                instrument_id=order.instrument_id, ts_event=ts, ts_init=now,
                venue_order_id=voi, account_id=acc,
            ))  # fmt: skip
        elif status is OrderStatus.REJECTED:
            self._apply(order, OrderRejected(
                client_order_id=order.client_order_id, strategy_id=order.strategy_id,
                instrument_id=order.instrument_id, ts_event=ts, ts_init=now, account_id=acc,
                reason=report.reason or "rejected (reconciliation)",
            ))  # fmt: skip

    # -- reconciliation ------------------------------------------------------------------------

    async def reconcile_order(self, order: Order, report: OrderReport) -> None:
        """Settle ``order`` from a STATUS report: missing fills first (from ``fills_since``,
        else one synthesized reconciliation fill at the average price), then its status."""
        if report.filled_qty > order.filled_qty:
            await self.reconcile_fills((order.instrument_id,))
        if report.filled_qty > order.filled_qty:
            self._synthesize_fill(order, report)
        self._apply_status(order, report)

    def _synthesize_fill(self, order: Order, report: OrderReport) -> None:
        """The venue says more was filled than its fill reports show: book the rest as one
        reconciliation fill at the venue's average price (or the order's price)."""
        instrument = self._cache.instrument(order.instrument_id)
        px = report.avg_px
        if px is None and order.price is not None:
            px = order.price.as_decimal()
        if px is None or not isinstance(instrument, Instrument):
            _log.error("order %s: cannot book missing fills (no price)", order.client_order_id)
            return
        if order.status is OrderStatus.SUBMITTED:
            self._apply_status(order, attrs.evolve(report, status=OrderStatus.ACCEPTED))
        pp = instrument.price_precision
        now = self._clock.timestamp_ns()
        self.stats.synthesized_fills += 1
        self._apply(order, OrderFilled(
            client_order_id=order.client_order_id, strategy_id=order.strategy_id,
            instrument_id=order.instrument_id, ts_event=report.ts_event or now, ts_init=now,
            venue_order_id=report.venue_order_id, account_id=report.account_id,
            trade_id=TradeId(f"RECON-{report.venue_order_id}-{report.filled_qty.raw}"),
            order_side=order.side, order_type=order.order_type,
            last_qty=report.filled_qty - order.filled_qty,
            last_px=Price(px.quantize(Decimal(1).scaleb(-pp)), pp),
            commission=Money("0", instrument.settlement_currency),
            liquidity_side=LiquiditySide.NO_LIQUIDITY_SIDE,
        ))  # fmt: skip

    async def reconcile_fills(self, instrument_ids: Sequence[InstrumentId]) -> None:
        """Fills since the last known one per instrument, applied oldest first (idempotent)."""
        start = max(0, self._start_ns - self.config.lookback_ns)
        for iid in sorted(set(instrument_ids), key=str):
            reports = await self.client.fills_since(iid, self._last_fill_ts.get(iid, start))
            for report in sorted(reports, key=lambda r: r.ts_event):
                self.on_report(report)

    async def reconcile(self) -> None:
        """A full pass: fills, open orders, every own in-flight order by query, then the
        account (balances and positions)."""
        orders = [
            o
            for o in self._cache.orders()
            if isinstance(o, Order) and o.instrument_id.venue == self.venue
        ]
        instruments = self._instruments | {o.instrument_id for o in orders}
        await self.reconcile_fills(tuple(instruments))
        open_reports = await self.client.open_orders()
        seen: set[ClientOrderId] = set()
        for report in sorted(open_reports, key=lambda r: r.ts_event):
            order = self._own_order(report)
            if order is None:
                self._external(report)
                continue
            seen.add(order.client_order_id)
            await self.reconcile_order(order, report)
            self._settled(order)
        for order in orders:
            if order.is_closed or order.client_order_id in seen:
                continue
            if order.status is OrderStatus.INITIALIZED:
                continue
            answer = await self.client.query_order(order.instrument_id, order.client_order_id)
            if answer is not None:
                await self.reconcile_order(order, answer)
                self._settled(order)
        await self.reconcile_account()
        self.stats.passes += 1

    async def reconcile_account(self) -> AccountReport | None:
        """Apply the venue's balances to the node's account and compare positions (see the
        module docs; idempotent). ``None`` if the adapter does not offer account queries."""
        try:
            report = await self.client.account_state()
        except NotSupported as exc:
            _log.info("%s: no account reconciliation (%s)", self.venue, exc)
            return None
        if not isinstance(report, AccountReport):
            raise InvalidValue("account_state()", type(report).__name__, "must be an AccountReport")
        if report.account_id != self.account_id:
            raise InvalidValue(
                "account_state().account_id", str(report.account_id), f"not {self.account_id}"
            )
        self.account = report
        self.stats.account_snapshots += 1
        self._apply_balances(report)
        if report.account_type is AccountType.MARGIN:
            self._reconcile_positions(report)
        return report

    def _apply_balances(self, report: AccountReport) -> None:
        """The venue's balances of ``report``'s assets become the node account's (others stay)."""
        if report.account_id != self.account_id:
            _log.warning("%s: account report for %s ignored", self.venue, report.account_id)
            return
        if report.balances:
            self._process(report.to_state(ts_init=self._clock.timestamp_ns()))

    def _node_positions(self) -> dict[InstrumentId, Decimal]:
        """The node's net open quantity per instrument of this venue."""
        net: dict[InstrumentId, Decimal] = {}
        for position in self._cache.positions_open():
            iid = getattr(position, "instrument_id", None)
            qty = getattr(position, "signed_qty", None)
            if isinstance(iid, InstrumentId) and iid.venue == self.venue and qty is not None:
                net[iid] = net.get(iid, Decimal(0)) + Decimal(qty)
        return {iid: qty for iid, qty in net.items() if qty}

    def _reconcile_positions(self, report: AccountReport) -> None:
        node = self._node_positions()
        venue = {p.instrument_id: p for p in report.positions}
        known = {*node, *venue, *self.external_positions, *self.position_mismatches}
        for iid in sorted(known, key=str):
            ours, theirs = node.get(iid, Decimal(0)), venue.get(iid)
            venue_qty = theirs.signed_qty if theirs is not None else Decimal(0)
            if theirs is not None and not ours:
                if self.external_positions.get(iid) != theirs:
                    _log.warning(
                        "%s: external position %s %s (entry %s) the node did not open; "
                        "left alone", self.venue, iid, venue_qty, theirs.entry_px,
                    )  # fmt: skip
                self.external_positions[iid] = theirs
                self.position_mismatches.pop(iid, None)
                continue
            self.external_positions.pop(iid, None)
            if ours == venue_qty:
                self.position_mismatches.pop(iid, None)
                continue
            if self.position_mismatches.get(iid) != (ours, venue_qty):
                _log.error(
                    "%s: position mismatch on %s: node %s, venue %s", self.venue, iid, ours,
                    venue_qty,
                )  # fmt: skip
            self.position_mismatches[iid] = (ours, venue_qty)

    def check_reconnect(self) -> bool:
        """Whether the adapter reconnected since the last check (``connection_id`` moved)."""
        conn_id = getattr(self.client, "connection_id", None)
        if not isinstance(conn_id, int) or conn_id == self.last_connection_id:
            return False
        self.last_connection_id = conn_id
        return True
