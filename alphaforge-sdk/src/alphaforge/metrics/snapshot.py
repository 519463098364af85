"""Immutable snapshots of the engine metrics: what exporters read.

A :class:`MetricsSnapshot` is built on the engine thread by
:meth:`~alphaforge.metrics.EngineMetrics.snapshot` and never changes afterwards, so any thread
may read it (an exporter's HTTP or push thread included). Values are in *recorded* units; a
metric's :attr:`~alphaforge.metrics.MetricSpec.scale` converts them to its exported unit.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.metrics.hdr import LogLinearLayout
from alphaforge.metrics.registry import COMMON_LABELS, MetricKind, MetricSpec

__all__ = ["FamilySnapshot", "HistogramSample", "MetricsSnapshot", "Sample"]


@attrs.frozen
class Sample:
    """The value of one counter or gauge.

    Attributes
    ----------
    labels
        The label values, in the order of the spec's ``labels``.
    value
        In recorded units.
    """

    labels: tuple[str, ...]
    value: int | float


@attrs.frozen
class HistogramSample:
    """The distribution of one histogram: non-empty log-linear buckets plus exact aggregates.

    Attributes
    ----------
    labels
        The label values, in the order of the spec's ``labels``.
    count
        Number of recorded values.
    sum
        Exact sum of the recorded values (negative values were recorded as 0).
    min, max
        Smallest and largest recorded values (``None`` when empty).
    layout
        The bucket layout of ``indices``.
    indices
        Indices of the non-empty buckets, ascending.
    counts
        The count of each bucket in ``indices``.
    """

    labels: tuple[str, ...]
    count: int
    sum: int
    min: int | None
    max: int | None
    layout: LogLinearLayout
    indices: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    _cumulative: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_cumulative", tuple(itertools.accumulate(self.counts)))

    def count_at_or_below(self, value: int) -> int:
        """Recorded values at or below ``value``, to the layout's precision.

        The whole bucket holding ``value`` counts (HdrHistogram semantics), so the answer is
        exact when ``value`` is the highest value of its bucket or below ``2**bits``.
        """
        if value < 0:
            return 0
        position = bisect.bisect_right(self.indices, self.layout.index(value))
        return self._cumulative[position - 1] if position else 0

    def cumulative(self, bounds: Iterable[float]) -> list[int]:
        """:meth:`count_at_or_below` for each bound (recorded units; floats are floored)."""
        return [self.count_at_or_below(math.floor(bound)) for bound in bounds]

    def export_buckets(
        self, spec: MetricSpec, bounds: Sequence[float] | None = None
    ) -> list[tuple[float, int]]:
        """``(bound, cumulative count)`` per finite bucket bound, in the exported unit.

        Parameters
        ----------
        spec
            The histogram's spec (its ``scale`` converts units).
        bounds
            Upper bounds in the exported unit; defaults to the registry's
            (:attr:`MetricSpec.export_buckets`). ``+Inf`` (= :attr:`count`) is not included.
        """
        if bounds is None:
            return list(zip(spec.export_buckets, self.cumulative(spec.buckets), strict=True))
        return [(bound, self.count_at_or_below(spec.to_recorded(bound))) for bound in bounds]

    def quantile(self, q: float) -> int | None:
        """The value at quantile ``q`` (0..1): the highest value of the bucket holding it.

        Clamped to ``[min, max]``; ``None`` when the histogram is empty.

        Raises
        ------
        InvalidValue
            If ``q`` is not in ``[0, 1]``.
        """
        if not (isinstance(q, (int, float)) and 0.0 <= q <= 1.0):
            raise InvalidValue("q", q, "must be a number in [0, 1]")
        if not self.count or self.min is None or self.max is None:
            return None
        rank = max(1, math.ceil(q * self.count))
        position = bisect.bisect_left(self._cumulative, rank)
        value = self.layout.highest_equivalent(self.indices[position])
        return min(max(value, self.min), self.max)

    @property
    def mean(self) -> float | None:
        """The exact mean, or ``None`` when empty."""
        return self.sum / self.count if self.count else None


@attrs.frozen
class FamilySnapshot:
    """All samples of one metric.

    Attributes
    ----------
    spec
        What the metric means.
    samples
        One per label combination, in the order the combinations were first used.
    """

    spec: MetricSpec
    samples: tuple[Sample | HistogramSample, ...]

    def find(self, labels: Sequence[str]) -> Sample | HistogramSample | None:
        """The sample with exactly these label values, or ``None``."""
        wanted = tuple(labels)
        for sample in self.samples:
            if sample.labels == wanted:
                return sample
        return None


@attrs.frozen
class MetricsSnapshot:
    """The state of every engine metric at one moment.

    Attributes
    ----------
    trader_id
        The kernel's trader; exporters add it to every sample as the ``trader_id`` label.
    sequence
        1 for the first snapshot of an :class:`~alphaforge.metrics.EngineMetrics`, then +1.
    ts_ns
        The kernel clock's time (simulated in a backtest).
    wall_ns
        Wall-clock time when the snapshot was taken.
    start_wall_ns
        Wall-clock time when the metrics began counting (counters are cumulative from here).
    families
        One per registered metric, in registry order.
    """

    trader_id: str
    sequence: int
    ts_ns: int
    wall_ns: int
    start_wall_ns: int
    families: tuple[FamilySnapshot, ...]

    def family(self, name: str) -> FamilySnapshot:
        """The snapshot of metric ``name``.

        Raises
        ------
        InvalidValue
            If the snapshot has no metric of that name.
        """
        for family in self.families:
            if family.spec.name == name:
                return family
        raise InvalidValue("name", name, "is not a metric in this snapshot")

    def value(self, name: str, *labels: str) -> int | float:
        """The recorded value of a counter or gauge sample (0 if the labels were never used).

        Raises
        ------
        InvalidValue
            If ``name`` is unknown or a histogram.
        """
        family = self.family(name)
        if family.spec.kind is MetricKind.HISTOGRAM:
            raise InvalidValue("name", name, "is a histogram; use histogram()")
        sample = family.find(labels)
        return sample.value if isinstance(sample, Sample) else 0

    def histogram(self, name: str, *labels: str) -> HistogramSample | None:
        """The histogram sample with these labels, or ``None`` if they were never used.

        Raises
        ------
        InvalidValue
            If ``name`` is unknown or not a histogram.
        """
        family = self.family(name)
        if family.spec.kind is not MetricKind.HISTOGRAM:
            raise InvalidValue("name", name, "is not a histogram")
        sample = family.find(labels)
        return sample if isinstance(sample, HistogramSample) else None

    def label_dict(self, spec: MetricSpec, sample: Sample | HistogramSample) -> dict[str, str]:
        """Every exported label of ``sample`` as a dict (``trader_id`` first)."""
        return dict(
            zip((*COMMON_LABELS, *spec.labels), (self.trader_id, *sample.labels), strict=True)
        )
