"""The Prometheus exporter: conformance kit, and real loopback scrapes against a running kernel."""

from __future__ import annotations

import math
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from alphaforge_prometheus import PrometheusExporter
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from alphaforge.errors import ConfigError, InvalidValue
from alphaforge.kernel import Kernel, KernelConfig
from alphaforge.metrics import ExporterConfig, MetricKind, MetricsConfig
from alphaforge.testing import (
    ExportedSample,
    ExporterFactory,
    ExportReader,
    MetricsExporterConformance,
)

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
KINDS = {
    "counter": MetricKind.COUNTER,
    "gauge": MetricKind.GAUGE,
    "histogram": MetricKind.HISTOGRAM,
}


def scrape(url: str, accept: str = OPENMETRICS) -> tuple[str, str]:
    """GET ``url`` over a real loopback connection: (content type, body)."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


def read_openmetrics(text: str) -> list[ExportedSample]:
    """Normalise an OpenMetrics exposition into the kit's samples."""
    samples: list[ExportedSample] = []
    for family in parse_om(text):
        kind = KINDS[family.type]
        grouped: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            entry = grouped.setdefault(labels, {"buckets": []})
            suffix = s.name[len(family.name) :]
            if suffix == "_bucket":
                entry["buckets"].append((float(s.labels["le"]), int(s.value)))
            elif suffix in ("_total", ""):
                entry["value"] = s.value
            elif suffix in ("_count", "_sum"):
                entry[suffix[1:]] = s.value
        for labels, entry in grouped.items():
            samples.append(
                ExportedSample(
                    name=family.name,
                    kind=kind,
                    unit=family.unit,
                    labels=dict(labels),
                    value=entry.get("value"),
                    count=int(entry["count"]) if "count" in entry else None,
                    sum=entry.get("sum"),
                    buckets=tuple(sorted(entry["buckets"])),
                )
            )
    return samples


def read_exporter(exporter: Any) -> list[ExportedSample]:
    assert isinstance(exporter, PrometheusExporter) and exporter.url is not None
    content_type, body = scrape(exporter.url)
    assert content_type.startswith("application/openmetrics-text")
    return read_openmetrics(body)


class TestPrometheusConformance(MetricsExporterConformance):
    exporter_name = "prometheus"
    unit_style = "unit"

    @pytest.fixture
    def metrics_exporter_factory(self) -> ExporterFactory:
        return lambda: PrometheusExporter(port=0)

    @pytest.fixture
    def metrics_exporter_reader(self) -> ExportReader:
        return read_exporter


# -- a kernel with the entry-point-registered exporter and a synthetic feed --------------------


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    config = KernelConfig(
        trader_id="PROM-001",
        metrics=MetricsConfig(
            enabled=True,
            exporters=(ExporterConfig("prometheus", {"port": 0}),),
            export_interval_ms=500,
        ),
    )
    with Kernel(config) as running:
        yield running


def exporter_of(kernel: Kernel) -> PrometheusExporter:
    exporter = kernel.metrics.exporters["prometheus"]
    assert isinstance(exporter, PrometheusExporter)
    return exporter


def by_key(
    samples: list[ExportedSample],
) -> dict[tuple[str, frozenset[tuple[str, str]]], ExportedSample]:
    return {s.key: s for s in samples}


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset({"trader_id": "PROM-001", **labels}.items())


def test_scrape_matches_what_the_engine_did(kernel: Kernel) -> None:
    exporter = exporter_of(kernel)
    assert exporter.url is not None and exporter.url.startswith("http://127.0.0.1:")
    assert exporter.bound_port not in (None, 0)
    received: list[int] = []
    kernel.msgbus.subscribe("data.quotes.*", received.append)
    quotes, trades, orders = 1_000, 250, 17
    for i in range(quotes):
        kernel.msgbus.publish("data.quotes.BINANCE.BTCUSDT", i)
    for i in range(trades):
        kernel.msgbus.publish("data.trades.BINANCE.ETHUSDT", i)  # no subscriber
    metrics = kernel.metrics
    record = metrics.data_latency.labels("quote").record
    latencies = [1_000 + 37 * i for i in range(quotes)]  # 1.0 us .. 37.96 us
    for value in latencies:
        record(value)
    metrics.orders.labels("submitted").value += orders
    metrics.orders.labels("filled").inc(orders - 2)
    metrics.open_orders.labels("BINANCE").value = 2
    metrics.clock_offset.labels("BINANCE").value = -2_500_000  # -2.5 ms

    # Nothing exported yet beyond the start snapshot: a scrape shows the old state.
    stale = by_key(read_exporter(exporter))
    assert stale[key("alphaforge_bus_handler_errors")].value == 0
    assert key("alphaforge_orders", event="submitted") not in stale

    kernel.clock.advance_time(500_000_000)  # the export timer fires on the kernel clock
    got = by_key(read_exporter(exporter))
    assert len(received) == quotes
    assert got[key("alphaforge_bus_published_messages", family="data.quotes")].value == quotes
    assert got[key("alphaforge_bus_delivered_messages", family="data.quotes")].value == quotes
    assert got[key("alphaforge_bus_published_messages", family="data.trades")].value == trades
    assert got[key("alphaforge_bus_delivered_messages", family="data.trades")].value == 0
    assert got[key("alphaforge_orders", event="submitted")].value == orders
    assert got[key("alphaforge_orders", event="filled")].value == orders - 2
    assert got[key("alphaforge_open_orders", venue="BINANCE")].value == 2
    assert got[key("alphaforge_clock_offset_seconds", venue="BINANCE")].value == pytest.approx(
        -2.5e-3
    )
    hist = got[key("alphaforge_data_handler_latency_seconds", type="quote")]
    assert hist.count == quotes
    assert hist.sum == pytest.approx(sum(latencies) * 1e-9, rel=1e-12)
    buckets = dict(hist.buckets)
    assert buckets[math.inf] == quotes
    # 2.5 us holds 1000 + 37 * i <= 2500, i.e. i <= 40 (2537 is in the next HDR bucket).
    assert buckets[2.5e-06] == 41
    # HDR precision: the bucket holding 10 us, [9984, 10048) ns, counts whole, so 10028 ns
    # (i = 244) is in le=1e-05 too.
    layout = kernel.metrics.data_latency.layout
    assert layout.bucket_bounds(layout.index(10_000)) == (9_984, 10_048)
    assert buckets[1e-05] == sum(1 for v in latencies if v < 10_048) == 245
    assert buckets[5e-05] == quotes
    assert buckets[2.5e-07] == 0

    # More traffic: the next export shows it, counters only grow.
    for i in range(5):
        kernel.msgbus.publish("data.quotes.BINANCE.BTCUSDT", i)
    kernel.metrics.export()
    again = by_key(read_exporter(exporter))
    assert again[key("alphaforge_bus_published_messages", family="data.quotes")].value == quotes + 5


