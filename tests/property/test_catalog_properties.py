"""Hypothesis properties of the data layer: exact decimal parsing, catalog round trips, merging."""

from __future__ import annotations

import decimal
import itertools
import tempfile
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaforge.data._parse import ColumnContext, parse_decimals
from alphaforge.data.arrays import MarketArray
from alphaforge.data.catalog import NS_PER_DAY, ParquetDataCatalog
from alphaforge.data.errors import DataImportError, OverlapError
from alphaforge.data.merge import merge_order
from alphaforge.data.schemas import QUOTE_DTYPE, DataType
from alphaforge.model import Rounding

INT64_MAX = (1 << 63) - 1
CTX = ColumnContext("prop.csv", 1, "x")
DAY0 = 19_723 * NS_PER_DAY

texts = st.builds(
    lambda neg, whole, frac: ("-" if neg else "") + str(whole) + (f".{frac}" if frac else ""),
    st.booleans(),
    st.one_of(st.integers(0, 10**6), st.integers(0, 10**18)),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=12)),
)


def reference(text: str, precision: int) -> int | None:
    """Raw value at ``precision`` by Decimal, or None if not exact / out of int64."""
    value = Decimal(text).scaleb(precision, decimal.Context(prec=100))
    if value != value.to_integral_value():
        return None
    raw = int(value)
    return raw if -INT64_MAX - 1 <= raw <= INT64_MAX else None


@given(st.lists(texts, min_size=1, max_size=40), st.one_of(st.none(), st.integers(0, 18)))
@settings(max_examples=300)
def test_decimal_parsing_matches_decimal(values: list[str], precision: int | None) -> None:
    target = precision
    if target is None:
        target = max(len(v.partition(".")[2]) for v in values)
    expected = [reference(v, target) for v in values] if target <= 18 else [None]
    if None in expected:
        with pytest.raises(DataImportError) as info:
            parse_decimals(pa.array(values), precision, CTX)
        # the reported line holds a value that really cannot be represented
        line = info.value.line
        assert line is not None and CTX.first_line is not None
        assert expected[line - CTX.first_line] is None
        assert info.value.value == values[line - CTX.first_line]
        return
    raw, got_precision = parse_decimals(pa.array(values), precision, CTX)
    assert got_precision == target
    assert raw.tolist() == expected


@given(st.lists(texts, min_size=1, max_size=20), st.integers(0, 8), st.sampled_from(Rounding))
@settings(max_examples=200)
def test_rounding_matches_decimal_quantize(
    values: list[str], precision: int, mode: Rounding
) -> None:
    modes = {
        Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
        Rounding.DOWN: decimal.ROUND_DOWN,
        Rounding.UP: decimal.ROUND_UP,
        Rounding.FLOOR: decimal.ROUND_FLOOR,
        Rounding.CEILING: decimal.ROUND_CEILING,
    }
    ctx = decimal.Context(prec=100)
    expected = [
        int(Decimal(v).scaleb(precision, ctx).to_integral_value(modes[mode], ctx)) for v in values
    ]
    if any(not -INT64_MAX - 1 <= e <= INT64_MAX for e in expected):
        with pytest.raises(DataImportError):
            parse_decimals(pa.array(values), precision, CTX, rounding=mode)
        return
    try:
        raw, _ = parse_decimals(pa.array(values), precision, CTX, rounding=mode)
    except DataImportError:
        # exact rows whose digits alone exceed int64 (e.g. 19+ digits at low precision)
        assert any(len(v.replace("-", "").replace(".", "")) >= 19 for v in values)
        return
    assert raw.tolist() == expected


def quotes_from(ts: list[int], prices: list[int], precision: int) -> MarketArray:
    r = np.zeros(len(ts), QUOTE_DTYPE)
    r["ts_event"] = ts
    r["ts_init"] = ts
    r["bid_price"] = prices
    r["ask_price"] = [p + 1 for p in prices]
    r["bid_size"] = np.arange(len(ts))
    r["ask_size"] = np.arange(len(ts)) * 3
    return MarketArray(DataType.QUOTES, "X.SIM", r, precision, 3)


streams = st.lists(
    st.tuples(st.integers(0, 5 * NS_PER_DAY), st.integers(-(10**12), 10**12)),
    min_size=1,
    max_size=200,
).map(lambda rows: sorted(rows, key=lambda r: r[0]))


@given(streams, st.integers(0, 8), st.lists(st.integers(0, 200), max_size=4))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_catalog_write_read_round_trip(
    rows: list[tuple[int, int]], precision: int, cuts: list[int]
) -> None:
    ts = [DAY0 + t for t, _ in rows]
    ma = quotes_from(ts, [p for _, p in rows], precision)
    bounds = sorted({0, len(ma), *(min(c, len(ma)) for c in cuts)})
    chunks = [ma.replace(ma.records[a:b]) for a, b in itertools.pairwise(bounds)]
    with tempfile.TemporaryDirectory() as root:
        catalog = ParquetDataCatalog(root, durable=False, row_group_size=17)
        catalog.write_stream(chunks)
        assert catalog.query_array("quotes", "X.SIM").equals(ma)
        got = np.concatenate(
            [a.records for a in catalog.iter_arrays("quotes", "X.SIM", batch_size=13)]
        )
        assert got.tobytes() == catalog.query_array("quotes", "X.SIM").records.tobytes()
        lo, hi = sorted((ts[0], ts[-1] - (ts[-1] - ts[0]) // 3))
        assert catalog.query_array("quotes", "X.SIM", lo, hi).equals(ma.between(lo, hi))


@given(streams, st.lists(st.integers(1, 199), min_size=1, max_size=3))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_successive_appends_equal_one_write(rows: list[tuple[int, int]], cuts: list[int]) -> None:
    ts = [DAY0 + t for t, _ in rows]
    ma = quotes_from(ts, [p for _, p in rows], 2)
    bounds = sorted({0, len(ma), *(min(c, len(ma)) for c in cuts)})
    with tempfile.TemporaryDirectory() as root:
        catalog = ParquetDataCatalog(root, durable=False)
        for a, b in itertools.pairwise(bounds):
            catalog.write(ma.replace(ma.records[a:b]))
        assert catalog.query_array("quotes", "X.SIM").equals(ma)
        if len(set(ts)) > 2:
            with pytest.raises(OverlapError):
                catalog.write(ma)


@given(
    st.lists(
        st.lists(st.integers(0, 50), max_size=30).map(sorted),
        min_size=0,
        max_size=5,
    )
)
@settings(max_examples=200)
def test_merged_streams_are_sorted_and_stable(columns: list[list[int]]) -> None:
    arrays = [np.array(c, dtype=np.uint64) for c in columns]
    stream, row = merge_order(*arrays)
    assert len(stream) == sum(len(c) for c in columns)
    merged = [columns[s][r] for s, r in zip(stream.tolist(), row.tolist(), strict=True)]
    assert merged == sorted(merged)
    # every row exactly once, and per stream in order
    for s, col in enumerate(columns):
        assert row[stream == s].tolist() == list(range(len(col)))
    # ties: lower stream first
    keys = list(zip(merged, stream.tolist(), strict=True))
    assert keys == sorted(keys)
