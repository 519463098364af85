"""End-to-end backtest throughput, order counts and peak RSS, ours and (when importable) nautilus.

Workload: ``generate_market(SEED, n_quotes=1_000_000, book=False)`` quotes of ``BTCUSDT.SIM``
(price precision 2, size precision 3, tick 0.01; 200,000 quotes with ``--quick``) replayed
through a fresh engine per repeat with a SIM venue (NETTING, margin, 1,000,000 USDT):

- ``backtest.no_strategy`` -- no strategy at all;
- ``backtest.noop_subscriber`` -- one strategy subscribed to the quotes, doing nothing;
- ``backtest.ema_cross_ticks`` -- EMA 100/400 cross on quote mids, market orders of 0.010
  (0.020 when flipping the position), flat at stop;
- ``backtest.ema_cross_bars`` -- the same rules, EMA 10/30 on 1-minute MID bars built
  internally from the quotes.

Only ``engine.run()`` is timed (median of repeats); data generation, the conversion to the
peer's objects and engine setup are not. Metrics per workload: ``throughput`` (k ticks/s),
``orders`` (orders the run created) and ``peak_rss`` (MiB, ``VmHWM``, else ``ru_maxrss``, of
a fresh child process that generates the data, converts it where needed, runs once, reports).
``backtest.replay_no_subscriber`` is the no-strategy run in events replayed per second.

The nautilus side uses its public API only: ``QuoteTick.from_raw`` (raw values rescaled to its
fixed-point precision), a ``BacktestEngine`` with logging bypassed, a ``CurrencyPair`` with the
same precisions and fees, and ``Strategy`` subclasses with its ``ExponentialMovingAverage``.

    python benches/bench_backtest.py --child IMPL WORKLOAD N   # one run, prints peak RSS JSON
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 20240808
N_FULL = 1_000_000
N_QUICK = 200_000
WARMUP_N = 20_000
BAR_TYPE = "BTCUSDT.SIM-1-MINUTE-MID-INTERNAL"
WORKLOADS = ("no_strategy", "noop_subscriber", "ema_cross_ticks", "ema_cross_bars")


def _market(n: int) -> Any:
    """The workload: generated in process, or (children measuring peak RSS) loaded from the
    catalog the parent wrote, as a real run would, so generator memory is not counted."""
    from types import SimpleNamespace

    from alphaforge.data.catalog import ParquetDataCatalog
    from alphaforge.data.synthetic import generate_market

    catalog_dir = os.environ.get("ALPHAFORGE_BENCH_CATALOG")
    if catalog_dir is None:
        return generate_market(SEED, n_quotes=n, book=False)
    catalog = ParquetDataCatalog(catalog_dir)
    instrument = catalog.instrument("BTCUSDT.SIM")
    quotes = catalog.query_array("quotes", instrument.id)
    return SimpleNamespace(instrument=instrument, quotes=quotes)


def _write_catalog(n: int, root: Path) -> Path:
    from alphaforge.data.catalog import ParquetDataCatalog
    from alphaforge.data.synthetic import write_to_catalog

    path = root / f"catalog-{n}"
    write_to_catalog(ParquetDataCatalog(path), _market(n), mode="overwrite")
    return path


# -- AlphaForge ------------------------------------------------------------------------------


def _af_strategy(workload: str) -> Any:
    from alphaforge.examples.strategies import EmaCross, EmaCrossBars, EmaCrossConfig
    from alphaforge.trading.strategy import Strategy

    if workload == "no_strategy":
        return None
    if workload == "noop_subscriber":

        class NoopSubscriber(Strategy):
            def on_start(self) -> None:
                from alphaforge.model.identifiers import InstrumentId

                self.subscribe_quotes(InstrumentId.from_str("BTCUSDT.SIM"))

            def on_quote(self, quote: Any) -> None:
                pass

        return NoopSubscriber()
    if workload == "ema_cross_ticks":
        return EmaCross(EmaCrossConfig(fast=100, slow=400))
    return EmaCrossBars(EmaCrossConfig(bar_type=BAR_TYPE, fast=10, slow=30))


class AlphaForgeSide:
    impl = "alphaforge"

    def __init__(self, market: Any) -> None:
        self.market = market

    def build(self, workload: str) -> Any:
        from alphaforge.backtest.engine import BacktestEngine, VenueConfig

        engine = BacktestEngine()
        engine.add_venue(VenueConfig("SIM"))
        engine.add_instrument(self.market.instrument)
        engine.add_data(self.market.quotes)
        strategy = _af_strategy(workload)
        if strategy is not None:
            engine.add_strategy(strategy)
        return engine

    @staticmethod
    def run(engine: Any) -> Any:
        return engine.run()

    @staticmethod
    def orders(engine: Any, result: Any) -> int:
        return int(result.orders.num_rows)

    @staticmethod
    def dispose(engine: Any) -> None:
        engine.dispose()


# -- nautilus_trader (public API only) -------------------------------------------------------


def _nt_instrument() -> Any:
    from decimal import Decimal

    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.identifiers import InstrumentId, Symbol
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Money, Price, Quantity

    return CurrencyPair(
        instrument_id=InstrumentId.from_str("BTCUSDT.SIM"),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        price_precision=2,
        size_precision=3,
        price_increment=Price.from_str("0.01"),
        size_increment=Quantity.from_str("0.001"),
        lot_size=Quantity.from_str("0.001"),
        max_quantity=Quantity.from_str("1000.000"),
        min_quantity=Quantity.from_str("0.001"),
        max_notional=None,
        min_notional=Money(5, USDT),
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0004"),
        ts_event=0,
        ts_init=0,
    )


def _nt_ticks(market: Any, instrument_id: Any) -> list[Any]:
    """The same quotes as nautilus ``QuoteTick`` objects (raw values at its fixed precision)."""
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.objects import FIXED_PRECISION

    quotes = market.quotes
    pp, sp = quotes.price_precision, quotes.size_precision
    p_scale, s_scale = 10 ** (FIXED_PRECISION - pp), 10 ** (FIXED_PRECISION - sp)
    rec = quotes.records
    new = QuoteTick.from_raw
    return [
        new(
            instrument_id,
            bid * p_scale,
            ask * p_scale,
            pp,
            pp,
            bsz * s_scale,
            asz * s_scale,
            sp,
            sp,
            tse,
            ts,
        )
        for bid, ask, bsz, asz, tse, ts in zip(
            rec["bid_price"].tolist(),
            rec["ask_price"].tolist(),
            rec["bid_size"].tolist(),
            rec["ask_size"].tolist(),
            rec["ts_event"].tolist(),
            rec["ts_init"].tolist(),
            strict=True,
        )
    ]


def _nt_strategies() -> dict[str, type]:
    """Nautilus strategies with the same rules as ours (defined lazily: nautilus is optional)."""
    from nautilus_trader.config import StrategyConfig
    from nautilus_trader.indicators import ExponentialMovingAverage
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Quantity
    from nautilus_trader.trading.strategy import Strategy

    instrument_id = InstrumentId.from_str("BTCUSDT.SIM")

    class NoopConfig(StrategyConfig, frozen=True):
        pass

    class CrossConfig(StrategyConfig, frozen=True):
        fast: int = 100
        slow: int = 400
        bars: bool = False

    class NoopSubscriber(Strategy):
        def on_start(self) -> None:
            self.subscribe_quote_ticks(instrument_id)

        def on_quote_tick(self, tick: Any) -> None:
            pass

    class EmaCross(Strategy):
        def __init__(self, config: CrossConfig) -> None:
            super().__init__(config)
            self.fast = ExponentialMovingAverage(config.fast)
            self.slow = ExponentialMovingAverage(config.slow)
            self.side = 0  # +1 long, -1 short, 0 flat (the side last ordered)
            self.size = Quantity.from_str("0.010")
            self.flip_size = Quantity.from_str("0.020")

        def on_start(self) -> None:
            if self.config.bars:
                self.subscribe_bars(BarType.from_str(BAR_TYPE))
            else:
                self.subscribe_quote_ticks(instrument_id)

        def on_quote_tick(self, tick: Any) -> None:
            mid = (tick.bid_price.as_double() + tick.ask_price.as_double()) / 2.0
            self.fast.update_raw(mid)
            self.slow.update_raw(mid)
            if self.slow.initialized:
                self.decide()

        def on_bar(self, bar: Any) -> None:
            close = bar.close.as_double()
            self.fast.update_raw(close)
            self.slow.update_raw(close)
            if self.slow.initialized:
                self.decide()

        def decide(self) -> None:
            fast, slow = self.fast.value, self.slow.value
            want = 1 if fast > slow else -1 if fast < slow else self.side
            if want == self.side:
                return
            qty = self.size if self.side == 0 else self.flip_size
            side = OrderSide.BUY if want > 0 else OrderSide.SELL
            self.submit_order(self.order_factory.market(instrument_id, side, qty))
            self.side = want

        def on_stop(self) -> None:
            self.close_all_positions(instrument_id)

    return {
        "noop": NoopSubscriber,
        "noop_config": NoopConfig,
        "cross": EmaCross,
        "cross_config": CrossConfig,
    }


class NautilusSide:
    impl = "nautilus_trader"

    def __init__(self, market: Any) -> None:
        self.instrument = _nt_instrument()
        self.ticks = _nt_ticks(market, self.instrument.id)
        self.classes = _nt_strategies()

    def _strategy(self, workload: str) -> Any:
        c = self.classes
        if workload == "no_strategy":
            return None
        if workload == "noop_subscriber":
            return c["noop"](c["noop_config"](strategy_id="Noop-001"))
        if workload == "ema_cross_ticks":
            return c["cross"](c["cross_config"](strategy_id="EmaCross-001", fast=100, slow=400))
        return c["cross"](
            c["cross_config"](strategy_id="EmaCrossBars-001", fast=10, slow=30, bars=True)
        )

    def build(self, workload: str) -> Any:
        from nautilus_trader.backtest.engine import BacktestEngine
        from nautilus_trader.config import BacktestEngineConfig, LoggingConfig
        from nautilus_trader.model.currencies import USDT
        from nautilus_trader.model.enums import AccountType, OmsType
        from nautilus_trader.model.identifiers import TraderId, Venue
        from nautilus_trader.model.objects import Money

        engine = BacktestEngine(
            BacktestEngineConfig(
                trader_id=TraderId("BACKTESTER-001"),
                logging=LoggingConfig(bypass_logging=True),
            )
        )
        engine.add_venue(
            venue=Venue("SIM"),
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=USDT,
            starting_balances=[Money(1_000_000, USDT)],
        )
        engine.add_instrument(self.instrument)
        engine.add_data(self.ticks)
        strategy = self._strategy(workload)
        if strategy is not None:
            engine.add_strategy(strategy)
        return engine

    @staticmethod
    def run(engine: Any) -> Any:
        engine.run()

    @staticmethod
    def orders(engine: Any, result: Any) -> int:
        return len(engine.cache.orders())

    @staticmethod
    def dispose(engine: Any) -> None:
        engine.dispose()


# -- measurement -----------------------------------------------------------------------------


def _time_once(side: Any, workload: str) -> tuple[float, int]:
    """Seconds of ``engine.run()`` on a fresh engine, and the orders the run created."""
    import gc

    engine = side.build(workload)
    gc.collect()
    start = time.perf_counter()
    result = side.run(engine)
    seconds = time.perf_counter() - start
    orders = side.orders(engine, result)
    side.dispose(engine)
    return seconds, orders


def _peak_rss_mib(impl: str, workload: str, n: int, catalog: Path) -> float | None:
    """Peak RSS of a fresh child that loads the data, runs ``workload`` once and exits."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", impl, workload, str(n)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "ALPHAFORGE_BENCH_CATALOG": str(catalog)},
    )  # fmt: skip
    if proc.returncode != 0:
        print(f"peak_rss child {impl} {workload} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_mib"])


