"""numpy structured arrays of market data and their conversions (Arrow, model objects).

:class:`MarketArray` is the hot-path form: one numpy structured array (dtypes in
:mod:`alphaforge.data.schemas`) plus the instrument and the two column precisions. It converts
to and from an Arrow table (:meth:`MarketArray.to_arrow`, :meth:`MarketArray.from_arrow`) and,
for the cold path, to and from the model's :class:`~alphaforge.model.QuoteTick`,
:class:`~alphaforge.model.TradeTick`, :class:`~alphaforge.model.Bar` and
:class:`~alphaforge.model.OrderBookDelta` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from alphaforge.data._arrow import pa
from alphaforge.data._parse import fixed_bytes_to_strings, strings_to_fixed_bytes
from alphaforge.data.schemas import (
    PRICE_FIELDS,
    SIZE_FIELDS,
    TRADE_ID_WIDTH,
    DataType,
    arrow_schema,
    column_names,
    field_precision,
    numpy_dtype,
    schema_info,
)
from alphaforge.errors import ArithmeticOverflow, InvalidValue, PrecisionError
from alphaforge.model.data import Bar, BarType, OrderBookDelta, QuoteTick, TradeTick
from alphaforge.model.enums import AggressorSide, BookAction, OrderSide
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.values import Price, Quantity

__all__ = [
    "MarketArray",
    "MarketObject",
    "concat_arrays",
    "rescale_raw",
    "rescale_table",
]

MarketObject = QuoteTick | TradeTick | Bar | OrderBookDelta
"""A model object the cold-path conversions accept and produce."""

_INT64_MAX: Final = (1 << 63) - 1
_POW10: Final = tuple(10**k for k in range(19))


def _check_precision(value: object, field: str) -> int:
    if type(value) is not int or not 0 <= value <= 18:
        raise InvalidValue(field, value, "must be an int in 0..=18")
    return value


def rescale_raw(values: npt.NDArray[np.int64], shift: int, field: str) -> npt.NDArray[np.int64]:
    """Multiply raw values by ``10**shift`` (``shift >= 0``) with an int64 overflow check.

    A negative ``shift`` divides and requires exactness.

    Raises
    ------
    ArithmeticOverflow
        A result does not fit int64.
    PrecisionError
        ``shift < 0`` and a value has non-zero digits that would be dropped.
    """
    if shift == 0:
        return values
    if shift > 0:
        mul = _POW10[shift]
        lim = _INT64_MAX // mul
        if len(values) and (int(values.max()) > lim or int(values.min()) < -lim):
            raise ArithmeticOverflow(
                f"{field}: raw values times 10**{shift} do not fit int64 (precision too high)"
            )
        scaled: npt.NDArray[np.int64] = values * np.int64(mul)
        return scaled
    div = np.int64(_POW10[-shift])
    if len(values) and (values % div).any():
        raise PrecisionError(
            field, int(values[np.flatnonzero(values % div)[0]]), f"loses digits at shift {shift}"
        )
    reduced: npt.NDArray[np.int64] = values // div
    return reduced


def _parse_data_type(value: DataType | str) -> DataType:
    return DataType.parse(value)


@attrs.frozen(slots=True, eq=False)
class MarketArray:
    """One instrument's market data of one type as a numpy structured array.

    Parameters
    ----------
    data_type
        quotes, trades, bars or book_deltas (a :class:`~alphaforge.data.schemas.DataType` or
        its value).
    instrument_id
        ``"SYMBOL.VENUE"``.
    records
        Structured array with the dtype of ``data_type``
        (:func:`~alphaforge.data.schemas.numpy_dtype`): raw int64 prices and sizes, uint64
        nanosecond timestamps.
    price_precision, size_precision
        Precision of every price column / size column, ``0..=18``.
    bar_type
        Bars only: ``"SYMBOL.VENUE-STEP-AGGREGATION-PRICE_TYPE-SOURCE"``.

    Raises
    ------
    InvalidValue
        Wrong dtype, precision out of range, or ``bar_type`` missing for bars / given for
        other types.

    Notes
    -----
    Equality is :meth:`equals` (numpy arrays do not compare to a bool).
    """

    data_type: DataType = attrs.field(converter=_parse_data_type)
    instrument_id: str
    records: npt.NDArray[Any]
    price_precision: int
    size_precision: int
    bar_type: str | None = None

    def __attrs_post_init__(self) -> None:
        dt = self.data_type
        if dt is DataType.INSTRUMENTS:
            raise InvalidValue("data_type", dt.value, "instruments are not a MarketArray")
        if type(self.instrument_id) is not str or not self.instrument_id:
            raise InvalidValue("instrument_id", self.instrument_id, "must be a non-empty str")
        expected = numpy_dtype(dt)
        dtype = getattr(self.records, "dtype", None)
        ok = dtype == expected
        if not isinstance(self.records, np.ndarray) or not ok or self.records.ndim != 1:
            raise InvalidValue("records", dtype, f"must be a 1-d numpy array of {expected}")
        _check_precision(self.price_precision, "price_precision")
        _check_precision(self.size_precision, "size_precision")
        if (dt is DataType.BARS) != (self.bar_type is not None):
            raise InvalidValue("bar_type", self.bar_type, "is required for bars and only for bars")

    # -- basics ------------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The catalog key: the bar type for bars, else the instrument id."""
        return self.bar_type if self.bar_type is not None else self.instrument_id

    @property
    def ts_init(self) -> npt.NDArray[np.uint64]:
        """The ``ts_init`` column (a view)."""
        ts: npt.NDArray[np.uint64] = self.records["ts_init"]
        return ts

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (
            f"MarketArray({self.data_type.value}, {self.key}, rows={len(self)}, "
            f"price_precision={self.price_precision}, size_precision={self.size_precision})"
        )

    def replace(self, records: npt.NDArray[Any]) -> MarketArray:
        """The same identity and precisions with other records."""
        return attrs.evolve(self, records=records)

    def equals(self, other: object) -> bool:
        """Same type, identity, precisions and field-by-field identical records."""
        if not isinstance(other, MarketArray):
            return False
        if (
            self.data_type != other.data_type
            or self.instrument_id != other.instrument_id
            or self.bar_type != other.bar_type
            or self.price_precision != other.price_precision
            or self.size_precision != other.size_precision
            or len(self) != len(other)
        ):
            return False
        names = self.records.dtype.names or ()
        return all(np.array_equal(self.records[n], other.records[n]) for n in names)

    @classmethod
    def empty(
        cls,
        data_type: DataType | str,
        instrument_id: str,
        price_precision: int = 0,
        size_precision: int = 0,
        bar_type: str | None = None,
    ) -> MarketArray:
        """A zero-row array."""
        dt = DataType.parse(data_type)
        return cls(
            dt,
            instrument_id,
            np.zeros(0, dtype=numpy_dtype(dt)),
            price_precision,
            size_precision,
            bar_type,
        )

    def is_sorted(self) -> bool:
        """Whether ``ts_init`` is non-decreasing."""
        ts = self.ts_init
        return bool(len(ts) < 2 or (ts[1:] >= ts[:-1]).all())

    def sorted(self) -> MarketArray:
        """Stably sorted by ``ts_init`` (ties keep their order)."""
        if self.is_sorted():
            return self
        order = np.argsort(self.ts_init, kind="stable")
        return self.replace(self.records[order])

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> MarketArray:
        """Rows with ``start_ns <= ts_init <= end_ns`` of a sorted array (a view)."""
        ts = self.ts_init
        lo = 0 if start_ns is None else int(np.searchsorted(ts, np.uint64(start_ns), "left"))
        hi = len(ts) if end_ns is None else int(np.searchsorted(ts, np.uint64(end_ns), "right"))
        return self.replace(self.records[lo:hi])

    def rescale(self, price_precision: int, size_precision: int) -> MarketArray:
        """The same values at other precisions (raising precision is always exact).

        Raises
        ------
        PrecisionError
            Lowering a precision would drop non-zero digits.
        ArithmeticOverflow
            A raw value does not fit int64 at the higher precision.
        """
        _check_precision(price_precision, "price_precision")
        _check_precision(size_precision, "size_precision")
        dp = price_precision - self.price_precision
        ds = size_precision - self.size_precision
        if dp == 0 and ds == 0:
            return self
        out = self.records.copy()
        for name in PRICE_FIELDS[self.data_type]:
            out[name] = rescale_raw(out[name], dp, name)
        for name in SIZE_FIELDS[self.data_type]:
            out[name] = rescale_raw(out[name], ds, name)
        return attrs.evolve(
            self, records=out, price_precision=price_precision, size_precision=size_precision
        )

    # -- Arrow -------------------------------------------------------------------------------

    def schema(self) -> Any:
        """The Arrow schema of :meth:`to_arrow`."""
        return arrow_schema(
            self.data_type,
            self.price_precision,
            self.size_precision,
            self.instrument_id,
            self.bar_type,
        )

    def to_arrow(self) -> Any:
        """An Arrow table with the schema of :func:`~alphaforge.data.schemas.arrow_schema`.

        Returns
        -------
        pyarrow.Table
        """
        schema = self.schema()
        cols = []
        for field in schema:
            col = self.records[field.name]
            if field.name == "trade_id":
                cols.append(fixed_bytes_to_strings(col))
            else:
                np_type = field.type.to_pandas_dtype()
                cols.append(pa.array(np.ascontiguousarray(col, dtype=np_type), type=field.type))
        return pa.Table.from_arrays(cols, schema=schema)

    @classmethod
    def from_arrow(cls, table: Any) -> MarketArray:
        """Build from an Arrow table or record batch carrying AlphaForge schema metadata.

        Price (size) columns of differing precision metadata are rescaled to the largest.
        """
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        dt, iid, bar_type = schema_info(table.schema)
        schema = table.schema
        precisions = {
            name: field_precision(schema.field(name))
            for name in (*PRICE_FIELDS[dt], *SIZE_FIELDS[dt])
        }
        pp = max(precisions[n] for n in PRICE_FIELDS[dt])
        sp = max(precisions[n] for n in SIZE_FIELDS[dt])
        dtype = numpy_dtype(dt)
        n = table.num_rows
        out = np.zeros(n, dtype=dtype)
        for name in column_names(dt):
            column = table.column(name)
            if name == "trade_id":
                out[name] = strings_to_fixed_bytes(column, TRADE_ID_WIDTH)
                continue
            dest = out[name]
            pos = 0
            for chunk in column.chunks:
                m = len(chunk)
                if m:
                    dest[pos : pos + m] = chunk.to_numpy()
                pos += m
            if name in precisions:
                target = pp if name in PRICE_FIELDS[dt] else sp
                if precisions[name] != target:
                    out[name] = rescale_raw(
                        np.ascontiguousarray(dest), target - precisions[name], name
                    )
        return cls(dt, iid, out, pp, sp, bar_type)

    # -- model objects (cold path) -----------------------------------------------------------

    def to_objects(self) -> list[Any]:
        """The rows as model objects (QuoteTick / TradeTick / Bar / OrderBookDelta)."""
        r = self.records
        pp, sp = self.price_precision, self.size_precision
        price, qty = Price.from_raw, Quantity.from_raw
        iid = InstrumentId.from_str(self.instrument_id)
        ts_e = r["ts_event"].tolist()
        ts_i = r["ts_init"].tolist()
        dt = self.data_type
        if dt is DataType.QUOTES:
            make_quote = QuoteTick.from_raw
            return [
                make_quote(iid, bp, ap, bs, az, pp, sp, e, i)
                for bp, ap, bs, az, e, i in zip(
                    r["bid_price"].tolist(),
                    r["ask_price"].tolist(),
                    r["bid_size"].tolist(),
                    r["ask_size"].tolist(),
                    ts_e,
                    ts_i,
                    strict=True,
                )
            ]
        if dt is DataType.TRADES:
            sides = tuple(AggressorSide)
            make_trade = TradeTick.from_raw
            return [
                make_trade(iid, p, s, pp, sp, sides[a], t.decode(), e, i)
                for p, s, a, t, e, i in zip(
                    r["price"].tolist(),
                    r["size"].tolist(),
                    r["aggressor_side"].tolist(),
                    r["trade_id"].tolist(),
                    ts_e,
                    ts_i,
                    strict=True,
                )
            ]
        if dt is DataType.BARS:
            assert self.bar_type is not None
            bt = BarType.from_str(self.bar_type)
            return [
                Bar(bt, price(o, pp), price(h, pp), price(lo, pp), price(c, pp), qty(v, sp), e, i)
                for o, h, lo, c, v, e, i in zip(
                    r["open"].tolist(),
                    r["high"].tolist(),
                    r["low"].tolist(),
                    r["close"].tolist(),
                    r["volume"].tolist(),
                    ts_e,
                    ts_i,
                    strict=True,
                )
            ]
        actions = {int(a): a for a in BookAction}
        sides_ = {int(s): s for s in OrderSide}
        return [
            OrderBookDelta(iid, actions[a], sides_[sd], price(p, pp), qty(s, sp), o, f, q, e, i)
            for a, sd, p, s, o, f, q, e, i in zip(
                r["action"].tolist(),
                r["side"].tolist(),
                r["price"].tolist(),
                r["size"].tolist(),
                r["order_id"].tolist(),
                r["flags"].tolist(),
                r["sequence"].tolist(),
                ts_e,
                ts_i,
                strict=True,
            )
        ]

    @classmethod
    def from_objects(
        cls,
        objects: Sequence[MarketObject],
        *,
        price_precision: int | None = None,
        size_precision: int | None = None,
    ) -> MarketArray:
        """Build from model objects of one type and one instrument (or bar type).

        Parameters
        ----------
        objects
            Non-empty sequence of QuoteTick, TradeTick, Bar or OrderBookDelta.
        price_precision, size_precision
            Target precisions; default: the largest precision among the objects.

        Raises
        ------
        InvalidValue
            Empty input, mixed types or instruments, a trade id longer than 36 bytes.
        """
        if not objects:
            raise InvalidValue("objects", objects, "must not be empty (no instrument to use)")
        first = objects[0]
        kind = type(first)
        for i, obj in enumerate(objects):
            if type(obj) is not kind:
                raise InvalidValue(f"objects[{i}]", type(obj).__name__, f"expected {kind.__name__}")
        if kind is QuoteTick:
            return _quotes_from_objects(objects, price_precision, size_precision)  # type: ignore[arg-type]
        if kind is TradeTick:
            return _trades_from_objects(objects, price_precision, size_precision)  # type: ignore[arg-type]
        if kind is Bar:
            return _bars_from_objects(objects, price_precision, size_precision)  # type: ignore[arg-type]
        if kind is OrderBookDelta:
            return _deltas_from_objects(objects, price_precision, size_precision)  # type: ignore[arg-type]
        raise InvalidValue("objects", kind.__name__, "not a market data type")


