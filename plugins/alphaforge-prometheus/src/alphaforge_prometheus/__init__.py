"""Prometheus exporter for AlphaForge engine metrics."""

from alphaforge_prometheus.exporter import PrometheusExporter, SnapshotCollector

__all__ = ["PrometheusExporter", "SnapshotCollector"]
__version__ = "0.1.0"
