"""End-to-end backtests: determinism, accounting, fill prices, bars, latency, Ctrl-C, the CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alphaforge.backtest.engine import BacktestEngine, VenueConfig
from alphaforge.backtest.exchange import ExchangeConfig
from alphaforge.backtest.results import BacktestResult
from alphaforge.data.synthetic import MarketData, generate_market
from alphaforge.examples.strategies import (
    EmaCross,
    EmaCrossBars,
    EmaCrossConfig,
    MarketMaker,
    MarketMakerConfig,
)
from alphaforge.model import InstrumentId, QuoteTick
from alphaforge.trading.strategy import Strategy

IID = InstrumentId.from_str("BTCUSDT.SIM")


@pytest.fixture(scope="module")
def market() -> MarketData:
    return generate_market(11, n_quotes=40_000, book=False)


Run = tuple[BacktestEngine, BacktestResult]


def run(
    market: MarketData,
    strategy: Strategy,
    *,
    trades: bool = False,
    exchange: ExchangeConfig | None = None,
) -> Run:
    engine = BacktestEngine()
    engine.add_venue(VenueConfig("SIM", exchange=exchange or ExchangeConfig()))
    engine.add_instrument(market.instrument)
    engine.add_data(market.quotes)
    if trades:
        engine.add_data(market.trades)
    engine.add_strategy(strategy)
    return engine, engine.run()


def test_same_inputs_give_identical_results(market: MarketData) -> None:
    first = run(market, EmaCross(EmaCrossConfig(fast=20, slow=80)))[1]
    second = run(market, EmaCross(EmaCrossConfig(fast=20, slow=80)))[1]
    assert first.orders.num_rows > 10
    assert first.fingerprint() == second.fingerprint()


def test_market_orders_fill_at_the_top_of_book_and_the_books_balance(market: MarketData) -> None:
    engine, result = run(market, EmaCross(EmaCrossConfig(fast=20, slow=80)))
    quotes = market.quotes.records
    fills = result.fills.to_pylist()
    assert fills and all(f["liquidity"] == "TAKER" for f in fills)
    for fill in fills:
        # The latest quote at or before the fill: buys pay the ask, sells get the bid.
        row = int(quotes["ts_init"].searchsorted(fill["ts_event"], "right")) - 1
        expected = quotes["ask_price"][row] if fill["side"] == "BUY" else quotes["bid_price"][row]
        assert Decimal(fill["last_px"]) == Decimal(int(expected)) / 100
    # Flat at the end (on_stop closes): equity is the start plus every realized PnL, exactly.
    realized = sum(Decimal(p["realized_pnl"].split()[0]) for p in result.positions.to_pylist())
    equity = engine.portfolio.equity().as_decimal()
    assert equity == Decimal("1000000") + realized
    fees = sum(Decimal(f["commission"].split()[0]) for f in fills)
    assert result.statistics.fees == pytest.approx(float(fees))


def test_internal_bars_are_built_and_traded(market: MarketData) -> None:
    seen: list[Any] = []

    class Recording(EmaCrossBars):
        def on_bar(self, bar: Any) -> None:
            seen.append(bar)
            super().on_bar(bar)

    config = EmaCrossConfig(bar_type="BTCUSDT.SIM-1-MINUTE-MID-INTERNAL", fast=3, slow=8)
    result = run(market, Recording(config))[1]
    assert len(seen) > 10
    assert all(bar.ts_event % 60_000_000_000 == 0 for bar in seen)  # closes on the minute
    assert all(bar.high >= bar.low for bar in seen)
    assert result.orders.num_rows > 0


def test_latency_delays_the_venue_and_resting_orders_fill_as_maker(market: MarketData) -> None:
    latency = 5_000_000
    strategy = MarketMaker(MarketMakerConfig(half_spread_ticks=1, requote_ticks=4))
    engine, result = run(market, strategy, trades=True,
                         exchange=ExchangeConfig(order_latency_ns=latency))  # fmt: skip
    orders = engine.kernel.cache.orders()
    accepted = [o for o in orders if o.venue_order_id is not None]
    assert accepted
    for order in accepted[:50]:
        submitted = next(e for e in order.events if type(e).__name__ == "OrderSubmitted")
        accept = next(e for e in order.events if type(e).__name__ == "OrderAccepted")
        assert accept.ts_event - submitted.ts_event >= latency
    fills = result.fills.to_pylist()
    assert any(f["liquidity"] == "MAKER" for f in fills)


def test_ctrl_c_stops_cleanly_with_partial_results(market: MarketData) -> None:
    class Interrupting(EmaCross):
        def on_quote(self, quote: QuoteTick) -> None:
            super().on_quote(quote)
            if self.clock.timestamp_ns() >= int(market.quotes.records["ts_init"][20_000]):
                raise KeyboardInterrupt

    result = run(market, Interrupting(EmaCrossConfig(fast=20, slow=80)))[1]
    assert result.interrupted
    assert result.equity_ts[-1] < int(market.quotes.records["ts_init"][-1])
    assert "interrupted" in result.summary()


def test_cli_runs_a_config_file_and_writes_an_offline_report(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        textwrap.dedent("""
        [engine]
        report = "out/report.html"

        [[venues]]
        name = "SIM"
        starting_balances = ["100000 USDT"]

        [data]
        catalog = "catalog"
        instruments = ["BTCUSDT.SIM"]
        types = ["quotes"]

        [data.synthetic]
        seed = 3
        n_quotes = 20000

        [[strategies]]
        name = "ema_cross"
        config = { fast = 20, slow = 80, trade_size = "0.010" }
    """)
    )
    cli = [sys.executable, "-m", "alphaforge.cli", "backtest", str(config)]
    done = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "events                      20,000" in done.stdout
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<svg") == 3 and "<script" not in page

    config.write_text(config.read_text().replace("fast = 20", "fastest = 20"))
    bad = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "strategies[0].config" in bad.stderr or "fastest" in bad.stderr


def test_coarser_quantities_fill_in_full(market: MarketData) -> None:
    # "0.05" has precision 2, the instrument 3: the venue must see 0.050, not 0.005 (and the
    # top of book always holds the 0.1 of a flip).
    result = run(market, EmaCross(EmaCrossConfig(fast=20, slow=80, trade_size="0.05")))[1]
    orders = result.orders.to_pylist()
    assert orders
    for order in orders:
        assert order["status"] == "FILLED", order
        assert Decimal(order["filled_qty"]) == Decimal(order["quantity"]), order
    assert Decimal(orders[0]["quantity"]) == Decimal("0.05")