def _same_instrument(objects: Sequence[Any]) -> str:
    iid = objects[0].instrument_id
    for i, obj in enumerate(objects):
        if obj.instrument_id != iid:
            raise InvalidValue(
                f"objects[{i}].instrument_id", str(obj.instrument_id), f"expected {iid}"
            )
    return str(iid)


def _target_precision(values: Iterable[Any], given: int | None, field: str) -> int:
    if given is not None:
        return _check_precision(given, field)
    return max((v.precision for v in values), default=0)


def _raws(values: Iterable[Any], precision: int, field: str) -> npt.NDArray[np.int64]:
    out = []
    for v in values:
        shift = precision - v.precision
        if shift >= 0:
            out.append(v.raw * _POW10[shift])
        else:
            out.append(v.rescale(precision).raw)  # raises PrecisionError when inexact
    arr = np.array(out, dtype=object)
    if len(arr) and (max(out) > _INT64_MAX or min(out) < -_INT64_MAX - 1):
        raise ArithmeticOverflow(f"{field}: raw values do not fit int64 at precision {precision}")
    return arr.astype(np.int64)


def _ts(objects: Sequence[Any], name: str) -> npt.NDArray[np.uint64]:
    return np.array([getattr(o, name) for o in objects], dtype=np.uint64)


