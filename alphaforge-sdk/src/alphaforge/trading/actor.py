"""The :class:`Actor`: a component that reacts to market data and timers.

An actor is registered with a :class:`~alphaforge.trading.trader.Trader`, which gives it the
node's ``clock``, ``cache``, ``msgbus`` and ``portfolio``, and starts and stops it with the
kernel. Override the ``on_*`` handlers you need; every handler defaults to doing nothing.

Hot path
--------
``subscribe_quotes(instrument_id)`` subscribes the bound method ``self.on_quote`` *itself* to
``data.quotes.<instrument_id>``: the bus calls your handler directly, with no dispatch layer in
between (the same for trades, bars and books). Indicators registered with
``register_indicator_for_quotes`` etc. are bus subscribers too, at a higher priority, so they
are up to date when your handler runs.

Lifecycle
---------
``PRE_INITIALIZED --register--> READY --start--> RUNNING --stop--> STOPPED --start--> ...``;
``reset`` (from READY/STOPPED) calls ``on_reset`` and resets registered indicators;
``dispose`` is final. ``on_start`` usually subscribes; on ``stop`` the actor unsubscribes all
its data subscriptions and indicators and cancels its timers after ``on_stop`` ran. If
``on_start`` raises, the subscriptions it made are undone and the state is unchanged.

Timer names are per clock (shared by all actors of a node): prefix them if two actors might
pick the same name.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from alphaforge.clock import TimeEvent, TimeEventCallback
from alphaforge.errors import InvalidValue, KernelStateError
from alphaforge.model.data import Bar, BarType, OrderBookDeltas, QuoteTick, TradeTick
from alphaforge.model.enums import BookType
from alphaforge.model.identifiers import InstrumentId, TraderId
from alphaforge.trading.config import ActorConfig
from alphaforge.trading.messages import DataKind, DataSubscription
from alphaforge.trading.topics import (
    DATA_SUBSCRIPTIONS_ENDPOINT,
    bars_topic,
    book_deltas_topic,
    book_topic,
    quotes_topic,
    trades_topic,
)

if TYPE_CHECKING:
    from alphaforge.cache import Cache
    from alphaforge.clock import Clock
    from alphaforge.msgbus import MessageBus
    from alphaforge.portfolio.portfolio import Portfolio

__all__ = ["INDICATOR_PRIORITY", "Actor", "ComponentState", "DataIndicator"]

INDICATOR_PRIORITY = 100
"""Bus priority of registered indicators (strategies subscribe at 0, so indicators go first)."""


class ComponentState(enum.Enum):
    """Lifecycle state of an actor or strategy."""

    PRE_INITIALIZED = "PRE_INITIALIZED"
    READY = "READY"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    DISPOSED = "DISPOSED"


class DataIndicator(Protocol):
    """What ``register_indicator_for_*`` needs from an indicator."""

    def handle_quote(self, quote: QuoteTick) -> None: ...

    def handle_trade(self, trade: TradeTick) -> None: ...

    def handle_bar(self, bar: Bar) -> None: ...

    def reset(self) -> None: ...


_Handler = Callable[[Any], object]


class Actor:
    """Base class of data-driven components (see the module docs).

    Parameters
    ----------
    config
        Settings; ``component_id`` defaults to the class name.

    Attributes
    ----------
    clock, cache, msgbus, portfolio
        The node's services, available once registered (``AttributeError`` before).
    log
        A :class:`logging.Logger` named ``alphaforge.actor.<id>``.
    """

    clock: Clock
    cache: Cache
    msgbus: MessageBus
    portfolio: Portfolio
    trader_id: TraderId

    def __init__(self, config: ActorConfig | None = None) -> None:
        if config is None:
            config = ActorConfig()
        elif not isinstance(config, ActorConfig):
            raise InvalidValue("config", config, "must be an ActorConfig")
        self.config = config
        self.id: str = config.component_id or type(self).__name__
        self.log = logging.getLogger(f"alphaforge.actor.{self.id}")
        self._init_component()

    def _init_component(self) -> None:
        self._state = ComponentState.PRE_INITIALIZED
        # topic -> (handler, kind, key); one entry per bus subscription this actor made
        self._data_subs: dict[tuple[str, _Handler], tuple[DataKind | None, Any]] = {}
        self._indicators: list[DataIndicator] = []
        self._timers: set[str] = set()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, state={self._state.value})"

    # ------------------------------------------------------------------ registration

    @property
    def state(self) -> ComponentState:
        """Lifecycle state."""
        return self._state

    @property
    def is_running(self) -> bool:
        """Whether the component is RUNNING."""
        return self._state is ComponentState.RUNNING

    @property
    def is_registered(self) -> bool:
        """Whether the component has its services."""
        return self._state not in (ComponentState.PRE_INITIALIZED, ComponentState.DISPOSED)

    def register(
        self,
        *,
        trader_id: TraderId,
        clock: Clock,
        cache: Cache,
        msgbus: MessageBus,
        portfolio: Portfolio,
    ) -> None:
        """Give the component its services (called by the Trader).

        Raises
        ------
        KernelStateError
            Already registered.
        """
        if self._state is not ComponentState.PRE_INITIALIZED:
            raise KernelStateError(f"{self.id}: already registered (state {self._state.value})")
        self.trader_id = trader_id
        self.clock = clock
        self.cache = cache
        self.msgbus = msgbus
        self.portfolio = portfolio
        self._on_register()
        self._state = ComponentState.READY

    def _on_register(self) -> None:
        """Hook for subclasses that wire more at registration."""

    def _require_registered(self) -> None:
        if not self.is_registered:
            raise KernelStateError(f"{self.id}: not registered with a trader ({self._state.value})")

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Call ``on_start`` and enter RUNNING.

        Raises
        ------
        KernelStateError
            Not READY or STOPPED.
        """
        if self._state not in (ComponentState.READY, ComponentState.STOPPED):
            raise KernelStateError(f"{self.id}: cannot start in state {self._state.value}")
        try:
            self.on_start()
        except BaseException:
            self._release_resources()
            raise
        self._state = ComponentState.RUNNING

    def stop(self) -> None:
        """Call ``on_stop``, drop data subscriptions, indicators and timers; enter STOPPED.

        Raises
        ------
        KernelStateError
            Not RUNNING.
        """
        if self._state is not ComponentState.RUNNING:
            raise KernelStateError(f"{self.id}: cannot stop in state {self._state.value}")
        try:
            self.on_stop()
        finally:
            self._release_resources()
            self._state = ComponentState.STOPPED

    def reset(self) -> None:
        """Call ``on_reset`` and reset registered indicators; enter READY.

        Raises
        ------
        KernelStateError
            Not READY or STOPPED.
        """
        if self._state not in (ComponentState.READY, ComponentState.STOPPED):
            raise KernelStateError(f"{self.id}: cannot reset in state {self._state.value}")
        for indicator in self._indicators:
            indicator.reset()
        self.on_reset()
        self._state = ComponentState.READY

    def dispose(self) -> None:
        """Stop if running, call ``on_dispose`` and release everything. Idempotent."""
        if self._state is ComponentState.DISPOSED:
            return
        if self._state is ComponentState.RUNNING:
            self.stop()
        try:
            if self._state is not ComponentState.PRE_INITIALIZED:
                self.on_dispose()
        finally:
            self._release_resources()
            self._on_dispose_internal()
            self._state = ComponentState.DISPOSED

    def _on_dispose_internal(self) -> None:
        """Hook for subclasses to release what they wired at registration."""

    def _release_resources(self) -> None:
        if not self.is_registered:
            return
        bus = self.msgbus
        for (topic, handler), (kind, key) in list(self._data_subs.items()):
            if bus.is_subscribed(topic, handler):
                bus.unsubscribe(topic, handler)
            if kind is not None:
                self._notify(kind, key, topic, subscribe=False)
        self._data_subs.clear()
        active = set(self.clock.timer_names)
        for name in sorted(self._timers & active):
            self.clock.cancel_timer(name)
        self._timers.clear()

    # ------------------------------------------------------------------ handlers (override)

    def on_start(self) -> None:
        """Called when the component starts; subscribe to data here."""

    def on_stop(self) -> None:
        """Called when the component stops."""

    def on_reset(self) -> None:
        """Called on ``reset``: clear your own state here."""

    def on_dispose(self) -> None:
        """Called once when the component is disposed."""

    def on_quote(self, quote: QuoteTick) -> None:
        """A subscribed quote tick."""

    def on_trade(self, trade: TradeTick) -> None:
        """A subscribed trade tick."""

    def on_bar(self, bar: Bar) -> None:
        """A subscribed bar."""

    def on_book(self, book: Any) -> None:
        """The order book after an update (the DataEngine's book object)."""

    def on_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """A batch of book deltas as applied."""

    def on_timer(self, event: TimeEvent) -> None:
        """A timer or time alert set without an explicit callback fired."""

    # ------------------------------------------------------------------ subscriptions

    def _notify(
        self, kind: DataKind, key: Any, topic: str, *, subscribe: bool, **extra: Any
    ) -> None:
        bus = self.msgbus
        if bus.is_registered(DATA_SUBSCRIPTIONS_ENDPOINT):
            bus.send(
                DATA_SUBSCRIPTIONS_ENDPOINT,
                DataSubscription(
                    kind=kind,
                    key=key,
                    topic=topic,
                    subscriber=self.id,
                    subscribe=subscribe,
                    ts_init=self.clock.timestamp_ns(),
                    **extra,
                ),
            )

    def _subscribe(
        self,
        kind: DataKind | None,
        key: Any,
        topic: str,
        handler: _Handler,
        priority: int = 0,
        **extra: Any,
    ) -> None:
        self._require_registered()
        entry = (topic, handler)
        if entry in self._data_subs:
            return
        self.msgbus.subscribe(topic, handler, priority=priority)
        self._data_subs[entry] = (kind, key)
        if kind is not None:
            self._notify(kind, key, topic, subscribe=True, **extra)

    def _unsubscribe(self, kind: DataKind, key: Any, topic: str, handler: _Handler) -> None:
        self._require_registered()
        entry = (topic, handler)
        if entry not in self._data_subs:
            raise InvalidValue(str(kind.value), str(key), f"{self.id} is not subscribed")
        self.msgbus.unsubscribe(topic, handler)
        del self._data_subs[entry]
        self._notify(kind, key, topic, subscribe=False)

    @staticmethod
    def _check_iid(instrument_id: object) -> InstrumentId:
        if type(instrument_id) is not InstrumentId:
            raise InvalidValue("instrument_id", instrument_id, "must be an InstrumentId")
        return instrument_id

    @staticmethod
    def _check_bar_type(bar_type: object) -> BarType:
        if type(bar_type) is not BarType:
            raise InvalidValue("bar_type", bar_type, "must be a BarType")
        return bar_type

    def subscribe_quotes(self, instrument_id: InstrumentId) -> None:
        """Deliver ``data.quotes.<instrument_id>`` to :meth:`on_quote` (idempotent)."""
        iid = self._check_iid(instrument_id)
        self._subscribe(DataKind.QUOTES, iid, quotes_topic(iid), self.on_quote)

    def unsubscribe_quotes(self, instrument_id: InstrumentId) -> None:
        """Stop quote delivery. Raises :class:`InvalidValue` if not subscribed."""
        iid = self._check_iid(instrument_id)
        self._unsubscribe(DataKind.QUOTES, iid, quotes_topic(iid), self.on_quote)

    def subscribe_trades(self, instrument_id: InstrumentId) -> None:
        """Deliver ``data.trades.<instrument_id>`` to :meth:`on_trade` (idempotent)."""
        iid = self._check_iid(instrument_id)
        self._subscribe(DataKind.TRADES, iid, trades_topic(iid), self.on_trade)

    def unsubscribe_trades(self, instrument_id: InstrumentId) -> None:
        """Stop trade delivery. Raises :class:`InvalidValue` if not subscribed."""
        iid = self._check_iid(instrument_id)
        self._unsubscribe(DataKind.TRADES, iid, trades_topic(iid), self.on_trade)

    def subscribe_bars(self, bar_type: BarType) -> None:
        """Deliver ``data.bars.<bar_type>`` to :meth:`on_bar` (idempotent)."""
        bt = self._check_bar_type(bar_type)
        self._subscribe(DataKind.BARS, bt, bars_topic(bt), self.on_bar)

    def unsubscribe_bars(self, bar_type: BarType) -> None:
        """Stop bar delivery. Raises :class:`InvalidValue` if not subscribed."""
        bt = self._check_bar_type(bar_type)
        self._unsubscribe(DataKind.BARS, bt, bars_topic(bt), self.on_bar)

    def subscribe_book(
        self, instrument_id: InstrumentId, *, book_type: BookType = BookType.L2_MBP, depth: int = 0
    ) -> None:
        """Deliver the updated book on ``data.book.<instrument_id>`` to :meth:`on_book`."""
        iid = self._check_iid(instrument_id)
        if type(depth) is not int or depth < 0:
            raise InvalidValue("depth", depth, "must be an int >= 0 (0 = full book)")
        self._subscribe(
            DataKind.BOOK, iid, book_topic(iid), self.on_book, book_type=book_type, depth=depth
        )

    def unsubscribe_book(self, instrument_id: InstrumentId) -> None:
        """Stop book delivery. Raises :class:`InvalidValue` if not subscribed."""
        iid = self._check_iid(instrument_id)
        self._unsubscribe(DataKind.BOOK, iid, book_topic(iid), self.on_book)

    def subscribe_book_deltas(
        self, instrument_id: InstrumentId, *, book_type: BookType = BookType.L2_MBP
    ) -> None:
        """Deliver ``data.book_deltas.<instrument_id>`` to :meth:`on_book_deltas`."""
        iid = self._check_iid(instrument_id)
        self._subscribe(
            DataKind.BOOK_DELTAS,
            iid,
            book_deltas_topic(iid),
            self.on_book_deltas,
            book_type=book_type,
        )

    def unsubscribe_book_deltas(self, instrument_id: InstrumentId) -> None:
        """Stop delta delivery. Raises :class:`InvalidValue` if not subscribed."""
        iid = self._check_iid(instrument_id)
        self._unsubscribe(DataKind.BOOK_DELTAS, iid, book_deltas_topic(iid), self.on_book_deltas)

    # ------------------------------------------------------------------ indicators

    def _register_indicator(self, topic: str, handler: _Handler, indicator: DataIndicator) -> None:
        self._require_registered()
        if (topic, handler) in self._data_subs:
            raise InvalidValue("indicator", indicator, f"is already registered for {topic}")
        self.msgbus.subscribe(topic, handler, priority=INDICATOR_PRIORITY)
        self._data_subs[(topic, handler)] = (None, None)
        if not any(i is indicator for i in self._indicators):
            self._indicators.append(indicator)

    def register_indicator_for_quotes(
        self, instrument_id: InstrumentId, indicator: DataIndicator
    ) -> None:
        """Update ``indicator`` with every quote of ``instrument_id``, before ``on_quote``.

        The subscription is dropped when the actor stops; ``reset`` resets the indicator.
        """
        iid = self._check_iid(instrument_id)
        self._register_indicator(quotes_topic(iid), indicator.handle_quote, indicator)

    def register_indicator_for_trades(
        self, instrument_id: InstrumentId, indicator: DataIndicator
    ) -> None:
        """Update ``indicator`` with every trade of ``instrument_id``, before ``on_trade``."""
        iid = self._check_iid(instrument_id)
        self._register_indicator(trades_topic(iid), indicator.handle_trade, indicator)

    def register_indicator_for_bars(self, bar_type: BarType, indicator: DataIndicator) -> None:
        """Update ``indicator`` with every bar of ``bar_type``, before ``on_bar``."""
        bt = self._check_bar_type(bar_type)
        self._register_indicator(bars_topic(bt), indicator.handle_bar, indicator)

    @property
    def registered_indicators(self) -> list[DataIndicator]:
        """Indicators registered with ``register_indicator_for_*``."""
        return list(self._indicators)

    # ------------------------------------------------------------------ timers

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        *,
        start_ns: int | None = None,
        stop_ns: int | None = None,
        callback: TimeEventCallback | None = None,
    ) -> None:
        """Start a repeating timer on the node clock; events go to ``callback`` or :meth:`on_timer`.

        Cancelled automatically when the actor stops. See :meth:`alphaforge.clock.Clock.set_timer`.
        """
        self._require_registered()
        self.clock.set_timer(
            name,
            interval_ns,
            callback if callback is not None else self.on_timer,
            start_ns,
            stop_ns,
        )
        self._timers.add(name)

    def set_time_alert(
        self,
        name: str,
        alert_ns: int,
        *,
        callback: TimeEventCallback | None = None,
        allow_past: bool = False,
    ) -> None:
        """Schedule a one-shot alert; the event goes to ``callback`` or :meth:`on_timer`."""
        self._require_registered()
        self.clock.set_time_alert(
            name,
            alert_ns,
            callback if callback is not None else self.on_timer,
            allow_past=allow_past,
        )
        self._timers.add(name)

    def cancel_timer(self, name: str) -> None:
        """Cancel one of this actor's timers.

        Raises
        ------
        InvalidValue
            No active timer of this actor has this name.
        """
        self._require_registered()
        if name not in self._timers or name not in self.clock.timer_names:
            raise InvalidValue("name", name, f"{self.id} has no active timer with this name")
        self.clock.cancel_timer(name)
        self._timers.discard(name)
