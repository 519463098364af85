"""Recording cells: counters, gauges and histograms, and their labelled families.

Hot-path rule: bind the cell once (``filled = metrics.orders.labels("filled")``), then use the
plain-attribute forms, which cost one attribute update or one bound ``list.append``:

- counter: ``filled.value += 1``
- gauge: ``open_orders.value = n``
- histogram: ``record = hist.record`` once, then ``record(latency_ns)`` (an ``int``)

They run no Python-level function and take no lock: the engines are single-threaded, and only
the engine thread may write a cell or take a snapshot. The checked methods (:meth:`Counter.inc`,
:meth:`Gauge.set`, :meth:`Histogram.observe`) validate their input and raise
:class:`~alphaforge.errors.InvalidValue`; use them off the hot path.

Histogram samples pile up in a list until the next snapshot folds them into log-linear buckets
with numpy; the kernel takes a snapshot every ``export_interval_ms`` (and at start/stop).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

from alphaforge.errors import InvalidValue
from alphaforge.metrics.hdr import LogLinearLayout
from alphaforge.metrics.registry import MetricSpec
from alphaforge.metrics.snapshot import HistogramSample, Sample

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Counter",
    "CounterFamily",
    "Gauge",
    "GaugeFamily",
    "Histogram",
    "HistogramFamily",
]

_FOLD_AT = 1 << 16  # observe() folds once this many samples are pending


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Counter:
    """A monotonically increasing count. Hot path: ``counter.value += 1``.

    Attributes
    ----------
    labels
        The label values of this cell.
    value
        The count.
    """

    __slots__ = ("labels", "value")

    def __init__(self, labels: tuple[str, ...] = ()) -> None:
        self.labels = labels
        self.value = 0

    def __repr__(self) -> str:
        return f"Counter(labels={self.labels!r}, value={self.value})"

    def inc(self, amount: int = 1) -> None:
        """Add ``amount`` (checked).

        Raises
        ------
        InvalidValue
            If ``amount`` is not an int >= 0.
        """
        if not _is_int(amount) or amount < 0:
            raise InvalidValue("amount", amount, "must be an int >= 0 (counters never decrease)")
        self.value += amount

    def sample(self) -> Sample:
        return Sample(self.labels, self.value)


class Gauge:
    """A value that goes up and down. Hot path: ``gauge.value = x``.

    Attributes
    ----------
    labels
        The label values of this cell.
    value
        The current value (int or float), in the metric's recorded unit.
    """

    __slots__ = ("labels", "value")

    def __init__(self, labels: tuple[str, ...] = ()) -> None:
        self.labels = labels
        self.value: int | float = 0

    def __repr__(self) -> str:
        return f"Gauge(labels={self.labels!r}, value={self.value})"

    def set(self, value: float) -> None:
        """Set the value (checked).

        Raises
        ------
        InvalidValue
            If ``value`` is not a finite int or float.
        """
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValue("value", value, "must be an int or float")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidValue("value", value, "must be finite")
        self.value = value

    def sample(self) -> Sample:
        return Sample(self.labels, self.value)


class Histogram:
    """A distribution of non-negative ints (latencies in ns). Hot path: ``record(value)``.

    Parameters
    ----------
    labels
        The label values of this cell.
    layout
        The bucket layout samples are folded into.

    Attributes
    ----------
    record
        ``list.append`` of the pending samples, bound once: ``record(latency_ns)``. Unchecked:
        pass ints (a negative value counts as 0; anything else fails at the next snapshot).
    """

    __slots__ = (
        "_count",
        "_counts",
        "_last",
        "_layout",
        "_max",
        "_min",
        "_pending",
        "_sum",
        "labels",
        "record",
    )

    def __init__(self, labels: tuple[str, ...] = (), layout: LogLinearLayout | None = None) -> None:
        self.labels = labels
        self._layout = layout or LogLinearLayout()
        self._pending: list[int] = []
        self.record: Callable[[int], None] = self._pending.append
        self._counts: npt.NDArray[np.int64] | None = None
        self._count = 0
        self._sum = 0
        self._min: int | None = None
        self._max: int | None = None
        self._last: HistogramSample | None = None  # reused while nothing new was recorded

    def __repr__(self) -> str:
        return (
            f"Histogram(labels={self.labels!r}, count={self._count}, pending={len(self._pending)})"
        )

    @property
    def pending(self) -> int:
        """Samples recorded since the last fold."""
        return len(self._pending)

    def observe(self, value: int) -> None:
        """Record one value (checked); folds when many samples are pending.

        Raises
        ------
        InvalidValue
            If ``value`` is not an int in ``[0, 2**63)``.
        """
        if not _is_int(value) or not 0 <= value < 1 << 63:
            raise InvalidValue("value", value, "must be an int in [0, 2**63)")
        self._pending.append(value)
        if len(self._pending) >= _FOLD_AT:
            self.fold()

    def fold(self) -> None:
        """Move the pending samples into the buckets (engine thread only).

        Raises
        ------
        InvalidValue
            If a pending sample is not an int in int64 range (the pending samples are dropped).
        """
        pending = self._pending
        if not pending:
            return
        import numpy as np

        try:
            data = np.array(pending, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            bad = next(
                (v for v in pending if not _is_int(v) or not -(1 << 63) <= v < 1 << 63), pending[0]
            )
            pending.clear()
            raise InvalidValue(
                "value", bad, "histogram samples must be ints in int64 range"
            ) from exc
        pending.clear()  # in place: the bound ``record`` keeps appending to the same list
        self._last = None
        np.maximum(data, 0, out=data)
        if self._counts is None:
            self._counts = np.zeros(self._layout.size, dtype=np.int64)
        self._counts += np.bincount(self._layout.indices(data), minlength=self._layout.size)
        low, high = int(data.min()), int(data.max())
        self._count += int(data.size)
        # int64 sums are exact unless they could overflow; then sum Python ints.
        exact_in_int64 = high * int(data.size) < 1 << 63
        self._sum += int(data.sum()) if exact_in_int64 else sum(data.tolist())
        self._min = low if self._min is None else min(self._min, low)
        self._max = high if self._max is None else max(self._max, high)

    def sample(self) -> HistogramSample:
        """Fold, then return the current distribution (the same object while unchanged)."""
        self.fold()
        if self._last is not None:
            return self._last
        if self._counts is None:
            self._last = HistogramSample(self.labels, 0, 0, None, None, self._layout)
            return self._last
        import numpy as np

        nonzero = np.flatnonzero(self._counts)
        self._last = HistogramSample(
            self.labels,
            self._count,
            self._sum,
            self._min,
            self._max,
            self._layout,
            tuple(nonzero.tolist()),
            tuple(self._counts[nonzero].tolist()),
        )
        return self._last


CellT = TypeVar("CellT", Counter, Gauge, Histogram)


class _Family(Generic[CellT]):
    """The cells of one metric, one per label combination."""

    __slots__ = ("_children", "spec")

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        self._children: dict[tuple[str, ...], CellT] = {}
        if not spec.labels:
            self._children[()] = self._new(())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r}, children={len(self._children)})"

    def _new(self, labels: tuple[str, ...]) -> CellT:
        raise NotImplementedError

    def labels(self, *values: str, **named: str) -> CellT:
        """The cell for these label values (positional in the spec's order, or by name).

        Cached: bind the result once and reuse it on the hot path.

        Raises
        ------
        InvalidValue
            If the labels do not match the spec's, a value is not a non-empty str, or a value is
            outside the label's closed set.
        """
        key = values
        if named:
            if values:
                raise InvalidValue("labels", (values, named), "pass labels by position or by name")
            if set(named) != set(self.spec.labels):
                raise InvalidValue(
                    "labels", sorted(named), f"{self.spec.name} has labels {list(self.spec.labels)}"
                )
            key = tuple(named[label] for label in self.spec.labels)
        cell = self._children.get(key)
        if cell is None:
            self._check(key)
            cell = self._children[key] = self._new(key)
        return cell

    def _check(self, key: tuple[str, ...]) -> None:
        spec = self.spec
        if len(key) != len(spec.labels):
            raise InvalidValue(
                "labels",
                key,
                f"{spec.name} takes {len(spec.labels)} label values {list(spec.labels)}",
            )
        for label, value in zip(spec.labels, key, strict=True):
            if not isinstance(value, str) or not value:
                raise InvalidValue(label, value, f"label of {spec.name} must be a non-empty str")
            allowed = spec.allowed_values(label)
            if allowed is not None and value not in allowed:
                raise InvalidValue(label, value, f"must be one of {list(allowed)}")

    def __iter__(self) -> Iterator[CellT]:
        return iter(list(self._children.values()))

    def __len__(self) -> int:
        return len(self._children)

    def samples(self) -> tuple[Sample | HistogramSample, ...]:
        return tuple(cell.sample() for cell in self._children.values())


class CounterFamily(_Family[Counter]):
    """The counters of one metric, by label values."""

    __slots__ = ()

    def _new(self, labels: tuple[str, ...]) -> Counter:
        return Counter(labels)


class GaugeFamily(_Family[Gauge]):
    """The gauges of one metric, by label values."""

    __slots__ = ()

    def _new(self, labels: tuple[str, ...]) -> Gauge:
        return Gauge(labels)


class HistogramFamily(_Family[Histogram]):
    """The histograms of one metric, by label values."""

    __slots__ = ("layout",)

    def __init__(self, spec: MetricSpec, layout: LogLinearLayout | None = None) -> None:
        self.layout = layout or LogLinearLayout()
        super().__init__(spec)

    def _new(self, labels: tuple[str, ...]) -> Histogram:
        return Histogram(labels, self.layout)
