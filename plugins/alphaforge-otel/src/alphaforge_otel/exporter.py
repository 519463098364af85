"""``OtelExporter``: engine metrics snapshots through the OpenTelemetry SDK.

Threading: :meth:`OtelExporter.export` (engine thread) only stores the snapshot reference; a
daemon thread converts the latest snapshot into the SDK's ``MetricsData`` and pushes it every
``interval_s``. :meth:`OtelExporter.stop` pushes the final snapshot synchronously.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from alphaforge.errors import InvalidValue
from alphaforge.metrics import HistogramSample, MetricKind, MetricsSnapshot, check_bucket_bounds

if TYPE_CHECKING:
    from alphaforge.metrics import EngineMetrics

__all__ = ["OtelExporter", "to_metrics_data"]

_LOG = logging.getLogger("alphaforge.metrics.otel")
SCOPE = InstrumentationScope("alphaforge", "0.1.0")


def to_metrics_data(
    snapshot: MetricsSnapshot,
    resource: Resource,
    buckets: Sequence[float] | None = None,
    scope: InstrumentationScope = SCOPE,
) -> MetricsData:
    """The OpenTelemetry ``MetricsData`` of ``snapshot`` (cumulative temporality).

    Parameters
    ----------
    snapshot
        The engine snapshot; values are converted to each metric's exported unit.
    resource
        The resource (``service.name`` ...) the metrics belong to.
    buckets
        Histogram bucket bounds in seconds, for every histogram; default the registry's.
    scope
        The instrumentation scope.
    """
    start, now = snapshot.start_wall_ns, snapshot.wall_ns
    metrics: list[Metric] = []
    for family in snapshot.families:
        spec = family.spec
        if not family.samples:
            continue
        data: Sum | Gauge | Histogram
        if spec.kind is MetricKind.HISTOGRAM:
            points: list[HistogramDataPoint] = []
            for sample in family.samples:
                assert isinstance(sample, HistogramSample)
                rows = sample.export_buckets(spec, buckets)
                cumulative = [count for _, count in rows] + [sample.count]
                points.append(
                    HistogramDataPoint(
                        attributes=snapshot.label_dict(spec, sample),
                        start_time_unix_nano=start,
                        time_unix_nano=now,
                        count=sample.count,
                        sum=spec.to_exported(sample.sum),
                        bucket_counts=[
                            b - a for a, b in zip([0, *cumulative[:-1]], cumulative, strict=True)
                        ],
                        explicit_bounds=[bound for bound, _ in rows],
                        min=spec.to_exported(sample.min) if sample.min is not None else math.inf,
                        max=spec.to_exported(sample.max) if sample.max is not None else -math.inf,
                    )
                )
            data = Histogram(points, AggregationTemporality.CUMULATIVE)
        else:
            numbers = [
                NumberDataPoint(
                    attributes=snapshot.label_dict(spec, sample),
                    start_time_unix_nano=start,
                    time_unix_nano=now,
                    value=spec.to_exported(sample.value),  # type: ignore[union-attr]
                )
                for sample in family.samples
            ]
            if spec.kind is MetricKind.COUNTER:
                data = Sum(numbers, AggregationTemporality.CUMULATIVE, is_monotonic=True)
            else:
                data = Gauge(numbers)
        metrics.append(Metric(spec.name, spec.description, spec.ucum, data))
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, metrics, "")], "")])


def _otlp_exporter(endpoint: str | None, headers: Mapping[str, str], timeout_s: float) -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    except ImportError:
        raise InvalidValue(
            "exporter",
            None,
            "no MetricExporter given and the OTLP/HTTP exporter is not installed: "
            "pip install 'alphaforge-otel[otlp]'",
        ) from None
    return OTLPMetricExporter(endpoint=endpoint, headers=dict(headers) or None, timeout=timeout_s)


def _positive(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue(field, value, "must be a number of seconds")
    if not (math.isfinite(value) and value > 0):
        raise InvalidValue(field, value, "must be a finite number > 0")
    return float(value)


def _str_mapping(field: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidValue(field, "<mapping>", "must map str to str")
    return dict(value)


class OtelExporter:
    """Push the engine metrics through an OpenTelemetry ``MetricExporter``.

    Parameters
    ----------
    endpoint
        OTLP/HTTP metrics URL (``http://host:4318/v1/metrics``); ``None`` lets the OTLP exporter
        read ``OTEL_EXPORTER_OTLP_*`` or use its default. Needs the ``otlp`` extra.
    headers
        Extra HTTP headers for the OTLP exporter (never logged).
    timeout_s
        Timeout of one push.
    interval_s
        Push period of the background thread.
    service_name
        The ``service.name`` resource attribute.
    resource_attributes
        More resource attributes.
    buckets
        Histogram bucket bounds in seconds, for every histogram; default the registry's.
    exporter
        Any OpenTelemetry ``MetricExporter`` (overrides ``endpoint``/``headers``).

    Raises
    ------
    InvalidValue
        On bad options, or with neither ``exporter`` nor the OTLP/HTTP exporter installed.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        interval_s: float = 10.0,
        service_name: str = "alphaforge",
        resource_attributes: Mapping[str, str] | None = None,
        buckets: Sequence[float] | None = None,
        exporter: MetricExporter | None = None,
    ) -> None:
        if endpoint is not None and (
            not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://"))
        ):
            raise InvalidValue("endpoint", endpoint, "must be an http:// or https:// URL")
        if not isinstance(service_name, str) or not service_name:
            raise InvalidValue("service_name", service_name, "must be a non-empty str")
        if exporter is not None and not isinstance(exporter, MetricExporter):
            raise InvalidValue("exporter", exporter, "must be an OpenTelemetry MetricExporter")
        self.timeout_s = _positive("timeout_s", timeout_s)
        self.interval_s = _positive("interval_s", interval_s)
        self.buckets = None if buckets is None else check_bucket_bounds("buckets", buckets)
        attributes = _str_mapping("resource_attributes", resource_attributes)
        self.resource = Resource.create({**attributes, "service.name": service_name})
        self.endpoint = endpoint
        self.exporter: MetricExporter = exporter or _otlp_exporter(
            endpoint, _str_mapping("headers", headers), self.timeout_s
        )
        self.pushes = 0
        self.failures = 0
        self._latest: MetricsSnapshot | None = None
        self._pushed: MetricsSnapshot | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return (
            f"OtelExporter(endpoint={self.endpoint!r}, exporter={type(self.exporter).__name__}, "
            f"interval_s={self.interval_s})"
        )

    @property
    def latest(self) -> MetricsSnapshot | None:
        """The snapshot the next push sends."""
        return self._latest

    def start(self, metrics: EngineMetrics) -> None:
        """Start the push thread."""
        if self._thread is not None:
            return
        self._latest = metrics.latest
        self._wake.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"alphaforge-otel-{metrics.trader_id}", daemon=True
        )
        self._thread.start()

    def export(self, snapshot: MetricsSnapshot) -> None:
        """Keep ``snapshot`` for the next push."""
        self._latest = snapshot

    def force_flush(self) -> bool:
        """Push the latest snapshot now (any thread). Returns whether the push succeeded."""
        return self._push(force=True)

    def stop(self) -> None:
        """Stop the push thread, then push the final snapshot (blocking, up to ``timeout_s``)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            thread.join(timeout=self.timeout_s + self.interval_s)
        self._push(force=False)

    def close(self) -> None:
        """Stop, then shut the OpenTelemetry exporter down."""
        self.stop()
        self.exporter.shutdown(timeout_millis=self.timeout_s * 1000)

    def _run(self) -> None:
        while not self._wake.wait(self.interval_s):
            self._push(force=False)

    def _push(self, *, force: bool) -> bool:
        with self._lock:
            snapshot = self._latest
            if snapshot is None or (snapshot is self._pushed and not force):
                return True
            try:
                data = to_metrics_data(snapshot, self.resource, self.buckets)
                result = self.exporter.export(data, timeout_millis=self.timeout_s * 1000)
            except Exception:  # noqa: BLE001 - the push thread must survive a broken backend
                _LOG.exception("OpenTelemetry metrics push failed")
                result = MetricExportResult.FAILURE
            if result is MetricExportResult.SUCCESS:
                self.pushes += 1
                self._pushed = snapshot
                return True
            self.failures += 1
            _LOG.warning("OpenTelemetry metrics push failed (%s)", result)
            return False
