"""``EngineMetrics``: the kernel's metric cells, snapshots and exporters.

Threading rule
--------------
The engines are single-threaded (see the design). Every write to a cell, every
:meth:`EngineMetrics.snapshot` / :meth:`EngineMetrics.export` and every exporter call happens
on the engine thread; nothing on that path takes a lock. Other threads (a Prometheus HTTP
server, an OTLP push loop) only read immutable :class:`~alphaforge.metrics.MetricsSnapshot`
objects handed to them by ``export`` or read from :attr:`EngineMetrics.latest` (a single
reference, replaced atomically).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from alphaforge.errors import InvalidValue
from alphaforge.metrics.exporter import MetricsExporter
from alphaforge.metrics.hdr import LogLinearLayout
from alphaforge.metrics.instruments import CounterFamily, GaugeFamily, HistogramFamily
from alphaforge.metrics.registry import ENGINE_METRICS, MetricKind, MetricRegistry
from alphaforge.metrics.snapshot import FamilySnapshot, MetricsSnapshot

if TYPE_CHECKING:
    from alphaforge.clock import Clock, TimeEvent
    from alphaforge.msgbus import MessageBus

__all__ = ["EXPORT_TIMER", "Collector", "EngineMetrics"]

EXPORT_TIMER = "alphaforge.metrics.export"
"""The name of the kernel-clock timer that exports periodically."""

Collector = Callable[["EngineMetrics"], None]
"""Called at the start of every snapshot to copy a component's own counters into the cells."""

Family = CounterFamily | GaugeFamily | HistogramFamily

_LOG = "alphaforge.metrics"


