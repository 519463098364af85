"""Indicators against straightforward reference computations (numpy), incl. hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.errors import InvalidValue
from alphaforge.indicators import ATR, EMA, RSI, SMA, BollingerBands
from alphaforge.model import (
    AggregationSource,
    Bar,
    BarAggregation,
    BarSpecification,
    BarType,
    InstrumentId,
    Price,
    PriceType,
    Quantity,
    QuoteTick,
    TradeId,
    TradeTick,
)
from alphaforge.model.enums import AggressorSide

IID = InstrumentId.from_str("BTCUSDT.SIM")
BAR_TYPE = BarType(
    IID, BarSpecification(1, BarAggregation.MINUTE, PriceType.LAST), AggregationSource.INTERNAL
)

prices = st.lists(
    st.floats(min_value=1.0, max_value=1e5, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)
periods = st.integers(min_value=1, max_value=40)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# -- references ------------------------------------------------------------------------------------


def ref_ema(x: np.ndarray, period: int) -> np.ndarray:
    """Closed form of the recursion seeded with x[0]: weights (1 - a)^k."""
    a = 2.0 / (period + 1.0)
    n = len(x)
    out = np.empty(n)
    for t in range(n):
        k = np.arange(t, -1, -1)
        w = a * (1 - a) ** k
        w[0] = (1 - a) ** t  # x[0] carries the remaining weight
        out[t] = float(np.dot(w, x[: t + 1]))
    return out


def ref_sma(x: np.ndarray, period: int) -> np.ndarray:
    return np.array([x[max(0, t - period + 1) : t + 1].mean() for t in range(len(x))])


def ref_rsi(x: np.ndarray, period: int) -> list[float | None]:
    diff = np.diff(x)
    gains = np.where(diff > 0, diff, 0.0)
    losses = np.where(diff < 0, -diff, 0.0)
    out: list[float | None] = [None]
    ag = al = 0.0
    for i in range(len(diff)):
        if i < period:
            ag = gains[: i + 1].mean()
            al = losses[: i + 1].mean()
        else:
            ag = (ag * (period - 1) + gains[i]) / period
            al = (al * (period - 1) + losses[i]) / period
        out.append((100.0 if ag > 0 else 50.0) if al == 0 else 100.0 - 100.0 / (1.0 + ag / al))
    return out


def ref_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, period: int) -> np.ndarray:
    prev = np.concatenate(([np.nan], c[:-1]))
    tr = np.where(
        np.isnan(prev),
        h - lo,
        np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev))),
    )
    out = np.empty(len(tr))
    for t in range(len(tr)):
        if t < period:
            out[t] = tr[: t + 1].mean()
        else:
            out[t] = (out[t - 1] * (period - 1) + tr[t]) / period
    return out


# -- properties against the references -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_ema_matches_reference(xs: list[float], period: int) -> None:
    ema = EMA(period)
    expected = ref_ema(np.array(xs), period)
    for i, x in enumerate(xs):
        ema.update(x)
        assert math.isclose(ema.value, expected[i], rel_tol=1e-9)
        assert ema.count == i + 1
        assert ema.initialized == (i + 1 >= period)


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_sma_matches_reference(xs: list[float], period: int) -> None:
    sma = SMA(period)
    expected = ref_sma(np.array(xs), period)
    for i, x in enumerate(xs):
        sma.update(x)
        assert math.isclose(sma.value, expected[i], rel_tol=1e-9)
        assert sma.initialized == (i + 1 >= period)


@settings(max_examples=60, deadline=None)
@given(prices, periods)
def test_rsi_matches_reference(xs: list[float], period: int) -> None:
    rsi = RSI(period)
    expected = ref_rsi(np.array(xs), period)
    for i, x in enumerate(xs):
        rsi.update(x)
        exp = expected[i]
        if exp is not None:
            assert math.isclose(rsi.value, exp, rel_tol=1e-7, abs_tol=1e-7)
            assert 0.0 <= rsi.value <= 100.0
        assert rsi.initialized == (i >= period)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=1.0, max_value=1e4, allow_nan=False),
            st.floats(min_value=0.0, max_value=100.0, allow_nan=False),
            st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
        ),
        min_size=1,
        max_size=200,
    ),
    periods,
)
def test_atr_matches_reference(bars: list[tuple[float, float, float]], period: int) -> None:
    lo = np.array([b[0] for b in bars])
    h = lo + np.array([b[1] for b in bars])
    c = lo + (h - lo) * np.array([b[2] for b in bars])
    atr = ATR(period)
    expected = ref_atr(h, lo, c, period)
    for i in range(len(bars)):
        atr.update_hlc(float(h[i]), float(lo[i]), float(c[i]))
        assert math.isclose(atr.value, expected[i], rel_tol=1e-9, abs_tol=1e-9)
        assert atr.initialized == (i + 1 >= period)


@settings(max_examples=60, deadline=None)
@given(prices, periods, st.sampled_from([1.0, 2.0, 2.5]))
def test_bollinger_matches_reference(xs: list[float], period: int, k: float) -> None:
    bb = BollingerBands(period, k)
    arr = np.array(xs)
    for t, x in enumerate(xs):
        bb.update(x)
        window = arr[max(0, t - period + 1) : t + 1]
        mean, std = window.mean(), window.std()
        scale = max(1.0, float(np.abs(window).max()))
        assert math.isclose(bb.middle, mean, rel_tol=1e-9)
        assert abs(bb.std - std) <= 1e-6 * scale
        assert abs(bb.upper - (mean + k * std)) <= 1e-5 * scale
        assert abs(bb.lower - (mean - k * std)) <= 1e-5 * scale
        assert bb.value == bb.middle


def test_long_runs_do_not_drift() -> None:
    rng = np.random.default_rng(7)
    xs = 50_000 + np.cumsum(rng.normal(0, 5, 100_003))
    sma, bb = SMA(50), BollingerBands(50)
    for x in xs:
        sma.update(float(x))
        bb.update(float(x))
    window = xs[-50:]
    assert math.isclose(sma.value, window.mean(), rel_tol=1e-12)
    assert math.isclose(bb.std, window.std(), rel_tol=1e-6)


# -- market data handlers ------------------------------------------------------------------------


def quote(bid: str, ask: str) -> QuoteTick:
    return QuoteTick(IID, Price(bid), Price(ask), Quantity("1"), Quantity("1"), 0, 0)


@pytest.mark.parametrize("cls", [EMA, SMA, RSI, ATR, BollingerBands])
def test_handlers_feed_the_right_price(cls: type) -> None:
    mid, bid, ask, last = cls(3), cls(3, price_type=PriceType.BID), cls(3), cls(3)
    ask.price_type = PriceType.ASK
    q = quote("100.00", "101.00")
    for ind in (mid, bid, ask):
        ind.handle_quote(q)
    last.handle_trade(
        TradeTick(IID, Price("99.5"), Quantity("1"), AggressorSide.BUYER, TradeId("t"), 0, 0)
    )
    expected = {id(mid): 100.5, id(bid): 100.0, id(ask): 101.0, id(last): 99.5}
    if cls in (ATR, RSI):  # first value: ATR is 0 for a one-point bar, RSI has no change yet
        for ind in (mid, bid, ask, last):
            assert ind.count == 1
        return
    for ind in (mid, bid, ask, last):
        assert ind.value == expected[id(ind)]


def test_bars_feed_close_and_atr_uses_high_low() -> None:
    bar = Bar(BAR_TYPE, Price("10"), Price("12"), Price("9"), Price("11"), Quantity("1"), 0, 0)
    ema, atr = EMA(2), ATR(2)
    ema.handle_bar(bar)
    atr.handle_bar(bar)
    assert ema.value == 11.0
    assert atr.value == 3.0


def test_ema_quote_path_matches_update() -> None:
    a, b = EMA(10), EMA(10)
    for i in range(30):
        q = quote(f"{100 + i}.00", f"{100 + i}.50")
        a.handle_quote(q)
        b.update(q.mid_float)
    assert a.value == b.value and a.count == b.count


def test_reset_and_repr() -> None:
    for ind in (EMA(3), SMA(3), RSI(3), ATR(3), BollingerBands(3)):
        for x in (1.0, 2.0, 3.0, 4.0, 2.0):
            ind.update(x)
        assert ind.initialized
        ind.reset()
        assert (ind.value, ind.count, ind.initialized) == (0.0, 0, False)
        assert ind.name in repr(ind)
        for x in (5.0, 5.0, 5.0, 5.0):
            ind.update(x)
        assert ind.initialized


def test_rsi_extremes() -> None:
    up, flat = RSI(3), RSI(3)
    for x in (1.0, 2.0, 3.0, 4.0):
        up.update(x)
        flat.update(1.0)
    assert up.value == 100.0 and up.avg_loss == 0.0 and up.avg_gain == 1.0
    assert flat.value == 50.0


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(InvalidValue, match="period"):
        EMA(0)
    with pytest.raises(InvalidValue, match="period"):
        SMA(2.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="alpha"):
        EMA(3, alpha=1.5)
    with pytest.raises(InvalidValue, match="price_type"):
        RSI(3, price_type=PriceType.LAST)
    with pytest.raises(InvalidValue, match="k"):
        BollingerBands(3, -1.0)
    atr = ATR(3)
    with pytest.raises(InvalidValue, match="high"):
        atr.update_hlc(1.0, 2.0, 1.5)
    assert atr.count == 0
    assert EMA(3, alpha=0.5).alpha == 0.5
    assert BollingerBands(3, 2).k == 2.0
