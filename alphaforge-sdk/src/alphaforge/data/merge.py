"""Deterministic merging of several time-sorted streams into one replay order.

The backtest replays quotes, trades, book deltas and bars of many instruments as one sequence.
:func:`merge_order` gives that sequence without copying records: for every position, which
stream and which row. Ties on the timestamp are broken by the order the streams are given in,
then by row order, so the same inputs always give the same sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alphaforge.data.arrays import MarketArray
from alphaforge.errors import InvalidValue

__all__ = ["merge_order", "merge_sorted"]


def merge_order(
    *timestamps: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """The merged order of sorted timestamp columns.

    Parameters
    ----------
    *timestamps
        One non-decreasing uint64 column per stream.

    Returns
    -------
    (stream, row)
        Equal-length arrays: position ``k`` of the merged sequence is row ``row[k]`` of stream
        ``stream[k]``. The merged timestamps are non-decreasing; ties keep the stream order of
        the arguments, then the row order.

    Raises
    ------
    InvalidValue
        A column is not sorted (the message names the stream and row).
    """
    lengths = []
    for s, ts in enumerate(timestamps):
        arr = np.asarray(ts)
        if arr.ndim != 1:
            raise InvalidValue(f"timestamps[{s}]", arr.shape, "must be a 1-d column")
        if len(arr) > 1:
            back = np.flatnonzero(arr[1:] < arr[:-1])
            if len(back):
                row = int(back[0]) + 1
                raise InvalidValue(
                    f"timestamps[{s}][{row}]", int(arr[row]), "is earlier than the row before"
                )
        lengths.append(len(arr))
    bounds = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))
    if bounds[-1] == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    merged = np.concatenate([np.asarray(t, dtype=np.uint64) for t in timestamps])
    perm = np.argsort(merged, kind="stable")
    stream = (np.searchsorted(bounds, perm, side="right") - 1).astype(np.int32)
    rows: npt.NDArray[np.int64] = perm - bounds[stream]
    return stream, rows


def merge_sorted(
    arrays: Sequence[MarketArray],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """:func:`merge_order` over the ``ts_init`` columns of :class:`MarketArray` streams."""
    return merge_order(*(a.ts_init for a in arrays))