def test_plain_text_format_and_help_lines(kernel: Kernel) -> None:
    kernel.msgbus.publish("data.quotes.X.Y", 1)
    kernel.metrics.export()
    url = exporter_of(kernel).url
    assert url is not None
    content_type, body = scrape(url, accept="text/plain")
    assert content_type.startswith("text/plain")
    assert "# HELP alphaforge_bus_published_messages_total Messages published" in body
    assert "# TYPE alphaforge_data_handler_latency_seconds histogram" in body
    families = {f.name: f for f in parse_text(body)}
    published = families["alphaforge_bus_published_messages"]
    assert [(s.labels, s.value) for s in published.samples] == [
        ({"trader_id": "PROM-001", "family": "data.quotes"}, 1.0)
    ]


def test_stop_closes_the_port_and_start_serves_again() -> None:
    config = KernelConfig(
        load_entry_points=True,
        metrics=MetricsConfig(enabled=True, exporters=(ExporterConfig("prometheus"),)),
    )
    kernel = Kernel(config).build()
    try:
        exporter = exporter_of(kernel)
        assert exporter.url is None
        kernel.start()
        first = exporter.url
        assert first is not None
        scrape(first)
        kernel.stop()
        assert exporter.url is None
        with pytest.raises(OSError, match="refused"):
            scrape(first)
        kernel.start()
        second = exporter.url
        assert second is not None
        assert "alphaforge_orders" in scrape(second)[1]
    finally:
        kernel.dispose()
    assert exporter.url is None


def test_two_kernels_serve_separately() -> None:
    configs = [
        KernelConfig(
            trader_id=f"PROM-00{i}",
            metrics=MetricsConfig(enabled=True, exporters=(ExporterConfig("prometheus"),)),
        )
        for i in (1, 2)
    ]
    with Kernel(configs[0]) as one, Kernel(configs[1]) as two:
        one.msgbus.publish("data.a.b", 1)
        one.metrics.export()
        urls = [exporter_of(k).url for k in (one, two)]
        assert urls[0] != urls[1]
        bodies = [scrape(url)[1] for url in urls if url is not None]
        assert 'trader_id="PROM-001"' in bodies[0] and "PROM-002" not in bodies[0]
        assert 'family="data.a"' not in bodies[1]


def test_custom_buckets_are_used() -> None:
    config = KernelConfig(
        trader_id="PROM-001",
        metrics=MetricsConfig(
            enabled=True,
            exporters=(ExporterConfig("prometheus", {"buckets": [1e-6, 1e-3]}),),
        ),
    )
    with Kernel(config) as kernel:
        kernel.metrics.fill_latency.labels().observe(2_000)
        kernel.metrics.export()
        url = exporter_of(kernel).url
        assert url is not None
        got = by_key(read_openmetrics(scrape(url)[1]))
        hist = got[key("alphaforge_fill_portfolio_latency_seconds")]
        assert hist.buckets == ((1e-6, 0), (1e-3, 1), (math.inf, 1))


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"port": -1}, "port"),
        ({"port": "80"}, "port"),
        ({"host": ""}, "host"),
        ({"buckets": [1.0, 0.5]}, "buckets"),
        ({"buckets": []}, "buckets"),
    ],
)
def test_bad_config_is_rejected(config: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as info:
        PrometheusExporter(**config)
    assert info.value.field == field


def test_unknown_option_names_the_exporter_config() -> None:
    config = KernelConfig(
        metrics=MetricsConfig(enabled=True, exporters=(ExporterConfig("prometheus", {"prot": 1}),))
    )
    with pytest.raises(ConfigError, match=r"metrics.exporters\[0\].config"):
        Kernel(config).build()


def test_port_in_use_fails_start_and_leaves_the_kernel_built() -> None:
    holder = Kernel(
        KernelConfig(metrics=MetricsConfig(enabled=True, exporters=(ExporterConfig("prometheus"),)))
    ).build()
    holder.start()
    try:
        port = exporter_of(holder).bound_port
        config = KernelConfig(
            metrics=MetricsConfig(
                enabled=True, exporters=(ExporterConfig("prometheus", {"port": port}),)
            )
        )
        kernel = Kernel(config).build()
        with pytest.raises(OSError, match="in use"):
            kernel.start()
        assert kernel.state.value == "built"
        kernel.dispose()
    finally:
        holder.dispose()
