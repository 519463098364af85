"""The message bus: topics (publish/subscribe), endpoints (send) and request/response.

The bus is single-threaded, synchronous and deterministic: a ``publish`` delivers to every
matching handler before it returns, in an order that depends only on the subscriptions
(priority, then subscription order). It is the hot path between the engines and strategies, so
``publish`` is a dict lookup plus a loop over a cached tuple of handlers.

Topics and patterns
-------------------
A topic is a non-empty dotted string such as ``data.quotes.BINANCE.BTCUSDT``. A subscription
pattern is a topic that may contain the glob wildcards ``*`` (any run of characters, including
none, and it may cross dots) and ``?`` (exactly one character). Every other character matches
itself (``[`` and ``]`` have no special meaning). For patterns built from ``*``, ``?`` and plain
characters the result agrees with :func:`fnmatch.fnmatchcase`.

Decisions
---------
- Subscribing the same ``(pattern, handler)`` twice is an error
  (:class:`~alphaforge.errors.InvalidValue`), as is unsubscribing a pair that is not subscribed.
  Handlers are compared with ``==``, so a bound method subscribed as ``obj.on_quote`` can be
  unsubscribed with a fresh ``obj.on_quote``.
- ``send`` to an unknown endpoint raises :class:`~alphaforge.errors.InvalidValue` naming the
  endpoint (nothing is counted, nothing changes).
- A handler that raises never stops delivery to the other handlers and never propagates out of
  ``publish``/``send``/``request``/``respond``: the error goes to
  :attr:`MessageBus.on_handler_error` (default: logged with the topic and handler) and is
  counted in ``handler_error_count``.
- Subscribing/unsubscribing from inside a handler is safe: a ``publish`` delivers to the handlers
  matched when it started; the change applies from the next ``publish``.
- Per-topic-family counts (for the engine metrics) come from :class:`MeteredMessageBus`, a
  subclass the kernel uses only when metrics are enabled, so the plain bus's ``publish`` pays
  nothing for them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import attrs

from alphaforge.errors import InvalidValue

__all__ = [
    "Handler",
    "HandlerErrorCallback",
    "MessageBus",
    "MeteredMessageBus",
    "Request",
    "Subscription",
    "is_pattern",
    "topic_matches",
]

Handler = Callable[[Any], object]
"""A message handler: called with the message, its return value is ignored."""

HandlerErrorCallback = Callable[[Exception, str, Handler, Any], None]
"""Called as ``on_handler_error(error, topic_or_endpoint, handler, message)``."""

_DEFAULT_TOPIC_CACHE_SIZE = 65_536


def is_pattern(topic: str) -> bool:
    """Return whether ``topic`` contains a wildcard (``*`` or ``?``)."""
    return "*" in topic or "?" in topic


def _compile(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for ch in pattern:
        if ch == "*":
            # Collapse runs of '*' (same language, avoids pathological backtracking).
            if not parts or parts[-1] != ".*":
                parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def topic_matches(pattern: str, topic: str) -> bool:
    """Return whether ``topic`` matches the subscription ``pattern``.

    Parameters
    ----------
    pattern
        A topic, optionally with ``*`` (any run of characters, may cross dots) and ``?``
        (exactly one character).
    topic
        A concrete topic.

    Returns
    -------
    bool
        ``True`` if the whole topic matches the whole pattern.
    """
    if not is_pattern(pattern):
        return pattern == topic
    return _compile(pattern).fullmatch(topic) is not None


@attrs.frozen
class Subscription:
    """One subscription of a handler to a topic pattern.

    Attributes
    ----------
    pattern
        The topic or wildcard pattern.
    handler
        The callable that receives matching messages.
    priority
        Higher priorities are delivered first.
    sequence
        Subscription order on this bus (ties in priority are delivered in this order).
    """

    pattern: str
    handler: Handler = attrs.field(eq=False)
    priority: int
    sequence: int

    def matches(self, topic: str) -> bool:
        """Return whether this subscription's pattern matches ``topic``."""
        return topic_matches(self.pattern, topic)


@attrs.frozen
class Request:
    """The envelope an endpoint handler receives for :meth:`MessageBus.request`.

    Attributes
    ----------
    correlation_id
        Pass it to :meth:`MessageBus.respond` to answer the request.
    endpoint
        The endpoint the request was sent to.
    payload
        The request message itself.
    """

    correlation_id: int
    endpoint: str
    payload: Any


