"""``ReconnectingWebSocket``: a websocket client that stays connected and resubscribed.

Built on anyio streams and the sans-I/O protocol of the ``websockets`` package, so it runs under
asyncio and trio, inside the host application's event loop (it never owns one).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
import random
import secrets
import ssl
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake, InvalidState, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from alphaforge.errors import InvalidValue, KernelStateError
from alphaforge.net.backoff import Backoff
from alphaforge.net.errors import ConnectionClosed, NetError, ProtocolError

__all__ = [
    "ConnectionState",
    "ReconnectingWebSocket",
    "Subscription",
    "WebSocketConfig",
    "WebSocketStats",
    "WsMessage",
]

_log = logging.getLogger("alphaforge.net.ws")

Payload = str | bytes


class ConnectionState(enum.Enum):
    """Lifecycle of a :class:`ReconnectingWebSocket`."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@attrs.frozen
class Subscription:
    """A subscription, replayed from its original arguments after every reconnect.

    Parameters
    ----------
    key
        Unique name; the router maps incoming messages to it.
    subscribe
        Factory of the message(s) to send (called anew on every (re)connect, so it may carry a
        fresh request id or auth token).
    silence_timeout
        Reconnect when no message for this subscription arrived for this many seconds.
    """

    key: str
    subscribe: Callable[[], Payload | Sequence[Payload]]
    silence_timeout: float | None = None


@attrs.frozen
class WebSocketConfig:
    """Configuration of a :class:`ReconnectingWebSocket`.

    Parameters
    ----------
    url
        ``ws://`` or ``wss://`` URL.
    backoff
        Delay between connection attempts (capped exponential, full jitter).
    max_attempts
        Consecutive failed attempts before giving up (:class:`ConnectionClosed`); ``None`` =
        retry forever.
    ping_interval, ping_timeout
        Send a ping every ``ping_interval`` s; reconnect if its pong is not back within
        ``ping_timeout`` s. ``None`` disables pings.
    connect_timeout
        TCP + TLS + handshake timeout.
    max_message_size
        Largest accepted message in bytes.
    buffer_size
        Messages buffered for a slow consumer before reading from the socket pauses.
    headers
        Extra handshake headers.
    ssl_context
        TLS context for ``wss://`` (default: system trust store).
    """

    url: str
    backoff: Backoff = attrs.field(factory=lambda: Backoff(base=0.5, cap=30.0))
    max_attempts: int | None = None
    ping_interval: float | None = 20.0
    ping_timeout: float = 20.0
    connect_timeout: float = 10.0
    max_message_size: int = 8 * 1024 * 1024
    buffer_size: int = 1024
    headers: tuple[tuple[str, str], ...] = ()
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, eq=False)


@attrs.frozen
class WsMessage:
    """One incoming message.

    Attributes
    ----------
    data
        The decoded message (the raw ``str``/``bytes`` without a decoder).
    subscription
        Key of the subscription the router assigned it to, or ``None``.
    received_at
        ``anyio.current_time()`` at receipt.
    connection_id
        Incremented on every new connection: a change means messages may have been missed
        (order books must resync).
    """

    data: Any
    subscription: str | None
    received_at: float
    connection_id: int


@attrs.define
class WebSocketStats:
    """Counters, for the health monitor."""

    connects: int = 0
    reconnects: int = 0
    failed_attempts: int = 0
    messages: int = 0
    protocol_errors: int = 0
    silence_timeouts: int = 0
    ping_timeouts: int = 0
    last_message_at: dict[str, float] = attrs.field(factory=dict)


class _Lost(Exception):
    """The current connection is unusable; reconnect."""


class _Connection:
    """One websocket connection: an anyio byte stream driven by the sans-I/O protocol."""

    def __init__(self, stream: anyio.abc.ByteStream, protocol: ClientProtocol) -> None:
        self.stream = stream
        self.protocol = protocol
        self.write_lock = anyio.Lock()
        self.pending: list[Frame] = []

    async def flush(self) -> None:
        async with self.write_lock:
            for chunk in self.protocol.data_to_send():
                if chunk:
                    await self.stream.send(chunk)
                else:  # the protocol asks for a half-close
                    with contextlib.suppress(
                        NotImplementedError, anyio.BrokenResourceError, OSError
                    ):
                        await self.stream.send_eof()

    async def read_frames(self) -> list[Frame]:
        if self.pending:
            frames, self.pending = self.pending, []
            return frames
        try:
            data = await self.stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            self.protocol.receive_eof()
        else:
            self.protocol.receive_data(data)
        frames = [e for e in self.protocol.events_received() if isinstance(e, Frame)]
        await self.flush()  # pongs and close replies the protocol queued
        return frames

    async def send(self, message: Payload) -> None:
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        await self.flush()


