"""Importer for Tardis.dev CSV datasets (``tardis-dev`` / ``datasets.tardis.dev`` layouts).

=====================  ==========================================================================
kind                   columns (all files have a header; columns are found by name)
=====================  ==========================================================================
trades                 exchange, symbol, timestamp, local_timestamp, id, side (buy/sell/unknown
                       = aggressor), price, amount -> trades
quotes                 exchange, symbol, timestamp, local_timestamp, ask_amount, ask_price,
                       bid_price, bid_amount -> quotes
incremental_book_L2    exchange, symbol, timestamp, local_timestamp, is_snapshot, side
                       (bid/ask), price, amount (new level size; 0 deletes) -> book deltas
book_snapshot          exchange, symbol, timestamp, local_timestamp, asks[i].price,
                       asks[i].amount, bids[i].price, bids[i].amount for i < N (any N; empty
                       cells = fewer levels) -> book deltas (CLEAR + one ADD per level per row),
                       or quotes from level 0 with ``as_quotes=True``
=====================  ==========================================================================

Timestamps are epoch microseconds. ``ts_event`` = ``timestamp`` (exchange time), ``ts_init`` =
``local_timestamp`` (when Tardis received the message; the files are ordered by it). Book
deltas: ``amount == 0`` is a DELETE, a snapshot row an ADD (``F_SNAPSHOT``), any other row an
UPDATE that sets the level's size; a CLEAR is inserted before every snapshot that follows
incremental rows (and at the start of the file); ``F_LAST`` closes every run of rows that share
the timestamps; ``sequence`` is 0 (Tardis has none). Trade rows without an id get ``"L<line>"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from alphaforge.data._arrow import pa, pc
from alphaforge.data._parse import (
    ColumnContext,
    parse_choice,
    parse_decimals,
    parse_timestamps,
    strings_to_fixed_bytes,
)
from alphaforge.data.arrays import MarketArray
from alphaforge.data.catalog import ParquetDataCatalog, WriteMode
from alphaforge.data.errors import DataImportError
from alphaforge.data.importers._checks import parse_unified, precisions_for, unify_precisions
from alphaforge.data.importers._common import (
    DEFAULT_BLOCK_SIZE,
    DeltaBuilder,
    ImportResult,
    Parsed,
    PathLike,
    ctx,
    iter_string_batches,
    open_binary,
    run_pipeline,
    unify,
    write_import,
)
from alphaforge.data.schemas import TRADE_ID_WIDTH, DataType, numpy_dtype
from alphaforge.errors import InvalidValue
from alphaforge.model.data import F_LAST, F_SNAPSHOT
from alphaforge.model.enums import AggressorSide, BookAction, OrderSide
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.instruments import Instrument

__all__ = ["TardisKind", "import_tardis", "load_tardis", "read_tardis"]

TardisKind = Literal["trades", "quotes", "incremental_book_L2", "book_snapshot"]

_REQUIRED: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "trades": ("symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"),
        "quotes": (
            "symbol",
            "timestamp",
            "local_timestamp",
            "ask_amount",
            "ask_price",
            "bid_price",
            "bid_amount",
        ),
        "incremental_book_L2": (
            "symbol",
            "timestamp",
            "local_timestamp",
            "is_snapshot",
            "side",
            "price",
            "amount",
        ),
        "book_snapshot": ("symbol", "timestamp", "local_timestamp"),
    }
)
_AGGRESSOR: Final[Mapping[str, int]] = MappingProxyType(
    {
        "buy": int(AggressorSide.BUYER),
        "sell": int(AggressorSide.SELLER),
        "unknown": int(AggressorSide.NO_AGGRESSOR),
        "": int(AggressorSide.NO_AGGRESSOR),
    }
)
_BOOK_SIDE: Final[Mapping[str, int]] = MappingProxyType(
    {"bid": int(OrderSide.BUY), "ask": int(OrderSide.SELL)}
)
_BOOL: Final[Mapping[str, int]] = MappingProxyType({"true": 1, "false": 0})
_LEVEL: Final = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")


def _head(path: PathLike) -> tuple[list[str], list[str] | None]:
    """Header fields and the first data row's fields (``None`` if there is none)."""
    with open_binary(path) as fh:
        text = fh.read(1 << 16).decode("utf-8", errors="replace")
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise DataImportError(str(path), 1, None, "", "a Tardis CSV header row")
    header = lines[0].split(",")
    first = lines[1].split(",") if len(lines) > 1 and lines[1] else None
    return header, first


