"""Cross-check against a peer: the same EMA-cross rules on nautilus_trader, over the same data,
give the same number of orders (hence crossovers) and fills. Runs where nautilus_trader is
installed (``nox -s bench`` installs it on CPython 3.12); skipped elsewhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("nautilus_trader.backtest.engine")


def bench_module(repo: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_backtest", repo / "benches" / "bench_backtest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("workload", ["ema_cross_ticks", "ema_cross_bars"])
def test_same_rules_same_orders_as_nautilus(repo: Path, workload: str) -> None:
    bench = bench_module(repo)
    market = bench._market(100_000)
    counts = {}
    for side in (bench.AlphaForgeSide(market), bench.NautilusSide(market)):
        engine = side.build(workload)
        result = side.run(engine)
        counts[side.impl] = side.orders(engine, result)
        side.dispose(engine)
    assert counts["alphaforge"] > 0
    assert counts["alphaforge"] == counts["nautilus_trader"]
