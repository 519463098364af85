"""The interface a metrics exporter implements.

An exporter is built by the factory its plugin registered through
``alphaforge_register_metrics_exporters`` (``factory(**config)``) when the kernel is built, and
follows the kernel's lifecycle.

Threading rule
--------------
``start``, ``export``, ``stop`` and ``close`` are called on the engine thread. ``export``
receives an immutable :class:`~alphaforge.metrics.MetricsSnapshot` and must not block: keep a
reference to it (one reference assignment is atomic) and let your own thread (HTTP server,
push loop) read that reference. Never touch the :class:`~alphaforge.metrics.EngineMetrics`
cells or call ``snapshot()`` from another thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from alphaforge.metrics.engine import EngineMetrics
    from alphaforge.metrics.snapshot import MetricsSnapshot

__all__ = ["MetricsExporter"]


@runtime_checkable
class MetricsExporter(Protocol):
    """A sink for metrics snapshots (Prometheus endpoint, OTLP push, JSON lines, ...)."""

    def start(self, metrics: EngineMetrics) -> None:
        """The kernel starts (again): open servers, files, threads.

        Raising makes the kernel's ``start`` fail (e.g. a port in use).
        """

    def export(self, snapshot: MetricsSnapshot) -> None:
        """A new snapshot (at start, every interval, at stop). Must not block.

        Exceptions are logged and counted (``EngineMetrics.export_errors``), never raised into
        the engine.
        """

    def stop(self) -> None:
        """The kernel stops: flush, stop servers and threads. It may be started again."""

    def close(self) -> None:
        """The kernel is disposed: release everything for good."""
