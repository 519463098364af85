"""Value checks and precision helpers shared by the importers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from alphaforge.data._parse import ColumnContext, parse_decimals
from alphaforge.data.arrays import rescale_raw
from alphaforge.data.errors import DataImportError
from alphaforge.errors import ArithmeticOverflow, InvalidValue
from alphaforge.model.instruments import Instrument

__all__ = ["check_bars", "precisions_for", "unify_precisions"]


def precisions_for(
    price_precision: int | None, size_precision: int | None, instrument: Instrument | None
) -> tuple[int | None, int | None]:
    """Explicit precisions, else the instrument's, else ``None`` (infer from the data)."""
    if instrument is not None and not isinstance(instrument, Instrument):
        raise InvalidValue("instrument", repr(instrument), "must be an Instrument")
    for name, value in (("price_precision", price_precision), ("size_precision", size_precision)):
        if value is not None and (type(value) is not int or not 0 <= value <= 18):
            raise InvalidValue(name, value, "must be an int in 0..=18 or None")
    if instrument is not None:
        if price_precision is None:
            price_precision = instrument.price_precision
        if size_precision is None:
            size_precision = instrument.size_precision
    return price_precision, size_precision


def unify_precisions(
    parts: Sequence[tuple[npt.NDArray[np.int64], int]], path: str, line: int, columns: Sequence[str]
) -> tuple[list[npt.NDArray[np.int64]], int]:
    """Rescale raw columns parsed at different (inferred) precisions to the largest one."""
    target = max(p for _, p in parts)
    out = []
    for (raw, p), column in zip(parts, columns, strict=True):
        try:
            out.append(rescale_raw(raw, target - p, column))
        except ArithmeticOverflow:
            big = np.abs(raw) > np.iinfo(np.int64).max // 10 ** (target - p)
            row = int(np.flatnonzero(big)[0])
            raise DataImportError(
                path,
                line + row,
                column,
                int(raw[row]),
                f"a value that fits int64 at precision {target}",
            ) from None
    return out, target


def parse_unified(
    batch: Any,
    names: Sequence[str],
    precision: int | None,
    path: Any,
    line: int,
    *,
    non_negative: bool = False,
) -> tuple[list[npt.NDArray[np.int64]], int]:
    """Parse the decimal columns ``names`` of ``batch`` and rescale them to one precision
    (``precision``, or the largest one the columns need)."""
    parts = [
        parse_decimals(batch.column(n), precision, ColumnContext(str(path), line, n),
                       non_negative=non_negative)
        for n in names
    ]  # fmt: skip
    return unify_precisions(parts, str(path), line, names)


def check_bars(out: npt.NDArray[Any], path: Any, line: int, batch: Any) -> None:
    """Reject bars whose high/low do not bound open, close (names the line and column)."""
    o, h, lo, c = out["open"], out["high"], out["low"], out["close"]
    bad_high = (h < o) | (h < c) | (h < lo)
    if bad_high.any():
        row = int(np.flatnonzero(bad_high)[0])
        raise DataImportError(
            str(path),
            line + row,
            "high",
            batch.column("high")[row].as_py(),
            "high >= open, close and low",
        )
    bad_low = (lo > o) | (lo > c)
    if bad_low.any():
        row = int(np.flatnonzero(bad_low)[0])
        raise DataImportError(
            str(path), line + row, "low", batch.column("low")[row].as_py(), "low <= open and close"
        )
