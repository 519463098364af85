"""The AlphaForge conformance kit: test classes plugin authors subclass.

Registered as a pytest plugin (entry point ``pytest11: alphaforge`` ->
:mod:`alphaforge.testing.plugin`), which adds the ``alphaforge_conformance`` marker and the
``--alphaforge-report=PATH`` option (a JSON compatibility report of every conformance check
that ran).

- :class:`MetricsExporterConformance` -- for ``metrics_exporter`` plugins.
- :class:`AdapterConformance` -- for venue ``adapter`` plugins (the scenarios that run without
  a live node; see :mod:`alphaforge.testing.adapters`).

The kit is imported lazily: loading the pytest plugin does not import the kernel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge.testing.adapters import (
        ADAPTER_CHECKS,
        GARBAGE_FRAMES,
        AdapterConformance,
        BookScenario,
        OrderEncoder,
        order_shapes,
    )
    from alphaforge.testing.metrics import (
        METRICS_EXPORTER_CHECKS,
        ExportedSample,
        ExporterFactory,
        ExportReader,
        MetricsExporterConformance,
    )

_ADAPTER_EXPORTS = frozenset(
    {
        "ADAPTER_CHECKS",
        "GARBAGE_FRAMES",
        "AdapterConformance",
        "BookScenario",
        "OrderEncoder",
        "order_shapes",
    }
)

__all__ = [
    "ADAPTER_CHECKS",
    "GARBAGE_FRAMES",
    "AdapterConformance",
    "BookScenario",
    "OrderEncoder",
    "order_shapes",
    "METRICS_EXPORTER_CHECKS",
    "ExportReader",
    "ExportedSample",
    "ExporterFactory",
    "MetricsExporterConformance",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'alphaforge.testing' has no attribute {name!r}")
    if name in _ADAPTER_EXPORTS:
        return getattr(importlib.import_module("alphaforge.testing.adapters"), name)
    return getattr(importlib.import_module("alphaforge.testing.metrics"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
