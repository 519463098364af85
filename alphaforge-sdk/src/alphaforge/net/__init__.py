"""Networking for live adapters, on anyio, httpx and websockets.

- :class:`VenueHttpClient` -- one httpx ``AsyncClient`` per venue: timeouts, retries only where
  safe, signing hooks, rate limits, clock resync.
- :class:`ReconnectingWebSocket` -- reconnect forever with capped, jittered backoff; ping and
  per-subscription silence watchdog; resubscription from the original arguments.
- :class:`RateLimiterRegistry` -- process-wide weighted token buckets keyed by
  (venue, key-or-IP, bucket), corrected from venue headers, honouring ``Retry-After``.
- :class:`ServerClock` -- NTP-style server-clock offset for signed requests.
- :mod:`alphaforge.net.signing` -- HMAC-SHA256/512, Ed25519, ES256 JWT.
- :mod:`alphaforge.net.errors` -- the error taxonomy (rejected vs outcome unknown).

See ``docs/networking.md``.
"""

from __future__ import annotations

from alphaforge.net.backoff import Backoff
from alphaforge.net.clock import ClockSample, ServerClock
from alphaforge.net.errors import (
    AuthError,
    ConnectError,
    ConnectionClosed,
    NetError,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    TimestampError,
    TransportError,
    VenueRejected,
    VenueUnavailable,
)
from alphaforge.net.http import ErrorClassifier, HttpClientConfig, RetryPolicy, VenueHttpClient
from alphaforge.net.ratelimit import RateLimiter, RateLimiterRegistry, RateLimitRule, TokenBucket
from alphaforge.net.signing import (
    Ed25519Signer,
    SignableRequest,
    es256_jwt,
    hmac_query_signer,
    hmac_sign,
)
from alphaforge.net.ws import (
    ConnectionState,
    ReconnectingWebSocket,
    Subscription,
    WebSocketConfig,
    WebSocketStats,
    WsMessage,
)

__all__ = [
    "AuthError",
    "Backoff",
    "ClockSample",
    "ConnectError",
    "ConnectionClosed",
    "ConnectionState",
    "Ed25519Signer",
    "ErrorClassifier",
    "HttpClientConfig",
    "NetError",
    "OutcomeUnknown",
    "ProtocolError",
    "RateLimitRule",
    "RateLimited",
    "RateLimiter",
    "RateLimiterRegistry",
    "ReconnectingWebSocket",
    "RetryPolicy",
    "ServerClock",
    "SignableRequest",
    "Subscription",
    "TimestampError",
    "TokenBucket",
    "TransportError",
    "VenueHttpClient",
    "VenueRejected",
    "VenueUnavailable",
    "WebSocketConfig",
    "WebSocketStats",
    "WsMessage",
    "es256_jwt",
    "hmac_query_signer",
    "hmac_sign",
]
