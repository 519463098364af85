"""The :class:`Trader`: hosts the actors and strategies of a kernel.

Strategies are added to the trader, not to the kernel::

    kernel = Kernel(KernelConfig(engines=("portfolio", "risk", "execution", "trader")))
    kernel.build()
    trader = kernel.engines["trader"]
    trader.add_strategy(EMACross(EMACrossConfig(instrument_id="BTCUSDT.SIM")))
    kernel.start()      # the built-in plugin starts the trader -> every on_start runs

The SDK's built-in plugin starts/stops/disposes the ``"trader"`` engine with the kernel. A
component added to a running trader starts at once. Components start in the order they were
added and stop in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphaforge.errors import InvalidValue
from alphaforge.model.identifiers import TraderId
from alphaforge.trading.actor import Actor, ComponentState
from alphaforge.trading.strategy import Strategy

if TYPE_CHECKING:
    from alphaforge.cache import Cache
    from alphaforge.clock import Clock
    from alphaforge.execution.engine import ExecutionEngine
    from alphaforge.msgbus import MessageBus
    from alphaforge.portfolio.portfolio import Portfolio

__all__ = ["Trader"]


class Trader:
    """Registers, starts and stops actors and strategies.

    Parameters
    ----------
    trader_id, clock, cache, msgbus, portfolio
        The services handed to every component.
    exec_engine
        Told about strategies' OMS types (``StrategyConfig.oms_type``).
    """

    def __init__(
        self,
        *,
        trader_id: TraderId,
        clock: Clock,
        cache: Cache,
        msgbus: MessageBus,
        portfolio: Portfolio,
        exec_engine: ExecutionEngine | None = None,
    ) -> None:
        self.trader_id = trader_id
        self._clock = clock
        self._cache = cache
        self._msgbus = msgbus
        self._portfolio = portfolio
        self._exec_engine = exec_engine
        self._components: dict[str, Actor] = {}
        self._running = False

    def __repr__(self) -> str:
        return f"Trader({self.trader_id}, components={list(self._components)})"

    @property
    def is_running(self) -> bool:
        """Whether :meth:`start` was called more recently than :meth:`stop`."""
        return self._running

    def _add(self, component: Actor) -> None:
        if component.id in self._components:
            raise InvalidValue("component_id", component.id, "a component with this id exists")
        component.register(
            trader_id=self.trader_id,
            clock=self._clock,
            cache=self._cache,
            msgbus=self._msgbus,
            portfolio=self._portfolio,
        )
        self._components[component.id] = component
        if self._running:
            component.start()

    def add_actor(self, actor: Actor) -> None:
        """Register an actor (started at once if the trader runs).

        Raises
        ------
        InvalidValue
            Not an Actor (use :meth:`add_strategy` for strategies) or a duplicate id.
        """
        if not isinstance(actor, Actor) or isinstance(actor, Strategy):
            raise InvalidValue("actor", actor, "must be an Actor (strategies: add_strategy)")
        self._add(actor)

    def add_strategy(self, strategy: Strategy) -> None:
        """Register a strategy (started at once if the trader runs).

        Raises
        ------
        InvalidValue
            Not a Strategy or a duplicate id.
        """
        if not isinstance(strategy, Strategy):
            raise InvalidValue("strategy", strategy, "must be a Strategy")
        if strategy.id in self._components:
            raise InvalidValue("strategy_id", strategy.id, "a component with this id exists")
        oms = strategy.config.oms_type
        if oms is not None and self._exec_engine is not None:
            self._exec_engine.register_oms_type(strategy.strategy_id, oms)
        self._add(strategy)

    def remove(self, component_id: str) -> None:
        """Stop (if running), dispose and forget a component.

        Raises
        ------
        InvalidValue
            No component has this id.
        """
        component = self._components.pop(component_id, None)
        if component is None:
            raise InvalidValue("component_id", component_id, "no such component")
        component.dispose()

    def component(self, component_id: str) -> Actor | None:
        """The actor or strategy with this id, or ``None``."""
        return self._components.get(component_id)

    def actors(self) -> list[Actor]:
        """The actors that are not strategies, in insertion order."""
        return [c for c in self._components.values() if not isinstance(c, Strategy)]

    def strategies(self) -> list[Strategy]:
        """The strategies, in insertion order."""
        return [c for c in self._components.values() if isinstance(c, Strategy)]

    def start(self) -> None:
        """Start every READY or STOPPED component."""
        self._running = True
        for component in list(self._components.values()):
            if component.state in (ComponentState.READY, ComponentState.STOPPED):
                component.start()

    def stop(self) -> None:
        """Stop every RUNNING component."""
        self._running = False
        for component in list(self._components.values()):
            if component.state is ComponentState.RUNNING:
                component.stop()

    def reset(self) -> None:
        """Reset every component that is not running."""
        for component in self._components.values():
            if component.state in (ComponentState.READY, ComponentState.STOPPED):
                component.reset()

    def dispose(self) -> None:
        """Dispose every component (stopping running ones first)."""
        self._running = False
        for component in list(self._components.values()):
            component.dispose()
