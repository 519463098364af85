"""Engine metrics on the hot path, and message-bus throughput with metrics off vs on.

- ``metrics.counter_inc``: ``counter.value += 1`` on a bound cell (ns, loop overhead subtracted)
- ``metrics.counter_inc_checked``: ``counter.inc()`` (validating method)
- ``metrics.histogram_record``: ``record(latency_ns)``, ``record`` a bound cell's ``record``
- ``metrics.histogram_observe``: ``hist.observe(v)`` (validating method)
- ``metrics.histogram_fold``: folding pending samples into HDR buckets at snapshot (ns/sample)
- ``metrics.snapshot``: one snapshot of a populated metrics object, 1000 new samples since the
  previous one (us)
- ``metrics.msgbus_publish_off`` / ``_on``: publish throughput of the plain bus (metrics off)
  and of the metering bus the kernel uses when metrics are on, measured alternately in the same
  run; ``metrics.msgbus_publish_overhead`` is the difference per message (ns).
"""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from harness import loop_ns

N = 1_000_000
TOPIC = "data.quotes.BINANCE.BTCUSDT"


def _metrics() -> Any:
    from alphaforge.metrics import EngineMetrics

    return EngineMetrics(trader_id="BENCH-001")


def _empty(n: int) -> None:
    for _ in range(n):
        pass


def _bench_cells(ctx: Any) -> None:
    metrics = _metrics()
    repeat = ctx.repeats(7)
    if ctx.wants("metrics.counter_inc"):
        overhead = loop_ns(_empty, N, repeat)
        ctx.record("metrics.loop_overhead", "alphaforge", "latency", overhead, "ns")
        cell = metrics.orders.labels("filled")

        def inc(n: int, cell: Any = cell) -> None:
            for _ in range(n):
                cell.value += 1

        def inc_checked(n: int, inc: Any = cell.inc) -> None:
            for _ in range(n):
                inc()

        ctx.record("metrics.counter_inc", "alphaforge", "latency",
                   loop_ns(inc, N, repeat) - overhead, "ns")  # fmt: skip
        ctx.record("metrics.counter_inc_checked", "alphaforge", "latency",
                   loop_ns(inc_checked, N, repeat) - overhead, "ns")  # fmt: skip

    if ctx.wants("metrics.histogram"):
        hist = metrics.data_latency.labels("quote")
        values = [1_000 + (i * 7919) % 500_000 for i in range(N)]  # distinct ints, 1-501 us

        def baseline(values: list[int] = values) -> None:
            for _v in values:
                pass

        def record(record: Any = hist.record, values: list[int] = values) -> None:
            for v in values:
                record(v)

        def observe(observe: Any = hist.observe, values: list[int] = values) -> None:
            for v in values:
                observe(v)

        base = _per_sample_ns(hist, baseline, len(values), repeat)
        ctx.record("metrics.histogram_record", "alphaforge", "latency",
                   _per_sample_ns(hist, record, len(values), repeat) - base, "ns")  # fmt: skip
        ctx.record("metrics.histogram_observe", "alphaforge", "latency",
                   _per_sample_ns(hist, observe, len(values), repeat) - base, "ns")  # fmt: skip
        ctx.record("metrics.histogram_fold", "alphaforge", "latency",
                   _fold_ns(hist, values, repeat), "ns/sample")  # fmt: skip

    if ctx.wants("metrics.snapshot"):
        populated = _metrics()
        for venue in ("BINANCE", "KRAKEN", "OKX"):
            populated.open_orders.labels(venue).value = 3
            populated.order_ack_latency.labels(venue).record(250_000)
        for kind in ("quote", "trade", "bar", "book_delta"):
            populated.data_events.labels(kind).value = 10
            for v in range(1_000, 200_000, 997):
                populated.data_latency.labels(kind).record(v)
        populated.snapshot()
        records = [populated.data_latency.labels(kind).record for kind in ("quote", "trade")]
        samples = []
        for _ in range(repeat * 10):
            for record in records:  # 2 x 500 new samples since the previous snapshot
                for v in range(5_000, 505_000, 1_000):
                    record(v)
            start = time.perf_counter_ns()
            populated.snapshot()
            samples.append(time.perf_counter_ns() - start)
        median_us = statistics.median(samples) / 1e3
        ctx.record("metrics.snapshot", "alphaforge", "latency", median_us, "us")


def _per_sample_ns(hist: Any, body: Any, count: int, repeat: int) -> float:
    """Median time per sample of ``body()``; pending samples are folded untimed in between."""
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            body()
            samples.append((time.perf_counter_ns() - start) / count)
            hist.fold()
    finally:
        gc.enable()
    return statistics.median(samples)


def _fold_ns(hist: Any, values: list[int], repeat: int) -> float:
    samples = []
    gc.collect()
    for _ in range(repeat):
        for v in values:
            hist.record(v)
        start = time.perf_counter_ns()
        hist.fold()
        samples.append((time.perf_counter_ns() - start) / len(values))
    return statistics.median(samples)


def _bench_bus(ctx: Any) -> None:
    if not ctx.wants("metrics.msgbus"):
        return
    from alphaforge.msgbus import MessageBus, MeteredMessageBus

    publishers = {}
    for label, cls in (("off", MessageBus), ("on", MeteredMessageBus)):
        bus = cls()
        sink = [0]

        def handler(msg: object, sink: list[int] = sink) -> None:
            sink[0] += 1

        bus.subscribe(TOPIC, handler)
        publishers[label] = bus.publish

    def body_for(publish: Any) -> Any:
        def body(n: int, publish: Any = publish, msg: object = object()) -> None:
            for _ in range(n):
                publish(TOPIC, msg)

        return body

    # Alternate off/on runs so both see the same machine load; medians of each.
    runs: dict[str, list[float]] = {"off": [], "on": []}
    for _ in range(ctx.repeats(7)):
        for label in ("off", "on"):
            runs[label].append(loop_ns(body_for(publishers[label]), N // 5, 1))
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    ctx.record("metrics.msgbus_publish_off", "alphaforge", "throughput", 1e3 / off, "M msg/s")
    ctx.record("metrics.msgbus_publish_on", "alphaforge", "throughput", 1e3 / on, "M msg/s")
    ctx.record("metrics.msgbus_publish_overhead", "alphaforge", "latency", on - off, "ns")


def run(ctx: Any) -> None:
    _bench_cells(ctx)
    _bench_bus(ctx)
