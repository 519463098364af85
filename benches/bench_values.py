"""Fixed-point value construction: Price/Quantity from str and from raw, ours and nautilus'."""

from __future__ import annotations

from typing import Any

from harness import per_call_ns

N = 200_000


def workloads(impl: str) -> dict[str, Any]:
    if impl == "alphaforge":
        from alphaforge.model import Price, Quantity

        return {
            "values.price_from_str": lambda: Price("50000.25"),
            "values.quantity_from_str": lambda: Quantity("1.250"),
            "values.price_from_raw": lambda: Price.from_raw(5_000_025, 2),
        }
    from nautilus_trader.model.objects import Price as NPrice
    from nautilus_trader.model.objects import Quantity as NQuantity

    # nautilus 1.231 raw values are scaled to its fixed precision (10^16 in high-precision builds).
    raw = NPrice.from_str("50000.25").raw
    return {
        "values.price_from_str": lambda: NPrice.from_str("50000.25"),
        "values.quantity_from_str": lambda: NQuantity.from_str("1.250"),
        "values.price_from_raw": lambda: NPrice.from_raw(raw, 2),
    }


def run(ctx) -> None:  # type: ignore[no-untyped-def]
    impls = ["alphaforge"] + (["nautilus_trader"] if ctx.peer("nautilus_trader") else [])
    for impl in impls:
        for name, fn in workloads(impl).items():
            if ctx.wants(name):
                ctx.record(name, impl, "per_call", per_call_ns(fn, N, ctx.repeats(7)), "ns")
