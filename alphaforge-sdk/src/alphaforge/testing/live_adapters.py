"""Conformance checks for venue-adapter plugins against a live venue (a loopback test venue).

Where :mod:`alphaforge.testing.adapters` checks parsing and book rules on recorded samples,
this kit drives the adapter's real clients -- built by the plugin's registered factory -- over
real sockets against a test venue it can steer and observe through :class:`VenueControl`::

    from alphaforge.testing import LiveAdapterConformance

    class TestMyVenueLive(LiveAdapterConformance):
        adapter_name = "myvenue"                       # the name your plugin registers

        @pytest.fixture(params=["asyncio", "trio"])    # optional: both anyio backends
        def anyio_backend(self, request): return request.param

        @pytest.fixture
        def conformance_venue(self):                   # a VenueControl, running
            with MyLoopbackVenue() as venue:
                yield venue

        @pytest.fixture
        def adapter_config(self, conformance_venue, request_timeout):
            return {"rest_url": conformance_venue.rest_url, "ws_url": conformance_venue.ws_url,
                    "api_key": "key", "api_secret": "secret", "request_timeout": request_timeout}

        @pytest.fixture
        def instrument_id(self): return InstrumentId.from_str("BTCUSD.MYVENUE")

The adapter is built as ``factory(**adapter_config)`` from the factory the installed plugin
registered under ``adapter_name`` (so the entry point is exercised); override ``live_adapter``
to build it differently. ``request_timeout`` (default 0.5 s) must reach the client's REST read
timeout: the kit delays an order answer beyond it. Further optional fixtures: ``order_quantity``
(default: twice the instrument's minimum quantity) and the :meth:`~LiveAdapterConformance.
synced_book` hook (default: ``data_client.book(instrument_id)``), which reads the data client's
:class:`~alphaforge.adapters.BookSync`.

Checks (stable ids ``adapter/<check>``, listed in :data:`LIVE_ADAPTER_CHECKS`):

- ``live_instruments_load`` -- ``load_all``/``load``/``get``; an unknown id is refused; the
  venue's book lies on the instrument's grid.
- ``live_book_sync`` -- snapshot + stream: the synced book equals the venue's, at its sequence,
  and so does the book the deltas handed to the sink build (the node's copy).
- ``live_trades_quotes`` -- every trade the venue prints arrives once, in order; the last quote
  is the venue's top of book.
- ``live_bars`` -- venue bars of ``bar_spec`` (EXTERNAL), once closed: each one the OHLCV of
  the streamed trades in its window.
- ``live_submit_ack`` -- synchronous answer and one ``ACCEPTED`` on the user stream; the order
  is open and queryable.
- ``live_partial_then_full_fill`` -- venue-side flow fills half, then the rest: each fill
  reported once, cumulative quantity exact, final status ``FILLED``.
- ``live_modify`` -- amended when ``capabilities.amend``; otherwise ``NotSupported`` and no
  request reaches the venue.
- ``live_cancel`` / ``live_cancel_all`` -- answers, one ``CANCELED`` per order on the stream,
  nothing left open.
- ``live_reject`` -- a definitive rejection raises ``VenueRejected``; nothing is streamed and
  the venue does not know the order.
- ``live_undeclared_not_sent`` -- every order shape (and market-data stream) the capabilities
  do not declare raises ``NotSupported`` before any request reaches the venue.
- ``live_disconnect_mid_stream`` -- the market streams drop right after a burst: reconnect,
  resubscribe, a fresh snapshot, and not one trade lost or duplicated.
- ``live_sequence_gap_resyncs`` -- a skipped book update: invalid, rebuilt from a new snapshot.
- ``live_duplicate_reordered`` -- a duplicated update is dropped (no resync); two swapped
  updates end in the venue's book.
- ``live_garbage_frames`` -- unparseable frames are skipped on the same connection.
- ``live_checksum_mismatch_resyncs`` -- checksum venues (:class:`ChecksumVenueControl`): a
  corrupted update invalidates the book, which resyncs. Skipped elsewhere.
- ``live_timeout_outcome_unknown`` -- the answer to an order comes after the client's timeout:
  ``OutcomeUnknown`` (never a rejection); ``query_order`` finds it.
- ``live_rate_limited`` -- a 429 with ``Retry-After``: a read waits it out and succeeds; an
  order is refused (``RateLimited``) or waits; nothing reaches the venue before Retry-After.
- ``live_user_stream_gap_recovered`` -- fills while the user stream is down are recovered by
  ``fills_since`` (or ``query_order`` when it is not supported) exactly once.

Waits are bounded by ``fail_after`` (``wait_timeout``, 10 s); no check asserts a duration.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import attrs
import pytest

from alphaforge.adapters import (
    AccountReport,
    Adapter,
    BookIntegrity,
    BookSync,
    Capabilities,
    DataClient,
    ExecutionClient,
    MarketDataKind,
    OrderReport,
    ReportKind,
)
from alphaforge.book import OrderBook, deltas_to_array
from alphaforge.data.arrays import MarketArray
from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.model import (
    AccountId,
    AggregationSource,
    Bar,
    BarSpecification,
    BarType,
    BookType,
    ClientOrderId,
    Instrument,
    InstrumentId,
    Order,
    OrderBookDeltas,
    OrderInitialized,
    OrderSide,
    OrderStatus,
    OrderType,
    QuoteTick,
    StrategyId,
    Symbol,
    TraderId,
    TradeTick,
)
from alphaforge.testing.adapters import order_shapes

__all__ = [
    "LIVE_ADAPTER_CHECKS",
    "BookLevels",
    "Channel",
    "ChecksumVenueControl",
    "LiveAdapterConformance",
    "LiveSession",
    "LiveSetup",
    "VenueControl",
]

KIND = "adapter"
LIVE_ADAPTER_CHECKS = (
    "live_instruments_load",
    "live_book_sync",
    "live_trades_quotes",
    "live_bars",
    "live_submit_ack",
    "live_partial_then_full_fill",
    "live_modify",
    "live_cancel",
    "live_cancel_all",
    "live_reject",
    "live_undeclared_not_sent",
    "live_disconnect_mid_stream",
    "live_sequence_gap_resyncs",
    "live_duplicate_reordered",
    "live_garbage_frames",
    "live_checksum_mismatch_resyncs",
    "live_timeout_outcome_unknown",
    "live_rate_limited",
    "live_user_stream_gap_recovered",
)
"""The stable ids of the live checks, in order (``adapter/<id>``)."""

Channel = Literal["trades", "quotes", "book", "bars", "user"]
"""A stream as the kit names it: public trades, top of book, book updates, venue bars (of
:attr:`LiveAdapterConformance.bar_spec`), the user stream."""

BookLevels = tuple[Sequence[tuple[Decimal, Decimal]], Sequence[tuple[Decimal, Decimal]]]
"""``(bids, asks)``, each ``(price, size)`` best first."""


@runtime_checkable
class VenueControl(Protocol):
    """What the kit needs from a test venue: move it, look inside it, break it.

    Every method is called from the test's thread and takes effect before it returns (a
    message it causes may still be in flight). Sequences are in the venue's own numbering, the
    one the adapter's :class:`~alphaforge.adapters.BookUpdate` ``last_seq`` carries. A fault
    switch is consumed by the first message it applies to.
    """

    # -- the market ------------------------------------------------------------------------

    def move_market(self, steps: int = 1) -> None:
        """Let scripted participants act ``steps`` times (orders, cancels, trades): each
        book change and trade is published on the streams."""
        ...

    def market_book(self, instrument_id: InstrumentId) -> BookLevels:
        """The book the venue has published (every level)."""
        ...

    def book_sequence(self, instrument_id: InstrumentId) -> int:
        """The sequence of the last published book change."""
        ...

    def printed_trades(self, instrument_id: InstrumentId) -> Sequence[str]:
        """Ids of every trade the venue has printed on its public trade stream, oldest first
        (as the adapter's ``TradeTick.trade_id`` spells them)."""
        ...

    def fill_resting(
        self, instrument_id: InstrumentId, client_order_id: str, quantity: Decimal
    ) -> None:
        """Venue-side flow trades exactly ``quantity`` against our resting order (the order
        entered with ``client_order_id``); raises ``InvalidValue`` if it is not resting or
        ``quantity`` exceeds what is left."""
        ...

    # -- observation ---------------------------------------------------------------------

    def stream_subscribers(
        self, channel: Channel, instrument_id: InstrumentId | None = None
    ) -> int:
        """Open connections that receive ``channel`` (of ``instrument_id``; ignored for
        ``"user"``)."""
        ...

    def stream_connections(self) -> int:
        """Stream connections accepted so far (monotonic; a reconnect increments it)."""
        ...

    def order_requests(self) -> int:
        """Order-entry requests received so far (new, amend, cancel; answered or not)."""
        ...

    # -- faults --------------------------------------------------------------------------

    def drop_streams(self, *, market: bool = True, user: bool = False) -> int:
        """Abort the public (``market``) and/or user-stream connections without a close
        frame, after what is already queued on them; returns how many."""
        ...

    def skip_book_updates(self, count: int = 1) -> None:
        """Do not send the next ``count`` book updates (a sequence gap)."""
        ...

    def duplicate_next_book_update(self) -> None:
        """Send the next book update twice."""
        ...

    def reorder_next_book_updates(self) -> None:
        """Send the next two book updates in swapped order."""
        ...

    def send_garbage_frames(self) -> None:
        """Send an unparseable text frame on every public-stream connection."""
        ...

    def delay_next_order_reply(self, seconds: float) -> None:
        """Execute the next new order at once but answer it only after ``seconds``."""
        ...

    def reject_next_order(self) -> None:
        """Definitively reject the next new order (as for an insufficient balance)."""
        ...

    def rate_limit_next_request(self, retry_after: int) -> None:
        """Answer the next request 429 with ``Retry-After: retry_after``; a request arriving
        before that has passed is a violation (answered as the venue would: a ban)."""
        ...

    def rate_limit_violations(self) -> int:
        """Requests that arrived before an announced ``Retry-After`` had passed."""
        ...


@runtime_checkable
class ChecksumVenueControl(VenueControl, Protocol):
    """A venue whose book updates carry a checksum (Kraken, OKX, ...)."""

    def corrupt_next_book_update(self) -> None:
        """Send the next book update with a wrong level (its checksum no longer matches)."""
        ...


def live_check(check: str) -> pytest.MarkDecorator:
    """The marker every live check carries (stable id ``adapter/<check>``)."""
    assert check in LIVE_ADAPTER_CHECKS, check
    return pytest.mark.alphaforge_conformance(KIND, check)


_Side = tuple[tuple[Decimal, Decimal], ...]


def _levels(book: BookLevels) -> tuple[_Side, _Side]:
    return tuple(book[0]), tuple(book[1])


def _book_levels(book: OrderBook) -> tuple[_Side, _Side]:
    out: list[_Side] = []
    for side in (OrderSide.BUY, OrderSide.SELL):
        prices, sizes = book.levels(side)
        out.append(
            tuple(
                (Decimal(int(p)).scaleb(-book.price_precision),
                 Decimal(int(s)).scaleb(-book.size_precision))
                for p, s in zip(prices.tolist(), sizes.tolist(), strict=True)
            )
        )  # fmt: skip
    return out[0], out[1]


@attrs.frozen(kw_only=True)
class LiveSetup:
    """What a live check runs against (the ``live_setup`` fixture).

    Attributes
    ----------
    adapter
        The adapter under test (closed by the check when it has ``aclose``).
    venue
        The test venue.
    instrument_id
        The instrument to trade.
    order_quantity
        Size of the kit's orders (``None``: twice the instrument's minimum).
    """

    adapter: Adapter
    venue: VenueControl
    instrument_id: InstrumentId
    order_quantity: Decimal | None = None


class LiveSession:
    """One check's connected clients and everything they delivered (see the module docs).

    Attributes
    ----------
    market
        Market data the data client delivered, in order.
    reports
        Order reports the execution client's user stream delivered, in order.
    account_reports
        Account (balance) reports the user stream delivered, in order.
    """

    def __init__(
        self,
        kit: LiveAdapterConformance,
        adapter: Adapter,
        venue: VenueControl,
        instrument: Instrument,
        stack: contextlib.AsyncExitStack,
        wait_timeout: float,
        quantity: Decimal,
    ) -> None:
        self.kit = kit
        self.quantity = quantity
        self.adapter = adapter
        self.venue = venue
        self.instrument = instrument
        self.capabilities: Capabilities = adapter.capabilities
        self.market: list[Any] = []
        self.reports: list[OrderReport] = []
        self.account_reports: list[AccountReport] = []
        self.wait_timeout = wait_timeout
        self._stack = stack
        self._data: DataClient | None = None
        self._execution: ExecutionClient | None = None
        self._ids = itertools.count(1)
        self._tag = secrets.token_hex(3).upper()
        self._trade_mark = 0

    @property
    def iid(self) -> InstrumentId:
        """The traded instrument's id."""
        return self.instrument.id

    # -- connecting --------------------------------------------------------------------------

    @property
    def data(self) -> DataClient:
        """The connected data client (see :meth:`connect_data`)."""
        assert self._data is not None, "connect_data() first"
        return self._data

    @property
    def execution(self) -> ExecutionClient:
        """The connected execution client (see :meth:`connect_execution`)."""
        assert self._execution is not None, "connect_execution() first"
        return self._execution

    async def connect_data(self, *channels: Channel) -> DataClient:
        """A connected data client subscribed to ``channels`` (the venue confirms each)."""
        data = self.adapter.data_client()
        await data.connect(self.market.append)
        self._stack.push_async_callback(data.disconnect)
        self._data = data
        for channel in channels:
            if channel == "trades":
                await data.subscribe_trades(self.iid)
            elif channel == "quotes":
                await data.subscribe_quotes(self.iid)
            elif channel == "book":
                await data.subscribe_book(self.iid)
            elif channel == "bars":
                await data.subscribe_bars(self.bar_type)
        await self.subscribed(*channels)
        self._trade_mark = len(self.venue.printed_trades(self.iid))
        return data

    def _on_report(self, report: OrderReport | AccountReport) -> None:
        if isinstance(report, AccountReport):
            self.account_reports.append(report)
        else:
            self.reports.append(report)

    async def connect_execution(self) -> ExecutionClient:
        """A connected execution client (and its user stream, when declared)."""
        execution = self.adapter.execution_client(AccountId(self.kit.account_id))
        await execution.connect(self._on_report)
        self._stack.push_async_callback(execution.disconnect)
        self._execution = execution
        if self.capabilities.user_stream:
            await self.subscribed("user")
        return execution

    async def subscribed(self, *channels: Channel) -> None:
        """Wait until the venue sends every one of ``channels`` to some connection."""
        venue, iid = self.venue, self.iid
        await self.wait_for(
            lambda: all(venue.stream_subscribers(c, iid) >= 1 for c in channels),
            f"the venue to see subscriptions {channels}",
        )

    async def reconnected(self, connections_before: int, *channels: Channel) -> None:
        """Wait for a new connection and the resubscription of ``channels``."""
        venue = self.venue
        await self.wait_for(
            lambda: venue.stream_connections() > connections_before,
            "the adapter to reconnect",
        )
        await self.subscribed(*channels)

    # -- waiting -------------------------------------------------------------------------------

    async def wait_for(self, condition: Callable[[], object], what: str) -> None:
        """Poll ``condition`` until truthy; fail (naming ``what``) after ``wait_timeout``."""
        import anyio

        try:
            with anyio.fail_after(self.wait_timeout):
                while not condition():
                    await anyio.sleep(0.005)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {self.wait_timeout} s waiting for {what}"
            ) from None

    # -- market data -------------------------------------------------------------------------

    def move_book(self, changes: int) -> None:
        """Move the market until the venue's book changed ``changes`` times."""
        seen, last = 0, self.venue.book_sequence(self.iid)
        for _ in range(100 * changes):
            self.venue.move_market(1)
            seq = self.venue.book_sequence(self.iid)
            if seq != last:
                seen, last = seen + 1, seq
                if seen == changes:
                    return
        raise AssertionError(f"the venue's book did not change {changes} times")

    def book(self) -> BookSync:
        """The data client's synced book."""
        sync = self.kit.synced_book(self.data, self.iid)
        assert sync is not None, f"the data client has no book for {self.iid}"
        return sync

    async def book_synced(self) -> BookSync:
        """Wait until the book is valid at the venue's sequence; assert it equals the venue's."""
        venue, iid = self.venue, self.iid

        def at_venue() -> bool:
            sync = self.kit.synced_book(self.data, iid)
            return (
                sync is not None
                and sync.is_valid
                and (sync.last_sequence == venue.book_sequence(iid))
            )

        await self.wait_for(at_venue, f"the book to be valid at sequence "
                                      f"{venue.book_sequence(iid)}")  # fmt: skip
        sync = self.book()
        ours, theirs = _book_levels(sync.book), _levels(venue.market_book(iid))
        assert ours == theirs, _book_diff(ours, theirs)
        delivered = _book_levels(self.delivered_book())
        assert delivered == theirs, "the book changes handed to the sink: " + _book_diff(
            delivered, theirs
        )
        return sync

    def delivered_book(self) -> OrderBook:
        """The book the book changes handed to the sink build -- ``book_deltas``
        :class:`~alphaforge.data.MarketArray` batches or ``OrderBookDeltas`` (a node's
        DataEngine keeps its copy from them)."""
        batches: list[Any] = []
        for m in self.market:
            if type(m) is OrderBookDeltas and m.instrument_id == self.iid:
                first = m.deltas[0]
                pp, sp = first.price.precision, first.size.precision
                batches.append((deltas_to_array(m.deltas, price_precision=pp,
                                                size_precision=sp), pp, sp))  # fmt: skip
            elif type(m) is MarketArray and m.instrument_id == self.iid.value:
                batches.append((m.records, m.price_precision, m.size_precision))
        assert batches, "the data client handed no book changes (deltas) to its sink"
        _, pp, sp = batches[0]
        book = OrderBook(self.iid, BookType.L2_MBP, pp, sp)
        for records, bpp, bsp in batches:
            assert (bpp, bsp) == (pp, sp), "book changes at changing precisions"
            book.apply_batch(records)
        return book

    @property
    def bar_type(self) -> BarType:
        """The EXTERNAL bars of the kit's ``bar_spec``."""
        spec = BarSpecification.from_str(self.kit.bar_spec)
        return BarType(self.iid, spec, AggregationSource.EXTERNAL)

    def client_trades(self) -> list[str]:
        """Ids of the trades the data client delivered, in order."""
        return [
            t.trade_id.value for t in self.market
            if type(t) is TradeTick and t.instrument_id == self.iid
        ]  # fmt: skip

    async def trades_exact(self) -> None:
        """Every trade printed since the subscription arrived exactly once, in order.

        A last move of the market prints a new trade; once it has arrived, everything the
        venue sent before it has too (one ordered stream), so a late duplicate cannot hide.
        """
        venue, iid = self.venue, self.iid
        printed = len(venue.printed_trades(iid))
        for _ in range(1000):
            if len(venue.printed_trades(iid)) > printed:
                break
            venue.move_market(1)
        else:
            raise AssertionError("the venue's market printed no trade in 1000 moves")
        last = venue.printed_trades(iid)[-1]
        await self.wait_for(lambda: last in self.client_trades(), f"trade {last} to arrive")
        expected = list(venue.printed_trades(iid)[self._trade_mark :])
        got = self.client_trades()
        duplicated = sorted({t for t in got if got.count(t) > 1})
        assert not duplicated, f"trades delivered more than once: {duplicated}"
        lost = [t for t in expected if t not in got]
        assert not lost, f"trades the venue printed but the adapter did not deliver: {lost}"
        assert got == expected, f"trades out of order or unknown: got {got}, venue {expected}"

    # -- orders --------------------------------------------------------------------------------

    def price_away(self, side: OrderSide, ticks: int) -> Decimal:
        """A passive price ``ticks`` ticks behind the venue's best price on ``side``."""
        bids, asks = self.venue.market_book(self.iid)
        tick = self.instrument.tick_size.as_decimal()
        if side is OrderSide.BUY:
            assert bids, "the venue's book has no bids"
            return max(tick, bids[0][0] - ticks * tick)
        assert asks, "the venue's book has no asks"
        return asks[0][0] + ticks * tick

    def price_at_top(self, side: OrderSide) -> Decimal:
        """The most aggressive price on ``side`` that does not cross the spread."""
        bids, asks = self.venue.market_book(self.iid)
        tick = self.instrument.tick_size.as_decimal()
        assert bids and asks, "the venue's book needs both sides"
        return asks[0][0] - tick if side is OrderSide.BUY else bids[0][0] + tick

    def order(
        self,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal | None,
        *,
        order_type: OrderType | None = None,
    ) -> Any:
        """A ``SubmitOrder`` for a new order with a fresh client order id."""
        n = next(self._ids)
        inst = self.instrument
        init = OrderInitialized(
            client_order_id=ClientOrderId(f"AFC-{self._tag}-{n}"),
            strategy_id=StrategyId("CONFORMANCE-001"),
            instrument_id=inst.id,
            ts_event=0,
            ts_init=0,
            event_id=f"{self._tag}-{n}",
            side=side,
            order_type=order_type or (OrderType.LIMIT if price is not None else OrderType.MARKET),
            quantity=inst.make_qty(quantity),
            price=inst.make_price(price) if price is not None else None,
        )
        return self.submit_command(Order.from_init(init))

    def submit_command(self, order: Order) -> Any:
        """A ``SubmitOrder`` command for ``order``."""
        from alphaforge.execution.messages import SubmitOrder

        return SubmitOrder(trader_id=TraderId("CONFORMANCE-001"), strategy_id=order.strategy_id,
                           command_id=f"C-{order.client_order_id}", ts_init=0,
                           order=order)  # fmt: skip

    def cancel_command(self, client_order_id: ClientOrderId) -> Any:
        """A ``CancelOrder`` command."""
        from alphaforge.execution.messages import CancelOrder

        return CancelOrder(trader_id=TraderId("CONFORMANCE-001"),
                           strategy_id=StrategyId("CONFORMANCE-001"),
                           command_id=f"X-{client_order_id}", ts_init=0, instrument_id=self.iid,
                           client_order_id=client_order_id)  # fmt: skip

    def streamed(
        self, client_order_id: ClientOrderId, kind: ReportKind | None = None
    ) -> list[OrderReport]:
        """User-stream reports of one order (of one kind)."""
        return [
            r for r in self.reports
            if r.client_order_id == client_order_id and (kind is None or r.kind is kind)
        ]  # fmt: skip

    def streamed_fills(self, client_order_id: ClientOrderId) -> list[tuple[str, Decimal]]:
        """``(trade id, quantity)`` of every fill the user stream reported for the order."""
        return [
            (f.trade_id.value, f.last_qty.as_decimal())
            for r in self.streamed(client_order_id, ReportKind.FILL)
            for f in r.fills
        ]

    async def rest(self, side: OrderSide, quantity: Decimal, price: Decimal) -> ClientOrderId:
        """Submit a resting limit order; wait for its acceptance on the user stream."""
        command = self.order(side, quantity, price)
        await self.execution.submit_order(command)
        coid: ClientOrderId = command.order.client_order_id
        if self.capabilities.user_stream:
            await self.wait_for(lambda: self.streamed(coid, ReportKind.ACCEPTED),
                                f"{coid} ACCEPTED on the user stream")  # fmt: skip
        return coid

    async def user_stream_barrier(self) -> None:
        """Round-trip a passive order (submit, cancel) through the user stream: every report
        the venue sent before has arrived once its ``CANCELED`` has."""
        if not self.capabilities.user_stream:
            return
        coid = await self.rest(OrderSide.BUY, self.quantity,
                               self.price_away(OrderSide.BUY, 20))  # fmt: skip
        await self.execution.cancel_order(self.cancel_command(coid))
        await self.wait_for(lambda: self.streamed(coid, ReportKind.CANCELED),
                            f"{coid} CANCELED on the user stream")  # fmt: skip


