"""The strategy conformance kit catches what it promises to catch (checks called directly)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from alphaforge.data.synthetic import MarketData, generate_market
from alphaforge.model import InstrumentId, OrderSide, Price, Quantity, QuoteTick
from alphaforge.testing.strategies import STRATEGY_CHECKS, StrategyConformance
from alphaforge.trading import Strategy

IID = InstrumentId.from_str("BTCUSDT.SIM")


@pytest.fixture(scope="module")
def market() -> MarketData:
    return generate_market(seed=3, n_quotes=3_000, book=False)


class CoinFlipper(Strategy):
    """Trades on an unseeded coin: two runs on the same data differ."""

    def on_start(self) -> None:
        self.subscribe_quotes(IID)
        self.rng = random.Random()  # unseeded: the defect under test
        self.n = 0

    def on_quote(self, quote: QuoteTick) -> None:
        self.n += 1
        if self.n % 50 == 0:
            side = OrderSide.BUY if self.rng.random() < 0.5 else OrderSide.SELL
            self.submit_order(self.order_factory.market(IID, side, Quantity("0.001")))


class OffTick(Strategy):
    """Quotes limit orders a third of a tick off the grid: pre-trade risk denies them."""

    def on_start(self) -> None:
        self.subscribe_quotes(IID)
        self.sent = False

    def on_quote(self, quote: QuoteTick) -> None:
        if not self.sent:
            self.sent = True
            price = Price.from_raw(quote.bid_raw * 10 - 3, quote.price_precision + 1)
            self.submit_order(
                self.order_factory.limit(IID, OrderSide.BUY, Quantity("0.001"), price)
            )


class Silent(Strategy):
    def on_start(self) -> None:
        self.subscribe_quotes(IID)


def factory(cls: type[Strategy]) -> Callable[[], Any]:
    return lambda: cls()


def test_check_ids_are_stable() -> None:
    names = {n.removeprefix("test_") for n in dir(StrategyConformance) if n.startswith("test_")}
    assert names == set(STRATEGY_CHECKS)


def test_hidden_randomness_fails_determinism(market: MarketData) -> None:
    kit = StrategyConformance()
    kit.test_backtest_runs(market, factory(CoinFlipper))  # it trades...
    with pytest.raises(AssertionError, match="two runs on the same data differ"):
        kit.test_deterministic(market, factory(CoinFlipper))  # ...but not reproducibly


def test_off_grid_orders_fail_pre_trade_risk(market: MarketData) -> None:
    with pytest.raises(AssertionError, match="denied by pre-trade risk"):
        StrategyConformance().test_orders_pass_pre_trade_risk(market, factory(OffTick))


def test_a_strategy_that_never_trades_fails_when_orders_are_expected(market: MarketData) -> None:
    kit = StrategyConformance()
    with pytest.raises(AssertionError, match="placed no order"):
        kit.test_backtest_runs(market, factory(Silent))
    with pytest.raises(AssertionError, match="no order in the live run"):
        kit.test_runs_live_on_paper(market, factory(Silent))
