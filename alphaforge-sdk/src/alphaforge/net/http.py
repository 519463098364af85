"""``VenueHttpClient``: one httpx ``AsyncClient`` per venue, safe retries, signing, limits."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import anyio
import attrs
import httpx

from alphaforge.errors import InvalidValue
from alphaforge.net.backoff import Backoff
from alphaforge.net.clock import ServerClock
from alphaforge.net.errors import (
    AuthError,
    ConnectError,
    NetError,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    TimestampError,
    TransportError,
    VenueRejected,
    VenueUnavailable,
)
from alphaforge.net.ratelimit import RateLimiter
from alphaforge.net.signing import RequestSigner, SignableRequest

__all__ = [
    "ErrorClassifier",
    "HttpClientConfig",
    "RetryPolicy",
    "VenueHttpClient",
    "parse_retry_after",
]

_log = logging.getLogger("alphaforge.net.http")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Errors after which the request certainly did not leave the process.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors after which it may have reached the venue.
_MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or an HTTP date) into seconds."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@attrs.frozen
class RetryPolicy:
    """Retries of *safe* requests (idempotent methods, or ones the caller marks idempotent).

    Parameters
    ----------
    max_attempts
        Attempts in total, including the first.
    backoff
        Delay between attempts (capped exponential, full jitter).
    max_retry_after
        A 429 whose ``Retry-After`` is longer than this is raised instead of waited out.
    """

    max_attempts: int = 3
    backoff: Backoff = attrs.field(factory=lambda: Backoff(base=0.2, cap=2.0))
    max_retry_after: float = 10.0


@attrs.frozen
class HttpClientConfig:
    """Configuration of a :class:`VenueHttpClient`.

    Parameters
    ----------
    venue
        Venue name (errors, logs and rate-limit keys).
    base_url
        e.g. ``"https://api.binance.com"``.
    connect_timeout, read_timeout, write_timeout, pool_timeout
        httpx timeouts in seconds.
    retry
        Retry policy for safe requests.
    max_connections
        Size of the connection pool.
    user_agent
        ``User-Agent`` header.
    """

    venue: str
    base_url: str
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    write_timeout: float = 5.0
    pool_timeout: float = 5.0
    retry: RetryPolicy = RetryPolicy()
    max_connections: int = 20
    user_agent: str = "alphaforge"


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


@attrs.frozen
class ErrorClassifier:
    """Turns a venue response into an error (or ``None`` for success).

    Reads ``{code_field: ..., message_field: ...}`` JSON bodies, as Binance, Bybit and OKX send.
    Subclass or replace it (any ``Callable[[str, httpx.Response], NetError | None]``) for venues
    that report errors inside 200 responses.

    Parameters
    ----------
    code_field, message_field
        JSON keys of the venue's error code and message.
    timestamp_codes
        Codes meaning "timestamp outside the window" (Binance ``-1021``) -> :class:`TimestampError`.
    auth_codes
        Codes meaning bad key / signature -> :class:`AuthError`.
    rate_limit_codes
        Codes meaning "too many requests" on a non-429 status -> :class:`RateLimited`.
    """

    code_field: str = "code"
    message_field: str = "msg"
    timestamp_codes: frozenset[int | str] = frozenset()
    auth_codes: frozenset[int | str] = frozenset()
    rate_limit_codes: frozenset[int | str] = frozenset()

    def __call__(self, venue: str, response: httpx.Response) -> NetError | None:
        status = response.status_code
        if status < 400:
            return None
        body = _json_body(response)
        code: int | str | None = None
        message = response.reason_phrase
        if isinstance(body, dict):
            raw_code = body.get(self.code_field)
            code = raw_code if isinstance(raw_code, int | str) else None
            message = str(body.get(self.message_field, message))
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status in (418, 429) or code in self.rate_limit_codes:
            return RateLimited(
                message,
                venue=venue,
                status=status,
                code=code,
                retry_after=retry_after,
                banned=status == 418,
            )
        if code in self.timestamp_codes:
            return TimestampError(message, venue=venue, status=status, code=code)
        if status in (401, 403) or code in self.auth_codes:
            return AuthError(message, venue=venue, status=status, code=code)
        if status >= 500:
            return VenueUnavailable(f"{status} {message}", venue=venue, status=status)
        return VenueRejected(message, venue=venue, status=status, code=code)


class VenueHttpClient:
    """The one HTTP client of a venue: timeouts, safe retries, signing, rate limits, clock.

    Retry rules:

    - Safe requests (GET/HEAD/OPTIONS, or ``idempotent=True`` such as a cancel by order id) are
      retried on transport errors, 5xx and 429s with a short ``Retry-After``, with capped
      exponential backoff and full jitter.
    - Any other request (an order ``POST``) is sent **once**. If it may have reached the venue
      -- a timeout, a disconnect or a 5xx after sending -- :class:`OutcomeUnknown` is raised; if
      the connection could not even be opened, :class:`ConnectError` (nothing was sent).
    - A :class:`TimestampError` is a definitive rejection: the clock is resynced and the request
      re-signed and sent once more (for any method).

    Parameters
    ----------
    config
        Client configuration.
    rate_limiter
        Shared limiter from the node's :class:`RateLimiterRegistry`; ``None`` = unlimited.
    clock
        Server clock used by signers; resynced on timestamp errors via ``fetch_server_time``.
    fetch_server_time
        ``async (client) -> server time in ms`` (e.g. ``GET /api/v3/time``).
    classifier
        Maps responses to errors; default :class:`ErrorClassifier`.
    transport
        Custom httpx transport (e.g. to bind a local address).
    rng
        Source of retry jitter (seed it in tests).
    """

    def __init__(
        self,
        config: HttpClientConfig,
        *,
        rate_limiter: RateLimiter | None = None,
        clock: ServerClock | None = None,
        fetch_server_time: Callable[[VenueHttpClient], Awaitable[float]] | None = None,
        classifier: Callable[[str, httpx.Response], NetError | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.rate_limiter = rate_limiter
        self.clock = clock
        self._fetch_server_time = fetch_server_time
        self._classify = classifier or ErrorClassifier()
        self._rng = rng or random.Random()
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.write_timeout,
                pool=config.pool_timeout,
            ),
            limits=httpx.Limits(max_connections=config.max_connections),
            headers={"User-Agent": config.user_agent},
            transport=transport,
        )
        self.attempts = 0

    def __repr__(self) -> str:
        return f"VenueHttpClient(venue={self.config.venue!r}, base_url={self.config.base_url!r})"

    async def __aenter__(self) -> VenueHttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def sync_clock(self, samples: int = 3) -> float:
        """Resync :attr:`clock` from ``fetch_server_time``; return the new offset in ms."""
        if self.clock is None or self._fetch_server_time is None:
            raise InvalidValue("clock", None, "sync_clock needs clock and fetch_server_time")
        fetch = self._fetch_server_time

        async def one() -> float:
            return await fetch(self)

        return await self.clock.sync(one, samples)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        weight: int | Mapping[str, int] = 1,
        idempotent: bool | None = None,
        signer: RequestSigner | None = None,
        max_rate_wait: float | None = None,
    ) -> httpx.Response:
        """Send a request under the retry rules above and return the successful response.

        Parameters
        ----------
        method, path
            HTTP method and path relative to ``base_url``.
        params
            Query parameters (order is kept: venues sign the query as sent).
        json_body, content
            Body as JSON or raw bytes.
        headers
            Extra headers.
        weight
            Rate-limit weight for the default bucket, or ``{bucket: weight}``.
        idempotent
            Override the method's safety; ``True`` only for requests the venue de-duplicates.
        signer
            Called before each attempt to sign the request.
        max_rate_wait
            Raise :class:`RateLimited` rather than wait longer than this for the limiter.

        Raises
        ------
        VenueRejected
            The venue definitively rejected the request (incl. RateLimited, AuthError,
            TimestampError).
        OutcomeUnknown
            A non-idempotent request may have been executed.
        ConnectError, TransportError, VenueUnavailable, ProtocolError
            See :mod:`alphaforge.net.errors`.
        """
        method = method.upper()
        safe = method in SAFE_METHODS if idempotent is None else idempotent
        venue = self.config.venue
        max_attempts = max(1, self.config.retry.max_attempts) if safe else 1
        items = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        base_params = [(str(k), _param(v)) for k, v in items]
        body = content if content is not None else b""
        base_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            base_headers.setdefault("Content-Type", "application/json")
        resynced = False
        attempt = 0
        while True:
            attempt += 1
            if self.rate_limiter is not None:
                await self.rate_limiter.acquire(weight, max_wait=max_rate_wait)
            prepared = SignableRequest(method, path, list(base_params), dict(base_headers), body)
            if signer is not None:
                prepared = signer(prepared)
            query: list[tuple[str, str | int | float | bool | None]] = list(prepared.params)
            request = self._client.build_request(
                method,
                prepared.path,
                params=query,
                headers=prepared.headers,
                content=prepared.body or None,
            )
            self.attempts += 1
            error: NetError
            try:
                response = await self._client.send(request)
            except _NOT_SENT as exc:
                error = ConnectError(f"{method} {path}: {type(exc).__name__}", venue=venue)
                error.__cause__ = exc
            except _MAYBE_SENT as exc:
                if not safe:
                    raise OutcomeUnknown(
                        f"{type(exc).__name__} after sending", venue=venue, method=method, path=path
                    ) from exc
                error = TransportError(f"{method} {path}: {type(exc).__name__}", venue=venue)
                error.__cause__ = exc
            except httpx.HTTPError as exc:
                raise ProtocolError(f"{method} {path}: {exc}", venue=venue) from exc
            else:
                if self.rate_limiter is not None:
                    self.rate_limiter.observe(response.headers)
                classified = self._classify(venue, response)
                if classified is None:
                    if self.rate_limiter is not None:
                        self.rate_limiter.record_success()
                    return response
                error = classified
                if isinstance(error, RateLimited) and self.rate_limiter is not None:
                    self.rate_limiter.penalize(error.retry_after)
                if isinstance(error, TimestampError):
                    if self.clock is not None:
                        self.clock.invalidate()
                    if resynced or self._fetch_server_time is None or self.clock is None:
                        raise error
                    resynced = True
                    _log.warning("%s: timestamp rejected; resyncing the server clock", venue)
                    await self.sync_clock()
                    attempt -= 1  # a definitive rejection: the re-signed resend is not a retry
                    continue
                if isinstance(error, VenueUnavailable) and not safe:
                    raise OutcomeUnknown(
                        f"HTTP {error.status} after sending", venue=venue, method=method, path=path
                    ) from error
            if not self._should_retry(error, safe, attempt, max_attempts):
                raise error
            delay = self.config.retry.backoff.delay(attempt - 1, self._rng)
            if isinstance(error, RateLimited) and error.retry_after is not None:
                delay = max(delay, error.retry_after)
            _log.info("%s: %s %s failed (%s); retry in %.2fs", venue, method, path, error, delay)
            if self.rate_limiter is None or not isinstance(error, RateLimited):
                await anyio.sleep(delay)
            # with a limiter, the penalty it now holds makes acquire() wait out Retry-After

    def _should_retry(self, error: NetError, safe: bool, attempt: int, max_attempts: int) -> bool:
        if not safe or attempt >= max_attempts:
            return False
        if isinstance(error, RateLimited):
            return (
                not error.banned
                and error.retry_after is not None
                and error.retry_after <= self.config.retry.max_retry_after
            )
        return isinstance(error, TransportError | VenueUnavailable)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """``request("GET", path, ...)``."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """``request("POST", path, ...)``: sent once; never retried."""
        return await self.request("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        """``request("DELETE", path, ...)``; pass ``idempotent=True`` for a cancel by id."""
        return await self.request("DELETE", path, **kwargs)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