class ReconnectingWebSocket:
    """A websocket that reconnects forever and replays its subscriptions.

    Messages are delivered through an anyio memory object stream: iterate the instance (or
    :attr:`messages`). Garbage payloads (the ``decoder`` raised) are reported as
    :class:`~alphaforge.net.errors.ProtocolError` to ``on_error`` and skipped; the stream
    continues.

    Parameters
    ----------
    config
        Connection settings.
    subscriptions
        Initial subscriptions; more can be added with :meth:`subscribe`.
    decoder
        ``raw -> decoded`` (e.g. ``json.loads``); exceptions are protocol errors.
    router
        ``decoded -> subscription key or None``; feeds the silence watchdog.
    on_error
        Called with every :class:`NetError` observed (protocol errors, connection losses).
    on_state
        Called on every state change.
    rng
        Jitter source (seed it in tests).

    Examples
    --------
    ::

        async with ReconnectingWebSocket(cfg, [Subscription("trades", sub_msg, 30.0)],
                                         decoder=json.loads, router=route) as ws:
            async for msg in ws:
                handle(msg.data)
    """

    def __init__(
        self,
        config: WebSocketConfig,
        subscriptions: Sequence[Subscription] = (),
        *,
        decoder: Callable[[Payload], Any] | None = None,
        router: Callable[[Any], str | None] | None = None,
        on_error: Callable[[NetError], None] | None = None,
        on_state: Callable[[ConnectionState], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        try:
            self._uri = parse_uri(config.url)
        except InvalidURI as exc:
            raise InvalidValue("url", config.url, str(exc)) from exc
        self.config = config
        self._subs: dict[str, Subscription] = {}
        for sub in subscriptions:
            self._add(sub)
        self._decoder = decoder
        self._router = router
        self._on_error = on_error
        self._on_state = on_state
        self._rng = rng or random.Random()
        self._state = ConnectionState.CLOSED
        self.stats = WebSocketStats()
        self.connection_id = 0
        self.last_error: NetError | None = None
        self._conn: _Connection | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._send: MemoryObjectSendStream[WsMessage] | None = None
        self._recv: MemoryObjectReceiveStream[WsMessage] | None = None
        self._connected = anyio.Event()
        self._terminal: NetError | None = None
        self._sub_times: dict[str, float] = {}
        self._pong = b""

    def __repr__(self) -> str:
        return (
            f"ReconnectingWebSocket(url={self.config.url!r}, state={self._state.name}, "
            f"reconnects={self.stats.reconnects})"
        )

    # -- public surface -------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """Current :class:`ConnectionState`."""
        return self._state

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Registered subscriptions, in registration order."""
        return tuple(self._subs.values())

    @property
    def messages(self) -> MemoryObjectReceiveStream[WsMessage]:
        """The receive side of the message stream."""
        if self._recv is None:
            raise KernelStateError("the websocket is not open (use `async with`)")
        return self._recv

    def silence(self, key: str) -> float:
        """Seconds since the last message of subscription ``key`` (or since it was sent)."""
        last = self.stats.last_message_at.get(key, self._sub_times.get(key, math.nan))
        return anyio.current_time() - last

    async def wait_connected(self) -> None:
        """Wait until the socket is connected and its subscriptions are sent."""
        await self._connected.wait()

    async def subscribe(self, subscription: Subscription) -> None:
        """Register ``subscription`` (replayed on every reconnect) and send it now if connected."""
        self._add(subscription)
        conn = self._conn
        if conn is not None and self._state is ConnectionState.CONNECTED:
            await self._send_subscription(conn, subscription)

    async def send(self, message: Payload) -> None:
        """Send one message on the current connection (not replayed after a reconnect)."""
        conn = self._conn
        if conn is None or self._state is not ConnectionState.CONNECTED:
            raise ConnectionClosed("not connected", venue=self.config.url)
        await conn.send(message)

    async def __aenter__(self) -> ReconnectingWebSocket:
        if self._tg is not None:
            raise KernelStateError("the websocket is already open")
        self._send, self._recv = anyio.create_memory_object_stream[WsMessage](
            self.config.buffer_size
        )
        self._terminal = None
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        tg.start_soon(self._supervise)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg, self._tg = self._tg, None
        if tg is None:
            return None
        conn = self._conn
        try:
            if conn is not None and conn.protocol.state is State.OPEN:
                with (
                    anyio.move_on_after(1.0, shield=True),
                    # The venue may close it first (e.g. Binance after listenKeyExpired).
                    contextlib.suppress(InvalidState, anyio.BrokenResourceError,
                                        anyio.ClosedResourceError, OSError),
                ):  # fmt: skip
                    conn.protocol.send_close(1000)
                    await conn.flush()
        finally:  # whatever happened, the task group is exited in this task
            tg.cancel_scope.cancel()
            try:
                suppress = await tg.__aexit__(exc_type, exc, tb)
            finally:
                self._set_state(ConnectionState.CLOSED)
                if self._recv is not None:
                    self._recv.close()
        return suppress

    def __aiter__(self) -> ReconnectingWebSocket:
        return self

    async def __anext__(self) -> WsMessage:
        try:
            return await self.messages.receive()
        except anyio.EndOfStream:
            if self._terminal is not None:
                raise self._terminal from None
            raise StopAsyncIteration from None

    # -- internals ------------------------------------------------------------------------

    def _add(self, sub: Subscription) -> None:
        if sub.silence_timeout is not None and not sub.silence_timeout > 0:
            raise InvalidValue("silence_timeout", sub.silence_timeout, "must be > 0")
        self._subs[sub.key] = sub

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        self._state = state
        if state is not ConnectionState.CONNECTED:
            self._connected = anyio.Event() if self._connected.is_set() else self._connected
        if self._on_state is not None:
            self._on_state(state)

    def _report(self, error: NetError) -> None:
        self.last_error = error
        if self._on_error is not None:
            self._on_error(error)

    async def _supervise(self) -> None:
        assert self._send is not None
        failures = 0
        try:
            async with self._send:
                while True:
                    first = self.stats.connects == 0
                    self._set_state(
                        ConnectionState.CONNECTING if first else ConnectionState.RECONNECTING
                    )
                    try:
                        conn = await self._connect()
                    except (
                        OSError,
                        TimeoutError,
                        InvalidHandshake,
                        _Lost,
                        anyio.BrokenResourceError,
                    ) as exc:
                        failures += 1
                        self.stats.failed_attempts += 1
                        err = ConnectionClosed(f"connect failed: {exc!r}", venue=self.config.url)
                        self._report(err)
                        limit = self.config.max_attempts
                        if limit is not None and failures >= limit:
                            self._terminal = ConnectionClosed(
                                f"gave up after {failures} attempts: {exc!r}",
                                venue=self.config.url,
                            )
                            return
                        await anyio.sleep(self.config.backoff.delay(failures - 1, self._rng))
                        continue
                    if not first:
                        self.stats.reconnects += 1
                    self.stats.connects += 1
                    self.connection_id += 1
                    got_data = await self._serve(conn)
                    if got_data:
                        failures = 0  # the connection worked: start the backoff over
                    else:
                        failures += 1
                    await anyio.sleep(self.config.backoff.delay(max(0, failures - 1), self._rng))
        finally:
            self._conn = None
            self._set_state(ConnectionState.CLOSED)

    async def _connect(self) -> _Connection:
        uri = self._uri
        with anyio.fail_after(self.config.connect_timeout):
            stream: anyio.abc.ByteStream
            if uri.secure:
                stream = await anyio.connect_tcp(
                    uri.host,
                    uri.port,
                    tls=True,
                    ssl_context=self.config.ssl_context or ssl.create_default_context(),
                    tls_hostname=uri.host,
                    tls_standard_compatible=False,
                )
            else:
                stream = await anyio.connect_tcp(uri.host, uri.port)
            protocol = ClientProtocol(uri, max_size=self.config.max_message_size)
            conn = _Connection(stream, protocol)
            try:
                request = protocol.connect()
                for name, value in self.config.headers:
                    request.headers[name] = value
                protocol.send_request(request)
                await conn.flush()
                while True:
                    try:
                        data = await stream.receive()
                    except anyio.EndOfStream:
                        raise _Lost("closed during the handshake") from None
                    protocol.receive_data(data)
                    events = protocol.events_received()
                    responses = [e for e in events if isinstance(e, Response)]
                    if responses:
                        if protocol.handshake_exc is not None:
                            raise protocol.handshake_exc
                        conn.pending = [e for e in events if isinstance(e, Frame)]
                        return conn
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
                raise

    async def _send_subscription(self, conn: _Connection, sub: Subscription) -> None:
        produced = sub.subscribe()
        messages = [produced] if isinstance(produced, str | bytes) else list(produced)
        self._sub_times[sub.key] = anyio.current_time()
        self.stats.last_message_at.pop(sub.key, None)
        for message in messages:
            await conn.send(message)

    async def _serve(self, conn: _Connection) -> bool:
        """Run one connection until it is lost; return whether it delivered any message."""
        self._conn = conn
        self._pong = b""
        delivered = [False]
        reasons: list[str] = []

        async def guarded(fn: Callable[[], Any], scope: anyio.CancelScope) -> None:
            try:
                await fn()
            except (_Lost, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as e:
                reasons.append(str(e) or type(e).__name__)
                scope.cancel()

        try:
            async with conn.stream, anyio.create_task_group() as tg:
                scope = tg.cancel_scope

                async def main() -> None:
                    for sub in list(self._subs.values()):
                        await self._send_subscription(conn, sub)
                    self._set_state(ConnectionState.CONNECTED)
                    self._connected.set()
                    tg.start_soon(guarded, lambda: self._pinger(conn), scope)
                    tg.start_soon(guarded, self._watchdog, scope)
                    await self._reader(conn, delivered)

                await guarded(main, scope)
        finally:
            self._conn = None
        if reasons:
            self._report(ConnectionClosed(f"connection lost: {reasons[0]}", venue=self.config.url))
        return delivered[0]

    async def _reader(self, conn: _Connection, delivered: list[bool]) -> None:
        assert self._send is not None
        parts: list[bytes] = []
        opcode = Opcode.TEXT
        size = 0
        while True:
            for frame in await conn.read_frames():
                if frame.opcode is Opcode.PONG:
                    self._pong = bytes(frame.data)
                    continue
                if frame.opcode in (Opcode.PING,):
                    continue  # the protocol already queued the pong
                if frame.opcode is Opcode.CLOSE:
                    raise _Lost(f"closed by the server ({conn.protocol.close_code})")
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                    opcode, parts, size = frame.opcode, [], 0
                size += len(frame.data)
                if size > self.config.max_message_size:
                    raise _Lost("message too large")
                parts.append(bytes(frame.data))
                if not frame.fin:
                    continue
                raw = b"".join(parts)
                parts, size = [], 0
                await self._deliver(raw, opcode, delivered)
            protocol = conn.protocol
            if protocol.state is State.CLOSED or protocol.close_expected():
                exc = protocol.parser_exc or (
                    protocol.close_exc if protocol.state is State.CLOSED else None
                )
                if protocol.parser_exc is not None:
                    err = ProtocolError(f"invalid frame: {exc}", venue=self.config.url)
                    self.stats.protocol_errors += 1
                    self._report(err)
                raise _Lost(f"connection closing: {exc}")

    async def _deliver(self, raw: bytes, opcode: Opcode, delivered: list[bool]) -> None:
        assert self._send is not None
        payload: Payload
        try:
            payload = raw.decode() if opcode is Opcode.TEXT else raw
            data = self._decoder(payload) if self._decoder is not None else payload
            key = self._router(data) if self._router is not None else None
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a garbage frame
            self.stats.protocol_errors += 1
            self._report(ProtocolError(f"undecodable message: {exc!r}", venue=self.config.url))
            return
        now = anyio.current_time()
        self.stats.messages += 1
        if key is not None:
            self.stats.last_message_at[key] = now
        delivered[0] = True
        await self._send.send(WsMessage(data, key, now, self.connection_id))

    async def _pinger(self, conn: _Connection) -> None:
        interval = self.config.ping_interval
        if interval is None:
            return
        while True:
            await anyio.sleep(interval)
            token = secrets.token_bytes(4)
            conn.protocol.send_ping(token)
            await conn.flush()
            with anyio.move_on_after(self.config.ping_timeout):
                while self._pong != token:
                    await anyio.sleep(min(0.05, self.config.ping_timeout / 10))
                continue
            self.stats.ping_timeouts += 1
            raise _Lost("ping timeout")

    async def _watchdog(self) -> None:
        timeouts = [s.silence_timeout for s in self._subs.values() if s.silence_timeout]
        if not timeouts:
            return
        tick = max(0.01, min(timeouts) / 4)
        while True:
            await anyio.sleep(tick)
            for sub in list(self._subs.values()):
                if sub.silence_timeout is not None and self.silence(sub.key) > sub.silence_timeout:
                    self.stats.silence_timeouts += 1
                    raise _Lost(f"subscription {sub.key!r} silent for {sub.silence_timeout}s")
