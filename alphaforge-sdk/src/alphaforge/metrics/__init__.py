"""Engine metrics: counters, gauges and HDR latency histograms, snapshots and exporters.

- :mod:`alphaforge.metrics.registry` -- the one registry of names, units, labels, descriptions;
- :class:`EngineMetrics` -- the cells a kernel records into (``kernel.metrics``);
- :class:`MetricsSnapshot` -- the immutable view exporters read;
- :class:`MetricsExporter` -- the interface exporter plugins implement.

See ``docs/metrics.md``.
"""

from alphaforge.metrics.config import ExporterConfig, MetricsConfig
from alphaforge.metrics.engine import EXPORT_TIMER, EngineMetrics
from alphaforge.metrics.exporter import MetricsExporter
from alphaforge.metrics.hdr import LogLinearLayout
from alphaforge.metrics.instruments import (
    Counter,
    CounterFamily,
    Gauge,
    GaugeFamily,
    Histogram,
    HistogramFamily,
)
from alphaforge.metrics.registry import (
    COMMON_LABELS,
    ENGINE_METRICS,
    MetricKind,
    MetricRegistry,
    MetricSource,
    MetricSpec,
    check_bucket_bounds,
)
from alphaforge.metrics.snapshot import FamilySnapshot, HistogramSample, MetricsSnapshot, Sample

__all__ = [
    "COMMON_LABELS",
    "ENGINE_METRICS",
    "EXPORT_TIMER",
    "Counter",
    "CounterFamily",
    "EngineMetrics",
    "ExporterConfig",
    "FamilySnapshot",
    "Gauge",
    "GaugeFamily",
    "Histogram",
    "HistogramFamily",
    "HistogramSample",
    "LogLinearLayout",
    "MetricKind",
    "MetricRegistry",
    "MetricSource",
    "MetricSpec",
    "MetricsConfig",
    "MetricsExporter",
    "MetricsSnapshot",
    "Sample",
    "check_bucket_bounds",
]
