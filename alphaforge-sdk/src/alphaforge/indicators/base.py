"""The :class:`Indicator` base class and price extraction helpers.

Indicators are incremental and O(1) per input. They work in ``float`` (indicator values are
signals, not money). Every indicator has

- ``update(...)`` -- feed one input (a price, or high/low/close for ATR);
- ``handle_quote(quote)``, ``handle_trade(trade)``, ``handle_bar(bar)`` -- feed market data
  (quotes use the indicator's ``price_type``: BID, ASK or MID; bars their close);
- ``value`` -- the current value (``0.0`` before any input), ``count`` -- inputs seen,
  ``initialized`` -- whether ``count`` reached the warm-up period, ``reset()``.

Register an indicator with an actor (``register_indicator_for_quotes`` etc.) to have it
updated by the message bus before the actor's own handler runs.
"""

from __future__ import annotations

from typing import Final

from alphaforge.errors import InvalidValue
from alphaforge.model.data import Bar, QuoteTick, TradeTick
from alphaforge.model.enums import PriceType
from alphaforge.model.values import Price

__all__ = ["Indicator", "bar_close", "check_period", "price_to_float", "quote_price"]

_POW10: Final[tuple[int, ...]] = tuple(10**i for i in range(19))


def check_period(period: object, field: str = "period") -> int:
    """Return ``period`` if it is a positive int, else raise :class:`InvalidValue`."""
    if type(period) is not int or period <= 0:
        raise InvalidValue(field, period, "must be a positive int")
    return period


def price_to_float(price: Price) -> float:
    """The correctly rounded float value of a price."""
    return price.raw / _POW10[price.precision]


def quote_price(quote: QuoteTick, price_type: PriceType) -> float:
    """The bid, ask or mid of a quote as a float (from the quote's raw integers)."""
    if price_type == PriceType.MID:
        return quote.mid_float
    if price_type == PriceType.BID:
        return quote.bid_float
    return quote.ask_float


def bar_close(bar: Bar) -> float:
    """A bar's close as a float."""
    close = bar.close
    return close.raw / _POW10[close.precision]


def _check_price_type(price_type: object) -> PriceType:
    if type(price_type) is not PriceType or price_type == PriceType.LAST:
        raise InvalidValue("price_type", price_type, "must be PriceType.BID, ASK or MID")
    return price_type


class Indicator:
    """Base class of single-input indicators (subclasses implement :meth:`update`).

    Parameters
    ----------
    price_type
        Which quote price :meth:`handle_quote` feeds (BID, ASK or MID).
    """

    __slots__ = ("count", "initialized", "price_type", "value")

    def __init__(self, price_type: PriceType = PriceType.MID) -> None:
        self.price_type = _check_price_type(price_type)
        self.value = 0.0
        self.count = 0
        self.initialized = False

    @property
    def name(self) -> str:
        """The class name."""
        return type(self).__name__

    def update(self, value: float) -> None:
        """Feed one input value."""
        raise NotImplementedError

    def handle_quote(self, quote: QuoteTick) -> None:
        """Feed a quote (its ``price_type`` price)."""
        self.update(quote_price(quote, self.price_type))

    def handle_trade(self, trade: TradeTick) -> None:
        """Feed a trade price."""
        self.update(trade.price_float)

    def handle_bar(self, bar: Bar) -> None:
        """Feed a bar's close."""
        close = bar.close
        self.update(close.raw / _POW10[close.precision])

    def reset(self) -> None:
        """Forget every input."""
        self.value = 0.0
        self.count = 0
        self.initialized = False

    def __repr__(self) -> str:
        return (
            f"{self.name}(value={self.value!r}, count={self.count}, initialized={self.initialized})"
        )
