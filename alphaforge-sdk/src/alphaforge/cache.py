"""In-memory state of a trading node, and a generic LRU/TTL cache.

:class:`Cache` holds what the engines know: instruments, orders, positions, accounts and the
latest market data with a bounded recent history. It is single-threaded and deterministic
(every query returns items in insertion order, market-data history newest first).

The cache stores domain objects through small structural protocols (:class:`InstrumentLike`,
:class:`OrderLike`, ...), so it does not depend on :mod:`alphaforge.model` at import time:

========================  ====================================================================
stored object             attributes the cache reads
========================  ====================================================================
instrument                ``id``
order                     ``client_order_id``, ``instrument_id``, ``strategy_id``,
                          ``is_open``, ``is_closed``
position                  ``id``, ``instrument_id``, ``strategy_id``, ``is_open``, ``is_closed``
account                   ``id``
quote / trade tick        ``instrument_id``
bar                       ``bar_type``
========================  ====================================================================

``is_open`` / ``is_closed`` may be properties or zero-argument methods. Open/closed status is
read when queried, so orders and positions that change state in place are always reported
correctly; call :meth:`Cache.update_order` / :meth:`Cache.update_position` when a *new* object
replaces the stored one.

:class:`LRUCache` is a generic bounded mapping with least-recently-used eviction and an
optional time-to-live measured on an injected clock (so a :class:`~alphaforge.clock.TestClock`
drives expiry deterministically).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any, Generic, Protocol, TypeVar, overload

import attrs

from alphaforge.errors import InvalidStateTransition, InvalidValue

__all__ = [
    "AccountLike",
    "BarLike",
    "Cache",
    "CacheStats",
    "InstrumentLike",
    "LRUCache",
    "OrderLike",
    "PositionLike",
    "TTLCache",
    "TickLike",
]


class InstrumentLike(Protocol):
    """An instrument as the cache sees it."""

    @property
    def id(self) -> Hashable:
        """The instrument id (e.g. ``InstrumentId("BTCUSDT.BINANCE")``)."""
        ...


class OrderLike(Protocol):
    """An order as the cache sees it (``is_open``/``is_closed`` may also be methods)."""

    @property
    def client_order_id(self) -> Hashable:
        """The client order id, unique per node."""
        ...

    @property
    def instrument_id(self) -> Hashable:
        """The instrument the order trades."""
        ...

    @property
    def strategy_id(self) -> Hashable:
        """The strategy that owns the order."""
        ...

    @property
    def is_open(self) -> Any:
        """Whether the order is open (bool, or a method returning it)."""
        ...

    @property
    def is_closed(self) -> Any:
        """Whether the order is closed (bool, or a method returning it)."""
        ...


class PositionLike(Protocol):
    """A position as the cache sees it (``is_open``/``is_closed`` may also be methods)."""

    @property
    def id(self) -> Hashable:
        """The position id."""
        ...

    @property
    def instrument_id(self) -> Hashable:
        """The instrument of the position."""
        ...

    @property
    def strategy_id(self) -> Hashable:
        """The strategy that owns the position."""
        ...

    @property
    def is_open(self) -> Any:
        """Whether the position is open."""
        ...

    @property
    def is_closed(self) -> Any:
        """Whether the position is closed."""
        ...


class AccountLike(Protocol):
    """An account as the cache sees it."""

    @property
    def id(self) -> Hashable:
        """The account id."""
        ...


class TickLike(Protocol):
    """A quote or trade tick as the cache sees it."""

    @property
    def instrument_id(self) -> Hashable:
        """The instrument of the tick."""
        ...


class BarLike(Protocol):
    """A bar as the cache sees it."""

    @property
    def bar_type(self) -> Hashable:
        """The bar type (instrument, step, aggregation, price type)."""
        ...


_T = TypeVar("_T")


def _flag(obj: object, name: str) -> bool:
    value = getattr(obj, name)
    if callable(value):
        value = value()
    return bool(value)


def _check_capacity(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, value, f"must be an int, not {type(value).__name__}")
    if value < 1:
        raise InvalidValue(field, value, "must be >= 1")
    return value


class _Index:
    """Insertion-ordered multimap key -> ids (dicts used as ordered sets)."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[Hashable, dict[Hashable, None]] = {}

    def add(self, key: Hashable, item: Hashable) -> None:
        self._map.setdefault(key, {})[item] = None

    def remove(self, key: Hashable, item: Hashable) -> None:
        bucket = self._map.get(key)
        if bucket is not None:
            bucket.pop(item, None)
            if not bucket:
                del self._map[key]

    def get(self, key: Hashable) -> list[Hashable]:
        return list(self._map.get(key, ()))

    def clear(self) -> None:
        self._map.clear()


