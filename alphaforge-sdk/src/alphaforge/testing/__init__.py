"""The AlphaForge conformance kit: test classes plugin authors subclass.

Registered as a pytest plugin (entry point ``pytest11: alphaforge`` ->
:mod:`alphaforge.testing.plugin`), which adds the ``alphaforge_conformance`` marker and the
``--alphaforge-report=PATH`` option (a JSON compatibility report of every conformance check
that ran).

- :class:`MetricsExporterConformance` -- for ``metrics_exporter`` plugins.

The kit is imported lazily: loading the pytest plugin does not import the kernel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge.testing.metrics import (
        METRICS_EXPORTER_CHECKS,
        ExportedSample,
        ExporterFactory,
        ExportReader,
        MetricsExporterConformance,
    )

__all__ = [
    "METRICS_EXPORTER_CHECKS",
    "ExportReader",
    "ExportedSample",
    "ExporterFactory",
    "MetricsExporterConformance",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'alphaforge.testing' has no attribute {name!r}")
    return getattr(importlib.import_module("alphaforge.testing.metrics"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
