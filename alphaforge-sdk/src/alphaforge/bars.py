"""Bar aggregation in the native core, fed in batches.

Samples and bars cross the C ABI as numpy structured arrays (``SAMPLE_DTYPE``, ``BAR_DTYPE``,
derived from the header), zero-copy. The aggregator is streaming: cutting the input into
batches never changes the bars, so a backtest can aggregate a whole day in one call and a live
node can feed every tick.

::

    agg = BarAggregator(BarType.from_str("BTCUSDT.SIM-1-MINUTE-MID-INTERNAL"),
                        price_precision=2, size_precision=3)
    samples, price_precision, size_precision = samples_from_quotes(quotes, PriceType.MID, 2, 3)
    bars = agg.update(samples)          # numpy array of closed bars (raw values)

Time bars close when a sample at or after the interval end arrives, or on :meth:`flush`; their
``ts_close`` is the interval end and intervals without data produce no bar. Volume and value
bars split an overshooting sample so each closed bar holds exactly its threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alphaforge import _native
from alphaforge.errors import InvalidValue
from alphaforge.model.data import BAR_UNIT_NS, Bar, BarType
from alphaforge.model.enums import BarAggregation, PriceType
from alphaforge.model.values import Price, Quantity

_ffi, _lib = _native.ffi, _native.lib

SAMPLE_DTYPE = _native.numpy_dtype("AfPriceSample")
BAR_DTYPE = _native.numpy_dtype("AfBar")


def native_kind_and_step(
    aggregation: BarAggregation, step: int, price_precision: int, size_precision: int
) -> tuple[int, int]:
    """The ``AF_BAR_*`` kind and raw step for a bar specification."""
    if aggregation in BAR_UNIT_NS:
        return _lib.AF_BAR_TIME, step * BAR_UNIT_NS[aggregation]
    if aggregation is BarAggregation.TICK:
        return _lib.AF_BAR_TICK, step
    if aggregation is BarAggregation.VOLUME:
        return _lib.AF_BAR_VOLUME, step * 10**size_precision
    return _lib.AF_BAR_VALUE, step * 10 ** (price_precision + size_precision)


class BarAggregator:
    """A native streaming aggregator for one :class:`~alphaforge.model.BarType`.

    Parameters
    ----------
    bar_type
        What to aggregate; its specification gives the kind and step.
    price_precision, size_precision
        Precisions of the samples' raw prices and sizes (and so of the bars).
    """

    __slots__ = ("_handle", "bar_type", "price_precision", "size_precision")

    def __init__(self, bar_type: BarType, *, price_precision: int, size_precision: int) -> None:
        precisions = {"price_precision": price_precision, "size_precision": size_precision}
        for field, value in precisions.items():
            if type(value) is not int or not 0 <= value <= 18:
                raise InvalidValue(field, value, "must be an int in 0..=18")
        spec = bar_type.spec
        kind, step = native_kind_and_step(
            spec.aggregation, spec.step, price_precision, size_precision
        )
        if step >= 2**63:
            raise InvalidValue("bar_type", str(bar_type), "step overflows int64 at this precision")
        out = _ffi.new("AfBarAggregator **")
        _native.check(_lib.af_bars_new(kind, step, out))
        self._handle = _ffi.gc(out[0], _lib.af_bars_free)
        self.bar_type = bar_type
        self.price_precision = price_precision
        self.size_precision = size_precision

    def _collect(self, first: Any, first_written: int) -> np.ndarray[Any, Any]:
        """``first`` holds ``first_written`` bars; append whatever is still queued."""
        pending = _ffi.new("size_t *")
        _native.check(_lib.af_bars_pending(self._handle, pending))
        if pending[0] == 0:
            return first[:first_written]  # type: ignore[no-any-return]
        rest = np.empty(pending[0], dtype=BAR_DTYPE)
        written = _ffi.new("size_t *")
        _native.check(
            _lib.af_bars_drain(
                self._handle, _native.batch_pointer(rest, "AfBar"), len(rest), written
            )
        )
        return np.concatenate([first[:first_written], rest[: written[0]]])

    def update(self, samples: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Aggregate a batch of samples; returns the bars it closed (``BAR_DTYPE``).

        All or nothing: a sample that goes back in time, a negative size or (value bars) a
        non-positive price fails the call with :class:`InvalidValue` naming its index, and
        the aggregator is unchanged.
        """
        source = _native.batch_pointer(samples, "AfPriceSample", "samples")
        out = np.empty(max(16, len(samples) // 8), dtype=BAR_DTYPE)
        written = _ffi.new("size_t *")
        _native.check(
            _lib.af_bars_update(
                self._handle, source, len(samples),
                _native.batch_pointer(out, "AfBar"), len(out), written,
            )
        )  # fmt: skip
        return self._collect(out, written[0])

    def flush(self, ts_ns: int) -> np.ndarray[Any, Any]:
        """Time bars: close the bar whose interval ended at or before ``ts_ns``."""
        out = np.empty(1, dtype=BAR_DTYPE)
        written = _ffi.new("size_t *")
        pointer = _native.batch_pointer(out, "AfBar")
        _native.check(_lib.af_bars_flush(self._handle, ts_ns, pointer, 1, written))
        return self._collect(out, written[0])

    def partial(self) -> np.void | None:
        """The bar being built, as one ``BAR_DTYPE`` record, or ``None``."""
        out = np.empty(1, dtype=BAR_DTYPE)
        has = _ffi.new("int32_t *")
        _native.check(_lib.af_bars_partial(self._handle, _native.batch_pointer(out, "AfBar"), has))
        return out[0] if has[0] else None

    def to_bars(self, records: np.ndarray[Any, Any], ts_init_delay_ns: int = 0) -> list[Bar]:
        """Model :class:`~alphaforge.model.Bar` objects for closed bars (the cold path)."""
        pp, sp = self.price_precision, self.size_precision
        return [
            Bar(
                bar_type=self.bar_type,
                open=Price.from_raw(int(r["open"]), pp),
                high=Price.from_raw(int(r["high"]), pp),
                low=Price.from_raw(int(r["low"]), pp),
                close=Price.from_raw(int(r["close"]), pp),
                volume=Quantity.from_raw(int(r["volume"]), sp),
                ts_event=int(r["ts_close"]),
                ts_init=int(r["ts_close"]) + ts_init_delay_ns,
            )
            for r in records
        ]


def samples_from_trades(
    ts: np.ndarray[Any, Any], price: np.ndarray[Any, Any], size: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Samples from trade columns (raw prices and sizes)."""
    out = np.empty(len(ts), dtype=SAMPLE_DTYPE)
    out["ts"], out["price"], out["size"] = ts, price, size
    return out


def samples_from_quotes(
    ts: np.ndarray[Any, Any],
    bid: np.ndarray[Any, Any],
    ask: np.ndarray[Any, Any],
    bid_size: np.ndarray[Any, Any],
    ask_size: np.ndarray[Any, Any],
    price_type: PriceType,
    price_precision: int,
    size_precision: int,
) -> tuple[np.ndarray[Any, Any], int, int]:
    """Samples from quote columns for a price type; returns ``(samples, pp, sz)``.

    BID and ASK use that side's price and size. MID is exact: ``(bid + ask) / 2`` and the mean
    size are kept at one more digit of precision (``(bid + ask) * 5`` at ``pp + 1``), so the
    precisions returned are those of the samples.
    """
    out = np.empty(len(ts), dtype=SAMPLE_DTYPE)
    out["ts"] = ts
    if price_type is PriceType.BID:
        out["price"], out["size"] = bid, bid_size
    elif price_type is PriceType.ASK:
        out["price"], out["size"] = ask, ask_size
    elif price_type is PriceType.MID:
        if price_precision >= 18 or size_precision >= 18:
            raise InvalidValue("price_precision", price_precision, "MID needs one spare digit")
        out["price"] = (bid.astype(np.int64) + ask) * 5
        out["size"] = (bid_size.astype(np.int64) + ask_size) * 5
        return out, price_precision + 1, size_precision + 1
    else:
        raise InvalidValue("price_type", price_type, "quotes give BID, ASK or MID bars")
    return out, price_precision, size_precision