class Cache:
    """The node's in-memory state: reference data, orders, positions, accounts, market data.

    Parameters
    ----------
    tick_capacity
        How many recent quotes and trades are kept per instrument.
    bar_capacity
        How many recent bars are kept per bar type.

    Notes
    -----
    Re-adding an order, position or account with an id already in the cache raises
    :class:`~alphaforge.errors.InvalidValue`; use the ``update_*`` methods. Re-adding an
    instrument replaces its definition (venues refresh instrument specs). After
    :meth:`dispose` every mutating call raises
    :class:`~alphaforge.errors.InvalidStateTransition`.
    """

    def __init__(self, *, tick_capacity: int = 10_000, bar_capacity: int = 10_000) -> None:
        self._tick_capacity = _check_capacity("tick_capacity", tick_capacity)
        self._bar_capacity = _check_capacity("bar_capacity", bar_capacity)
        self._disposed = False
        self._instruments: dict[Hashable, InstrumentLike] = {}
        self._orders: dict[Hashable, OrderLike] = {}
        self._orders_by_instrument = _Index()
        self._orders_by_strategy = _Index()
        self._positions: dict[Hashable, PositionLike] = {}
        self._positions_by_instrument = _Index()
        self._positions_by_strategy = _Index()
        self._accounts: dict[Hashable, AccountLike] = {}
        self._quotes: dict[Hashable, deque[TickLike]] = {}
        self._trades: dict[Hashable, deque[TickLike]] = {}
        self._bars: dict[Hashable, deque[BarLike]] = {}

    def __repr__(self) -> str:
        return (
            f"Cache(instruments={len(self._instruments)}, orders={len(self._orders)}, "
            f"positions={len(self._positions)}, accounts={len(self._accounts)})"
        )

    @property
    def tick_capacity(self) -> int:
        """Recent quotes/trades kept per instrument."""
        return self._tick_capacity

    @property
    def bar_capacity(self) -> int:
        """Recent bars kept per bar type."""
        return self._bar_capacity

    @property
    def is_disposed(self) -> bool:
        """Whether :meth:`dispose` was called."""
        return self._disposed

    def _check_live(self) -> None:
        if self._disposed:
            raise InvalidStateTransition("the cache is disposed")

    # ------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Remove everything (capacities are kept)."""
        self._instruments.clear()
        self._orders.clear()
        self._orders_by_instrument.clear()
        self._orders_by_strategy.clear()
        self._positions.clear()
        self._positions_by_instrument.clear()
        self._positions_by_strategy.clear()
        self._accounts.clear()
        self._quotes.clear()
        self._trades.clear()
        self._bars.clear()

    def dispose(self) -> None:
        """Remove everything and refuse further additions. Idempotent."""
        self.reset()
        self._disposed = True

    # ------------------------------------------------------------------ instruments

    def add_instrument(self, instrument: InstrumentLike) -> None:
        """Add an instrument, or replace the definition with the same id."""
        self._check_live()
        self._instruments[instrument.id] = instrument

    def instrument(self, instrument_id: Hashable) -> InstrumentLike | None:
        """Return the instrument with this id, or None."""
        return self._instruments.get(instrument_id)

    def instruments(self) -> list[InstrumentLike]:
        """Return all instruments, in insertion order."""
        return list(self._instruments.values())

    def instrument_ids(self) -> list[Hashable]:
        """Return all instrument ids, in insertion order."""
        return list(self._instruments)

    # ------------------------------------------------------------------ orders

    def add_order(self, order: OrderLike) -> None:
        """Add a new order.

        Raises
        ------
        InvalidValue
            If an order with the same ``client_order_id`` is already cached.
        """
        self._check_live()
        oid = order.client_order_id
        if oid in self._orders:
            raise InvalidValue("client_order_id", oid, "an order with this id is already cached")
        self._orders[oid] = order
        self._orders_by_instrument.add(order.instrument_id, oid)
        self._orders_by_strategy.add(order.strategy_id, oid)

    def update_order(self, order: OrderLike) -> None:
        """Replace the cached order with the same ``client_order_id``.

        Raises
        ------
        InvalidValue
            If no order with this ``client_order_id`` is cached.
        """
        self._check_live()
        oid = order.client_order_id
        old = self._orders.get(oid)
        if old is None:
            raise InvalidValue("client_order_id", oid, "no order with this id is cached")
        self._orders[oid] = order
        if old.instrument_id != order.instrument_id:
            self._orders_by_instrument.remove(old.instrument_id, oid)
            self._orders_by_instrument.add(order.instrument_id, oid)
        if old.strategy_id != order.strategy_id:
            self._orders_by_strategy.remove(old.strategy_id, oid)
            self._orders_by_strategy.add(order.strategy_id, oid)

    def order(self, client_order_id: Hashable) -> OrderLike | None:
        """Return the order with this client order id, or None."""
        return self._orders.get(client_order_id)

    def order_exists(self, client_order_id: Hashable) -> bool:
        """Return whether an order with this client order id is cached."""
        return client_order_id in self._orders

    def _select_orders(
        self, instrument_id: Hashable | None, strategy_id: Hashable | None
    ) -> list[OrderLike]:
        if instrument_id is None and strategy_id is None:
            return list(self._orders.values())
        ids: list[Hashable]
        if instrument_id is not None:
            ids = self._orders_by_instrument.get(instrument_id)
            if strategy_id is not None:
                ids = [i for i in ids if self._orders[i].strategy_id == strategy_id]
        else:
            ids = self._orders_by_strategy.get(strategy_id)
        return [self._orders[i] for i in ids]

    def orders(
        self, instrument_id: Hashable | None = None, strategy_id: Hashable | None = None
    ) -> list[OrderLike]:
        """Return the orders, optionally filtered by instrument and/or strategy."""
        return self._select_orders(instrument_id, strategy_id)

    def orders_open(
        self, instrument_id: Hashable | None = None, strategy_id: Hashable | None = None
    ) -> list[OrderLike]:
        """Return the open orders, optionally filtered by instrument and/or strategy."""
        return [o for o in self._select_orders(instrument_id, strategy_id) if _flag(o, "is_open")]

    def orders_closed(
        self, instrument_id: Hashable | None = None, strategy_id: Hashable | None = None
    ) -> list[OrderLike]:
        """Return the closed orders, optionally filtered by instrument and/or strategy."""
        return [o for o in self._select_orders(instrument_id, strategy_id) if _flag(o, "is_closed")]

    def order_count(self) -> int:
        """Return the number of cached orders."""
        return len(self._orders)

    # ------------------------------------------------------------------ positions

    def add_position(self, position: PositionLike) -> None:
        """Add a new position.

        Raises
        ------
        InvalidValue
            If a position with the same ``id`` is already cached.
        """
        self._check_live()
        pid = position.id
        if pid in self._positions:
            raise InvalidValue("position_id", pid, "a position with this id is already cached")
        self._positions[pid] = position
        self._positions_by_instrument.add(position.instrument_id, pid)
        self._positions_by_strategy.add(position.strategy_id, pid)

    def update_position(self, position: PositionLike) -> None:
        """Replace the cached position with the same ``id``.

        Raises
        ------
        InvalidValue
            If no position with this id is cached.
        """
        self._check_live()
        pid = position.id
        old = self._positions.get(pid)
        if old is None:
            raise InvalidValue("position_id", pid, "no position with this id is cached")
        self._positions[pid] = position
        if old.instrument_id != position.instrument_id:
            self._positions_by_instrument.remove(old.instrument_id, pid)
            self._positions_by_instrument.add(position.instrument_id, pid)
        if old.strategy_id != position.strategy_id:
            self._positions_by_strategy.remove(old.strategy_id, pid)
            self._positions_by_strategy.add(position.strategy_id, pid)

    def position(self, position_id: Hashable) -> PositionLike | None:
        """Return the position with this id, or None."""
        return self._positions.get(position_id)

    def _select_positions(
        self, instrument_id: Hashable | None, strategy_id: Hashable | None
    ) -> list[PositionLike]:
        if instrument_id is None and strategy_id is None:
            return list(self._positions.values())
        ids: list[Hashable]
        if instrument_id is not None:
            ids = self._positions_by_instrument.get(instrument_id)
            if strategy_id is not None:
                ids = [i for i in ids if self._positions[i].strategy_id == strategy_id]
        else:
            ids = self._positions_by_strategy.get(strategy_id)
        return [self._positions[i] for i in ids]

    def positions(
        self, instrument_id: Hashable | None = None, strategy_id: Hashable | None = None
    ) -> list[PositionLike]:
        """Return the positions, optionally filtered by instrument and/or strategy."""
        return self._select_positions(instrument_id, strategy_id)

    def positions_open(
        self, instrument_id: Hashable | None = None, strategy_id: Hashable | None = None
    ) -> list[PositionLike]:
        """Return the open positions, optionally filtered by instrument and/or strategy."""
        return [
            p for p in self._select_positions(instrument_id, strategy_id) if _flag(p, "is_open")
        ]

    def positions_closed(
        self, instrument_id: Hashable | None = None, strategy_id: Hashable | None = None
    ) -> list[PositionLike]:
        """Return the closed positions, optionally filtered by instrument and/or strategy."""
        return [
            p for p in self._select_positions(instrument_id, strategy_id) if _flag(p, "is_closed")
        ]

    def position_count(self) -> int:
        """Return the number of cached positions."""
        return len(self._positions)

    # ------------------------------------------------------------------ accounts

    def add_account(self, account: AccountLike) -> None:
        """Add a new account.

        Raises
        ------
        InvalidValue
            If an account with the same ``id`` is already cached.
        """
        self._check_live()
        if account.id in self._accounts:
            raise InvalidValue("account_id", account.id, "an account with this id is cached")
        self._accounts[account.id] = account

    def update_account(self, account: AccountLike) -> None:
        """Replace the cached account with the same ``id``.

        Raises
        ------
        InvalidValue
            If no account with this id is cached.
        """
        self._check_live()
        if account.id not in self._accounts:
            raise InvalidValue("account_id", account.id, "no account with this id is cached")
        self._accounts[account.id] = account

    def account(self, account_id: Hashable) -> AccountLike | None:
        """Return the account with this id, or None."""
        return self._accounts.get(account_id)

    def accounts(self) -> list[AccountLike]:
        """Return all accounts, in insertion order."""
        return list(self._accounts.values())

    # ------------------------------------------------------------------ market data

    def add_quote(self, quote: TickLike) -> None:
        """Record a quote tick as the latest for its instrument."""
        self._check_live()
        key = quote.instrument_id
        history = self._quotes.get(key)
        if history is None:
            history = self._quotes[key] = deque(maxlen=self._tick_capacity)
        history.append(quote)

    def add_trade(self, trade: TickLike) -> None:
        """Record a trade tick as the latest for its instrument."""
        self._check_live()
        key = trade.instrument_id
        history = self._trades.get(key)
        if history is None:
            history = self._trades[key] = deque(maxlen=self._tick_capacity)
        history.append(trade)

    def add_bar(self, bar: BarLike) -> None:
        """Record a bar as the latest for its bar type."""
        self._check_live()
        key = bar.bar_type
        history = self._bars.get(key)
        if history is None:
            history = self._bars[key] = deque(maxlen=self._bar_capacity)
        history.append(bar)

    def quote_sink(self, instrument_id: Hashable) -> Callable[[TickLike], None]:
        """``add_quote`` for one instrument as a bound append: the replay hot path's form.

        Bypasses the disposed check: take a sink per run, never keep it past ``dispose``.
        """
        self._check_live()
        history = self._quotes.get(instrument_id)
        if history is None:
            history = self._quotes[instrument_id] = deque(maxlen=self._tick_capacity)
        return history.append

    def trade_sink(self, instrument_id: Hashable) -> Callable[[TickLike], None]:
        """``add_trade`` for one instrument as a bound append (see :meth:`quote_sink`)."""
        self._check_live()
        history = self._trades.get(instrument_id)
        if history is None:
            history = self._trades[instrument_id] = deque(maxlen=self._tick_capacity)
        return history.append

    def quote(self, instrument_id: Hashable, index: int = 0) -> TickLike | None:
        """Return the latest quote (``index=1`` the one before, ...), or None."""
        return _nth_newest(self._quotes.get(instrument_id), index)

    def quotes(self, instrument_id: Hashable) -> list[TickLike]:
        """Return the recent quotes, newest first."""
        return _newest_first(self._quotes.get(instrument_id))

    def quote_count(self, instrument_id: Hashable) -> int:
        """Return how many quotes are held for the instrument (at most ``tick_capacity``)."""
        return len(self._quotes.get(instrument_id, ()))

    def trade(self, instrument_id: Hashable, index: int = 0) -> TickLike | None:
        """Return the latest trade (``index=1`` the one before, ...), or None."""
        return _nth_newest(self._trades.get(instrument_id), index)

    def trades(self, instrument_id: Hashable) -> list[TickLike]:
        """Return the recent trades, newest first."""
        return _newest_first(self._trades.get(instrument_id))

    def trade_count(self, instrument_id: Hashable) -> int:
        """Return how many trades are held for the instrument (at most ``tick_capacity``)."""
        return len(self._trades.get(instrument_id, ()))

    def bar(self, bar_type: Hashable, index: int = 0) -> BarLike | None:
        """Return the latest bar of this bar type (``index=1`` the one before, ...), or None."""
        return _nth_newest(self._bars.get(bar_type), index)

    def bars(self, bar_type: Hashable) -> list[BarLike]:
        """Return the recent bars of this bar type, newest first."""
        return _newest_first(self._bars.get(bar_type))

    def bar_count(self, bar_type: Hashable) -> int:
        """Return how many bars are held for the bar type (at most ``bar_capacity``)."""
        return len(self._bars.get(bar_type, ()))


