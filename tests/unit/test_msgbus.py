from __future__ import annotations

import logging
from typing import Any

import pytest

from alphaforge.errors import InvalidValue
from alphaforge.msgbus import MessageBus, Request, topic_matches

QUOTES = "data.quotes.BINANCE.BTCUSDT"


class Recorder:
    def __init__(self, name: str, log: list[tuple[str, Any]]) -> None:
        self.name = name
        self.log = log

    def __call__(self, msg: Any) -> None:
        self.log.append((self.name, msg))


def test_exact_topic_delivery_and_counters() -> None:
    bus = MessageBus()
    got: list[Any] = []
    bus.subscribe(QUOTES, got.append)
    bus.publish(QUOTES, 1)
    bus.publish("data.quotes.BINANCE.ETHUSDT", 2)
    assert got == [1]
    assert bus.published_count == 2
    assert bus.delivered_count == 1


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("data.quotes.*", QUOTES, True),
        ("data.*.BINANCE.*", QUOTES, True),
        ("*", QUOTES, True),
        ("data.quotes.BINANCE.BTCUSD?", QUOTES, True),
        ("data.quotes.BINANCE.BTCUSD?", "data.quotes.BINANCE.BTCUSD", False),
        ("data.trades.*", QUOTES, False),
        ("data.quotes", QUOTES, False),
        ("data.quotes.*.ETHUSDT", QUOTES, False),
        ("data.[q]uotes.*", QUOTES, False),  # brackets are literal
        ("data.[q]uotes.*", "data.[q]uotes.X", True),
    ],
)
def test_wildcard_matching(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected
    bus = MessageBus()
    got: list[Any] = []
    bus.subscribe(pattern, got.append)
    bus.publish(topic, "m")
    assert (got == ["m"]) is expected
    assert bus.has_subscribers(topic) is expected


def test_priority_then_subscription_order() -> None:
    bus = MessageBus()
    log: list[tuple[str, Any]] = []
    bus.subscribe("data.*", Recorder("low", log), priority=-1)
    bus.subscribe(QUOTES, Recorder("a0", log))
    bus.subscribe("data.quotes.*", Recorder("high", log), priority=10)
    bus.subscribe("*", Recorder("b0", log))
    bus.publish(QUOTES, 7)
    assert [name for name, _ in log] == ["high", "a0", "b0", "low"]
    assert [s.priority for s in bus.subscriptions()] == [10, 0, 0, -1]


def test_subscription_change_inside_handler_applies_to_next_publish() -> None:
    bus = MessageBus()
    log: list[tuple[str, Any]] = []
    late = Recorder("late", log)

    def first(msg: Any) -> None:
        log.append(("first", msg))
        if msg == 1:
            bus.unsubscribe(QUOTES, second)
            bus.subscribe(QUOTES, late)

    second = Recorder("second", log)
    bus.subscribe(QUOTES, first)
    bus.subscribe(QUOTES, second)
    bus.publish(QUOTES, 1)
    assert log == [("first", 1), ("second", 1)]  # snapshot taken at publish time
    log.clear()
    bus.publish(QUOTES, 2)
    assert log == [("first", 2), ("late", 2)]


def test_duplicate_subscription_is_an_error_and_changes_nothing() -> None:
    bus = MessageBus()
    got: list[Any] = []
    bus.subscribe(QUOTES, got.append)
    with pytest.raises(InvalidValue, match="already subscribed") as info:
        bus.subscribe(QUOTES, got.append, priority=5)
    assert info.value.field == "handler"
    assert len(bus.subscriptions()) == 1
    bus.publish(QUOTES, 1)
    assert got == [1]


def test_bound_methods_compare_equal_for_unsubscribe() -> None:
    bus = MessageBus()
    log: list[tuple[str, Any]] = []

    class Strategy:
        def on_quote(self, msg: Any) -> None:
            log.append(("s", msg))

    s = Strategy()
    bus.subscribe(QUOTES, s.on_quote)
    assert bus.is_subscribed(QUOTES, s.on_quote)
    bus.unsubscribe(QUOTES, s.on_quote)
    bus.publish(QUOTES, 1)
    assert log == []
    assert not bus.has_subscribers(QUOTES)


def test_unsubscribe_unknown_names_the_pattern() -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue) as info:
        bus.unsubscribe("data.nothing", print)
    assert info.value.field == "pattern"
    assert "data.nothing" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pattern": "", "handler": print}, "pattern"),
        ({"pattern": 3, "handler": print}, "pattern"),
        ({"pattern": "a", "handler": "not callable"}, "handler"),
        ({"pattern": "a", "handler": print, "priority": 1.5}, "priority"),
        ({"pattern": "a", "handler": print, "priority": True}, "priority"),
    ],
)
def test_subscribe_rejects_bad_input(kwargs: dict[str, Any], field: str) -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue) as info:
        bus.subscribe(**kwargs)
    assert info.value.field == field
    assert bus.subscriptions() == []


