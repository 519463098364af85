"""MeteredMessageBus: same behaviour as MessageBus, plus per-family counts."""

from __future__ import annotations

import random
from typing import Any

import pytest

from alphaforge.errors import InvalidValue
from alphaforge.msgbus import MessageBus, MeteredMessageBus

TOPICS = ["data.quotes.A.X", "data.quotes.B.Y", "data.trades.A.X", "events.order.1", "solo"]
PATTERNS = ["data.*", "data.quotes.*", "events.order.?", "solo", "*"]


def drive(bus: MessageBus, seed: int) -> list[tuple[str, str, Any]]:
    """A random but seeded mix of (un)subscribes, publishes and raising handlers."""
    rng = random.Random(seed)
    seen: list[tuple[str, str, Any]] = []
    errors: list[str] = []
    bus.on_handler_error = lambda exc, topic, handler, msg: errors.append(topic)
    handlers = {}
    for name in "abcd":

        def handler(msg: Any, name: str = name) -> None:
            seen.append((name, "msg", msg))
            if name == "d" and msg % 5 == 0:
                raise RuntimeError("d fails")

        handlers[name] = handler
    for step in range(400):
        action = rng.random()
        pattern, name = rng.choice(PATTERNS), rng.choice("abcd")
        if action < 0.15 and not bus.is_subscribed(pattern, handlers[name]):
            bus.subscribe(pattern, handlers[name], priority=rng.randint(-1, 1))
        elif action < 0.25 and bus.is_subscribed(pattern, handlers[name]):
            bus.unsubscribe(pattern, handlers[name])
        else:
            bus.publish(rng.choice(TOPICS), step)
    seen.extend(("error", topic, None) for topic in errors)
    return seen


@pytest.mark.parametrize("seed", range(5))
def test_metered_bus_delivers_exactly_like_the_plain_bus(seed: int) -> None:
    plain, metered = MessageBus(topic_cache_size=3), MeteredMessageBus(topic_cache_size=3)
    assert drive(plain, seed) == drive(metered, seed)
    for counter in ("published_count", "delivered_count", "handler_error_count"):
        assert getattr(plain, counter) == getattr(metered, counter)
    counts = metered.family_counts()
    assert sum(p for p, _ in counts.values()) == metered.published_count
    assert sum(d for _, d in counts.values()) == metered.delivered_count
    assert set(counts) <= {"data.quotes", "data.trades", "events.order", "solo"}


def test_family_depth_and_bounded_topic_map() -> None:
    bus = MeteredMessageBus(family_depth=3, topic_cache_size=2)
    assert bus.family_of("data.quotes.BINANCE.BTCUSDT") == "data.quotes.BINANCE"
    assert bus.family_of("solo") == "solo"
    for i in range(10):
        bus.publish(f"data.quotes.V.{i}", i)  # more topics than the bound: totals survive
    assert bus.family_counts() == {"data.quotes.V": (10, 0)}
    assert len(bus._entries) <= 2


def test_metered_publish_validates_like_the_plain_bus() -> None:
    bus = MeteredMessageBus()
    with pytest.raises(InvalidValue, match="topic"):
        bus.publish("data.*", 1)
    assert bus.published_count == 0 and bus.family_counts() == {}


@pytest.mark.parametrize("depth", [0, -1, True, "2"])
def test_family_depth_validation(depth: object) -> None:
    with pytest.raises(InvalidValue, match="family_depth"):
        MeteredMessageBus(family_depth=depth)  # type: ignore[arg-type]
