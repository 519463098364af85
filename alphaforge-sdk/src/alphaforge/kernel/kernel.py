"""The kernel: plugins, clock, message bus, cache and engines behind one lifecycle.

``build -> start -> stop -> dispose``; ``start`` and ``stop`` may alternate. A kernel is a
context manager (sync and async) that builds and starts on entry and stops and disposes on exit.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import attrs

from alphaforge.cache import Cache
from alphaforge.clock import Clock, LiveClock, TestClock
from alphaforge.errors import ConfigError, KernelStateError
from alphaforge.kernel.plugins import Component, PluginInfo, PluginRegistry
from alphaforge.metrics.config import MetricsConfig
from alphaforge.metrics.engine import EngineMetrics
from alphaforge.model.identifiers import TraderId
from alphaforge.msgbus import MessageBus, MeteredMessageBus


class Environment(enum.Enum):
    BACKTEST = "backtest"
    LIVE = "live"


class KernelState(enum.Enum):
    CREATED = "created"
    BUILT = "built"
    RUNNING = "running"
    STOPPED = "stopped"
    DISPOSED = "disposed"


@attrs.frozen
class KernelConfig:
    """Kernel settings.

    Parameters
    ----------
    trader_id
        The trader this kernel runs for, ``NAME-TAG``.
    environment
        ``backtest`` uses a deterministic :class:`~alphaforge.clock.TestClock`; ``live`` the
        wall clock.
    strict_plugins
        A plugin that fails to load is an error instead of being quarantined.
    load_entry_points
        Discover installed plugins; off, only the explicitly passed plugins are used.
    engines
        Names of registered engines to instantiate at build, in order.
    metrics
        Engine metrics: enabled flag, exporters by name with their config, export interval
        (see :class:`~alphaforge.metrics.MetricsConfig`).
    """

    trader_id: str = "TRADER-001"
    environment: Environment = Environment.BACKTEST
    strict_plugins: bool = False
    load_entry_points: bool = True
    engines: tuple[str, ...] = ()
    metrics: MetricsConfig = attrs.field(factory=MetricsConfig)


_TRANSITIONS: Mapping[str, tuple[frozenset[KernelState], KernelState]] = {
    "build": (frozenset({KernelState.CREATED}), KernelState.BUILT),
    "start": (frozenset({KernelState.BUILT, KernelState.STOPPED}), KernelState.RUNNING),
    "stop": (frozenset({KernelState.RUNNING}), KernelState.STOPPED),
    "dispose": (
        frozenset({KernelState.CREATED, KernelState.BUILT, KernelState.STOPPED}),
        KernelState.DISPOSED,
    ),
}


class Kernel:
    """The core of an AlphaForge node; embed one (or several) per process.

    Parameters
    ----------
    config
        Kernel settings; defaults to a backtest kernel discovering installed plugins.
    plugins
        Extra plugin objects registered alongside the entry points.
    clock
        Overrides the clock chosen from ``config.environment``.
    """

    def __init__(
        self,
        config: KernelConfig | None = None,
        *,
        plugins: Sequence[object] = (),
        clock: Clock | None = None,
    ) -> None:
        self.config = config or KernelConfig()
        self.trader_id = TraderId(self.config.trader_id)
        self._extra_plugins = tuple(plugins)
        self.clock: Clock = clock or (
            TestClock() if self.config.environment is Environment.BACKTEST else LiveClock()
        )
        metrics = self.config.metrics
        self.metrics = EngineMetrics(
            trader_id=str(self.trader_id),
            clock=self.clock,
            enabled=metrics.enabled,
            export_interval_ms=metrics.export_interval_ms,
        )
        # The metering bus only when metrics are on: the plain bus's publish pays nothing.
        self.msgbus = (
            MeteredMessageBus(family_depth=metrics.topic_family_depth)
            if metrics.enabled
            else MessageBus()
        )
        if metrics.enabled:
            self.metrics.watch_bus(self.msgbus)
        self.cache = Cache()
        self.engines: dict[str, Any] = {}
        self._plugins: PluginRegistry | None = None
        self.state = KernelState.CREATED

    def __repr__(self) -> str:
        return f"Kernel(trader_id={str(self.trader_id)!r}, state={self.state.value})"

    # -- lifecycle ---------------------------------------------------------------------------

    def _check(self, action: str) -> KernelState:
        """The state ``action`` leads to; raises if it is not allowed in the current state."""
        allowed, target = _TRANSITIONS[action]
        if self.state not in allowed:
            raise KernelStateError(
                f"cannot {action} a kernel in state {self.state.value!r} "
                f"(allowed from: {', '.join(sorted(s.value for s in allowed))})"
            )
        return target

    def build(self) -> Kernel:
        """Discover plugins, collect their components and instantiate the configured engines."""
        built = self._check("build")
        self._plugins = PluginRegistry(
            self._extra_plugins,
            strict=self.config.strict_plugins,
            load_entry_points=self.config.load_entry_points,
        )
        for name in self.config.engines:
            self.engines[name] = self._plugins.component("engine", name).factory(self)
        if self.config.metrics.enabled:
            self._build_exporters(self._plugins)
        self.state = built
        self._plugins.manager.hook.alphaforge_kernel_built(kernel=self)
        return self

    def _build_exporters(self, plugins: PluginRegistry) -> None:
        for index, exporter in enumerate(self.config.metrics.exporters):
            factory = plugins.component("metrics_exporter", exporter.name).factory
            try:
                instance = factory(**exporter.config)
            except TypeError as exc:  # unknown or missing keyword arguments
                # Only the keys: values may be credentials (e.g. HTTP headers).
                raise ConfigError(
                    f"metrics.exporters[{index}].config", sorted(exporter.config), str(exc)
                ) from exc
            self.metrics.add_exporter(exporter.name, instance)

    def start(self) -> None:
        target = self._check("start")
        self.metrics.start()  # exporters first: a failing one leaves the kernel as it was
        self.state = target
        self.hook.alphaforge_kernel_started(kernel=self)

    def stop(self) -> None:
        self.state = self._check("stop")
        self.hook.alphaforge_kernel_stopped(kernel=self)
        self.metrics.stop()  # a final snapshot, after the plugins' stop hooks

    def dispose(self) -> None:
        if self.state is KernelState.RUNNING:
            self.stop()
        self.state = self._check("dispose")
        self.metrics.close()
        if self._plugins is not None:
            self._plugins.manager.hook.alphaforge_kernel_disposed(kernel=self)
            self._plugins.close()
        self.cache.reset()

    def __enter__(self) -> Kernel:
        if self.state is KernelState.CREATED:
            self.build()
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()

    async def __aenter__(self) -> Kernel:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- plugins -----------------------------------------------------------------------------

    @property
    def plugins(self) -> PluginRegistry:
        if self._plugins is None:
            raise KernelStateError("the kernel has no plugins before build()")
        return self._plugins

    @property
    def hook(self) -> Any:
        """The pluggy hook relay of this kernel's own plugin manager."""
        return self.plugins.manager.hook

    def components(self, kind: str) -> Mapping[str, Component]:
        return self.plugins.components(kind)

    def plugin_report(self) -> list[PluginInfo]:
        return self.plugins.report()
