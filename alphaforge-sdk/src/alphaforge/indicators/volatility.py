"""Volatility: :class:`ATR` (Wilder) and :class:`BollingerBands`."""

from __future__ import annotations

import math
from typing import Final

from alphaforge.errors import InvalidValue
from alphaforge.indicators.base import Indicator, check_period, quote_price
from alphaforge.model.data import Bar, QuoteTick, TradeTick
from alphaforge.model.enums import PriceType

__all__ = ["ATR", "BollingerBands"]

_POW10: Final[tuple[int, ...]] = tuple(10**i for i in range(19))


class ATR(Indicator):
    """Average true range with Wilder smoothing.

    True range ``TR = max(high, prev_close) - min(low, prev_close)`` (the first bar:
    ``high - low``). The first ``period`` TRs are averaged simply; afterwards
    ``ATR = (ATR * (period - 1) + TR) / period``. Quotes and trades feed one price as
    high = low = close.
    """

    __slots__ = ("_prev_close", "period")

    def __init__(self, period: int = 14, *, price_type: PriceType = PriceType.MID) -> None:
        super().__init__(price_type)
        self.period = check_period(period)
        self._prev_close: float | None = None

    def update(self, value: float) -> None:
        """Feed one price (high = low = close = ``value``)."""
        self.update_hlc(value, value, value)

    def update_hlc(self, high: float, low: float, close: float) -> None:
        """Feed one bar's high, low and close.

        Raises
        ------
        InvalidValue
            ``high < low`` (nothing changes).
        """
        if high < low:
            raise InvalidValue("high", high, f"must be >= low {low}")
        prev = self._prev_close
        if prev is None:
            tr = high - low
        else:
            tr = (high if high > prev else prev) - (low if low < prev else prev)
        self._prev_close = close
        self.count += 1
        period = self.period
        if self.count <= period:
            self.value += (tr - self.value) / self.count
            if self.count == period:
                self.initialized = True
        else:
            self.value = (self.value * (period - 1) + tr) / period

    def handle_bar(self, bar: Bar) -> None:
        """Feed a bar's high, low and close."""
        h, lo, c = bar.high, bar.low, bar.close
        self.update_hlc(
            h.raw / _POW10[h.precision], lo.raw / _POW10[lo.precision], c.raw / _POW10[c.precision]
        )

    def handle_quote(self, quote: QuoteTick) -> None:
        """Feed a quote price as a one-point bar."""
        self.update(quote_price(quote, self.price_type))

    def handle_trade(self, trade: TradeTick) -> None:
        """Feed a trade price as a one-point bar."""
        self.update(trade.price_float)

    def reset(self) -> None:
        """Forget every input."""
        super().reset()
        self._prev_close = None


class BollingerBands(Indicator):
    """Bollinger bands: the ``period`` SMA +/- ``k`` population standard deviations.

    The window mean and sum of squared deviations are updated in O(1) (Welford's update for
    replacing one value of a fixed window) and recomputed exactly (two-pass) each time the ring
    buffer wraps, so float drift never accumulates. ``value`` is the middle band.

    Attributes
    ----------
    middle, upper, lower, std
        The bands and the window's standard deviation.
    """

    __slots__ = ("_buf", "_i", "_m2", "k", "lower", "middle", "period", "std", "upper")

    def __init__(
        self, period: int = 20, k: float = 2.0, *, price_type: PriceType = PriceType.MID
    ) -> None:
        super().__init__(price_type)
        self.period = check_period(period)
        if type(k) is int:
            k = float(k)
        if type(k) is not float or not math.isfinite(k) or k <= 0.0:
            raise InvalidValue("k", k, "must be a positive finite float")
        self.k = k
        self._buf: list[float] = []
        self._i = 0
        self._m2 = 0.0
        self.middle = 0.0
        self.upper = 0.0
        self.lower = 0.0
        self.std = 0.0

    def _exact(self) -> None:
        buf = self._buf
        mean = math.fsum(buf) / len(buf)
        self.middle = mean
        self._m2 = math.fsum((x - mean) * (x - mean) for x in buf)

    def update(self, value: float) -> None:
        """Feed one value."""
        buf = self._buf
        period = self.period
        mean = self.middle
        if self.count < period:
            buf.append(value)
            n = len(buf)
            delta = value - mean
            mean += delta / n
            self._m2 += delta * (value - mean)
            self.middle = mean
            if n == period:
                self.initialized = True
                self._exact()
        else:
            i = self._i
            old = buf[i]
            buf[i] = value
            new_mean = mean + (value - old) / period
            self._m2 += (value - old) * (value - new_mean + old - mean)
            self.middle = new_mean
            i += 1
            if i == period:
                i = 0
                self._exact()
            self._i = i
        self.count += 1
        m2 = self._m2
        std = math.sqrt(m2 / len(buf)) if m2 > 0.0 else 0.0
        self.std = std
        self.value = self.middle
        self.upper = self.middle + self.k * std
        self.lower = self.middle - self.k * std

    def reset(self) -> None:
        """Forget every input."""
        super().reset()
        self._buf = []
        self._i = 0
        self._m2 = 0.0
        self.middle = self.upper = self.lower = self.std = 0.0
