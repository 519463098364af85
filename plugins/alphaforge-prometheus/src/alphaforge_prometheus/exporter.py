"""``PrometheusExporter``: a ``/metrics`` HTTP endpoint over the engine metrics snapshots.

Threading: the engine thread hands each new snapshot to :meth:`PrometheusExporter.export`,
which only stores the reference. The HTTP server thread renders whatever snapshot is stored
when a scrape arrives (:class:`SnapshotCollector`); it never touches the engine's cells.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from alphaforge.errors import InvalidValue
from alphaforge.metrics import (
    HistogramSample,
    MetricKind,
    MetricsSnapshot,
    check_bucket_bounds,
)

if TYPE_CHECKING:
    from alphaforge.metrics import EngineMetrics

__all__ = ["PrometheusExporter", "SnapshotCollector"]

_LOG = logging.getLogger("alphaforge.metrics.prometheus")
# The client's own ``le`` formatting (untyped upstream).
_format_le: Callable[[float], str] = floatToGoString


class SnapshotCollector(Collector):
    """A ``prometheus_client`` collector that renders the exporter's latest snapshot.

    Parameters
    ----------
    exporter
        The exporter whose :attr:`PrometheusExporter.latest` snapshot is rendered.
    """

    def __init__(self, exporter: PrometheusExporter) -> None:
        self._exporter = exporter

    def collect(self) -> Iterator[Metric]:
        """One metric family per registered metric (empty before the first snapshot)."""
        snapshot = self._exporter.latest  # one atomic read; the snapshot is immutable
        if snapshot is None:
            return
        yield from render(snapshot, self._exporter.buckets)


def render(snapshot: MetricsSnapshot, buckets: Sequence[float] | None = None) -> Iterator[Metric]:
    """The ``prometheus_client`` metric families of ``snapshot``.

    Parameters
    ----------
    snapshot
        What to render; values are converted to each metric's exported unit.
    buckets
        Histogram bucket bounds in the exported unit (seconds) for every histogram; default
        the registry's.
    """
    for family in snapshot.families:
        spec = family.spec
        labels = list(spec.export_labels)
        metric: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
        if spec.kind is MetricKind.COUNTER:
            metric = CounterMetricFamily(spec.name, spec.description, labels=labels, unit=spec.unit)
        elif spec.kind is MetricKind.GAUGE:
            metric = GaugeMetricFamily(spec.name, spec.description, labels=labels, unit=spec.unit)
        else:
            metric = HistogramMetricFamily(
                spec.name, spec.description, labels=labels, unit=spec.unit
            )
        for sample in family.samples:
            values = [snapshot.trader_id, *sample.labels]
            if isinstance(sample, HistogramSample):
                assert isinstance(metric, HistogramMetricFamily)
                rows = [
                    (_format_le(bound), float(count))
                    for bound, count in sample.export_buckets(spec, buckets)
                ]
                rows.append(("+Inf", float(sample.count)))
                metric.add_metric(values, rows, sum_value=spec.to_exported(sample.sum))
            elif spec.kind is MetricKind.COUNTER:
                assert isinstance(metric, CounterMetricFamily)
                metric.add_metric(values, sample.value)
            else:
                assert isinstance(metric, GaugeMetricFamily)
                metric.add_metric(values, spec.to_exported(sample.value))
        yield metric


class PrometheusExporter:
    """Serve the engine metrics at ``http://host:port/metrics``.

    Parameters
    ----------
    host
        Interface to bind; loopback by default.
    port
        TCP port; 0 picks a free port each time the exporter starts (read :attr:`url`).
    buckets
        Histogram bucket upper bounds in seconds, for every histogram; default the registry's.

    Raises
    ------
    InvalidValue
        On a bad host, port or bucket list.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, buckets: Sequence[float] | None = None
    ) -> None:
        if not isinstance(host, str) or not host:
            raise InvalidValue("host", host, "must be a non-empty str")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidValue("port", port, "must be an int in 0..65535")
        self.host = host
        self.port = port
        self.buckets = None if buckets is None else check_bucket_bounds("buckets", buckets)
        self._latest: MetricsSnapshot | None = None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"PrometheusExporter(host={self.host!r}, port={self.port}, url={self.url!r})"

    @property
    def latest(self) -> MetricsSnapshot | None:
        """The snapshot a scrape renders."""
        return self._latest

    @property
    def bound_port(self) -> int | None:
        """The port actually listened on while started."""
        return None if self._server is None else int(self._server.server_port)

    @property
    def url(self) -> str | None:
        """``http://host:port/metrics`` while started, else ``None``."""
        port = self.bound_port
        if port is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/metrics"

    def start(self, metrics: EngineMetrics) -> None:
        """Start the HTTP server (a daemon thread) with this exporter's own registry."""
        if self._server is not None:
            return
        self._latest = metrics.latest
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SnapshotCollector(self))
        self._server, self._thread = start_http_server(self.port, addr=self.host, registry=registry)
        _LOG.info("serving AlphaForge metrics at %s", self.url)

    def export(self, snapshot: MetricsSnapshot) -> None:
        """Keep ``snapshot`` for the next scrapes."""
        self._latest = snapshot

    def stop(self) -> None:
        """Stop the HTTP server and wait for its thread."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def close(self) -> None:
        """Same as :meth:`stop`."""
        self.stop()
