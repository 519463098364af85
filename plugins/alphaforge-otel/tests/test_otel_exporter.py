"""The OpenTelemetry exporter over an in-memory ``MetricExporter``: conformance and mapping."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from alphaforge_otel import InMemoryMetricExporter, OtelExporter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    MetricsData,
    Sum,
)

from alphaforge.errors import InvalidValue
from alphaforge.kernel import Kernel, KernelConfig, hookimpl
from alphaforge.kernel.hookspec import Register
from alphaforge.metrics import ExporterConfig, MetricKind, MetricsConfig
from alphaforge.testing import (
    ExportedSample,
    ExporterFactory,
    ExportReader,
    MetricsExporterConformance,
)


def samples_of(data: MetricsData) -> list[ExportedSample]:
    """Normalise the SDK data model into the kit's samples."""
    out: list[ExportedSample] = []
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                unit = metric.unit or ""
                if isinstance(metric.data, Histogram):
                    assert metric.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
                    for hp in metric.data.data_points:
                        cumulative, running = [], 0
                        for count in hp.bucket_counts:
                            running += count
                            cumulative.append(running)
                        bounds = [*hp.explicit_bounds, math.inf]
                        out.append(
                            ExportedSample(
                                metric.name,
                                MetricKind.HISTOGRAM,
                                unit,
                                dict(hp.attributes or {}),  # type: ignore[arg-type]
                                count=hp.count,
                                sum=hp.sum,
                                buckets=tuple(zip(bounds, cumulative, strict=True)),
                            )
                        )
                    continue
                if isinstance(metric.data, Sum):
                    assert metric.data.is_monotonic
                    assert metric.data.aggregation_temporality is AggregationTemporality.CUMULATIVE
                    kind = MetricKind.COUNTER
                else:
                    assert isinstance(metric.data, Gauge)
                    kind = MetricKind.GAUGE
                for point in metric.data.data_points:
                    out.append(
                        ExportedSample(
                            metric.name,
                            kind,
                            unit,
                            dict(point.attributes or {}),  # type: ignore[arg-type]
                            value=point.value,
                        )
                    )
    return out


def read_memory(exporter: Any) -> list[ExportedSample]:
    assert isinstance(exporter, OtelExporter)
    assert exporter.force_flush()
    sink = exporter.exporter
    assert isinstance(sink, InMemoryMetricExporter)
    return samples_of(sink.batches[-1])


class TestOtelConformance(MetricsExporterConformance):
    exporter_name = "otel"
    unit_style = "ucum"

    @pytest.fixture
    def metrics_exporter_factory(self) -> ExporterFactory:
        return lambda: OtelExporter(exporter=InMemoryMetricExporter(), interval_s=60.0)

    @pytest.fixture
    def metrics_exporter_reader(self) -> ExportReader:
        return read_memory


class _Plugin:
    """Registers an ``otel`` exporter bound to one in-memory sink (config keys pass through)."""

    def __init__(self, sink: InMemoryMetricExporter) -> None:
        self.sink = sink

    @hookimpl
    def alphaforge_register_metrics_exporters(self, register: Register) -> None:
        register("otel-memory", lambda **cfg: OtelExporter(exporter=self.sink, **cfg))


@pytest.fixture
def sink() -> InMemoryMetricExporter:
    return InMemoryMetricExporter()


@pytest.fixture
def kernel(sink: InMemoryMetricExporter) -> Iterator[Kernel]:
    config = KernelConfig(
        trader_id="OTEL-001",
        load_entry_points=False,
        metrics=MetricsConfig(
            enabled=True,
            exporters=(
                ExporterConfig(
                    "otel-memory",
                    {"interval_s": 0.05, "resource_attributes": {"deployment.environment": "test"}},
                ),
            ),
        ),
    )
    with Kernel(config, plugins=[_Plugin(sink)]) as running:
        yield running


def exporter_of(kernel: Kernel) -> OtelExporter:
    exporter = kernel.metrics.exporters["otel-memory"]
    assert isinstance(exporter, OtelExporter)
    return exporter


