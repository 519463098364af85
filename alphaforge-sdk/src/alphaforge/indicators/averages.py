"""Moving averages: :class:`EMA` and :class:`SMA`."""

from __future__ import annotations

import math
from typing import Final

from alphaforge.errors import InvalidValue
from alphaforge.indicators.base import Indicator, check_period
from alphaforge.model.data import QuoteTick
from alphaforge.model.enums import PriceType

__all__ = ["EMA", "SMA"]

_MID: Final = PriceType.MID
_BID: Final = PriceType.BID


class EMA(Indicator):
    """Exponential moving average.

    ``value = value + alpha * (x - value)`` with ``alpha = 2 / (period + 1)``; the first input
    seeds the average. ``initialized`` once ``period`` inputs were seen.

    Parameters
    ----------
    period
        Positive int.
    price_type
        Quote price to use (BID, ASK, MID).
    alpha
        Override the smoothing factor (``0 < alpha <= 1``).
    """

    __slots__ = ("alpha", "period")

    def __init__(
        self, period: int, *, price_type: PriceType = PriceType.MID, alpha: float | None = None
    ) -> None:
        super().__init__(price_type)
        self.period = check_period(period)
        if alpha is None:
            alpha = 2.0 / (period + 1.0)
        elif type(alpha) is not float or not 0.0 < alpha <= 1.0:
            raise InvalidValue("alpha", alpha, "must be a float in (0, 1]")
        self.alpha = alpha

    def update(self, value: float) -> None:
        """Feed one value."""
        if self.count:
            self.value += self.alpha * (value - self.value)
        else:
            self.value = value
        self.count += 1
        if self.count >= self.period:
            self.initialized = True

    def handle_quote(self, quote: QuoteTick) -> None:
        """Feed a quote (the update is inlined: the bus calls this directly on the hot path)."""
        if self.price_type is _MID:
            x = quote.mid_float
        else:
            x = quote.bid_float if self.price_type is _BID else quote.ask_float
        if self.count:
            self.value += self.alpha * (x - self.value)
        else:
            self.value = x
        self.count += 1
        if self.count >= self.period:
            self.initialized = True


class SMA(Indicator):
    """Simple moving average over the last ``period`` inputs.

    A ring buffer and a running sum make an update O(1); the sum is recomputed exactly
    (:func:`math.fsum`) each time the buffer wraps, so float drift never accumulates (amortized
    O(1)). Before ``period`` inputs the value is the mean of the inputs so far.
    """

    __slots__ = ("_buf", "_i", "_sum", "period")

    def __init__(self, period: int, *, price_type: PriceType = PriceType.MID) -> None:
        super().__init__(price_type)
        self.period = check_period(period)
        self._buf: list[float] = []
        self._i = 0
        self._sum = 0.0

    def update(self, value: float) -> None:
        """Feed one value."""
        buf = self._buf
        period = self.period
        if self.count < period:
            buf.append(value)
            self._sum += value
            self.count += 1
            self.value = self._sum / self.count
            if self.count == period:
                self.initialized = True
                self._sum = math.fsum(buf)
            return
        i = self._i
        self._sum += value - buf[i]
        buf[i] = value
        i += 1
        if i == period:
            i = 0
            self._sum = math.fsum(buf)
        self._i = i
        self.count += 1
        self.value = self._sum / period

    def reset(self) -> None:
        """Forget every input."""
        super().reset()
        self._buf = []
        self._i = 0
        self._sum = 0.0