def _child(impl: str, workload: str, n: int) -> None:
    market = _market(n)
    side = AlphaForgeSide(market) if impl == "alphaforge" else NautilusSide(market)
    engine = side.build(workload)
    result = side.run(engine)
    orders = side.orders(engine, result)
    print(json.dumps({"impl": impl, "workload": workload, "orders": orders,
                      "peak_rss_mib": _own_peak_rss_mib()}))  # fmt: skip


def _own_peak_rss_mib() -> float:
    """This process's peak RSS. ``ru_maxrss`` survives ``execve`` on Linux (a child started by a
    big parent reports the parent's peak), so read ``VmHWM`` of the new address space there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(ctx) -> None:  # type: ignore[no-untyped-def]
    wanted = [w for w in WORKLOADS if ctx.wants(f"backtest.{w}")]
    replay = ctx.wants("backtest.replay_no_subscriber")
    if replay and "no_strategy" not in wanted:
        wanted.insert(0, "no_strategy")
    if not wanted:
        return
    n = N_QUICK if ctx.quick else N_FULL
    market, warm_market = _market(n), _market(WARMUP_N)
    makers: list[Callable[[Any], Any]] = [AlphaForgeSide]
    if ctx.peer("nautilus_trader") is not None:
        makers.append(NautilusSide)
    sides = [make(market) for make in makers]  # the peer's data conversion happens here, untimed
    for make in makers:  # first runs pay for imports and caches: warm each engine up, untimed
        warm = make(warm_market)
        for workload in wanted:
            _time_once(warm, workload)
        del warm
    for workload in wanted:
        name = f"backtest.{workload}"
        samples: dict[str, list[float]] = {side.impl: [] for side in sides}
        orders: dict[str, int] = {}
        for _ in range(ctx.repeats(3)):  # impls alternate, so load changes hit both alike
            for side in sides:
                seconds, orders[side.impl] = _time_once(side, workload)
                samples[side.impl].append(seconds)
        for side in sides:
            rate = n / statistics.median(samples[side.impl]) / 1e3
            if workload == "no_strategy" and replay:
                ctx.record("backtest.replay_no_subscriber", side.impl, "throughput", rate,
                           "k events/s")  # fmt: skip
            if not ctx.wants(name):
                continue
            ctx.record(name, side.impl, "throughput", rate, "k ticks/s")
            ctx.record(name, side.impl, "orders", orders[side.impl], "count")
    del sides
    with tempfile.TemporaryDirectory() as tmp:  # peak RSS last, each in a fresh child process
        catalog = _write_catalog(n, Path(tmp))
        for workload in wanted:
            if ctx.wants(f"backtest.{workload}"):
                for make in makers:
                    impl = make.impl  # type: ignore[attr-defined]
                    rss = _peak_rss_mib(impl, workload, n, catalog)
                    if rss is not None:
                        ctx.record(f"backtest.{workload}", impl, "peak_rss", rss, "MiB")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(__doc__)