def _book_diff(ours: Any, theirs: Any) -> str:
    lines = ["the adapter's book differs from the venue's"]
    for name, a, b in (("bids", ours[0], theirs[0]), ("asks", ours[1], theirs[1])):
        if a != b:
            lines.append(f"  {name}: adapter {list(a)[:5]}... ({len(a)} levels)")
            lines.append(f"  {name}: venue   {list(b)[:5]}... ({len(b)} levels)")
    return "\n".join(lines)


class LiveAdapterConformance:
    """The checks every venue adapter must pass against a live venue. Subclass it as ``Test...``.

    Fixtures to supply: ``conformance_venue``, ``adapter_config`` (or ``live_adapter``) and
    ``instrument_id``; optional: ``request_timeout``, ``order_quantity``, ``anyio_backend``.

    Attributes
    ----------
    adapter_name
        The name the plugin registers through ``alphaforge_register_adapters``; the default
        ``live_adapter`` builds the adapter with that registered factory.
    account_id
        The account the execution client trades on.
    wait_timeout
        Bound of every wait (seconds).
    bar_spec
        The (shortest) bar the venue streams, checked by ``live_bars``.
    """

    adapter_name: ClassVar[str | None] = None
    account_id: ClassVar[str] = "CONFORMANCE-001"
    wait_timeout: ClassVar[float] = 10.0
    bar_spec: ClassVar[str] = "1-SECOND-LAST"

    # -- fixtures ------------------------------------------------------------------------------

    @pytest.fixture
    def conformance_venue(self) -> VenueControl:
        """Override: the running test venue (a :class:`VenueControl`), one per check."""
        raise NotImplementedError("supply a 'conformance_venue' fixture")

    @pytest.fixture
    def request_timeout(self) -> float:
        """The REST read timeout ``adapter_config`` gives the client (seconds)."""
        return 0.5

    @pytest.fixture
    def adapter_config(
        self, conformance_venue: VenueControl, request_timeout: float
    ) -> Mapping[str, Any]:
        """Override: the keyword arguments of the registered factory (endpoints of
        ``conformance_venue``, credentials, ``request_timeout``)."""
        raise NotImplementedError("supply an 'adapter_config' fixture")

    @pytest.fixture(scope="class")
    @classmethod
    def adapter_factory(cls) -> Iterator[Callable[..., Any]]:
        """The factory the installed plugin registered under :attr:`adapter_name`."""
        if cls.adapter_name is None:
            raise NotImplementedError("set adapter_name on the test class, or override "
                                      "'live_adapter'")  # fmt: skip
        from alphaforge.kernel import Kernel, KernelConfig

        kernel = Kernel(KernelConfig()).build()
        try:
            adapters = kernel.components("adapter")
            assert cls.adapter_name in adapters, (
                f"no installed plugin registers adapter {cls.adapter_name!r} "
                f"(found: {sorted(adapters)})"
            )
            yield adapters[cls.adapter_name].factory
        finally:
            kernel.dispose()

    @pytest.fixture
    def live_adapter(
        self, adapter_factory: Callable[..., Any], adapter_config: Mapping[str, Any]
    ) -> Adapter:
        """The adapter under test: ``factory(**adapter_config)`` (closed by the check)."""
        adapter = adapter_factory(**adapter_config)
        assert isinstance(adapter, Adapter), f"the factory returned {adapter!r}, not an Adapter"
        return adapter

    @pytest.fixture
    def instrument_id(self) -> InstrumentId:
        """Override: the instrument to trade (the venue must list it)."""
        raise NotImplementedError("supply an 'instrument_id' fixture")

    @pytest.fixture
    def order_quantity(self) -> Decimal | None:
        """The size of the kit's orders (``None``: twice the instrument's minimum). It must
        split into two halves on the lot grid."""
        return None

    @pytest.fixture
    def live_setup(
        self,
        live_adapter: Adapter,
        conformance_venue: VenueControl,
        instrument_id: InstrumentId,
        order_quantity: Decimal | None,
    ) -> LiveSetup:
        """Everything a check needs, in one object (call a check directly with one)."""
        return LiveSetup(adapter=live_adapter, venue=conformance_venue,
                         instrument_id=instrument_id, order_quantity=order_quantity)  # fmt: skip

    # -- hooks -----------------------------------------------------------------------------------

    def synced_book(self, data_client: DataClient, instrument_id: InstrumentId) -> BookSync | None:
        """The data client's :class:`~alphaforge.adapters.BookSync` of ``instrument_id``.

        Default: ``data_client.book(instrument_id)``; override for another accessor.
        """
        book = getattr(data_client, "book", None)
        if not callable(book):
            raise NotImplementedError(
                "the data client has no book(instrument_id) method: override synced_book()"
            )
        sync = book(instrument_id)
        assert sync is None or isinstance(sync, BookSync), f"book() returned {sync!r}"
        return sync

    @contextlib.asynccontextmanager
    async def session(self, setup: LiveSetup) -> AsyncIterator[LiveSession]:
        """Load the instrument, yield a :class:`LiveSession`; disconnect and close after."""
        venue, adapter = setup.venue, setup.adapter
        assert isinstance(venue, VenueControl), f"{venue!r} does not implement VenueControl"
        async with contextlib.AsyncExitStack() as stack:
            close = getattr(adapter, "aclose", None)
            if close is not None:
                stack.push_async_callback(close)
            loaded = await adapter.instrument_provider.load([setup.instrument_id])
            assert [i.id for i in loaded] == [setup.instrument_id], loaded
            inst = loaded[0]
            quantity = setup.order_quantity
            if quantity is None:
                quantity = 2 * (inst.min_quantity or inst.lot_size).as_decimal()
            lot = inst.lot_size.as_decimal()
            if (quantity / 2) % lot:
                raise InvalidValue("order_quantity", str(quantity),
                                   f"must split into two halves on the lot grid {lot}")  # fmt: skip
            yield LiveSession(self, adapter, venue, inst, stack, self.wait_timeout, quantity)

    @staticmethod
    def _requires(capabilities: Capabilities, *kinds: MarketDataKind) -> None:
        missing = [k.value for k in kinds if k not in capabilities.market_data]
        if missing:
            pytest.skip(f"the capabilities do not declare {missing}")

    @staticmethod
    def _requires_user_stream(capabilities: Capabilities) -> None:
        if not capabilities.user_stream:
            pytest.skip("the capabilities do not declare a user stream")

    # -- checks: instruments and market data ----------------------------------------------------

    @live_check("live_instruments_load")
    @pytest.mark.anyio
    async def test_live_instruments_load(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            provider, iid = s.adapter.instrument_provider, s.iid
            everything = await provider.load_all()
            ids = [i.id for i in everything]
            assert iid in ids, f"load_all() does not list {iid}"
            assert len(set(ids)) == len(ids), "load_all() lists an instrument twice"
            inst = provider.get(iid)
            assert inst is not None and inst == s.instrument, "get() disagrees with load()"
            assert inst.id.venue == s.capabilities.venue, f"{inst.id}: not on the declared venue"
            unknown = InstrumentId(Symbol(f"NOSUCH{secrets.token_hex(3).upper()}"), iid.venue)
            with pytest.raises(InvalidValue):
                await provider.load([unknown])
            tick, lot = inst.tick_size.as_decimal(), inst.lot_size.as_decimal()
            bids, asks = s.venue.market_book(iid)
            for price, size in (*bids, *asks):
                assert price % tick == 0, f"venue price {price} is off the tick grid {tick}"
                assert size % lot == 0, f"venue size {size} is off the lot grid {lot}"

    @live_check("live_book_sync")
    @pytest.mark.anyio
    async def test_live_book_sync(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.BOOK_DELTAS)
            await s.connect_data("book")
            await s.book_synced()  # the snapshot (and whatever the stream brought meanwhile)
            s.move_book(30)
            sync = await s.book_synced()
            sync.book.check_integrity()
            assert sync.stats.invalidations == 0, f"a clean stream invalidated: {sync.reason}"

    @live_check("live_trades_quotes")
    @pytest.mark.anyio
    async def test_live_trades_quotes(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.TRADES, MarketDataKind.QUOTES)
            await s.connect_data("trades", "quotes")
            s.move_book(30)
            await s.trades_exact()
            assert len(s.client_trades()) >= 1
            for t in s.market:
                if type(t) is TradeTick:
                    assert t.price.raw > 0 and t.size.raw > 0 and t.ts_event > 0, t
            bids, asks = s.venue.market_book(s.iid)
            top = (bids[0][0], bids[0][1], asks[0][0], asks[0][1])

            def last_quote() -> tuple[Decimal, ...] | None:
                quotes = [q for q in s.market if type(q) is QuoteTick]
                if not quotes:
                    return None
                q = quotes[-1]
                return (q.bid_price.as_decimal(), q.bid_size.as_decimal(),
                        q.ask_price.as_decimal(), q.ask_size.as_decimal())  # fmt: skip

            await s.wait_for(lambda: last_quote() == top,
                             f"the last quote to be the venue's top {top}")  # fmt: skip

    # -- checks: orders ----------------------------------------------------------------------------

    @live_check("live_submit_ack")
    @pytest.mark.anyio
    async def test_live_submit_ack(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            price = s.price_away(OrderSide.BUY, 10)
            command = s.order(OrderSide.BUY, s.quantity, price)
            coid: ClientOrderId = command.order.client_order_id
            answer = await execution.submit_order(command)
            if answer is not None:
                assert answer.client_order_id == coid, answer
                assert answer.kind in (ReportKind.ACCEPTED, ReportKind.STATUS), answer
                assert answer.status is OrderStatus.ACCEPTED, answer
                assert answer.quantity.as_decimal() == s.quantity, answer
                assert answer.price is not None and answer.price.as_decimal() == price, answer
                assert answer.filled_qty.raw == 0 and answer.venue_order_id.value, answer
            if s.capabilities.user_stream:
                await s.wait_for(lambda: s.streamed(coid, ReportKind.ACCEPTED),
                                 f"{coid} ACCEPTED on the user stream")  # fmt: skip
                await s.user_stream_barrier()
                assert len(s.streamed(coid)) == 1, f"streamed more than once: {s.streamed(coid)}"
            status = await execution.query_order(s.iid, coid)
            assert status is not None, "query_order() does not find the accepted order"
            assert status.kind is ReportKind.STATUS and status.status is OrderStatus.ACCEPTED
            assert status.filled_qty.raw == 0
            opened = await execution.open_orders(s.iid)
            assert coid in [r.client_order_id for r in opened], "not among open_orders()"

    @live_check("live_partial_then_full_fill")
    @pytest.mark.anyio
    async def test_live_partial_then_full_fill(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires_user_stream(s.capabilities)
            execution = await s.connect_execution()
            price = s.price_at_top(OrderSide.BUY)
            coid = await s.rest(OrderSide.BUY, s.quantity, price)
            half = s.quantity / 2
            s.venue.fill_resting(s.iid, coid.value, half)
            await s.wait_for(lambda: sum(q for _, q in s.streamed_fills(coid)) >= half,
                             f"the first {half} of {coid} filled on the user stream")  # fmt: skip
            s.venue.fill_resting(s.iid, coid.value, s.quantity - half)
            await s.wait_for(
                lambda: any(r.status is OrderStatus.FILLED for r in s.streamed(coid)),
                f"{coid} FILLED on the user stream",
            )
            await s.user_stream_barrier()
            fills = s.streamed_fills(coid)
            ids = [t for t, _ in fills]
            assert len(set(ids)) == len(ids), f"a fill was reported more than once: {ids}"
            assert sum(q for _, q in fills) == s.quantity, f"fills {fills} != {s.quantity}"
            cumulative = [r.filled_qty.as_decimal() for r in s.streamed(coid, ReportKind.FILL)]
            assert cumulative == sorted(cumulative) and cumulative[-1] == s.quantity, cumulative
            first = s.streamed(coid, ReportKind.FILL)[0]
            assert first.status is OrderStatus.PARTIALLY_FILLED, first
            assert first.filled_qty.as_decimal() == half, first
            status = await execution.query_order(s.iid, coid)
            assert status is not None and status.status is OrderStatus.FILLED, status
            assert status.filled_qty.as_decimal() == s.quantity, status
            assert status.avg_px is not None and status.avg_px == price, status
            opened = await execution.open_orders(s.iid)
            assert coid not in [r.client_order_id for r in opened], "a filled order is open"

    @live_check("live_modify")
    @pytest.mark.anyio
    async def test_live_modify(self, live_setup: LiveSetup) -> None:
        from alphaforge.execution.messages import ModifyOrder

        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            price = s.price_away(OrderSide.BUY, 10)
            coid = await s.rest(OrderSide.BUY, s.quantity, price)
            new_price = price - s.instrument.tick_size.as_decimal()
            new_qty = s.quantity / 2
            command = ModifyOrder(
                trader_id=TraderId("CONFORMANCE-001"), strategy_id=StrategyId("CONFORMANCE-001"),
                command_id=f"M-{coid}", ts_init=0, instrument_id=s.iid, client_order_id=coid,
                quantity=s.instrument.make_qty(new_qty),
                price=s.instrument.make_price(new_price),
            )  # fmt: skip
            if not s.capabilities.amend:
                sent = s.venue.order_requests()
                with pytest.raises(NotSupported):
                    await execution.modify_order(command)
                assert s.venue.order_requests() == sent, "an undeclared amend reached the venue"
                status = await execution.query_order(s.iid, coid)
                assert status is not None and status.price is not None
                assert status.price.as_decimal() == price, "the order changed"
                return
            answer = await execution.modify_order(command)
            if answer is not None:
                assert answer.client_order_id == coid, answer
            if s.capabilities.user_stream:
                await s.wait_for(lambda: s.streamed(coid, ReportKind.UPDATED)
                                 or (answer is not None and answer.kind is ReportKind.UPDATED),
                                 f"{coid} UPDATED")  # fmt: skip
            status = await execution.query_order(s.iid, coid)
            assert status is not None and status.price is not None, status
            assert status.price.as_decimal() == new_price, status
            assert status.quantity.as_decimal() == new_qty, status

    @live_check("live_cancel")
    @pytest.mark.anyio
    async def test_live_cancel(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            coid = await s.rest(OrderSide.SELL, s.quantity, s.price_away(OrderSide.SELL, 10))
            answer = await execution.cancel_order(s.cancel_command(coid))
            if answer is not None:
                assert answer.client_order_id == coid, answer
                assert answer.status is OrderStatus.CANCELED, answer
            if s.capabilities.user_stream:
                await s.wait_for(lambda: s.streamed(coid, ReportKind.CANCELED),
                                 f"{coid} CANCELED on the user stream")  # fmt: skip
                await s.user_stream_barrier()
                assert len(s.streamed(coid, ReportKind.CANCELED)) == 1, s.streamed(coid)
            status = await execution.query_order(s.iid, coid)
            assert status is not None and status.status is OrderStatus.CANCELED, status
            opened = await execution.open_orders(s.iid)
            assert coid not in [r.client_order_id for r in opened], "a canceled order is open"

    @live_check("live_cancel_all")
    @pytest.mark.anyio
    async def test_live_cancel_all(self, live_setup: LiveSetup) -> None:
        from alphaforge.execution.messages import CancelAllOrders

        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            coids = [
                await s.rest(OrderSide.BUY, s.quantity, s.price_away(OrderSide.BUY, 10)),
                await s.rest(OrderSide.SELL, s.quantity, s.price_away(OrderSide.SELL, 10)),
            ]
            answers = await execution.cancel_all_orders(CancelAllOrders(
                trader_id=TraderId("CONFORMANCE-001"), strategy_id=StrategyId("CONFORMANCE-001"),
                command_id="CANCEL-ALL", ts_init=0, instrument_id=s.iid,
            ))  # fmt: skip
            for r in answers:
                assert r.status is OrderStatus.CANCELED, r
            if answers:
                assert {r.client_order_id for r in answers} >= set(coids), answers
            if s.capabilities.user_stream:
                await s.wait_for(
                    lambda: all(s.streamed(c, ReportKind.CANCELED) for c in coids),
                    f"{coids} CANCELED on the user stream",
                )
            opened = await execution.open_orders(s.iid)
            assert not set(coids) & {r.client_order_id for r in opened}, opened

    @live_check("live_reject")
    @pytest.mark.anyio
    async def test_live_reject(self, live_setup: LiveSetup) -> None:
        from alphaforge.net import OutcomeUnknown, VenueRejected

        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            command = s.order(OrderSide.BUY, s.quantity, s.price_away(OrderSide.BUY, 10))
            coid: ClientOrderId = command.order.client_order_id
            s.venue.reject_next_order()
            try:
                await execution.submit_order(command)
            except VenueRejected:
                pass
            except OutcomeUnknown as exc:
                raise AssertionError(f"a definitive rejection reported as unknown: {exc}") from exc
            else:
                raise AssertionError("a rejected order did not raise VenueRejected")
            await s.user_stream_barrier()
            assert not s.streamed(coid), f"a rejected order was streamed: {s.streamed(coid)}"
            assert await execution.query_order(s.iid, coid) is None, "the venue knows it"

    @live_check("live_undeclared_not_sent")
    @pytest.mark.anyio
    async def test_live_undeclared_not_sent(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            caps = s.capabilities
            execution = await s.connect_execution()
            sent = s.venue.order_requests()
            undeclared = [
                o for o in order_shapes(s.instrument)
                if not caps.supports_order(o.order_type, o.time_in_force, post_only=o.post_only,
                                           reduce_only=o.reduce_only)
            ]  # fmt: skip
            for order in undeclared:
                with pytest.raises(NotSupported):
                    await execution.submit_order(s.submit_command(order))
                assert s.venue.order_requests() == sent, f"undeclared {order} reached the venue"
            streams = {MarketDataKind.TRADES: "subscribe_trades",
                       MarketDataKind.QUOTES: "subscribe_quotes",
                       MarketDataKind.BOOK_DELTAS: "subscribe_book"}  # fmt: skip
            missing = [name for kind, name in streams.items() if kind not in caps.market_data]
            if missing:
                data = await s.connect_data()
                for name in missing:
                    with pytest.raises(NotSupported):
                        await getattr(data, name)(s.iid)

    # -- checks: faults ----------------------------------------------------------------------------

    @live_check("live_disconnect_mid_stream")
    @pytest.mark.anyio
    async def test_live_disconnect_mid_stream(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.TRADES, MarketDataKind.BOOK_DELTAS)
            await s.connect_data("trades", "book")
            await s.book_synced()
            before = s.book()
            snapshots = before.stats.snapshots
            connections = s.venue.stream_connections()
            s.move_book(20)  # a burst, and the connection dies behind it
            assert s.venue.drop_streams(market=True) >= 1
            await s.reconnected(connections, "trades", "book")
            s.move_book(20)
            after = await s.book_synced()
            assert after is not before or after.stats.snapshots > snapshots, (
                "the book was not rebuilt from a snapshot after the reconnect"
            )
            await s.trades_exact()

    @live_check("live_sequence_gap_resyncs")
    @pytest.mark.anyio
    async def test_live_sequence_gap_resyncs(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.BOOK_DELTAS)
            if BookIntegrity.SEQUENCE not in s.capabilities.book_integrity:
                pytest.skip("the venue's books carry no sequence")
            await s.connect_data("book")
            sync = await s.book_synced()
            invalidations, snapshots = sync.stats.invalidations, sync.stats.snapshots
            s.venue.skip_book_updates(1)
            s.move_book(5)
            sync = await s.book_synced()
            assert sync.stats.invalidations > invalidations, "the gap was not detected"
            assert sync.stats.snapshots > snapshots, "no fresh snapshot after the gap"

    @live_check("live_duplicate_reordered")
    @pytest.mark.anyio
    async def test_live_duplicate_reordered(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.TRADES, MarketDataKind.BOOK_DELTAS)
            await s.connect_data("trades", "book")
            sync = await s.book_synced()
            invalidations, dropped = sync.stats.invalidations, sync.stats.dropped
            s.venue.duplicate_next_book_update()
            s.move_book(3)
            sync = await s.book_synced()
            assert sync.stats.dropped > dropped, "the duplicated update was not dropped"
            assert sync.stats.invalidations == invalidations, (
                f"a duplicate invalidated the book: {sync.reason}"
            )
            s.venue.reorder_next_book_updates()
            s.move_book(3)
            await s.book_synced()  # tolerated or resynced: either way the venue's book
            await s.trades_exact()

    @live_check("live_bars")
    @pytest.mark.anyio
    async def test_live_bars(self, live_setup: LiveSetup) -> None:
        import anyio

        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.TRADES, MarketDataKind.BARS)
            await s.connect_data("trades", "bars")

            def bars() -> list[Bar]:
                return [b for b in s.market if type(b) is Bar and b.bar_type == s.bar_type]

            # The first bar's window began before the subscription: check the ones after it.
            length = s.bar_type.spec.duration_ns
            assert length is not None, f"bar_spec {self.bar_spec} is not a time bar"
            with anyio.fail_after(self.wait_timeout + 3 * length / 1e9):
                while len(bars()) < 3:
                    s.venue.move_market(5)
                    await anyio.sleep(0.02)
            trades = [t for t in s.market if type(t) is TradeTick and t.instrument_id == s.iid]
            for bar in bars()[1:]:
                start = bar.ts_event - length
                window = [t for t in trades if start <= t.ts_event < bar.ts_event]
                assert window, f"{bar}: no streamed trade in its window"
                prices = [t.price.as_decimal() for t in window]
                ohlc = (bar.open, bar.high, bar.low, bar.close)
                assert tuple(p.as_decimal() for p in ohlc) == (
                    prices[0],
                    max(prices),
                    min(prices),
                    prices[-1],
                ), f"{bar}: OHLC differs from its window's trades {prices}"
                volume = sum(t.size.as_decimal() for t in window)
                assert bar.volume.as_decimal() == volume, f"{bar}: volume is not {volume}"

    @live_check("live_garbage_frames")
    @pytest.mark.anyio
    async def test_live_garbage_frames(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires(s.capabilities, MarketDataKind.TRADES, MarketDataKind.BOOK_DELTAS)
            await s.connect_data("trades", "book")
            await s.book_synced()
            connections = s.venue.stream_connections()
            s.move_book(3)
            s.venue.send_garbage_frames()
            s.move_book(5)
            await s.book_synced()
            await s.trades_exact()
            assert s.venue.stream_connections() == connections, (
                "garbage frames made the adapter reconnect (they must be skipped)"
            )

    @live_check("live_checksum_mismatch_resyncs")
    @pytest.mark.anyio
    async def test_live_checksum_mismatch_resyncs(self, live_setup: LiveSetup) -> None:
        venue = live_setup.venue
        if not isinstance(venue, ChecksumVenueControl):
            pytest.skip("the test venue cannot corrupt a book update")
        async with self.session(live_setup) as s:
            if BookIntegrity.CHECKSUM not in s.capabilities.book_integrity:
                pytest.skip("the venue's books carry no checksum")
            await s.connect_data("book")
            sync = await s.book_synced()
            invalidations, snapshots = sync.stats.invalidations, sync.stats.snapshots
            venue.corrupt_next_book_update()
            s.move_book(5)
            sync = await s.book_synced()
            assert sync.stats.invalidations > invalidations, "the bad checksum was not detected"
            assert sync.stats.snapshots > snapshots, "no fresh snapshot after the mismatch"

    @live_check("live_timeout_outcome_unknown")
    @pytest.mark.anyio
    async def test_live_timeout_outcome_unknown(
        self, live_setup: LiveSetup, request_timeout: float
    ) -> None:
        from alphaforge.net import OutcomeUnknown, VenueRejected

        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            command = s.order(OrderSide.BUY, s.quantity, s.price_away(OrderSide.BUY, 10))
            coid: ClientOrderId = command.order.client_order_id
            s.venue.delay_next_order_reply(max(2.0, 4 * request_timeout))
            try:
                answer = await execution.submit_order(command)
            except OutcomeUnknown:
                pass
            except VenueRejected as exc:
                raise AssertionError(
                    f"a timeout after sending reported as rejected: {exc}"
                ) from exc
            else:
                raise AssertionError(f"no OutcomeUnknown for an unanswered order: {answer}")
            found = await execution.query_order(s.iid, coid)
            assert found is not None, "query_order() does not settle the unknown outcome"
            assert found.status is OrderStatus.ACCEPTED, found
            if s.capabilities.user_stream:
                await s.wait_for(lambda: s.streamed(coid, ReportKind.ACCEPTED),
                                 f"{coid} ACCEPTED on the user stream")  # fmt: skip
            assert not s.streamed(coid, ReportKind.REJECTED), s.streamed(coid)

    @live_check("live_rate_limited")
    @pytest.mark.anyio
    async def test_live_rate_limited(self, live_setup: LiveSetup) -> None:
        from alphaforge.net import RateLimited

        async with self.session(live_setup) as s:
            execution = await s.connect_execution()
            s.venue.rate_limit_next_request(1)
            await execution.open_orders(s.iid)  # a read: waits Retry-After out, then succeeds
            assert s.venue.rate_limit_violations() == 0, "a request arrived before Retry-After"
            command = s.order(OrderSide.BUY, s.quantity, s.price_away(OrderSide.BUY, 10))
            coid: ClientOrderId = command.order.client_order_id
            s.venue.rate_limit_next_request(1)
            refused: RateLimited | None = None
            try:
                await execution.submit_order(command)
            except RateLimited as exc:  # definitive: not executed
                refused = exc
            if refused is not None:
                assert refused.retry_after is not None, "Retry-After was not read"
                assert await execution.query_order(s.iid, coid) is None, "429'd but executed"
                await execution.submit_order(command)  # the client waits Retry-After out
            assert s.venue.rate_limit_violations() == 0, "a request arrived before Retry-After"
            status = await execution.query_order(s.iid, coid)
            assert status is not None and status.status is OrderStatus.ACCEPTED, status

    @live_check("live_user_stream_gap_recovered")
    @pytest.mark.anyio
    async def test_live_user_stream_gap_recovered(self, live_setup: LiveSetup) -> None:
        async with self.session(live_setup) as s:
            self._requires_user_stream(s.capabilities)
            execution = await s.connect_execution()
            price = s.price_at_top(OrderSide.BUY)
            coid = await s.rest(OrderSide.BUY, s.quantity, price)
            since = s.streamed(coid, ReportKind.ACCEPTED)[0].ts_event - 1
            half = s.quantity / 2
            connections = s.venue.stream_connections()
            assert s.venue.drop_streams(market=False, user=True) >= 1
            s.venue.fill_resting(s.iid, coid.value, half)  # while the user stream is down
            await s.reconnected(connections, "user")
            s.venue.fill_resting(s.iid, coid.value, s.quantity - half)
            await s.wait_for(
                lambda: any(r.filled_qty.as_decimal() == s.quantity for r in s.streamed(coid)),
                f"{coid} fully filled on the user stream",
            )
            await s.user_stream_barrier()
            streamed = s.streamed_fills(coid)
            ids = [t for t, _ in streamed]
            assert len(set(ids)) == len(ids), f"a fill was streamed more than once: {ids}"
            assert sum(q for _, q in streamed) <= s.quantity, streamed
            try:
                recovered = await execution.fills_since(s.iid, since)
            except NotSupported:
                recovered = None
            status = await execution.query_order(s.iid, coid)
            assert status is not None and status.status is OrderStatus.FILLED, status
            assert status.filled_qty.as_decimal() == s.quantity, status
            if recovered is not None:
                fills = [
                    (f.trade_id.value, f.last_qty.as_decimal())
                    for r in recovered
                    if r.client_order_id == coid
                    for f in r.fills
                ]
                ids = [t for t, _ in fills]
                assert len(set(ids)) == len(ids), f"fills_since() repeats a fill: {ids}"
                assert sum(q for _, q in fills) == s.quantity, f"fills_since() gave {fills}"
                assert {t for t, _ in streamed} <= set(ids), "a streamed fill is not recovered"