class EngineMetrics:
    """The metrics of one kernel: one family per :data:`~alphaforge.metrics.ENGINE_METRICS` entry.

    Parameters
    ----------
    trader_id
        Added to every exported sample as the ``trader_id`` label.
    clock
        Timestamps snapshots and runs the periodic export timer; without one, snapshots use the
        wall clock and only explicit exports happen.
    enabled
        Whether the kernel runs metrics (exporters, bus metering, periodic export). Engines may
        skip recording when it is False; recording still works either way.
    export_interval_ms
        Period of the export timer on ``clock`` while started; 0 disables it.
    layout
        Histogram bucket layout (precision).

    Raises
    ------
    InvalidValue
        If ``enabled`` and numpy (needed to fold histograms) is not installed.

    Examples
    --------
    >>> metrics = EngineMetrics(trader_id="TRADER-001")
    >>> filled = metrics.orders.labels("filled")   # bind once
    >>> filled.value += 1                          # hot path: a plain attribute update
    >>> metrics.snapshot().value("alphaforge_orders", "filled")
    1
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_collectors",
        "_exporters",
        "_families",
        "_interval_ns",
        "_latest",
        "_log",
        "_running",
        "_sequence",
        "bus_delivered",
        "bus_handler_errors",
        "bus_published",
        "book_resyncs",
        "clock_offset",
        "data_events",
        "data_latency",
        "enabled",
        "equity",
        "export_errors",
        "fill_latency",
        "open_orders",
        "open_positions",
        "order_ack_latency",
        "orders",
        "rate_limit_headroom",
        "reconnects",
        "registry",
        "start_wall_ns",
        "trader_id",
    )

    bus_published: CounterFamily
    bus_delivered: CounterFamily
    bus_handler_errors: CounterFamily
    data_events: CounterFamily
    book_resyncs: CounterFamily
    reconnects: CounterFamily
    orders: CounterFamily
    open_orders: GaugeFamily
    open_positions: GaugeFamily
    equity: GaugeFamily
    clock_offset: GaugeFamily
    rate_limit_headroom: GaugeFamily
    data_latency: HistogramFamily
    order_ack_latency: HistogramFamily
    fill_latency: HistogramFamily

    def __init__(
        self,
        *,
        trader_id: str = "TRADER-001",
        clock: Clock | None = None,
        enabled: bool = True,
        export_interval_ms: int = 0,
        layout: LogLinearLayout | None = None,
    ) -> None:
        if not isinstance(trader_id, str) or not trader_id:
            raise InvalidValue("trader_id", trader_id, "must be a non-empty str")
        if isinstance(export_interval_ms, bool) or not isinstance(export_interval_ms, int):
            raise InvalidValue("export_interval_ms", export_interval_ms, "must be an int")
        if export_interval_ms < 0:
            raise InvalidValue("export_interval_ms", export_interval_ms, "must be >= 0")
        self.trader_id = trader_id
        self.enabled = enabled
        self.registry: MetricRegistry = ENGINE_METRICS
        self.start_wall_ns = time.time_ns()
        self.export_errors = 0
        self._clock = clock
        self._interval_ns = export_interval_ms * 1_000_000
        self._collectors: list[Collector] = []
        self._exporters: dict[str, MetricsExporter] = {}
        self._latest: MetricsSnapshot | None = None
        self._sequence = 0
        self._running = False
        self._log = logging.getLogger(_LOG)
        layout = layout or LogLinearLayout()
        families: dict[str, Family] = {}
        for spec in self.registry:
            family: Family
            if spec.kind is MetricKind.COUNTER:
                family = CounterFamily(spec)
            elif spec.kind is MetricKind.GAUGE:
                family = GaugeFamily(spec)
            else:
                family = HistogramFamily(spec, layout)
            families[spec.name] = family
            object.__setattr__(self, spec.attribute, family)
        self._families: Mapping[str, Family] = MappingProxyType(families)

    def __repr__(self) -> str:
        return (
            f"EngineMetrics(trader_id={self.trader_id!r}, enabled={self.enabled}, "
            f"exporters={list(self._exporters)}, snapshots={self._sequence})"
        )

    # -- families ------------------------------------------------------------------------------

    @property
    def families(self) -> Mapping[str, Family]:
        """Every metric family by name, in registry order."""
        return self._families

    def family(self, name: str) -> Family:
        """The family of metric ``name``.

        Raises
        ------
        InvalidValue
            If no metric has that name.
        """
        family = self._families.get(name)
        if family is None:
            raise InvalidValue("name", name, "is not a registered metric")
        return family

    # -- collectors ----------------------------------------------------------------------------

    def add_collector(self, collector: Collector) -> None:
        """Run ``collector(self)`` at the start of every snapshot (engine thread).

        Raises
        ------
        InvalidValue
            If ``collector`` is not callable.
        """
        if not callable(collector):
            raise InvalidValue("collector", collector, "must be callable")
        self._collectors.append(collector)

    def watch_bus(self, bus: MessageBus) -> None:
        """Collect ``bus``'s counters into the ``bus_*`` metrics at every snapshot.

        Per-family published/delivered counts need a
        :class:`~alphaforge.msgbus.MeteredMessageBus`; any bus reports handler errors.
        """
        from alphaforge.msgbus import MeteredMessageBus

        def collect(metrics: EngineMetrics) -> None:
            if isinstance(bus, MeteredMessageBus):
                published, delivered = metrics.bus_published, metrics.bus_delivered
                for family, (n_published, n_delivered) in bus.family_counts().items():
                    published.labels(family).value = n_published
                    delivered.labels(family).value = n_delivered
            metrics.bus_handler_errors.labels().value = bus.handler_error_count

        self.add_collector(collect)

    # -- snapshots -----------------------------------------------------------------------------

    @property
    def latest(self) -> MetricsSnapshot | None:
        """The most recent snapshot (safe to read from any thread), or ``None`` before one."""
        return self._latest

    @property
    def snapshot_count(self) -> int:
        """Snapshots taken so far."""
        return self._sequence

    def snapshot(self) -> MetricsSnapshot:
        """Fold pending histogram samples and capture every metric (engine thread only).

        Returns
        -------
        MetricsSnapshot
            Immutable; also stored as :attr:`latest`.
        """
        for collect in self._collectors:
            collect(self)
        self._sequence += 1
        clock = self._clock
        snapshot = MetricsSnapshot(
            trader_id=self.trader_id,
            sequence=self._sequence,
            ts_ns=clock.timestamp_ns() if clock is not None else time.time_ns(),
            wall_ns=time.time_ns(),
            start_wall_ns=self.start_wall_ns,
            families=tuple(FamilySnapshot(f.spec, f.samples()) for f in self._families.values()),
        )
        self._latest = snapshot
        return snapshot

    # -- exporters -----------------------------------------------------------------------------

    @property
    def exporters(self) -> Mapping[str, MetricsExporter]:
        """The exporters, by configured name."""
        return MappingProxyType(self._exporters)

    def add_exporter(self, name: str, exporter: object) -> None:
        """Add an exporter (before :meth:`start`).

        Raises
        ------
        InvalidValue
            If the name is taken or empty, or ``exporter`` lacks ``start``/``export``/``stop``/
            ``close``.
        """
        if not isinstance(name, str) or not name:
            raise InvalidValue("name", name, "must be a non-empty str")
        if name in self._exporters:
            raise InvalidValue("name", name, "an exporter with this name is already added")
        if not isinstance(exporter, MetricsExporter):
            raise InvalidValue(
                f"metrics_exporter[{name}]",
                exporter,
                "must have start(metrics), export(snapshot), stop() and close() methods",
            )
        self._exporters[name] = exporter
        if self._running:
            exporter.start(self)

    def export(self) -> MetricsSnapshot:
        """Take a snapshot and hand it to every exporter (engine thread only).

        An exporter that raises is logged and counted in :attr:`export_errors`; the others
        still get the snapshot.
        """
        snapshot = self.snapshot()
        for name, exporter in self._exporters.items():
            try:
                exporter.export(snapshot)
            except Exception:  # noqa: BLE001 - an exporter must never break the engine
                self.export_errors += 1
                self._log.exception("metrics exporter %r failed to export", name)
        return snapshot

    @property
    def running(self) -> bool:
        """Between :meth:`start` and :meth:`stop`."""
        return self._running

    def start(self) -> None:
        """Start the exporters, export a first snapshot and arm the export timer.

        If an exporter's ``start`` raises, the ones already started are stopped again and the
        error propagates. Does nothing when metrics are not enabled.
        """
        if self._running or not self.enabled:
            return
        started: list[tuple[str, MetricsExporter]] = []
        try:
            for name, exporter in self._exporters.items():
                exporter.start(self)
                started.append((name, exporter))
        except BaseException:
            for name, exporter in reversed(started):
                self._call(name, exporter.stop, "stop")
            raise
        self._running = True
        self.export()
        if self._clock is not None and self._interval_ns and self._exporters:
            self._clock.set_timer(EXPORT_TIMER, self._interval_ns, self._on_timer)

    def stop(self) -> None:
        """Disarm the timer, export a final snapshot and stop the exporters."""
        if not self._running:
            return
        if self._clock is not None and EXPORT_TIMER in self._clock.timer_names:
            self._clock.cancel_timer(EXPORT_TIMER)
        self.export()
        self._running = False
        for name, exporter in reversed(self._exporters.items()):
            self._call(name, exporter.stop, "stop")

    def close(self) -> None:
        """Stop if running, then close every exporter."""
        self.stop()
        for name, exporter in reversed(self._exporters.items()):
            self._call(name, exporter.close, "close")

    def _on_timer(self, event: TimeEvent) -> None:
        self.export()

    def _call(self, name: str, method: Callable[[], Any], action: str) -> None:
        try:
            method()
        except Exception:  # noqa: BLE001 - shutting down: report and go on with the others
            self.export_errors += 1
            self._log.exception("metrics exporter %r failed to %s", name, action)