def _quotes_from_objects(
    quotes: Sequence[QuoteTick], pp: int | None, sp: int | None
) -> MarketArray:
    iid = _same_instrument(quotes)
    pp = _target_precision(
        (p for q in quotes for p in (q.bid_price, q.ask_price)), pp, "price_precision"
    )
    sp = _target_precision(
        (s for q in quotes for s in (q.bid_size, q.ask_size)), sp, "size_precision"
    )
    out = np.zeros(len(quotes), dtype=numpy_dtype(DataType.QUOTES))
    out["ts_event"] = _ts(quotes, "ts_event")
    out["ts_init"] = _ts(quotes, "ts_init")
    out["bid_price"] = _raws((q.bid_price for q in quotes), pp, "bid_price")
    out["ask_price"] = _raws((q.ask_price for q in quotes), pp, "ask_price")
    out["bid_size"] = _raws((q.bid_size for q in quotes), sp, "bid_size")
    out["ask_size"] = _raws((q.ask_size for q in quotes), sp, "ask_size")
    return MarketArray(DataType.QUOTES, iid, out, pp, sp)


def _trades_from_objects(
    trades: Sequence[TradeTick], pp: int | None, sp: int | None
) -> MarketArray:
    iid = _same_instrument(trades)
    pp = _target_precision((t.price for t in trades), pp, "price_precision")
    sp = _target_precision((t.size for t in trades), sp, "size_precision")
    out = np.zeros(len(trades), dtype=numpy_dtype(DataType.TRADES))
    out["ts_event"] = _ts(trades, "ts_event")
    out["ts_init"] = _ts(trades, "ts_init")
    out["price"] = _raws((t.price for t in trades), pp, "price")
    out["size"] = _raws((t.size for t in trades), sp, "size")
    out["aggressor_side"] = np.array([int(t.aggressor_side) for t in trades], dtype=np.uint8)
    ids = pa.array([t.trade_id.value for t in trades], type=pa.string())
    out["trade_id"] = strings_to_fixed_bytes(ids, TRADE_ID_WIDTH)
    return MarketArray(DataType.TRADES, iid, out, pp, sp)


