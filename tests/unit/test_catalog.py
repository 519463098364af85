"""ParquetDataCatalog: layout, round trips, append/overwrite rules, atomicity, streaming reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphaforge.data import catalog as catalog_module
from alphaforge.data.arrays import MarketArray
from alphaforge.data.catalog import NS_PER_DAY, ParquetDataCatalog
from alphaforge.data.errors import CatalogError, OverlapError
from alphaforge.data.schemas import QUOTE_DTYPE, DataType, schema_precisions
from alphaforge.data.synthetic import default_instrument, generate_market
from alphaforge.errors import InvalidValue
from alphaforge.model import BarType, InstrumentId, Price, Quantity, QuoteTick

IID = "BTCUSDT.SIM"
DAY0 = 19_723 * NS_PER_DAY  # 2024-01-01


def quotes(ts: np.ndarray, price0: int = 5_000_000, precision: int = 2) -> MarketArray:
    n = len(ts)
    r = np.zeros(n, QUOTE_DTYPE)
    r["ts_event"] = ts
    r["ts_init"] = ts
    r["bid_price"] = price0 + np.arange(n)
    r["ask_price"] = price0 + np.arange(n) + 1
    r["bid_size"] = 1000 + np.arange(n)
    r["ask_size"] = 2000 + np.arange(n)
    return MarketArray(DataType.QUOTES, IID, r, precision, 3)


def span(start: int, stop: int, step: int) -> np.ndarray:
    return np.arange(start, stop, step, dtype=np.uint64)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def catalog(tmp_path: Path) -> ParquetDataCatalog:
    return ParquetDataCatalog(tmp_path / "catalog", durable=False)


def test_layout_is_one_file_per_day_and_stream(catalog: ParquetDataCatalog) -> None:
    ma = quotes(span(DAY0 + 1, DAY0 + 3 * NS_PER_DAY, NS_PER_DAY // 4))
    result = catalog.write(ma)
    assert result.rows == len(ma)
    assert result.days == ("2024-01-01", "2024-01-02", "2024-01-03")
    files = sorted(p.name for p in (catalog.root / "quotes" / IID).iterdir())
    assert files == ["2024-01-01.parquet", "2024-01-02.parquet", "2024-01-03.parquet"]
    assert catalog.days("quotes", IID) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert catalog.keys("quotes") == [IID]
    assert catalog.data_types() == [DataType.QUOTES]
    assert catalog.time_range("quotes", IID) == (int(ma.ts_init[0]), int(ma.ts_init[-1]))
    assert catalog.time_range("trades", IID) is None


def test_unsafe_characters_in_keys_are_encoded(catalog: ParquetDataCatalog) -> None:
    iid = "BTC/USD.KRAKEN"
    ma = quotes(span(DAY0, DAY0 + 10, 1)).replace(np.zeros(0, QUOTE_DTYPE))
    ma = MarketArray(DataType.QUOTES, iid, quotes(span(DAY0, DAY0 + 10, 1)).records, 2, 3)
    catalog.write(ma)
    assert (catalog.root / "quotes" / "BTC%2FUSD.KRAKEN").is_dir()
    assert catalog.keys("quotes") == [iid]
    assert catalog.query_array("quotes", InstrumentId.from_str(iid)).equals(ma)
    del ma


def test_round_trip_every_market_type(catalog: ParquetDataCatalog) -> None:
    market = generate_market(3, n_quotes=3000)
    assert market.book_deltas is not None
    for ma in (market.quotes, market.trades, market.book_deltas):
        catalog.write(ma)
        assert catalog.query_array(ma.data_type, IID).equals(ma)
    objects = market.quotes.to_objects()[:10]
    assert catalog.query_objects("quotes", IID)[:10] == objects


def test_bars_are_keyed_by_bar_type(catalog: ParquetDataCatalog) -> None:
    from alphaforge.model import Bar

    bt = BarType.from_str("BTCUSDT.SIM-1-MINUTE-LAST-EXTERNAL")
    bars = [
        Bar(bt, Price("1.5"), Price("2"), Price("1"), Price("1.5"), Quantity("3"), t, t)
        for t in range(DAY0, DAY0 + 5 * 60 * 10**9, 60 * 10**9)
    ]
    catalog.write_bars(bars)
    assert catalog.keys("bars") == [str(bt)]
    assert catalog.query_objects("bars", bt) == bars
    empty = catalog.query("bars", "ETHUSDT.SIM-1-MINUTE-LAST-EXTERNAL")
    assert empty.num_rows == 0


def test_write_accepts_objects_tables_and_checks_the_type(catalog: ParquetDataCatalog) -> None:
    iid = InstrumentId.from_str(IID)
    ticks = [
        QuoteTick(iid, Price("1.00"), Price("1.01"), Quantity("1"), Quantity("2"), t, t)
        for t in (DAY0, DAY0 + 1)
    ]
    catalog.write_quotes(ticks)
    table = catalog.query("quotes", IID)
    assert catalog.query_objects("quotes", IID) == ticks
    catalog.write_quotes(table, mode="overwrite")
    with pytest.raises(InvalidValue, match="expected trades"):
        catalog.write_trades(ticks)
    with pytest.raises(InvalidValue):
        catalog.write(42)


def test_query_range_is_inclusive_and_streams_are_sorted(catalog: ParquetDataCatalog) -> None:
    ts = span(DAY0, DAY0 + 2 * NS_PER_DAY, NS_PER_DAY // 1000)
    catalog.write(quotes(ts))
    lo, hi = int(ts[100]), int(ts[1500])
    got = catalog.query_array("quotes", IID, lo, hi)
    assert got.ts_init.tolist() == ts[100:1501].tolist()
    assert catalog.query("quotes", IID, start_ns=int(ts[-1]) + 1).num_rows == 0
    assert catalog.query("quotes", IID, end_ns=int(ts[0]) - 1).num_rows == 0
    with pytest.raises(InvalidValue, match="start_ns"):
        catalog.query("quotes", IID, 10, 5)
    with pytest.raises(InvalidValue, match="start_ns"):
        catalog.query("quotes", IID, -1)


def test_iter_batches_are_bounded_and_complete(tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path, row_group_size=1000, durable=False)
    ts = span(DAY0, DAY0 + 3 * NS_PER_DAY, NS_PER_DAY // 4000)
    ma = quotes(ts)
    catalog.write(ma)
    batches = list(catalog.iter_batches("quotes", IID, batch_size=777))
    assert all(0 < b.num_rows <= 777 for b in batches)
    assert sum(b.num_rows for b in batches) == len(ma)
    lo, hi = int(ts[1234]), int(ts[9876])
    arrays = list(catalog.iter_arrays("quotes", IID, lo, hi, batch_size=500))
    got = np.concatenate([a.ts_init for a in arrays])
    assert got.tolist() == ts[1234:9877].tolist()
    with pytest.raises(InvalidValue):
        list(catalog.iter_batches("quotes", IID, batch_size=0))


def test_append_after_end_extends_the_last_day(catalog: ParquetDataCatalog) -> None:
    ts = span(DAY0, DAY0 + NS_PER_DAY + NS_PER_DAY // 2, NS_PER_DAY // 100)
    full = quotes(ts)
    first, second = full.between(None, int(ts[120]) - 1), full.between(int(ts[120]), None)
    catalog.write(first)
    result = catalog.write(second)
    assert result.days == ("2024-01-02",)
    assert catalog.query_array("quotes", IID).equals(full)


def test_equal_timestamps_at_the_boundary_are_allowed(catalog: ParquetDataCatalog) -> None:
    ts = np.array([DAY0, DAY0 + 5, DAY0 + 5], dtype=np.uint64)
    catalog.write(quotes(ts[:2]))
    catalog.write(quotes(ts[2:], price0=7))
    assert catalog.query_array("quotes", IID).ts_init.tolist() == ts.tolist()


def test_overlap_is_refused_and_leaves_the_catalog_unchanged(
    catalog: ParquetDataCatalog,
) -> None:
    ts = span(DAY0, DAY0 + 2 * NS_PER_DAY, NS_PER_DAY // 50)
    catalog.write(quotes(ts))
    before = snapshot(catalog.root)
    with pytest.raises(OverlapError, match="overwrite"):
        catalog.write(quotes(ts[10:20] + np.uint64(1)))
    with pytest.raises(OverlapError):
        catalog.write(quotes(ts))
    assert snapshot(catalog.root) == before


def test_backfill_of_a_gap_is_an_append(catalog: ParquetDataCatalog) -> None:
    day = NS_PER_DAY
    a = quotes(span(DAY0, DAY0 + day, day // 10))
    c = quotes(span(DAY0 + 2 * day, DAY0 + 3 * day, day // 10))
    b = quotes(span(DAY0 + day, DAY0 + 2 * day, day // 10))
    catalog.write(a)
    catalog.write(c)
    catalog.write(b)
    got = catalog.query_array("quotes", IID).ts_init
    assert got.tolist() == np.concatenate([a.ts_init, b.ts_init, c.ts_init]).tolist()


def test_overwrite_replaces_exactly_the_written_range(catalog: ParquetDataCatalog) -> None:
    day = NS_PER_DAY
    ts = span(DAY0, DAY0 + 3 * day, day // 10)
    catalog.write(quotes(ts))
    # replace [day 0 + 0.5, day 2 + 0.25] with two rows; day 1 disappears entirely
    new_ts = np.array([DAY0 + day // 2, DAY0 + 2 * day + day // 4], dtype=np.uint64)
    result = catalog.write(quotes(new_ts, price0=1), mode="overwrite")
    assert result.days == ("2024-01-01", "2024-01-03")
    got = catalog.query_array("quotes", IID)
    kept = [t for t in ts.tolist() if t < new_ts[0] or t > new_ts[1]]
    assert sorted(got.ts_init.tolist()) == sorted(kept + new_ts.tolist())
    assert got.is_sorted()
    assert catalog.days("quotes", IID) == ["2024-01-01", "2024-01-03"]
    rows = got.records[np.isin(got.ts_init, new_ts)]
    assert rows["bid_price"].tolist() == [1, 2]


def test_unsorted_input_is_refused(catalog: ParquetDataCatalog) -> None:
    ts = np.array([DAY0 + 5, DAY0 + 3], dtype=np.uint64)
    with pytest.raises(CatalogError, match="not sorted at row 1"):
        catalog.write(quotes(ts))
    assert not catalog.root.exists() or not list(catalog.root.rglob("*.parquet"))
    catalog.write(quotes(ts).sorted())


def test_stream_chunks_must_not_go_back_in_time(catalog: ParquetDataCatalog) -> None:
    a = quotes(span(DAY0 + 10, DAY0 + 20, 1))
    b = quotes(span(DAY0, DAY0 + 5, 1))
    with pytest.raises(CatalogError, match="before the previous"):
        catalog.write_stream([a, b])
    other = MarketArray(DataType.QUOTES, "ETHUSDT.SIM", a.records, 2, 3)
    with pytest.raises(CatalogError, match="another stream"):
        catalog.write_stream([a, other])
    assert not list(catalog.root.rglob("*")) or not list(catalog.root.rglob("*.parquet"))


def _boom(chunks: list[MarketArray], after: int) -> Iterator[MarketArray]:
    for i, chunk in enumerate(chunks):
        if i == after:
            raise RuntimeError("import interrupted")
        yield chunk


def test_interrupted_stream_leaves_the_catalog_as_it_was(catalog: ParquetDataCatalog) -> None:
    day = NS_PER_DAY
    catalog.write(quotes(span(DAY0, DAY0 + day, day // 20)))
    before = snapshot(catalog.root)
    new = quotes(span(DAY0 + day, DAY0 + 4 * day, day // 20))
    chunks = [new.between(DAY0 + k * day, DAY0 + (k + 1) * day - 1) for k in range(1, 4)]
    with pytest.raises(RuntimeError, match="interrupted"):
        catalog.write_stream(_boom(chunks, after=2))
    assert snapshot(catalog.root) == before
    # an overwrite interrupted half-way leaves the old rows too
    with pytest.raises(RuntimeError):
        catalog.write_stream(_boom([quotes(span(DAY0, DAY0 + 5, 1)), new], 1), mode="overwrite")
    assert snapshot(catalog.root) == before
    assert catalog.cleanup() == 0


def test_failure_during_the_final_renames_rolls_back(
    catalog: ParquetDataCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = NS_PER_DAY
    catalog.write(quotes(span(DAY0, DAY0 + 3 * day, day // 10)))
    before = snapshot(catalog.root)
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src: Any, dst: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(catalog_module.os, "replace", flaky)
    new = quotes(span(DAY0 + day // 3, DAY0 + 3 * day, day // 7), price0=9)
    with pytest.raises(OSError, match="disk full"):
        catalog.write(new, mode="overwrite")
    monkeypatch.setattr(catalog_module.os, "replace", real_replace)
    assert snapshot(catalog.root) == before


def test_precision_upgrade_across_chunks_and_files(catalog: ParquetDataCatalog) -> None:
    day = NS_PER_DAY
    a = quotes(span(DAY0, DAY0 + 10, 1), precision=1)
    b = quotes(span(DAY0 + 10, DAY0 + 20, 1), precision=3)
    c = quotes(span(DAY0 + day, DAY0 + day + 10, 1), precision=2)
    catalog.write_stream([a, b])
    catalog.write(c)
    got = catalog.query_array("quotes", IID)
    assert got.price_precision == 3
    assert got.records["bid_price"][:10].tolist() == (a.records["bid_price"] * 100).tolist()
    assert got.records["bid_price"][10:20].tolist() == b.records["bid_price"].tolist()
    assert got.records["bid_price"][20:].tolist() == (c.records["bid_price"] * 10).tolist()
    batches = list(catalog.iter_batches("quotes", IID, batch_size=7))
    assert {schema_precisions(b.schema) for b in batches} == {(3, 3)}


def test_instruments_are_stored_one_file_each(catalog: ParquetDataCatalog) -> None:
    inst = default_instrument()
    catalog.write_instruments([inst])
    assert catalog.instruments() == [inst]
    assert catalog.instrument(IID) == inst
    assert catalog.keys("instruments") == [IID]
    catalog.write_instruments([inst])  # replacing is fine
    assert catalog.instruments([IID, "NOPE.SIM"]) == [inst]
    with pytest.raises(CatalogError, match="not in"):
        catalog.instrument("NOPE.SIM")
    with pytest.raises(InvalidValue):
        catalog.write_instruments(["not an instrument"])  # type: ignore[list-item]
    with pytest.raises(InvalidValue):
        catalog.query("instruments", IID)


def test_cleanup_removes_stale_temporaries(catalog: ParquetDataCatalog) -> None:
    catalog.write(quotes(span(DAY0, DAY0 + 3, 1)))
    stale = catalog.root / "quotes" / IID / ".2024-01-01.parquet.tmp-deadbeef"
    stale.write_bytes(b"partial")
    assert catalog.query("quotes", IID).num_rows == 3  # readers ignore it
    assert catalog.cleanup() == 1
    assert not stale.exists()


def test_empty_and_invalid_arguments(catalog: ParquetDataCatalog) -> None:
    result = catalog.write_stream([])
    assert result.rows == 0
    empty = quotes(np.zeros(0, dtype=np.uint64))
    assert catalog.write(empty).rows == 0
    assert catalog.query("quotes", IID).num_rows == 0
    assert catalog.query_array("quotes", IID).price_precision == 0
    assert list(catalog.iter_batches("quotes", IID)) == []
    with pytest.raises(InvalidValue):
        catalog.write(quotes(span(DAY0, DAY0 + 3, 1)), mode="upsert")  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        ParquetDataCatalog(catalog.root, row_group_size=0)
    with pytest.raises(InvalidValue):
        catalog.query("quotes", "")
