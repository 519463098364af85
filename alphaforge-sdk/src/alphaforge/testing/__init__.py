"""The AlphaForge conformance kit: test classes plugin authors subclass.

Registered as a pytest plugin (entry point ``pytest11: alphaforge`` ->
:mod:`alphaforge.testing.plugin`), which adds the ``alphaforge_conformance`` marker and the
``--alphaforge-report=PATH`` option (a JSON compatibility report of every conformance check
that ran).

- :class:`MetricsExporterConformance` -- for ``metrics_exporter`` plugins.
- :class:`AdapterConformance` -- for venue ``adapter`` plugins (the scenarios that run without
  a live node; see :mod:`alphaforge.testing.adapters`).
- :class:`LiveAdapterConformance` -- for venue ``adapter`` plugins against a test venue they
  steer through :class:`VenueControl` (order round trips, user stream, injected faults; see
  :mod:`alphaforge.testing.live_adapters`).
- :class:`StrategyConformance` -- for ``strategy`` plugins (registration, config errors,
  deterministic backtests, clean stops, the same code live on a paper venue; see
  :mod:`alphaforge.testing.strategies`).

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
    from alphaforge.testing.live_adapters import (
        LIVE_ADAPTER_CHECKS,
        ChecksumVenueControl,
        LiveAdapterConformance,
        LiveSession,
        LiveSetup,
        VenueControl,
    )
    from alphaforge.testing.metrics import (
        METRICS_EXPORTER_CHECKS,
        ExportedSample,
        ExporterFactory,
        ExportReader,
        MetricsExporterConformance,
    )
    from alphaforge.testing.strategies import (
        STRATEGY_CHECKS,
        ReplayDataClient,
        StrategyConformance,
    )

_MODULES = {
    "alphaforge.testing.adapters": (
        "ADAPTER_CHECKS", "GARBAGE_FRAMES", "AdapterConformance", "BookScenario", "OrderEncoder",
        "order_shapes",
    ),
    "alphaforge.testing.live_adapters": (
        "LIVE_ADAPTER_CHECKS", "ChecksumVenueControl", "LiveAdapterConformance", "LiveSession",
        "LiveSetup", "VenueControl",
    ),
    "alphaforge.testing.metrics": (
        "METRICS_EXPORTER_CHECKS", "ExportReader", "ExportedSample", "ExporterFactory",
        "MetricsExporterConformance",
    ),
    "alphaforge.testing.strategies": ("STRATEGY_CHECKS", "ReplayDataClient", "StrategyConformance"),
}  # fmt: skip
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "ADAPTER_CHECKS",
    "GARBAGE_FRAMES",
    "AdapterConformance",
    "BookScenario",
    "OrderEncoder",
    "order_shapes",
    "LIVE_ADAPTER_CHECKS",
    "ChecksumVenueControl",
    "LiveAdapterConformance",
    "LiveSession",
    "LiveSetup",
    "VenueControl",
    "METRICS_EXPORTER_CHECKS",
    "ExportReader",
    "ExportedSample",
    "ExporterFactory",
    "MetricsExporterConformance",
    "STRATEGY_CHECKS",
    "ReplayDataClient",
    "StrategyConformance",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'alphaforge.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
