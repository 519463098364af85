"""Vectorized, exact parsing of text columns (Arrow string arrays) into raw integers.

Decimal text is parsed into fixed-point raw ``int64`` without ever going through ``float``:
the bytes are validated with numpy over the Arrow buffers, the dot is removed, the digits are
cast to int64 by Arrow, and each row is scaled by ``10**(precision - fraction_digits)`` with
overflow checks. Every failure names the file, the line, the column and what was expected.

Grammar of a decimal cell: ``-?[0-9]+(\\.[0-9]+)?`` (ASCII; no ``+``, spaces, exponents,
thousands separators or hexadecimal).
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NoReturn

import attrs
import numpy as np
import numpy.typing as npt

from alphaforge.data._arrow import pa, pc
from alphaforge.data.errors import DataImportError
from alphaforge.model.values import Rounding

__all__ = [
    "ColumnContext",
    "parse_choice",
    "parse_decimals",
    "parse_timestamps",
    "parse_uints",
    "string_buffers",
]

INT64_MAX: Final = (1 << 63) - 1
UINT64_MAX: Final = (1 << 64) - 1
_POW10: Final = np.array([10**k for k in range(19)], dtype=np.int64)
_POW10.setflags(write=False)
_DOT: Final = ord(".")
_MINUS: Final = ord("-")

TIMESTAMP_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
)
"""Integer timestamp units and their factor to nanoseconds."""

DECIMAL_EXPECTED: Final = "a decimal number like -123.45 (digits, optional '-' and '.')"


@attrs.frozen(slots=True, eq=False)
class ColumnContext:
    """Where a column chunk comes from, for error messages.

    Parameters
    ----------
    path
        The file.
    first_line
        Physical line number (1-based) of row 0 of the chunk, ``None`` if unknown.
    column
        The column name.
    row_map
        For a subset of a chunk's rows: the chunk row of each subset row.
    """

    path: str
    first_line: int | None
    column: str
    row_map: npt.NDArray[np.int64] | None = None

    def fail(self, row: int, value: Any, expected: str) -> NoReturn:
        """Raise :class:`DataImportError` for ``row`` (0-based in the chunk)."""
        src = int(self.row_map[row]) if self.row_map is not None else int(row)
        line = None if self.first_line is None else self.first_line + src
        raise DataImportError(self.path, line, self.column, value, expected)

    def fail_first(self, mask: npt.NDArray[np.bool_], arr: Any, expected: str) -> NoReturn:
        """Raise for the first row where ``mask`` is true."""
        row = int(np.flatnonzero(mask)[0])
        self.fail(row, arr[row].as_py(), expected)


def _as_string_array(arr: Any) -> Any:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_large_string(arr.type) or pa.types.is_binary(arr.type):
        arr = arr.cast(pa.string())
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    return arr


def string_buffers(arr: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Zero-copy views of a string array: ``(offsets, data)``, offsets relative to ``data``.

    Row ``i`` is ``data[offsets[i]:offsets[i + 1]]``; ``len(offsets) == len(arr) + 1``.
    """
    n = len(arr)
    bufs = arr.buffers()
    offs = np.frombuffer(bufs[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4).astype(
        np.int64
    )
    data = (
        np.frombuffer(bufs[2], dtype=np.uint8)
        if bufs[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    data = data[offs[0] : offs[-1]]
    offs -= offs[0]
    return offs, data


def _check_no_nulls(arr: Any, ctx: ColumnContext, expected: str) -> None:
    if arr.null_count:
        mask = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        ctx.fail(int(np.flatnonzero(mask)[0]), "", expected)


def _mask(n: int, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    out = np.zeros(n, dtype=bool)
    out[rows] = True
    return out


def _first_bad_byte_row(offs: npt.NDArray[np.int64], bad: npt.NDArray[np.bool_]) -> int:
    idx = int(np.flatnonzero(bad)[0])
    return int(np.searchsorted(offs, idx, side="right")) - 1


def parse_decimals(
    arr: Any,
    precision: int | None,
    ctx: ColumnContext,
    *,
    non_negative: bool = False,
    rounding: Rounding | None = None,
) -> tuple[npt.NDArray[np.int64], int]:
    """Parse decimal text into raw int64 at ``precision`` (inferred when ``None``).

    Parameters
    ----------
    arr
        Arrow string array (one chunk of a column).
    precision
        Target number of fraction digits ``0..=18``. ``None``: the largest number of fraction
        digits written in this chunk. Digits beyond an explicit precision must be zeros.
    ctx
        File/line/column for error messages.
    non_negative
        Reject negative values (sizes).
    rounding
        With an explicit ``precision``: round cells with more fraction digits (exactly, with
        this mode) instead of rejecting them. For text such as ``218102.59507500002`` that a
        float printed.

    Returns
    -------
    (raw, precision)

    Raises
    ------
    DataImportError
        The first malformed cell: bad grammar, too many fraction digits, or overflow.
    """
    arr = _as_string_array(arr)
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0 if precision is None else precision
    _check_no_nulls(arr, ctx, DECIMAL_EXPECTED)
    offs, data = string_buffers(arr)
    lengths = np.diff(offs)
    if not lengths.all():
        ctx.fail_first(lengths == 0, arr, DECIMAL_EXPECTED)
    # allowed bytes: '-' (45), '.' (46), '0'..'9' (48..57)
    is_dot = data == _DOT
    is_minus = data == _MINUS
    bad = (data - np.uint8(_MINUS)) > np.uint8(57 - _MINUS)  # wraps below 45
    bad |= data == ord("/")
    if bad.any():
        row = _first_bad_byte_row(offs, bad)
        ctx.fail(row, arr[row].as_py(), DECIMAL_EXPECTED)
    starts = offs[:-1]
    negative = data[starts] == _MINUS
    if non_negative and negative.any():
        ctx.fail_first(negative, arr, "a non-negative decimal number")
    n_minus = int(np.count_nonzero(is_minus))
    if n_minus != int(np.count_nonzero(negative)) or (negative & (lengths == 1)).any():
        counts = pc.count_substring(arr, "-").to_numpy()
        ctx.fail_first((counts > negative) | (negative & (lengths == 1)), arr, DECIMAL_EXPECTED)
    dot_idx = np.flatnonzero(is_dot)
    if len(dot_idx) == n and ((dot_idx >= starts) & (dot_idx < offs[1:])).all():
        # fast path: exactly one dot in every row
        pos = dot_idx - starts
    else:
        pos = np.asarray(pc.find_substring(arr, ".").to_numpy(), dtype=np.int64)
    has_dot = pos >= 0
    n_dots = int(np.count_nonzero(has_dot))
    # the digits without the dot: doffs/ddata describe a string array
    doffs, ddata = offs, data
    if n_dots:
        if len(dot_idx) != n_dots:
            counts = pc.count_substring(arr, ".").to_numpy()
            ctx.fail_first(counts > 1, arr, DECIMAL_EXPECTED)
        # a digit before and after the dot: pos >= 1 (+1 with a sign), pos <= length - 2
        misplaced = has_dot & ((pos < 1 + negative) | (pos > lengths - 2))
        if misplaced.any():
            ctx.fail_first(misplaced, arr, DECIMAL_EXPECTED)
        frac = np.where(has_dot, lengths - pos - 1, 0)
        doffs = offs - np.concatenate(([0], np.cumsum(has_dot)))
        ddata = data[~is_dot]
    else:
        frac = np.zeros(n, dtype=np.int64)
    if precision is None:
        precision = int(frac.max())
        if precision > 18:
            ctx.fail_first(frac > 18, arr, "at most 18 fraction digits")
    elif not 0 <= precision <= 18:
        raise ValueError(f"precision {precision} not in 0..=18")
    rounded: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
    excess = np.maximum(frac - precision, 0)
    too_precise = f"at most {precision} fraction digits (precision {precision})"
    # with at most 18 digits every cell fits int64 as written: divide the excess off later
    divide_later = excess.any() and int((np.diff(doffs) - negative).max()) <= 18
    if excess.any() and not divide_later:
        # drop the fraction digits beyond the precision; they must be zeros (or be rounded)
        cut = np.flatnonzero(excess)
        ends = doffs[1:][cut]
        marks = np.zeros(len(ddata) + 1, dtype=np.int8)
        marks[ends - excess[cut]] = 1  # distinct positions: a row keeps its integer digits
        marks[ends] -= 1
        dropped = np.cumsum(marks[:-1], dtype=np.int8) > 0
        nonzero = np.zeros(n, dtype=bool)
        bad_bytes = np.flatnonzero(dropped & (ddata != ord("0")))
        if len(bad_bytes):
            nonzero[np.searchsorted(doffs, bad_bytes, side="right") - 1] = True
            if rounding is None:
                ctx.fail_first(nonzero, arr, too_precise)
            rounded = _round_rows(arr, np.flatnonzero(nonzero), precision, rounding, ctx)
        ddata = ddata[~dropped]
        doffs = doffs - np.concatenate(([0], np.cumsum(excess)))
        frac = frac - excess
    digits = (
        arr
        if ddata is data
        else pa.Array.from_buffers(
            pa.string(),
            n,
            [None, pa.py_buffer(doffs.astype(np.int32)), pa.py_buffer(np.ascontiguousarray(ddata))],
        )
    )
    try:
        raw = np.asarray(pc.cast(digits, pa.int64()).to_numpy(), dtype=np.int64)
    except pa.ArrowInvalid:
        # slow path (errors only): the first row whose raw value does not fit
        scale = (precision - frac).tolist()
        for row, (text, shift) in enumerate(zip(digits.to_pylist(), scale, strict=True)):
            if not -INT64_MAX - 1 <= int(text) * 10**shift <= INT64_MAX:
                ctx.fail(
                    row,
                    arr[row].as_py(),
                    f"a decimal whose raw value at precision {precision} fits int64",
                )
        raise
    raw = raw.copy() if not raw.flags.writeable else raw
    if divide_later:
        cut = np.flatnonzero(excess)
        div = _POW10[excess[cut]]
        rem = raw[cut] % div
        if rem.any():
            if rounding is None:
                ctx.fail_first(_mask(n, cut[rem != 0]), arr, too_precise)
            rounded = _round_rows(arr, cut[rem != 0], precision, rounding, ctx)
        raw[cut] //= div
        frac = frac - excess
    exps = precision - frac
    high = exps > 0
    if high.any():
        mul = _POW10[exps[high]]
        lim = INT64_MAX // mul
        vals = raw[high]
        over = (vals > lim) | (vals < -lim)
        if over.any():
            ctx.fail_first(
                _mask(n, np.flatnonzero(high)[over]),
                arr,
                f"a decimal whose raw value at precision {precision} fits int64",
            )
        raw[high] = vals * mul
    if rounded is not None:
        raw[rounded[0]] = rounded[1]
    return raw, precision


_DECIMAL_ROUNDING: Final[Mapping[Rounding, str]] = MappingProxyType(
    {
        Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
        Rounding.DOWN: decimal.ROUND_DOWN,
        Rounding.UP: decimal.ROUND_UP,
        Rounding.FLOOR: decimal.ROUND_FLOOR,
        Rounding.CEILING: decimal.ROUND_CEILING,
    }
)


def _round_rows(
    arr: Any, rows: npt.NDArray[np.int64], precision: int, rounding: Rounding, ctx: ColumnContext
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Exact decimal rounding of the few cells with too many fraction digits."""
    mode = _DECIMAL_ROUNDING[Rounding(rounding)]
    context = decimal.Context(prec=100, rounding=mode)
    values = []
    for row in rows.tolist():
        text = arr[row].as_py()
        value = int(
            decimal.Decimal(text).scaleb(precision, context).to_integral_value(mode, context)
        )
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            ctx.fail(row, text, f"a decimal whose raw value at precision {precision} fits int64")
        values.append(value)
    return rows, np.array(values, dtype=np.int64)


def parse_uints(
    arr: Any, ctx: ColumnContext, expected: str = "an unsigned integer"
) -> npt.NDArray[np.uint64]:
    """Parse ``[0-9]+`` text into uint64 (no sign, no spaces, no hex)."""
    arr = _as_string_array(arr)
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    _check_no_nulls(arr, ctx, expected)
    offs, data = string_buffers(arr)
    lengths = np.diff(offs)
    if not lengths.all():
        ctx.fail_first(lengths == 0, arr, expected)
    bad = (data < ord("0")) | (data > ord("9"))
    if bad.any():
        row = _first_bad_byte_row(offs, bad)
        ctx.fail(row, arr[row].as_py(), expected)
    try:
        return np.asarray(pc.cast(arr, pa.uint64()).to_numpy(), dtype=np.uint64)
    except pa.ArrowInvalid:
        for candidate in np.flatnonzero(lengths >= 20).tolist():
            if int(arr[candidate].as_py()) > UINT64_MAX:
                ctx.fail(candidate, arr[candidate].as_py(), f"{expected} that fits uint64")
        raise


def _scale_ns(
    values: npt.NDArray[np.uint64], factor: int, arr: Any, ctx: ColumnContext, unit: str
) -> npt.NDArray[np.uint64]:
    if factor == 1:
        return values
    over = values > np.uint64(UINT64_MAX // factor)
    if over.any():
        ctx.fail_first(over, arr, f"a timestamp in {unit} that fits uint64 nanoseconds")
    scaled: npt.NDArray[np.uint64] = values * np.uint64(factor)
    return scaled


_PLAUSIBLE: Final[Mapping[str, tuple[int, int]]] = MappingProxyType(
    {
        # 2001-09-09 .. 2286-11-20 in each unit
        "s": (10**9, 10**10),
        "ms": (10**12, 10**13),
        "us": (10**15, 10**16),
        "ns": (10**18, 10**19),
    }
)


def detect_unit(first_value: str) -> str | None:
    """Guess the unit of an integer epoch timestamp from its magnitude (``None``: unknown)."""
    if not first_value.isdigit():
        return None
    v = int(first_value)
    for unit, (lo, hi) in _PLAUSIBLE.items():
        if lo <= v < hi:
            return unit
    return None


def parse_timestamps(arr: Any, unit: str, ctx: ColumnContext) -> npt.NDArray[np.uint64]:
    """Parse a timestamp column into uint64 nanoseconds since the epoch (UTC).

    Parameters
    ----------
    unit
        ``"s"``, ``"ms"``, ``"us"``, ``"ns"`` (integer epoch), ``"auto"`` (integer epoch, the
        unit guessed per chunk from the magnitude of the first value: ms and us both occur in
        Binance files), ``"iso"`` (ISO-8601 text, naive = UTC, ``Z`` or ``+hh:mm`` allowed)
        or a ``strptime`` format (``"%Y-%m-%d %H:%M:%S"``); a format may end with ``%f``
        meaning 1..9 fraction-of-second digits after a fixed-width prefix.
    """
    if unit == "auto":
        arr = _as_string_array(arr)
        guess = detect_unit(arr[0].as_py()) if len(arr) else "ns"
        if guess is None:
            ctx.fail(0, arr[0].as_py(), "an epoch timestamp in s, ms, us or ns")
        lo, hi = _PLAUSIBLE[guess]
        values = parse_uints(arr, ctx, "an integer epoch timestamp")
        off = (values < np.uint64(lo)) | (values >= np.uint64(hi))
        if off.any():
            ctx.fail_first(off, arr, f"an epoch timestamp in {guess} like the first row's")
        return _scale_ns(values, TIMESTAMP_UNITS[guess], arr, ctx, guess)
    factor = TIMESTAMP_UNITS.get(unit)
    if factor is not None:
        values = parse_uints(arr, ctx, f"an integer epoch timestamp in {unit}")
        return _scale_ns(values, factor, arr, ctx, unit)
    arr = _as_string_array(arr)
    if unit == "iso":
        return _parse_iso(arr, ctx)
    return _parse_strptime(arr, unit, ctx)


def _ts_to_ns(ts: Any) -> npt.NDArray[np.uint64]:
    ints = np.asarray(ts.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return ints.astype(np.uint64)


def _parse_iso(arr: Any, ctx: ColumnContext) -> npt.NDArray[np.uint64]:
    expected = "an ISO-8601 timestamp like 2024-01-31 23:59:59.123 (UTC unless an offset is given)"
    _check_no_nulls(arr, ctx, expected)
    for target in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
        try:
            ts = pc.cast(arr, target)
        except pa.ArrowInvalid:
            continue
        ints = np.asarray(ts.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
        if (ints < 0).any():
            ctx.fail_first(ints < 0, arr, "a timestamp at or after 1970-01-01")
        return ints.astype(np.uint64)
    # locate the first row neither form accepts (slow path, errors only)
    for i in range(len(arr)):
        cell = arr.slice(i, 1)
        ok = False
        for target in (pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")):
            try:
                pc.cast(cell, target)
                ok = True
                break
            except pa.ArrowInvalid:
                continue
        if not ok:
            ctx.fail(i, arr[i].as_py(), expected)
    ctx.fail(0, arr[0].as_py(), expected)  # pragma: no cover - mixed forms across rows


def _parse_strptime(arr: Any, fmt: str, ctx: ColumnContext) -> npt.NDArray[np.uint64]:
    expected = f"a timestamp in the format {fmt!r}"
    _check_no_nulls(arr, ctx, expected)
    frac_ns: npt.NDArray[np.int64] | None = None
    head = arr
    if fmt.endswith("%f"):
        head_fmt = fmt[:-2]
        width = len(_dt.datetime(2000, 1, 1).strftime(head_fmt))
        lengths = np.asarray(pc.binary_length(arr).to_numpy(), dtype=np.int64)
        nfrac = lengths - width
        if ((nfrac < 1) | (nfrac > 9)).any():
            ctx.fail_first((nfrac < 1) | (nfrac > 9), arr, expected)
        head = pc.utf8_slice_codeunits(arr, 0, width)
        tail = pc.utf8_slice_codeunits(arr, width)
        tail_digits = parse_uints(tail, ctx, expected).astype(np.int64)
        frac_ns = tail_digits * _POW10[9 - nfrac]
        fmt = head_fmt
    parsed = pc.strptime(head, format=fmt, unit="ns", error_is_null=True)
    if parsed.null_count:
        ctx.fail_first(
            np.asarray(parsed.is_null().to_numpy(zero_copy_only=False), dtype=bool), arr, expected
        )
    ints = np.asarray(parsed.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if frac_ns is not None:
        ints = ints + frac_ns
    if (ints < 0).any():
        ctx.fail_first(ints < 0, arr, "a timestamp at or after 1970-01-01")
    return ints.astype(np.uint64)


def parse_choice(
    arr: Any, choices: Mapping[str, int], ctx: ColumnContext, expected: str | None = None
) -> npt.NDArray[np.uint8]:
    """Map each cell through ``choices`` (exact text match) into uint8 codes."""
    arr = _as_string_array(arr)
    n = len(arr)
    if expected is None:
        expected = "one of " + ", ".join(repr(k) for k in choices)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    _check_no_nulls(arr, ctx, expected)
    keys = pa.array(list(choices), type=pa.string())
    codes = np.array(list(choices.values()), dtype=np.uint8)
    idx = pc.index_in(arr, value_set=keys)
    if idx.null_count:
        ctx.fail_first(
            np.asarray(idx.is_null().to_numpy(zero_copy_only=False), dtype=bool), arr, expected
        )
    return codes[np.asarray(idx.to_numpy(), dtype=np.int64)]


def strings_to_fixed_bytes(
    arr: Any, width: int, ctx: ColumnContext | None = None
) -> npt.NDArray[np.bytes_]:
    """Copy a string array into a NUL-padded ``S{width}`` numpy array (vectorized).

    Raises
    ------
    DataImportError
        (with ``ctx``) a value longer than ``width`` bytes, or empty.
    ValueError
        (without ``ctx``) the same.
    """
    arr = _as_string_array(arr)
    n = len(arr)
    out = np.zeros((n, width), dtype=np.uint8)
    if n == 0:
        return out.view(f"S{width}").reshape(n)
    offs, data = string_buffers(arr)
    lengths = np.diff(offs)
    bad = (lengths > width) | (lengths == 0) if ctx is not None else lengths > width
    if bad.any() or arr.null_count:
        if arr.null_count:
            bad = bad | np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        expected = f"a non-empty id of at most {width} bytes"
        if ctx is not None:
            ctx.fail_first(bad, arr, expected)
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"trade_id {arr[row].as_py()!r} at row {row}: expected {expected}")
    if len(data):
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        cols = np.arange(len(data), dtype=np.int64) - np.repeat(offs[:-1], lengths)
        out[rows, cols] = data
    return out.view(f"S{width}").reshape(n)


def fixed_bytes_to_strings(values: npt.NDArray[np.bytes_]) -> Any:
    """Inverse of :func:`strings_to_fixed_bytes`: NUL-padded bytes to an Arrow string array."""
    n = len(values)
    width = values.dtype.itemsize
    if n == 0:
        return pa.array([], type=pa.string())
    mat = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    nonzero = mat != 0
    # length = index of the last non-NUL byte + 1 (ids contain no NUL bytes)
    lengths = np.where(nonzero.any(axis=1), width - np.argmax(nonzero[:, ::-1], axis=1), 0)
    offs = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offs[1:])
    data = mat[np.arange(width)[None, :] < lengths[:, None]]
    out = pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offs), pa.py_buffer(np.ascontiguousarray(data))]
    )
    out.validate(full=True)  # raises on invalid UTF-8
    return out
