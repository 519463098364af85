"""The ``alphaforge`` entry point: registers the ``otel`` metrics exporter."""

from __future__ import annotations

from typing import Any

from alphaforge.kernel import hookimpl
from alphaforge.kernel.hookspec import Register


def _factory(**config: Any) -> Any:
    from alphaforge_otel.exporter import OtelExporter

    return OtelExporter(**config)


@hookimpl
def alphaforge_register_metrics_exporters(register: Register) -> None:
    register(
        "otel",
        _factory,
        description="push the engine metrics through the OpenTelemetry SDK (OTLP/HTTP)",
    )
