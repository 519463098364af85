"""A seeded, realistic synthetic market: the embedded default data of the backtest.

:func:`generate_market` produces, for one instrument, quotes, the trades they imply and an L2
order book (as book deltas) consistent with the quotes. Everything is vectorized numpy except a
loop over *minutes* for the GARCH recursion; the same seed and parameters give byte-identical
arrays.

The model
---------
1. **Event times.** Quote updates arrive as a Poisson process whose rate follows an intraday
   U-shape over the UTC day, ``rate(u) ∝ 1 + a (2u - 1)^2`` (``u`` = fraction of the day,
   ``a`` = :attr:`SyntheticConfig.intraday_amplitude`), normalized so the daily mean is
   :attr:`~SyntheticConfig.quote_rate` per second. Times come from a time change of unit
   exponential gaps (exact, vectorized).
2. **Volatility clustering.** Per-minute log returns ``R_m = sigma_m Z_m`` with ``Z_m``
   standardized Student-t (fat tails, :attr:`~SyntheticConfig.tail_dof` degrees of freedom) and
   a GARCH(1,1) variance ``h_{m+1} = omega + alpha h_m Z_m^2 + beta h_m`` whose unconditional
   level matches :attr:`~SyntheticConfig.daily_volatility`; ``sigma_m^2 = h_m`` times the
   intraday profile (busier = more volatile).
3. **Ticks inside a minute.** The minute's return is spread over its quote events as a
   Student-t random bridge: the path hits ``R_m`` exactly at the end of the minute and wiggles
   with fat-tailed increments in between. The latent mid is ``P0 * exp(X)``.
4. **Spread.** A regime process in ticks: with probability
   :attr:`~SyntheticConfig.spread_change_prob` per event a new spread
   ``1 + floor(Exp * spread_scale * sigma_m / sigma_base)`` is drawn, so spreads widen with
   volatility. Best bid = ``floor(mid - spread / 2)`` ticks, best ask = bid + spread.
5. **Queues at the top.** Each side's top size is a log-normal random walk (adds/cancels)
   restarted with a fresh size whenever that side's price changes; every event changes one
   side's size or a price.
6. **Trades.** When a side's best level is removed (bid moves down / ask moves up) it was
   consumed by an aggressor with probability :attr:`~SyntheticConfig.trade_on_level_move_prob`
   (one print of the whole level at the old price); a size decrease at an unchanged price is a
   partial fill with probability :attr:`~SyntheticConfig.trade_on_decrease_prob`. Trades share
   the quote's timestamp and precede it.
7. **L2 book.** :attr:`~SyntheticConfig.book_levels` levels per side, one per tick from the
   top. A move of the top adds the new levels and deletes those that fall out of the window
   (or deletes consumed levels and refills the deep end); the top level carries the quote's
   size; random deep-level updates model queue activity deeper in the book. Each quote event
   is one atomic batch (``F_LAST`` on its last delta; deletes, then updates, then adds, so the
   book is never crossed mid-batch); ``sequence`` is the event number; the first batch is a
   snapshot (CLEAR + ADDs, ``F_SNAPSHOT``). After every batch the book's best bid/ask and sizes
   equal the quote's.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from alphaforge.data.arrays import MarketArray
from alphaforge.data.catalog import ParquetDataCatalog, WriteMode, WriteResult
from alphaforge.data.schemas import DataType, numpy_dtype
from alphaforge.errors import InvalidValue
from alphaforge.model.data import F_LAST, F_SNAPSHOT
from alphaforge.model.enums import AggressorSide, BookAction, OrderSide
from alphaforge.model.identifiers import InstrumentId, Symbol
from alphaforge.model.instruments import CurrencyPair, Instrument
from alphaforge.model.values import BTC, USDT, Money, Price, Quantity

__all__ = [
    "DEFAULT_START_NS",
    "MarketData",
    "SyntheticConfig",
    "default_instrument",
    "generate_market",
    "write_to_catalog",
]

NS_PER_SECOND: Final = 10**9
NS_PER_DAY: Final = 86_400 * NS_PER_SECOND
DEFAULT_START_NS: Final = 1_704_067_200 * NS_PER_SECOND
"""2024-01-01T00:00:00Z."""
_MINUTES_PER_DAY: Final = 1440


def default_instrument() -> CurrencyPair:
    """``BTCUSDT.SIM``: a spot pair around 50,000 USDT, tick 0.01, lot 0.001.

    Fees 2 bp maker / 4 bp taker, minimum size 0.001, minimum notional 5 USDT. The examples,
    benchmarks and the default backtest share it.
    """
    return CurrencyPair(
        id=InstrumentId.from_str("BTCUSDT.SIM"),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        price_precision=2,
        size_precision=3,
        tick_size=Price("0.01"),
        lot_size=Quantity("0.001"),
        min_quantity=Quantity("0.001"),
        max_quantity=Quantity("1000.000"),
        min_notional=Money("5", USDT),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0004"),
    )


def _positive(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise InvalidValue(attribute.name, value, "must be a positive number")


def _probability(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise InvalidValue(attribute.name, value, "must be a number in [0, 1]")


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
        raise InvalidValue(attribute.name, value, "must be a non-negative number")


@attrs.frozen(kw_only=True, slots=True)
class SyntheticConfig:
    """Parameters of the synthetic market (see the module docstring for the model).

    The defaults describe a liquid, fairly quiet market: at 20 quote updates per second most
    updates change sizes rather than prices and an update moves the price by a tick or two, so
    a dense 20-level book costs a few deltas per quote. The number of book deltas grows
    roughly with ``daily_volatility * sqrt(quote_rate)``.

    Parameters
    ----------
    initial_price
        Starting mid price (text, exact).
    quote_rate
        Mean quote updates per second over a day.
    intraday_amplitude
        U-shape strength ``a``: the rate at the day's edges is ``1 + a`` times the midday rate.
    daily_volatility
        Unconditional standard deviation of daily log returns.
    garch_alpha, garch_beta
        GARCH(1,1) reaction and persistence per minute (``alpha + beta < 1``).
    tail_dof
        Student-t degrees of freedom of the minute shocks (``> 2``; smaller = fatter tails).
    tick_dof
        Student-t degrees of freedom of the within-minute increments (``> 2``).
    spread_scale
        Mean extra spread (ticks) at average volatility.
    spread_change_prob
        Probability per event that the spread regime changes.
    size_mean
        Mean top-of-book size in base units.
    size_dispersion
        Log-normal sigma of a fresh level size.
    size_step
        Log-size sigma of one add/cancel at the top.
    trade_on_level_move_prob
        Probability that a removed best level was consumed by a trade.
    trade_on_decrease_prob
        Probability that a size decrease at an unchanged best price was a (partial) fill.
    book_levels
        Levels per side of the L2 book (``>= 1``).
    deep_update_prob
        Probability per event of an update at a random level below the top.
    """

    initial_price: str = "50000.00"
    quote_rate: float = attrs.field(default=20.0, validator=_positive)
    intraday_amplitude: float = attrs.field(default=2.0, validator=_non_negative)
    daily_volatility: float = attrs.field(default=0.0003, validator=_positive)
    garch_alpha: float = attrs.field(default=0.05, validator=_probability)
    garch_beta: float = attrs.field(default=0.93, validator=_probability)
    tail_dof: float = attrs.field(default=4.5, validator=_positive)
    tick_dof: float = attrs.field(default=4.0, validator=_positive)
    spread_scale: float = attrs.field(default=0.6, validator=_non_negative)
    spread_change_prob: float = attrs.field(default=0.05, validator=_probability)
    size_mean: float = attrs.field(default=1.5, validator=_positive)
    size_dispersion: float = attrs.field(default=0.8, validator=_non_negative)
    size_step: float = attrs.field(default=0.35, validator=_non_negative)
    trade_on_level_move_prob: float = attrs.field(default=0.6, validator=_probability)
    trade_on_decrease_prob: float = attrs.field(default=0.5, validator=_probability)
    book_levels: int = 20
    deep_update_prob: float = attrs.field(default=0.3, validator=_probability)

    def __attrs_post_init__(self) -> None:
        price = Price(self.initial_price)
        if price.raw <= 0:
            raise InvalidValue("initial_price", self.initial_price, "must be positive")
        if self.garch_alpha + self.garch_beta >= 1:
            raise InvalidValue(
                "garch_beta", self.garch_beta, "garch_alpha + garch_beta must be < 1"
            )
        for name in ("tail_dof", "tick_dof"):
            if getattr(self, name) <= 2:
                raise InvalidValue(name, getattr(self, name), "must be > 2 (finite variance)")
        if type(self.book_levels) is not int or self.book_levels < 1:
            raise InvalidValue("book_levels", self.book_levels, "must be an int >= 1")


@attrs.frozen(slots=True, eq=False)
class MarketData:
    """One generated market.

    Attributes
    ----------
    instrument
        The instrument (``default_instrument()`` unless another was given).
    quotes, trades
        :class:`MarketArray` streams.
    book_deltas
        The L2 book as deltas (``None`` when generated with ``book=False``).
    seed, config
        What produced it.
    """

    instrument: Instrument
    quotes: MarketArray
    trades: MarketArray
    book_deltas: MarketArray | None
    seed: int
    config: SyntheticConfig

    def equals(self, other: object) -> bool:
        """Same instrument, parameters and byte-identical arrays."""
        if not isinstance(other, MarketData):
            return False
        deltas_same = (self.book_deltas is None and other.book_deltas is None) or (
            self.book_deltas is not None and self.book_deltas.equals(other.book_deltas)
        )
        return (
            self.instrument == other.instrument
            and self.seed == other.seed
            and self.config == other.config
            and self.quotes.equals(other.quotes)
            and self.trades.equals(other.trades)
            and deltas_same
        )


def _standard_t(rng: np.random.Generator, dof: float, n: int) -> npt.NDArray[np.float64]:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(dof, n) * math.sqrt((dof - 2.0) / dof)


def _profile(u: npt.NDArray[np.float64], a: float) -> npt.NDArray[np.float64]:
    """Intraday activity multiplier with mean 1 over a day."""
    out: npt.NDArray[np.float64] = (1.0 + a * (2.0 * u - 1.0) ** 2) / (1.0 + a / 3.0)
    return out


def _event_times(
    rng: np.random.Generator,
    start_ns: int,
    n_quotes: int | None,
    duration_ns: int | None,
    config: SyntheticConfig,
) -> npt.NDArray[np.uint64]:
    """Event times of the U-shaped Poisson process by a time change of unit exponentials."""
    a = config.intraday_amplitude
    day0 = start_ns // NS_PER_DAY
    base_ns = day0 * NS_PER_DAY
    x0 = (start_ns - base_ns) / NS_PER_DAY  # days since the start's midnight
    per_day = config.quote_rate * 86_400.0
    grid = np.linspace(0.0, 1.0, 4097)
    # cumulative intensity within a day, normalized to 1 at the end of the day
    cum = (grid + a * ((2.0 * grid - 1.0) ** 3 + 1.0) / 6.0) / (1.0 + a / 3.0)

    def lam(x: float) -> float:
        day = math.floor(x)
        return per_day * (day + float(np.interp(x - day, grid, cum)))

    def lam_inv(s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        days = np.floor(s / per_day)
        frac = s / per_day - days
        return days + np.interp(frac, cum, grid)

    s0 = lam(x0)
    if n_quotes is not None:
        gaps = rng.standard_exponential(n_quotes)
    else:
        assert duration_ns is not None
        s_end = lam(x0 + duration_ns / NS_PER_DAY)
        expected = s_end - s0
        count = int(expected + 6.0 * math.sqrt(expected) + 16)
        gaps = rng.standard_exponential(count)
        total = np.cumsum(gaps)
        gaps = gaps[: int(np.searchsorted(total, expected, side="right"))]
    s = s0 + np.cumsum(gaps)
    x = lam_inv(s)
    offsets = np.rint(x * NS_PER_DAY).astype(np.int64)
    offsets = np.maximum.accumulate(np.maximum(offsets, start_ns - base_ns))
    return (offsets + base_ns).astype(np.uint64)


def _segment_cumsum(
    values: npt.NDArray[np.float64], starts: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Cumulative sum restarting (inclusive) at every index where ``starts`` is true."""
    total = np.cumsum(values)
    seg = np.cumsum(starts) - 1
    start_idx = np.flatnonzero(starts)
    before = total[start_idx] - values[start_idx]
    out: npt.NDArray[np.float64] = total - before[seg]
    return out


