"""The ``alphaforge`` entry point: registers the ``prometheus`` metrics exporter."""

from __future__ import annotations

from typing import Any

from alphaforge.kernel import hookimpl
from alphaforge.kernel.hookspec import Register


def _factory(**config: Any) -> Any:
    from alphaforge_prometheus.exporter import PrometheusExporter

    return PrometheusExporter(**config)


@hookimpl
def alphaforge_register_metrics_exporters(register: Register) -> None:
    register(
        "prometheus",
        _factory,
        description="serve the engine metrics at http://HOST:PORT/metrics for Prometheus",
    )
