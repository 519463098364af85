"""Log-linear HDR bucketing: contiguous, precise, and numpy agrees with the scalar version."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphaforge.errors import InvalidValue
from alphaforge.metrics import LogLinearLayout

LAYOUT = LogLinearLayout()


@pytest.mark.parametrize("bits", [2, 5, 8, 11])
def test_buckets_tile_the_range_without_gaps(bits: int) -> None:
    layout = LogLinearLayout(bits)
    previous_hi = 0
    for index in range(layout.size):
        lo, hi = layout.bucket_bounds(index)
        assert lo == previous_hi and hi > lo
        previous_hi = hi
    assert previous_hi == 1 << 63


def test_small_values_are_exact_and_precision_bounded() -> None:
    assert LAYOUT.size == 256 + 55 * 128
    for value in range(256):
        assert LAYOUT.bucket_bounds(LAYOUT.index(value)) == (value, value + 1)
    assert LAYOUT.relative_precision == pytest.approx(1 / 128)
    for index in range(256, LAYOUT.size):
        lo, hi = LAYOUT.bucket_bounds(index)
        assert (hi - lo) / lo <= LAYOUT.relative_precision


@given(st.integers(min_value=0, max_value=(1 << 63) - 1))
def test_index_finds_the_bucket_holding_the_value(value: int) -> None:
    lo, hi = LAYOUT.bucket_bounds(LAYOUT.index(value))
    assert lo <= value < hi


@given(st.lists(st.integers(min_value=0, max_value=(1 << 63) - 1), min_size=1, max_size=64))
def test_vectorised_indices_match_scalar(values: list[int]) -> None:
    got = LAYOUT.indices(np.array(values, dtype=np.int64)).tolist()
    assert got == [LAYOUT.index(v) for v in values]


def test_vectorised_indices_at_power_of_two_edges() -> None:
    edges = sorted(
        {max(0, (1 << k) + d) for k in range(0, 63) for d in (-1, 0, 1)} | {(1 << 63) - 1}
    )
    got = LAYOUT.indices(np.array(edges, dtype=np.int64)).tolist()
    assert got == [LAYOUT.index(v) for v in edges]


@pytest.mark.parametrize("bits", [1, 17, True, "8"])
def test_bits_are_validated(bits: object) -> None:
    with pytest.raises(InvalidValue, match="bits"):
        LogLinearLayout(bits)  # type: ignore[arg-type]


@pytest.mark.parametrize("index", [-1, LAYOUT.size, 1.0])
def test_bucket_bounds_rejects_bad_index(index: object) -> None:
    with pytest.raises(InvalidValue, match="index"):
        LAYOUT.bucket_bounds(index)  # type: ignore[arg-type]