def _instrument_id(
    path: PathLike, header: list[str], first: list[str] | None, given: str | InstrumentId | None
) -> str:
    if given is not None:
        return str(given if isinstance(given, InstrumentId) else InstrumentId.from_str(given))
    if first is None or "exchange" not in header:
        raise InvalidValue("instrument_id", None, f"cannot be derived from {path}; pass it")
    exchange = first[header.index("exchange")]
    symbol = first[header.index("symbol")]
    return str(InstrumentId.from_str(f"{symbol}.{exchange.upper()}"))


def _check_symbol(batch: Any, path: PathLike, line: int, state: dict[str, str]) -> None:
    column = batch.column("symbol")
    if not len(column):
        return
    expected = state.setdefault("symbol", column[0].as_py())
    same = pc.equal(column, pa.scalar(expected, pa.string()))
    if not pc.all(same).as_py():
        row = int(np.flatnonzero(~np.asarray(same.to_numpy(zero_copy_only=False)))[0])
        raise DataImportError(
            str(path),
            line + row,
            "symbol",
            column[row].as_py(),
            f"{expected!r} (one symbol per file)",
        )


def _times(
    batch: Any, path: PathLike, line: int, unit: str
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    ts_event = parse_timestamps(batch.column("timestamp"), unit, ctx(path, line, "timestamp"))
    ts_init = parse_timestamps(
        batch.column("local_timestamp"), unit, ctx(path, line, "local_timestamp")
    )
    return ts_event, ts_init


def read_tardis(
    path: PathLike,
    kind: TardisKind,
    instrument_id: str | InstrumentId | None = None,
    *,
    timestamp_unit: str = "us",
    price_precision: int | None = None,
    size_precision: int | None = None,
    instrument: Instrument | None = None,
    as_quotes: bool = False,
    sort: bool = False,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[MarketArray]:
    """Stream a Tardis CSV file (``.csv`` or ``.csv.gz``) as :class:`MarketArray` chunks.

    Parameters
    ----------
    path
        The file.
    kind
        ``"trades"``, ``"quotes"``, ``"incremental_book_L2"`` or ``"book_snapshot"``.
    instrument_id
        Default: ``SYMBOL.EXCHANGE`` from the first row (``BTCUSDT.BINANCE-FUTURES``).
    timestamp_unit
        Unit of ``timestamp``/``local_timestamp`` (Tardis: ``"us"``).
    price_precision, size_precision, instrument
        Precisions (explicit, else the instrument's, else inferred per chunk).
    as_quotes
        ``book_snapshot`` only: emit quotes from the top level instead of deltas.
    sort
        Sort by ``ts_init`` instead of raising on out-of-order rows (holds the file in memory).
    block_size
        Bytes of text per chunk.

    Raises
    ------
    DataImportError
        Missing columns, a malformed row (file, line, column named), several symbols in one
        file, out-of-order ``local_timestamp``.
    """
    if kind not in _REQUIRED:
        raise InvalidValue("kind", kind, f"must be one of {', '.join(_REQUIRED)}")
    header, first = _head(path)
    missing = [c for c in _REQUIRED[kind] if c not in header]
    if missing:
        raise DataImportError(
            str(path), 1, None, ",".join(header), f"a Tardis {kind} header with {missing}"
        )
    iid = _instrument_id(path, header, first, instrument_id)
    pp, sp = precisions_for(price_precision, size_precision, instrument)
    state: dict[str, str] = {}
    builder: DeltaBuilder | None = None
    if kind == "trades":
        include = list(_REQUIRED[kind])
        parse = _trade_parser(path, iid, timestamp_unit, pp, sp, state)
    elif kind == "quotes":
        include = list(_REQUIRED[kind])
        parse = _quote_parser(path, iid, timestamp_unit, pp, sp, state)
    elif kind == "incremental_book_L2":
        include = list(_REQUIRED[kind])
        parse = _l2_parser(path, iid, timestamp_unit, pp, sp, state)
        builder = DeltaBuilder()
    else:
        levels = _snapshot_levels(path, header)
        if as_quotes:
            levels = levels[:1]
        include = [*_REQUIRED[kind]]
        for i in range(len(levels)):
            include += [f"bids[{i}].price", f"bids[{i}].amount"]
            include += [f"asks[{i}].price", f"asks[{i}].amount"]
        parse = _snapshot_parser(path, iid, timestamp_unit, pp, sp, len(levels), as_quotes, state)
    batches = iter_string_batches(path, header, include, skip_rows=1, block_size=block_size)
    return run_pipeline(
        path, batches, parse, ts_column="local_timestamp", sort=sort, builder=builder
    )


def _snapshot_levels(path: PathLike, header: list[str]) -> list[int]:
    found: dict[int, set[str]] = {}
    for name in header:
        m = _LEVEL.match(name)
        if m:
            found.setdefault(int(m.group(2)), set()).add(f"{m.group(1)}.{m.group(3)}")
    full = {"asks.price", "asks.amount", "bids.price", "bids.amount"}
    levels = sorted(found)
    if not levels or levels != list(range(len(levels))) or any(found[i] != full for i in levels):
        raise DataImportError(
            str(path),
            1,
            None,
            ",".join(header),
            "bids[i].price/amount and asks[i].price/amount columns for i = 0..N-1",
        )
    return levels


def _trade_parser(
    path: PathLike, iid: str, unit: str, pp: int | None, sp: int | None, state: dict[str, str]
) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        _check_symbol(batch, path, line, state)
        n = batch.num_rows
        out = np.zeros(n, dtype=numpy_dtype(DataType.TRADES))
        out["ts_event"], out["ts_init"] = _times(batch, path, line, unit)
        price, ppx = parse_decimals(batch.column("price"), pp, ctx(path, line, "price"))
        size, spx = parse_decimals(
            batch.column("amount"), sp, ctx(path, line, "amount"), non_negative=True
        )
        out["price"] = price
        out["size"] = size
        out["aggressor_side"] = parse_choice(
            batch.column("side"), _AGGRESSOR, ctx(path, line, "side"), "buy, sell or unknown"
        )
        ids = batch.column("id")
        empty = pc.equal(pc.binary_length(ids), 0)
        if pc.any(empty).as_py():
            generated = pa.array([f"L{line + i}" for i in range(n)], type=pa.string())
            ids = pc.if_else(empty, generated, ids)
        out["trade_id"] = strings_to_fixed_bytes(ids, TRADE_ID_WIDTH, ctx(path, line, "id"))
        return Parsed(MarketArray(DataType.TRADES, iid, out, ppx, spx), out["ts_init"], line)

    return parse


def _quote_parser(
    path: PathLike, iid: str, unit: str, pp: int | None, sp: int | None, state: dict[str, str]
) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        _check_symbol(batch, path, line, state)
        out = np.zeros(batch.num_rows, dtype=numpy_dtype(DataType.QUOTES))
        out["ts_event"], out["ts_init"] = _times(batch, path, line, unit)
        (bid, ask), ppx = parse_unified(batch, ("bid_price", "ask_price"), pp, path, line)
        (bsz, asz), spx = parse_unified(
            batch, ("bid_amount", "ask_amount"), sp, path, line, non_negative=True
        )
        out["bid_price"], out["ask_price"] = bid, ask
        out["bid_size"], out["ask_size"] = bsz, asz
        return Parsed(MarketArray(DataType.QUOTES, iid, out, ppx, spx), out["ts_init"], line)

    return parse


def _l2_parser(
    path: PathLike, iid: str, unit: str, pp: int | None, sp: int | None, state: dict[str, str]
) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        _check_symbol(batch, path, line, state)
        out = np.zeros(batch.num_rows, dtype=numpy_dtype(DataType.BOOK_DELTAS))
        out["ts_event"], out["ts_init"] = _times(batch, path, line, unit)
        snap = parse_choice(
            batch.column("is_snapshot"), _BOOL, ctx(path, line, "is_snapshot"), "true or false"
        ).astype(bool)
        out["side"] = parse_choice(batch.column("side"), _BOOK_SIDE, ctx(path, line, "side"))
        price, ppx = parse_decimals(batch.column("price"), pp, ctx(path, line, "price"))
        size, spx = parse_decimals(
            batch.column("amount"), sp, ctx(path, line, "amount"), non_negative=True
        )
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


def _level_column(
    batch: Any, name: str, precision: int | None, path: PathLike, line: int, non_negative: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], int]:
    """Parse a level column whose empty cells mean "no level"."""
    column = batch.column(name)
    present = np.asarray(pc.binary_length(column).to_numpy(zero_copy_only=False)) > 0
    if present.all():
        values, p = parse_decimals(
            column, precision, ctx(path, line, name), non_negative=non_negative
        )
        return values, present, p
    raw = np.zeros(len(column), dtype=np.int64)
    rows = np.flatnonzero(present)
    if not len(rows):
        return raw, present, 0 if precision is None else precision
    values, p = parse_decimals(
        column.take(pa.array(rows)),
        precision,
        ColumnContext(str(path), line, name, rows),
        non_negative=non_negative,
    )
    raw[rows] = values
    return raw, present, p


def _snapshot_parser(
    path: PathLike,
    iid: str,
    unit: str,
    pp: int | None,
    sp: int | None,
    depth: int,
    as_quotes: bool,
    state: dict[str, str],
) -> Any:
    def parse(line: int, batch: Any) -> Parsed:
        _check_symbol(batch, path, line, state)
        n = batch.num_rows
        ts_event, ts_init = _times(batch, path, line, unit)
        prices: list[tuple[npt.NDArray[np.int64], int]] = []
        sizes: list[tuple[npt.NDArray[np.int64], int]] = []
        present: list[npt.NDArray[np.bool_]] = []
        names: list[str] = []
        sides: list[int] = []
        for i in range(depth):
            for side_name, side in (("bids", OrderSide.BUY), ("asks", OrderSide.SELL)):
                pname, sname = f"{side_name}[{i}].price", f"{side_name}[{i}].amount"
                praw, pok, pprec = _level_column(batch, pname, pp, path, line, False)
                sraw, sok, sprec = _level_column(batch, sname, sp, path, line, True)
                if (pok != sok).any():
                    row = int(np.flatnonzero(pok != sok)[0])
                    raise DataImportError(
                        str(path),
                        line + row,
                        sname,
                        batch.column(sname)[row].as_py(),
                        f"a value exactly when {pname} has one",
                    )
                prices.append((praw, pprec))
                sizes.append((sraw, sprec))
                present.append(pok)
                names.append(pname)
                sides.append(int(side))
        price_cols, ppx = unify_precisions(prices, str(path), line, names)
        size_cols, spx = unify_precisions(sizes, str(path), line, names)
        if as_quotes:
            if not (present[0].all() and present[1].all()):
                bad = int(np.flatnonzero(~(present[0] & present[1]))[0])
                raise DataImportError(
                    str(path), line + bad, "bids[0].price", "", "a top-of-book bid and ask"
                )
            out = np.zeros(n, dtype=numpy_dtype(DataType.QUOTES))
            out["ts_event"], out["ts_init"] = ts_event, ts_init
            out["bid_price"], out["ask_price"] = price_cols[0], price_cols[1]
            out["bid_size"], out["ask_size"] = size_cols[0], size_cols[1]
            return Parsed(MarketArray(DataType.QUOTES, iid, out, ppx, spx), ts_init, line)
        levels = len(price_cols)
        # per row: CLEAR, then each present level (bids and asks interleaved by depth)
        valid = np.ones((n, levels + 1), dtype=bool)
        valid[:, 1:] = np.stack(present, axis=1)
        price_m = np.zeros((n, levels + 1), dtype=np.int64)
        price_m[:, 1:] = np.stack(price_cols, axis=1)
        size_m = np.zeros((n, levels + 1), dtype=np.int64)
        size_m[:, 1:] = np.stack(size_cols, axis=1)
        side_m = np.zeros((n, levels + 1), dtype=np.uint8)
        side_m[:, 1:] = np.array(sides, dtype=np.uint8)[None, :]
        action_m = np.full((n, levels + 1), int(BookAction.ADD), dtype=np.uint8)
        action_m[:, 0] = int(BookAction.CLEAR)
        flat = valid.ravel()
        counts = valid.sum(axis=1)
        out = np.zeros(int(counts.sum()), dtype=numpy_dtype(DataType.BOOK_DELTAS))
        out["ts_event"] = np.repeat(ts_event, counts)
        out["ts_init"] = np.repeat(ts_init, counts)
        out["price"] = price_m.ravel()[flat]
        out["size"] = size_m.ravel()[flat]
        out["side"] = side_m.ravel()[flat]
        out["action"] = action_m.ravel()[flat]
        flags = np.full(len(out), F_SNAPSHOT, dtype=np.uint8)
        flags[np.cumsum(counts) - 1] |= F_LAST
        out["flags"] = flags
        return Parsed(MarketArray(DataType.BOOK_DELTAS, iid, out, ppx, spx), ts_init, line)

    return parse


def load_tardis(
    path: PathLike, kind: TardisKind, instrument_id: str | InstrumentId | None = None, **kwargs: Any
) -> MarketArray:
    """:func:`read_tardis` into one :class:`MarketArray` (precisions unified)."""
    chunks = list(read_tardis(path, kind, instrument_id, **kwargs))
    if not chunks:
        raise DataImportError(str(path), None, None, "", "at least one data row")
    return unify(chunks)


def import_tardis(
    catalog: ParquetDataCatalog,
    path: PathLike,
    kind: TardisKind,
    instrument_id: str | InstrumentId | None = None,
    *,
    mode: WriteMode = "append",
    **kwargs: Any,
) -> ImportResult:
    """Import a Tardis CSV into ``catalog``, all or nothing (see :func:`read_tardis`)."""
    return write_import(catalog, path, read_tardis(path, kind, instrument_id, **kwargs), mode)
