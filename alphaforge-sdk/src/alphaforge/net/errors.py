"""Networking errors: what happened to a request, not which library noticed.

The one distinction that matters to a trading system is whether the venue *definitively* did
not act on a request (:class:`VenueRejected` and its children, :class:`ConnectError`) or whether
the outcome is unknown (:class:`OutcomeUnknown`). An order whose outcome is unknown stays in flight
until it is reconciled; it is never marked failed and never blindly re-sent.

::

    AlphaForgeError
    └── NetError
        ├── TransportError                 could not talk to the venue (no answer)
        │   ├── ConnectError               nothing was sent: connect/TLS failure, pool timeout
        │   └── ConnectionClosed           a websocket connection was lost or gave up
        ├── OutcomeUnknown                 sent (perhaps partly), no definitive answer
        ├── ProtocolError                  the venue sent something unparseable (garbage frames)
        ├── VenueUnavailable               5xx / maintenance on a request that is safe to repeat
        └── VenueRejected                  the venue answered: the request was NOT executed
            ├── RateLimited                429/418 or a local limiter refusal; has retry_after
            ├── AuthError                  bad key, signature or permissions
            └── TimestampError             timestamp outside recvWindow; triggers a clock resync
"""

from __future__ import annotations

from alphaforge.errors import AlphaForgeError

__all__ = [
    "AuthError",
    "ConnectError",
    "ConnectionClosed",
    "NetError",
    "OutcomeUnknown",
    "ProtocolError",
    "RateLimited",
    "TimestampError",
    "TransportError",
    "VenueRejected",
    "VenueUnavailable",
]


class NetError(AlphaForgeError):
    """Base class for networking errors. ``venue`` names the venue when known."""

    def __init__(self, message: str, *, venue: str = "") -> None:
        self.venue = venue
        super().__init__(f"[{venue}] {message}" if venue else message)


class TransportError(NetError):
    """The venue could not be reached or did not answer (after any safe retries)."""


class ConnectError(TransportError):
    """The connection could not be established: the request was definitely not sent."""


class ConnectionClosed(TransportError):
    """A websocket connection was lost, or reconnecting gave up (``max_attempts``)."""


class OutcomeUnknown(NetError):
    """A non-idempotent request was sent but no definitive answer came back.

    Raised on a timeout, a disconnect or a 5xx after an order request left the process. The
    request is never retried; the caller must reconcile (query the order by client id).

    Attributes
    ----------
    method, path
        The request (path without query string: queries may carry signatures).
    """

    def __init__(self, message: str, *, venue: str = "", method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {message}" if method else message, venue=venue)


class ProtocolError(NetError):
    """The venue sent something that cannot be parsed: a garbage frame or a malformed body."""


class VenueUnavailable(NetError):
    """The venue answered 5xx (or is in maintenance) to a request that is safe to repeat."""

    def __init__(self, message: str, *, venue: str = "", status: int = 0) -> None:
        self.status = status
        super().__init__(message, venue=venue)


class VenueRejected(NetError):
    """The venue definitively rejected the request: it was not executed.

    Attributes
    ----------
    status
        HTTP status (0 for websocket replies).
    code
        The venue's own error code (e.g. Binance ``-2010``), or ``None``.
    venue_message
        The venue's own error message.
    """

    def __init__(
        self,
        venue_message: str,
        *,
        venue: str = "",
        status: int = 0,
        code: int | str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.venue_message = venue_message
        super().__init__(f"rejected (status={status}, code={code}): {venue_message}", venue=venue)


class RateLimited(VenueRejected):
    """Too many requests (HTTP 429, or 418 = IP banned), or the local limiter would wait too long.

    Attributes
    ----------
    retry_after
        Seconds to wait before the next request, or ``None`` when the venue did not say.
    banned
        ``True`` on HTTP 418: the venue has escalated to an IP ban.
    """

    def __init__(
        self,
        venue_message: str,
        *,
        venue: str = "",
        status: int = 429,
        code: int | str | None = None,
        retry_after: float | None = None,
        banned: bool = False,
    ) -> None:
        self.retry_after = retry_after
        self.banned = banned
        super().__init__(venue_message, venue=venue, status=status, code=code)


class AuthError(VenueRejected):
    """The venue rejected the credentials, the signature or the key's permissions."""


class TimestampError(VenueRejected):
    """The request's timestamp was outside the venue's window; the server clock is resynced."""