def _check_name(field: str, value: object, *, allow_wildcards: bool) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, value, f"must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidValue(field, value, "must not be empty")
    if not allow_wildcards and is_pattern(value):
        raise InvalidValue(field, value, "must not contain the wildcards '*' or '?'")
    return value


def _check_handler(field: str, handler: object) -> Handler:
    if not callable(handler):
        raise InvalidValue(field, handler, "must be callable")
    return handler


class MessageBus:
    """Single-threaded, synchronous, deterministic message bus.

    Parameters
    ----------
    name
        A label for logs.
    on_handler_error
        Called as ``on_handler_error(error, topic_or_endpoint, handler, message)`` when a
        handler (or a request callback) raises. The default logs the error with
        :mod:`logging` (logger ``alphaforge.msgbus``). Settable later as an attribute.
    topic_cache_size
        The bus caches, per published topic, the tuple of handlers that match it. When more
        distinct topics than this have been published, the cache is cleared (bounded memory).

    Examples
    --------
    >>> bus = MessageBus()
    >>> got = []
    >>> bus.subscribe("data.quotes.*", got.append)
    >>> bus.publish("data.quotes.BINANCE.BTCUSDT", 1)
    >>> got
    [1]
    """

    __slots__ = (
        "_cache",
        "_cache_limit",
        "_delivered",
        "_endpoints",
        "_handler_errors",
        "_logger",
        "_next_correlation_id",
        "_next_sequence",
        "_pending",
        "_published",
        "_requests",
        "_responses",
        "_sent",
        "_subs",
        "name",
        "on_handler_error",
    )

    def __init__(
        self,
        name: str = "MessageBus",
        *,
        on_handler_error: HandlerErrorCallback | None = None,
        topic_cache_size: int = _DEFAULT_TOPIC_CACHE_SIZE,
    ) -> None:
        if isinstance(topic_cache_size, bool) or not isinstance(topic_cache_size, int):
            raise InvalidValue("topic_cache_size", topic_cache_size, "must be an int")
        if topic_cache_size < 1:
            raise InvalidValue("topic_cache_size", topic_cache_size, "must be >= 1")
        self.name = name
        self._logger = logging.getLogger("alphaforge.msgbus")
        self.on_handler_error: HandlerErrorCallback = (
            on_handler_error if on_handler_error is not None else self._log_handler_error
        )
        # Subscriptions in delivery order: (-priority, sequence).
        self._subs: list[tuple[Subscription, re.Pattern[str] | None]] = []
        self._cache: dict[str, tuple[Handler, ...]] = {}
        self._cache_limit = topic_cache_size
        self._next_sequence = 0
        self._endpoints: dict[str, Handler] = {}
        self._pending: dict[int, tuple[str, Handler]] = {}
        self._next_correlation_id = 1
        self._published = 0
        self._delivered = 0
        self._sent = 0
        self._requests = 0
        self._responses = 0
        self._handler_errors = 0

    def __repr__(self) -> str:
        return (
            f"MessageBus(name={self.name!r}, subscriptions={len(self._subs)}, "
            f"endpoints={len(self._endpoints)}, pending_requests={len(self._pending)})"
        )

    # ------------------------------------------------------------------ counters

    @property
    def published_count(self) -> int:
        """Number of :meth:`publish` calls (with or without subscribers)."""
        return self._published

    @property
    def delivered_count(self) -> int:
        """Number of handler invocations by :meth:`publish` (including ones that raised)."""
        return self._delivered

    @property
    def sent_count(self) -> int:
        """Number of messages delivered by :meth:`send`."""
        return self._sent

    @property
    def request_count(self) -> int:
        """Number of requests issued by :meth:`request`."""
        return self._requests

    @property
    def response_count(self) -> int:
        """Number of responses accepted by :meth:`respond`."""
        return self._responses

    @property
    def handler_error_count(self) -> int:
        """Number of exceptions raised by handlers and callbacks (all reported, none raised)."""
        return self._handler_errors

    # ------------------------------------------------------------------ pub/sub

    def subscribe(self, pattern: str, handler: Handler, *, priority: int = 0) -> Subscription:
        """Subscribe ``handler`` to every topic matching ``pattern``.

        Parameters
        ----------
        pattern
            A topic or a wildcard pattern (``*``, ``?``).
        handler
            Called with each matching message.
        priority
            Higher is delivered first; equal priorities are delivered in subscription order.

        Returns
        -------
        Subscription
            The record of the new subscription.

        Raises
        ------
        InvalidValue
            If the pattern is not a non-empty str, the handler is not callable, the priority is
            not an int, or this ``(pattern, handler)`` pair is already subscribed.
        """
        _check_name("pattern", pattern, allow_wildcards=True)
        _check_handler("handler", handler)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InvalidValue("priority", priority, "must be an int")
        for sub, _ in self._subs:
            if sub.pattern == pattern and sub.handler == handler:
                raise InvalidValue(
                    "handler", handler, f"is already subscribed to pattern {pattern!r}"
                )
        sub = Subscription(pattern, handler, priority, self._next_sequence)
        self._next_sequence += 1
        regex = _compile(pattern) if is_pattern(pattern) else None
        self._subs.append((sub, regex))
        self._subs.sort(key=lambda item: (-item[0].priority, item[0].sequence))
        self._cache = {}
        return sub

    def unsubscribe(self, pattern: str, handler: Handler) -> None:
        """Remove the subscription of ``handler`` to ``pattern``.

        Raises
        ------
        InvalidValue
            If this ``(pattern, handler)`` pair is not subscribed.
        """
        for i, (sub, _) in enumerate(self._subs):
            if sub.pattern == pattern and sub.handler == handler:
                del self._subs[i]
                self._cache = {}
                return
        raise InvalidValue("pattern", pattern, f"handler {handler!r} is not subscribed to it")

    def is_subscribed(self, pattern: str, handler: Handler) -> bool:
        """Return whether the exact ``(pattern, handler)`` pair is subscribed."""
        return any(s.pattern == pattern and s.handler == handler for s, _ in self._subs)

    def _resolve(self, topic: str) -> tuple[Handler, ...]:
        _check_name("topic", topic, allow_wildcards=False)
        handlers = tuple(
            sub.handler
            for sub, regex in self._subs
            if (sub.pattern == topic if regex is None else regex.fullmatch(topic) is not None)
        )
        cache = self._cache
        if len(cache) >= self._cache_limit:
            cache.clear()
        cache[topic] = handlers
        return handlers

    def publish(self, topic: str, msg: Any) -> None:
        """Deliver ``msg`` to every handler subscribed to a pattern matching ``topic``.

        Handlers run synchronously, highest priority first, before this returns. A handler
        that raises is reported to :attr:`on_handler_error` and the others still run.

        Raises
        ------
        InvalidValue
            If ``topic`` is empty, not a str, or contains a wildcard.
        """
        handlers = self._cache.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)
        self._published += 1
        if handlers:
            self._delivered += len(handlers)
            for handler in handlers:
                try:
                    handler(msg)
                except Exception as exc:  # noqa: BLE001 - reported, never swallowed silently
                    self._report(exc, topic, handler, msg)

    def has_subscribers(self, topic: str) -> bool:
        """Return whether a ``publish`` to ``topic`` would reach at least one handler."""
        handlers = self._cache.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)
        return bool(handlers)

    def subscribers(self, topic: str) -> tuple[Handler, ...]:
        """Return the handlers a ``publish`` to ``topic`` would call, in delivery order."""
        handlers = self._cache.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)
        return handlers

    def subscriptions(self, pattern: str | None = None) -> list[Subscription]:
        """Return subscriptions in delivery order.

        Parameters
        ----------
        pattern
            If given, only the subscriptions made with exactly this pattern.
        """
        return [s for s, _ in self._subs if pattern is None or s.pattern == pattern]

    def topics(self) -> list[str]:
        """Return the distinct subscribed patterns, sorted."""
        return sorted({s.pattern for s, _ in self._subs})

    # ------------------------------------------------------------------ endpoints

    def register(self, endpoint: str, handler: Handler) -> None:
        """Register ``handler`` as the single receiver of messages sent to ``endpoint``.

        The handler receives plain messages from :meth:`send` and :class:`Request` envelopes
        from :meth:`request`.

        Raises
        ------
        InvalidValue
            If the endpoint name is invalid (empty, wildcard), the handler is not callable, or
            the endpoint is already registered.
        """
        _check_name("endpoint", endpoint, allow_wildcards=False)
        _check_handler("handler", handler)
        if endpoint in self._endpoints:
            raise InvalidValue("endpoint", endpoint, "is already registered")
        self._endpoints[endpoint] = handler

    def deregister(self, endpoint: str) -> None:
        """Remove the handler registered at ``endpoint``.

        Requests already issued to the endpoint stay pending (see :meth:`cancel_request`).

        Raises
        ------
        InvalidValue
            If the endpoint is not registered.
        """
        if endpoint not in self._endpoints:
            raise InvalidValue("endpoint", endpoint, "is not registered")
        del self._endpoints[endpoint]

    def is_registered(self, endpoint: str) -> bool:
        """Return whether ``endpoint`` has a registered handler."""
        return endpoint in self._endpoints

    def endpoints(self) -> list[str]:
        """Return the registered endpoint names, sorted."""
        return sorted(self._endpoints)

    def send(self, endpoint: str, msg: Any) -> None:
        """Deliver ``msg`` to the handler registered at ``endpoint``.

        Raises
        ------
        InvalidValue
            If no handler is registered at ``endpoint`` (nothing is counted).
        """
        handler = self._endpoints.get(endpoint)
        if handler is None:
            raise InvalidValue("endpoint", endpoint, "no handler is registered at this endpoint")
        self._sent += 1
        try:
            handler(msg)
        except Exception as exc:  # noqa: BLE001
            self._report(exc, endpoint, handler, msg)

    # ------------------------------------------------------------------ request/response

    def request(self, endpoint: str, request_msg: Any, callback: Handler) -> int:
        """Send a request to ``endpoint``; ``callback`` receives the response exactly once.

        The endpoint handler receives a :class:`Request` envelope and answers with
        :meth:`respond` using its ``correlation_id`` -- immediately (then ``callback`` runs
        before this method returns) or later.

        Parameters
        ----------
        endpoint
            A registered endpoint.
        request_msg
            The request payload.
        callback
            Called with the response.

        Returns
        -------
        int
            The correlation id: a per-bus counter starting at 1, so runs replay identically.

        Raises
        ------
        InvalidValue
            If the endpoint is not registered or the callback is not callable (no id is used).
        """
        handler = self._endpoints.get(endpoint)
        if handler is None:
            raise InvalidValue("endpoint", endpoint, "no handler is registered at this endpoint")
        _check_handler("callback", callback)
        correlation_id = self._next_correlation_id
        self._next_correlation_id += 1
        self._pending[correlation_id] = (endpoint, callback)
        self._requests += 1
        envelope = Request(correlation_id, endpoint, request_msg)
        try:
            handler(envelope)
        except Exception as exc:  # noqa: BLE001
            self._report(exc, endpoint, handler, envelope)
        return correlation_id

    def respond(self, correlation_id: int, response: Any) -> None:
        """Answer the pending request ``correlation_id``; its callback fires now.

        Raises
        ------
        InvalidValue
            If ``correlation_id`` was never issued, or was already answered or cancelled.
        """
        entry = self._pending.pop(correlation_id, None)
        if entry is None:
            issued = (
                isinstance(correlation_id, int)
                and not isinstance(correlation_id, bool)
                and 1 <= correlation_id < self._next_correlation_id
            )
            reason = "was already answered or cancelled" if issued else "was never issued"
            raise InvalidValue("correlation_id", correlation_id, reason)
        endpoint, callback = entry
        self._responses += 1
        try:
            callback(response)
        except Exception as exc:  # noqa: BLE001
            self._report(exc, endpoint, callback, response)

    def cancel_request(self, correlation_id: int) -> None:
        """Forget a pending request; a later :meth:`respond` to it is an error.

        Raises
        ------
        InvalidValue
            If ``correlation_id`` is not pending.
        """
        if self._pending.pop(correlation_id, None) is None:
            raise InvalidValue("correlation_id", correlation_id, "is not a pending request")

    @property
    def pending_requests(self) -> list[int]:
        """Correlation ids of requests not yet answered, in issue order."""
        return list(self._pending)

    # ------------------------------------------------------------------ errors

    def _report(self, exc: Exception, where: str, handler: Handler, msg: Any) -> None:
        self._handler_errors += 1
        try:
            self.on_handler_error(exc, where, handler, msg)
        except Exception:  # a broken error hook must not break delivery
            self._logger.exception("on_handler_error raised while reporting an error")

    def _log_handler_error(self, exc: Exception, where: str, handler: Handler, msg: Any) -> None:
        self._logger.error(
            "%s: handler %r raised on %r (%s: %s)",
            self.name,
            handler,
            where,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )


