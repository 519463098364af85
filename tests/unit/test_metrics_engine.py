"""EngineMetrics: cells, snapshots, exporter lifecycle, and the kernel wiring."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from alphaforge.clock import TestClock
from alphaforge.errors import ConfigError, InvalidValue, PluginLoadError
from alphaforge.kernel import Kernel, KernelConfig, KernelState, hookimpl
from alphaforge.kernel.hookspec import Register
from alphaforge.metrics import (
    EXPORT_TIMER,
    EngineMetrics,
    ExporterConfig,
    HistogramSample,
    MetricsConfig,
    MetricsSnapshot,
)
from alphaforge.msgbus import MessageBus, MeteredMessageBus


class RecordingExporter:
    """Records every call; optionally fails on one of them."""

    def __init__(self, log: list[str] | None = None, fail: str = "", tag: str = "x") -> None:
        self.calls = log if log is not None else []
        self.fail = fail
        self.tag = tag
        self.snapshots: list[MetricsSnapshot] = []

    def _call(self, what: str) -> None:
        self.calls.append(f"{self.tag}.{what}")
        if what == self.fail:
            raise RuntimeError(f"{what} failed")

    def start(self, metrics: EngineMetrics) -> None:
        self._call("start")

    def export(self, snapshot: MetricsSnapshot) -> None:
        self.snapshots.append(snapshot)
        self._call("export")

    def stop(self) -> None:
        self._call("stop")

    def close(self) -> None:
        self._call("close")


class ExporterPlugin:
    def __init__(self, **exporters: Any) -> None:
        self.exporters = exporters

    @hookimpl
    def alphaforge_register_metrics_exporters(self, register: Register) -> None:
        for name, factory in self.exporters.items():
            register(name, factory)


def kernel_with(*exporters: ExporterConfig, plugin: object = None, **metrics: Any) -> Kernel:
    config = KernelConfig(
        load_entry_points=False,
        metrics=MetricsConfig(enabled=True, exporters=exporters, **metrics),
    )
    return Kernel(config, plugins=[plugin] if plugin is not None else [])


# -- cells --------------------------------------------------------------------------------------


def test_counters_gauges_histograms_and_snapshot() -> None:
    clock = TestClock(start_ns=5)
    metrics = EngineMetrics(trader_id="T-1", clock=clock)
    filled = metrics.orders.labels("filled")
    assert metrics.orders.labels(event="filled") is filled
    filled.value += 2
    filled.inc(3)
    metrics.equity.labels("USD").set(1234.5)
    metrics.clock_offset.labels("X").value = -7
    record = metrics.data_latency.labels("quote").record
    for value in (100, 200, 300, -5):
        record(value)
    snapshot = metrics.snapshot()
    assert (snapshot.trader_id, snapshot.sequence, snapshot.ts_ns) == ("T-1", 1, 5)
    assert snapshot.value("alphaforge_orders", "filled") == 5
    assert snapshot.value("alphaforge_orders", "denied") == 0  # never used
    assert snapshot.value("alphaforge_equity", "USD") == 1234.5
    assert snapshot.value("alphaforge_clock_offset_seconds", "X") == -7
    hist = snapshot.histogram("alphaforge_data_handler_latency_seconds", "quote")
    assert isinstance(hist, HistogramSample)
    assert (hist.count, hist.sum, hist.min, hist.max) == (4, 600, 0, 300)  # -5 counts as 0
    assert hist.quantile(0.5) == 100 and hist.quantile(1.0) == 300 and hist.quantile(0) == 0
    assert hist.mean == 150
    assert hist.cumulative([0, 99, 100, 1_000]) == [1, 1, 2, 4]
    assert snapshot.histogram("alphaforge_data_handler_latency_seconds", "trade") is None
    assert metrics.latest is snapshot
    unlabelled = snapshot.family("alphaforge_fill_portfolio_latency_seconds").samples
    assert [(s.labels, s.count) for s in unlabelled] == [((), 0)]  # type: ignore[union-attr]
    assert snapshot.label_dict(snapshot.family("alphaforge_orders").spec, filled.sample()) == {
        "trader_id": "T-1",
        "event": "filled",
    }


def test_snapshots_are_cumulative_and_immutable() -> None:
    metrics = EngineMetrics()
    hist = metrics.fill_latency.labels()
    hist.record(1_000)
    first = metrics.snapshot()
    hist.record(2_000)
    hist.observe(3_000)
    second = metrics.snapshot()
    one = first.histogram("alphaforge_fill_portfolio_latency_seconds")
    two = second.histogram("alphaforge_fill_portfolio_latency_seconds")
    assert one is not None and two is not None
    assert (one.count, one.sum, two.count, two.sum) == (1, 1_000, 3, 6_000)
    assert second.sequence == 2 and metrics.snapshot_count == 2
    with pytest.raises(AttributeError):
        second.sequence = 3  # type: ignore[misc]


def test_record_keeps_working_after_folds() -> None:
    metrics = EngineMetrics()
    record = metrics.fill_latency.labels().record  # bound once, before any fold
    for round_ in range(3):
        for _ in range(10):
            record(500)
        snap = metrics.snapshot()
        hist = snap.histogram("alphaforge_fill_portfolio_latency_seconds")
        assert hist is not None and hist.count == 10 * (round_ + 1)


def test_large_sums_stay_exact() -> None:
    metrics = EngineMetrics()
    hist = metrics.fill_latency.labels()
    big = (1 << 62) + 1
    for _ in range(4):
        hist.record(big)
    sample = metrics.snapshot().histogram("alphaforge_fill_portfolio_latency_seconds")
    assert sample is not None and sample.sum == 4 * big and sample.max == big


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: m.orders.labels("exploded"), "event"),
        (lambda m: m.orders.labels(), "labels"),
        (lambda m: m.rate_limit_headroom.labels("X"), "labels"),
        (lambda m: m.open_orders.labels(""), "venue"),
        (lambda m: m.open_orders.labels(3), "venue"),
        (lambda m: m.open_orders.labels(exchange="X"), "labels"),
        (lambda m: m.open_orders.labels("X", venue="X"), "labels"),
        (lambda m: m.orders.labels("filled").inc(-1), "amount"),
        (lambda m: m.orders.labels("filled").inc(1.0), "amount"),
        (lambda m: m.equity.labels("USD").set(float("nan")), "value"),
        (lambda m: m.equity.labels("USD").set("1"), "value"),
        (lambda m: m.fill_latency.labels().observe(-1), "value"),
        (lambda m: m.fill_latency.labels().observe(True), "value"),
        (lambda m: m.fill_latency.labels().observe(1 << 63), "value"),
        (lambda m: m.family("alphaforge_nope"), "name"),
    ],
)
def test_bad_input_names_the_field(call: Any, field: str) -> None:
    metrics = EngineMetrics()
    with pytest.raises(InvalidValue) as info:
        call(metrics)
    assert info.value.field == field


def test_unchecked_record_of_a_non_int_fails_at_the_snapshot_and_drops_the_batch() -> None:
    metrics = EngineMetrics()
    hist = metrics.fill_latency.labels()
    hist.record(10)
    hist.record("oops")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="oops"):
        metrics.snapshot()
    assert hist.pending == 0
    hist.record(20)
    sample = metrics.snapshot().histogram("alphaforge_fill_portfolio_latency_seconds")
    assert sample is not None and sample.count == 1


def test_snapshot_query_errors() -> None:
    snapshot = EngineMetrics().snapshot()
    with pytest.raises(InvalidValue, match="histogram"):
        snapshot.value("alphaforge_fill_portfolio_latency_seconds")
    with pytest.raises(InvalidValue, match="not a histogram"):
        snapshot.histogram("alphaforge_orders", "filled")
    with pytest.raises(InvalidValue, match="not a metric"):
        snapshot.family("alphaforge_nope")
    sample = snapshot.histogram("alphaforge_fill_portfolio_latency_seconds")
    assert sample is not None and sample.quantile(0.5) is None and sample.mean is None
    with pytest.raises(InvalidValue, match="q"):
        sample.quantile(1.5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"trader_id": ""}, "trader_id"), ({"export_interval_ms": -1}, "export_interval_ms")],
)
def test_engine_metrics_arguments(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as info:
        EngineMetrics(**kwargs)
    assert info.value.field == field


# -- exporters -----------------------------------------------------------------------------------


def test_exporter_lifecycle_with_the_kernel() -> None:
    log: list[str] = []
    plugin = ExporterPlugin(a=lambda **cfg: RecordingExporter(log, tag="a"))
    with kernel_with(ExporterConfig("a"), plugin=plugin, export_interval_ms=0) as kernel:
        assert log == ["a.start", "a.export"]
        kernel.metrics.export()
        kernel.stop()
        kernel.start()
    assert log == [
        "a.start", "a.export", "a.export",  # start, explicit
        "a.export", "a.stop",  # final snapshot, then stop
        "a.start", "a.export",
        "a.export", "a.stop", "a.close",
    ]  # fmt: skip
    exporter = kernel.metrics.exporters["a"]
    assert isinstance(exporter, RecordingExporter)
    assert [s.sequence for s in exporter.snapshots] == [1, 2, 3, 4, 5]


def test_periodic_export_on_the_backtest_clock() -> None:
    plugin = ExporterPlugin(a=lambda **cfg: RecordingExporter())
    kernel = kernel_with(ExporterConfig("a"), plugin=plugin, export_interval_ms=250).build()
    kernel.start()
    assert EXPORT_TIMER in kernel.clock.timer_names
    assert isinstance(kernel.clock, TestClock)
    kernel.clock.advance_time(1_000_000_000)
    exporter = kernel.metrics.exporters["a"]
    assert isinstance(exporter, RecordingExporter)
    assert [s.ts_ns for s in exporter.snapshots] == [
        0,
        250_000_000,
        500_000_000,
        750_000_000,
        1_000_000_000,
    ]
    kernel.stop()
    assert EXPORT_TIMER not in kernel.clock.timer_names
    kernel.dispose()


def test_failing_export_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    log: list[str] = []
    plugin = ExporterPlugin(
        bad=lambda **cfg: RecordingExporter(log, fail="export", tag="bad"),
        good=lambda **cfg: RecordingExporter(log, tag="good"),
    )
    kernel = kernel_with(ExporterConfig("bad"), ExporterConfig("good"), plugin=plugin)
    with caplog.at_level(logging.ERROR, "alphaforge.metrics"), kernel:
        kernel.metrics.export()
    assert log.count("good.export") == 3
    assert kernel.metrics.export_errors == 3
    assert "metrics exporter 'bad' failed to export" in caplog.text


def test_failing_start_leaves_the_kernel_as_it_was() -> None:
    log: list[str] = []
    plugin = ExporterPlugin(
        a=lambda **cfg: RecordingExporter(log, tag="a"),
        b=lambda **cfg: RecordingExporter(log, fail="start", tag="b"),
    )
    kernel = kernel_with(ExporterConfig("a"), ExporterConfig("b"), plugin=plugin).build()
    with pytest.raises(RuntimeError, match="start failed"):
        kernel.start()
    assert kernel.state is KernelState.BUILT
    assert log == ["a.start", "b.start", "a.stop"]
    assert not kernel.metrics.running
    kernel.dispose()
    assert log[-2:] == ["b.close", "a.close"]


def test_exporter_configuration_errors() -> None:
    plugin = ExporterPlugin(a=lambda *, path: RecordingExporter())
    with pytest.raises(PluginLoadError, match="no metrics_exporter named 'nope'"):
        kernel_with(ExporterConfig("nope"), plugin=plugin).build()
    with pytest.raises(ConfigError) as info:
        kernel_with(ExporterConfig("a", {"paht": "s3cr3t"}), plugin=plugin).build()
    assert info.value.field == "metrics.exporters[0].config"
    assert "paht" in str(info.value) and "s3cr3t" not in str(info.value)  # keys, not values
    not_an_exporter = ExporterPlugin(a=lambda **cfg: object())
    with pytest.raises(InvalidValue, match="start"):
        kernel_with(ExporterConfig("a"), plugin=not_an_exporter).build()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"enabled": 1}, "enabled"),
        ({"export_interval_ms": -5}, "export_interval_ms"),
        ({"topic_family_depth": 0}, "topic_family_depth"),
        ({"exporters": (ExporterConfig("a"), ExporterConfig("a"))}, "exporters"),
        ({"exporters": ("a",)}, "exporters"),
    ],
)
def test_metrics_config_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as info:
        MetricsConfig(**kwargs)
    assert info.value.field == field


def test_exporter_config_validation() -> None:
    with pytest.raises(InvalidValue, match="name"):
        ExporterConfig("")
    with pytest.raises(InvalidValue, match="config"):
        ExporterConfig("a", {1: 2})  # type: ignore[dict-item]


def test_metrics_config_from_toml() -> None:
    from alphaforge.config import load_config

    config = load_config(
        KernelConfig,
        """
        trader_id = "T-001"
        [metrics]
        enabled = true
        export_interval_ms = 500
        [[metrics.exporters]]
        name = "jsonl"
        config = { path = "m.jsonl" }
        """,
    )
    assert config.metrics == MetricsConfig(
        enabled=True,
        export_interval_ms=500,
        exporters=(ExporterConfig("jsonl", {"path": "m.jsonl"}),),
    )
    hash(config)  # the exporter's dict config is left out of the hash


# -- kernel wiring -----------------------------------------------------------------------------


def test_disabled_metrics_use_the_plain_bus_and_export_nothing() -> None:
    plugin = ExporterPlugin(a=lambda **cfg: RecordingExporter())
    config = KernelConfig(
        load_entry_points=False,
        metrics=MetricsConfig(enabled=False, exporters=(ExporterConfig("a"),)),
    )
    with Kernel(config, plugins=[plugin]) as kernel:
        assert type(kernel.msgbus) is MessageBus
        assert not kernel.metrics.enabled and not kernel.metrics.exporters
        assert kernel.metrics.snapshot_count == 0
        kernel.metrics.orders.labels("filled").value += 1  # recording still works
        assert kernel.metrics.snapshot().value("alphaforge_orders", "filled") == 1


def test_enabled_metrics_count_bus_traffic_per_family() -> None:
    kernel = kernel_with(topic_family_depth=1).build()
    assert isinstance(kernel.msgbus, MeteredMessageBus)
    kernel.start()
    kernel.msgbus.subscribe("data.*", lambda msg: None)
    kernel.msgbus.subscribe("data.*", lambda msg: 1 / 0)
    kernel.msgbus.on_handler_error = lambda *args: None
    for _ in range(3):
        kernel.msgbus.publish("data.quotes.A", 1)
    kernel.msgbus.publish("data.trades.B", 1)
    kernel.msgbus.publish("risk.x", 1)
    snapshot = kernel.metrics.snapshot()
    assert snapshot.value("alphaforge_bus_published_messages", "data") == 4
    assert snapshot.value("alphaforge_bus_delivered_messages", "data") == 8
    assert snapshot.value("alphaforge_bus_published_messages", "risk") == 1
    assert snapshot.value("alphaforge_bus_delivered_messages", "risk") == 0
    assert snapshot.value("alphaforge_bus_handler_errors") == 4
    kernel.dispose()


def test_two_kernels_do_not_share_metrics() -> None:
    with kernel_with() as one, kernel_with() as two:
        one.metrics.orders.labels("filled").value += 1
        one.msgbus.publish("data.x", 1)
        assert two.metrics.snapshot().value("alphaforge_orders", "filled") == 0
        assert two.metrics.snapshot().family("alphaforge_bus_published_messages").samples == ()
