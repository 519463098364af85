"""Data subscription requests an actor sends to the DataEngine.

When an actor subscribes (``subscribe_quotes`` etc.) it subscribes its handler on the bus and,
if the ``data.subscriptions`` endpoint is registered, sends a :class:`DataSubscription` there
so a DataEngine can start (or, with ``subscribe=False``, stop) the feed at the venue. The
message is informational for a backtest, where all loaded data is replayed anyway.
"""

from __future__ import annotations

import enum

import attrs

from alphaforge.model.data import BarType
from alphaforge.model.enums import BookType
from alphaforge.model.identifiers import InstrumentId

__all__ = ["DataKind", "DataSubscription"]


class DataKind(enum.Enum):
    """What is subscribed; the value is the topic's second segment."""

    QUOTES = "quotes"
    TRADES = "trades"
    BARS = "bars"
    BOOK = "book"
    BOOK_DELTAS = "book_deltas"


@attrs.frozen(kw_only=True, slots=True)
class DataSubscription:
    """A request to start or stop a data feed.

    Parameters
    ----------
    kind
        The data type.
    key
        The instrument (or the bar type for :attr:`DataKind.BARS`).
    topic
        The bus topic the data is expected on.
    subscriber
        The id of the subscribing actor.
    subscribe
        ``True`` to start, ``False`` to stop.
    book_type, depth
        For book subscriptions: requested granularity and depth (``0`` = full).
    ts_init
        When the request was made (ns).
    """

    kind: DataKind
    key: InstrumentId | BarType
    topic: str
    subscriber: str
    subscribe: bool = True
    book_type: BookType | None = None
    depth: int = 0
    ts_init: int = 0
