"""The adapter framework: typed interfaces, capabilities and the book-sync rule.

- :mod:`~alphaforge.adapters.capabilities` -- :class:`Capabilities`, declared once per venue;
- :mod:`~alphaforge.adapters.clients` -- the async :class:`InstrumentProvider`,
  :class:`DataClient`, :class:`ExecutionClient` and :class:`Adapter` protocols;
- :mod:`~alphaforge.adapters.book_sync` -- :class:`BookSync`: invalid book -> buffer ->
  resync from snapshot, enforced here for every venue;
- :mod:`~alphaforge.adapters.reports` -- :class:`OrderReport` / :class:`FillReport`,
  :func:`order_events`, and the account's :class:`AccountReport` / :class:`PositionReport`;
- :mod:`~alphaforge.adapters.parsing` -- exact, field-naming parse helpers.

See ``docs/adapters.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphaforge.adapters.book_sync import (
        BookSnapshot,
        BookSync,
        BookSyncStats,
        BookUpdate,
        Level,
        SyncResult,
        SyncState,
        Verdict,
    )
    from alphaforge.adapters.capabilities import (
        AuthScheme,
        BookIntegrity,
        Capabilities,
        InstrumentKind,
        MarketDataKind,
    )
    from alphaforge.adapters.clients import (
        Adapter,
        DataClient,
        DataSink,
        ExecutionClient,
        InstrumentProvider,
        MarketData,
        ReportSink,
    )
    from alphaforge.adapters.reports import (
        AccountReport,
        FillReport,
        OrderReport,
        PositionReport,
        ReportKind,
        order_events,
    )

# Resolved on first use: a plugin declaring its capabilities does not load books or clients.
_EXPORTS: dict[str, str] = {
    "AccountReport": "alphaforge.adapters.reports",
    "Adapter": "alphaforge.adapters.clients",
    "AuthScheme": "alphaforge.adapters.capabilities",
    "BookIntegrity": "alphaforge.adapters.capabilities",
    "BookSnapshot": "alphaforge.adapters.book_sync",
    "BookSync": "alphaforge.adapters.book_sync",
    "BookSyncStats": "alphaforge.adapters.book_sync",
    "BookUpdate": "alphaforge.adapters.book_sync",
    "Capabilities": "alphaforge.adapters.capabilities",
    "DataClient": "alphaforge.adapters.clients",
    "DataSink": "alphaforge.adapters.clients",
    "ExecutionClient": "alphaforge.adapters.clients",
    "FillReport": "alphaforge.adapters.reports",
    "InstrumentKind": "alphaforge.adapters.capabilities",
    "InstrumentProvider": "alphaforge.adapters.clients",
    "Level": "alphaforge.adapters.book_sync",
    "MarketData": "alphaforge.adapters.clients",
    "MarketDataKind": "alphaforge.adapters.capabilities",
    "OrderReport": "alphaforge.adapters.reports",
    "PositionReport": "alphaforge.adapters.reports",
    "ReportKind": "alphaforge.adapters.reports",
    "ReportSink": "alphaforge.adapters.clients",
    "SyncResult": "alphaforge.adapters.book_sync",
    "SyncState": "alphaforge.adapters.book_sync",
    "Verdict": "alphaforge.adapters.book_sync",
    "order_events": "alphaforge.adapters.reports",
}

__all__ = [
    "AccountReport",
    "Adapter",
    "AuthScheme",
    "BookIntegrity",
    "BookSnapshot",
    "BookSync",
    "BookSyncStats",
    "BookUpdate",
    "Capabilities",
    "DataClient",
    "DataSink",
    "ExecutionClient",
    "FillReport",
    "InstrumentKind",
    "InstrumentProvider",
    "Level",
    "MarketData",
    "MarketDataKind",
    "OrderReport",
    "PositionReport",
    "ReportKind",
    "ReportSink",
    "SyncResult",
    "SyncState",
    "Verdict",
    "order_events",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alphaforge.adapters' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
