"""Engine metrics: counters, gauges and HDR latency histograms, snapshots and exporters.

- :mod:`alphaforge.metrics.registry` -- the one registry of names, units, labels, descriptions;
- :class:`EngineMetrics` -- the cells a kernel records into (``kernel.metrics``);
- :class:`MetricsSnapshot` -- the immutable view exporters read;
- :class:`MetricsExporter` -- the interface exporter plugins implement.

See ``docs/metrics.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Resolved on first use: a kernel with metrics off imports only what it needs.
_EXPORTS: dict[str, str] = {
    "COMMON_LABELS": "alphaforge.metrics.registry",
    "Counter": "alphaforge.metrics.instruments",
    "CounterFamily": "alphaforge.metrics.instruments",
    "ENGINE_METRICS": "alphaforge.metrics.registry",
    "EXPORT_TIMER": "alphaforge.metrics.engine",
    "EngineMetrics": "alphaforge.metrics.engine",
    "ExporterConfig": "alphaforge.metrics.config",
    "FamilySnapshot": "alphaforge.metrics.snapshot",
    "Gauge": "alphaforge.metrics.instruments",
    "GaugeFamily": "alphaforge.metrics.instruments",
    "Histogram": "alphaforge.metrics.instruments",
    "HistogramFamily": "alphaforge.metrics.instruments",
    "HistogramSample": "alphaforge.metrics.snapshot",
    "LogLinearLayout": "alphaforge.metrics.hdr",
    "MetricKind": "alphaforge.metrics.registry",
    "MetricRegistry": "alphaforge.metrics.registry",
    "MetricSource": "alphaforge.metrics.registry",
    "MetricSpec": "alphaforge.metrics.registry",
    "MetricsConfig": "alphaforge.metrics.config",
    "MetricsExporter": "alphaforge.metrics.exporter",
    "MetricsSnapshot": "alphaforge.metrics.snapshot",
    "Sample": "alphaforge.metrics.snapshot",
    "check_bucket_bounds": "alphaforge.metrics.registry",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alphaforge.metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
