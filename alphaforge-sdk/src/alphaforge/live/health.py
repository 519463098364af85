"""The live node's health monitor: one frozen snapshot of everything that can go stale.

Adapters expose what they know through optional attributes (duck-typed, all optional):

=====================  ========================================================================
attribute              meaning
=====================  ========================================================================
``connection_state``   a :class:`~alphaforge.net.ConnectionState` (or its string value)
``connection_id``      an ``int`` bumped on every new connection (triggers reconciliation)
``server_clock``       a :class:`~alphaforge.net.clock.ServerClock` (``offset_ms``)
``rate_limiter``       a :class:`~alphaforge.net.ratelimit.RateLimiter` (``headroom()``)
``book_syncs``         ``Mapping[InstrumentId, BookSync]`` (``is_valid``)
=====================  ========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["HEALTH_TOPIC", "ClientHealth", "HealthSnapshot", "SubscriptionHealth", "probe_client"]

HEALTH_TOPIC = "events.health"
"""The bus topic every :class:`HealthSnapshot` is published on."""


@attrs.frozen(kw_only=True)
class SubscriptionHealth:
    """Liveness of one market-data subscription.

    Parameters
    ----------
    key
        ``"<kind>:<instrument or bar type>"``.
    last_message_ns
        Node time of the last message (0: none yet).
    silence_s
        Seconds since the last message (or since subscribing).
    stale
        Silent for longer than the node's ``stale_after_s``.
    """

    key: str
    last_message_ns: int
    silence_s: float
    stale: bool


@attrs.frozen(kw_only=True)
class ClientHealth:
    """What one data or execution client reports.

    Parameters
    ----------
    name
        ``"data:<VENUE>"``, ``"exec:<VENUE>"`` or ``"paper:<VENUE>"``.
    connection
        ``"connected"``, ``"connecting"``, ``"reconnecting"``, ``"closed"`` or ``"failed"``.
    connection_id
        The adapter's connection counter (``None`` if it does not expose one).
    clock_offset_ms
        Server-clock offset estimate, if the adapter keeps one.
    rate_limit_headroom
        Lowest fraction of any rate-limit bucket still available (1.0 = unused), if known.
    invalid_books
        Instruments whose book is not valid (being resynced).
    """

    name: str
    connection: str
    connection_id: int | None = None
    clock_offset_ms: float | None = None
    rate_limit_headroom: float | None = None
    invalid_books: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class HealthSnapshot:
    """The node's health at ``ts`` (published on ``events.health``).

    Parameters
    ----------
    ts
        Node time (ns).
    trading_state
        The risk engine's trading state (``ACTIVE``, ``REDUCING``, ``HALTED``).
    clients
        Per client.
    subscriptions
        Per market-data subscription.
    inflight_orders
        Orders whose outcome is not known yet (unknown submit / cancel / modify).
    external_orders
        Orders seen at the venue that the node did not create.
    reconciliations
        Reconciliation passes completed.
    """

    ts: int
    trading_state: str
    clients: tuple[ClientHealth, ...]
    subscriptions: tuple[SubscriptionHealth, ...]
    inflight_orders: int
    external_orders: int
    reconciliations: int

    @property
    def healthy(self) -> bool:
        """Every client connected, no stale subscription, no invalid book."""
        return all(
            c.connection == "connected" and not c.invalid_books for c in self.clients
        ) and not any(s.stale for s in self.subscriptions)


def _state_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def probe_client(name: str, client: object, fallback: str) -> ClientHealth:
    """A :class:`ClientHealth` from ``client``'s optional attributes (see the module docs)."""
    connection = _state_text(getattr(client, "connection_state", None)) or fallback
    conn_id = getattr(client, "connection_id", None)
    clock = getattr(client, "server_clock", None)
    offset = getattr(clock, "offset_ms", None) if clock is not None else None
    limiter = getattr(client, "rate_limiter", None)
    headroom: float | None = None
    if limiter is not None and callable(getattr(limiter, "headroom", None)):
        values = list(limiter.headroom().values())
        headroom = min(values) if values else 1.0
    books = getattr(client, "book_syncs", None)
    invalid: tuple[str, ...] = ()
    if isinstance(books, Mapping):
        invalid = tuple(sorted(str(k) for k, s in books.items() if not s.is_valid))
    return ClientHealth(
        name=name,
        connection=connection,
        connection_id=conn_id if isinstance(conn_id, int) else None,
        clock_offset_ms=float(offset) if isinstance(offset, (int, float)) else None,
        rate_limit_headroom=headroom,
        invalid_books=invalid,
    )