def test_mapping_of_a_feed(kernel: Kernel, sink: InMemoryMetricExporter) -> None:
    kernel.msgbus.subscribe("data.*", lambda msg: None)
    for i in range(300):
        kernel.msgbus.publish("data.quotes.BINANCE.BTCUSDT", i)
    record = kernel.metrics.order_ack_latency.labels("BINANCE").record
    for value in (250_000, 1_200_000, 90_000):
        record(value)
    kernel.metrics.equity.labels("USDT").set(10_250.5)
    kernel.metrics.export()
    assert exporter_of(kernel).force_flush()
    data = sink.batches[-1]
    resource = data.resource_metrics[0].resource
    assert resource.attributes["service.name"] == "alphaforge"
    assert resource.attributes["deployment.environment"] == "test"
    metrics = {m.name: m for m in data.resource_metrics[0].scope_metrics[0].metrics}
    published = metrics["alphaforge_bus_published_messages"]
    assert published.unit == "{message}"
    (point,) = published.data.data_points
    assert point.value == 300
    assert dict(point.attributes or {}) == {"trader_id": "OTEL-001", "family": "data.quotes"}
    assert point.time_unix_nano >= point.start_time_unix_nano > 0
    ack = metrics["alphaforge_order_ack_latency_seconds"]
    assert ack.unit == "s"
    (hp,) = ack.data.data_points
    assert (hp.count, hp.min, hp.max) == (3, 9e-05, 0.0012)
    assert hp.sum == pytest.approx(1.54e-3, rel=1e-12)
    assert sum(hp.bucket_counts) == 3 and len(hp.bucket_counts) == len(hp.explicit_bounds) + 1
    assert metrics["alphaforge_equity"].data.data_points[0].value == 10_250.5
    # Never-used labelled metrics are left out rather than sent without points.
    assert "alphaforge_book_resyncs" not in metrics


def test_background_thread_pushes_each_new_snapshot_once(
    kernel: Kernel, sink: InMemoryMetricExporter
) -> None:
    exporter = exporter_of(kernel)
    deadline = time.monotonic() + 10
    while exporter.pushes < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert exporter.pushes == 1  # the start snapshot
    time.sleep(0.2)  # several intervals, no new snapshot: nothing re-sent
    assert exporter.pushes == 1
    kernel.metrics.orders.labels("submitted").inc()
    kernel.metrics.export()
    while exporter.pushes < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert samples_of(sink.batches[-1])
    assert any(s.name == "alphaforge_orders" and s.value == 1 for s in samples_of(sink.batches[-1]))


def test_stop_pushes_the_final_snapshot_and_dispose_shuts_down(
    sink: InMemoryMetricExporter,
) -> None:
    config = KernelConfig(
        load_entry_points=False,
        metrics=MetricsConfig(
            enabled=True, exporters=(ExporterConfig("otel-memory", {"interval_s": 3600.0}),)
        ),
    )
    kernel = Kernel(config, plugins=[_Plugin(sink)]).build()
    kernel.start()
    kernel.metrics.reconnects.labels("KRAKEN").inc(2)
    kernel.stop()
    last = {s.name: s for s in samples_of(sink.batches[-1])}
    assert last["alphaforge_venue_reconnects"].value == 2
    assert not sink.shut_down
    kernel.dispose()
    assert sink.shut_down


def test_backend_failure_is_counted_not_raised(sink: InMemoryMetricExporter) -> None:
    exporter = OtelExporter(exporter=sink, interval_s=3600.0)
    from alphaforge.metrics import EngineMetrics

    metrics = EngineMetrics()
    exporter.start(metrics)
    exporter.export(metrics.snapshot())
    sink.shutdown()  # now every export fails
    assert exporter.force_flush() is False
    assert exporter.failures == 1
    exporter.close()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"endpoint": "ftp://x"}, "endpoint"),
        ({"interval_s": 0}, "interval_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"service_name": ""}, "service_name"),
        ({"buckets": [0.0, 1.0]}, "buckets"),
        ({"resource_attributes": {"a": 1}}, "resource_attributes"),
        ({"exporter": object()}, "exporter"),
    ],
)
def test_bad_config_is_rejected(config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as info:
        OtelExporter(**config)
    assert info.value.field == field
