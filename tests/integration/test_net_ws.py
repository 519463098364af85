"""ReconnectingWebSocket against a real `websockets` server on 127.0.0.1 (asyncio and trio)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from alphaforge.net import (
    Backoff,
    ConnectionClosed,
    ConnectionState,
    NetError,
    ProtocolError,
    ReconnectingWebSocket,
    Subscription,
    WebSocketConfig,
    WsMessage,
)
from alphaforge.net.loopback import LoopbackWsServer, WsPeer

FAST = Backoff(base=0.02, cap=0.1)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _sub(stream: str, silence: float | None = None) -> Subscription:
    ids = iter(range(1, 1_000_000))
    return Subscription(
        stream,
        lambda: json.dumps({"method": "SUBSCRIBE", "params": [stream], "id": next(ids)}),
        silence_timeout=silence,
    )


def _route(data: Any) -> str | None:
    return data.get("stream") if isinstance(data, dict) else None


async def _publisher(peer: WsPeer, per_stream: int, after: Callable[[WsPeer], Any] | None) -> None:
    """Ack each SUBSCRIBE, then publish `per_stream` messages on each subscribed stream."""
    streams: list[str] = []
    while len(streams) < 2:
        msg = json.loads(await peer.recv())
        streams += msg["params"]
        await peer.send(json.dumps({"result": None, "id": msg["id"]}))
    for i in range(per_stream):
        for s in streams:
            await peer.send(json.dumps({"stream": s, "seq": i, "conn": peer.index}))
    if after is not None:
        await after(peer)
    await asyncio.sleep(30)


@pytest.mark.anyio
async def test_drop_mid_stream_reconnects_and_replays_original_subscriptions() -> None:
    async def handler(peer: WsPeer) -> None:
        async def drop_first(p: WsPeer) -> None:
            if p.index == 0:
                await asyncio.sleep(0.05)
                p.drop()

        await _publisher(peer, 3, drop_first)

    states: list[ConnectionState] = []
    errors: list[NetError] = []
    subs = [_sub("btcusdt@trade"), _sub("btcusdt@depth")]
    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=FAST, ping_interval=None)
        got: list[WsMessage] = []
        with anyio.fail_after(10):
            async with ReconnectingWebSocket(
                cfg,
                subs,
                decoder=json.loads,
                router=_route,
                on_state=states.append,
                on_error=errors.append,
                rng=random.Random(0),
            ) as ws:
                async for msg in ws:
                    if msg.subscription is not None:
                        got.append(msg)
                    if len([m for m in got if m.connection_id == 2]) == 6:
                        break
                assert ws.state is ConnectionState.CONNECTED
                assert ws.stats.reconnects == 1 and ws.connection_id == 2
                assert set(ws.stats.last_message_at) == {"btcusdt@trade", "btcusdt@depth"}
    assert ws.state is ConnectionState.CLOSED
    subscribes = [(i, json.loads(m)) for i, m in server.received]
    # the same subscribe messages, rebuilt from the original factories, on each connection
    assert [(i, m["params"]) for i, m in subscribes] == [
        (0, ["btcusdt@trade"]),
        (0, ["btcusdt@depth"]),
        (1, ["btcusdt@trade"]),
        (1, ["btcusdt@depth"]),
    ]
    assert [m["id"] for _, m in subscribes] == [1, 1, 2, 2]  # factories are called anew
    assert sum(1 for m in got if m.connection_id == 1) == 6
    assert states[:3] == [
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
        ConnectionState.RECONNECTING,
    ]
    assert any(isinstance(e, ConnectionClosed) for e in errors)


@pytest.mark.anyio
async def test_silence_watchdog_reconnects_a_silent_subscription() -> None:
    async def handler(peer: WsPeer) -> None:
        streams: list[str] = []
        while len(streams) < 2:
            streams += json.loads(await peer.recv())["params"]
        # 'depth' keeps talking; 'trade' goes silent on the first connection only
        for i in range(1000):
            await peer.send(json.dumps({"stream": "btcusdt@depth", "seq": i}))
            if peer.index > 0:
                await peer.send(json.dumps({"stream": "btcusdt@trade", "seq": i}))
            await asyncio.sleep(0.02)

    subs = [_sub("btcusdt@trade", silence=0.3), _sub("btcusdt@depth", silence=5.0)]
    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=FAST, ping_interval=None)
        with anyio.fail_after(10):
            async with ReconnectingWebSocket(cfg, subs, decoder=json.loads, router=_route) as ws:
                async for msg in ws:
                    if msg.subscription == "btcusdt@trade":
                        break
                assert ws.stats.silence_timeouts == 1
                assert ws.stats.reconnects == 1 and msg.connection_id == 2
                assert ws.silence("btcusdt@trade") < 5.0
    assert server.connections == 2
    assert [i for i, _ in server.received] == [0, 0, 1, 1]


@pytest.mark.anyio
async def test_garbage_frames_are_reported_and_the_stream_continues() -> None:
    async def handler(peer: WsPeer) -> None:
        await peer.recv()
        await peer.send(json.dumps({"stream": "s", "seq": 0}))
        await peer.send("}{ not json")
        await peer.send(b"\xff\xfe binary garbage")
        await peer.send(json.dumps({"stream": "s", "seq": 1}))
        await asyncio.sleep(30)

    errors: list[NetError] = []
    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=FAST, ping_interval=None)
        seqs = []
        with anyio.fail_after(10):
            async with ReconnectingWebSocket(
                cfg, [_sub("s")], decoder=json.loads, router=_route, on_error=errors.append
            ) as ws:
                async for msg in ws:
                    seqs.append(msg.data["seq"])
                    if len(seqs) == 2:
                        break
                assert ws.stats.protocol_errors == 2 and ws.stats.reconnects == 0
    assert seqs == [0, 1]
    assert [type(e) for e in errors] == [ProtocolError, ProtocolError]


@pytest.mark.anyio
async def test_invalid_websocket_frame_is_a_protocol_error_then_reconnect() -> None:
    async def handler(peer: WsPeer) -> None:
        await peer.recv()
        if peer.index == 0:
            peer.send_raw(b"\x8f\x00")  # FIN + reserved opcode 0xF: not a valid frame
        else:
            await peer.send(json.dumps({"stream": "s", "seq": 0}))
        await asyncio.sleep(30)

    errors: list[NetError] = []
    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=FAST, ping_interval=None)
        with anyio.fail_after(10):
            async with ReconnectingWebSocket(
                cfg, [_sub("s")], decoder=json.loads, router=_route, on_error=errors.append
            ) as ws:
                msg = await ws.__anext__()
                assert msg.connection_id == 2 and ws.stats.protocol_errors == 1
    assert any(isinstance(e, ProtocolError) for e in errors)


@pytest.mark.anyio
async def test_ping_timeout_reconnects_and_pongs_keep_alive() -> None:
    async def handler(peer: WsPeer) -> None:
        await peer.recv()
        if peer.index == 0:
            # stop reading: the websockets server then never answers pings
            peer.conn.transport.pause_reading()
        else:
            await asyncio.sleep(0.5)  # answers pings automatically while idle
            await peer.send(json.dumps({"stream": "s", "seq": 0}))
        await asyncio.sleep(30)

    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=FAST, ping_interval=0.1, ping_timeout=0.2)
        with anyio.fail_after(10):
            async with ReconnectingWebSocket(cfg, [_sub("s")], decoder=json.loads) as ws:
                msg = await ws.__anext__()
                assert msg.connection_id == 2
                assert ws.stats.ping_timeouts == 1


@pytest.mark.anyio
async def test_max_attempts_gives_up_with_connection_closed() -> None:
    with LoopbackWsServer(lambda peer: asyncio.sleep(0)) as server:
        url = server.url  # the port is closed once the server stops
    cfg = WebSocketConfig(url, backoff=FAST, max_attempts=3, ping_interval=None)
    with anyio.fail_after(10):
        async with ReconnectingWebSocket(cfg) as ws:
            with pytest.raises(ConnectionClosed, match="gave up after 3"):
                async for _ in ws:
                    pass
            assert ws.stats.failed_attempts == 3 and ws.state is ConnectionState.CLOSED


@pytest.mark.anyio
async def test_subscribe_while_connected_sends_now_and_is_replayed() -> None:
    async def handler(peer: WsPeer) -> None:
        while True:
            msg = json.loads(await peer.recv())
            await peer.send(json.dumps({"stream": msg["params"][0], "seq": 0}))
            if msg["params"][0] == "late" and peer.index == 0:
                peer.drop()
                return

    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=FAST, ping_interval=None)
        with anyio.fail_after(10):
            async with ReconnectingWebSocket(
                cfg, [_sub("early")], decoder=json.loads, router=_route
            ) as ws:
                await ws.wait_connected()
                await ws.subscribe(_sub("late"))
                seen = []
                async for msg in ws:
                    seen.append((msg.connection_id, msg.subscription))
                    if len([s for s in seen if s[0] == 2]) == 2:
                        break
    assert [(i, json.loads(m)["params"][0]) for i, m in server.received] == [
        (0, "early"),
        (0, "late"),
        (1, "early"),
        (1, "late"),
    ]


@pytest.mark.anyio
async def test_closing_as_the_venue_closes_is_clean() -> None:
    # The venue says goodbye and closes (Binance after listenKeyExpired) while the client is
    # leaving: whichever close lands first, exiting must neither raise nor hang.
    async def handler(peer: WsPeer) -> None:
        await peer.recv()
        await peer.send(json.dumps({"stream": "s", "seq": 0}))
        await peer.conn.close()

    with LoopbackWsServer(handler) as server:
        cfg = WebSocketConfig(server.url, backoff=Backoff(base=5.0, cap=5.0), ping_interval=None)
        for delay in (0.0, 0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05) * 2:
            with anyio.fail_after(10):
                async with ReconnectingWebSocket(
                    cfg, [_sub("s")], decoder=json.loads, router=_route
                ) as ws:
                    async for _ in ws:
                        break
                    await anyio.sleep(delay)
            assert ws.state is ConnectionState.CLOSED
