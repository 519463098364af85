"""The one semantic registry of engine metrics: names, kinds, units, labels, descriptions.

Every exporter names what it emits after this registry, and ``docs/metrics.md`` is generated
from it (``python -m alphaforge.metrics`` prints the table; a test checks the doc is
current).

Naming rules (checked when a :class:`MetricSpec` is built):

- names are ``snake_case`` and start with ``alphaforge_``;
- a metric with a unit ends with ``_<unit>`` (the Prometheus/OpenMetrics convention), e.g.
  ``alphaforge_order_ack_latency_seconds``; counters do *not* carry ``_total`` (exposition
  formats that want it add it);
- label names are ``snake_case``; ``trader_id`` is added to every exported sample and is not
  listed per metric; ``le`` and ``quantile`` are reserved.
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from alphaforge.errors import InvalidValue

__all__ = [
    "COMMON_LABELS",
    "check_bucket_bounds",
    "ENGINE_METRICS",
    "LATENCY_BUCKETS_NS",
    "MetricKind",
    "MetricRegistry",
    "MetricSource",
    "MetricSpec",
    "render_table",
]

_NAME = re.compile(r"^alphaforge_[a-z][a-z0-9_]*[a-z0-9]$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED_LABELS = frozenset({"le", "quantile"})

COMMON_LABELS: Final = ("trader_id",)
"""Labels every exporter adds to every sample, in this order, before the metric's own."""

LATENCY_BUCKETS_NS: Final = (
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
)
"""Default export bucket upper bounds of the latency histograms, in recorded nanoseconds."""


class MetricKind(enum.Enum):
    """What a metric measures and how it may change."""

    COUNTER = "counter"
    """A count that only goes up while the kernel object lives (stop/start included)."""
    GAUGE = "gauge"
    """A value that is set, and may go up and down."""
    HISTOGRAM = "histogram"
    """A distribution of recorded values (log-linear HDR buckets in the engine)."""


class MetricSource(enum.Enum):
    """Who writes a metric's values."""

    ENGINE = "engine"
    """Engines, adapters and strategies record it through :class:`EngineMetrics` attributes."""
    MSGBUS = "msgbus"
    """Collected from the message bus's own counters when a snapshot is taken."""