def _nth_newest(history: deque[_T] | None, index: int) -> _T | None:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidValue("index", index, "must be an int >= 0")
    if history is None or index >= len(history):
        return None
    return history[-1 - index]


def _newest_first(history: deque[_T] | None) -> list[_T]:
    if history is None:
        return []
    return list(reversed(history))


# ---------------------------------------------------------------------- LRU / TTL cache

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_D = TypeVar("_D")


@attrs.frozen
class CacheStats:
    """A snapshot of an :class:`LRUCache`'s counters.

    Attributes
    ----------
    hits, misses
        ``get`` calls that found / did not find a live entry.
    evictions
        Entries dropped to respect ``maxsize``.
    expirations
        Entries dropped because their TTL ran out.
    size, maxsize
        Current and maximum number of entries.
    """

    hits: int
    misses: int
    evictions: int
    expirations: int
    size: int
    maxsize: int

    @property
    def hit_rate(self) -> float:
        """``hits / (hits + misses)``, 0.0 before any lookup."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class LRUCache(Generic[_K, _V]):
    """A bounded mapping with LRU eviction and optional TTL expiry.

    Parameters
    ----------
    maxsize
        Maximum number of entries; putting a new key into a full cache evicts the least
        recently used entry (``get`` and ``put`` count as use).
    ttl_ns
        If given, an entry expires ``ttl_ns`` after it was last ``put`` (reads do not extend
        it). Expired entries are invisible and are purged lazily.
    clock
        Returns the current time in ns; defaults to :func:`time.monotonic_ns`. Pass
        ``test_clock.timestamp_ns`` for deterministic expiry.

    Notes
    -----
    ``__contains__`` and ``__len__`` honour expiry but neither changes recency nor the hit/miss
    statistics.
    """

    __slots__ = (
        "_clock",
        "_data",
        "_evictions",
        "_expirations",
        "_expiry",
        "_hits",
        "_maxsize",
        "_misses",
        "_ttl_ns",
    )

    def __init__(
        self,
        maxsize: int,
        ttl_ns: int | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self._maxsize = _check_capacity("maxsize", maxsize)
        if ttl_ns is not None:
            if isinstance(ttl_ns, bool) or not isinstance(ttl_ns, int):
                raise InvalidValue("ttl_ns", ttl_ns, "must be an int (ns) or None")
            if ttl_ns <= 0:
                raise InvalidValue("ttl_ns", ttl_ns, "must be > 0")
        if clock is not None and not callable(clock):
            raise InvalidValue("clock", clock, "must be callable returning ns")
        self._ttl_ns = ttl_ns
        self._clock: Callable[[], int] = clock if clock is not None else time.monotonic_ns
        # key -> value, ordered least- to most-recently used
        self._data: OrderedDict[_K, _V] = OrderedDict()
        # key -> expiry time, ordered by put time (== expiry order: the TTL is constant)
        self._expiry: OrderedDict[_K, int] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self._expirations = 0

    def __repr__(self) -> str:
        return f"LRUCache(maxsize={self._maxsize}, ttl_ns={self._ttl_ns}, size={len(self)})"

    @property
    def maxsize(self) -> int:
        """Maximum number of entries."""
        return self._maxsize

    @property
    def ttl_ns(self) -> int | None:
        """Time to live of an entry in ns, or None."""
        return self._ttl_ns

    def _purge_expired(self) -> None:
        if self._ttl_ns is None or not self._expiry:
            return
        now = self._clock()
        expiry = self._expiry
        while expiry:
            key, deadline = next(iter(expiry.items()))
            if deadline > now:
                break
            del expiry[key]
            del self._data[key]
            self._expirations += 1

    @overload
    def get(self, key: _K) -> _V | None: ...

    @overload
    def get(self, key: _K, default: _D) -> _V | _D: ...

    def get(self, key: _K, default: object = None) -> object:
        """Return the live value for ``key`` (marking it recently used), else ``default``."""
        self._purge_expired()
        data = self._data
        if key in data:
            data.move_to_end(key)
            self._hits += 1
            return data[key]
        self._misses += 1
        return default

    def put(self, key: _K, value: _V) -> None:
        """Insert or replace ``key``; evicts the least recently used entry if full."""
        self._purge_expired()
        data = self._data
        if key in data:
            data.move_to_end(key)
        elif len(data) >= self._maxsize:
            old, _ = data.popitem(last=False)
            self._expiry.pop(old, None)
            self._evictions += 1
        data[key] = value
        if self._ttl_ns is not None:
            self._expiry.pop(key, None)
            self._expiry[key] = self._clock() + self._ttl_ns

    @overload
    def pop(self, key: _K) -> _V | None: ...

    @overload
    def pop(self, key: _K, default: _D) -> _V | _D: ...

    def pop(self, key: _K, default: object = None) -> object:
        """Remove ``key`` and return its live value, else ``default``."""
        self._purge_expired()
        if key in self._data:
            self._expiry.pop(key, None)
            return self._data.pop(key)
        return default

    def clear(self) -> None:
        """Remove every entry (statistics are kept)."""
        self._data.clear()
        self._expiry.clear()

    def keys(self) -> list[_K]:
        """Return the live keys, least recently used first."""
        self._purge_expired()
        return list(self._data)

    def __contains__(self, key: object) -> bool:
        self._purge_expired()
        return key in self._data

    def __len__(self) -> int:
        self._purge_expired()
        return len(self._data)

    def stats(self) -> CacheStats:
        """Return a snapshot of the counters."""
        self._purge_expired()
        return CacheStats(
            hits=self._hits,
            misses=self._misses,
            evictions=self._evictions,
            expirations=self._expirations,
            size=len(self._data),
            maxsize=self._maxsize,
        )


TTLCache = LRUCache
"""Alias: an :class:`LRUCache` constructed with ``ttl_ns``."""
