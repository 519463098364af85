"""Example strategies (registered as built-in ``strategy`` components).

- :class:`EmaCross` — EMA crossover on quote mids; market orders; always in the market after
  the first cross (flips the position).
- :class:`EmaCrossBars` — the same rules on bars (e.g. 1-minute mid bars built internally).
- :class:`MarketMaker` — quotes a post-only bid and ask around the mid, skewed by inventory,
  re-quoting when the mid moves; flattens on stop.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from alphaforge.errors import InvalidValue
from alphaforge.indicators import EMA
from alphaforge.model.data import Bar, BarType, QuoteTick
from alphaforge.model.enums import OrderSide, TimeInForce
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.orders import Order
from alphaforge.model.values import Price, Quantity
from alphaforge.trading.config import StrategyConfig
from alphaforge.trading.strategy import Strategy


@attrs.frozen(kw_only=True)
class EmaCrossConfig(StrategyConfig):
    """Parameters of :class:`EmaCross` and :class:`EmaCrossBars`."""

    instrument_id: str = "BTCUSDT.SIM"
    bar_type: str = "BTCUSDT.SIM-1-MINUTE-MID-INTERNAL"
    fast: int = 100
    slow: int = 400
    trade_size: Decimal = Decimal("0.010")


class _Crossing(Strategy):
    """Shared rules: long when fast > slow, short when fast < slow, market orders."""

    config: EmaCrossConfig

    def __init__(self, config: EmaCrossConfig | None = None) -> None:
        super().__init__(config or EmaCrossConfig())
        self.instrument = InstrumentId.from_str(self.config.instrument_id)
        self.fast, self.slow = EMA(self.config.fast), EMA(self.config.slow)
        self.crossings = 0
        self._side = 0  # +1 long, -1 short, 0 flat (the side last ordered)
        self._size = Quantity(str(self.config.trade_size))

    def _decide(self) -> None:
        fast, slow = self.fast.value, self.slow.value
        want = 1 if fast > slow else -1 if fast < slow else self._side
        if want == self._side or not self.slow.initialized:
            return
        if self._side:
            self.crossings += 1
        # Flip: close the old side and open the new one in one order.
        qty = (
            self._size
            if self._side == 0
            else Quantity.from_raw(2 * self._size.raw, self._size.precision)
        )
        side = OrderSide.BUY if want > 0 else OrderSide.SELL
        self.submit_order(self.order_factory.market(self.instrument, side, qty))
        self._side = want

    def on_stop(self) -> None:
        self.close_all_positions(self.instrument)


class EmaCross(_Crossing):
    """EMA crossover on quote mids (``fast`` / ``slow`` in ticks)."""

    config_class = EmaCrossConfig

    def on_start(self) -> None:
        self.subscribe_quotes(self.instrument)

    def on_quote(self, quote: QuoteTick) -> None:
        mid = quote.mid_float
        self.fast.update(mid)
        self.slow.update(mid)
        if self.slow.initialized:
            self._decide()


class EmaCrossBars(_Crossing):
    """EMA crossover on bar closes (``fast`` / ``slow`` in bars)."""

    config_class = EmaCrossConfig

    def on_start(self) -> None:
        self.subscribe_bars(BarType.from_str(self.config.bar_type))

    def on_bar(self, bar: Bar) -> None:
        close = float(bar.close)
        self.fast.update(close)
        self.slow.update(close)
        if self.slow.initialized:
            self._decide()


@attrs.frozen(kw_only=True)
class MarketMakerConfig(StrategyConfig):
    """Parameters of :class:`MarketMaker`."""

    instrument_id: str = "BTCUSDT.SIM"
    half_spread_ticks: int = 5
    requote_ticks: int = 2
    order_size: Decimal = Decimal("0.010")
    max_inventory: Decimal = Decimal("0.050")
    skew_ticks_per_unit: int = 2


class MarketMaker(Strategy):
    """A simple L1 market maker: post-only quotes around the mid, skewed by inventory."""

    config: MarketMakerConfig
    config_class = MarketMakerConfig

    def __init__(self, config: MarketMakerConfig | None = None) -> None:
        super().__init__(config or MarketMakerConfig())
        self.instrument = InstrumentId.from_str(self.config.instrument_id)
        self._size = Quantity(str(self.config.order_size))
        self._quoted_mid: int | None = None
        self._orders: list[Order] = []
        self._tick = 0

    def on_start(self) -> None:
        instrument = self.cache.instrument(self.instrument)
        if instrument is None:
            raise InvalidValue("instrument_id", self.config.instrument_id, "not in the cache")
        self._tick = instrument.tick_size.raw  # type: ignore[attr-defined]
        self.subscribe_quotes(self.instrument)

    def on_quote(self, quote: QuoteTick) -> None:
        mid2 = quote.bid_raw + quote.ask_raw  # twice the mid, raw: stays exact
        tick = self._tick
        if (
            self._quoted_mid is not None
            and abs(mid2 - self._quoted_mid) < 2 * tick * self.config.requote_ticks
        ):
            return
        for order in self._orders:
            if order.is_open and not order.is_inflight:
                self.cancel_order(order)
        self._orders = []
        self._quoted_mid = mid2
        inventory = self.portfolio.net_position(self.instrument)
        units = int(inventory / self.config.order_size) if self.config.order_size else 0
        skew = units * self.config.skew_ticks_per_unit * tick
        half = self.config.half_spread_ticks * tick
        centre = (mid2 // 2) // tick * tick - skew
        pp = quote.price_precision
        if inventory < self.config.max_inventory:
            self._quote(OrderSide.BUY, Price.from_raw(centre - half, pp))
        if inventory > -self.config.max_inventory:
            self._quote(OrderSide.SELL, Price.from_raw(centre + half, pp))

    def _quote(self, side: OrderSide, price: Price) -> None:
        order = self.order_factory.limit(self.instrument, side, self._size, price,
                                         time_in_force=TimeInForce.GTC, post_only=True)  # fmt: skip
        self._orders.append(order)
        self.submit_order(order)

    def on_stop(self) -> None:
        self.cancel_all_orders(self.instrument)
        self.close_all_positions(self.instrument)
