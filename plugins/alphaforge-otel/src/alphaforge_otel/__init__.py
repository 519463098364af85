"""OpenTelemetry exporter for AlphaForge engine metrics."""

from alphaforge_otel.exporter import OtelExporter, to_metrics_data
from alphaforge_otel.memory import InMemoryMetricExporter

__all__ = ["InMemoryMetricExporter", "OtelExporter", "to_metrics_data"]
__version__ = "0.1.0"
