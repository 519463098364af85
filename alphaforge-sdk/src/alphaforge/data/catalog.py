"""A Parquet data catalog: market data per data type, instrument and UTC day.

Layout
------
::

    <root>/
      quotes/<instrument_id>/<YYYY-MM-DD>.parquet
      trades/<instrument_id>/<YYYY-MM-DD>.parquet
      book_deltas/<instrument_id>/<YYYY-MM-DD>.parquet
      bars/<bar_type>/<YYYY-MM-DD>.parquet
      instruments/<instrument_id>.parquet

* One file per UTC day of ``ts_init`` (the time the backtest replays by); rows inside a file
  are sorted by ``ts_init`` (ties keep their insertion order). ``ts_event`` is stored as given.
* The directory name is the instrument id (bars: the bar type string), percent-encoded where a
  character is not safe in a file name (``BTC/USD.KRAKEN`` -> ``BTC%2FUSD.KRAKEN``).
* Each file carries the AlphaForge Arrow schema (:mod:`alphaforge.data.schemas`): raw int64
  prices/sizes with their precision as field metadata. Files of one stream may differ in
  precision (e.g. an import inferred more digits later); reads rescale to the largest.

Writes
------
``write_*`` (and :meth:`ParquetDataCatalog.write_stream` for chunked imports) are atomic: every
day file is written to a hidden temporary file in its target directory and renamed into place
only when the whole write succeeded; old files are hard-linked to backups first and restored if
any rename fails. An exception at any point leaves the catalog as it was and removes the
temporary files. (A process killed *during* the final renames can leave a mix of old and new
day files, each one complete; :meth:`ParquetDataCatalog.cleanup` removes stray temporaries.)

``mode="append"`` (default) inserts data into a gap: no existing row may lie strictly between
the first and the last new ``ts_init`` (equal timestamps at the edges are allowed), so the usual
case -- appending after the end, or backfilling a missing day -- works, and rewriting data that
is already there raises :class:`~alphaforge.data.errors.OverlapError`. ``mode="overwrite"``
replaces every existing row with ``first <= ts_init <= last`` and keeps the rest.

Reads
-----
:meth:`~ParquetDataCatalog.query` returns one Arrow table, :meth:`~ParquetDataCatalog.
query_array` a numpy :class:`~alphaforge.data.arrays.MarketArray`, and
:meth:`~ParquetDataCatalog.iter_batches` streams record batches of at most ``batch_size`` rows
(one row group is in memory at a time), all for ``start_ns <= ts_init <= end_ns``.

One writer at a time per catalog; readers never see partial files.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, unquote

import attrs
import numpy as np

from alphaforge.data._arrow import pa, pq
from alphaforge.data.arrays import MarketArray, MarketObject, rescale_table
from alphaforge.data.errors import CatalogError, OverlapError
from alphaforge.data.schemas import (
    INSTRUMENT_SCHEMA,
    PRICE_FIELDS,
    SIZE_FIELDS,
    DataType,
    arrow_schema,
    instruments_to_table,
    schema_info,
    schema_precisions,
    table_to_instruments,
)
from alphaforge.errors import InvalidValue
from alphaforge.model.data import BarType
from alphaforge.model.identifiers import InstrumentId
from alphaforge.model.instruments import Instrument

__all__ = ["NS_PER_DAY", "ParquetDataCatalog", "WriteMode", "WriteResult"]

NS_PER_DAY: Final = 86_400 * 10**9
_EPOCH: Final = _dt.date(1970, 1, 1)
_DAY_FILE: Final = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_MARKET_TYPES: Final = (DataType.QUOTES, DataType.TRADES, DataType.BARS, DataType.BOOK_DELTAS)

WriteMode = Literal["append", "overwrite"]


def day_index(ts_ns: int) -> int:
    """UTC day number (days since 1970-01-01) of a nanosecond timestamp."""
    return ts_ns // NS_PER_DAY


def day_name(index: int) -> str:
    """``"YYYY-MM-DD"`` of a day number."""
    return (_EPOCH + _dt.timedelta(days=index)).isoformat()


def _day_from_name(name: str) -> int:
    return (_dt.date.fromisoformat(name) - _EPOCH).days


def encode_key(key: str) -> str:
    """A file-name-safe, reversible form of an instrument id or bar type."""
    if not key or key in (".", ".."):
        raise InvalidValue("key", key, "must be a non-empty instrument id or bar type")
    return quote(key, safe="-_.=@+,")


def _key_of(data_type: DataType, key: object) -> str:
    if isinstance(key, (InstrumentId, BarType)):
        key = str(key)
    if type(key) is not str or not key:
        raise InvalidValue("key", key, "must be an instrument id (bars: a bar type) string")
    if data_type is DataType.BARS:
        BarType.from_str(key)  # validates
    return key


@attrs.frozen(slots=True)
class WriteResult:
    """What a write stored.

    Attributes
    ----------
    data_type, key
        The stream written (``key``: instrument id, or bar type for bars).
    rows
        Number of new rows.
    days
        The day files created or rewritten (``"YYYY-MM-DD"``), in order.
    start_ns, end_ns
        First and last new ``ts_init`` (``None`` when nothing was written).
    """

    data_type: DataType
    key: str
    rows: int
    days: tuple[str, ...]
    start_ns: int | None
    end_ns: int | None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _temp_name(final: Path, tag: str) -> Path:
    return final.with_name(f".{final.name}.{tag}-{uuid.uuid4().hex[:12]}")


def _ts_range_of_file(path: Path) -> tuple[int, int]:
    """(min, max) ``ts_init`` of a day file from its row-group statistics."""
    meta = pq.ParquetFile(path).metadata
    idx = meta.schema.names.index("ts_init")
    lo: int | None = None
    hi: int | None = None
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(idx).statistics
        if stats is None or not stats.has_min_max:
            column = pq.read_table(path, columns=["ts_init"]).column(0).to_numpy()
            return int(column.min()), int(column.max())
        lo = int(stats.min) if lo is None else min(lo, int(stats.min))
        hi = int(stats.max) if hi is None else max(hi, int(stats.max))
    if lo is None or hi is None:
        return 0, -1
    return lo, hi


class _DayFile:
    """One day file being written to a temporary path."""

    def __init__(
        self,
        catalog: ParquetDataCatalog,
        final: Path,
        day: int,
        identity: tuple[DataType, str, str | None],
        price_precision: int,
        size_precision: int,
    ) -> None:
        self.catalog = catalog
        self.final = final
        self.day = day
        self.identity = identity
        self.price_precision = price_precision
        self.size_precision = size_precision
        self.temp = _temp_name(final, "tmp")
        self.rows = 0
        self.new_rows = 0
        self.schema = self._schema()
        self.writer: Any = catalog._open_writer(self.temp, self.schema)

    def _schema(self) -> Any:
        dt, iid, bar_type = self.identity
        return arrow_schema(dt, self.price_precision, self.size_precision, iid, bar_type)

    def write(self, table: Any, *, new: bool) -> None:
        """Append a table (any precision; it is rescaled, or the file is upgraded)."""
        if table.num_rows == 0:
            return
        pp, sp = schema_precisions(table.schema)
        if pp > self.price_precision or sp > self.size_precision:
            self._upgrade(max(pp, self.price_precision), max(sp, self.size_precision))
        if (pp, sp) != (self.price_precision, self.size_precision):
            table = rescale_table(table, self.price_precision, self.size_precision)
        self.writer.write_table(pa.Table.from_arrays(table.columns, schema=self.schema))
        self.rows += table.num_rows
        if new:
            self.new_rows += table.num_rows

    def _upgrade(self, price_precision: int, size_precision: int) -> None:
        """Rewrite what was written so far at higher precisions."""
        self.writer.close()
        self.writer = None
        old = self.temp
        self.price_precision, self.size_precision = price_precision, size_precision
        self.schema = self._schema()
        self.temp = _temp_name(self.final, "tmp")
        self.writer = self.catalog._open_writer(self.temp, self.schema)
        try:
            source = pq.ParquetFile(old)
            for batch in source.iter_batches(batch_size=self.catalog.row_group_size):
                scaled = rescale_table(batch, price_precision, size_precision)
                self.writer.write_table(pa.Table.from_arrays(scaled.columns, schema=self.schema))
            source.close()
        finally:
            with contextlib.suppress(OSError):
                old.unlink()

    def close(self) -> None:
        """Finish the file (footer, fsync)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            if self.catalog.durable:
                _fsync_file(self.temp)

    def abort(self) -> None:
        """Drop the temporary file."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
            self.writer = None
        with contextlib.suppress(OSError):
            self.temp.unlink()


class _Transaction:
    """A chunked, all-or-nothing write of one stream (see the module docstring)."""

    def __init__(self, catalog: ParquetDataCatalog, mode: WriteMode) -> None:
        if mode not in ("append", "overwrite"):
            raise InvalidValue("mode", mode, "must be 'append' or 'overwrite'")
        self.catalog = catalog
        self.mode = mode
        self.identity: tuple[DataType, str, str | None] | None = None
        self.directory: Path | None = None
        self.existing: dict[int, Path] = {}
        self.start_ns: int | None = None
        self.last_ns: int | None = None
        self.limit_ns: int | None = None  # append: no new row may be later than this
        self.current: _DayFile | None = None
        self.done: list[_DayFile] = []
        self.rows = 0

    # -- helpers -----------------------------------------------------------------------------

    def _label(self) -> str:
        assert self.identity is not None
        dt, iid, bar_type = self.identity
        return f"{dt.value}/{bar_type or iid}"

    def _iter_existing(self, day: int, keep: Any) -> Iterator[Any]:
        """Batches of the existing day file restricted to rows where ``keep(ts)`` is true
        (``keep`` returns a slice of a sorted ts column)."""
        path = self.existing.get(day)
        if path is None:
            return
        source = pq.ParquetFile(path)
        try:
            for batch in source.iter_batches(batch_size=self.catalog.row_group_size):
                ts = batch.column("ts_init").to_numpy()
                lo, hi = keep(ts)
                if hi > lo:
                    yield batch.slice(lo, hi - lo)
        finally:
            source.close()

    def _begin(self, chunk: MarketArray) -> None:
        dt = chunk.data_type
        self.identity = (dt, chunk.instrument_id, chunk.bar_type)
        self.directory = self.catalog._stream_dir(dt, chunk.key)
        self.existing = self.catalog._day_files(dt, chunk.key)

    def _start(self, first_ns: int) -> None:
        self.start_ns = first_ns
        if self.mode != "append" or not self.existing:
            return
        first_day = day_index(first_ns)
        for day, path in self.existing.items():
            if day < first_day:  # a day file holds only its own day: all of it is earlier
                continue
            lo, hi = _ts_range_of_file(path)
            if hi <= first_ns:
                continue
            if lo > first_ns:
                self.limit_ns = lo
            else:
                ts = pq.read_table(path, columns=["ts_init"]).column(0).to_numpy()
                self.limit_ns = int(ts[np.searchsorted(ts, np.uint64(first_ns), "right")])
            break

    def _writer_for(self, day: int, pp: int, sp: int) -> _DayFile:
        cur = self.current
        if cur is not None and cur.day == day:
            return cur
        if cur is not None:
            cur.close()
            self.done.append(cur)
        assert self.directory is not None and self.identity is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        cur = _DayFile(
            self.catalog, self.directory / f"{day_name(day)}.parquet", day, self.identity, pp, sp
        )
        self.current = cur
        assert self.start_ns is not None
        if day == day_index(self.start_ns):
            a = np.uint64(self.start_ns)
            side: Literal["left", "right"] = "right" if self.mode == "append" else "left"
            for batch in self._iter_existing(day, lambda ts: (0, np.searchsorted(ts, a, side))):
                cur.write(pa.Table.from_batches([batch]), new=False)
        return cur

    # -- API ---------------------------------------------------------------------------------

    def add(self, chunk: MarketArray) -> None:
        if not isinstance(chunk, MarketArray):
            raise InvalidValue("chunk", type(chunk).__name__, "must be a MarketArray")
        if self.identity is None:
            self._begin(chunk)
        elif (chunk.data_type, chunk.instrument_id, chunk.bar_type) != self.identity:
            raise CatalogError(
                f"{self._label()}: a chunk of another stream ({chunk!r}) in the same write"
            )
        n = len(chunk)
        if n == 0:
            return
        ts = chunk.ts_init
        if n > 1:
            back = np.flatnonzero(ts[1:] < ts[:-1])
            if len(back):
                i = int(back[0]) + 1
                raise CatalogError(
                    f"{self._label()}: ts_init not sorted at row {i} of the chunk "
                    f"({int(ts[i])} < {int(ts[i - 1])}); sort the data first "
                    f"(MarketArray.sorted())"
                )
        first, last = int(ts[0]), int(ts[-1])
        if self.last_ns is not None and first < self.last_ns:
            raise CatalogError(
                f"{self._label()}: chunk starts at ts_init {first}, before the previous "
                f"chunk's last row {self.last_ns}"
            )
        if self.start_ns is None:
            self._start(first)
        if self.limit_ns is not None and last > self.limit_ns:
            raise OverlapError(
                f"{self._label()}: new data [{self.start_ns}, {last}] overlaps data already in "
                f"the catalog (existing row at ts_init {self.limit_ns}); "
                f"write with mode='overwrite' to replace that range"
            )
        table = chunk.to_arrow()
        days = ts // np.uint64(NS_PER_DAY)
        bounds = np.flatnonzero(days[1:] != days[:-1]) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), n]
        for lo, hi in zip(starts, ends, strict=True):
            writer = self._writer_for(int(days[lo]), chunk.price_precision, chunk.size_precision)
            writer.write(table.slice(lo, hi - lo), new=True)
        self.rows += n
        self.last_ns = last

    def commit(self) -> WriteResult:
        assert self.identity is not None or self.current is None
        cur = self.current
        if cur is None or self.start_ns is None or self.last_ns is None:
            dt, iid, bar_type = self.identity or (DataType.QUOTES, "", None)
            return WriteResult(dt, bar_type or iid, 0, (), None, None)
        b = np.uint64(self.last_ns if self.mode == "overwrite" else self.start_ns)
        for batch in self._iter_existing(
            cur.day, lambda ts: (np.searchsorted(ts, b, "right"), len(ts))
        ):
            cur.write(pa.Table.from_batches([batch]), new=False)
        cur.close()
        self.done.append(cur)
        self.current = None
        written = {f.day for f in self.done}
        first_day, last_day = day_index(self.start_ns), day_index(self.last_ns)
        deletions = [
            path
            for day, path in self.existing.items()
            if first_day <= day <= last_day and day not in written
        ]
        self.catalog._swap([(f.temp, f.final) for f in self.done], deletions)
        dt, iid, bar_type = self.identity  # type: ignore[misc]
        return WriteResult(
            dt,
            bar_type or iid,
            self.rows,
            tuple(day_name(f.day) for f in self.done),
            self.start_ns,
            self.last_ns,
        )

    def abort(self) -> None:
        if self.current is not None:
            self.current.abort()
            self.current = None
        for f in self.done:
            f.abort()
        self.done.clear()


class ParquetDataCatalog:
    """Market data and instruments in Parquet files under one root directory.

    Parameters
    ----------
    path
        Root directory (created on first write).
    compression
        Parquet codec (``"zstd"``, ``"snappy"``, ``"lz4"``, ``"none"``).
    row_group_size
        Rows per Parquet row group: the unit a streaming read holds in memory.
    durable
        ``fsync`` files and directories on commit (turn off for throwaway catalogs).

    Examples
    --------
    >>> catalog = ParquetDataCatalog(tmp_path)  # doctest: +SKIP
    >>> catalog.write(quotes)                   # a MarketArray, a table or QuoteTicks
    >>> catalog.query_array("quotes", "BTCUSDT.SIM", start_ns, end_ns).records
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compression: str = "zstd",
        row_group_size: int = 262_144,
        durable: bool = True,
    ) -> None:
        if type(row_group_size) is not int or row_group_size <= 0:
            raise InvalidValue("row_group_size", row_group_size, "must be a positive int")
        self.root = Path(path)
        self.compression = compression
        self.row_group_size = row_group_size
        self.durable = durable

    def __repr__(self) -> str:
        return f"ParquetDataCatalog({str(self.root)!r})"

    # -- layout ------------------------------------------------------------------------------

    def _stream_dir(self, data_type: DataType, key: str) -> Path:
        return self.root / data_type.value / encode_key(key)

    def _day_files(self, data_type: DataType, key: str) -> dict[int, Path]:
        directory = self._stream_dir(data_type, key)
        if not directory.is_dir():
            return {}
        out = {}
        for entry in directory.iterdir():
            m = _DAY_FILE.match(entry.name)
            if m:
                out[_day_from_name(m.group(1))] = entry
        return dict(sorted(out.items()))

    def data_types(self) -> list[DataType]:
        """Data types with at least one stream (or instrument) in the catalog."""
        out = []
        for dt in DataType:
            directory = self.root / dt.value
            if directory.is_dir() and any(not p.name.startswith(".") for p in directory.iterdir()):
                out.append(dt)
        return out

    def keys(self, data_type: DataType | str) -> list[str]:
        """Instrument ids (bars: bar types) that have data of ``data_type``."""
        dt = DataType.parse(data_type)
        directory = self.root / dt.value
        if not directory.is_dir():
            return []
        if dt is DataType.INSTRUMENTS:
            return sorted(
                unquote(p.name[: -len(".parquet")])
                for p in directory.iterdir()
                if p.name.endswith(".parquet") and not p.name.startswith(".")
            )
        return sorted(
            unquote(p.name)
            for p in directory.iterdir()
            if p.is_dir() and self._day_files(dt, unquote(p.name))
        )

    def days(self, data_type: DataType | str, key: str | InstrumentId | BarType) -> list[str]:
        """The ``"YYYY-MM-DD"`` day files of one stream, in order."""
        dt = DataType.parse(data_type)
        return [day_name(d) for d in self._day_files(dt, _key_of(dt, key))]

    def time_range(
        self, data_type: DataType | str, key: str | InstrumentId | BarType
    ) -> tuple[int, int] | None:
        """First and last ``ts_init`` of a stream, or ``None`` if it has no data."""
        dt = DataType.parse(data_type)
        files = self._day_files(dt, _key_of(dt, key))
        if not files:
            return None
        paths = list(files.values())
        return _ts_range_of_file(paths[0])[0], _ts_range_of_file(paths[-1])[1]

    # -- writing -----------------------------------------------------------------------------

    def _open_writer(self, path: Path, schema: Any) -> Any:
        dt = schema_info(schema)[0]
        dict_cols = [*PRICE_FIELDS[dt], *SIZE_FIELDS[dt]]
        dict_cols += [c for c in ("aggressor_side", "action", "side", "flags") if c in schema.names]
        delta_cols = [c for c in ("ts_event", "ts_init", "sequence") if c in schema.names]
        return pq.ParquetWriter(
            path,
            schema,
            compression=self.compression,
            use_dictionary=dict_cols,
            column_encoding=dict.fromkeys(delta_cols, "DELTA_BINARY_PACKED"),
            write_statistics=True,
        )

    def _swap(self, staged: Sequence[tuple[Path, Path]], deletions: Sequence[Path]) -> None:
        """Move staged temporaries into place and delete files, all or nothing."""
        token = uuid.uuid4().hex[:12]
        backups: dict[Path, Path] = {}
        created: list[Path] = []
        try:
            for final in [f for _, f in staged] + list(deletions):
                if final.exists() and final not in backups:
                    backup = final.with_name(f".{final.name}.bak-{token}")
                    try:
                        os.link(final, backup)
                    except OSError:  # pragma: no cover - file systems without hard links
                        shutil.copy2(final, backup)
                    backups[final] = backup
            for temp, final in staged:
                os.replace(temp, final)
                if final not in backups:
                    created.append(final)
            for final in deletions:
                final.unlink()
        except BaseException:
            for final, backup in backups.items():
                try:
                    os.replace(backup, final)
                except OSError:  # pragma: no cover - keep the backup for manual recovery
                    continue
                # rename() does nothing when both names link the same file: drop the extra name
                with contextlib.suppress(OSError):
                    if backup.exists() and os.path.samefile(backup, final):
                        backup.unlink()
            for final in created:
                with contextlib.suppress(OSError):
                    final.unlink()
            for temp, _ in staged:
                with contextlib.suppress(OSError):
                    temp.unlink()
            raise
        for backup in backups.values():
            with contextlib.suppress(OSError):
                backup.unlink()
        if self.durable:
            for directory in {f.parent for _, f in staged} | {f.parent for f in deletions}:
                _fsync_dir(directory)

    def write_stream(
        self, chunks: Iterable[MarketArray], *, mode: WriteMode = "append"
    ) -> WriteResult:
        """Write a stream of chunks of one data type and key, all or nothing.

        Chunks are written to temporary day files as they arrive (memory stays bounded by a
        chunk) and committed together when the iterable is exhausted. Any exception -- a
        malformed row found by an importer, an overlap, an out-of-order chunk -- removes the
        temporary files and re-raises; the catalog is unchanged.

        Parameters
        ----------
        chunks
            :class:`MarketArray` chunks of one stream, each sorted by ``ts_init`` and not
            earlier than the previous chunk.
        mode
            ``"append"`` (refuse overlaps) or ``"overwrite"`` (replace the written range).

        Raises
        ------
        OverlapError
            ``mode="append"`` and existing rows lie inside the new range.
        CatalogError
            Unsorted data, or chunks of different streams.
        """
        tx = _Transaction(self, mode)
        try:
            for chunk in chunks:
                tx.add(chunk)
            return tx.commit()
        except BaseException:
            tx.abort()
            raise

    def write(
        self,
        data: MarketArray | Any | Sequence[MarketObject],
        *,
        mode: WriteMode = "append",
    ) -> WriteResult:
        """Write one stream: a :class:`MarketArray`, an AlphaForge Arrow table, or model objects.

        See :meth:`write_stream` for the semantics of ``mode`` and the errors.
        """
        return self.write_stream([_coerce(data, None)], mode=mode)

    def _write_typed(self, data: Any, data_type: DataType, mode: WriteMode) -> WriteResult:
        return self.write_stream([_coerce(data, data_type)], mode=mode)

    def write_quotes(self, data: Any, *, mode: WriteMode = "append") -> WriteResult:
        """Write quotes (a MarketArray, a table or a sequence of QuoteTick)."""
        return self._write_typed(data, DataType.QUOTES, mode)

    def write_trades(self, data: Any, *, mode: WriteMode = "append") -> WriteResult:
        """Write trades (a MarketArray, a table or a sequence of TradeTick)."""
        return self._write_typed(data, DataType.TRADES, mode)

    def write_bars(self, data: Any, *, mode: WriteMode = "append") -> WriteResult:
        """Write bars of one bar type (a MarketArray, a table or a sequence of Bar)."""
        return self._write_typed(data, DataType.BARS, mode)

    def write_book_deltas(self, data: Any, *, mode: WriteMode = "append") -> WriteResult:
        """Write order-book deltas (a MarketArray, a table or a sequence of OrderBookDelta)."""
        return self._write_typed(data, DataType.BOOK_DELTAS, mode)

    def write_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Store instrument definitions (one file each; a newer definition replaces the old).

        All files are written first and renamed into place together (atomic as a whole).
        """
        staged: list[tuple[Path, Path]] = []
        directory = self.root / DataType.INSTRUMENTS.value
        try:
            for inst in instruments:
                if not isinstance(inst, Instrument):
                    raise InvalidValue("instrument", repr(inst), "must be an Instrument")
                directory.mkdir(parents=True, exist_ok=True)
                final = directory / f"{encode_key(inst.id.value)}.parquet"
                temp = _temp_name(final, "tmp")
                staged.append((temp, final))
                pq.write_table(instruments_to_table([inst]), temp, compression=self.compression)
                if self.durable:
                    _fsync_file(temp)
        except BaseException:
            for temp, _ in staged:
                with contextlib.suppress(OSError):
                    temp.unlink()
            raise
        self._swap(staged, [])

    # -- reading -----------------------------------------------------------------------------

    def instruments(
        self, instrument_ids: Iterable[str | InstrumentId] | None = None
    ) -> list[Instrument]:
        """Stored instruments (all, or the given ids that exist), sorted by id."""
        directory = self.root / DataType.INSTRUMENTS.value
        if instrument_ids is None:
            names = self.keys(DataType.INSTRUMENTS)
        else:
            names = sorted(str(i) for i in instrument_ids)
        out: list[Instrument] = []
        for name in names:
            path = directory / f"{encode_key(name)}.parquet"
            if path.exists():
                out.extend(table_to_instruments(pq.read_table(path, schema=INSTRUMENT_SCHEMA)))
        return out

    def instrument(self, instrument_id: str | InstrumentId) -> Instrument:
        """One stored instrument.

        Raises
        ------
        CatalogError
            No such instrument in the catalog.
        """
        found = self.instruments([instrument_id])
        if not found:
            raise CatalogError(f"instrument {str(instrument_id)!r} is not in {self.root}")
        return found[0]

    def _select(
        self,
        data_type: DataType | str,
        key: str | InstrumentId | BarType,
        start_ns: int | None,
        end_ns: int | None,
    ) -> tuple[DataType, str, list[Path]]:
        dt = DataType.parse(data_type)
        if dt is DataType.INSTRUMENTS:
            raise InvalidValue("data_type", dt.value, "use instruments() for instruments")
        k = _key_of(dt, key)
        for name, value in (("start_ns", start_ns), ("end_ns", end_ns)):
            if value is not None and (type(value) is not int or value < 0):
                raise InvalidValue(name, value, "must be a non-negative int of nanoseconds")
        if start_ns is not None and end_ns is not None and start_ns > end_ns:
            raise InvalidValue("start_ns", start_ns, f"must be <= end_ns {end_ns}")
        lo_day = None if start_ns is None else day_index(start_ns)
        hi_day = None if end_ns is None else day_index(end_ns)
        paths = [
            p
            for d, p in self._day_files(dt, k).items()
            if (lo_day is None or d >= lo_day) and (hi_day is None or d <= hi_day)
        ]
        return dt, k, paths

    def _empty_schema(self, dt: DataType, key: str) -> Any:
        if dt is DataType.BARS:
            return arrow_schema(dt, 0, 0, str(BarType.from_str(key).instrument_id), key)
        return arrow_schema(dt, 0, 0, key)

    @staticmethod
    def _target(paths: Sequence[Path]) -> tuple[Any, int, int]:
        schemas = [pq.read_schema(p) for p in paths]
        precisions = [schema_precisions(s) for s in schemas]
        return schemas[-1], max(p for p, _ in precisions), max(s for _, s in precisions)

    def query(
        self,
        data_type: DataType | str,
        key: str | InstrumentId | BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> Any:
        """All rows of a stream with ``start_ns <= ts_init <= end_ns`` as one Arrow table.

        Parameters
        ----------
        data_type
            quotes, trades, bars or book_deltas.
        key
            Instrument id (bars: bar type).
        start_ns, end_ns
            Inclusive bounds on ``ts_init``; ``None`` is open.

        Returns
        -------
        pyarrow.Table
            Sorted by ``ts_init``; precision metadata on the columns (the largest of the files
            read; an empty result has precision 0).
        """
        dt, k, paths = self._select(data_type, key, start_ns, end_ns)
        if not paths:
            return self._empty_schema(dt, k).empty_table()
        schema, pp, sp = self._target(paths)
        tables = []
        for path in paths:
            table = pq.read_table(path, memory_map=True)
            table = _slice_ts(table, start_ns, end_ns)
            if schema_precisions(table.schema) != (pp, sp):
                table = rescale_table(table, pp, sp)
            tables.append(table)
        target = tables[0].schema if tables else schema
        out = pa.concat_tables([pa.Table.from_arrays(t.columns, schema=target) for t in tables])
        return out

    def query_array(
        self,
        data_type: DataType | str,
        key: str | InstrumentId | BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> MarketArray:
        """Like :meth:`query`, as a numpy :class:`MarketArray` (the backtest's hot form)."""
        return MarketArray.from_arrow(self.query(data_type, key, start_ns, end_ns))

    def query_objects(
        self,
        data_type: DataType | str,
        key: str | InstrumentId | BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> list[Any]:
        """Like :meth:`query`, as model objects (cold path: QuoteTick, TradeTick, ...)."""
        return self.query_array(data_type, key, start_ns, end_ns).to_objects()

    def iter_batches(
        self,
        data_type: DataType | str,
        key: str | InstrumentId | BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        batch_size: int = 65_536,
    ) -> Iterator[Any]:
        """Stream the rows of :meth:`query` as record batches of at most ``batch_size`` rows.

        Only one Parquet row group (``row_group_size`` rows) and one batch are in memory at a
        time, so a month of ticks never has to fit. Row groups outside the range are skipped
        using the file statistics. All batches share one schema (the largest precisions).

        Yields
        ------
        pyarrow.RecordBatch
        """
        if type(batch_size) is not int or batch_size <= 0:
            raise InvalidValue("batch_size", batch_size, "must be a positive int")
        _, _, paths = self._select(data_type, key, start_ns, end_ns)
        if not paths:
            return
        _, pp, sp = self._target(paths)
        for path in paths:
            source = pq.ParquetFile(path, memory_map=True)
            try:
                meta = source.metadata
                idx = meta.schema.names.index("ts_init")
                groups = []
                for i in range(meta.num_row_groups):
                    stats = meta.row_group(i).column(idx).statistics
                    if stats is not None and stats.has_min_max:
                        if start_ns is not None and int(stats.max) < start_ns:
                            continue
                        if end_ns is not None and int(stats.min) > end_ns:
                            continue
                    groups.append(i)
                if not groups:
                    continue
                file_schema = source.schema_arrow
                for batch in source.iter_batches(batch_size=batch_size, row_groups=groups):
                    batch = pa.RecordBatch.from_arrays(batch.columns, schema=file_schema)
                    batch = _slice_ts(batch, start_ns, end_ns)
                    if batch.num_rows == 0:
                        continue
                    if schema_precisions(batch.schema) != (pp, sp):
                        batch = rescale_table(batch, pp, sp)
                    yield batch
            finally:
                source.close()

    def iter_arrays(
        self,
        data_type: DataType | str,
        key: str | InstrumentId | BarType,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        batch_size: int = 65_536,
    ) -> Iterator[MarketArray]:
        """:meth:`iter_batches` as numpy :class:`MarketArray` chunks."""
        for batch in self.iter_batches(data_type, key, start_ns, end_ns, batch_size=batch_size):
            yield MarketArray.from_arrow(batch)

    # -- maintenance -------------------------------------------------------------------------

    def cleanup(self) -> int:
        """Remove temporary and backup files left by an interrupted process; return the count.

        Do not run it while another process writes to the catalog.
        """
        removed = 0
        if not self.root.is_dir():
            return 0
        for path in self.root.rglob(".*"):
            if path.is_file() and (".tmp-" in path.name or ".bak-" in path.name):
                path.unlink()
                removed += 1
        return removed


def _slice_ts(table: Any, start_ns: int | None, end_ns: int | None) -> Any:
    if start_ns is None and end_ns is None:
        return table
    column = table.column("ts_init")
    ts = column.to_numpy() if isinstance(table, pa.RecordBatch) else _chunked_to_numpy(column)
    lo = 0 if start_ns is None else int(np.searchsorted(ts, np.uint64(start_ns), "left"))
    hi = len(ts) if end_ns is None else int(np.searchsorted(ts, np.uint64(end_ns), "right"))
    if lo == 0 and hi == len(ts):
        return table
    return table.slice(lo, hi - lo)


def _chunked_to_numpy(column: Any) -> Any:
    if column.num_chunks == 1:
        return column.chunk(0).to_numpy()
    return column.to_numpy()


def _coerce(data: Any, data_type: DataType | None) -> MarketArray:
    if isinstance(data, MarketArray):
        out = data
    elif isinstance(data, (pa.Table, pa.RecordBatch)):
        out = MarketArray.from_arrow(data)
    elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        out = MarketArray.from_objects(data)
    else:
        raise InvalidValue(
            "data", type(data).__name__, "must be a MarketArray, an Arrow table or model objects"
        )
    if data_type is not None and out.data_type is not data_type:
        raise InvalidValue("data", repr(out), f"expected {data_type.value}")
    return out