class MeteredMessageBus(MessageBus):
    """A :class:`MessageBus` that also counts publishes and deliveries per topic family.

    A topic's family is its first ``family_depth`` dotted segments
    (``data.quotes.BINANCE.BTCUSDT`` -> ``data.quotes`` at depth 2). The kernel uses this class
    when metrics are enabled; behaviour is otherwise identical to :class:`MessageBus`.

    Parameters
    ----------
    name, on_handler_error, topic_cache_size
        As for :class:`MessageBus`.
    family_depth
        Number of leading dotted segments that name a family (>= 1).

    Notes
    -----
    ``publish`` looks a topic up once, in its own cache of ``(handlers, family cell)``, and
    counts into the cell (a ``[published, delivered]`` list shared by the family's topics)
    instead of the bus-wide totals, which are summed from the cells on demand: it does the same
    work as the plain bus plus one tuple unpacking. The cache is dropped whenever the
    subscriptions change (as the plain bus drops its own) and is bounded by
    ``topic_cache_size``; the family totals are kept.
    """

    __slots__ = ("_entries", "_families", "_family_depth")

    def __init__(
        self,
        name: str = "MessageBus",
        *,
        on_handler_error: HandlerErrorCallback | None = None,
        topic_cache_size: int = _DEFAULT_TOPIC_CACHE_SIZE,
        family_depth: int = 2,
    ) -> None:
        if isinstance(family_depth, bool) or not isinstance(family_depth, int) or family_depth < 1:
            raise InvalidValue("family_depth", family_depth, "must be an int >= 1")
        super().__init__(name, on_handler_error=on_handler_error, topic_cache_size=topic_cache_size)
        self._family_depth = family_depth
        self._families: dict[str, list[int]] = {}
        self._entries: dict[str, tuple[tuple[Handler, ...], list[int]]] = {}

    @property
    def published_count(self) -> int:
        """Number of :meth:`publish` calls (with or without subscribers)."""
        return sum(cell[0] for cell in self._families.values())

    @property
    def delivered_count(self) -> int:
        """Number of handler invocations by :meth:`publish` (including ones that raised)."""
        return sum(cell[1] for cell in self._families.values())

    def family_of(self, topic: str) -> str:
        """The family of ``topic``: its first ``family_depth`` dotted segments."""
        return ".".join(topic.split(".", self._family_depth)[: self._family_depth])

    def family_counts(self) -> dict[str, tuple[int, int]]:
        """``{family: (published, delivered)}`` for every family published to so far."""
        return {family: (cell[0], cell[1]) for family, cell in self._families.items()}

    def subscribe(self, pattern: str, handler: Handler, *, priority: int = 0) -> Subscription:
        """As :meth:`MessageBus.subscribe`."""
        sub = super().subscribe(pattern, handler, priority=priority)
        self._entries = {}
        return sub

    def unsubscribe(self, pattern: str, handler: Handler) -> None:
        """As :meth:`MessageBus.unsubscribe`."""
        super().unsubscribe(pattern, handler)
        self._entries = {}

    def _entry(self, topic: str) -> tuple[tuple[Handler, ...], list[int]]:
        handlers = self._cache.get(topic)
        if handlers is None:
            handlers = self._resolve(topic)  # validates the topic
        family = self.family_of(topic)
        cell = self._families.get(family)
        if cell is None:
            cell = self._families[family] = [0, 0]
        entries = self._entries
        if len(entries) >= self._cache_limit:
            entries.clear()
        entry = entries[topic] = (handlers, cell)
        return entry

    def publish(self, topic: str, msg: Any) -> None:
        """Deliver ``msg`` like :meth:`MessageBus.publish`, counting it for its topic family."""
        entry = self._entries.get(topic)
        if entry is None:
            entry = self._entry(topic)
        handlers, cell = entry
        cell[0] += 1
        if handlers:
            cell[1] += len(handlers)
            for handler in handlers:
                try:
                    handler(msg)
                except Exception as exc:  # noqa: BLE001 - reported, never swallowed silently
                    self._report(exc, topic, handler, msg)
