"""Real loopback servers for testing network code: an HTTP/1.1 responder and a websocket server.

Each runs its own asyncio event loop in a background thread on ``127.0.0.1`` (an ephemeral
port unless ``port`` is given), so the code under test can use any anyio backend (asyncio or
trio) in the test's own loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import attrs
from websockets.asyncio.server import ServerConnection, serve

__all__ = [
    "Drop",
    "HttpReply",
    "LoopbackHttpServer",
    "LoopbackWsServer",
    "RecordedRequest",
    "WsPeer",
]


@attrs.frozen
class RecordedRequest:
    """A request as the server received it (header names lower-cased)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """Target without the query string."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> str:
        """The raw query string."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""


@attrs.frozen
class HttpReply:
    """A response: ``delay`` seconds of silence first (to provoke client timeouts)."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    delay: float = 0.0


@attrs.frozen
class Drop:
    """Close the connection without answering."""


HttpHandler = Callable[[RecordedRequest], "HttpReply | Drop"]


class _ThreadLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run(self, coro: Awaitable[Any], timeout: float = 10.0) -> Any:
        async def wrap() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class LoopbackHttpServer:
    """A minimal HTTP/1.1 server (keep-alive, Content-Length bodies) calling ``handler``.

    ``requests`` records every request in arrival order; it is safe to read from other threads.
    """

    def __init__(self, handler: HttpHandler, port: int = 0) -> None:
        self.handler = handler
        self.requests: list[RecordedRequest] = []
        self._loop = _ThreadLoop()
        self._server: asyncio.Server | None = None
        self.port = port  # 0: an ephemeral port, known once started

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackHttpServer:
        self._loop.start()

        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._serve, "127.0.0.1", self.port)

        self._server = self._loop.run(start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        server = self._server
        if server is not None:

            async def close() -> None:
                server.close()

            self._loop.run(close())
        self._loop.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = RecordedRequest(method, target, headers, body)
                self.requests.append(request)
                reply = self.handler(request)
                if isinstance(reply, Drop):
                    return
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                out = [f"HTTP/1.1 {reply.status} X"]
                out += [f"{k}: {v}" for k, v in reply.headers]
                out.append(f"Content-Length: {len(reply.body)}")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + reply.body)
                await writer.drain()
        except asyncio.CancelledError:
            # The server is stopping. Ending normally keeps asyncio's stream callback from
            # logging the cancelled handler task as an error.
            return
        finally:
            writer.close()


class WsPeer:
    """The server side of one websocket connection, as a test handler sees it."""

    def __init__(self, server: LoopbackWsServer, conn: ServerConnection, index: int) -> None:
        self._server = server
        self.conn = conn
        self.index = index

    async def recv(self) -> str | bytes:
        """Receive one message (recorded in ``server.received``)."""
        message = await self.conn.recv()
        self._server.received.append((self.index, message))
        return message

    async def send(self, message: str | bytes) -> None:
        """Send one message."""
        await self.conn.send(message)

    def drop(self) -> None:
        """Abort the TCP connection without a close frame (a crash or network loss)."""
        self.conn.transport.abort()

    def send_raw(self, data: bytes) -> None:
        """Write raw bytes to the socket, bypassing websocket framing."""
        self.conn.transport.write(data)


WsHandler = Callable[[WsPeer], Awaitable[None]]


class LoopbackWsServer:
    """A real ``websockets`` server; ``handler(peer)`` runs once per connection.

    Attributes
    ----------
    received
        ``(connection index, message)`` for every message a handler received via ``peer.recv``.
    connections
        Number of connections accepted so far.
    """

    def __init__(self, handler: WsHandler, port: int = 0) -> None:
        self.handler = handler
        self.received: list[tuple[int, str | bytes]] = []
        self.connections = 0
        self._loop = _ThreadLoop()
        self._server: Any = None
        self.port = port  # 0: an ephemeral port, known once started

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return f"ws://127.0.0.1:{self.port}"

    async def _handle(self, conn: ServerConnection) -> None:
        index = self.connections
        self.connections += 1
        try:
            await self.handler(WsPeer(self, conn, index))
        except Exception:  # noqa: BLE001 - a client going away ends the handler
            conn.transport.abort()

    def __enter__(self) -> LoopbackWsServer:
        self._loop.start()

        async def start() -> Any:
            return await serve(self._handle, "127.0.0.1", self.port, ping_interval=None)

        self._server = self._loop.run(start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        server = self._server

        async def close() -> None:
            server.close(close_connections=False)
            for conn in list(server.connections):
                conn.transport.abort()

        self._loop.run(close())
        self._loop.stop()