def _bars_from_objects(bars: Sequence[Bar], pp: int | None, sp: int | None) -> MarketArray:
    bar_type = bars[0].bar_type
    for i, b in enumerate(bars):
        if b.bar_type != bar_type:
            raise InvalidValue(f"objects[{i}].bar_type", str(b.bar_type), f"expected {bar_type}")
    pp = _target_precision(
        (p for b in bars for p in (b.open, b.high, b.low, b.close)), pp, "price_precision"
    )
    sp = _target_precision((b.volume for b in bars), sp, "size_precision")
    out = np.zeros(len(bars), dtype=numpy_dtype(DataType.BARS))
    out["ts_event"] = _ts(bars, "ts_event")
    out["ts_init"] = _ts(bars, "ts_init")
    for name in ("open", "high", "low", "close"):
        out[name] = _raws((getattr(b, name) for b in bars), pp, name)
    out["volume"] = _raws((b.volume for b in bars), sp, "volume")
    return MarketArray(
        DataType.BARS, str(bar_type.instrument_id), out, pp, sp, bar_type=str(bar_type)
    )


def _deltas_from_objects(
    deltas: Sequence[OrderBookDelta], pp: int | None, sp: int | None
) -> MarketArray:
    iid = _same_instrument(deltas)
    pp = _target_precision((d.price for d in deltas), pp, "price_precision")
    sp = _target_precision((d.size for d in deltas), sp, "size_precision")
    out = np.zeros(len(deltas), dtype=numpy_dtype(DataType.BOOK_DELTAS))
    out["ts_event"] = _ts(deltas, "ts_event")
    out["ts_init"] = _ts(deltas, "ts_init")
    out["sequence"] = np.array([d.sequence for d in deltas], dtype=np.uint64)
    out["order_id"] = np.array([d.order_id for d in deltas], dtype=np.uint64)
    out["price"] = _raws((d.price for d in deltas), pp, "price")
    out["size"] = _raws((d.size for d in deltas), sp, "size")
    out["action"] = np.array([int(d.action) for d in deltas], dtype=np.uint8)
    out["side"] = np.array([int(d.side) for d in deltas], dtype=np.uint8)
    out["flags"] = np.array([d.flags for d in deltas], dtype=np.uint8)
    return MarketArray(DataType.BOOK_DELTAS, iid, out, pp, sp)


