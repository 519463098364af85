"""An OpenTelemetry ``MetricExporter`` that keeps what it is given (for tests)."""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

__all__ = ["InMemoryMetricExporter"]


class InMemoryMetricExporter(MetricExporter):
    """Keeps every exported :class:`MetricsData` batch in :attr:`batches` (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._batches: list[MetricsData] = []
        self.shut_down = False

    @property
    def batches(self) -> list[MetricsData]:
        """A copy of the batches received so far, oldest first."""
        with self._lock:
            return list(self._batches)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self.shut_down:
            return MetricExportResult.FAILURE
        with self._lock:
            self._batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.shut_down = True