@pytest.mark.parametrize("topic", ["", "data.*", "data.?"])
def test_publish_rejects_bad_topics(topic: str) -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue) as info:
        bus.publish(topic, 1)
    assert info.value.field == "topic"
    assert bus.published_count == 0


def test_raising_handler_does_not_stop_delivery_and_is_reported() -> None:
    errors: list[tuple[Exception, str, Any, Any]] = []
    bus = MessageBus(on_handler_error=lambda e, t, h, m: errors.append((e, t, h, m)))
    got: list[Any] = []

    def boom(msg: Any) -> None:
        raise RuntimeError("boom")

    bus.subscribe(QUOTES, boom, priority=1)
    bus.subscribe(QUOTES, got.append)
    bus.publish(QUOTES, 42)
    assert got == [42]
    assert bus.handler_error_count == 1
    assert bus.delivered_count == 2
    (err, topic, handler, msg) = errors[0]
    assert isinstance(err, RuntimeError)
    assert (topic, handler, msg) == (QUOTES, boom, 42)


def test_default_error_hook_logs_topic_and_handler(caplog: pytest.LogCaptureFixture) -> None:
    bus = MessageBus()

    def broken_handler(msg: Any) -> None:
        raise ValueError("bad")

    bus.subscribe(QUOTES, broken_handler)
    with caplog.at_level(logging.ERROR, logger="alphaforge.msgbus"):
        bus.publish(QUOTES, 1)
    assert QUOTES in caplog.text
    assert "broken_handler" in caplog.text
    assert bus.handler_error_count == 1


def test_broken_error_hook_does_not_break_delivery(caplog: pytest.LogCaptureFixture) -> None:
    def hook(*args: Any) -> None:
        raise RuntimeError("hook broken")

    bus = MessageBus(on_handler_error=hook)
    got: list[Any] = []
    bus.subscribe(QUOTES, lambda m: 1 / 0, priority=1)
    bus.subscribe(QUOTES, got.append)
    with caplog.at_level(logging.ERROR, logger="alphaforge.msgbus"):
        bus.publish(QUOTES, 1)
    assert got == [1]
    assert "on_handler_error raised" in caplog.text


def test_introspection() -> None:
    bus = MessageBus()
    a: list[Any] = []
    bus.subscribe("b.*", a.append)
    bus.subscribe("a.x", a.append)
    bus.subscribe("a.x", print)
    assert bus.topics() == ["a.x", "b.*"]
    assert [s.pattern for s in bus.subscriptions("a.x")] == ["a.x", "a.x"]
    assert bus.subscribers("a.x") == (a.append, print)
    assert bus.has_subscribers("b.y")
    assert not bus.has_subscribers("c")


def test_topic_cache_is_bounded_and_stays_correct() -> None:
    bus = MessageBus(topic_cache_size=4)
    got: list[Any] = []
    bus.subscribe("t.*", got.append)
    for i in range(20):
        bus.publish(f"t.{i}", i)
        bus.publish(f"u.{i}", i)
    assert got == list(range(20))
    assert len(bus._cache) <= 4


def test_topic_cache_size_validation() -> None:
    with pytest.raises(InvalidValue) as info:
        MessageBus(topic_cache_size=0)
    assert info.value.field == "topic_cache_size"


def test_nested_publish_is_synchronous_and_ordered() -> None:
    bus = MessageBus()
    log: list[str] = []

    def outer(msg: Any) -> None:
        log.append("outer-start")
        bus.publish("inner", msg)
        log.append("outer-end")

    bus.subscribe("outer", outer)
    bus.subscribe("inner", lambda m: log.append("inner"))
    bus.publish("outer", 1)
    assert log == ["outer-start", "inner", "outer-end"]


# ---------------------------------------------------------------------- endpoints


def test_send_to_registered_endpoint() -> None:
    bus = MessageBus()
    got: list[Any] = []
    bus.register("ExecEngine.execute", got.append)
    bus.send("ExecEngine.execute", "cmd")
    assert got == ["cmd"]
    assert bus.sent_count == 1
    assert bus.endpoints() == ["ExecEngine.execute"]
    assert bus.is_registered("ExecEngine.execute")


