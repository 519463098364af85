from __future__ import annotations

from typing import Any

import attrs
import pytest

from alphaforge.cache import Cache, CacheStats, LRUCache
from alphaforge.clock import TestClock
from alphaforge.errors import InvalidStateTransition, InvalidValue

BTC = "BTCUSDT.BINANCE"
ETH = "ETHUSDT.BINANCE"


# Stand-ins for alphaforge.model objects (the cache only reads these attributes).
@attrs.frozen
class Instrument:
    id: str
    tick: str = "0.01"


@attrs.define
class Order:
    client_order_id: str
    instrument_id: str
    strategy_id: str
    status: str = "open"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


@attrs.define
class MethodOrder:
    """is_open/is_closed as methods, as some models do."""

    client_order_id: str
    instrument_id: str
    strategy_id: str
    open_: bool = True

    def is_open(self) -> bool:
        return self.open_

    def is_closed(self) -> bool:
        return not self.open_


@attrs.frozen
class Position:
    id: str
    instrument_id: str
    strategy_id: str
    is_open: bool = True

    @property
    def is_closed(self) -> bool:
        return not self.is_open


@attrs.frozen
class Account:
    id: str
    balance: int = 0


@attrs.frozen
class Tick:
    instrument_id: str
    ts: int


@attrs.frozen
class Bar:
    bar_type: str
    ts: int


def test_instruments_add_get_replace() -> None:
    cache = Cache()
    cache.add_instrument(Instrument(BTC))
    cache.add_instrument(Instrument(ETH))
    cache.add_instrument(Instrument(BTC, tick="0.1"))
    assert cache.instrument(BTC) == Instrument(BTC, tick="0.1")
    assert cache.instrument("nope") is None
    assert cache.instrument_ids() == [BTC, ETH]
    assert len(cache.instruments()) == 2


def test_orders_queries() -> None:
    cache = Cache()
    o1 = Order("O-1", BTC, "S-1")
    o2 = Order("O-2", ETH, "S-1", status="closed")
    o3 = Order("O-3", BTC, "S-2")
    for o in (o1, o2, o3):
        cache.add_order(o)
    assert cache.order("O-2") is o2
    assert cache.order_exists("O-3")
    assert not cache.order_exists("O-9")
    assert cache.order_count() == 3
    assert cache.orders() == [o1, o2, o3]
    assert cache.orders(instrument_id=BTC) == [o1, o3]
    assert cache.orders(strategy_id="S-1") == [o1, o2]
    assert cache.orders(instrument_id=BTC, strategy_id="S-2") == [o3]
    assert cache.orders_open() == [o1, o3]
    assert cache.orders_closed() == [o2]
    assert cache.orders_open(strategy_id="S-1") == [o1]
    assert cache.orders_closed(instrument_id=BTC) == []
    o1.status = "closed"  # in-place state change is seen by the next query
    assert cache.orders_closed(instrument_id=BTC) == [o1]


def test_orders_with_method_flags() -> None:
    cache = Cache()
    a = MethodOrder("A", BTC, "S")
    b = MethodOrder("B", BTC, "S", open_=False)
    cache.add_order(a)
    cache.add_order(b)
    assert cache.orders_open() == [a]
    assert cache.orders_closed() == [b]


def test_duplicate_order_is_rejected_state_unchanged() -> None:
    cache = Cache()
    first = Order("O-1", BTC, "S-1")
    cache.add_order(first)
    with pytest.raises(InvalidValue, match="O-1") as info:
        cache.add_order(Order("O-1", ETH, "S-2"))
    assert info.value.field == "client_order_id"
    assert cache.order("O-1") is first
    assert cache.orders(instrument_id=ETH) == []
    assert cache.orders(strategy_id="S-2") == []


def test_update_order_reindexes() -> None:
    cache = Cache()
    cache.add_order(Order("O-1", BTC, "S-1"))
    new = Order("O-1", ETH, "S-2", status="closed")
    cache.update_order(new)
    assert cache.order("O-1") is new
    assert cache.orders(instrument_id=BTC) == []
    assert cache.orders(instrument_id=ETH) == [new]
    assert cache.orders(strategy_id="S-1") == []
    with pytest.raises(InvalidValue) as info:
        cache.update_order(Order("O-404", BTC, "S-1"))
    assert info.value.field == "client_order_id"
    assert cache.order_count() == 1