def _check_name(inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidValue(attribute.name, value, "must be snake_case and start with 'alphaforge_'")


def _check_labels(
    inst: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    for label in value:
        if not isinstance(label, str) or not _LABEL.match(label):
            raise InvalidValue(attribute.name, value, f"label {label!r} must be snake_case")
        if label in _RESERVED_LABELS or label in COMMON_LABELS:
            raise InvalidValue(attribute.name, value, f"label {label!r} is reserved")
    if len(set(value)) != len(value):
        raise InvalidValue(attribute.name, value, "labels must be distinct")


def _to_tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class MetricSpec:
    """The meaning of one metric.

    Parameters
    ----------
    name
        Canonical name, used verbatim by every exporter (Prometheus appends ``_total`` to
        counter samples, as its format requires).
    kind
        Counter, gauge or histogram.
    description
        One sentence; exported as the help text.
    attribute
        The :class:`~alphaforge.metrics.EngineMetrics` attribute holding the metric family.
    unit
        The base unit as a plural word or ``seconds``/``ratio`` (the name ends with
        ``_<unit>``); empty for a unitless value.
    ucum
        The unit in UCUM notation for OpenTelemetry (``s``, ``1``, ``{message}``).
    labels
        The metric's own label names, in order (``trader_id`` is implied).
    label_values
        Closed label sets: ``((label, (value, ...)), ...)``; other labels are open.
    scale
        Multiply a recorded value by this to get ``unit`` (``1e-9``: recorded in ns, exported
        in seconds).
    buckets
        Histograms: default export bucket upper bounds, in recorded units, strictly increasing.
    source
        Who writes the values.
    """

    name: str = attrs.field(validator=_check_name)
    kind: MetricKind = attrs.field(validator=attrs.validators.instance_of(MetricKind))
    description: str
    attribute: str
    unit: str = ""
    ucum: str = "1"
    labels: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple, validator=_check_labels)
    label_values: tuple[tuple[str, tuple[str, ...]], ...] = attrs.field(
        default=(), converter=_to_tuple
    )
    scale: float = 1.0
    buckets: tuple[int, ...] = attrs.field(default=(), converter=_to_tuple)
    source: MetricSource = MetricSource.ENGINE

    def __attrs_post_init__(self) -> None:
        if self.unit and not self.name.endswith("_" + self.unit):
            raise InvalidValue("name", self.name, f"must end with '_{self.unit}' (its unit)")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise InvalidValue("scale", self.scale, "must be a finite number > 0")
        for label, values in self.label_values:
            if label not in self.labels:
                raise InvalidValue("label_values", label, f"is not a label of {self.name}")
            if not values:
                raise InvalidValue("label_values", label, "needs at least one allowed value")
        if self.kind is MetricKind.HISTOGRAM:
            if not self.buckets:
                raise InvalidValue("buckets", self.buckets, "a histogram needs bucket bounds")
            if any(not isinstance(b, int) or b <= 0 for b in self.buckets) or any(
                a >= b for a, b in itertools.pairwise(self.buckets)
            ):
                raise InvalidValue(
                    "buckets", self.buckets, "must be strictly increasing positive ints"
                )
        elif self.buckets:
            raise InvalidValue(
                "buckets", self.buckets, f"only histograms have buckets ({self.name})"
            )

    def allowed_values(self, label: str) -> tuple[str, ...] | None:
        """The closed set of values of ``label``, or ``None`` if any value is allowed."""
        for name, values in self.label_values:
            if name == label:
                return values
        return None

    @property
    def export_labels(self) -> tuple[str, ...]:
        """Every label name an exported sample carries: the common ones, then the metric's."""
        return (*COMMON_LABELS, *self.labels)

    @property
    def export_buckets(self) -> tuple[float, ...]:
        """The default histogram bucket bounds in the exported unit."""
        return tuple(self.to_exported(b) for b in self.buckets)

    def to_exported(self, recorded: int | float) -> int | float:
        """A recorded value in the exported unit (``recorded * scale``).

        A scale like ``1e-9`` divides by ``1e9`` instead, which is correctly rounded:
        250 ns is ``2.5e-07`` s, not ``2.5000000000000004e-07``.
        """
        if self.scale == 1.0:
            return recorded
        inverse = round(1.0 / self.scale)
        if inverse > 1 and inverse * self.scale == 1.0:
            return recorded / inverse
        return recorded * self.scale

    def to_recorded(self, exported: float) -> int:
        """An exported-unit value (e.g. a bucket bound in seconds) in recorded units, floored.

        Float noise is rounded away first: ``1e-6`` seconds is 1000 ns, not 999.
        """
        return math.floor(round(exported / self.scale, 6))


def check_bucket_bounds(field: str, bounds: Iterable[float]) -> tuple[float, ...]:
    """Validate histogram bucket bounds given in an exported unit (exporter configuration).

    Parameters
    ----------
    field
        The configuration field, for the error message.
    bounds
        Finite, positive, strictly increasing numbers (``+Inf`` is implied).

    Returns
    -------
    tuple[float, ...]
        The bounds as floats.

    Raises
    ------
    InvalidValue
        If the bounds are empty, not numbers, not finite and positive, or not increasing.
    """
    if isinstance(bounds, (str, bytes)):
        raise InvalidValue(field, bounds, "must be a list of numbers")
    try:
        values = tuple(bounds)
    except TypeError:
        raise InvalidValue(field, bounds, "must be a list of numbers") from None
    if not values:
        raise InvalidValue(field, bounds, "must not be empty")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValue(field, bounds, f"{value!r} is not a number")
        if not (math.isfinite(value) and value > 0):
            raise InvalidValue(field, bounds, f"{value!r} is not a finite number > 0")
    if any(a >= b for a, b in itertools.pairwise(values)):
        raise InvalidValue(field, bounds, "must be strictly increasing")
    return tuple(float(v) for v in values)


class MetricRegistry:
    """An immutable, ordered set of :class:`MetricSpec` with unique names and attributes.

    Parameters
    ----------
    specs
        The metric specifications, in documentation order.
    """

    __slots__ = ("_by_name", "_specs")

    def __init__(self, specs: Iterable[MetricSpec]) -> None:
        specs = tuple(specs)
        by_name: dict[str, MetricSpec] = {}
        attributes: set[str] = set()
        for spec in specs:
            if not isinstance(spec, MetricSpec):
                raise InvalidValue("specs", spec, "must contain MetricSpec objects")
            if spec.name in by_name:
                raise InvalidValue("specs", spec.name, "is registered twice")
            if spec.attribute in attributes:
                raise InvalidValue("specs", spec.attribute, "attribute is used twice")
            by_name[spec.name] = spec
            attributes.add(spec.attribute)
        self._specs = specs
        self._by_name: Mapping[str, MetricSpec] = MappingProxyType(by_name)

    def __iter__(self) -> Iterator[MetricSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __repr__(self) -> str:
        return f"MetricRegistry({len(self._specs)} metrics)"

    def names(self) -> tuple[str, ...]:
        """The metric names, in registry order."""
        return tuple(spec.name for spec in self._specs)

    def get(self, name: str) -> MetricSpec:
        """The spec named ``name``.

        Raises
        ------
        InvalidValue
            If no metric has that name.
        """
        spec = self._by_name.get(name)
        if spec is None:
            raise InvalidValue("name", name, "is not a registered metric")
        return spec


_ORDER_EVENTS = ("submitted", "denied", "accepted", "rejected", "filled", "cancelled")

ENGINE_METRICS: Final = MetricRegistry(
    [
        # -- message bus (collected from the bus's counters) ------------------------------
        MetricSpec(
            "alphaforge_bus_published_messages",
            MetricKind.COUNTER,
            "Messages published on the message bus, per topic family.",
            "bus_published",
            unit="messages",
            ucum="{message}",
            labels=("family",),
            source=MetricSource.MSGBUS,
        ),
        MetricSpec(
            "alphaforge_bus_delivered_messages",
            MetricKind.COUNTER,
            "Handler deliveries made by publishes, per topic family.",
            "bus_delivered",
            unit="messages",
            ucum="{message}",
            labels=("family",),
            source=MetricSource.MSGBUS,
        ),
        MetricSpec(
            "alphaforge_bus_handler_errors",
            MetricKind.COUNTER,
            "Exceptions raised by message-bus handlers (reported, never propagated).",
            "bus_handler_errors",
            unit="errors",
            ucum="{error}",
            source=MetricSource.MSGBUS,
        ),
        # -- data ----------------------------------------------------------------------------
        MetricSpec(
            "alphaforge_data_events",
            MetricKind.COUNTER,
            "Market data events received by the data engine, per data type.",
            "data_events",
            unit="events",
            ucum="{event}",
            labels=("type",),
        ),
        MetricSpec(
            "alphaforge_book_resyncs",
            MetricKind.COUNTER,
            "Order books marked invalid on a sequence break and resynchronised.",
            "book_resyncs",
            unit="resyncs",
            ucum="{resync}",
            labels=("venue",),
        ),
        MetricSpec(
            "alphaforge_venue_reconnects",
            MetricKind.COUNTER,
            "Reconnections of venue streams (websocket or REST session).",
            "reconnects",
            unit="reconnects",
            ucum="{reconnect}",
            labels=("venue",),
        ),
        # -- orders ----------------------------------------------------------------------------
        MetricSpec(
            "alphaforge_orders",
            MetricKind.COUNTER,
            "Order lifecycle events: submitted, denied (by risk), accepted, rejected (by the "
            "venue), filled (completely), cancelled.",
            "orders",
            unit="orders",
            ucum="{order}",
            labels=("event",),
            label_values=(("event", _ORDER_EVENTS),),
        ),
        # -- state -----------------------------------------------------------------------------
        MetricSpec(
            "alphaforge_open_orders",
            MetricKind.GAUGE,
            "Orders open (working or in flight) at the venue.",
            "open_orders",
            unit="orders",
            ucum="{order}",
            labels=("venue",),
        ),
        MetricSpec(
            "alphaforge_open_positions",
            MetricKind.GAUGE,
            "Positions open at the venue.",
            "open_positions",
            unit="positions",
            ucum="{position}",
            labels=("venue",),
        ),
        MetricSpec(
            "alphaforge_equity",
            MetricKind.GAUGE,
            "Account equity (balance plus unrealised PnL), in the labelled currency.",
            "equity",
            ucum="{currency}",
            labels=("currency",),
        ),
        MetricSpec(
            "alphaforge_clock_offset_seconds",
            MetricKind.GAUGE,
            "Estimated venue server clock minus local clock (recorded in ns).",
            "clock_offset",
            unit="seconds",
            ucum="s",
            labels=("venue",),
            scale=1e-9,
        ),
        MetricSpec(
            "alphaforge_rate_limit_headroom_ratio",
            MetricKind.GAUGE,
            "Share of a venue rate-limit bucket still available (0 = exhausted, 1 = unused).",
            "rate_limit_headroom",
            unit="ratio",
            ucum="1",
            labels=("venue", "bucket"),
        ),
        # -- latency -----------------------------------------------------------------------------
        MetricSpec(
            "alphaforge_data_handler_latency_seconds",
            MetricKind.HISTOGRAM,
            "Data event received by the adapter to its strategy handler (recorded in ns).",
            "data_latency",
            unit="seconds",
            ucum="s",
            labels=("type",),
            scale=1e-9,
            buckets=LATENCY_BUCKETS_NS,
        ),
        MetricSpec(
            "alphaforge_order_ack_latency_seconds",
            MetricKind.HISTOGRAM,
            "Order submitted to the venue to the venue's acknowledgement (recorded in ns).",
            "order_ack_latency",
            unit="seconds",
            ucum="s",
            labels=("venue",),
            scale=1e-9,
            buckets=LATENCY_BUCKETS_NS,
        ),
        MetricSpec(
            "alphaforge_fill_portfolio_latency_seconds",
            MetricKind.HISTOGRAM,
            "Fill event received to the portfolio updated with it (recorded in ns).",
            "fill_latency",
            unit="seconds",
            ucum="s",
            scale=1e-9,
            buckets=LATENCY_BUCKETS_NS,
        ),
    ]
)
"""The engine metrics every kernel records and every exporter emits."""


def render_table(registry: MetricRegistry = ENGINE_METRICS) -> str:
    """Render ``registry`` as the Markdown table in ``docs/metrics.md``.

    Parameters
    ----------
    registry
        The registry to render.

    Returns
    -------
    str
        The table, ending with a newline.
    """
    rows = [
        "| Name | Kind | Unit (OTel) | Labels | `EngineMetrics.` | Description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in registry:
        labels = []
        for label in spec.labels:
            allowed = spec.allowed_values(label)
            labels.append(f"`{label}`" + (f" ({', '.join(allowed)})" if allowed else ""))
        unit = f"{spec.unit or '-'} (`{spec.ucum}`)"
        source = " *Collected from the message bus.*" if spec.source is MetricSource.MSGBUS else ""
        rows.append(
            f"| `{spec.name}` | {spec.kind.value} | {unit} | {', '.join(labels) or '-'} "
            f"| `{spec.attribute}` | {spec.description}{source} |"
        )
    return "\n".join(rows) + "\n"