def generate_market(
    seed: int,
    start_ns: int = DEFAULT_START_NS,
    *,
    n_quotes: int | None = None,
    duration_ns: int | None = None,
    instrument: Instrument | None = None,
    config: SyntheticConfig | None = None,
    book: bool = True,
) -> MarketData:
    """Generate a synthetic market (see the module docstring for the model).

    Parameters
    ----------
    seed
        Seed of every random draw: the same seed and arguments give byte-identical output.
    start_ns
        Time of the first possible event (nanoseconds since the epoch, UTC).
    n_quotes
        Number of quote updates to generate, or
    duration_ns
        the span to fill (the count then follows the intensity); exactly one of the two.
    instrument
        Price and size grid (default :func:`default_instrument`).
    config
        Model parameters (default :class:`SyntheticConfig()`).
    book
        Also generate the L2 book deltas.

    Returns
    -------
    MarketData

    Raises
    ------
    InvalidValue
        Bad arguments (both or neither of ``n_quotes``/``duration_ns``, a negative count...).
    """
    if type(seed) is not int or seed < 0:
        raise InvalidValue("seed", seed, "must be a non-negative int")
    if type(start_ns) is not int or start_ns < 0:
        raise InvalidValue("start_ns", start_ns, "must be a non-negative int of nanoseconds")
    if (n_quotes is None) == (duration_ns is None):
        raise InvalidValue("n_quotes", n_quotes, "give exactly one of n_quotes and duration_ns")
    if n_quotes is not None and (type(n_quotes) is not int or n_quotes < 1):
        raise InvalidValue("n_quotes", n_quotes, "must be a positive int")
    if duration_ns is not None and (type(duration_ns) is not int or duration_ns <= 0):
        raise InvalidValue("duration_ns", duration_ns, "must be a positive int")
    inst = instrument if instrument is not None else default_instrument()
    cfg = config if config is not None else SyntheticConfig()
    streams = np.random.SeedSequence(seed).spawn(8)
    rng_time, rng_vol, rng_path, rng_spread, rng_size, rng_trade, rng_book, rng_side = (
        np.random.default_rng(s) for s in streams
    )

    ts = _event_times(rng_time, start_ns, n_quotes, duration_ns, cfg)
    n = len(ts)
    if n == 0:
        raise InvalidValue("duration_ns", duration_ns, "is too short for a single quote")

    # -- volatility: GARCH(1,1) on a minute grid ---------------------------------------------
    minute_ns = np.uint64(60 * NS_PER_SECOND)
    minute = (ts // minute_ns).astype(np.int64) - int(ts[0] // minute_ns)
    n_min = int(minute[-1]) + 1
    sigma_base = cfg.daily_volatility / math.sqrt(_MINUTES_PER_DAY)
    z = _standard_t(rng_vol, cfg.tail_dof, n_min)
    alpha, beta = cfg.garch_alpha, cfg.garch_beta
    omega = sigma_base**2 * (1.0 - alpha - beta)
    h = np.empty(n_min)
    hv = sigma_base**2
    z2 = (z * z).tolist()
    for m in range(n_min):
        h[m] = hv
        hv = omega + (alpha * z2[m] + beta) * hv
    first_minute_ns = int(ts[0]) - int(ts[0]) % (60 * NS_PER_SECOND)
    minute_u = ((first_minute_ns + np.arange(n_min) * 60 * NS_PER_SECOND) % NS_PER_DAY) / (
        NS_PER_DAY
    )
    sigma = np.sqrt(h * _profile(minute_u, cfg.intraday_amplitude))
    minute_ret = sigma * z

    # -- latent log price: a fat-tailed bridge inside each minute ----------------------------
    counts = np.bincount(minute, minlength=n_min)
    w = _standard_t(rng_path, cfg.tick_dof, n)
    starts = np.ones(n, dtype=bool)
    starts[1:] = minute[1:] != minute[:-1]
    w_partial = _segment_cumsum(w, starts)
    k = _segment_cumsum(np.ones(n), starts)  # 1-based index within the minute
    n_m = counts[minute].astype(np.float64)
    w_sum = np.zeros(n_min)
    np.add.at(w_sum, minute, w)
    w_mean = w_sum[minute] / n_m
    ret_before = np.concatenate(([0.0], np.cumsum(minute_ret)))[minute]
    x = ret_before + sigma[minute] * (
        minute_ret[minute] / sigma[minute] * k / n_m + (w_partial - k * w_mean) / np.sqrt(n_m)
    )
    tick = inst.tick_size
    p0 = Price(cfg.initial_price)
    mid_ticks = float(p0.as_decimal() / tick.as_decimal()) * np.exp(x)

    # -- spread regimes widening with volatility ----------------------------------------------
    change = rng_spread.random(n) < cfg.spread_change_prob
    change[0] = True
    seg = np.cumsum(change) - 1
    seg_start = np.flatnonzero(change)
    vol_ratio = sigma[minute[seg_start]] / sigma_base
    draws = rng_spread.standard_exponential(len(seg_start))
    spread = (1 + np.floor(draws * cfg.spread_scale * vol_ratio)).astype(np.int64)[seg]
    bid_t = np.floor(mid_ticks - spread / 2.0).astype(np.int64)
    ask_t = bid_t + spread

    # -- top-of-book sizes: log-normal queues, fresh at every price change --------------------
    lot_raw = inst.lot_size.raw
    lot = float(inst.lot_size.as_decimal())
    chosen_bid = rng_side.random(n) < 0.5
    bid_sizes = _top_sizes(rng_size, bid_t, chosen_bid, cfg, lot)
    ask_sizes = _top_sizes(rng_size, ask_t, ~chosen_bid, cfg, lot)
    bid_size_raw = bid_sizes * lot_raw
    ask_size_raw = ask_sizes * lot_raw

    tick_raw = tick.raw
    quotes = np.zeros(n, dtype=numpy_dtype(DataType.QUOTES))
    quotes["ts_event"] = ts
    quotes["ts_init"] = ts
    quotes["bid_price"] = bid_t * tick_raw
    quotes["ask_price"] = ask_t * tick_raw
    quotes["bid_size"] = bid_size_raw
    quotes["ask_size"] = ask_size_raw
    iid = str(inst.id)
    pp, sp = tick.precision, inst.lot_size.precision
    quote_array = MarketArray(DataType.QUOTES, iid, quotes, pp, sp)

    trades = _trades(rng_trade, quotes, cfg)
    trade_array = MarketArray(DataType.TRADES, iid, trades, pp, sp)

    deltas = None
    if book:
        records = _book(rng_book, ts, bid_t, ask_t, bid_size_raw, ask_size_raw, cfg, inst)
        deltas = MarketArray(DataType.BOOK_DELTAS, iid, records, pp, sp)
    return MarketData(inst, quote_array, trade_array, deltas, seed, cfg)


def _top_sizes(
    rng: np.random.Generator,
    price_t: npt.NDArray[np.int64],
    chosen: npt.NDArray[np.bool_],
    cfg: SyntheticConfig,
    lot: float,
) -> npt.NDArray[np.int64]:
    """Top size (in lots) per event for one side."""
    n = len(price_t)
    new_level = np.ones(n, dtype=bool)
    new_level[1:] = price_t[1:] != price_t[:-1]
    fresh = rng.standard_normal(int(new_level.sum()))
    steps = rng.standard_normal(n) * cfg.size_step * (chosen & ~new_level)
    base = (
        math.log(cfg.size_mean / lot) - cfg.size_dispersion**2 / 2.0 + cfg.size_dispersion * fresh
    )
    seg = np.cumsum(new_level) - 1
    log_size = base[seg] + _segment_cumsum(steps, new_level)
    lots: npt.NDArray[np.int64] = np.maximum(1, np.rint(np.exp(np.minimum(log_size, 40.0)))).astype(
        np.int64
    )
    return lots


def _trades(
    rng: np.random.Generator, quotes: npt.NDArray[Any], cfg: SyntheticConfig
) -> npt.NDArray[Any]:
    """Trades implied by the quote changes (see the module docstring, point 6)."""
    bp, ap = quotes["bid_price"], quotes["ask_price"]
    bs, az = quotes["bid_size"], quotes["ask_size"]
    n = len(quotes)
    u = rng.random((n, 2))
    # bid side: level removed (price down) or decreased at the same price -> SELLER
    bid_gone = np.zeros(n, dtype=bool)
    bid_gone[1:] = bp[1:] < bp[:-1]
    bid_less = np.zeros(n, dtype=bool)
    bid_less[1:] = (bp[1:] == bp[:-1]) & (bs[1:] < bs[:-1])
    ask_gone = np.zeros(n, dtype=bool)
    ask_gone[1:] = ap[1:] > ap[:-1]
    ask_less = np.zeros(n, dtype=bool)
    ask_less[1:] = (ap[1:] == ap[:-1]) & (az[1:] < az[:-1])
    pm, pd = cfg.trade_on_level_move_prob, cfg.trade_on_decrease_prob
    bid_trade = (bid_gone & (u[:, 0] < pm)) | (bid_less & (u[:, 0] < pd))
    ask_trade = (ask_gone & (u[:, 1] < pm)) | (ask_less & (u[:, 1] < pd))
    prev_bs = np.concatenate(([0], bs[:-1]))
    prev_as = np.concatenate(([0], az[:-1]))
    prev_bp = np.concatenate(([0], bp[:-1]))
    prev_ap = np.concatenate(([0], ap[:-1]))
    # interleave: per event the bid-side trade first, then the ask-side trade
    both = np.stack([bid_trade, ask_trade], axis=1).ravel()
    idx = np.flatnonzero(both)
    event = idx // 2
    is_ask = (idx % 2).astype(bool)
    out = np.zeros(len(idx), dtype=numpy_dtype(DataType.TRADES))
    out["ts_event"] = quotes["ts_event"][event]
    out["ts_init"] = quotes["ts_init"][event]
    out["price"] = np.where(is_ask, prev_ap[event], prev_bp[event])
    bid_fill = np.where(bid_gone[event], prev_bs[event], prev_bs[event] - bs[event])
    ask_fill = np.where(ask_gone[event], prev_as[event], prev_as[event] - az[event])
    out["size"] = np.where(is_ask, ask_fill, bid_fill)
    out["aggressor_side"] = np.where(
        is_ask, int(AggressorSide.BUYER), int(AggressorSide.SELLER)
    ).astype(np.uint8)
    out["trade_id"] = np.arange(1, len(idx) + 1).astype("S36")
    return out


def _book(
    rng: np.random.Generator,
    ts: npt.NDArray[np.uint64],
    bid_t: npt.NDArray[np.int64],
    ask_t: npt.NDArray[np.int64],
    bid_size: npt.NDArray[np.int64],
    ask_size: npt.NDArray[np.int64],
    cfg: SyntheticConfig,
    inst: Instrument,
) -> npt.NDArray[Any]:
    """L2 book deltas consistent with the quotes (see the module docstring, point 7)."""
    levels = cfg.book_levels
    n = len(ts)
    tick_raw = inst.tick_size.raw
    lot_raw = inst.lot_size.raw
    lot = float(inst.lot_size.as_decimal())
    dtype = numpy_dtype(DataType.BOOK_DELTAS)

    def deep_sizes(depth: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        mean = cfg.size_mean * (1.0 + depth / 4.0) / lot
        draw = rng.standard_normal(len(depth))
        log_size = np.log(mean) - cfg.size_dispersion**2 / 2.0 + cfg.size_dispersion * draw
        lots = np.maximum(1, np.rint(np.exp(np.minimum(log_size, 40.0)))).astype(np.int64)
        out: npt.NDArray[np.int64] = lots * lot_raw
        return out

    # -- the snapshot at event 0 --------------------------------------------------------------
    snap = np.zeros(1 + 2 * levels, dtype=dtype)
    snap["ts_event"] = ts[0]
    snap["ts_init"] = ts[0]
    snap["action"][0] = int(BookAction.CLEAR)
    depth = np.arange(levels, dtype=np.int64)
    snap["action"][1:] = int(BookAction.ADD)
    snap["side"][1 : 1 + levels] = int(OrderSide.BUY)
    snap["side"][1 + levels :] = int(OrderSide.SELL)
    snap["price"][1 : 1 + levels] = (bid_t[0] - depth) * tick_raw
    snap["price"][1 + levels :] = (ask_t[0] + depth) * tick_raw
    sizes = deep_sizes(np.concatenate((depth, depth)))
    sizes[0], sizes[levels] = bid_size[0], ask_size[0]
    snap["size"][1:] = sizes
    snap["flags"] = F_SNAPSHOT
    snap["flags"][-1] |= F_LAST

    # -- incremental batches for events 1..n-1 -----------------------------------------------
    # categories in batch order: 0 del bid, 1 del ask, 2 upd bid, 3 upd ask, 4 add bid,
    # 5 add ask, 6 deep update
    ev = np.arange(1, n)
    m = len(ev)
    sides = (
        (bid_t, bid_size, -1, int(OrderSide.BUY)),
        (ask_t, ask_size, 1, int(OrderSide.SELL)),
    )
    count = np.zeros((m, 7), dtype=np.int64)
    info = []
    for s, (top, size, sign, _) in enumerate(sides):
        prev, cur = top[:-1], top[1:]
        improve = (cur - prev) * -sign  # > 0: towards the other side
        kk = np.minimum(np.abs(improve), levels)
        moved = improve != 0
        count[:, s] = kk  # deletes
        count[:, 4 + s] = kk  # adds
        upd = (~moved & (size[1:] != size[:-1])) | ((improve < 0) & (-improve < levels))
        count[:, 2 + s] = upd
        info.append((prev, cur, improve, kk, upd))
    deep = rng.random(m) < cfg.deep_update_prob
    deep_side = rng.random(m) < 0.5  # True: bid
    deep_depth = rng.integers(1, max(levels, 2), m) if levels > 1 else np.zeros(m, np.int64)
    if levels == 1:
        deep[:] = False
    count[:, 6] = deep
    flat = count.ravel()
    offsets = np.concatenate(([0], np.cumsum(flat)))[:-1].reshape(m, 7)
    total = int(flat.sum())
    price = np.zeros(total, dtype=np.int64)
    size_out = np.zeros(total, dtype=np.int64)
    action = np.zeros(total, dtype=np.uint8)
    side_out = np.zeros(total, dtype=np.uint8)

    def expand(c: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[Any]]:
        cnt = count[:, c]
        rows = np.repeat(np.arange(m), cnt)
        first = np.concatenate(([0], np.cumsum(cnt)))[:-1]
        j = np.arange(len(rows)) - np.repeat(first, cnt)
        return rows, j, offsets[rows, c] + j

    for s, (_, size, sign, side_code) in enumerate(sides):
        prev, cur, improve, kk, _ = info[s]
        # deletes: improving -> old deep levels L-k..L-1; retreating -> old levels 0..k-1
        rows, j, dest = expand(s)
        old_depth = np.where(improve[rows] > 0, levels - kk[rows] + j, j)
        price[dest] = (prev[rows] + sign * old_depth) * tick_raw
        action[dest] = int(BookAction.DELETE)
        side_out[dest] = side_code
        # updates of the top level
        rows, j, dest = expand(2 + s)
        price[dest] = cur[rows] * tick_raw
        size_out[dest] = size[1:][rows]
        action[dest] = int(BookAction.UPDATE)
        side_out[dest] = side_code
        # adds: improving -> new levels 0..k-1; retreating -> new deep levels L-k..L-1
        rows, j, dest = expand(4 + s)
        new_depth = np.where(improve[rows] > 0, j, levels - kk[rows] + j)
        price[dest] = (cur[rows] + sign * new_depth) * tick_raw
        add_sizes = deep_sizes(new_depth)
        top_mask = new_depth == 0
        add_sizes[top_mask] = size[1:][rows[top_mask]]
        size_out[dest] = add_sizes
        action[dest] = int(BookAction.ADD)
        side_out[dest] = side_code
    rows, _, dest = expand(6)
    is_bid = deep_side[rows]
    d = deep_depth[rows]
    price[dest] = np.where(is_bid, bid_t[1:][rows] - d, ask_t[1:][rows] + d) * tick_raw
    size_out[dest] = deep_sizes(d)
    action[dest] = int(BookAction.UPDATE)
    side_out[dest] = np.where(is_bid, int(OrderSide.BUY), int(OrderSide.SELL))
    # per-delta event number, timestamps, sequence and F_LAST
    per_event = count.sum(axis=1)
    event_of = np.repeat(ev, per_event)
    flags = np.zeros(total, dtype=np.uint8)
    flags[np.cumsum(per_event)[per_event > 0] - 1] = F_LAST
    result = np.zeros(len(snap) + total, dtype=dtype)
    result[: len(snap)] = snap
    out = result[len(snap) :]
    event_ts = ts[event_of]
    out["ts_event"] = event_ts
    out["ts_init"] = event_ts
    out["sequence"] = event_of
    out["price"] = price
    out["size"] = size_out
    out["action"] = action
    out["side"] = side_out
    out["flags"] = flags
    return result


def write_to_catalog(
    catalog: ParquetDataCatalog, market: MarketData, *, mode: WriteMode = "append"
) -> dict[str, WriteResult]:
    """Store a generated market: the instrument, quotes, trades and (if any) book deltas.

    Each stream is written atomically (see :class:`ParquetDataCatalog`).

    Returns
    -------
    dict
        ``{"quotes": ..., "trades": ..., "book_deltas": ...}`` write results.
    """
    catalog.write_instruments([market.instrument])
    results = {
        "quotes": catalog.write(market.quotes, mode=mode),
        "trades": catalog.write(market.trades, mode=mode),
    }
    if market.book_deltas is not None:
        results["book_deltas"] = catalog.write(market.book_deltas, mode=mode)
    return results
