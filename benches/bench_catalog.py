"""Data layer: catalog load/stream/write of 1M quotes, CSV import rows/s, synthetic generation.

Targets (issue 4): loading 1,000,000 quote ticks from the catalog into numpy <= 0.3 s; the
synthetic generator makes 1M quotes in about a second.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

N = 1_000_000


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time (s) of ``fn()`` over ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def write_binance_trades(path: Path, n: int) -> None:
    rng = np.random.default_rng(1)
    price = 5_000_000 + np.cumsum(rng.integers(-3, 4, n))
    qty = rng.integers(1, 200_000, n)
    ts = 1_700_000_000_000 + np.cumsum(rng.integers(0, 50, n))
    maker = np.where(rng.random(n) < 0.5, "true", "false")
    with path.open("w") as fh:
        fh.write("id,price,qty,quote_qty,time,is_buyer_maker\n")
        for i in range(0, n, 100_000):
            lines = [
                f"{k},{p // 100}.{p % 100:02d},{q // 1000}.{q % 1000:03d},1.0,{t},{m}"
                for k, p, q, t, m in zip(
                    range(i, min(i + 100_000, n)),
                    price[i : i + 100_000].tolist(),
                    qty[i : i + 100_000].tolist(),
                    ts[i : i + 100_000].tolist(),
                    maker[i : i + 100_000].tolist(),
                    strict=True,
                )
            ]
            fh.write("\n".join(lines) + "\n")


def write_tardis_quotes(path: Path, n: int) -> None:
    rng = np.random.default_rng(2)
    bid = 968_000 + np.cumsum(rng.integers(-2, 3, n))
    ask = bid + rng.integers(1, 3, n)
    ts = 1_582_329_600_000_000 + np.cumsum(rng.integers(0, 20_000, n))
    with path.open("w") as fh:
        fh.write(
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        )
        for i in range(0, n, 100_000):
            sl = slice(i, i + 100_000)
            lines = [
                f"binance-futures,BTCUSDT,{t},{t + 1500},0.{a % 997 + 1:03d},"
                f"{a // 100}.{a % 100:02d},{b // 100}.{b % 100:02d},1.{b % 991:03d}"
                for t, a, b in zip(ts[sl].tolist(), ask[sl].tolist(), bid[sl].tolist(), strict=True)
            ]
            fh.write("\n".join(lines) + "\n")


def run(ctx) -> None:  # type: ignore[no-untyped-def]
    if not any(ctx.wants(n) for n in ("catalog.", "import.", "synthetic.generate")):
        return
    from alphaforge.data import ParquetDataCatalog, generate_market
    from alphaforge.data.importers import import_binance, import_tardis, load_binance

    repeat = ctx.repeats(5)
    tmp = Path(tempfile.mkdtemp(prefix="af-bench-catalog-"))
    try:
        if ctx.wants("synthetic.generate"):
            generate_market(1, n_quotes=10_000)  # warm up
            t = timed(lambda: generate_market(42, n_quotes=N, book=False), repeat)
            ctx.record("synthetic.generate_1m_quotes", "alphaforge", "time", t, "s")
            ctx.record(
                "synthetic.generate_1m_quotes",
                "alphaforge",
                "throughput",
                N / t / 1e6,
                "M quotes/s",
            )
            t = timed(lambda: generate_market(42, n_quotes=N), max(1, repeat // 2))
            ctx.record("synthetic.generate_1m_quotes_with_book", "alphaforge", "time", t, "s")

        market = generate_market(42, n_quotes=N, book=False)
        quotes = market.quotes
        if ctx.wants("catalog."):
            counter = iter(range(10**6))

            def write() -> None:
                catalog = ParquetDataCatalog(tmp / f"w{next(counter)}", durable=False)
                catalog.write(quotes)

            t = timed(write, repeat)
            ctx.record("catalog.write_quotes_1m", "alphaforge", "time", t, "s")
            catalog = ParquetDataCatalog(tmp / "cat")
            catalog.write(quotes)
            size = sum(p.stat().st_size for p in (tmp / "cat").rglob("*.parquet"))
            ctx.record("catalog.quotes_1m_on_disk", "alphaforge", "size", size / 2**20, "MiB")
            catalog.query_array("quotes", "BTCUSDT.SIM")  # warm the page cache
            t = timed(lambda: catalog.query_array("quotes", "BTCUSDT.SIM"), repeat)
            ctx.record("catalog.load_quotes_1m_numpy", "alphaforge", "time", t, "s")
            t = timed(lambda: catalog.query("quotes", "BTCUSDT.SIM"), repeat)
            ctx.record("catalog.load_quotes_1m_arrow", "alphaforge", "time", t, "s")

            def stream() -> None:
                for _ in catalog.iter_arrays("quotes", "BTCUSDT.SIM", batch_size=65_536):
                    pass

            t = timed(stream, repeat)
            ctx.record(
                "catalog.stream_quotes_1m_numpy",
                "alphaforge",
                "throughput",
                N / t / 1e6,
                "M rows/s",
            )

        if ctx.wants("import."):
            trades_csv = tmp / "BTCUSDT-trades.csv"
            write_binance_trades(trades_csv, N)
            t = timed(lambda: load_binance(trades_csv, "trades", "BTCUSDT.BINANCE"), repeat)
            ctx.record(
                "import.binance_trades_csv_parse",
                "alphaforge",
                "throughput",
                N / t / 1e6,
                "M rows/s",
            )
            counter2 = iter(range(10**6))

            def import_trades() -> None:
                catalog = ParquetDataCatalog(tmp / f"i{next(counter2)}", durable=False)
                import_binance(catalog, trades_csv, "trades", "BTCUSDT.BINANCE")

            t = timed(import_trades, max(1, repeat // 2))
            ctx.record(
                "import.binance_trades_csv_to_catalog",
                "alphaforge",
                "throughput",
                N / t / 1e6,
                "M rows/s",
            )
            quotes_csv = tmp / "tardis_quotes.csv"
            write_tardis_quotes(quotes_csv, N)

            def import_quotes() -> None:
                catalog = ParquetDataCatalog(tmp / f"q{next(counter2)}", durable=False)
                import_tardis(catalog, quotes_csv, "quotes")

            t = timed(import_quotes, max(1, repeat // 2))
            ctx.record(
                "import.tardis_quotes_csv_to_catalog",
                "alphaforge",
                "throughput",
                N / t / 1e6,
                "M rows/s",
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
