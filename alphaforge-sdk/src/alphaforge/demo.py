"""``alphaforge demo``: a kernel, its plugins, the native core and a message-bus round trip.

Needs nothing but the installed package: it is the README's main job until the backtest lands.
"""

from __future__ import annotations

from typing import Any

from alphaforge import __version__


def run_demo(print_: Any = print) -> int:
    """Run the demo and print what happens; returns the process exit code."""
    from alphaforge import _native
    from alphaforge.clock import TestClock, TimeEvent
    from alphaforge.kernel import Kernel
    from alphaforge.model import InstrumentId, Price, Quantity, QuoteTick
    from alphaforge.msgbus import Request

    print_(f"alphaforge {__version__} · native core: {_native.build_info()}")
    clock = TestClock()
    with Kernel(clock=clock) as kernel:
        print_(f"{kernel!r}")
        for info in kernel.plugin_report():
            components = ", ".join(info.components) or "-"
            print_(f"  plugin {info.name} [{info.status}] from {info.distribution}: {components}")

        # The same decimal value through Python and the native core: identical raw values.
        price = Price("50000.25")
        assert _native.fixed_parse(str(price)) == (price.raw, price.precision)

        bus = kernel.msgbus
        instrument = InstrumentId.from_str("BTCUSDT.BINANCE")
        received: list[QuoteTick] = []
        bus.subscribe("data.quotes.*", received.append)

        # Point-to-point request/response: a "quote service" answers on an endpoint.
        def quote_service(request: Request) -> None:
            quote = QuoteTick(
                instrument_id=request.payload,
                bid_price=Price("50000.25"),
                ask_price=Price("50000.50"),
                bid_size=Quantity("1.250"),
                ask_size=Quantity("0.800"),
                ts_event=clock.timestamp_ns(),
                ts_init=clock.timestamp_ns(),
            )
            bus.publish(f"data.quotes.{request.payload}", quote)
            bus.respond(request.correlation_id, quote)

        answers: list[Any] = []
        bus.register("services.quotes", quote_service)
        fired: list[TimeEvent] = []

        def on_alert(event: TimeEvent) -> None:
            fired.append(event)
            bus.request("services.quotes", instrument, answers.append)

        clock.set_time_alert("request-quote", 1_000_000_000, on_alert)
        clock.advance_time(1_000_000_000)

        quote = answers[0]
        print_(
            f"  t={fired[0].ts_event} ns: request -> response {quote.bid_price} / "
            f"{quote.ask_price} for {quote.instrument_id}"
        )
        print_(
            f"  subscriber on 'data.quotes.*' received {len(received)} quote; bus counters: "
            f"published={bus.published_count} delivered={bus.delivered_count} "
            f"requests={bus.request_count} responses={bus.response_count}"
        )
        ok = len(received) == 1 and received[0] is quote and bus.response_count == 1
    print_("demo ok" if ok else "demo FAILED")
    return 0 if ok else 1