def test_send_to_unknown_endpoint_raises_and_counts_nothing() -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue, match=r"RiskEngine\.execute") as info:
        bus.send("RiskEngine.execute", "cmd")
    assert info.value.field == "endpoint"
    assert bus.sent_count == 0


def test_register_twice_and_deregister_unknown_are_errors() -> None:
    bus = MessageBus()
    first: list[Any] = []
    bus.register("ep", first.append)
    with pytest.raises(InvalidValue, match="already registered"):
        bus.register("ep", print)
    bus.send("ep", 1)
    assert first == [1]  # the original handler is still in place
    bus.deregister("ep")
    assert not bus.is_registered("ep")
    with pytest.raises(InvalidValue) as info:
        bus.deregister("ep")
    assert info.value.field == "endpoint"


def test_register_rejects_wildcards_and_non_callables() -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue) as info:
        bus.register("ep.*", print)
    assert info.value.field == "endpoint"
    with pytest.raises(InvalidValue) as info:
        bus.register("ep", 5)  # type: ignore[arg-type]
    assert info.value.field == "handler"
    assert bus.endpoints() == []


def test_send_handler_error_is_reported_not_raised() -> None:
    errors: list[str] = []
    bus = MessageBus(on_handler_error=lambda e, where, h, m: errors.append(where))
    bus.register("ep", lambda m: 1 / 0)
    bus.send("ep", 1)
    assert errors == ["ep"]
    assert bus.handler_error_count == 1


# ---------------------------------------------------------------------- request/response


def test_request_response_deferred() -> None:
    bus = MessageBus()
    inbox: list[Request] = []
    responses: list[Any] = []
    bus.register("data.request", inbox.append)
    cid = bus.request("data.request", {"bars": 10}, responses.append)
    assert cid == 1
    assert inbox == [Request(1, "data.request", {"bars": 10})]
    assert bus.pending_requests == [1]
    assert responses == []
    bus.respond(cid, "answer")
    assert responses == ["answer"]
    assert bus.pending_requests == []
    assert (bus.request_count, bus.response_count) == (1, 1)


def test_request_response_immediate_and_ids_are_deterministic() -> None:
    def run() -> list[tuple[int, Any]]:
        bus = MessageBus()
        bus.register("echo", lambda req: bus.respond(req.correlation_id, req.payload * 2))
        out: list[tuple[int, Any]] = []
        for i in range(3):
            cid = bus.request("echo", i, lambda r: out.append((-1, r)))
            out.append((cid, None))
        return out

    first = run()
    assert first == [(-1, 0), (1, None), (-1, 2), (2, None), (-1, 4), (3, None)]
    assert run() == first


def test_duplicate_and_unknown_correlation_ids() -> None:
    bus = MessageBus()
    bus.register("ep", lambda req: None)
    responses: list[Any] = []
    cid = bus.request("ep", "q", responses.append)
    bus.respond(cid, "a")
    with pytest.raises(InvalidValue, match="already answered") as info:
        bus.respond(cid, "b")
    assert info.value.field == "correlation_id"
    with pytest.raises(InvalidValue, match="never issued"):
        bus.respond(99, "c")
    assert responses == ["a"]  # callback fired exactly once
    assert bus.response_count == 1


def test_request_to_unknown_endpoint_uses_no_id() -> None:
    bus = MessageBus()
    with pytest.raises(InvalidValue) as info:
        bus.request("missing", "q", print)
    assert info.value.field == "endpoint"
    bus.register("ep", lambda req: None)
    assert bus.request("ep", "q", print) == 1
    assert bus.request_count == 1


def test_cancel_request() -> None:
    bus = MessageBus()
    bus.register("ep", lambda req: None)
    got: list[Any] = []
    cid = bus.request("ep", "q", got.append)
    bus.cancel_request(cid)
    with pytest.raises(InvalidValue, match="already answered or cancelled"):
        bus.respond(cid, "late")
    with pytest.raises(InvalidValue):
        bus.cancel_request(cid)
    assert got == []


def test_raising_callback_is_reported_once() -> None:
    errors: list[Exception] = []
    bus = MessageBus(on_handler_error=lambda e, w, h, m: errors.append(e))
    bus.register("ep", lambda req: None)
    cid = bus.request("ep", "q", lambda r: 1 / 0)
    bus.respond(cid, "r")
    assert len(errors) == 1
    assert bus.pending_requests == []


def test_repr() -> None:
    bus = MessageBus("main")
    assert repr(bus) == "MessageBus(name='main', subscriptions=0, endpoints=0, pending_requests=0)"
