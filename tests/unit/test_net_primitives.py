"""Unit tests of alphaforge.net primitives: signing, backoff, clock, rate limiter, errors."""

from __future__ import annotations

import base64
import json
import random

import anyio
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from alphaforge.config import Secret
from alphaforge.errors import AlphaForgeError, ConfigError
from alphaforge.net import (
    AuthError,
    Backoff,
    Ed25519Signer,
    OutcomeUnknown,
    RateLimited,
    RateLimiterRegistry,
    RateLimitRule,
    ServerClock,
    SignableRequest,
    TimestampError,
    VenueRejected,
    es256_jwt,
    hmac_query_signer,
    hmac_sign,
)

BINANCE_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BINANCE_QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_hmac_sha256_matches_binance_documented_example() -> None:
    sig = hmac_sign(Secret(BINANCE_SECRET), BINANCE_QUERY)
    assert sig == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_hmac_sha512_base64_and_rfc4231_vector() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    sig = hmac_sign(b"Jefe", "what do ya want for nothing?", digest="sha512")
    assert sig.startswith("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554")
    b64 = hmac_sign(b"Jefe", "what do ya want for nothing?", digest="sha512", encoding="base64")
    assert base64.b64decode(b64).hex() == sig


def test_query_signer_appends_timestamp_and_signature() -> None:
    signer = hmac_query_signer(Secret("key"), Secret(BINANCE_SECRET), lambda: 1499827319559)
    req = SignableRequest(
        "POST",
        "/api/v3/order",
        [
            ("symbol", "LTCBTC"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "1"),
            ("price", "0.1"),
        ],
    )
    signed = signer(req)
    assert signed.params[-1] == (
        "signature",
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
    )
    assert signed.headers["X-MBX-APIKEY"] == "key"


def test_ed25519_round_trip_and_repr_hides_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    signer = Ed25519Signer(Secret(pem))
    sig = signer.sign(BINANCE_QUERY)
    key.public_key().verify(base64.b64decode(sig), BINANCE_QUERY.encode())  # raises if invalid
    public = serialization.load_pem_public_key(signer.public_key_pem().encode())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    assert "PRIVATE" not in repr(signer) and pem not in repr(signer)


def test_es256_jwt_verifies_with_public_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    name = "organizations/org/apiKeys/k1"
    token = es256_jwt(
        name, Secret(pem), uri="GET api.coinbase.com/api/v3/brokerage/accounts", now=1_700_000_000
    )
    head_b64, claims_b64, sig_b64 = token.split(".")
    header = json.loads(_b64url_decode(head_b64))
    claims = json.loads(_b64url_decode(claims_b64))
    assert header["alg"] == "ES256" and header["kid"] == name and len(header["nonce"]) == 32
    assert claims == {
        "iss": "cdp",
        "sub": name,
        "nbf": 1_700_000_000,
        "exp": 1_700_000_120,
        "uri": "GET api.coinbase.com/api/v3/brokerage/accounts",
    }
    raw = _b64url_decode(sig_b64)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))


