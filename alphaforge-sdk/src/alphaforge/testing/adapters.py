"""Conformance checks for venue-adapter plugins: the scenarios that run without a live node.

Subclass :class:`AdapterConformance` in your plugin's tests and supply fixtures built from
your venue's real payload samples::

    from alphaforge.testing import AdapterConformance, BookScenario

    class TestMyVenue(AdapterConformance):
        adapter_name = "myvenue"                       # the name your plugin registers

        @pytest.fixture
        def adapter_capabilities(self): return MY_CAPABILITIES

        @pytest.fixture
        def adapter_instruments(self): return parse_instruments(SAMPLE)

        @pytest.fixture
        def book_scenario(self, adapter_instruments):
            inst = adapter_instruments[0]
            return BookScenario(instrument=inst, snapshot=..., updates=[...],
                                make_sync=lambda: MyBookSync(inst))

        @pytest.fixture
        def adapter_trades(self): ...                  # TradeTicks parsed from samples
        @pytest.fixture
        def adapter_quotes(self): ...                  # QuoteTicks parsed from samples
        @pytest.fixture
        def order_encoder(self): ...                   # (Order, Instrument) -> venue request
        @pytest.fixture
        def garbage_parsers(self): ...                 # parsers that must reject garbage

The book scenario is a snapshot plus the stream that follows it, in venue order, with at least
three updates after the one that bridges the snapshot. The kit replays it cleanly, with every
message duplicated, with one message lost, and with two messages swapped; the book must end
identical to the clean replay, go invalid on the gap (and apply nothing more), and come back
through a snapshot. Capabilities are checked both ways on every order shape: a declared shape
must encode, an undeclared one must raise :class:`~alphaforge.errors.NotSupported`.

Each check is a test method with a fixed name (stable id ``adapter/<check>``);
:data:`ADAPTER_CHECKS` lists them. The live scenarios (order round trips, user stream,
disconnects, timeouts, 429) are :class:`~alphaforge.testing.LiveAdapterConformance`, against
the plugin's loopback venue (:mod:`alphaforge.testing.live_adapters`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs
import pytest

from alphaforge.adapters import (
    BookSnapshot,
    BookSync,
    BookUpdate,
    Capabilities,
    SyncResult,
)
from alphaforge.errors import InvalidValue, NotSupported
from alphaforge.model import (
    ClientOrderId,
    Instrument,
    InstrumentId,
    Order,
    OrderInitialized,
    OrderSide,
    OrderType,
    Price,
    QuoteTick,
    StrategyId,
    TimeInForce,
    TradeTick,
)
from alphaforge.testing.registered import registered_component

__all__ = [
    "ADAPTER_CHECKS",
    "GARBAGE_FRAMES",
    "AdapterConformance",
    "BookScenario",
    "OrderEncoder",
    "order_shapes",
]

KIND = "adapter"
ADAPTER_CHECKS = (
    "instruments_load",
    "book_sync_snapshot_stream",
    "book_duplicates_dropped",
    "book_gap_invalidates_and_resyncs",
    "book_reordered_resyncs",
    "trades_parse",
    "quotes_parse",
    "capabilities_declared_pass",
    "capabilities_undeclared_raise",
    "garbage_frames_rejected",
    "registered_by_plugin",
)
"""The stable ids of the checks, in order (``adapter/<id>``)."""

GARBAGE_FRAMES: tuple[object, ...] = (
    None,
    "",
    b"\x00\xff",
    42,
    [],
    {},
    {"e": None},
    {"data": "not an object", "stream": "x"},
    {"p": "NaN", "q": "-1", "T": "yesterday", "s": {"nested": True}},
)
"""Frames every parser must reject with :class:`~alphaforge.errors.InvalidValue`."""

OrderEncoder = Callable[[Order, Instrument], object]
"""Turns an order into the venue request (pure; raises ``NotSupported`` / ``InvalidValue``)."""


@attrs.frozen(kw_only=True)
class BookScenario:
    """A snapshot and the stream after it (see the module docs).

    Attributes
    ----------
    instrument
        The book's instrument.
    snapshot
        The snapshot.
    updates
        The stream in venue order (may start with updates the snapshot already covers).
    make_sync
        Builds a fresh, empty synchroniser with the venue's rules.
    """

    instrument: Instrument
    snapshot: BookSnapshot
    updates: tuple[BookUpdate, ...] = attrs.field(converter=tuple)
    make_sync: Callable[[], BookSync]


def check_id(check: str) -> pytest.MarkDecorator:
    """The marker every check carries (stable id ``adapter/<check>``)."""
    assert check in ADAPTER_CHECKS, check
    return pytest.mark.alphaforge_conformance(KIND, check)


def levels(sync: BookSync) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """The whole book as raw ``(price, size)`` tuples: (bids, asks)."""
    book = sync.book
    n_bids = book.level_count(OrderSide.BUY)
    n_asks = book.level_count(OrderSide.SELL)
    bids = tuple((p.raw, s.raw) for p, s in book.bids(n_bids)) if n_bids else ()
    asks = tuple((p.raw, s.raw) for p, s in book.asks(n_asks)) if n_asks else ()
    return bids, asks


def snapshot_of(sync: BookSync, instrument_id: InstrumentId) -> BookSnapshot:
    """A snapshot of a synced book at its last sequence (what a venue would send)."""
    bids, asks = levels(sync)
    return BookSnapshot(
        instrument_id=instrument_id, sequence=sync.last_sequence, bids=bids, asks=asks
    )


def order_shapes(instrument: Instrument) -> list[Order]:
    """Every valid order shape (type x time in force x post-only x reduce-only)."""
    price = Price.from_raw(instrument.tick_size.raw * 1000, instrument.price_precision)
    qty = instrument.min_quantity or instrument.lot_size
    out: list[Order] = []
    n = 0
    for otype, tif, post, reduce in itertools.product(
        OrderType, TimeInForce, (False, True), (False, True)
    ):
        needs_price = otype in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.LIMIT_IF_TOUCHED)
        needs_trigger = otype not in (OrderType.MARKET, OrderType.LIMIT)
        try:
            init = OrderInitialized(
                client_order_id=ClientOrderId(f"CONFORM-{n}"),
                strategy_id=StrategyId("CONFORM-001"),
                instrument_id=instrument.id,
                ts_event=0,
                ts_init=0,
                event_id=str(n),
                side=OrderSide.BUY,
                order_type=otype,
                quantity=qty,
                time_in_force=tif,
                price=price if needs_price else None,
                trigger_price=price if needs_trigger else None,
                expire_time_ns=4_102_444_800_000_000_000 if tif is TimeInForce.GTD else None,
                post_only=post,
                reduce_only=reduce,
            )
        except InvalidValue:
            continue  # not a valid order anywhere
        n += 1
        out.append(Order.from_init(init))
    return out


def _replay(scenario: BookScenario, updates: Sequence[BookUpdate]) -> tuple[BookSync, list[Any]]:
    sync = scenario.make_sync()
    sync.on_snapshot(scenario.snapshot)
    return sync, [sync.on_update(u) for u in updates]


def _is_valid(sync: BookSync) -> bool:
    return sync.is_valid


class AdapterConformance:
    """The checks every venue adapter must pass without a live node. Subclass it as ``Test...``.

    Fixtures to supply: ``adapter_capabilities``, ``adapter_instruments``, ``book_scenario``,
    ``adapter_trades``, ``adapter_quotes``, ``order_encoder`` and ``garbage_parsers``.

    Attributes
    ----------
    adapter_name
        The name the plugin registers through ``alphaforge_register_adapters``; checked against
        the installed entry points. ``None`` skips ``registered_by_plugin``.
    """

    adapter_name: ClassVar[str | None] = None

    @pytest.fixture
    def adapter_capabilities(self) -> Capabilities:
        """Override: the adapter's declared :class:`~alphaforge.adapters.Capabilities`."""
        raise NotImplementedError("supply an 'adapter_capabilities' fixture")

    @pytest.fixture
    def adapter_instruments(self) -> Sequence[Instrument]:
        """Override: instruments parsed from a real instrument-list sample."""
        raise NotImplementedError("supply an 'adapter_instruments' fixture")

    @pytest.fixture
    def book_scenario(self) -> BookScenario:
        """Override: a snapshot + stream sample (see :class:`BookScenario`)."""
        raise NotImplementedError("supply a 'book_scenario' fixture")

    @pytest.fixture
    def adapter_trades(self) -> Sequence[TradeTick]:
        """Override: trade ticks parsed from samples."""
        raise NotImplementedError("supply an 'adapter_trades' fixture")

    @pytest.fixture
    def adapter_quotes(self) -> Sequence[QuoteTick]:
        """Override: quote ticks parsed from samples."""
        raise NotImplementedError("supply an 'adapter_quotes' fixture")

    @pytest.fixture
    def order_encoder(self) -> OrderEncoder:
        """Override: the adapter's pure new-order encoder."""
        raise NotImplementedError("supply an 'order_encoder' fixture")

    @pytest.fixture
    def garbage_parsers(self) -> Sequence[Callable[[object], object]]:
        """Override: parsers (one argument: the decoded frame) that must reject garbage."""
        raise NotImplementedError("supply a 'garbage_parsers' fixture")

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def bridge_index(scenario: BookScenario) -> int:
        """Index of the first update the clean replay applies; asserts enough follow it."""
        _, results = _replay(scenario, scenario.updates)
        applied = [i for i, r in enumerate(results) if r is SyncResult.APPLIED]
        assert applied, "the scenario's stream never bridges its snapshot"
        bridge = applied[0]
        assert len(scenario.updates) >= bridge + 4, (
            "the book scenario needs at least three updates after the bridging one"
        )
        return bridge

    # -- checks ------------------------------------------------------------------------------

    @check_id("instruments_load")
    def test_instruments_load(
        self, adapter_instruments: Sequence[Instrument], adapter_capabilities: Capabilities
    ) -> None:
        assert adapter_instruments, "no instrument loaded"
        ids = [i.id for i in adapter_instruments]
        assert len(set(ids)) == len(ids), "duplicate instrument ids"
        for inst in adapter_instruments:
            assert isinstance(inst, Instrument)
            assert inst.id.venue == adapter_capabilities.venue, f"{inst.id}: wrong venue"
            assert inst.tick_size.raw > 0 and inst.lot_size.raw > 0
            assert inst.is_price_on_tick(inst.tick_size)
            if inst.min_quantity is not None:
                assert inst.make_qty(inst.min_quantity) == inst.min_quantity, (
                    f"{inst.id}: min quantity off the lot grid"
                )

    @check_id("book_sync_snapshot_stream")
    def test_book_sync_snapshot_stream(self, book_scenario: BookScenario) -> None:
        sync, results = _replay(book_scenario, book_scenario.updates)
        bridge = self.bridge_index(book_scenario)
        assert all(r is SyncResult.DROPPED for r in results[:bridge]), results[:bridge]
        assert all(r is SyncResult.APPLIED for r in results[bridge:]), results[bridge:]
        assert sync.is_valid and not sync.needs_snapshot
        assert sync.last_sequence == book_scenario.updates[-1].last_seq
        sync.book.check_integrity()
        # Updates arriving before the snapshot are buffered and replayed: same book.
        early = book_scenario.make_sync()
        assert all(early.on_update(u) is SyncResult.BUFFERED for u in book_scenario.updates), (
            "updates must be buffered until a snapshot arrives"
        )
        early.on_snapshot(book_scenario.snapshot)
        assert early.is_valid and levels(early) == levels(sync)

    @check_id("book_duplicates_dropped")
    def test_book_duplicates_dropped(self, book_scenario: BookScenario) -> None:
        clean, _ = _replay(book_scenario, book_scenario.updates)
        doubled = [u for u in book_scenario.updates for _ in (0, 1)]
        sync, _ = _replay(book_scenario, doubled)
        assert sync.is_valid, f"a duplicate invalidated the book: {sync.reason}"
        assert levels(sync) == levels(clean), "a duplicate was applied twice"

    @check_id("book_gap_invalidates_and_resyncs")
    def test_book_gap_invalidates_and_resyncs(self, book_scenario: BookScenario) -> None:
        updates = book_scenario.updates
        k = self.bridge_index(book_scenario) + 1
        clean, _ = _replay(book_scenario, updates)
        at_k, _ = _replay(book_scenario, updates[: k + 1])
        sync, _ = _replay(book_scenario, updates[:k])
        before = levels(sync)
        assert sync.on_update(updates[k + 1]) is SyncResult.INVALIDATED, "gap not detected"
        assert not sync.is_valid and sync.needs_snapshot and sync.reason
        for u in updates[k + 2 :]:
            assert sync.on_update(u) is SyncResult.BUFFERED
        assert levels(sync) == before, "the invalid book changed"
        sync.on_snapshot(snapshot_of(at_k, book_scenario.instrument.id))
        assert _is_valid(sync), sync.reason  # (a call: mypy must not narrow it)
        assert levels(sync) == levels(clean), "the resynced book differs from the clean replay"
        assert sync.last_sequence == updates[-1].last_seq

    @check_id("book_reordered_resyncs")
    def test_book_reordered_resyncs(self, book_scenario: BookScenario) -> None:
        updates = list(book_scenario.updates)
        k = self.bridge_index(book_scenario) + 1
        clean, _ = _replay(book_scenario, updates)
        before_k, _ = _replay(book_scenario, updates[:k])
        swapped = [*updates[:k], updates[k + 1], updates[k], *updates[k + 2 :]]
        sync, results = _replay(book_scenario, swapped)
        if sync.is_valid:  # a venue rule that tolerates the swap must still be exact
            assert levels(sync) == levels(clean)
            return
        assert SyncResult.INVALIDATED in results
        sync.on_snapshot(snapshot_of(before_k, book_scenario.instrument.id))
        assert _is_valid(sync), sync.reason  # (a call: mypy must not narrow it)
        assert levels(sync) == levels(clean), "the resynced book differs from the clean replay"

    @check_id("trades_parse")
    def test_trades_parse(
        self, adapter_trades: Sequence[TradeTick], adapter_instruments: Sequence[Instrument]
    ) -> None:
        assert adapter_trades, "no trade parsed"
        known = {i.id: i for i in adapter_instruments}
        for t in adapter_trades:
            assert isinstance(t, TradeTick)
            assert t.price.raw > 0 and t.size.raw > 0, t
            assert str(t.trade_id), t
            assert t.ts_event > 0, t
            inst = known.get(t.instrument_id)
            if inst is not None:
                assert t.price.precision <= inst.price_precision
                assert t.size.precision <= inst.size_precision

    @check_id("quotes_parse")
    def test_quotes_parse(self, adapter_quotes: Sequence[QuoteTick]) -> None:
        assert adapter_quotes, "no quote parsed"
        for q in adapter_quotes:
            assert isinstance(q, QuoteTick)
            assert q.bid_price.raw > 0 and q.ask_price.raw > 0, q
            assert q.bid_size.raw >= 0 and q.ask_size.raw >= 0, q

    @check_id("capabilities_declared_pass")
    def test_capabilities_declared_pass(
        self,
        adapter_capabilities: Capabilities,
        adapter_instruments: Sequence[Instrument],
        order_encoder: OrderEncoder,
    ) -> None:
        inst = adapter_instruments[0]
        declared = [
            o for o in order_shapes(inst)
            if adapter_capabilities.supports_order(
                o.order_type, o.time_in_force, post_only=o.post_only, reduce_only=o.reduce_only
            )
        ]  # fmt: skip
        assert declared, "the capabilities declare no usable order shape"
        for order in declared:
            assert order_encoder(order, inst) is not None, order

    @check_id("capabilities_undeclared_raise")
    def test_capabilities_undeclared_raise(
        self,
        adapter_capabilities: Capabilities,
        adapter_instruments: Sequence[Instrument],
        order_encoder: OrderEncoder,
    ) -> None:
        inst = adapter_instruments[0]
        for order in order_shapes(inst):
            if adapter_capabilities.supports_order(
                order.order_type, order.time_in_force, post_only=order.post_only,
                reduce_only=order.reduce_only,
            ):  # fmt: skip
                continue
            with pytest.raises(NotSupported):
                order_encoder(order, inst)

    @check_id("garbage_frames_rejected")
    def test_garbage_frames_rejected(
        self, garbage_parsers: Sequence[Callable[[object], object]]
    ) -> None:
        assert garbage_parsers, "no parser supplied"
        for parse in garbage_parsers:
            for frame in GARBAGE_FRAMES:
                with pytest.raises(InvalidValue):
                    parse(frame)

    @check_id("registered_by_plugin")
    def test_registered_by_plugin(self, adapter_capabilities: Capabilities) -> None:
        if self.adapter_name is None:
            pytest.skip("adapter_name is not set on the test class")
        component = registered_component("adapter", self.adapter_name, "adapter")
        assert component.capabilities == frozenset(adapter_capabilities.as_strings()), (
            "the registered capabilities differ from Capabilities.as_strings()"
        )
