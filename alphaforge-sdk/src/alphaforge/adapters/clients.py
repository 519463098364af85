"""The typed, transport-agnostic interfaces a venue adapter implements.

All three are ``async`` protocols (anyio: they run under asyncio and trio). They say *what* an
adapter does, not how it talks to the venue: HTTP, WebSocket, FIX or an in-process loopback
all fit. Parsing lives in pure functions over ``dict``/``bytes`` that the clients call, so it is
tested without a network.

==========================  =====================================================================
interface                   role
==========================  =====================================================================
:class:`InstrumentProvider` loads the venue's instruments (tick size, lot size, limits)
:class:`DataClient`         public market data: trades, quotes, book (snapshot + deltas), bars;
                            one :class:`~alphaforge.adapters.book_sync.BookSync` per book
:class:`ExecutionClient`    orders: submit / modify / cancel / cancel-all, and the reports the
                            live engine reconciles with (open orders, order status, fills,
                            the account's balances and positions)
:class:`Adapter`            what a registered adapter factory returns: the three above plus the
                            venue's :class:`~alphaforge.adapters.capabilities.Capabilities`
==========================  =====================================================================

Rules every implementation follows (the live engines and the conformance kit rely on them):

- a feature the :class:`Capabilities` do not declare raises
  :class:`~alphaforge.errors.NotSupported` before anything is sent;
- a command whose outcome is unknown (timeout or disconnect after sending) is *not* reported as
  rejected: the client raises the transport's "outcome unknown" error and the engine keeps the
  order in flight until reconciliation settles it;
- market data handed to a :class:`DataSink` is already validated and on the instrument grid;
  books are only ever changed through their ``BookSync``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, Union, runtime_checkable

from alphaforge.adapters.book_sync import BookSnapshot
from alphaforge.adapters.capabilities import Capabilities
from alphaforge.adapters.reports import AccountReport, OrderReport
from alphaforge.data.arrays import MarketArray
from alphaforge.model.data import Bar, BarType, OrderBookDeltas, QuoteTick, TradeTick
from alphaforge.model.identifiers import AccountId, ClientOrderId, InstrumentId, Venue
from alphaforge.model.instruments import Instrument

if TYPE_CHECKING:
    from alphaforge.execution.messages import (
        CancelAllOrders,
        CancelOrder,
        ModifyOrder,
        SubmitOrder,
    )

__all__ = [
    "Adapter",
    "DataClient",
    "DataSink",
    "ExecutionClient",
    "InstrumentProvider",
    "MarketData",
    "ReportSink",
]

MarketData = Union[TradeTick, QuoteTick, Bar, OrderBookDeltas, MarketArray]  # noqa: UP007
"""What a data client delivers (book changes as ``OrderBookDeltas`` or, cheaper, a
``book_deltas`` :class:`~alphaforge.data.MarketArray` batch, as ``BookSync`` emits them)."""

DataSink = Callable[[MarketData], None]
"""Where a data client delivers market data (the live data engine, on its event loop)."""

ReportSink = Callable[[Union[OrderReport, AccountReport]], None]  # noqa: UP007 (3.10 alias)
"""Where an execution client delivers user-stream reports (the live execution engine): order
reports, and balance changes as an :class:`AccountReport` of the assets that changed."""


@runtime_checkable
class InstrumentProvider(Protocol):
    """Loads and caches a venue's instruments."""

    async def load_all(self) -> Sequence[Instrument]:
        """Fetch every instrument the adapter supports (replaces the cache)."""
        ...

    async def load(self, instrument_ids: Sequence[InstrumentId]) -> Sequence[Instrument]:
        """Fetch the given instruments (an unknown id raises ``InvalidValue``)."""
        ...

    def get(self, instrument_id: InstrumentId) -> Instrument | None:
        """A cached instrument, or ``None``."""
        ...


@runtime_checkable
class DataClient(Protocol):
    """A venue's public market data."""

    @property
    def venue(self) -> Venue:
        """The venue."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What the venue supports."""
        ...

    async def connect(self, sink: DataSink) -> None:
        """Open connections; market data goes to ``sink`` from now on."""
        ...

    async def disconnect(self) -> None:
        """Close connections (idempotent)."""
        ...

    async def subscribe_trades(self, instrument_id: InstrumentId) -> None:
        """Stream trades (``NotSupported`` if not declared)."""
        ...

    async def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        """Stream top of book."""
        ...

    async def subscribe_book(self, instrument_id: InstrumentId, depth: int = 0) -> None:
        """Stream L2 book deltas, synced by the framework rule (``depth`` 0 = venue default)."""
        ...

    async def subscribe_bars(self, bar_type: BarType) -> None:
        """Stream venue-built (EXTERNAL) bars."""
        ...

    async def unsubscribe(self, instrument_id: InstrumentId) -> None:
        """Stop every stream of an instrument."""
        ...

    async def request_book_snapshot(self, instrument_id: InstrumentId) -> BookSnapshot:
        """A fresh book snapshot (REST, or the venue's next in-stream snapshot)."""
        ...


@runtime_checkable
class ExecutionClient(Protocol):
    """A venue's order entry and private stream (the live counterpart of
    :class:`alphaforge.execution.client.ExecutionClient`, which the live execution engine
    adapts onto this one)."""

    @property
    def venue(self) -> Venue:
        """The venue."""
        ...

    @property
    def account_id(self) -> AccountId:
        """The account orders are placed on."""
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What the venue supports."""
        ...

    async def connect(self, sink: ReportSink) -> None:
        """Open the user stream (if declared); reports go to ``sink``."""
        ...

    async def disconnect(self) -> None:
        """Close connections (idempotent)."""
        ...

    async def submit_order(self, command: SubmitOrder) -> OrderReport | None:
        """Send a new order; the venue's synchronous answer if it gives one."""
        ...

    async def modify_order(self, command: ModifyOrder) -> OrderReport | None:
        """Amend a working order (``NotSupported`` unless ``capabilities.amend``)."""
        ...

    async def cancel_order(self, command: CancelOrder) -> OrderReport | None:
        """Cancel one order."""
        ...

    async def cancel_all_orders(self, command: CancelAllOrders) -> Sequence[OrderReport]:
        """Cancel every matching working order."""
        ...

    async def query_order(
        self, instrument_id: InstrumentId, client_order_id: ClientOrderId
    ) -> OrderReport | None:
        """The order's current state (``STATUS`` report), ``None`` if the venue does not know
        it -- the answer that settles an unknown outcome."""
        ...

    async def open_orders(self, instrument_id: InstrumentId | None = None) -> Sequence[OrderReport]:
        """Every working order (reconciliation)."""
        ...

    async def fills_since(self, instrument_id: InstrumentId, ts_ns: int) -> Sequence[OrderReport]:
        """Fills after ``ts_ns`` (``FILL`` reports, oldest first; reconciliation)."""
        ...

    async def account_state(self) -> AccountReport:
        """The account's balances and, for derivatives, its open positions as the venue
        reports them now (reconciliation, at start and after every reconnect)."""
        ...


@runtime_checkable
class Adapter(Protocol):
    """What ``factory(**config)`` registered through ``alphaforge_register_adapters`` returns."""

    @property
    def capabilities(self) -> Capabilities:
        """The declaration (the same one the plugin registered as strings)."""
        ...

    @property
    def instrument_provider(self) -> InstrumentProvider:
        """The instrument provider."""
        ...

    def data_client(self) -> DataClient:
        """A new data client."""
        ...

    def execution_client(self, account_id: AccountId) -> ExecutionClient:
        """A new execution client for ``account_id`` (needs credentials)."""
        ...
