"""``alphaforge run CONFIG.toml``: a live (or paper) node described in one file.

::

    [node]
    trader_id = "LIVE-001"
    health_interval_s = 5.0
    cancel_on_stop = true               # graceful shutdown: cancel every working order
    flatten_on_stop = false             # ... and close every position

    [[venues]]
    name = "BINANCE"
    adapter = "binance"                 # a registered adapter (see `alphaforge plugins`)
    config = { testnet = true }         # the adapter factory's keyword arguments
    credentials = { api_key = "${BINANCE_API_KEY}", api_secret = "${BINANCE_API_SECRET}" }
    account_id = "BINANCE-001"
    instruments = ["BTCUSDT.BINANCE"]   # empty: every instrument the adapter loads
    paper = true                        # execution on the simulated exchange, live data
    starting_balances = ["10000 USDT"]  # the paper account

    [[strategies]]
    name = "ema_cross"                  # a registered strategy, as in `alphaforge backtest`
    config = { instrument_id = "BTCUSDT.BINANCE", fast = 10, slow = 40, trade_size = "0.001" }

``credentials`` values are :class:`~alphaforge.config.Secret`: ``${ENV_VAR}`` references are
resolved from the environment (or ``secrets_file``), passed to the adapter factory as
``Secret`` objects, and never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from alphaforge.config import Secret, load_config
from alphaforge.errors import ConfigError
from alphaforge.live.execution import ReconciliationConfig
from alphaforge.live.node import LiveNode, LiveNodeConfig, PaperVenueConfig
from alphaforge.model.enums import OrderStatus
from alphaforge.model.identifiers import AccountId, InstrumentId
from alphaforge.model.orders import Order
from alphaforge.trading.config import StrategySection, build_strategies

__all__ = [
    "LiveRunConfig",
    "LiveVenueSection",
    "NodeSection",
    "build_node",
    "load_run_config",
    "run_live",
    "session_summary",
]

_log = logging.getLogger("alphaforge.live")


@attrs.frozen
class NodeSection:
    trader_id: str = "LIVE-001"
    health_interval_s: float = 5.0
    stale_after_s: float = 30.0
    cancel_on_stop: bool = True
    flatten_on_stop: bool = False
    shutdown_timeout_s: float = 10.0
    reconciliation: ReconciliationConfig = attrs.field(factory=ReconciliationConfig)


@attrs.frozen
class LiveVenueSection:
    """One venue: its adapter, credentials, instruments, and live or paper execution."""

    name: str
    adapter: str
    config: dict[str, Any] = attrs.field(factory=dict)
    credentials: dict[str, Secret] = attrs.field(factory=dict)
    account_id: str | None = None
    instruments: list[str] = attrs.field(factory=list)
    paper: bool = False
    starting_balances: list[str] = attrs.field(factory=lambda: ["1000000 USDT"])
    account_type: str = "margin"


@attrs.frozen
class LiveRunConfig:
    """The schema of a live-node TOML file."""

    node: NodeSection = attrs.field(factory=NodeSection)
    venues: list[LiveVenueSection] = attrs.field(factory=list)
    strategies: list[StrategySection] = attrs.field(factory=list)


def build_node(config: LiveRunConfig, *, plugins: Sequence[object] = ()) -> LiveNode:
    """A :class:`LiveNode` wired from ``config`` (adapters and strategies by registered name).

    Raises
    ------
    ConfigError
        An unknown adapter or strategy, or adapter configuration the factory refuses (the
        message names the keys, never the values).
    """
    section = config.node
    node = LiveNode(
        LiveNodeConfig(
            trader_id=section.trader_id, health_interval_s=section.health_interval_s,
            stale_after_s=section.stale_after_s, cancel_on_stop=section.cancel_on_stop,
            flatten_on_stop=section.flatten_on_stop,
            shutdown_timeout_s=section.shutdown_timeout_s,
            reconciliation=section.reconciliation,
        ),
        plugins=plugins,
    )  # fmt: skip
    adapters = node.kernel.components("adapter")
    for index, venue in enumerate(config.venues):
        component = adapters.get(venue.adapter)
        if component is None:
            raise ConfigError(
                f"venues[{index}].adapter", venue.adapter,
                f"no such adapter (registered: {', '.join(sorted(adapters)) or 'none'})",
            )  # fmt: skip
        try:
            adapter = component.factory(**venue.config, **venue.credentials)
        except TypeError as exc:
            keys = sorted([*venue.config, *venue.credentials])
            raise ConfigError(f"venues[{index}].config", keys, str(exc)) from exc
        ids = [InstrumentId.from_str(text) for text in venue.instruments]
        node.add_instrument_provider(adapter.instrument_provider, ids or None)
        node.add_data_client(adapter.data_client())
        if venue.paper:
            node.add_paper_venue(
                PaperVenueConfig(
                    name=venue.name, starting_balances=tuple(venue.starting_balances),
                    account_type=venue.account_type,
                )
            )  # fmt: skip
        else:
            account = AccountId(venue.account_id or f"{venue.name}-001")
            node.add_execution_client(adapter.execution_client(account))
    for strategy in build_strategies(node.kernel, config.strategies):
        node.add_strategy(strategy)
    return node


def load_run_config(path: str | Path, *, secrets_file: str | Path | None = None) -> LiveRunConfig:
    """Parse a live-node TOML file; ``${ENV}`` references in credentials are resolved from the
    environment, else from ``secrets_file``."""
    return load_config(LiveRunConfig, Path(path), secrets_file=secrets_file)


async def run_live(
    path: str | Path,
    *,
    secrets_file: str | Path | None = None,
    plugins: Sequence[object] = (),
    stop: anyio.Event | None = None,
    duration: float | None = None,
    on_summary: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Run the node of ``path`` until SIGINT/SIGTERM, ``stop`` is set or ``duration`` seconds
    have passed; shut down gracefully, then hand :func:`session_summary` to ``on_summary``.

    Returns the process exit status (0).
    """
    if duration is not None and not duration > 0:
        raise ConfigError("duration", duration, "must be > 0 seconds")
    node = build_node(load_run_config(path, secrets_file=secrets_file), plugins=plugins)
    async with node:
        _log.info("node %s running: %r", node.config.trader_id, node)
        async with anyio.create_task_group() as tg:
            if duration is not None:
                tg.cancel_scope.deadline = anyio.current_time() + duration

            async def on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for signum in signals:
                        _log.info("signal %s: shutting down", signum)
                        tg.cancel_scope.cancel()
                        return

            if stop is None:
                tg.start_soon(on_signal)
            else:

                async def on_stop() -> None:
                    await stop.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(on_stop)
        if on_summary is not None:  # before shutdown: the node's state is still there
            on_summary(session_summary(node))
    return 0


def session_summary(node: LiveNode) -> dict[str, Any]:
    """What a session did, as JSON-ready values: orders, net positions and account balances."""
    cache = node.kernel.cache
    orders: list[Order] = [o for o in cache.orders() if isinstance(o, Order)]
    instruments = sorted({o.instrument_id for o in orders}, key=str)
    return {
        "trader_id": node.config.trader_id,
        "orders": len(orders),
        "filled_orders": sum(1 for o in orders if o.status is OrderStatus.FILLED),
        "open_orders": len(cache.orders_open()),
        "net_positions": {str(i): str(node.portfolio.net_position(i)) for i in instruments},
        "balances": {
            str(account.id): {c.code: str(b.total) for c, b in account.balances().items()}
            for account in node.portfolio.accounts()
        },
        "healthy": None if node.last_health is None else node.last_health.healthy,
    }
