"""Native matching engine throughput through the batch ABI (numpy records, zero-copy).

* ``matching.exchange_stream`` -- a seeded stream of order submissions into an EXCHANGE-mode
  engine: 70% passive limits 1..49 ticks from a fixed mid, 30% crossing (half market, half
  marketable IOC limits), 1..9 lots each, 1000 traders (cancel-resting STP). Batches of
  10,000 commands; every batch's events are drained into a preallocated buffer. Records
  order submissions/s (each including its matching) and events/s.
* ``matching.backtest_l2`` -- a BACKTEST-mode engine fed L2 deltas (random level updates
  around the mid) in batches of 200, each followed by a batch of 10 user orders (70% resting
  limits with queue estimates, 30% marketable IOC walking the book) and 10 cancels of older
  orders, so about 20 of the user's orders work at any time. Records deltas/s.

* ``matching.backtest_l1_market`` -- BACKTEST mode, L1: a quote (1000 lots each side), then
  100 one-lot market orders alternating buy/sell, repeated. The same workload runs on
  nautilus_trader's ``OrderMatchingEngine`` (L1_MBP book, orders created and cached before
  timing, fill events collected from the message bus) when it is importable. nautilus takes
  one order per call; ours takes the 100 orders as one batch (how it is meant to be used).
  nautilus has no venue mode where resting orders match each other, so the exchange-mode
  stream has no peer.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

N_ORDERS = 1_000_000
BATCH = 10_000
MID = 1_000_000


def make_stream(n: int, seed: int = 42) -> Any:
    from alphaforge.matching import COMMAND_DTYPE

    rng = np.random.default_rng(seed)
    cmds = np.zeros(n, dtype=COMMAND_DTYPE)
    cmds["kind"] = 1
    cmds["ts"] = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.uint64) * 1_000
    cmds["client_order_id"] = np.arange(1, n + 1)
    cmds["trader_id"] = rng.integers(1, 1001, n)
    side = rng.integers(1, 3, n)
    cmds["side"] = side
    crossing = rng.random(n) < 0.30
    market = crossing & (rng.random(n) < 0.5)
    offset = rng.integers(1, 50, n)
    passive = np.where(side == 1, MID - offset, MID + offset)
    aggressive = np.where(side == 1, MID + 50, MID - 50)
    cmds["order_type"] = np.where(market, 1, 2)
    cmds["price"] = np.where(market, 0, np.where(crossing, aggressive, passive))
    cmds["time_in_force"] = np.where(crossing, 2, 1)  # IOC for crossing, GTC for passive
    cmds["qty"] = rng.integers(1, 10, n)
    return cmds


def run_exchange(cmds: Any) -> tuple[float, int]:
    from alphaforge.matching import EVENT_DTYPE, MatchingEngine

    eng = MatchingEngine("exchange")
    buf = np.empty(4 * BATCH + 64, dtype=EVENT_DTYPE)
    events = 0
    start = time.perf_counter_ns()
    for lo in range(0, len(cmds), BATCH):
        eng.submit_batch(cmds[lo : lo + BATCH])
        while n := eng.drain_into(buf):
            events += n
    return (time.perf_counter_ns() - start) / 1e9, events


def make_backtest_stream(n_deltas: int, seed: int = 7) -> tuple[Any, Any]:
    from alphaforge.matching import BOOK_DELTA_DTYPE, COMMAND_DTYPE

    rng = np.random.default_rng(seed)
    deltas = np.zeros(n_deltas, dtype=BOOK_DELTA_DTYPE)
    deltas["ts_event"] = 1_700_000_000_000_000_000 + np.arange(n_deltas, dtype=np.uint64) * 100
    side = rng.integers(1, 3, n_deltas)
    deltas["side"] = side
    depth = rng.integers(1, 30, n_deltas)
    deltas["price"] = np.where(side == 1, MID - depth, MID + depth)
    deltas["size"] = rng.integers(0, 50, n_deltas)
    deltas["action"] = np.where(deltas["size"] == 0, 3, 2)  # UPDATE, DELETE when size 0
    # The user's orders: one submit per 10 deltas, each followed by a cancel of the order
    # placed 20 submits earlier (a strategy keeps a bounded set of working orders).
    n_orders = n_deltas // 20
    cmds = np.zeros(2 * n_orders, dtype=COMMAND_DTYPE)
    sub, can = cmds[0::2], cmds[1::2]
    ids = np.arange(1, n_orders + 1)
    sub["kind"] = 1
    sub["client_order_id"] = ids
    oside = rng.integers(1, 3, n_orders)
    sub["side"] = oside
    crossing = rng.random(n_orders) < 0.3
    off = rng.integers(1, 20, n_orders)
    sub["price"] = np.where(
        crossing, np.where(oside == 1, MID + 5, MID - 5), np.where(oside == 1, MID - off, MID + off)
    )
    sub["order_type"] = 2
    sub["time_in_force"] = np.where(crossing, 2, 1)
    sub["qty"] = rng.integers(1, 10, n_orders)
    can["kind"] = 3
    can["client_order_id"] = np.maximum(ids - 20, 0)
    return deltas, cmds


def run_backtest(deltas: Any, cmds: Any) -> float:
    from alphaforge.matching import EVENT_DTYPE, MatchingEngine

    eng = MatchingEngine("backtest")
    buf = np.empty(65_536, dtype=EVENT_DTYPE)
    step = 200  # 200 deltas, then 10 submits + 10 cancels
    start = time.perf_counter_ns()
    for i, lo in enumerate(range(0, len(deltas), step)):
        eng.apply_deltas(deltas[lo : lo + step])
        eng.submit_batch(cmds[i * 20 : (i + 1) * 20])
        while eng.drain_into(buf):
            pass
    return (time.perf_counter_ns() - start) / 1e9


L1_ORDERS = 200_000
L1_EVERY = 100


def run_l1_alphaforge(n: int) -> float:
    from alphaforge.matching import COMMAND_DTYPE, EVENT_DTYPE, QUOTE_DTYPE, MatchingEngine

    eng = MatchingEngine("backtest", price_precision=2, size_precision=6)
    quote = np.zeros(1, dtype=QUOTE_DTYPE)
    quote[0] = (0, 1_000_000, 1_000_001, 1_000_000_000, 1_000_000_000)
    cmds = np.zeros(n, dtype=COMMAND_DTYPE)
    cmds["kind"] = 1
    cmds["client_order_id"] = np.arange(1, n + 1)
    cmds["side"] = np.where(np.arange(n) % 2 == 0, 1, 2)
    cmds["order_type"] = 1
    cmds["time_in_force"] = 2
    cmds["qty"] = 1_000
    buf = np.empty(4 * L1_EVERY, dtype=EVENT_DTYPE)
    start = time.perf_counter_ns()
    for lo in range(0, n, L1_EVERY):
        eng.process_quotes(quote)
        eng.submit_batch(cmds[lo : lo + L1_EVERY])
        while eng.drain_into(buf):
            pass
    return (time.perf_counter_ns() - start) / 1e9


def run_l1_nautilus(n: int) -> float:
    from nautilus_trader.backtest.engine import OrderMatchingEngine
    from nautilus_trader.backtest.models import FillModel, MakerTakerFeeModel
    from nautilus_trader.cache.cache import Cache
    from nautilus_trader.common.component import MessageBus, TestClock
    from nautilus_trader.common.factories import OrderFactory
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.enums import AccountType, BookType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import AccountId, StrategyId, TraderId
    from nautilus_trader.model.objects import Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    inst = TestInstrumentProvider.btcusdt_binance()
    clock = TestClock()
    trader = TraderId("TESTER-000")
    bus = MessageBus(trader, clock)
    cache = Cache()
    cache.add_instrument(inst)
    events: list[Any] = []
    bus.register("ExecEngine.process", events.append)
    eng = OrderMatchingEngine(
        inst, 1, FillModel(), MakerTakerFeeModel(), BookType.L1_MBP, OmsType.NETTING,
        AccountType.CASH, bus, cache, clock,
    )  # fmt: skip
    factory = OrderFactory(trader, StrategyId("S-001"), clock)
    account = AccountId("BINANCE-001")
    quote = QuoteTick(
        inst.id, Price.from_str("10000.00"), Price.from_str("10000.01"),
        Quantity.from_str("1000.000000"), Quantity.from_str("1000.000000"), 0, 0,
    )  # fmt: skip
    one = Quantity.from_str("0.001000")
    orders = [
        factory.market(inst.id, OrderSide.BUY if i % 2 == 0 else OrderSide.SELL, one)
        for i in range(n)
    ]
    for order in orders:
        cache.add_order(order, None)
    start = time.perf_counter_ns()
    for lo in range(0, n, L1_EVERY):
        eng.process_quote_tick(quote)
        for order in orders[lo : lo + L1_EVERY]:
            eng.process_order(order, account)
    secs = (time.perf_counter_ns() - start) / 1e9
    if len(events) < n:  # every market order must have filled
        raise RuntimeError(f"nautilus peer: {len(events)} events for {n} orders")
    return secs


def run(ctx) -> None:  # type: ignore[no-untyped-def]
    if ctx.wants("matching.exchange_stream"):
        n = N_ORDERS // 4 if ctx.quick else N_ORDERS
        cmds = make_stream(n)
        samples = [run_exchange(cmds) for _ in range(ctx.repeats(5))]
        secs = statistics.median(s for s, _ in samples)
        events = samples[0][1]
        ctx.record("matching.exchange_stream", "alphaforge", "orders", n / secs / 1e6, "M/s")
        ctx.record("matching.exchange_stream", "alphaforge", "events", events / secs / 1e6, "M/s")
        ctx.record("matching.exchange_stream", "alphaforge", "per_order", secs / n * 1e9, "ns")
    if ctx.wants("matching.backtest_l2"):
        n = 250_000 if ctx.quick else 1_000_000
        deltas, cmds = make_backtest_stream(n)
        secs = statistics.median(run_backtest(deltas, cmds) for _ in range(ctx.repeats(5)))
        ctx.record("matching.backtest_l2", "alphaforge", "deltas", n / secs / 1e6, "M/s")
    if ctx.wants("matching.backtest_l1_market"):
        impls = {"alphaforge": (run_l1_alphaforge, L1_ORDERS)}
        if ctx.peer("nautilus_trader") is not None:
            impls["nautilus_trader"] = (run_l1_nautilus, L1_ORDERS // 20)
        for impl, (fn, n) in impls.items():
            if ctx.quick:
                n //= 4
            secs = statistics.median(fn(n) for _ in range(ctx.repeats(3)))
            ctx.record("matching.backtest_l1_market", impl, "orders", n / secs / 1e6, "M/s")
            ctx.record("matching.backtest_l1_market", impl, "per_order", secs / n * 1e9, "ns")