def test_positions() -> None:
    cache = Cache()
    p1 = Position("P-1", BTC, "S-1")
    p2 = Position("P-2", BTC, "S-2", is_open=False)
    p3 = Position("P-3", ETH, "S-1")
    for p in (p1, p2, p3):
        cache.add_position(p)
    assert cache.position("P-2") is p2
    assert cache.positions(instrument_id=BTC) == [p1, p2]
    assert cache.positions_open(instrument_id=BTC) == [p1]
    assert cache.positions_closed(instrument_id=BTC) == [p2]
    assert cache.positions_open(strategy_id="S-1") == [p1, p3]
    assert cache.position_count() == 3
    with pytest.raises(InvalidValue) as info:
        cache.add_position(Position("P-1", ETH, "S-9"))
    assert info.value.field == "position_id"
    closed = Position("P-1", BTC, "S-1", is_open=False)
    cache.update_position(closed)
    assert cache.positions_closed(instrument_id=BTC) == [closed, p2]
    with pytest.raises(InvalidValue):
        cache.update_position(Position("P-404", BTC, "S-1"))


def test_accounts() -> None:
    cache = Cache()
    cache.add_account(Account("BINANCE-001", 5))
    with pytest.raises(InvalidValue) as info:
        cache.add_account(Account("BINANCE-001", 7))
    assert info.value.field == "account_id"
    assert cache.account("BINANCE-001") == Account("BINANCE-001", 5)
    cache.update_account(Account("BINANCE-001", 7))
    assert cache.accounts() == [Account("BINANCE-001", 7)]
    with pytest.raises(InvalidValue):
        cache.update_account(Account("X", 1))
    assert cache.account("X") is None


def test_quotes_and_trades_history_newest_first_and_bounded() -> None:
    cache = Cache(tick_capacity=3)
    for ts in range(5):
        cache.add_quote(Tick(BTC, ts))
        cache.add_trade(Tick(BTC, 100 + ts))
    cache.add_quote(Tick(ETH, 9))
    assert cache.quote(BTC) == Tick(BTC, 4)
    assert cache.quote(BTC, index=2) == Tick(BTC, 2)
    assert cache.quote(BTC, index=3) is None
    assert cache.quotes(BTC) == [Tick(BTC, 4), Tick(BTC, 3), Tick(BTC, 2)]
    assert cache.quote_count(BTC) == 3
    assert cache.quote_count(ETH) == 1
    assert cache.trade(BTC) == Tick(BTC, 104)
    assert cache.trades(BTC) == [Tick(BTC, 104), Tick(BTC, 103), Tick(BTC, 102)]
    assert cache.trade_count(BTC) == 3
    assert cache.quote("nope") is None
    assert cache.quotes("nope") == []
    assert cache.trade_count("nope") == 0
    with pytest.raises(InvalidValue) as info:
        cache.quote(BTC, index=-1)
    assert info.value.field == "index"


def test_bars_by_bar_type() -> None:
    cache = Cache(bar_capacity=2)
    one_min = f"{BTC}-1-MINUTE-LAST-EXTERNAL"
    five_min = f"{BTC}-5-MINUTE-LAST-EXTERNAL"
    for ts in range(3):
        cache.add_bar(Bar(one_min, ts))
    cache.add_bar(Bar(five_min, 0))
    assert cache.bar(one_min) == Bar(one_min, 2)
    assert cache.bars(one_min) == [Bar(one_min, 2), Bar(one_min, 1)]
    assert cache.bar_count(one_min) == 2
    assert cache.bar_count(five_min) == 1
    assert cache.bar("nope") is None


@pytest.mark.parametrize("field", ["tick_capacity", "bar_capacity"])
@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_capacity_validation(field: str, bad: Any) -> None:
    with pytest.raises(InvalidValue) as info:
        Cache(**{field: bad})
    assert info.value.field == field


