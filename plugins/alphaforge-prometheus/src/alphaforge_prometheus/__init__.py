"""Prometheus exporter for AlphaForge engine metrics."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge_prometheus.exporter import PrometheusExporter, SnapshotCollector

# Resolved on first use: discovering the plugin must not import its dependencies.
_EXPORTS: dict[str, str] = {
    "PrometheusExporter": "alphaforge_prometheus.exporter",
    "SnapshotCollector": "alphaforge_prometheus.exporter",
}

__all__ = ["PrometheusExporter", "SnapshotCollector"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
