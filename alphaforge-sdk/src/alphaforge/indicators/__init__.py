"""Incremental technical indicators (O(1) per update): EMA, SMA, RSI, ATR, Bollinger Bands."""

from alphaforge.indicators.averages import EMA, SMA
from alphaforge.indicators.base import Indicator
from alphaforge.indicators.momentum import RSI
from alphaforge.indicators.volatility import ATR, BollingerBands

__all__ = ["ATR", "EMA", "RSI", "SMA", "BollingerBands", "Indicator"]
