"""Backtest statistics against hand-computed values, and the offline HTML report."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphaforge.backtest.report import ReportData, render_html
from alphaforge.backtest.stats import NS_PER_YEAR, compute, drawdown, max_drawdown_duration

HOUR = 3_600_000_000_000


def test_statistics_of_a_known_curve() -> None:
    ts = np.arange(5) * HOUR
    equity = np.array([100.0, 110.0, 99.0, 105.0, 121.0])
    stats = compute(ts, equity, np.array([10.0, -11.0, 6.0, 16.0]), fees=2.5, traded_notional=500)
    assert stats.total_return == pytest.approx(0.21)
    assert stats.max_drawdown == pytest.approx(99 / 110 - 1)
    assert stats.max_drawdown_duration_ns == 3 * HOUR  # the 110 peak (1 h) to recovery (4 h)
    assert stats.trades == 4
    assert stats.win_rate == pytest.approx(0.75)
    assert stats.profit_factor == pytest.approx(32 / 11)
    assert stats.expectancy == pytest.approx(21 / 4)
    assert stats.fees == 2.5
    assert stats.turnover == pytest.approx(500 / equity.mean())
    returns = np.diff(equity) / equity[:-1]
    periods = NS_PER_YEAR / HOUR
    assert stats.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(periods))
    downside = returns[returns < 0]
    assert stats.sortino == pytest.approx(
        returns.mean() / np.sqrt((downside**2).mean()) * math.sqrt(periods)
    )


def test_degenerate_inputs_give_zeros_not_nan() -> None:
    for ts, eq in ((np.array([], np.int64), np.array([])), (np.array([0]), np.array([5.0]))):
        stats = compute(ts, eq, np.array([]))
        assert all(not (isinstance(v, float) and math.isnan(v)) for v in stats.as_dict().values())
    flat = compute(np.arange(3) * HOUR, np.full(3, 100.0), np.array([]))
    assert (flat.sharpe, flat.max_drawdown, flat.max_drawdown_duration_ns) == (0.0, 0.0, 0)


@given(st.lists(st.floats(1.0, 1e6), min_size=1, max_size=100))
def test_drawdown_is_never_positive_and_zero_at_new_peaks(values: list[float]) -> None:
    equity = np.array(values)
    dd = drawdown(equity)
    assert (dd <= 0).all()
    peaks = equity >= np.maximum.accumulate(equity)
    assert (dd[peaks] == 0).all()
    assert max_drawdown_duration(np.arange(len(values)), equity) <= max(len(values) - 1, 0)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def test_report_is_self_contained_html_with_charts_and_tables() -> None:
    n = 5000  # more points than a chart keeps
    ts = np.arange(n) * 1_000_000_000
    price = 50_000 + np.cumsum(np.random.default_rng(1).normal(size=n))
    equity = 10_000 + np.cumsum(np.random.default_rng(2).normal(size=n))
    data = ReportData(
        title="EMA cross <test>",
        statistics=compute(ts, equity, np.array([1.0, -0.5])),
        equity_ts=ts, equity=equity, price_ts=ts, price=price,
        fill_ts=ts[[10, 20]], fill_price=price[[10, 20]], fill_is_buy=np.array([True, False]),
        tables={"Fills": (("ts", "side"), [(10, "BUY"), (20, "SELL")])},
    )  # fmt: skip
    page = render_html(data)
    parser = _Collector()
    parser.feed(page)
    assert parser.tags.count("svg") == 3
    assert parser.tags.count("table") == 2
    assert parser.links == []  # nothing to fetch: opens offline
    assert "script" not in parser.tags
    assert "EMA cross &lt;test&gt;" in page
    assert page.count("<circle") == 2
