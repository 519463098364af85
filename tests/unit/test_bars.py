"""Native bar aggregation through the batch ABI, checked against plain-Python references."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.bars import (
    BAR_DTYPE,
    SAMPLE_DTYPE,
    BarAggregator,
    samples_from_quotes,
    samples_from_trades,
)
from alphaforge.errors import InvalidValue
from alphaforge.model import BarType, Price, PriceType, Quantity

MINUTE = 60_000_000_000


def aggregator(spec: str, pp: int = 2, sp: int = 3) -> BarAggregator:
    return BarAggregator(BarType.from_str(f"BTCUSDT.SIM-{spec}-INTERNAL"),
                         price_precision=pp, size_precision=sp)  # fmt: skip


def make_samples(ts: list[int], price: list[int], size: list[int]) -> np.ndarray[Any, Any]:
    return samples_from_trades(np.array(ts, np.uint64), np.array(price), np.array(size))


def reference_time_bars(samples: np.ndarray[Any, Any], step: int) -> list[tuple[int, ...]]:
    """Group by epoch-aligned interval; every interval that is followed by data is closed."""
    groups: dict[int, list[Any]] = {}
    for s in samples:
        groups.setdefault(int(s["ts"]) // step, []).append(s)
    keys = sorted(groups)[:-1]  # the last interval is still open
    return [
        (k * step, (k + 1) * step, int(g[0]["price"]), max(int(x["price"]) for x in g),
         min(int(x["price"]) for x in g), int(g[-1]["price"]), sum(int(x["size"]) for x in g),
         len(g))
        for k in keys
        for g in [groups[k]]
    ]  # fmt: skip


def as_tuples(bars: np.ndarray[Any, Any]) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in bar) for bar in bars]


sample_streams = st.lists(
    st.tuples(st.integers(0, 5 * MINUTE), st.integers(1, 10_000), st.integers(0, 50)),
    min_size=1,
    max_size=200,
).map(lambda rows: make_samples(*map(list, zip(*sorted(rows), strict=True))))


@settings(max_examples=60, deadline=None)
@given(sample_streams, st.integers(1, 40))
def test_time_bars_match_reference_and_do_not_depend_on_batching(
    samples: np.ndarray[Any, Any], chunk: int
) -> None:
    whole = aggregator("1-MINUTE-LAST").update(samples)
    assert as_tuples(whole) == reference_time_bars(samples, MINUTE)
    pieces = aggregator("1-MINUTE-LAST")
    parts = [pieces.update(samples[i : i + chunk]) for i in range(0, len(samples), chunk)]
    assert as_tuples(np.concatenate(parts)) == as_tuples(whole)


@settings(max_examples=60, deadline=None)
@given(sample_streams, st.integers(1, 30))
def test_volume_bars_conserve_volume_and_hold_exactly_their_threshold(
    samples: np.ndarray[Any, Any], step: int
) -> None:
    agg = aggregator(f"{step}-VOLUME-LAST", sp=0)
    bars = agg.update(samples)
    assert all(int(b["volume"]) == step for b in bars)
    partial = agg.partial()
    left = int(partial["volume"]) if partial is not None else 0
    assert len(bars) * step + left == int(samples["size"].sum())


def test_tick_bars_and_model_conversion() -> None:
    agg = aggregator("2-TICK-LAST")
    bars = agg.update(make_samples([1, 2, 3], [5_000_025, 5_000_100, 4_999_900], [1000, 250, 5]))
    (bar,) = agg.to_bars(bars)
    assert (bar.open, bar.high, bar.low, bar.close) == (
        Price("50000.25"), Price("50001.00"), Price("50000.25"), Price("50001.00"),
    )  # fmt: skip
    assert bar.volume == Quantity("1.250")
    assert bar.ts_event == 2


def test_flush_closes_a_quiet_interval() -> None:
    agg = aggregator("1-MINUTE-LAST")
    assert len(agg.update(make_samples([10], [100], [1]))) == 0
    assert len(agg.flush(MINUTE - 1)) == 0
    (bar,) = agg.flush(MINUTE)
    assert int(bar["ts_close"]) == MINUTE
    assert agg.partial() is None


def test_a_bad_batch_is_refused_and_changes_nothing() -> None:
    agg = aggregator("3-TICK-LAST")
    agg.update(make_samples([5], [100], [1]))
    with pytest.raises(InvalidValue, match="sample 1: goes backwards"):
        agg.update(make_samples([6, 4], [100, 100], [1, 1]))
    with pytest.raises(InvalidValue, match="size"):
        agg.update(make_samples([7], [100], [-1]))
    partial = agg.partial()
    assert partial is not None and int(partial["ticks"]) == 1


def test_wrong_arrays_are_refused_before_reaching_native_code() -> None:
    agg = aggregator("1-TICK-LAST")
    with pytest.raises(InvalidValue, match="expected dtype"):
        agg.update(np.zeros(3, dtype=BAR_DTYPE))
    with pytest.raises(InvalidValue, match="C-contiguous"):
        agg.update(np.zeros(6, dtype=SAMPLE_DTYPE)[::2])
    with pytest.raises(InvalidValue, match="numpy array"):
        agg.update([1, 2, 3])  # type: ignore[arg-type]


def test_mid_samples_are_exact_at_one_more_digit() -> None:
    ts = np.array([1, 2], np.uint64)
    samples, pp, sp = samples_from_quotes(
        ts, np.array([100, 101]), np.array([101, 103]), np.array([1, 2]), np.array([2, 2]),
        PriceType.MID, 2, 0,
    )  # fmt: skip
    assert (pp, sp) == (3, 1)
    assert samples["price"].tolist() == [1005, 1020]  # 1.005 and 1.020
    assert samples["size"].tolist() == [15, 20]
