"""Message bus publish throughput: exact topic, wildcard, fan-out of 10, no subscriber."""

from __future__ import annotations

from typing import Any

from harness import loop_ns

TOPIC = "data.quotes.BINANCE.BTCUSDT"
N = 200_000

# (benchmark name, subscription patterns, number of handlers)
CASES = (
    ("msgbus.publish_exact_1", [TOPIC], 1),
    ("msgbus.publish_wildcard_1", ["data.quotes.*"], 1),
    ("msgbus.publish_fanout_10", [TOPIC], 10),
    ("msgbus.publish_no_subscriber", [], 0),
)


def make_handlers(count: int) -> list[Any]:
    sink: list[int] = [0]

    def make() -> Any:
        def handler(msg: object) -> None:
            sink[0] += 1

        return handler

    return [make() for _ in range(count)]


def alphaforge_bus(patterns: list[str], count: int) -> Any:
    from alphaforge.msgbus import MessageBus

    bus = MessageBus()
    for pattern in patterns:
        for handler in make_handlers(count):
            bus.subscribe(pattern, handler)
    return bus.publish


def nautilus_bus(patterns: list[str], count: int) -> Any:
    from nautilus_trader.common.component import MessageBus, TestClock
    from nautilus_trader.model.identifiers import TraderId

    bus = MessageBus(TraderId("TRADER-001"), TestClock())
    for pattern in patterns:
        for handler in make_handlers(count):
            bus.subscribe(topic=pattern, handler=handler)
    return bus.publish


def run(ctx) -> None:  # type: ignore[no-untyped-def]
    impls = {"alphaforge": alphaforge_bus}
    if ctx.peer("nautilus_trader") is not None:
        impls["nautilus_trader"] = nautilus_bus
    for name, patterns, count in CASES:
        if not ctx.wants(name):
            continue
        for impl, make_bus in impls.items():
            publish = make_bus(patterns, count)
            msg = object()

            def body(n: int, publish: Any = publish, msg: object = msg) -> None:
                for _ in range(n):
                    publish(TOPIC, msg)

            ns = loop_ns(body, N, ctx.repeats(7))
            ctx.record(name, impl, "throughput", 1e3 / ns, "M msg/s")
