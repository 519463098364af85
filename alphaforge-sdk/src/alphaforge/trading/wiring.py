"""Build the trading engines for a :class:`~alphaforge.kernel.Kernel`.

The built-in plugin registers these factories as engines (``factory(kernel) -> engine``):

==============  ==========================================================  =================
engine name     object                                                      needs
==============  ==========================================================  =================
``portfolio``   :class:`~alphaforge.portfolio.Portfolio`                     --
``execution``   :class:`~alphaforge.execution.ExecutionEngine`               portfolio
``risk``        :class:`~alphaforge.risk.RiskEngine`                         portfolio
``trader``      :class:`~alphaforge.trading.Trader`                          portfolio, execution
==============  ==========================================================  =================

A factory creates the engines it needs if they do not exist yet and stores them in
``kernel.engines`` under their names; the factory of an engine that already exists returns
it. So ``KernelConfig(engines=(...))`` may list them in any order; listing only ``"trader"``
gives a portfolio and an execution engine too (the risk engine is opt-in: list ``"risk"``;
without it strategies send commands straight to the execution engine). Engines are built
with default settings; change them after ``kernel.build()`` with
``RiskEngine.configure(RiskConfig(...))`` / ``ExecutionEngine.configure(...)``, or call these
functions with a ``config`` argument.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge.execution.engine import ExecEngineConfig, ExecutionEngine
    from alphaforge.kernel.kernel import Kernel
    from alphaforge.portfolio.portfolio import Portfolio
    from alphaforge.risk.engine import RiskConfig, RiskEngine
    from alphaforge.trading.trader import Trader

__all__ = [
    "exec_engine_from_kernel",
    "portfolio_from_kernel",
    "risk_engine_from_kernel",
    "trader_from_kernel",
]


def _existing(kernel: Kernel, name: str, cls: type) -> Any:
    found = kernel.engines.get(name)
    if found is not None and not isinstance(found, cls):
        from alphaforge.errors import InvalidValue

        raise InvalidValue(
            f"engines.{name}", found, f"expected a {cls.__name__} under this engine name"
        )
    return found


def portfolio_from_kernel(kernel: Kernel) -> Portfolio:
    """The kernel's :class:`Portfolio`, created on first use."""
    from alphaforge.portfolio.portfolio import Portfolio

    found: Portfolio | None = _existing(kernel, "portfolio", Portfolio)
    if found is None:
        found = Portfolio(kernel.cache, kernel.clock, kernel.msgbus)
        kernel.engines["portfolio"] = found
    return found


def exec_engine_from_kernel(
    kernel: Kernel, config: ExecEngineConfig | None = None
) -> ExecutionEngine:
    """The kernel's :class:`ExecutionEngine`, created on first use (with ``config``)."""
    from alphaforge.execution.engine import ExecutionEngine

    found: ExecutionEngine | None = _existing(kernel, "execution", ExecutionEngine)
    if found is None:
        found = ExecutionEngine(
            kernel.cache,
            kernel.clock,
            kernel.msgbus,
            portfolio=portfolio_from_kernel(kernel),
            config=config,
            trader_id=kernel.trader_id,
        )
        kernel.engines["execution"] = found
    elif config is not None:
        found.configure(config)
    return found


def risk_engine_from_kernel(kernel: Kernel, config: RiskConfig | None = None) -> RiskEngine:
    """The kernel's :class:`RiskEngine`, created on first use (with ``config``)."""
    from alphaforge.risk.engine import RiskEngine

    found: RiskEngine | None = _existing(kernel, "risk", RiskEngine)
    if found is None:
        found = RiskEngine(
            kernel.cache,
            kernel.clock,
            kernel.msgbus,
            portfolio=portfolio_from_kernel(kernel),
            config=config,
        )
        kernel.engines["risk"] = found
    elif config is not None:
        found.configure(config)
    return found


def trader_from_kernel(kernel: Kernel) -> Trader:
    """The kernel's :class:`Trader`, created on first use."""
    from alphaforge.trading.trader import Trader

    found: Trader | None = _existing(kernel, "trader", Trader)
    if found is None:
        found = Trader(
            trader_id=kernel.trader_id,
            clock=kernel.clock,
            cache=kernel.cache,
            msgbus=kernel.msgbus,
            portfolio=portfolio_from_kernel(kernel),
            exec_engine=exec_engine_from_kernel(kernel),
        )
        kernel.engines["trader"] = found
    return found
