"""Hook specifications for AlphaForge plugins.

A plugin is a module (or object) named by an entry point in the ``alphaforge`` group::

    [project.entry-points.alphaforge]
    binance = "alphaforge_binance.plugin"

and implements any of the hooks below, marked with :data:`hookimpl`. The hooks are synchronous
and serve registration and lifecycle only; market data and orders flow through typed interfaces
(``DataClient``, ``ExecutionClient``), never through pluggy.

Each registration hook receives a ``register`` callback::

    register(name, factory, *, description="", capabilities=())

Registering two components of one kind under one name is an error
(:class:`~alphaforge.errors.DuplicateComponent`). A plugin whose registration hook raises is
quarantined as a whole: none of its components are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from alphaforge.kernel.kernel import Kernel

PROJECT_NAME = "alphaforge"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The callback a registration hook uses to add one component."""

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        capabilities: Iterable[str] = (),
    ) -> None: ...


# -------------------------------------------------------------------------
# Registration hooks: called once per kernel build, in plugin registration order.
# -------------------------------------------------------------------------


@hookspec
def alphaforge_register_adapters(register: Register) -> None:
    """Register exchange adapters (venue connectivity).

    :param register: Call ``register(name, factory, capabilities=...)`` once per adapter; the
        factory builds the adapter's clients from a configuration.
    """


@hookspec
def alphaforge_register_engines(register: Register) -> None:
    """Register engines (data, execution, risk, portfolio, ...).

    :param register: Call ``register(name, factory)``; ``factory(kernel)`` returns the engine.
    """


@hookspec
def alphaforge_register_strategies(register: Register) -> None:
    """Register strategy classes so configurations can refer to them by name.

    :param register: Call ``register(name, strategy_class)``.
    """


@hookspec
def alphaforge_register_metrics_exporters(register: Register) -> None:
    """Register metrics exporters (Prometheus, OpenTelemetry, JSON lines, ...).

    :param register: Call ``register(name, factory)``; ``factory(**config)`` returns the exporter.
    """


@hookspec
def alphaforge_register_cli(register: Register) -> None:
    """Register ``alphaforge`` sub-commands.

    :param register: Call ``register(name, factory, description=...)``. ``factory(parser)``
        adds arguments to the sub-command's ``argparse`` parser and returns the handler,
        ``handler(args) -> int`` (the exit code).
    """


# -------------------------------------------------------------------------
# Lifecycle hooks: synchronous notifications; they must not block.
# -------------------------------------------------------------------------


@hookspec
def alphaforge_kernel_built(kernel: Kernel) -> None:
    """The kernel has discovered its plugins and built its services.

    :param kernel: The kernel; its message bus, clock, cache and components are available.
    """


@hookspec
def alphaforge_kernel_started(kernel: Kernel) -> None:
    """The kernel has started."""


@hookspec
def alphaforge_kernel_stopped(kernel: Kernel) -> None:
    """The kernel has stopped; it may be started again."""


@hookspec
def alphaforge_kernel_disposed(kernel: Kernel) -> None:
    """The kernel has released its resources; it cannot be used again."""