def test_reset_and_dispose() -> None:
    cache = Cache()
    cache.add_instrument(Instrument(BTC))
    cache.add_order(Order("O-1", BTC, "S"))
    cache.add_position(Position("P-1", BTC, "S"))
    cache.add_account(Account("A"))
    cache.add_quote(Tick(BTC, 1))
    cache.add_trade(Tick(BTC, 1))
    cache.add_bar(Bar("bt", 1))
    cache.reset()
    assert cache.instruments() == []
    assert cache.orders() == []
    assert cache.orders(instrument_id=BTC) == []
    assert cache.positions() == []
    assert cache.accounts() == []
    assert cache.quote(BTC) is None
    assert cache.trade(BTC) is None
    assert cache.bar("bt") is None
    cache.add_order(Order("O-1", BTC, "S"))  # the id is free again after reset
    cache.dispose()
    assert cache.is_disposed
    assert cache.order_count() == 0
    with pytest.raises(InvalidStateTransition):
        cache.add_quote(Tick(BTC, 2))
    cache.dispose()  # idempotent


# ---------------------------------------------------------------------- LRUCache


def test_lru_eviction_and_stats() -> None:
    lru: LRUCache[str, int] = LRUCache(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # a is now most recent
    lru.put("c", 3)  # evicts b
    assert "b" not in lru
    assert lru.get("b") is None
    assert lru.get("b", -1) == -1
    assert lru.keys() == ["a", "c"]
    assert len(lru) == 2
    assert lru.stats() == CacheStats(
        hits=1, misses=2, evictions=1, expirations=0, size=2, maxsize=2
    )
    assert lru.stats().hit_rate == pytest.approx(1 / 3)


def test_lru_put_existing_key_refreshes_without_eviction() -> None:
    lru: LRUCache[str, int] = LRUCache(2)
    lru.put("a", 1)
    lru.put("b", 2)
    lru.put("a", 10)
    lru.put("c", 3)  # evicts b (a was refreshed)
    assert lru.keys() == ["a", "c"]
    assert lru.get("a") == 10
    assert lru.stats().evictions == 1


def test_lru_pop_and_clear() -> None:
    lru: LRUCache[str, int] = LRUCache(3)
    lru.put("a", 1)
    assert lru.pop("a") == 1
    assert lru.pop("a") is None
    assert lru.pop("a", 0) == 0
    lru.put("b", 2)
    lru.clear()
    assert len(lru) == 0


def test_ttl_expiry_with_test_clock() -> None:
    clock = TestClock(0)
    lru: LRUCache[str, int] = LRUCache(10, ttl_ns=100, clock=clock.timestamp_ns)
    lru.put("a", 1)
    clock.advance_time(50)
    lru.put("b", 2)
    assert lru.get("a") == 1  # reads do not extend the TTL
    clock.advance_time(100)
    assert "a" not in lru
    assert lru.get("a") is None
    assert lru.get("b") == 2
    clock.advance_time(149)
    assert len(lru) == 1
    clock.advance_time(150)
    assert len(lru) == 0
    stats = lru.stats()
    assert (stats.expirations, stats.hits, stats.misses, stats.size) == (2, 2, 1, 0)


def test_ttl_put_refreshes_expiry() -> None:
    clock = TestClock(0)
    lru: LRUCache[str, int] = LRUCache(10, ttl_ns=100, clock=clock.timestamp_ns)
    lru.put("a", 1)
    lru.put("b", 1)
    clock.advance_time(90)
    lru.put("a", 2)
    clock.advance_time(120)
    assert lru.keys() == ["a"]
    assert lru.get("a") == 2


def test_ttl_with_eviction_keeps_indexes_consistent() -> None:
    clock = TestClock(0)
    lru: LRUCache[int, int] = LRUCache(2, ttl_ns=10, clock=clock.timestamp_ns)
    for i in range(5):
        lru.put(i, i)
    clock.advance_time(10)
    assert len(lru) == 0
    assert lru.stats() == CacheStats(
        hits=0, misses=0, evictions=3, expirations=2, size=0, maxsize=2
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"maxsize": 0}, "maxsize"),
        ({"maxsize": "3"}, "maxsize"),
        ({"maxsize": 1, "ttl_ns": 0}, "ttl_ns"),
        ({"maxsize": 1, "ttl_ns": 1.0}, "ttl_ns"),
        ({"maxsize": 1, "clock": 5}, "clock"),
    ],
)
def test_lru_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as info:
        LRUCache(**kwargs)
    assert info.value.field == field
