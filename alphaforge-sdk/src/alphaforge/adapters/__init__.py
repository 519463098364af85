"""The adapter framework: typed interfaces, capabilities and the book-sync rule.

- :mod:`~alphaforge.adapters.capabilities` -- :class:`Capabilities`, declared once per venue;
- :mod:`~alphaforge.adapters.clients` -- the async :class:`InstrumentProvider`,
  :class:`DataClient`, :class:`ExecutionClient` and :class:`Adapter` protocols;
- :mod:`~alphaforge.adapters.book_sync` -- :class:`BookSync`: invalid book -> buffer ->
  resync from snapshot, enforced here for every venue;
- :mod:`~alphaforge.adapters.reports` -- :class:`OrderReport` / :class:`FillReport` and
  :func:`order_events`;
- :mod:`~alphaforge.adapters.parsing` -- exact, field-naming parse helpers.

See ``docs/adapters.md``.
"""

from __future__ import annotations

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
from alphaforge.adapters.reports import FillReport, OrderReport, ReportKind, order_events

__all__ = [
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
    "ReportKind",
    "ReportSink",
    "SyncResult",
    "SyncState",
    "Verdict",
    "order_events",
]
