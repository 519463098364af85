"""The health snapshot: probing adapters' optional attributes with the real net primitives."""

from __future__ import annotations

import attrs
import pytest

from alphaforge.adapters import BookSync
from alphaforge.live.health import (
    ClientHealth,
    HealthSnapshot,
    SubscriptionHealth,
    probe_client,
)
from alphaforge.model import InstrumentId
from alphaforge.net import ConnectionState
from alphaforge.net.clock import ServerClock
from alphaforge.net.ratelimit import RateLimiterRegistry, RateLimitRule

IID = InstrumentId.from_str("BTCUSDT.VEN")


class ProbedClient:
    """An adapter client exposing everything the monitor reads."""

    def __init__(self) -> None:
        self.connection_state = ConnectionState.RECONNECTING
        self.connection_id = 3
        self.server_clock = ServerClock(wall_ms=lambda: 1_000.0)
        self.server_clock.add_sample(sent_ms=990.0, server_ms=1_250.0, received_ms=1_010.0)
        registry = RateLimiterRegistry(clock=lambda: 0.0)
        self.rate_limiter = registry.limiter(
            "VEN", {"ip": [RateLimitRule("WEIGHT", 100, 60.0), RateLimitRule("ORDERS", 10, 1.0)]}
        )
        assert self.rate_limiter.try_acquire({"WEIGHT": 25, "ORDERS": 5})
        self.book_syncs = {IID: BookSync(IID, 2, 3)}  # no snapshot yet: invalid


def test_probe_reads_the_optional_attributes() -> None:
    health = probe_client("exec:VEN", ProbedClient(), "connected")
    assert health.connection == "reconnecting"
    assert health.connection_id == 3
    assert health.clock_offset_ms == pytest.approx(250.0)
    assert health.rate_limit_headroom == pytest.approx(0.5)  # ORDERS: 5 of 10 left
    assert health.invalid_books == ("BTCUSDT.VEN",)


def test_probe_of_a_plain_client_uses_the_fallback() -> None:
    health = probe_client("data:VEN", object(), "connected")
    assert health == ClientHealth(name="data:VEN", connection="connected")


def test_snapshot_is_frozen_and_says_whether_it_is_healthy() -> None:
    ok = ClientHealth(name="data:VEN", connection="connected")
    sub = SubscriptionHealth(
        key="quotes:BTCUSDT.VEN", last_message_ns=1, silence_s=0.1, stale=False
    )
    snap = HealthSnapshot(
        ts=1, trading_state="ACTIVE", clients=(ok,), subscriptions=(sub,),
        inflight_orders=0, external_orders=0, reconciliations=1,
    )  # fmt: skip
    assert snap.healthy
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        snap.ts = 2  # type: ignore[misc]
    assert not attrs.evolve(snap, subscriptions=(attrs.evolve(sub, stale=True),)).healthy
    bad = attrs.evolve(ok, invalid_books=("BTCUSDT.VEN",))
    assert not attrs.evolve(snap, clients=(bad,)).healthy
