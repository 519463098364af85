"""Runs the embedding example of docs/ (a web service hosting a LiveNode) under asyncio and trio."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import anyio
import anyio.abc
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "embed_web_service.py"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embed_web_service", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def http(port: int, method: str, path: str) -> tuple[str, dict[str, object]]:
    """One request over a plain anyio TCP stream (works on both backends)."""
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode()
        )
        data = b""
        while True:
            try:
                data += await stream.receive()
            except anyio.EndOfStream:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


@pytest.mark.anyio
async def test_web_service_example(anyio_backend: str) -> None:
    example = load_example()
    async with anyio.create_task_group() as tg:
        port, node = await tg.start(example.serve, 0)
        with anyio.fail_after(15):
            while True:  # wait until quotes flow through the node
                status, health = await http(port, "GET", "/health")
                subs = health["subscriptions"]
                assert isinstance(subs, list)
                if subs and subs[0]["last_message_ns"]:
                    break
                await anyio.sleep(0.02)
        assert status.endswith("200 OK")
        assert health["trading_state"] == "ACTIVE"
        assert {c["name"] for c in health["clients"]} == {"data:DEMO", "paper:DEMO"}  # type: ignore[union-attr, index]
        status, halted = await http(port, "POST", "/halt")
        assert halted == {"trading_state": "HALTED"}
        _, positions = await http(port, "GET", "/positions")
        assert "BTCUSDT.DEMO" in positions
        assert node.is_running
        tg.cancel_scope.cancel()
    assert not node.is_running
