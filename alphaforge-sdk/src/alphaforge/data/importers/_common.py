"""Shared machinery of the CSV importers: streaming reads, line numbers, ordering, deltas.

Every importer is a pipeline::

    file -> string record batches (pyarrow.csv, streaming) -> parse (vectorized, exact)
         -> order check (or collect + stable sort) -> post-process (book batches) -> chunks

Chunks are :class:`~alphaforge.data.arrays.MarketArray` objects; the catalog writes a stream of
them all-or-nothing, so an error in the last line of a file leaves the catalog untouched.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from alphaforge.data._arrow import pa, pacsv, pc
from alphaforge.data._parse import ColumnContext
from alphaforge.data.arrays import MarketArray, concat_arrays
from alphaforge.data.errors import DataImportError, OutOfOrderError
from alphaforge.data.schemas import DataType
from alphaforge.model.data import F_LAST, F_SNAPSHOT
from alphaforge.model.enums import BookAction, OrderSide

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DeltaBuilder",
    "ImportResult",
    "Parsed",
    "iter_string_batches",
    "open_binary",
    "read_first_line",
    "run_pipeline",
    "write_import",
]

DEFAULT_BLOCK_SIZE: Final = 8 << 20
"""Bytes of CSV text parsed per chunk (about 100k-200k rows of tick data)."""

PathLike = str | os.PathLike[str]


@attrs.frozen(slots=True)
class ImportResult:
    """What an import wrote to the catalog.

    Attributes
    ----------
    path
        The source file.
    data_type, key
        The catalog stream (key: instrument id, or bar type for bars).
    rows
        Rows written (book imports: deltas, including inserted CLEARs).
    days
        Day files created or rewritten.
    start_ns, end_ns
        First and last ``ts_init`` written.
    """

    path: str
    data_type: DataType
    key: str
    rows: int
    days: tuple[str, ...]
    start_ns: int | None
    end_ns: int | None


def open_binary(path: PathLike) -> IO[bytes]:
    """Open a data file for reading, decompressing ``.gz``/``.bz2``/``.zst`` and single-member
    ``.zip`` archives (the form data.binance.vision serves)."""
    p = Path(path)
    if p.suffix.lower() == ".zip":
        archive = zipfile.ZipFile(p)
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            archive.close()
            raise DataImportError(
                str(p), None, None, members, "a zip archive with exactly one file"
            )
        return archive.open(members[0])
    stream: IO[bytes] = pa.input_stream(str(p), compression="detect")
    return stream


def read_first_line(path: PathLike) -> str:
    """The first line of the (decompressed) file without its line ending ('' if empty)."""
    with open_binary(path) as fh:
        head = fh.read(1 << 16)
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    return line.decode("utf-8", errors="replace")


def _locate_bad_row(
    path: PathLike, ncols: int, delimiter: str, skip_rows: int
) -> tuple[int, str, int] | None:
    """Slow path after a CSV parse error: the first line whose field count is wrong."""
    with open_binary(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        for row in reader:
            line = reader.line_num
            if line <= skip_rows:
                continue
            if row and len(row) != ncols:
                return line, delimiter.join(row), len(row)
    return None


def iter_string_batches(
    path: PathLike,
    names: Sequence[str],
    include: Sequence[str],
    *,
    skip_rows: int = 0,
    delimiter: str = ",",
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[tuple[int, Any]]:
    """Stream a CSV file as record batches of string columns with their first line number.

    Parameters
    ----------
    path
        The file (optionally compressed, see :func:`open_binary`).
    names
        A name for every column of the file, in order.
    include
        The columns to read (a subset of ``names``).
    skip_rows
        Lines before the first data row (a header).
    delimiter
        Field separator.
    block_size
        Bytes per chunk.

    Yields
    ------
    (line, batch)
        ``line`` is the 1-based line number of the batch's first row.

    Raises
    ------
    DataImportError
        A row with the wrong number of fields (file, line and text named), a blank line in the
        middle of the data, or undecodable text. Blank lines at the end are ignored.
    """
    spath = str(path)
    # a block must hold the header and at least a whole row
    block_size = max(int(block_size), 256, 4 * len(read_first_line(path)) + 64)
    read_options = pacsv.ReadOptions(
        column_names=list(names), skip_rows=skip_rows, block_size=block_size
    )
    parse_options = pacsv.ParseOptions(
        delimiter=delimiter, ignore_empty_lines=False, newlines_in_values=False
    )
    convert_options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in include},
        include_columns=list(include),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    line = skip_rows + 1
    pending_blank: int | None = None

    def parse_error(exc: Exception) -> DataImportError:
        found = _locate_bad_row(path, len(names), delimiter, skip_rows)
        if found is None:
            return DataImportError(spath, None, None, str(exc), "well-formed CSV text")
        bad_line, text, count = found
        return DataImportError(
            spath, bad_line, None, text, f"{len(names)} fields per row, found {count}"
        )

    with open_binary(path) as fh:
        try:
            reader = pacsv.open_csv(
                fh,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return
            raise parse_error(exc) from None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise parse_error(exc) from None
            n = batch.num_rows
            if n == 0:
                continue
            blank = np.ones(n, dtype=bool)
            for column in batch.columns:
                blank &= np.asarray(pc.binary_length(column).to_numpy(zero_copy_only=False) == 0)
            if blank.any():
                rows = np.flatnonzero(blank)
                first = int(rows[0])
                nonblank_after = not blank[first:].all()
                if pending_blank is not None and not blank.all():
                    raise DataImportError(spath, pending_blank, None, "", "a data row")
                if nonblank_after:
                    raise DataImportError(spath, line + first, None, "", "a data row")
                if pending_blank is None:
                    pending_blank = line + first
                if first:
                    yield line, batch.slice(0, first)
            else:
                if pending_blank is not None:
                    raise DataImportError(spath, pending_blank, None, "", "a data row")
                yield line, batch
            line += n


@attrs.frozen(slots=True)
class Parsed:
    """One parsed chunk.

    Attributes
    ----------
    rows
        The chunk's data (for book imports: deltas before batching flags).
    source_ts
        ``ts_init`` per *source row*, for the ordering check (line = ``first_line + i``).
    first_line
        Line number of the first source row.
    """

    rows: MarketArray
    source_ts: npt.NDArray[np.uint64]
    first_line: int


def _check_order(parsed: Parsed, previous: int | None, path: str, column: str) -> int | None:
    ts = parsed.source_ts
    if not len(ts):
        return previous
    if previous is not None and int(ts[0]) < previous:
        raise OutOfOrderError(
            path,
            parsed.first_line,
            column,
            int(ts[0]),
            f"a timestamp >= {previous} (the previous row's); pass sort=True to sort the rows",
        )
    if len(ts) > 1:
        back = np.flatnonzero(ts[1:] < ts[:-1])
        if len(back):
            i = int(back[0]) + 1
            raise OutOfOrderError(
                path,
                parsed.first_line + i,
                column,
                int(ts[i]),
                f"a timestamp >= {int(ts[i - 1])} (the previous row's); "
                "pass sort=True to sort the rows",
            )
    return int(ts[-1])


class DeltaBuilder:
    """Turns per-row book deltas into atomic batches: sets ``F_LAST`` on the last delta of each
    batch and inserts a ``CLEAR`` before each snapshot that follows non-snapshot data.

    A batch is a run of rows with equal ``(ts_event, ts_init, sequence, snapshot flag)``. The
    last batch of a chunk is held back until the next chunk shows whether it continues.
    """

    def __init__(self, clear_before_snapshot: bool = True) -> None:
        self.clear_before_snapshot = clear_before_snapshot
        self.carry: MarketArray | None = None
        self.prev_snapshot = False  # whether the last emitted batch was a snapshot

    @staticmethod
    def _batch_ends(r: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        n = len(r)
        ends = np.zeros(n, dtype=bool)
        if n == 0:
            return ends
        snap = (r["flags"] & F_SNAPSHOT) != 0
        change = (
            (r["ts_event"][1:] != r["ts_event"][:-1])
            | (r["ts_init"][1:] != r["ts_init"][:-1])
            | (r["sequence"][1:] != r["sequence"][:-1])
            | (snap[1:] != snap[:-1])
        )
        ends[:-1] = change
        ends[-1] = True
        return ends

    def _emit(self, ma: MarketArray) -> MarketArray:
        r = ma.records.copy()
        ends = self._batch_ends(r)
        r["flags"] = np.where(ends, r["flags"] | F_LAST, r["flags"] & ~np.uint8(F_LAST))
        if self.clear_before_snapshot and len(r):
            snap = (r["flags"] & F_SNAPSHOT) != 0
            starts = np.zeros(len(r), dtype=bool)
            starts[0] = True
            starts[1:] = ends[:-1]
            prev_snap = np.empty(len(r), dtype=bool)
            prev_snap[0] = self.prev_snapshot
            prev_snap[1:] = snap[:-1]
            clear_at = np.flatnonzero(starts & snap & ~prev_snap)
            if len(clear_at):
                clears = np.zeros(len(clear_at), dtype=r.dtype)
                src = r[clear_at]
                for name in ("ts_event", "ts_init", "sequence"):
                    clears[name] = src[name]
                clears["action"] = int(BookAction.CLEAR)
                clears["side"] = int(OrderSide.NO_SIDE)
                clears["flags"] = F_SNAPSHOT
                r = np.insert(r, clear_at, clears)
            self.prev_snapshot = bool(snap[-1])
        return ma.replace(r)

    def feed(self, rows: MarketArray) -> MarketArray | None:
        """Add rows; return the complete batches so far (``None`` if none)."""
        ma = rows if self.carry is None else concat_arrays([self.carry, rows])
        self.carry = None
        if not len(ma):
            return None
        ends = self._batch_ends(ma.records)
        ends[-1] = False
        cut = int(np.flatnonzero(ends)[-1]) + 1 if ends.any() else 0
        self.carry = ma.replace(ma.records[cut:])
        if cut == 0:
            return None
        return self._emit(ma.replace(ma.records[:cut]))

    def finish(self) -> MarketArray | None:
        """The held-back last batch."""
        carry, self.carry = self.carry, None
        if carry is None or not len(carry):
            return None
        return self._emit(carry)


def run_pipeline(
    path: PathLike,
    batches: Iterable[tuple[int, Any]],
    parse: Callable[[int, Any], Parsed],
    *,
    ts_column: str,
    sort: bool,
    builder: DeltaBuilder | None = None,
) -> Iterator[MarketArray]:
    """Parse, order-check (or sort) and post-process a stream of string batches.

    With ``sort=True`` every chunk is held in memory (raw columns: ~50-70 bytes per row) and
    stably sorted by ``ts_init`` before anything is yielded.
    """
    spath = str(path)
    if sort:
        parts = [parse(line, batch).rows for line, batch in batches]
        parts = [p for p in parts if len(p)]
        if not parts:
            return
        merged = concat_arrays(parts).sorted()
        if builder is None:
            yield merged
            return
        out = builder.feed(merged)
        if out is not None and len(out):
            yield out
        tail = builder.finish()
        if tail is not None and len(tail):
            yield tail
        return
    previous: int | None = None
    for line, batch in batches:
        parsed = parse(line, batch)
        previous = _check_order(parsed, previous, spath, ts_column)
        if builder is None:
            if len(parsed.rows):
                yield parsed.rows
            continue
        out = builder.feed(parsed.rows)
        if out is not None and len(out):
            yield out
    if builder is not None:
        tail = builder.finish()
        if tail is not None and len(tail):
            yield tail


def write_import(
    catalog: Any, path: PathLike, chunks: Iterable[MarketArray], mode: Any
) -> ImportResult:
    """Write importer chunks into ``catalog`` all or nothing; an empty file is an error."""
    result = catalog.write_stream(chunks, mode=mode)
    if result.rows == 0:
        raise DataImportError(str(path), None, None, "", "at least one data row")
    return ImportResult(
        str(path),
        result.data_type,
        result.key,
        result.rows,
        result.days,
        result.start_ns,
        result.end_ns,
    )


def ctx(path: PathLike, line: int, column: str) -> ColumnContext:
    """A :class:`ColumnContext` for error messages."""
    return ColumnContext(str(path), line, column)


def unify(arrays: Sequence[MarketArray]) -> MarketArray:
    """Concatenate importer output into one array (precisions unified)."""
    return concat_arrays(arrays)