def test_backoff_is_capped_and_jittered_with_seeded_rng() -> None:
    b = Backoff(base=0.5, cap=4.0)
    assert [b.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert b.ceiling(10_000) == 4.0  # no overflow
    delays = [b.delay(n, random.Random(7)) for n in range(50)]
    assert all(0.0 <= d <= b.ceiling(n) for n, d in enumerate(delays))
    again = [b.delay(n, random.Random(7)) for n in range(50)]
    assert delays == again  # deterministic under a seed
    rng = random.Random(3)
    late = [b.delay(20, rng) for _ in range(500)]
    assert max(late) <= 4.0 and min(late) < 0.5 and max(late) > 3.5  # full jitter spread


def test_server_clock_median_of_low_rtt_samples() -> None:
    now = [10_000.0]
    clock = ServerClock(wall_ms=lambda: now[0])
    assert clock.stale and clock.now_ms() == 10_000
    clock.add_sample(sent_ms=0, server_ms=1_010, received_ms=20)  # offset 1000, rtt 20
    clock.add_sample(sent_ms=0, server_ms=1_012, received_ms=20)  # offset 1002, rtt 20
    clock.add_sample(sent_ms=0, server_ms=9_000, received_ms=4_000)  # slow outlier
    clock.add_sample(sent_ms=0, server_ms=1_011, received_ms=20)  # offset 1001
    assert clock.offset_ms == pytest.approx(1001, abs=1)
    assert clock.now_ms() == pytest.approx(11_001, abs=1)
    clock.invalidate()
    assert clock.stale and clock.offset_ms == pytest.approx(1001, abs=1)


@pytest.mark.anyio
async def test_server_clock_sync_uses_fetcher() -> None:
    clock = ServerClock()

    async def fetch() -> float:
        return clock.local_ms() + 5_000

    offset = await clock.sync(fetch, samples=3)
    assert offset == pytest.approx(5_000, abs=50)
    assert clock.resyncs == 1 and not clock.stale


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


WEIGHT = RateLimitRule("REQUEST_WEIGHT", 100, 60.0, "X-MBX-USED-WEIGHT-1M")
ORDERS = RateLimitRule("ORDERS_10S", 10, 10.0, "X-MBX-ORDER-COUNT-10S")


def test_buckets_are_shared_per_venue_key_bucket() -> None:
    t = FakeTime()
    reg = RateLimiterRegistry(clock=t)
    a = reg.limiter("binance", {"ip": [WEIGHT], "acct": [ORDERS]})
    b = reg.limiter("binance", {"ip": [WEIGHT]})
    other = reg.limiter("bybit", {"ip": [WEIGHT]})
    assert a.try_acquire({"REQUEST_WEIGHT": 60, "ORDERS_10S": 1})
    assert not b.try_acquire(50)  # shared with a: only 40 left
    assert b.try_acquire(40)
    assert other.try_acquire(100)  # different venue, different bucket
    t.t += 6.0  # refill 10 per 6 s
    assert b.headroom()["REQUEST_WEIGHT"] == pytest.approx(0.10)
    assert reg.headroom()[("binance", "acct", "ORDERS_10S")] == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        reg.limiter("binance", {"ip": [RateLimitRule("REQUEST_WEIGHT", 1200, 60.0)]})


def test_used_weight_header_corrects_the_count() -> None:
    reg = RateLimiterRegistry(clock=FakeTime())
    lim = reg.limiter("binance", {"ip": [WEIGHT]})
    lim.observe({"x-mbx-used-weight-1m": "90"})  # another process used weight on our IP
    assert lim.headroom()["REQUEST_WEIGHT"] == pytest.approx(0.10)
    assert not lim.try_acquire(11)
    lim.observe({"X-MBX-USED-WEIGHT-1M": "5"})  # new window
    assert lim.try_acquire(90)


@pytest.mark.anyio
async def test_acquire_waits_for_refill_and_respects_max_wait() -> None:
    reg = RateLimiterRegistry()
    lim = reg.limiter("v", {"ip": [RateLimitRule("W", 10, 0.5)]})  # 20 weight/s
    assert await lim.acquire(10) == 0.0
    with anyio.fail_after(5):
        waited = await lim.acquire(4)  # needs ~0.2 s
    assert 0.05 < waited < 2.0
    with pytest.raises(RateLimited) as info:
        await lim.acquire(10, max_wait=0.01)
    assert info.value.retry_after is not None and info.value.retry_after > 0.01


def test_penalty_blocks_all_clients_and_escalates_without_retry_after() -> None:
    t = FakeTime()
    reg = RateLimiterRegistry(clock=t)
    a = reg.limiter("binance", {"ip": [WEIGHT]})
    b = reg.limiter("binance", {"ip": [WEIGHT]})
    assert a.penalize(3.0) == 3.0
    assert not b.try_acquire(1) and b.blocked_for() == pytest.approx(3.0)
    assert reg.headroom()[("binance", "ip", "REQUEST_WEIGHT")] == 0.0
    t.t += 3.5
    assert b.try_acquire(1)
    assert [a.penalize(None) for _ in range(3)] == [2.0, 4.0, 8.0]  # strike 1 was the 3 s block
    a.record_success()
    assert a.penalize(None) == 1.0


def test_error_taxonomy() -> None:
    assert issubclass(RateLimited, VenueRejected)
    assert issubclass(TimestampError, VenueRejected) and issubclass(AuthError, VenueRejected)
    assert not issubclass(OutcomeUnknown, VenueRejected)
    assert issubclass(OutcomeUnknown, AlphaForgeError)
    err = VenueRejected("insufficient balance", venue="binance", status=400, code=-2010)
    assert "-2010" in str(err) and err.code == -2010
