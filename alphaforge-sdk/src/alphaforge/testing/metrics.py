"""Conformance checks for metrics-exporter plugins.

Subclass :class:`MetricsExporterConformance` in your plugin's tests and supply two fixtures::

    from alphaforge.testing import ExportedSample, MetricsExporterConformance

    class TestMyExporter(MetricsExporterConformance):
        exporter_name = "myexporter"          # the name your plugin registers

        @pytest.fixture
        def metrics_exporter_factory(self):
            return lambda: MyExporter(port=0)  # a new, test-configured exporter per call

        @pytest.fixture
        def metrics_exporter_reader(self):
            def read(exporter):                # what the exporter exposes right now
                return [ExportedSample(...), ...]
            return read

The kit builds a backtest kernel with metrics enabled and your exporter, drives a synthetic,
deterministic workload through it (message-bus publishes and a recording on every registered
metric), exports, reads back with your reader and compares with the engine's own snapshot.
Each check is a test method with a fixed name, so its id (``kind/check``, and the pytest node
id) is stable; :data:`METRICS_EXPORTER_CHECKS` lists them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs
import pytest

from alphaforge.kernel import Kernel, KernelConfig, hookimpl
from alphaforge.kernel.hookspec import Register
from alphaforge.metrics import (
    COMMON_LABELS,
    ENGINE_METRICS,
    Counter,
    ExporterConfig,
    Gauge,
    HistogramSample,
    MetricKind,
    MetricsConfig,
    MetricsExporter,
    MetricSource,
    MetricSpec,
    MetricsSnapshot,
    Sample,
)
from alphaforge.testing.registered import registered_component

__all__ = [
    "METRICS_EXPORTER_CHECKS",
    "ExportReader",
    "ExportedSample",
    "ExporterFactory",
    "MetricsExporterConformance",
]

KIND = "metrics_exporter"
METRICS_EXPORTER_CHECKS = (
    "exports_every_metric",
    "names_units_labels",
    "values_match_engine",
    "histograms_consistent",
    "counters_never_decrease",
    "survives_stop_start",
    "survives_fresh_kernel",
    "registered_by_plugin",
)
"""The stable ids of the checks, in order (``metrics_exporter/<id>``)."""

UNDER_TEST = "under-test"
TRADER_ID = "CONFORM-001"
# Open label values: a plain one and one that needs escaping in text formats.
OPEN_LABEL_VALUES = ("SIM", 'we"ird\\va lue')
HISTOGRAM_SAMPLES_NS = (180, 700, 1_500, 2_500, 40_000, 900_000, 3_000_000_000)
BUS_PUBLISHES = (("data.quotes.SIM.AAA", 7), ("data.trades.SIM.BBB", 4), ("events.order.S-1", 3))
BUS_DATA_HANDLERS = 2


def _labels(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen
class ExportedSample:
    """One sample as an exporter exposed it, normalised by the plugin's reader.

    Attributes
    ----------
    name
        The metric (family) name on the wire, without format suffixes (``_total``,
        ``_bucket``, ``_sum``, ``_count``).
    kind
        Counter, gauge or histogram, as the wire format typed it.
    unit
        The unit on the wire (``unit_style`` of the test class says which notation).
    labels
        Every label / attribute, ``trader_id`` included (``le`` excluded).
    value
        Counters and gauges, in the exported unit.
    count, sum
        Histograms: number and sum of the values (in the exported unit).
    buckets
        Histograms: ``(upper bound, cumulative count)`` in the exported unit, ascending, the
        last bound ``math.inf``.
    """

    name: str
    kind: MetricKind
    unit: str
    labels: dict[str, str] = attrs.field(converter=_labels, hash=False)
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    buckets: tuple[tuple[float, int], ...] = ()

    @property
    def key(self) -> tuple[str, frozenset[tuple[str, str]]]:
        """``(name, labels)``: identifies the sample across reads."""
        return self.name, frozenset(self.labels.items())


ExporterFactory = Callable[[], MetricsExporter]
"""Returns a new exporter configured for tests (ephemeral ports, temporary files)."""

ExportReader = Callable[[Any], Sequence[ExportedSample]]
"""Reads back what an exporter currently exposes (called right after each export)."""


class _FactoryPlugin:
    """Registers the exporter under test the way a plugin does."""

    def __init__(self, factory: ExporterFactory) -> None:
        self.factory = factory

    @hookimpl
    def alphaforge_register_metrics_exporters(self, register: Register) -> None:
        register(UNDER_TEST, lambda **config: self.factory(), description="exporter under test")


def check_id(check: str) -> pytest.MarkDecorator:
    """The marker every check carries (stable id ``metrics_exporter/<check>``)."""
    assert check in METRICS_EXPORTER_CHECKS, check
    return pytest.mark.alphaforge_conformance(KIND, check)


class ConformanceRun:
    """One kernel with the exporter under test, a workload and read-backs.

    Parameters
    ----------
    factory
        Builds the exporter.
    reader
        Reads what the exporter exposes.
    """

    def __init__(self, factory: ExporterFactory, reader: ExportReader) -> None:
        self.reader = reader
        self.rounds = 0
        self.kernel = Kernel(
            KernelConfig(
                trader_id=TRADER_ID,
                load_entry_points=False,
                metrics=MetricsConfig(
                    enabled=True, exporters=(ExporterConfig(UNDER_TEST),), export_interval_ms=0
                ),
            ),
            plugins=[_FactoryPlugin(factory)],
        )
        self.kernel.build()
        self.kernel.msgbus.on_handler_error = lambda *args: None
        self._subscribed = False

    @property
    def exporter(self) -> MetricsExporter:
        return self.kernel.metrics.exporters[UNDER_TEST]

    def start(self) -> None:
        self.kernel.start()

    def workload(self) -> None:
        """One deterministic round: bus traffic and a recording on every engine metric."""
        bus = self.kernel.msgbus
        if not self._subscribed:
            for _ in range(BUS_DATA_HANDLERS):
                bus.subscribe("data.*", _Sink())
            bus.subscribe("errors.*", _raise)
            self._subscribed = True
        for topic, count in BUS_PUBLISHES:
            for n in range(count):
                bus.publish(topic, n)
        bus.publish("errors.test", None)
        self.rounds += 1
        metrics = self.kernel.metrics
        for spec in ENGINE_METRICS:
            if spec.source is not MetricSource.ENGINE:
                continue
            family = metrics.family(spec.name)
            for i, labels in enumerate(_label_combinations(spec)):
                cell = family.labels(*labels)
                if isinstance(cell, Counter):
                    cell.value += 3 + i
                elif isinstance(cell, Gauge):
                    cell.value = (
                        (-1) ** i * 1_500 * (i + self.rounds)
                        if spec.scale != 1.0
                        else 0.25 * (i + 1) + self.rounds
                    )
                else:
                    record = cell.record
                    for value in HISTOGRAM_SAMPLES_NS:
                        record(value + i)

    def export_and_read(self) -> tuple[MetricsSnapshot, dict[Any, ExportedSample]]:
        """Export now (engine thread) and read back, keyed by :attr:`ExportedSample.key`."""
        snapshot = self.kernel.metrics.export()
        exported: dict[Any, ExportedSample] = {}
        for sample in self.reader(self.exporter):
            assert sample.key not in exported, (
                f"sample exported twice: {sample.name} {sample.labels}"
            )
            exported[sample.key] = sample
        return snapshot, exported

    def dispose(self) -> None:
        self.kernel.dispose()


class _Sink:
    """A distinct no-op handler per subscription."""

    def __call__(self, msg: object) -> None:
        pass


def _raise(msg: object) -> None:
    raise RuntimeError("conformance: a failing handler")


def _label_combinations(spec: MetricSpec) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for label in spec.labels:
        values = spec.allowed_values(label) or OPEN_LABEL_VALUES
        combos = [(*combo, value) for combo in combos for value in values]
    return combos


def _key(snapshot: MetricsSnapshot, spec: MetricSpec, sample: Sample | HistogramSample) -> Any:
    return spec.name, frozenset(snapshot.label_dict(spec, sample).items())


def _close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _expected_samples(snapshot: MetricsSnapshot) -> Iterator[tuple[MetricSpec, Any, Any]]:
    for family in snapshot.families:
        for sample in family.samples:
            yield family.spec, sample, _key(snapshot, family.spec, sample)


class MetricsExporterConformance:
    """The checks every metrics exporter must pass. Subclass it as ``Test...``.

    Fixtures to supply: ``metrics_exporter_factory`` (:data:`ExporterFactory`) and
    ``metrics_exporter_reader`` (:data:`ExportReader`).

    Attributes
    ----------
    exporter_name
        The name the plugin registers through ``alphaforge_register_metrics_exporters``;
        checked against the installed entry points (``registered_by_plugin``). ``None`` skips
        that check.
    unit_style
        How the exporter writes units: ``"unit"`` (the registry's ``unit``, e.g. ``seconds``,
        as Prometheus/OpenMetrics) or ``"ucum"`` (the registry's ``ucum``, e.g. ``s``, as
        OpenTelemetry).
    """

    exporter_name: ClassVar[str | None] = None
    unit_style: ClassVar[Literal["unit", "ucum"]] = "unit"

    @pytest.fixture
    def metrics_exporter_factory(self) -> ExporterFactory:
        """Override: return a callable building a new, test-configured exporter."""
        raise NotImplementedError("supply a 'metrics_exporter_factory' fixture")

    @pytest.fixture
    def metrics_exporter_reader(self) -> ExportReader:
        """Override: return a callable reading back what an exporter exposes."""
        raise NotImplementedError("supply a 'metrics_exporter_reader' fixture")

    @pytest.fixture
    def conformance_run(
        self, metrics_exporter_factory: ExporterFactory, metrics_exporter_reader: ExportReader
    ) -> Iterator[ConformanceRun]:
        run = ConformanceRun(metrics_exporter_factory, metrics_exporter_reader)
        try:
            yield run
        finally:
            run.dispose()

    # -- helpers ---------------------------------------------------------------------------

    def assert_matches_engine(
        self, snapshot: MetricsSnapshot, exported: Mapping[Any, ExportedSample]
    ) -> None:
        """Every sample of ``snapshot`` is exported with the engine's value."""
        for spec, sample, key in _expected_samples(snapshot):
            got = exported.get(key)
            assert got is not None, f"not exported: {spec.name} {dict(key[1])}"
            where = f"{spec.name} {got.labels}"
            if isinstance(sample, HistogramSample):
                assert got.count == sample.count, f"{where}: count {got.count} != {sample.count}"
                assert _close(got.sum, spec.to_exported(sample.sum)), f"{where}: sum {got.sum}"
                for bound, cumulative in got.buckets:
                    if math.isinf(bound):
                        continue
                    want = sample.count_at_or_below(spec.to_recorded(bound))
                    assert cumulative == want, f"{where}: le={bound} has {cumulative} != {want}"
            elif spec.kind is MetricKind.COUNTER:
                assert got.value == sample.value, f"{where}: {got.value} != {sample.value}"
            else:
                assert _close(got.value, spec.to_exported(sample.value)), f"{where}: {got.value}"

    def assert_bus_counts(self, snapshot: MetricsSnapshot, rounds: int) -> None:
        """The bus metrics equal what the workload published (``rounds`` times)."""
        for topic, count in BUS_PUBLISHES:
            family = ".".join(topic.split(".")[:2])
            delivered = count * BUS_DATA_HANDLERS if topic.startswith("data.") else 0
            assert snapshot.value("alphaforge_bus_published_messages", family) == count * rounds
            assert snapshot.value("alphaforge_bus_delivered_messages", family) == delivered * rounds
        assert snapshot.value("alphaforge_bus_handler_errors") == rounds

    # -- checks ----------------------------------------------------------------------------

    @check_id("exports_every_metric")
    def test_exports_every_metric(self, conformance_run: ConformanceRun) -> None:
        conformance_run.start()
        conformance_run.workload()
        snapshot, exported = conformance_run.export_and_read()
        assert {name for name, _ in exported} == set(ENGINE_METRICS.names())
        missing = [key for _, _, key in _expected_samples(snapshot) if key not in exported]
        assert not missing, f"samples not exported: {missing}"

    @check_id("names_units_labels")
    def test_names_units_labels(self, conformance_run: ConformanceRun) -> None:
        conformance_run.start()
        conformance_run.workload()
        _, exported = conformance_run.export_and_read()
        assert exported, "the exporter exposed nothing"
        for sample in exported.values():
            assert sample.name in ENGINE_METRICS, f"{sample.name} is not in the registry"
            spec = ENGINE_METRICS.get(sample.name)
            unit = spec.unit if self.unit_style == "unit" else spec.ucum
            assert sample.kind is spec.kind, f"{sample.name}: kind {sample.kind} != {spec.kind}"
            assert sample.unit == unit, f"{sample.name}: unit {sample.unit!r} != {unit!r}"
            assert set(sample.labels) == set(spec.export_labels), (
                f"{sample.name}: labels {sorted(sample.labels)} != {sorted(spec.export_labels)}"
            )
            assert sample.labels[COMMON_LABELS[0]] == TRADER_ID
            for label in spec.labels:
                allowed = spec.allowed_values(label)
                assert allowed is None or sample.labels[label] in allowed, (sample.name, label)

    @check_id("values_match_engine")
    def test_values_match_engine(self, conformance_run: ConformanceRun) -> None:
        conformance_run.start()
        conformance_run.workload()
        snapshot, exported = conformance_run.export_and_read()
        self.assert_bus_counts(snapshot, rounds=1)
        self.assert_matches_engine(snapshot, exported)

    @check_id("histograms_consistent")
    def test_histograms_consistent(self, conformance_run: ConformanceRun) -> None:
        conformance_run.start()
        conformance_run.workload()
        conformance_run.workload()
        _, exported = conformance_run.export_and_read()
        histograms = [s for s in exported.values() if s.kind is MetricKind.HISTOGRAM]
        assert histograms, "no histogram exported"
        precision = conformance_run.kernel.metrics.data_latency.layout.relative_precision
        for sample in histograms:
            where = f"{sample.name} {sample.labels}"
            bounds = [b for b, _ in sample.buckets]
            counts = [c for _, c in sample.buckets]
            assert bounds and math.isinf(bounds[-1]), f"{where}: no +Inf bucket"
            assert all(a < b for a, b in itertools.pairwise(bounds)), f"{where}: bounds not sorted"
            assert all(a <= b for a, b in itertools.pairwise(counts)), f"{where}: counts decrease"
            assert counts[-1] == sample.count, f"{where}: +Inf bucket != count"
            per_bucket = [b - a for a, b in zip([0, *counts[:-1]], counts, strict=True)]
            assert sum(per_bucket) == sample.count
            assert sample.sum is not None and sample.sum >= 0
            lower = sum(n * lo for n, lo in zip(per_bucket, [0.0, *bounds[:-1]], strict=True))
            upper = sum(n * hi for n, hi in zip(per_bucket, bounds, strict=True) if n)
            slack = 1 + 2 * precision
            assert lower / slack <= sample.sum <= upper * slack, (
                f"{where}: sum {sample.sum} outside [{lower}, {upper}] given the buckets"
            )

    @check_id("counters_never_decrease")
    def test_counters_never_decrease(self, conformance_run: ConformanceRun) -> None:
        conformance_run.start()
        reads = [conformance_run.export_and_read()[1]]
        for _ in range(2):
            conformance_run.workload()
            reads.append(conformance_run.export_and_read()[1])
        conformance_run.kernel.stop()
        conformance_run.start()
        reads.append(conformance_run.export_and_read()[1])
        for before, after in itertools.pairwise(reads):
            for key, old in before.items():
                if old.kind is MetricKind.GAUGE:
                    continue
                new = after.get(key)
                assert new is not None, f"{old.name} {old.labels} disappeared"
                if old.kind is MetricKind.COUNTER:
                    assert new.value is not None and old.value is not None
                    assert new.value >= old.value, f"{old.name} {old.labels} decreased"
                else:
                    assert new.count is not None and old.count is not None
                    assert new.count >= old.count, f"{old.name} {old.labels} count decreased"
                    for (_, c_old), (_, c_new) in zip(old.buckets, new.buckets, strict=True):
                        assert c_new >= c_old, f"{old.name} {old.labels} bucket decreased"

    @check_id("survives_stop_start")
    def test_survives_stop_start(self, conformance_run: ConformanceRun) -> None:
        conformance_run.start()
        conformance_run.workload()
        conformance_run.export_and_read()
        conformance_run.kernel.stop()
        conformance_run.start()
        conformance_run.workload()
        snapshot, exported = conformance_run.export_and_read()
        self.assert_bus_counts(snapshot, rounds=2)
        self.assert_matches_engine(snapshot, exported)

    @check_id("survives_fresh_kernel")
    def test_survives_fresh_kernel(
        self, metrics_exporter_factory: ExporterFactory, metrics_exporter_reader: ExportReader
    ) -> None:
        first = ConformanceRun(metrics_exporter_factory, metrics_exporter_reader)
        try:
            first.start()
            first.workload()
            first.workload()
            first.export_and_read()
        finally:
            first.dispose()
        second = ConformanceRun(metrics_exporter_factory, metrics_exporter_reader)
        try:
            second.start()
            second.workload()
            snapshot, exported = second.export_and_read()
            self.assert_bus_counts(snapshot, rounds=1)
            self.assert_matches_engine(snapshot, exported)
        finally:
            second.dispose()

    @check_id("registered_by_plugin")
    def test_registered_by_plugin(self) -> None:
        if self.exporter_name is None:
            pytest.skip("exporter_name is not set on the test class")
        registered_component("metrics_exporter", self.exporter_name, "metrics exporter")
