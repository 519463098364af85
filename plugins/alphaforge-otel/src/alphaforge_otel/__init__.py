"""OpenTelemetry exporter for AlphaForge engine metrics."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge_otel.exporter import OtelExporter, to_metrics_data
    from alphaforge_otel.memory import InMemoryMetricExporter

# Resolved on first use: discovering the plugin must not import its dependencies.
_EXPORTS: dict[str, str] = {
    "InMemoryMetricExporter": "alphaforge_otel.memory",
    "OtelExporter": "alphaforge_otel.exporter",
    "to_metrics_data": "alphaforge_otel.exporter",
}

__all__ = ["InMemoryMetricExporter", "OtelExporter", "to_metrics_data"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
