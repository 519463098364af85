"""Tiny timing harness: medians of repeated runs, JSON records, peer detection."""

from __future__ import annotations

import gc
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

PEERS = ("nautilus_trader",)


class Context:
    def __init__(self, name_filter: str = "", quick: bool = False) -> None:
        self.name_filter = name_filter
        self.quick = quick
        self.records: list[dict[str, Any]] = []

    def wants(self, name: str) -> bool:
        return self.name_filter in name

    def record(self, name: str, impl: str, metric: str, value: float, unit: str) -> None:
        self.records.append(
            {"name": name, "impl": impl, "metric": metric, "value": round(value, 4), "unit": unit}
        )
        print(f"{name:<40} {impl:<16} {metric:<14} {value:>14,.3f} {unit}", file=sys.stderr)

    def repeats(self, n: int) -> int:
        return max(3, n // 3) if self.quick else n

    @staticmethod
    def peer(module: str) -> Any | None:
        try:
            return importlib.import_module(module)
        except ImportError:
            return None

    def peer_versions(self) -> dict[str, str]:
        versions = {}
        for name in PEERS:
            mod = self.peer(name)
            if mod is not None:
                versions[name] = getattr(mod, "__version__", "?")
        return versions

    def ratios(self) -> list[dict[str, Any]]:
        """alphaforge / peer for every (name, metric) measured on both; > 1 means we do more."""
        by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        for rec in self.records:
            by_key.setdefault((rec["name"], rec["metric"]), {})[rec["impl"]] = rec
        out = []
        for (name, metric), impls in by_key.items():
            ours = impls.get("alphaforge")
            for peer in PEERS:
                theirs = impls.get(peer)
                if ours and theirs and theirs["value"]:
                    ratio = ours["value"] / theirs["value"]
                    if ours["unit"] in ("ns", "ms", "s", "us", "MiB"):
                        ratio = 1 / ratio  # lower is better: report how many times faster
                    out.append(
                        {"name": name, "metric": metric, "vs": peer, "ratio": round(ratio, 2)}
                    )
        return out


def per_call_ns(fn: Callable[[], Any], number: int, repeat: int = 7) -> float:
    """Median over ``repeat`` runs of the mean time per call (ns) of ``number`` calls."""
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter_ns() - start) / number)
    finally:
        gc.enable()
    return statistics.median(samples)


def loop_ns(body: Callable[[int], Any], number: int, repeat: int = 7) -> float:
    """Like :func:`per_call_ns` but ``body(number)`` runs the loop itself (less overhead)."""
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            body(number)
            samples.append((time.perf_counter_ns() - start) / number)
    finally:
        gc.enable()
    return statistics.median(samples)


def percentiles_ns(fn: Callable[[], Any], number: int) -> tuple[float, float]:
    """p50 and p99 of individual call latencies (ns)."""
    samples = []
    clock = time.perf_counter_ns
    for _ in range(number):
        start = clock()
        fn()
        samples.append(clock() - start)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
