"""VenueHttpClient against a real HTTP/1.1 server on 127.0.0.1 (asyncio and trio clients)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from alphaforge.config import Secret
from alphaforge.net import (
    Backoff,
    ConnectError,
    ErrorClassifier,
    HttpClientConfig,
    OutcomeUnknown,
    RateLimited,
    RateLimiterRegistry,
    RateLimitRule,
    RetryPolicy,
    ServerClock,
    TransportError,
    VenueHttpClient,
    VenueRejected,
    hmac_query_signer,
    hmac_sign,
)
from alphaforge.net.loopback import Drop, HttpReply, LoopbackHttpServer, RecordedRequest

FAST_RETRY = RetryPolicy(max_attempts=3, backoff=Backoff(base=0.01, cap=0.05))


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _config(server: LoopbackHttpServer, **kw: object) -> HttpClientConfig:
    params: dict[str, object] = {"retry": FAST_RETRY, "read_timeout": 0.3}
    params.update(kw)
    return HttpClientConfig("loopback", server.url, **params)  # type: ignore[arg-type]


def _json(status: int, payload: object, *headers: tuple[str, str]) -> HttpReply:
    return HttpReply(
        status, json.dumps(payload).encode(), (("Content-Type", "application/json"), *headers)
    )


@pytest.fixture
def flaky() -> Iterator[LoopbackHttpServer]:
    """GET fails twice (503, then a dropped connection), then succeeds; POST always hangs."""

    def handler(req: RecordedRequest) -> HttpReply | Drop:
        n = sum(1 for r in server.requests if r.path == req.path)
        if req.method == "POST":
            return HttpReply(delay=5.0)
        if req.path == "/drop":
            return Drop()
        if n == 1:
            return _json(503, {"code": -1001, "msg": "internal"})
        if n == 2:
            return Drop()
        return _json(200, {"ok": n})

    with LoopbackHttpServer(handler) as server:
        yield server


@pytest.mark.anyio
async def test_get_is_retried_until_success(flaky: LoopbackHttpServer) -> None:
    async with VenueHttpClient(_config(flaky), rng=random.Random(1)) as client:
        resp = await client.get("/api/v3/depth", params={"symbol": "BTCUSDT"})
    assert resp.json() == {"ok": 3}
    assert [r.path for r in flaky.requests] == ["/api/v3/depth"] * 3


@pytest.mark.anyio
async def test_post_timeout_is_outcome_unknown_after_exactly_one_attempt(
    flaky: LoopbackHttpServer,
) -> None:
    async with VenueHttpClient(_config(flaky)) as client:
        with pytest.raises(OutcomeUnknown) as info:
            await client.post("/api/v3/order", params={"symbol": "BTCUSDT", "side": "BUY"})
    assert info.value.method == "POST" and info.value.path == "/api/v3/order"
    assert [r.method for r in flaky.requests] == ["POST"]


@pytest.mark.anyio
async def test_post_disconnect_is_outcome_unknown_and_not_retried(
    flaky: LoopbackHttpServer,
) -> None:
    async with VenueHttpClient(_config(flaky)) as client:
        with pytest.raises(OutcomeUnknown):
            await client.request("POST", "/drop")
        # a GET to the same path is retried (and finally raises a transport error)
        with pytest.raises(TransportError):
            await client.get("/drop")
    assert [r.method for r in flaky.requests] == ["POST", "GET", "GET", "GET"]


@pytest.mark.anyio
async def test_post_5xx_is_outcome_unknown_but_delete_by_id_is_retried() -> None:
    def handler(req: RecordedRequest) -> HttpReply:
        if req.method == "DELETE" and len(server.requests) >= 3:
            return _json(200, {"status": "CANCELED"})
        return _json(503, {"code": -1001, "msg": "busy"})

    with LoopbackHttpServer(handler) as server:
        async with VenueHttpClient(_config(server)) as client:
            with pytest.raises(OutcomeUnknown):
                await client.post("/api/v3/order")
            resp = await client.delete("/api/v3/order", params={"orderId": 7}, idempotent=True)
    assert resp.json() == {"status": "CANCELED"}
    assert [r.method for r in server.requests] == ["POST", "DELETE", "DELETE"]


@pytest.mark.anyio
async def test_definitive_rejection_is_not_retried() -> None:
    def handler(req: RecordedRequest) -> HttpReply:
        return _json(400, {"code": -2010, "msg": "Account has insufficient balance"})

    with LoopbackHttpServer(handler) as server:
        async with VenueHttpClient(_config(server)) as client:
            with pytest.raises(VenueRejected) as info:
                await client.get("/api/v3/order")
    assert info.value.code == -2010 and "insufficient" in info.value.venue_message
    assert len(server.requests) == 1


@pytest.mark.anyio
async def test_connect_refused_is_connect_error_not_outcome_unknown() -> None:
    with LoopbackHttpServer(lambda r: HttpReply()) as server:
        url = server.url
    config = HttpClientConfig("gone", url, retry=FAST_RETRY)
    async with VenueHttpClient(config) as client:
        with pytest.raises(ConnectError):
            await client.post("/api/v3/order")


@pytest.mark.anyio
async def test_429_with_retry_after_blocks_the_shared_limiter_then_retries() -> None:
    def handler(req: RecordedRequest) -> HttpReply:
        if len(server.requests) == 1:
            return _json(429, {"code": -1003, "msg": "Too many requests"}, ("Retry-After", "1"))
        return _json(200, {"ok": True}, ("X-MBX-USED-WEIGHT-1M", "1190"))

    registry = RateLimiterRegistry()
    rule = RateLimitRule("REQUEST_WEIGHT", 1200, 60.0, "X-MBX-USED-WEIGHT-1M")
    with LoopbackHttpServer(handler) as server:
        limiter = registry.limiter("binance", {"ip": [rule]})
        async with VenueHttpClient(_config(server), rate_limiter=limiter) as client:
            start = time.monotonic()
            resp = await client.get("/api/v3/ticker", weight=2)
            elapsed = time.monotonic() - start
    assert resp.json() == {"ok": True}
    assert len(server.requests) == 2
    assert 0.9 <= elapsed < 10.0  # waited out Retry-After: 1 before the second attempt
    # the venue's used-weight header corrected the shared count (10 of 1200 left)
    assert registry.headroom()[("binance", "ip", "REQUEST_WEIGHT")] == pytest.approx(
        10 / 1200, abs=0.01
    )


@pytest.mark.anyio
async def test_429_with_long_retry_after_raises_and_post_never_retries() -> None:
    def handler(req: RecordedRequest) -> HttpReply:
        return _json(429, {"code": -1003, "msg": "Too many requests"}, ("Retry-After", "120"))

    registry = RateLimiterRegistry()
    limiter = registry.limiter("binance", {"ip": [RateLimitRule("W", 1200, 60.0)]})
    with LoopbackHttpServer(handler) as server:
        async with VenueHttpClient(_config(server), rate_limiter=limiter) as client:
            with pytest.raises(RateLimited) as info:
                await client.get("/api/v3/ticker")
            assert info.value.retry_after == 120.0 and not info.value.banned
            # every client of the venue now refuses to send instead of escalating to a ban
            with pytest.raises(RateLimited):
                await client.post("/api/v3/order", max_rate_wait=0.1)
    assert len(server.requests) == 1
    assert limiter.blocked_for() > 100


@pytest.mark.anyio
async def test_418_is_a_ban() -> None:
    def handler(req: RecordedRequest) -> HttpReply:
        return _json(418, {"code": -1003, "msg": "banned"}, ("Retry-After", "2"))

    with LoopbackHttpServer(handler) as server:
        async with VenueHttpClient(_config(server)) as client:
            with pytest.raises(RateLimited) as info:
                await client.get("/x")
    assert info.value.banned and len(server.requests) == 1


@pytest.mark.anyio
async def test_timestamp_error_resyncs_clock_and_resends_signed_order_once() -> None:
    """The venue's clock is 30 s ahead; -1021 triggers a resync and one re-signed resend."""
    secret = Secret("s3cr3t")
    skew_ms = 30_000

    def handler(req: RecordedRequest) -> HttpReply:
        server_ms = time.time() * 1000 + skew_ms
        if req.path == "/api/v3/time":
            return _json(200, {"serverTime": int(server_ms)})
        query = req.query.rsplit("&signature=", 1)
        params = dict(parse_qsl(req.query))
        if hmac_sign(secret, query[0]) != params.get("signature"):
            return _json(400, {"code": -1022, "msg": "Signature invalid"})
        if abs(int(params["timestamp"]) - server_ms) > int(params["recvWindow"]):
            return _json(400, {"code": -1021, "msg": "Timestamp outside recvWindow"})
        return _json(200, {"orderId": 1, "status": "NEW"})

    async def fetch_time(client: VenueHttpClient) -> float:
        resp = await client.get("/api/v3/time")
        return float(resp.json()["serverTime"])

    clock = ServerClock()
    classifier = ErrorClassifier(timestamp_codes=frozenset({-1021}), auth_codes=frozenset({-1022}))
    signer = hmac_query_signer(Secret("key"), secret, clock.now_ms, recv_window_ms=5000)
    with LoopbackHttpServer(handler) as server:
        async with VenueHttpClient(
            _config(server), clock=clock, fetch_server_time=fetch_time, classifier=classifier
        ) as client:
            resp = await client.post(
                "/api/v3/order", params={"symbol": "BTCUSDT", "side": "BUY"}, signer=signer
            )
    assert resp.json()["status"] == "NEW"
    assert [r.path for r in server.requests] == ["/api/v3/order"] + ["/api/v3/time"] * 3 + [
        "/api/v3/order"
    ]
    assert clock.offset_ms == pytest.approx(skew_ms, abs=1000)
    assert all(r.headers["x-mbx-apikey"] == "key" for r in server.requests if r.method == "POST")
    assert "s3cr3t" not in repr(client)
