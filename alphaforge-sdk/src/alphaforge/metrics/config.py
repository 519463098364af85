"""Metrics settings: the ``metrics`` table of a :class:`~alphaforge.kernel.KernelConfig`.

.. code-block:: toml

    [metrics]
    enabled = true
    export_interval_ms = 1000

    [[metrics.exporters]]
    name = "prometheus"
    config = { port = 9464 }

    [[metrics.exporters]]
    name = "jsonl"
    config = { path = "run-metrics.jsonl" }
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from alphaforge.errors import InvalidValue

__all__ = ["ExporterConfig", "MetricsConfig"]


def _non_empty_str(inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidValue(attribute.name, value, "must be a non-empty str")


def _str_keyed(inst: object, attribute: attrs.Attribute[dict[str, Any]], value: object) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidValue(attribute.name, value, "must be a mapping with str keys")


def _int_at_least(minimum: int) -> Any:
    def check(inst: object, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidValue(attribute.name, value, f"must be an int >= {minimum}")

    return check


def _bool(inst: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidValue(attribute.name, value, "must be a bool")


@attrs.frozen
class ExporterConfig:
    """One exporter to run: a registered ``metrics_exporter`` name and its keyword arguments.

    Parameters
    ----------
    name
        The name the exporter's plugin registered (``jsonl``, ``prometheus``, ``otel``, ...).
    config
        Keyword arguments for the exporter's factory.
    """

    name: str = attrs.field(validator=_non_empty_str)
    config: dict[str, Any] = attrs.field(
        factory=dict, converter=dict, validator=_str_keyed, hash=False
    )


def _exporters(value: Iterable[ExporterConfig]) -> tuple[ExporterConfig, ...]:
    return tuple(value)


def _check_exporters(
    inst: object, attribute: attrs.Attribute[tuple[ExporterConfig, ...]], value: object
) -> None:
    assert isinstance(value, tuple)
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, ExporterConfig):
            raise InvalidValue(attribute.name, item, "must be ExporterConfig objects")
        if item.name in seen:
            raise InvalidValue(attribute.name, item.name, "exporter is configured twice")
        seen.add(item.name)


@attrs.frozen
class MetricsConfig:
    """Engine metrics and their exporters.

    Parameters
    ----------
    enabled
        Record bus metrics (a metering message bus), run the exporters and the periodic
        snapshot. Off, ``kernel.metrics`` still accepts recordings but nothing is exported
        and the plain (fastest) message bus is used.
    exporters
        The exporters to build, each at most once.
    export_interval_ms
        Take a snapshot and hand it to the exporters this often, on the kernel clock (simulated
        time in a backtest); 0 exports only at start, at stop and on ``metrics.export()``.
    topic_family_depth
        How many leading dotted segments of a topic name its family (the ``family`` label):
        ``data.quotes.BINANCE.BTCUSDT`` is ``data.quotes`` at depth 2.
    """

    enabled: bool = attrs.field(default=False, validator=_bool)
    exporters: tuple[ExporterConfig, ...] = attrs.field(
        default=(), converter=_exporters, validator=_check_exporters
    )
    export_interval_ms: int = attrs.field(default=1000, validator=_int_at_least(0))
    topic_family_depth: int = attrs.field(default=2, validator=_int_at_least(1))
