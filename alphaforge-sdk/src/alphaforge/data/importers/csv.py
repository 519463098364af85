"""Generic CSV importer: any delimited text file, described by a :class:`CsvSpec`.

A spec maps the canonical fields of a data type to the file's columns (by header name or
0-based position) or to constants::

    spec = CsvSpec(
        data_type="quotes",
        columns={"ts_event": "timestamp", "bid_price": "bid", "ask_price": "ask"},
        constants={"bid_size": "0", "ask_size": "0"},   # the file has no sizes
        timestamp_unit="iso",
    )
    import_csv(catalog, "usdjpy-ticks.csv", spec, "USD/JPY.TRUEFX")

=============  ===================================================================================
data type      fields (required; *optional*)
=============  ===================================================================================
quotes         ts_event, bid_price, ask_price, bid_size, ask_size; *ts_init*
trades         ts_event, price, size; *ts_init*, *aggressor_side*, *trade_id* (default
               ``"L<line>"``)
bars           ts_event, open, high, low, close; *ts_init*, *volume* (default 0)
book_deltas    ts_event, side, price, size; *ts_init*, *action* (default: size 0 = DELETE, else
               UPDATE), *order_id*, *sequence*, *flags* (default: ``F_LAST`` on the last row of
               each run of equal timestamps and sequence)
=============  ===================================================================================

``ts_init`` defaults to ``ts_event``. Prices and sizes are parsed exactly (see
:mod:`alphaforge.data._parse`); precisions are given in the spec, taken from an instrument, or
inferred per chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from alphaforge.data._arrow import pa
from alphaforge.data._parse import (
    ColumnContext,
    parse_choice,
    parse_decimals,
    parse_timestamps,
    parse_uints,
    strings_to_fixed_bytes,
)
from alphaforge.data.arrays import MarketArray
from alphaforge.data.catalog import ParquetDataCatalog, WriteMode
from alphaforge.data.errors import DataImportError
from alphaforge.data.importers._checks import check_bars, precisions_for, unify_precisions
from alphaforge.data.importers._common import (
    DEFAULT_BLOCK_SIZE,
    DeltaBuilder,
    ImportResult,
    Parsed,
    PathLike,
    ctx,
    iter_string_batches,
    read_first_line,
    run_pipeline,
    unify,
    write_import,
)
from alphaforge.data.schemas import PRICE_FIELDS, SIZE_FIELDS, TRADE_ID_WIDTH, DataType, numpy_dtype
from alphaforge.errors import ConfigError, InvalidValue
from alphaforge.model.data import BarType
from alphaforge.model.enums import AggressorSide, BookAction, OrderSide
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.instruments import Instrument
from alphaforge.model.values import Rounding

__all__ = ["CsvSpec", "import_csv", "load_csv", "read_csv"]

_REQUIRED: Final[Mapping[DataType, tuple[str, ...]]] = MappingProxyType(
    {
        DataType.QUOTES: ("ts_event", "bid_price", "ask_price", "bid_size", "ask_size"),
        DataType.TRADES: ("ts_event", "price", "size"),
        DataType.BARS: ("ts_event", "open", "high", "low", "close"),
        DataType.BOOK_DELTAS: ("ts_event", "side", "price", "size"),
    }
)
_OPTIONAL: Final[Mapping[DataType, tuple[str, ...]]] = MappingProxyType(
    {
        DataType.QUOTES: ("ts_init",),
        DataType.TRADES: ("ts_init", "aggressor_side", "trade_id"),
        DataType.BARS: ("ts_init", "volume"),
        DataType.BOOK_DELTAS: ("ts_init", "action", "order_id", "sequence", "flags"),
    }
)
_TIMESTAMPS: Final = ("ts_event", "ts_init")
_DECIMAL: Final = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")

DEFAULT_AGGRESSOR_VALUES: Final[Mapping[str, AggressorSide]] = MappingProxyType(
    {
        "buy": AggressorSide.BUYER,
        "BUY": AggressorSide.BUYER,
        "Buy": AggressorSide.BUYER,
        "b": AggressorSide.BUYER,
        "B": AggressorSide.BUYER,
        "buyer": AggressorSide.BUYER,
        "BUYER": AggressorSide.BUYER,
        "sell": AggressorSide.SELLER,
        "SELL": AggressorSide.SELLER,
        "Sell": AggressorSide.SELLER,
        "s": AggressorSide.SELLER,
        "S": AggressorSide.SELLER,
        "seller": AggressorSide.SELLER,
        "SELLER": AggressorSide.SELLER,
        "": AggressorSide.NO_AGGRESSOR,
        "unknown": AggressorSide.NO_AGGRESSOR,
        "NO_AGGRESSOR": AggressorSide.NO_AGGRESSOR,
    }
)
DEFAULT_SIDE_VALUES: Final[Mapping[str, OrderSide]] = MappingProxyType(
    {
        "bid": OrderSide.BUY,
        "BID": OrderSide.BUY,
        "b": OrderSide.BUY,
        "buy": OrderSide.BUY,
        "BUY": OrderSide.BUY,
        "ask": OrderSide.SELL,
        "ASK": OrderSide.SELL,
        "a": OrderSide.SELL,
        "sell": OrderSide.SELL,
        "SELL": OrderSide.SELL,
    }
)
DEFAULT_ACTION_VALUES: Final[Mapping[str, BookAction]] = MappingProxyType(
    {
        **{a.name: a for a in BookAction},
        **{a.name.lower(): a for a in BookAction},
        **{str(int(a)): a for a in BookAction},
    }
)


def _frozen_map(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


def _data_type(value: DataType | str) -> DataType:
    return DataType.parse(value)


@attrs.frozen(kw_only=True, slots=True)
class CsvSpec:
    """How to read a CSV file into one data type.

    Parameters
    ----------
    data_type
        quotes, trades, bars or book_deltas.
    columns
        Canonical field -> column: a header name (needs ``has_header``) or a 0-based index.
    constants
        Canonical field -> value text for fields the file lacks (e.g. ``{"bid_size": "0"}``).
    timestamp_unit
        ``"ns"``, ``"us"``, ``"ms"``, ``"s"``, ``"auto"`` (integer epoch), ``"iso"``
        (ISO-8601 text, naive = UTC) or a ``strptime`` format (may end in ``%f``).
    price_precision, size_precision
        Precisions to parse at (default: the instrument's, else inferred per chunk).
    has_header
        Whether the first line names the columns.
    delimiter
        Field separator (one character).
    aggressor_values, side_values, action_values
        Text -> enum maps for ``aggressor_side``, ``side`` and ``action`` cells.
    rounding
        With explicit precisions: round cells that have more fraction digits (e.g. float
        artefacts like ``218102.59507500002``) with this mode instead of rejecting the file.

    Raises
    ------
    ConfigError
        Unknown fields, a required field neither mapped nor constant, a column name without a
        header, a malformed constant.
    """

    data_type: DataType = attrs.field(converter=_data_type)
    columns: Mapping[str, str | int] = attrs.field(converter=_frozen_map)
    constants: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    timestamp_unit: str = "ns"
    price_precision: int | None = None
    size_precision: int | None = None
    has_header: bool = True
    delimiter: str = ","
    aggressor_values: Mapping[str, AggressorSide] = attrs.field(
        default=DEFAULT_AGGRESSOR_VALUES, converter=_frozen_map
    )
    side_values: Mapping[str, OrderSide] = attrs.field(
        default=DEFAULT_SIDE_VALUES, converter=_frozen_map
    )
    action_values: Mapping[str, BookAction] = attrs.field(
        default=DEFAULT_ACTION_VALUES, converter=_frozen_map
    )
    rounding: Rounding | None = None

    def __attrs_post_init__(self) -> None:
        dt = self.data_type
        if dt is DataType.INSTRUMENTS:
            raise ConfigError("data_type", dt.value, "instruments cannot be read from CSV")
        known = set(_REQUIRED[dt]) | set(_OPTIONAL[dt])
        for field in (*self.columns, *self.constants):
            if field not in known:
                raise ConfigError(
                    f"columns.{field}", field, f"not a {dt.value} field ({sorted(known)})"
                )
        for field in self.columns:
            if field in self.constants:
                raise ConfigError(f"constants.{field}", field, "is also mapped to a column")
        for field in _REQUIRED[dt]:
            if field not in self.columns and field not in self.constants:
                raise ConfigError(f"columns.{field}", None, f"is required for {dt.value}")
        for field, ref in self.columns.items():
            if isinstance(ref, bool) or not isinstance(ref, (str, int)):
                raise ConfigError(f"columns.{field}", ref, "must be a column name or index")
            if isinstance(ref, int) and ref < 0:
                raise ConfigError(f"columns.{field}", ref, "must be a 0-based index")
            if isinstance(ref, str) and not self.has_header:
                raise ConfigError(f"columns.{field}", ref, "a name needs has_header=True")
        decimal_fields = {*PRICE_FIELDS[dt], *SIZE_FIELDS[dt]}
        for field, value in self.constants.items():
            if field in _TIMESTAMPS:
                raise ConfigError(f"constants.{field}", value, "timestamps must come from a column")
            if type(value) is not str:
                raise ConfigError(f"constants.{field}", value, "must be text")
            if field in decimal_fields and not _DECIMAL.match(value):
                raise ConfigError(f"constants.{field}", value, "must be a decimal like 1.25")
        if len(self.delimiter) != 1:
            raise ConfigError("delimiter", self.delimiter, "must be one character")
        if self.rounding is not None and not isinstance(self.rounding, Rounding):
            raise ConfigError("rounding", self.rounding, "must be a Rounding or None")
        for name in ("price_precision", "size_precision"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or not 0 <= value <= 18):
                raise ConfigError(name, value, "must be an int in 0..=18 or None")

    def has(self, field: str) -> bool:
        """Whether ``field`` comes from a column or a constant."""
        return field in self.columns or field in self.constants


def _column_names(path: PathLike, spec: CsvSpec) -> list[str]:
    first = read_first_line(path)
    fields = first.split(spec.delimiter) if first else []
    if spec.has_header:
        names = [f.strip().strip('"') for f in fields]
        if len(set(names)) != len(names):
            names = [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
    else:
        names = [f"c{i}" for i in range(len(fields))]
    for field, ref in spec.columns.items():
        if isinstance(ref, int):
            if ref >= len(names):
                raise DataImportError(
                    str(path), 1, None, first, f"a column {ref} for {field} ({len(names)} found)"
                )
        elif ref not in names:
            raise DataImportError(str(path), 1, None, first, f"a column named {ref!r} for {field}")
    return names


def _values(
    batch: Any,
    field: str,
    spec: CsvSpec,
    names: list[str],
    path: PathLike,
    line: int,
) -> tuple[Any, ColumnContext]:
    """The text column of ``field`` (a constant is repeated) and its error context."""
    ref = spec.columns.get(field)
    if ref is None:
        value = spec.constants[field]
        column = pa.array([value] * batch.num_rows, type=pa.string())
        return column, ColumnContext(str(path), None, f"constants.{field}")
    name = names[ref] if isinstance(ref, int) else ref
    return batch.column(name), ctx(path, line, name)


def read_csv(
    path: PathLike,
    spec: CsvSpec,
    instrument_id: str | InstrumentId,
    *,
    bar_type: str | BarType | None = None,
    instrument: Instrument | None = None,
    sort: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[MarketArray]:
    """Stream a CSV file as :class:`MarketArray` chunks according to ``spec``.

    Parameters
    ----------
    path
        ``.csv`` (or ``.gz``/``.bz2``/``.zst``/single-file ``.zip``).
    spec
        The column mapping.
    instrument_id
        The instrument the rows belong to.
    bar_type
        Required for bars; must be for ``instrument_id``.
    instrument
        Supplies precisions the spec does not give.
    sort
        Sort by ``ts_init`` instead of raising on out-of-order rows (holds the file in memory).
    block_size
        Bytes of text per chunk.

    Raises
    ------
    DataImportError
        A malformed row (file, line, column and expectation named) or out-of-order rows.
    """
    iid = str(
        instrument_id
        if isinstance(instrument_id, InstrumentId)
        else InstrumentId.from_str(instrument_id)
    )
    dt = spec.data_type
    bt: str | None = None
    if dt is DataType.BARS:
        if bar_type is None:
            raise InvalidValue("bar_type", None, "is required to import bars")
        parsed_bt = bar_type if isinstance(bar_type, BarType) else BarType.from_str(bar_type)
        if str(parsed_bt.instrument_id) != iid:
            raise InvalidValue("bar_type", str(parsed_bt), f"is not for instrument {iid}")
        bt = str(parsed_bt)
    pp, sp = precisions_for(spec.price_precision, spec.size_precision, instrument)
    names = _column_names(path, spec)
    include = sorted(
        {names[r] if isinstance(r, int) else r for r in spec.columns.values()}, key=names.index
    )
    parse = _parser(path, spec, names, iid, bt, pp, sp)
    builder = (
        DeltaBuilder(clear_before_snapshot=False)
        if dt is DataType.BOOK_DELTAS and not spec.has("flags")
        else None
    )
    batches = iter_string_batches(
        path,
        names,
        include,
        skip_rows=1 if spec.has_header else 0,
        delimiter=spec.delimiter,
        block_size=block_size,
    )
    ts_ref = spec.columns.get("ts_init", spec.columns["ts_event"])
    ts_column = names[ts_ref] if isinstance(ts_ref, int) else ts_ref
    return run_pipeline(path, batches, parse, ts_column=ts_column, sort=sort, builder=builder)


def _parser(
    path: PathLike,
    spec: CsvSpec,
    names: list[str],
    iid: str,
    bar_type: str | None,
    pp: int | None,
    sp: int | None,
) -> Any:
    dt = spec.data_type

    def col(batch: Any, field: str, line: int) -> tuple[Any, ColumnContext]:
        return _values(batch, field, spec, names, path, line)

    def decimals(
        batch: Any, fields: tuple[str, ...], precision: int | None, line: int, size: bool
    ) -> tuple[list[npt.NDArray[np.int64]], int]:
        parts = []
        for field in fields:
            column, c = col(batch, field, line)
            parts.append(
                parse_decimals(column, precision, c, non_negative=size, rounding=spec.rounding)
            )
        return unify_precisions(parts, str(path), line, fields)

    def parse(line: int, batch: Any) -> Parsed:
        n = batch.num_rows
        out = np.zeros(n, dtype=numpy_dtype(dt))
        column, c = col(batch, "ts_event", line)
        out["ts_event"] = parse_timestamps(column, spec.timestamp_unit, c)
        if spec.has("ts_init"):
            column, c = col(batch, "ts_init", line)
            out["ts_init"] = parse_timestamps(column, spec.timestamp_unit, c)
        else:
            out["ts_init"] = out["ts_event"]
        prices = PRICE_FIELDS[dt]
        sizes = tuple(f for f in SIZE_FIELDS[dt] if spec.has(f))
        price_raws, ppx = decimals(batch, prices, pp, line, False)
        for field, raw in zip(prices, price_raws, strict=True):
            out[field] = raw
        spx = 0 if sp is None else sp
        if sizes:
            size_raws, spx = decimals(batch, sizes, sp, line, True)
            for field, raw in zip(sizes, size_raws, strict=True):
                out[field] = raw
        if dt is DataType.TRADES:
            if spec.has("aggressor_side"):
                column, c = col(batch, "aggressor_side", line)
                codes = {k: int(v) for k, v in spec.aggressor_values.items()}
                out["aggressor_side"] = parse_choice(column, codes, c)
            if spec.has("trade_id"):
                column, c = col(batch, "trade_id", line)
                out["trade_id"] = strings_to_fixed_bytes(column, TRADE_ID_WIDTH, c)
            else:
                ids = pa.array([f"L{line + i}" for i in range(n)], type=pa.string())
                out["trade_id"] = strings_to_fixed_bytes(ids, TRADE_ID_WIDTH)
        elif dt is DataType.BARS:
            check_bars(out, path, line, _BarColumns(batch, spec, names))
        elif dt is DataType.BOOK_DELTAS:
            column, c = col(batch, "side", line)
            out["side"] = parse_choice(column, {k: int(v) for k, v in spec.side_values.items()}, c)
            if spec.has("action"):
                column, c = col(batch, "action", line)
                codes = {k: int(v) for k, v in spec.action_values.items()}
                out["action"] = parse_choice(column, codes, c)
            else:
                out["action"] = np.where(
                    out["size"] == 0, int(BookAction.DELETE), int(BookAction.UPDATE)
                )
            for field in ("order_id", "sequence"):
                if spec.has(field):
                    column, c = col(batch, field, line)
                    out[field] = parse_uints(column, c, f"an unsigned integer {field}")
            if spec.has("flags"):
                column, c = col(batch, "flags", line)
                flags = parse_uints(column, c, "flags 0..255")
                if (flags > 255).any():
                    c.fail_first(flags > 255, column, "flags 0..255")
                out["flags"] = flags
        ma = MarketArray(dt, iid, out, ppx, spx, bar_type=bar_type)
        return Parsed(ma, out["ts_init"], line)

    return parse


class _BarColumns:
    """Adapter so :func:`check_bars` can quote the offending cell of a mapped column."""

    def __init__(self, batch: Any, spec: CsvSpec, names: list[str]) -> None:
        self.batch = batch
        self.spec = spec
        self.names = names

    def column(self, field: str) -> Any:
        ref = self.spec.columns.get(field)
        if ref is None:
            return pa.array([self.spec.constants[field]] * self.batch.num_rows)
        return self.batch.column(self.names[ref] if isinstance(ref, int) else ref)


def load_csv(
    path: PathLike, spec: CsvSpec, instrument_id: str | InstrumentId, **kwargs: Any
) -> MarketArray:
    """:func:`read_csv` into one :class:`MarketArray` (precisions unified)."""
    chunks = list(read_csv(path, spec, instrument_id, **kwargs))
    if not chunks:
        raise DataImportError(str(path), None, None, "", "at least one data row")
    return unify(chunks)


def import_csv(
    catalog: ParquetDataCatalog,
    path: PathLike,
    spec: CsvSpec,
    instrument_id: str | InstrumentId,
    *,
    mode: WriteMode = "append",
    **kwargs: Any,
) -> ImportResult:
    """Import a CSV file into ``catalog``, all or nothing (see :func:`read_csv`)."""
    return write_import(catalog, path, read_csv(path, spec, instrument_id, **kwargs), mode)
