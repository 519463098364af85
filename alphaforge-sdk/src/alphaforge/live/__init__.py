"""Live trading: the kernel in live mode, embedded in any asyncio or trio application.

- :class:`~alphaforge.live.node.LiveNode` -- the node (``async with``), the kill switch,
  graceful shutdown;
- :class:`~alphaforge.live.execution.LiveExecutionClient` -- the async adapter seam, the
  unknown-outcome rule and reconciliation;
- :mod:`~alphaforge.live.health` -- the health snapshot (``events.health``);
- :class:`~alphaforge.live.paper.PaperExchange` -- paper trading on the simulated exchange;
- :mod:`~alphaforge.live.config` -- ``alphaforge run CONFIG.toml``.

See ``docs/live.md``.
"""

from __future__ import annotations

from alphaforge.live.execution import (
    LiveExecutionClient,
    ReconciliationConfig,
    ReconciliationStats,
)
from alphaforge.live.health import (
    HEALTH_TOPIC,
    ClientHealth,
    HealthSnapshot,
    SubscriptionHealth,
)
from alphaforge.live.node import LiveNode, LiveNodeConfig, PaperVenueConfig
from alphaforge.live.paper import PaperExchange

__all__ = [
    "HEALTH_TOPIC",
    "ClientHealth",
    "HealthSnapshot",
    "LiveExecutionClient",
    "LiveNode",
    "LiveNodeConfig",
    "PaperExchange",
    "PaperVenueConfig",
    "ReconciliationConfig",
    "ReconciliationStats",
    "SubscriptionHealth",
]
