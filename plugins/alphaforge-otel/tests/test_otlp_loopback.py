"""The ``otel`` exporter pushing real OTLP/HTTP protobuf to a collector on 127.0.0.1."""

from __future__ import annotations

import gzip
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from alphaforge_otel import OtelExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from alphaforge.kernel import Kernel, KernelConfig
from alphaforge.metrics import ExporterConfig, MetricKind, MetricsConfig
from alphaforge.testing import (
    ExportedSample,
    ExporterFactory,
    ExportReader,
    MetricsExporterConformance,
)


class Collector:
    """A minimal OTLP/HTTP metrics receiver on an ephemeral loopback port."""

    def __init__(self) -> None:
        self.requests: list[ExportMetricsServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.arrived = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportMetricsServiceRequest.FromString(body)
                with collector.arrived:  # stored before the client sees the response
                    collector.requests.append(request)
                    collector.headers.append(dict(self.headers))
                    collector.arrived.notify_all()
                reply = ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/metrics" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1/metrics"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    try:
        yield running
    finally:
        running.close()


def samples_of(request: ExportMetricsServiceRequest) -> list[ExportedSample]:
    """Normalise an OTLP protobuf request into the kit's samples."""
    out: list[ExportedSample] = []
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                field = metric.WhichOneof("data")
                if field == "histogram":
                    for hp in metric.histogram.data_points:
                        cumulative, running = [], 0
                        for count in hp.bucket_counts:
                            running += count
                            cumulative.append(running)
                        out.append(
                            ExportedSample(
                                metric.name,
                                MetricKind.HISTOGRAM,
                                metric.unit,
                                {a.key: a.value.string_value for a in hp.attributes},
                                count=hp.count,
                                sum=hp.sum,
                                buckets=tuple(
                                    zip([*hp.explicit_bounds, math.inf], cumulative, strict=True)
                                ),
                            )
                        )
                    continue
                assert field in ("sum", "gauge"), field
                points = metric.sum.data_points if field == "sum" else metric.gauge.data_points
                if field == "sum":
                    assert metric.sum.is_monotonic
                for p in points:
                    value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                    out.append(
                        ExportedSample(
                            metric.name,
                            MetricKind.COUNTER if field == "sum" else MetricKind.GAUGE,
                            metric.unit,
                            {a.key: a.value.string_value for a in p.attributes},
                            value=value,
                        )
                    )
    return out


class TestOtlpHttpConformance(MetricsExporterConformance):
    exporter_name = "otel"
    unit_style = "ucum"

    @pytest.fixture
    def metrics_exporter_factory(self, collector: Collector) -> ExporterFactory:
        return lambda: OtelExporter(endpoint=collector.endpoint, interval_s=60.0, timeout_s=5.0)

    @pytest.fixture
    def metrics_exporter_reader(self, collector: Collector) -> ExportReader:
        def read(exporter: Any) -> list[ExportedSample]:
            assert isinstance(exporter, OtelExporter) and exporter.force_flush()
            with collector.arrived:
                return samples_of(collector.requests[-1])

        return read


def test_entry_point_exporter_pushes_a_feed_over_http(collector: Collector) -> None:
    config = KernelConfig(
        trader_id="OTLP-001",
        metrics=MetricsConfig(
            enabled=True,
            exporters=(
                ExporterConfig(
                    "otel",
                    {
                        "endpoint": collector.endpoint,
                        "interval_s": 0.05,
                        "headers": {"x-api-key": "test-key"},
                    },
                ),
            ),
        ),
    )
    with Kernel(config) as kernel:
        for i in range(120):
            kernel.msgbus.publish("events.order.O-1", i)
        kernel.metrics.data_latency.labels("trade").observe(4_200)
        kernel.metrics.export()
        before = len(collector.requests)
        deadline = time.monotonic() + 10
        # The push thread sends the new snapshot on its own.
        while time.monotonic() < deadline:
            with collector.arrived:
                if len(collector.requests) > before and any(
                    s.name == "alphaforge_bus_published_messages" and s.value == 120
                    for s in samples_of(collector.requests[-1])
                ):
                    break
            time.sleep(0.01)
        else:
            pytest.fail("the pushed feed never reached the collector")
    assert collector.headers[-1]["x-api-key"] == "test-key"
    got = {s.key: s for s in samples_of(collector.requests[-1])}
    hist = got[
        (
            "alphaforge_data_handler_latency_seconds",
            frozenset({"trader_id": "OTLP-001", "type": "trade"}.items()),
        )
    ]
    assert (hist.count, hist.sum) == (1, pytest.approx(4.2e-6))
    assert dict(hist.buckets)[5e-06] == 1 and dict(hist.buckets)[2.5e-06] == 0
