"""Momentum: :class:`RSI` (Wilder)."""

from __future__ import annotations

from alphaforge.indicators.base import Indicator, check_period
from alphaforge.model.enums import PriceType

__all__ = ["RSI"]


class RSI(Indicator):
    """Relative strength index with Wilder smoothing, in ``0..100``.

    For each change ``d = x_t - x_{t-1}``: gain ``max(d, 0)``, loss ``max(-d, 0)``. The first
    average gain/loss is the simple mean of the first ``period`` changes; afterwards
    ``avg = (avg * (period - 1) + new) / period``. ``RSI = 100 - 100 / (1 + avg_gain /
    avg_loss)``; ``100`` when ``avg_loss == 0 < avg_gain``; ``50`` when both are zero.
    ``initialized`` after ``period`` changes (``period + 1`` inputs); before that the value uses
    the mean of the changes so far.
    """

    __slots__ = ("_avg_gain", "_avg_loss", "_changes", "_prev", "period")

    def __init__(self, period: int = 14, *, price_type: PriceType = PriceType.MID) -> None:
        super().__init__(price_type)
        self.period = check_period(period)
        self._prev = 0.0
        self._changes = 0
        self._avg_gain = 0.0
        self._avg_loss = 0.0

    @property
    def avg_gain(self) -> float:
        """Current average gain."""
        return self._avg_gain

    @property
    def avg_loss(self) -> float:
        """Current average loss."""
        return self._avg_loss

    def update(self, value: float) -> None:
        """Feed one value."""
        if self.count == 0:
            self._prev = value
            self.count = 1
            return
        change = value - self._prev
        self._prev = value
        self.count += 1
        gain = change if change > 0.0 else 0.0
        loss = -change if change < 0.0 else 0.0
        period = self.period
        n = self._changes
        if n < period:
            n += 1
            self._avg_gain += (gain - self._avg_gain) / n
            self._avg_loss += (loss - self._avg_loss) / n
            self._changes = n
            if n == period:
                self.initialized = True
        else:
            self._avg_gain = (self._avg_gain * (period - 1) + gain) / period
            self._avg_loss = (self._avg_loss * (period - 1) + loss) / period
        ag, al = self._avg_gain, self._avg_loss
        if al == 0.0:
            self.value = 100.0 if ag > 0.0 else 50.0
        else:
            self.value = 100.0 - 100.0 / (1.0 + ag / al)

    def reset(self) -> None:
        """Forget every input."""
        super().reset()
        self._prev = 0.0
        self._changes = 0
        self._avg_gain = 0.0
        self._avg_loss = 0.0
