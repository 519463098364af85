"""Columnar schemas of market data: Arrow schemas and the matching numpy dtypes.

The canonical in-memory form of market data for the backtest is columnar: one row per event,
prices and sizes as **raw fixed-point int64** (``value = raw / 10**precision``), timestamps as
**uint64 nanoseconds** since the Unix epoch. The precision is stored once per column, never per
row: in Arrow as field metadata (``b"precision"``), in numpy next to the array
(:class:`~alphaforge.data.arrays.MarketArray`). Nothing goes through ``float``.

=============  ================================================================================
data type      columns (Arrow type / numpy type)
=============  ================================================================================
quotes         ts_event, ts_init (uint64); bid_price, ask_price [price]; bid_size, ask_size
               [size] (int64)
trades         ts_event, ts_init (uint64); price [price], size [size] (int64); aggressor_side
               (uint8, :class:`~alphaforge.model.AggressorSide`); trade_id (utf8 / ``S36``)
bars           ts_event, ts_init (uint64); open, high, low, close [price]; volume [size]
               (int64). The bar type is schema metadata.
book_deltas    ts_event, ts_init, sequence, order_id (uint64); price [price], size [size]
               (int64); action (uint8, :class:`~alphaforge.model.BookAction`), side (uint8,
               :class:`~alphaforge.model.OrderSide`), flags (uint8, ``F_LAST``/``F_SNAPSHOT``)
instruments    one row per instrument, every field of the model class (see
               :data:`INSTRUMENT_SCHEMA`); decimals as exact text
=============  ================================================================================

Schema metadata (bytes keys): ``alphaforge.data_type``, ``alphaforge.instrument_id``,
``alphaforge.bar_type`` (bars only) and ``alphaforge.schema_version``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from alphaforge import _native
from alphaforge.data._arrow import pa
from alphaforge.errors import InvalidValue
from alphaforge.model.enums import OptionKind
from alphaforge.model.identifiers import InstrumentId, Symbol
from alphaforge.model.instruments import (
    CurrencyPair,
    FuturesContract,
    Instrument,
    OptionContract,
    PerpetualContract,
)
from alphaforge.model.values import Currency, Money, Price, Quantity

__all__ = [
    "BAR_DTYPE",
    "BOOK_DELTA_DTYPE",
    "INSTRUMENT_SCHEMA",
    "NUMPY_DTYPES",
    "PRICE_FIELDS",
    "QUOTE_DTYPE",
    "SCHEMA_VERSION",
    "SIZE_FIELDS",
    "TRADE_DTYPE",
    "TRADE_ID_WIDTH",
    "DataType",
    "arrow_schema",
    "book_delta_dtype",
    "column_names",
    "field_precision",
    "instruments_to_table",
    "numpy_dtype",
    "schema_info",
    "schema_precisions",
    "table_to_instruments",
]

SCHEMA_VERSION: Final = "1"
TRADE_ID_WIDTH: Final = 36
"""Bytes of a trade id in the numpy form (``S36``: fits a UUID); longer ids are rejected."""

META_DATA_TYPE: Final = b"alphaforge.data_type"
META_INSTRUMENT_ID: Final = b"alphaforge.instrument_id"
META_BAR_TYPE: Final = b"alphaforge.bar_type"
META_VERSION: Final = b"alphaforge.schema_version"
META_PRECISION: Final = b"precision"


class DataType(str, enum.Enum):
    """The kinds of data the catalog stores; the value is the catalog directory name."""

    QUOTES = "quotes"
    TRADES = "trades"
    BARS = "bars"
    BOOK_DELTAS = "book_deltas"
    INSTRUMENTS = "instruments"

    @classmethod
    def parse(cls, value: DataType | str) -> DataType:
        """Accept a :class:`DataType` or its value (``"quotes"``)."""
        if isinstance(value, DataType):
            return value
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(repr(d.value) for d in cls)
            raise InvalidValue("data_type", value, f"must be one of {names}") from None


QUOTE_DTYPE: Final = np.dtype(
    [
        ("ts_event", "<u8"),
        ("ts_init", "<u8"),
        ("bid_price", "<i8"),
        ("ask_price", "<i8"),
        ("bid_size", "<i8"),
        ("ask_size", "<i8"),
    ],
    align=True,
)
"""numpy record of a quote (48 bytes)."""

TRADE_DTYPE: Final = np.dtype(
    [
        ("ts_event", "<u8"),
        ("ts_init", "<u8"),
        ("price", "<i8"),
        ("size", "<i8"),
        ("aggressor_side", "u1"),
        ("trade_id", f"S{TRADE_ID_WIDTH}"),
    ],
    align=True,
)
"""numpy record of a trade (72 bytes); ``trade_id`` is ASCII/UTF-8 bytes, NUL-padded."""

BAR_DTYPE: Final = np.dtype(
    [
        ("ts_event", "<u8"),
        ("ts_init", "<u8"),
        ("open", "<i8"),
        ("high", "<i8"),
        ("low", "<i8"),
        ("close", "<i8"),
        ("volume", "<i8"),
    ],
    align=True,
)
"""numpy record of a bar (56 bytes)."""

BOOK_DELTA_DTYPE: Final[np.dtype[Any]] = _native.numpy_dtype("AfBookDelta")
"""numpy record of a book delta: the native order book's ``AfBookDelta`` (56 bytes), derived
from the header so a column goes to the book with no conversion."""

BOOK_DELTA_FIELDS: Final = (
    "ts_event",
    "ts_init",
    "sequence",
    "order_id",
    "price",
    "size",
    "action",
    "side",
    "flags",
)

PRICE_FIELDS: Final[Mapping[DataType, tuple[str, ...]]] = MappingProxyType(
    {
        DataType.QUOTES: ("bid_price", "ask_price"),
        DataType.TRADES: ("price",),
        DataType.BARS: ("open", "high", "low", "close"),
        DataType.BOOK_DELTAS: ("price",),
    }
)
"""Columns holding raw prices (all at the one ``price_precision``) per data type."""

SIZE_FIELDS: Final[Mapping[DataType, tuple[str, ...]]] = MappingProxyType(
    {
        DataType.QUOTES: ("bid_size", "ask_size"),
        DataType.TRADES: ("size",),
        DataType.BARS: ("volume",),
        DataType.BOOK_DELTAS: ("size",),
    }
)
"""Columns holding raw sizes (all at the one ``size_precision``) per data type."""


def book_delta_dtype() -> np.dtype[Any]:
    """The numpy record of a book delta (:data:`BOOK_DELTA_DTYPE`)."""
    return BOOK_DELTA_DTYPE


NUMPY_DTYPES: Final[Mapping[DataType, np.dtype[Any]]] = MappingProxyType(
    {
        DataType.QUOTES: QUOTE_DTYPE,
        DataType.TRADES: TRADE_DTYPE,
        DataType.BARS: BAR_DTYPE,
        DataType.BOOK_DELTAS: BOOK_DELTA_DTYPE,
    }
)
"""The default numpy dtype per data type (book deltas: see :func:`book_delta_dtype`)."""


def numpy_dtype(data_type: DataType | str) -> np.dtype[Any]:
    """The numpy record dtype used for ``data_type`` (resolves the native book-delta record)."""
    dt = DataType.parse(data_type)
    if dt is DataType.INSTRUMENTS:
        raise InvalidValue("data_type", dt.value, "instruments have no numpy form")
    return NUMPY_DTYPES[dt]


_U64 = pa.uint64()
_I64 = pa.int64()
_U8 = pa.uint8()

_COLUMN_TYPES: Final[Mapping[DataType, tuple[tuple[str, Any], ...]]] = MappingProxyType(
    {
        DataType.QUOTES: (
            ("ts_event", _U64),
            ("ts_init", _U64),
            ("bid_price", _I64),
            ("ask_price", _I64),
            ("bid_size", _I64),
            ("ask_size", _I64),
        ),
        DataType.TRADES: (
            ("ts_event", _U64),
            ("ts_init", _U64),
            ("price", _I64),
            ("size", _I64),
            ("aggressor_side", _U8),
            ("trade_id", pa.string()),
        ),
        DataType.BARS: (
            ("ts_event", _U64),
            ("ts_init", _U64),
            ("open", _I64),
            ("high", _I64),
            ("low", _I64),
            ("close", _I64),
            ("volume", _I64),
        ),
        DataType.BOOK_DELTAS: (
            ("ts_event", _U64),
            ("ts_init", _U64),
            ("sequence", _U64),
            ("order_id", _U64),
            ("price", _I64),
            ("size", _I64),
            ("action", _U8),
            ("side", _U8),
            ("flags", _U8),
        ),
    }
)


def column_names(data_type: DataType | str) -> tuple[str, ...]:
    """The Arrow column names of ``data_type`` in schema order."""
    return tuple(name for name, _ in _COLUMN_TYPES[DataType.parse(data_type)])


def arrow_schema(
    data_type: DataType | str,
    price_precision: int,
    size_precision: int,
    instrument_id: str,
    bar_type: str | None = None,
) -> Any:
    """The Arrow schema of ``data_type`` with precisions and identity in the metadata.

    Parameters
    ----------
    data_type
        quotes, trades, bars or book_deltas.
    price_precision, size_precision
        Stored as ``b"precision"`` field metadata on every price / size column.
    instrument_id
        ``"SYMBOL.VENUE"``.
    bar_type
        Required for bars (``"BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL"``), else ``None``.

    Returns
    -------
    pyarrow.Schema
    """
    dt = DataType.parse(data_type)
    if dt is DataType.INSTRUMENTS:
        return INSTRUMENT_SCHEMA
    prices, sizes = PRICE_FIELDS[dt], SIZE_FIELDS[dt]
    pmeta = {META_PRECISION: str(price_precision).encode()}
    smeta = {META_PRECISION: str(size_precision).encode()}
    fields = []
    for name, typ in _COLUMN_TYPES[dt]:
        meta = pmeta if name in prices else smeta if name in sizes else None
        fields.append(pa.field(name, typ, nullable=False, metadata=meta))
    meta = {
        META_DATA_TYPE: dt.value.encode(),
        META_INSTRUMENT_ID: instrument_id.encode(),
        META_VERSION: SCHEMA_VERSION.encode(),
    }
    if dt is DataType.BARS:
        if not bar_type:
            raise InvalidValue("bar_type", bar_type, "is required for bars")
        meta[META_BAR_TYPE] = bar_type.encode()
    return pa.schema(fields, metadata=meta)


def schema_info(schema: Any) -> tuple[DataType, str, str | None]:
    """``(data_type, instrument_id, bar_type)`` from an AlphaForge Arrow schema's metadata.

    Raises
    ------
    InvalidValue
        The schema carries no AlphaForge metadata.
    """
    meta = schema.metadata or {}
    raw_type = meta.get(META_DATA_TYPE)
    iid = meta.get(META_INSTRUMENT_ID)
    if raw_type is None or iid is None:
        raise InvalidValue(
            "schema", str(schema.names), "has no alphaforge.data_type/instrument_id metadata"
        )
    bar_type = meta.get(META_BAR_TYPE)
    return (
        DataType.parse(raw_type.decode()),
        iid.decode(),
        bar_type.decode() if bar_type is not None else None,
    )


def field_precision(field: Any) -> int:
    """The ``b"precision"`` metadata of an Arrow price/size field."""
    meta = field.metadata or {}
    raw = meta.get(META_PRECISION)
    if raw is None:
        raise InvalidValue("schema", field.name, "price/size column without precision metadata")
    return int(raw)


def schema_precisions(schema: Any, data_type: DataType | None = None) -> tuple[int, int]:
    """``(price_precision, size_precision)`` of an AlphaForge Arrow schema.

    If columns of one kind disagree (a table assembled by hand), the largest is returned; the
    columns are rescaled to it by :func:`alphaforge.data.arrays.MarketArray.from_arrow`.
    """
    dt = data_type if data_type is not None else schema_info(schema)[0]
    price = max(field_precision(schema.field(n)) for n in PRICE_FIELDS[dt])
    size = max(field_precision(schema.field(n)) for n in SIZE_FIELDS[dt])
    return price, size


# -- instruments -------------------------------------------------------------------------------

_STR = pa.string()

INSTRUMENT_SCHEMA: Final = pa.schema(
    [
        pa.field("kind", _STR, nullable=False),
        pa.field("id", _STR, nullable=False),
        pa.field("raw_symbol", _STR, nullable=False),
        pa.field("quote_currency", _STR, nullable=False),
        pa.field("quote_currency_precision", _U8, nullable=False),
        pa.field("base_currency", _STR),
        pa.field("base_currency_precision", _U8),
        pa.field("settlement_currency", _STR, nullable=False),
        pa.field("settlement_currency_precision", _U8, nullable=False),
        pa.field("is_inverse", pa.bool_(), nullable=False),
        pa.field("price_precision", _U8, nullable=False),
        pa.field("size_precision", _U8, nullable=False),
        pa.field("tick_size", _STR, nullable=False),
        pa.field("lot_size", _STR, nullable=False),
        pa.field("multiplier", _STR, nullable=False),
        pa.field("min_quantity", _STR),
        pa.field("max_quantity", _STR),
        pa.field("min_notional", _STR),
        pa.field("max_notional", _STR),
        pa.field("maker_fee", _STR, nullable=False),
        pa.field("taker_fee", _STR, nullable=False),
        pa.field("margin_init", _STR, nullable=False),
        pa.field("margin_maint", _STR, nullable=False),
        pa.field("ts_event", _U64, nullable=False),
        pa.field("ts_init", _U64, nullable=False),
        pa.field("underlying", _STR),
        pa.field("expiry_ns", _U64),
        pa.field("activation_ns", _U64),
        pa.field("option_kind", _STR),
        pa.field("strike", _STR),
    ],
    metadata={
        META_DATA_TYPE: DataType.INSTRUMENTS.value.encode(),
        META_VERSION: SCHEMA_VERSION.encode(),
    },
)
"""One row per instrument. Decimal fields are exact text (``str(Decimal)``, ``str(Price)``);
:class:`~alphaforge.model.Money` limits are the amount text in the notional currency."""

_KINDS: Final[Mapping[str, type[Instrument]]] = MappingProxyType(
    {
        "Instrument": Instrument,
        "CurrencyPair": CurrencyPair,
        "PerpetualContract": PerpetualContract,
        "FuturesContract": FuturesContract,
        "OptionContract": OptionContract,
    }
)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _money_text(value: Money | None) -> str | None:
    if value is None:
        return None
    return str(value.as_decimal())


def _instrument_row(inst: Instrument) -> dict[str, Any]:
    kind = type(inst).__name__
    if kind not in _KINDS:
        raise InvalidValue("instrument", repr(inst), "unsupported instrument class")
    base = inst.base_currency
    row: dict[str, Any] = {
        "kind": kind,
        "id": inst.id.value,
        "raw_symbol": inst.raw_symbol.value,
        "quote_currency": inst.quote_currency.code,
        "quote_currency_precision": inst.quote_currency.precision,
        "base_currency": base.code if base is not None else None,
        "base_currency_precision": base.precision if base is not None else None,
        "settlement_currency": inst.settlement_currency.code,
        "settlement_currency_precision": inst.settlement_currency.precision,
        "is_inverse": inst.is_inverse,
        "price_precision": inst.price_precision,
        "size_precision": inst.size_precision,
        "tick_size": str(inst.tick_size),
        "lot_size": str(inst.lot_size),
        "multiplier": str(inst.multiplier),
        "min_quantity": _opt_str(inst.min_quantity),
        "max_quantity": _opt_str(inst.max_quantity),
        "min_notional": _money_text(inst.min_notional),
        "max_notional": _money_text(inst.max_notional),
        "maker_fee": str(inst.maker_fee),
        "taker_fee": str(inst.taker_fee),
        "margin_init": str(inst.margin_init),
        "margin_maint": str(inst.margin_maint),
        "ts_event": inst.ts_event,
        "ts_init": inst.ts_init,
        "underlying": None,
        "expiry_ns": None,
        "activation_ns": None,
        "option_kind": None,
        "strike": None,
    }
    if isinstance(inst, (FuturesContract, OptionContract)):
        row["underlying"] = inst.underlying
        row["expiry_ns"] = inst.expiry_ns
        row["activation_ns"] = inst.activation_ns
    if isinstance(inst, OptionContract):
        row["option_kind"] = inst.kind.name
        row["strike"] = str(inst.strike)
    return row


def instruments_to_table(instruments: Iterable[Instrument]) -> Any:
    """Serialize instruments (every field, exactly) into one Arrow table.

    Returns
    -------
    pyarrow.Table
        With :data:`INSTRUMENT_SCHEMA`.
    """
    rows = [_instrument_row(inst) for inst in instruments]
    return pa.Table.from_pylist(rows, schema=INSTRUMENT_SCHEMA)


def _row_to_instrument(row: Mapping[str, Any]) -> Instrument:
    cls = _KINDS.get(row["kind"])
    if cls is None:
        raise InvalidValue("kind", row["kind"], "unknown instrument kind")
    quote = Currency(row["quote_currency"], row["quote_currency_precision"])
    settlement = Currency(row["settlement_currency"], row["settlement_currency_precision"])
    base = (
        Currency(row["base_currency"], row["base_currency_precision"])
        if row["base_currency"] is not None
        else None
    )
    notional_cur = base if row["is_inverse"] and base is not None else quote

    def money(text: str | None) -> Money | None:
        return None if text is None else Money(Decimal(text), notional_cur)

    def qty(text: str | None) -> Quantity | None:
        return None if text is None else Quantity(text)

    kwargs: dict[str, Any] = {
        "id": InstrumentId.from_str(row["id"]),
        "raw_symbol": Symbol(row["raw_symbol"]),
        "quote_currency": quote,
        "price_precision": row["price_precision"],
        "size_precision": row["size_precision"],
        "base_currency": base,
        "is_inverse": row["is_inverse"],
        "settlement_currency": settlement,
        "tick_size": Price(row["tick_size"]),
        "lot_size": Quantity(row["lot_size"]),
        "multiplier": Decimal(row["multiplier"]),
        "min_quantity": qty(row["min_quantity"]),
        "max_quantity": qty(row["max_quantity"]),
        "min_notional": money(row["min_notional"]),
        "max_notional": money(row["max_notional"]),
        "maker_fee": Decimal(row["maker_fee"]),
        "taker_fee": Decimal(row["taker_fee"]),
        "margin_init": Decimal(row["margin_init"]),
        "margin_maint": Decimal(row["margin_maint"]),
        "ts_event": row["ts_event"],
        "ts_init": row["ts_init"],
    }
    if cls is FuturesContract or cls is OptionContract:
        kwargs["underlying"] = row["underlying"]
        kwargs["expiry_ns"] = row["expiry_ns"]
        kwargs["activation_ns"] = row["activation_ns"]
    if cls is OptionContract:
        kwargs["kind"] = OptionKind[row["option_kind"]]
        kwargs["strike"] = Price(row["strike"])
    return cls(**kwargs)


def table_to_instruments(table: Any) -> list[Instrument]:
    """Rebuild model instruments from a table made by :func:`instruments_to_table`."""
    rows: Sequence[Mapping[str, Any]] = table.to_pylist()
    return [_row_to_instrument(row) for row in rows]