def concat_arrays(arrays: Sequence[MarketArray]) -> MarketArray:
    """Concatenate arrays of one type and key, rescaled to the largest precisions.

    Raises
    ------
    InvalidValue
        Empty input or arrays of different types / instruments / bar types.
    """
    if not arrays:
        raise InvalidValue("arrays", arrays, "must not be empty")
    first = arrays[0]
    for i, a in enumerate(arrays):
        if (a.data_type, a.instrument_id, a.bar_type) != (
            first.data_type,
            first.instrument_id,
            first.bar_type,
        ):
            raise InvalidValue(f"arrays[{i}]", repr(a), f"expected the stream of {first!r}")
    if len(arrays) == 1:
        return first
    pp = max(a.price_precision for a in arrays)
    sp = max(a.size_precision for a in arrays)
    parts = [a.rescale(pp, sp).records for a in arrays]
    return attrs.evolve(first, records=np.concatenate(parts), price_precision=pp, size_precision=sp)


def rescale_table(table: Any, price_precision: int, size_precision: int) -> Any:
    """An AlphaForge Arrow table or record batch at other precisions (exact, overflow-checked).

    The field metadata is updated; other columns are passed through zero-copy.
    """
    is_batch = isinstance(table, pa.RecordBatch)
    schema = table.schema
    dt = schema_info(schema)[0]
    targets = {n: price_precision for n in PRICE_FIELDS[dt]}
    targets.update({n: size_precision for n in SIZE_FIELDS[dt]})
    cols = []
    fields = []
    for i, field in enumerate(schema):
        col = table.column(i)
        if field.name in targets:
            target = targets[field.name]
            shift = target - field_precision(field)
            if shift:
                values = (
                    col.to_numpy()
                    if is_batch
                    else np.concatenate(
                        [c.to_numpy() for c in col.chunks] or [np.zeros(0, np.int64)]
                    )
                )
                col = pa.array(rescale_raw(values, shift, field.name), type=pa.int64())
            field = field.with_metadata({b"precision": str(target).encode()})
        cols.append(col)
        fields.append(field)
    new_schema = pa.schema(fields, metadata=schema.metadata)
    if is_batch:
        return pa.RecordBatch.from_arrays(cols, schema=new_schema)
    return pa.Table.from_arrays(cols, schema=new_schema)
