"""Importer for Binance public-data CSV files (data.binance.vision layouts).

=============  ==============================================================================
kind           columns (spot / USD-M futures), output
=============  ==============================================================================
trades         id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match (spot)]
               -> trades (``is_buyer_maker`` true = the seller took liquidity: SELLER)
aggTrades      agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time,
               is_buyer_maker[, is_best_match (spot)] -> trades (trade id = agg_trade_id)
klines         open_time, open, high, low, close, volume, close_time, quote_volume, count,
               taker_buy_volume, taker_buy_quote_volume, ignore -> bars stamped at
               ``close_time + 1 unit`` (when the bar is complete: no look-ahead)
bookTicker     update_id, best_bid_price, best_bid_qty, best_ask_price, best_ask_qty,
               transaction_time, event_time -> quotes (ts_event = transaction_time,
               ts_init = event_time)
depth          symbol, timestamp, first_update_id, last_update_id, side (b/a), update_type
               (snap/set), price, qty, pu -> book deltas (sequence = last_update_id; qty 0 =
               DELETE; a CLEAR precedes a snapshot)
=============  ==============================================================================

* Files may or may not start with a header row (older spot files have none; futures files
  do); this is detected from the first line. Spot and futures layouts are told apart by the
  number of columns (``market="auto"``) or given.
* Timestamps are epoch milliseconds, or microseconds in spot files from 2025 on: the unit is
  detected from the magnitude (``timestamp_unit="auto"``) or given.
* ``.csv``, ``.csv.gz`` and the ``.zip`` archives Binance serves are read directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np

from alphaforge.data._parse import (
    TIMESTAMP_UNITS,
    detect_unit,
    parse_choice,
    parse_decimals,
    parse_timestamps,
    parse_uints,
    strings_to_fixed_bytes,
)
from alphaforge.data.arrays import MarketArray
from alphaforge.data.catalog import ParquetDataCatalog, WriteMode
from alphaforge.data.errors import DataImportError
from alphaforge.data.importers._checks import check_bars, parse_unified, precisions_for
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
from alphaforge.data.schemas import TRADE_ID_WIDTH, DataType, numpy_dtype
from alphaforge.errors import InvalidValue
from alphaforge.model.data import F_SNAPSHOT, BarType
from alphaforge.model.enums import AggressorSide, BookAction, OrderSide
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.instruments import Instrument

__all__ = ["BinanceKind", "import_binance", "load_binance", "read_binance"]

BinanceKind = Literal["trades", "aggTrades", "klines", "bookTicker", "depth"]
Market = Literal["auto", "spot", "futures"]

_TRADES_SPOT: Final = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
_AGG_SPOT: Final = (
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
)
_KLINES: Final = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
_BOOK_TICKER: Final = (
    "update_id",
    "best_bid_price",
    "best_bid_qty",
    "best_ask_price",
    "best_ask_qty",
    "transaction_time",
    "event_time",
)
_DEPTH: Final = (
    "symbol",
    "timestamp",
    "first_update_id",
    "last_update_id",
    "side",
    "update_type",
    "price",
    "qty",
    "pu",
)


def _both(columns: tuple[str, ...]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({"spot": columns, "futures": columns})


_LAYOUTS: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = MappingProxyType(
    {
        # futures files lack the spot-only is_best_match column
        "trades": MappingProxyType({"spot": _TRADES_SPOT, "futures": _TRADES_SPOT[:-1]}),
        "aggTrades": MappingProxyType({"spot": _AGG_SPOT, "futures": _AGG_SPOT[:-1]}),
        "klines": _both(_KLINES),
        "bookTicker": _both(_BOOK_TICKER),
        "depth": _both(_DEPTH),
    }
)

_MAKER_SIDE: Final[Mapping[str, int]] = MappingProxyType(
    {
        "true": int(AggressorSide.SELLER),
        "True": int(AggressorSide.SELLER),
        "TRUE": int(AggressorSide.SELLER),
        "false": int(AggressorSide.BUYER),
        "False": int(AggressorSide.BUYER),
        "FALSE": int(AggressorSide.BUYER),
    }
)
_INTERVALS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "1s": "1-SECOND",
        "1m": "1-MINUTE",
        "3m": "3-MINUTE",
        "5m": "5-MINUTE",
        "15m": "15-MINUTE",
        "30m": "30-MINUTE",
        "1h": "1-HOUR",
        "2h": "2-HOUR",
        "4h": "4-HOUR",
        "6h": "6-HOUR",
        "8h": "8-HOUR",
        "12h": "12-HOUR",
        "1d": "1-DAY",
        "3d": "3-DAY",
        "1w": "7-DAY",
    }
)
_INTERVAL_IN_NAME: Final = re.compile(r"-(1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w)-")


def _layout(path: PathLike, kind: str, market: Market) -> tuple[tuple[str, ...], int]:
    """Column names and header lines of a file."""
    if kind not in _LAYOUTS:
        raise InvalidValue("kind", kind, f"must be one of {', '.join(_LAYOUTS)}")
    if market not in ("auto", "spot", "futures"):
        raise InvalidValue("market", market, "must be 'auto', 'spot' or 'futures'")
    first = read_first_line(path)
    fields = first.split(",")
    time_field = fields[1] if kind == "depth" and len(fields) > 1 else fields[0]
    header = bool(first) and not time_field.strip().isdigit()
    layouts = _LAYOUTS[kind]
    by_count = {len(cols): m for m, cols in layouts.items()}
    if market == "auto":
        found = by_count.get(len(fields))
        if found is None and first:
            expected = " or ".join(sorted({str(n) for n in by_count}))
            raise DataImportError(
                str(path), 1, None, first, f"{expected} columns of a Binance {kind} file"
            )
        market = found or "futures"  # type: ignore[assignment]
    names = layouts[market]
    if first and len(fields) != len(names):
        raise DataImportError(
            str(path), 1, None, first, f"{len(names)} columns of a Binance {market} {kind} file"
        )
    return names, 1 if header else 0


def _bar_type(path: PathLike, instrument_id: str, bar_type: str | BarType | None) -> str:
    if bar_type is not None:
        bt = bar_type if isinstance(bar_type, BarType) else BarType.from_str(bar_type)
        if str(bt.instrument_id) != instrument_id:
            raise InvalidValue("bar_type", str(bt), f"is not for instrument {instrument_id}")
        return str(bt)
    m = _INTERVAL_IN_NAME.search(Path(path).name)
    if m is None:
        raise InvalidValue(
            "bar_type", None, f"cannot infer the kline interval from {Path(path).name!r}; pass it"
        )
    return str(BarType.from_str(f"{instrument_id}-{_INTERVALS[m.group(1)]}-LAST-EXTERNAL"))


def read_binance(
    path: PathLike,
    kind: BinanceKind,
    instrument_id: str | InstrumentId,
    *,
    market: Market = "auto",
    timestamp_unit: str = "auto",
    price_precision: int | None = None,
    size_precision: int | None = None,
    instrument: Instrument | None = None,
    bar_type: str | BarType | None = None,
    sort: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[MarketArray]:
    """Stream a Binance CSV file as :class:`MarketArray` chunks.

    Parameters
    ----------
    path
        ``.csv``, ``.csv.gz`` or Binance's single-file ``.zip``.
    kind
        ``"trades"``, ``"aggTrades"``, ``"klines"``, ``"bookTicker"`` or ``"depth"``.
    instrument_id
        The instrument the rows belong to (``"BTCUSDT.BINANCE"``).
    market
        ``"spot"``, ``"futures"`` or ``"auto"`` (from the column count).
    timestamp_unit
        ``"auto"`` (ms or us from the magnitude), ``"ms"``, ``"us"``, ...
    price_precision, size_precision
        Precisions to parse at; digits beyond them must be zeros. Default: ``instrument``'s,
        else inferred per chunk (the most fraction digits written).
    instrument
        Supplies default precisions.
    bar_type
        klines only; default from the interval in the file name (``...-1m-...``), e.g.
        ``"ADABTC.BINANCE-1-MINUTE-LAST-EXTERNAL"``.
    sort
        Sort rows by ``ts_init`` (holds the file in memory) instead of raising
        :class:`~alphaforge.data.errors.OutOfOrderError`.
    block_size
        Bytes of text per chunk.

    Raises
    ------
    DataImportError
        A malformed row (file, line, column, expectation in the message); out-of-order rows.
    """
    iid = str(
        instrument_id
        if isinstance(instrument_id, InstrumentId)
        else InstrumentId.from_str(instrument_id)
    )
    pp, sp = precisions_for(price_precision, size_precision, instrument)
    names, skip = _layout(path, kind, market)
    if kind in ("trades", "aggTrades"):
        cols = _trade_columns(kind, names)
        parse = _trade_parser(path, iid, cols, timestamp_unit, pp, sp)
        include = list(cols.values())
        ts_column = cols["time"]
        builder = None
    elif kind == "klines":
        bt = _bar_type(path, iid, bar_type)
        parse = _kline_parser(path, iid, bt, timestamp_unit, pp, sp)
        include = ["open", "high", "low", "close", "volume", "close_time"]
        ts_column = "close_time"
        builder = None
    elif kind == "bookTicker":
        parse = _book_ticker_parser(path, iid, timestamp_unit, pp, sp)
        include = [
            "best_bid_price",
            "best_bid_qty",
            "best_ask_price",
            "best_ask_qty",
            "transaction_time",
            "event_time",
        ]
        ts_column = "event_time"
        builder = None
    else:
        parse = _depth_parser(path, iid, timestamp_unit, pp, sp)
        include = ["timestamp", "last_update_id", "side", "update_type", "price", "qty"]
        ts_column = "timestamp"
        builder = DeltaBuilder()
    batches = iter_string_batches(path, names, include, skip_rows=skip, block_size=block_size)
    return run_pipeline(path, batches, parse, ts_column=ts_column, sort=sort, builder=builder)


def _trade_columns(kind: str, names: tuple[str, ...]) -> dict[str, str]:
    if kind == "trades":
        return {
            "id": "id",
            "price": "price",
            "qty": "qty",
            "time": "time",
            "maker": "is_buyer_maker",
        }
    return {
        "id": "agg_trade_id",
        "price": "price",
        "qty": "quantity",
        "time": "transact_time",
        "maker": "is_buyer_maker",
    }


def _trade_parser(
    path: PathLike, iid: str, cols: dict[str, str], unit: str, pp: int | None, sp: int | None
) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        out = np.zeros(batch.num_rows, dtype=numpy_dtype(DataType.TRADES))
        ts = parse_timestamps(batch.column(cols["time"]), unit, ctx(path, line, cols["time"]))
        price, ppx = parse_decimals(batch.column("price"), pp, ctx(path, line, "price"))
        size, spx = parse_decimals(
            batch.column(cols["qty"]), sp, ctx(path, line, cols["qty"]), non_negative=True
        )
        out["ts_event"] = ts
        out["ts_init"] = ts
        out["price"] = price
        out["size"] = size
        out["aggressor_side"] = parse_choice(
            batch.column(cols["maker"]),
            _MAKER_SIDE,
            ctx(path, line, cols["maker"]),
            "true or false",
        )
        out["trade_id"] = strings_to_fixed_bytes(
            batch.column(cols["id"]), TRADE_ID_WIDTH, ctx(path, line, cols["id"])
        )
        ma = MarketArray(DataType.TRADES, iid, out, ppx, spx)
        return Parsed(ma, out["ts_init"], line)

    return parse


def _kline_parser(
    path: PathLike, iid: str, bar_type: str, unit: str, pp: int | None, sp: int | None
) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        n = batch.num_rows
        out = np.zeros(n, dtype=numpy_dtype(DataType.BARS))
        close_col = batch.column("close_time")
        c = ctx(path, line, "close_time")
        ts = parse_timestamps(close_col, unit, c)
        file_unit = unit
        if unit == "auto" and n:
            file_unit = detect_unit(close_col[0].as_py()) or "ms"
        step = np.uint64(TIMESTAMP_UNITS.get(file_unit, 10**6))
        ts = ts + step  # close_time is the last unit of the bar
        names = ("open", "high", "low", "close")
        raws, target = parse_unified(batch, names, pp, path, line)
        for name, raw in zip(names, raws, strict=True):
            out[name] = raw
        volume, spx = parse_decimals(
            batch.column("volume"), sp, ctx(path, line, "volume"), non_negative=True
        )
        out["volume"] = volume
        out["ts_event"] = ts
        out["ts_init"] = ts
        check_bars(out, path, line, batch)
        ma = MarketArray(DataType.BARS, iid, out, target, spx, bar_type=bar_type)
        return Parsed(ma, out["ts_init"], line)

    return parse


def _book_ticker_parser(path: PathLike, iid: str, unit: str, pp: int | None, sp: int | None) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        out = np.zeros(batch.num_rows, dtype=numpy_dtype(DataType.QUOTES))
        out["ts_event"] = parse_timestamps(
            batch.column("transaction_time"), unit, ctx(path, line, "transaction_time")
        )
        out["ts_init"] = parse_timestamps(
            batch.column("event_time"), unit, ctx(path, line, "event_time")
        )
        (bid, ask), ppx = parse_unified(batch, ("best_bid_price", "best_ask_price"), pp, path, line)
        (bsz, asz), spx = parse_unified(
            batch, ("best_bid_qty", "best_ask_qty"), sp, path, line, non_negative=True
        )
        out["bid_price"] = bid
        out["ask_price"] = ask
        out["bid_size"] = bsz
        out["ask_size"] = asz
        ma = MarketArray(DataType.QUOTES, iid, out, ppx, spx)
        return Parsed(ma, out["ts_init"], line)

    return parse


_DEPTH_SIDE: Final[Mapping[str, int]] = MappingProxyType(
    {"b": int(OrderSide.BUY), "a": int(OrderSide.SELL)}
)
_DEPTH_TYPE: Final[Mapping[str, int]] = MappingProxyType({"snap": 1, "set": 0})


def _depth_parser(path: PathLike, iid: str, unit: str, pp: int | None, sp: int | None) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        out = np.zeros(batch.num_rows, dtype=numpy_dtype(DataType.BOOK_DELTAS))
        ts = parse_timestamps(batch.column("timestamp"), unit, ctx(path, line, "timestamp"))
        seq = parse_uints(
            batch.column("last_update_id"), ctx(path, line, "last_update_id"), "an update id"
        )
        side = parse_choice(batch.column("side"), _DEPTH_SIDE, ctx(path, line, "side"))
        snap = parse_choice(
            batch.column("update_type"), _DEPTH_TYPE, ctx(path, line, "update_type")
        ).astype(bool)
        price, ppx = parse_decimals(batch.column("price"), pp, ctx(path, line, "price"))
        size, spx = parse_decimals(
            batch.column("qty"), sp, ctx(path, line, "qty"), non_negative=True
        )
        out["ts_event"] = ts
        out["ts_init"] = ts
        out["sequence"] = seq
        out["side"] = side
        out["price"] = price
        out["size"] = size
        out["action"] = np.where(
            size == 0,
            int(BookAction.DELETE),
            np.where(snap, int(BookAction.ADD), int(BookAction.UPDATE)),
        )
        out["flags"] = np.where(snap, F_SNAPSHOT, 0)
        ma = MarketArray(DataType.BOOK_DELTAS, iid, out, ppx, spx)
        return Parsed(ma, out["ts_init"], line)

    return parse


def load_binance(
    path: PathLike, kind: BinanceKind, instrument_id: str | InstrumentId, **kwargs: Any
) -> MarketArray:
    """:func:`read_binance` into one :class:`MarketArray` (precisions unified)."""
    chunks = list(read_binance(path, kind, instrument_id, **kwargs))
    if not chunks:
        raise DataImportError(str(path), None, None, "", "at least one data row")
    return unify(chunks)


def import_binance(
    catalog: ParquetDataCatalog,
    path: PathLike,
    kind: BinanceKind,
    instrument_id: str | InstrumentId,
    *,
    mode: WriteMode = "append",
    **kwargs: Any,
) -> ImportResult:
    """Import a Binance CSV into ``catalog``, all or nothing (see :func:`read_binance`).

    Returns
    -------
    ImportResult
    """
    return write_import(catalog, path, read_binance(path, kind, instrument_id, **kwargs), mode)
