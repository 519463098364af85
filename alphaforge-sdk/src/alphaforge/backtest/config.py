"""``alphaforge backtest CONFIG.toml``: a whole run described in one file.

::

    [engine]
    trader_id = "BACKTESTER-001"
    report = "backtest-report.html"     # relative to the config file

    [[venues]]
    name = "SIM"
    starting_balances = ["1000000 USDT"]

    [data]
    catalog = "catalog"                 # a Parquet data catalog (relative to the config file)
    instruments = ["BTCUSDT.SIM"]
    types = ["quotes"]                  # quotes, trades, bars, book_deltas

    [data.synthetic]                    # optional: generate the embedded default market first
    seed = 42
    n_quotes = 1000000

    [[strategies]]
    name = "ema_cross"                  # a registered strategy (see `alphaforge plugins`)
    config = { fast = 100, slow = 400, trade_size = "0.010" }

Unknown keys and wrong types are errors naming the key path (``strategies[0].config.fast``).
"""

from __future__ import annotations

import time
from pathlib import Path

import attrs

from alphaforge.backtest.engine import BacktestEngine, BacktestEngineConfig, VenueConfig
from alphaforge.backtest.results import BacktestResult
from alphaforge.config import load_config
from alphaforge.errors import ConfigError
from alphaforge.trading.config import StrategySection, build_strategies


@attrs.frozen
class EngineSection:
    trader_id: str = "BACKTESTER-001"
    equity_interval_ns: int = 60_000_000_000
    report: str | None = "backtest-report.html"
    progress: bool | None = None
    start: str | None = None
    end: str | None = None


@attrs.frozen
class SyntheticSection:
    seed: int = 42
    n_quotes: int = 1_000_000
    book: bool = False


@attrs.frozen
class DataSection:
    catalog: str = "catalog"
    instruments: list[str] = attrs.field(factory=lambda: ["BTCUSDT.SIM"])
    types: list[str] = attrs.field(factory=lambda: ["quotes"])
    synthetic: SyntheticSection | None = None


@attrs.frozen
class BacktestRunConfig:
    """The schema of a backtest TOML file."""

    engine: EngineSection = attrs.field(factory=EngineSection)
    venues: list[VenueConfig] = attrs.field(factory=lambda: [VenueConfig("SIM")])
    data: DataSection = attrs.field(factory=DataSection)
    strategies: list[StrategySection] = attrs.field(factory=list)


@attrs.frozen
class RunOutcome:
    result: BacktestResult
    report: Path | None
    seconds: float
    events: int


def run_backtest(
    path: str | Path, *, report: str | Path | None = None, base_dir: str | Path | None = None
) -> RunOutcome:
    """Load a backtest file, prepare its data, run it and write its report.

    Relative paths in the file (catalog, report) are taken from ``base_dir``, by default the
    file's directory.
    """
    from alphaforge import _native
    from alphaforge.data.catalog import ParquetDataCatalog
    from alphaforge.data.synthetic import generate_market, write_to_catalog

    path = Path(path)
    config = load_config(BacktestRunConfig, path)
    base = Path(base_dir) if base_dir is not None else path.parent
    catalog = ParquetDataCatalog(base / config.data.catalog)
    if config.data.synthetic is not None:
        synthetic = config.data.synthetic
        market = generate_market(synthetic.seed, n_quotes=synthetic.n_quotes, book=synthetic.book)
        write_to_catalog(catalog, market, mode="overwrite")

    engine_section = config.engine
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=engine_section.trader_id,
            equity_interval_ns=engine_section.equity_interval_ns,
            progress=engine_section.progress,
        )
    )
    for venue in config.venues:
        engine.add_venue(venue)
    start = _native.time_parse_iso8601(engine_section.start) if engine_section.start else None
    end = _native.time_parse_iso8601(engine_section.end) if engine_section.end else None
    events = 0
    for index, instrument_id in enumerate(config.data.instruments):
        try:
            instrument = catalog.instrument(instrument_id)
        except Exception as exc:
            raise ConfigError(f"data.instruments[{index}]", instrument_id, str(exc)) from exc
        engine.add_instrument(instrument)
        for data_type in config.data.types:
            data = catalog.query_array(data_type, instrument_id, start, end)
            events += len(data)
            engine.add_data(data)
    for strategy in build_strategies(engine.kernel, config.strategies):
        engine.add_strategy(strategy)
    started = time.perf_counter()
    result = engine.run(start, end)
    seconds = time.perf_counter() - started
    target = report if report is not None else engine_section.report
    written = None
    if target is not None:
        target_path = Path(target)
        if not target_path.is_absolute() and report is None:
            target_path = base / target_path
        written = result.write_report(target_path, title=f"AlphaForge backtest: {path.name}")
    engine.dispose()
    return RunOutcome(result, written, seconds, events)
