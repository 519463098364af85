"""Importers on the team's real market-data samples (skipped when ../shared/data is absent).

Every numeric cell is cross-checked against an independent parse with the csv module and
:class:`decimal.Decimal`.
"""

from __future__ import annotations

import csv
import gzip
from decimal import Decimal
from pathlib import Path

import attrs
import numpy as np
import pytest

from alphaforge.data.catalog import ParquetDataCatalog
from alphaforge.data.errors import DataImportError
from alphaforge.data.importers import (
    CsvSpec,
    import_binance,
    import_csv,
    import_tardis,
    load_binance,
    load_csv,
    load_tardis,
)
from alphaforge.model import F_LAST, F_SNAPSHOT, BookAction, Rounding


@pytest.fixture
def market(shared_data: Path) -> Path:
    path = shared_data / "market"
    if not path.is_dir():
        pytest.skip("no market samples")
    return path


def rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as fh:  # type: ignore[operator]
        return list(csv.DictReader(fh))


def raw(text: str, precision: int) -> int:
    return int(Decimal(text).scaleb(precision))


def test_tardis_trades_exact(market: Path) -> None:
    path = market / "tardis" / "tardis_trades.csv"
    ma = load_tardis(path, "trades")
    src = rows(path)
    assert len(ma) == len(src) == 9999
    r = ma.records
    assert r["price"].tolist() == [raw(x["price"], ma.price_precision) for x in src]
    assert r["size"].tolist() == [raw(x["amount"], ma.size_precision) for x in src]
    assert r["ts_init"].tolist() == [int(x["local_timestamp"]) * 1000 for x in src]
    assert [t.decode() for t in r["trade_id"].tolist()] == [x["id"] for x in src]
    assert ma.instrument_id == "BTCUSDT.BINANCE-FUTURES"


def test_tardis_quotes_exact(market: Path) -> None:
    path = market / "tardis" / "tardis_quotes.csv"
    ma = load_tardis(path, "quotes", "BTCUSDT.BINANCE")
    src = rows(path)
    r = ma.records
    assert len(r) == 9999
    for ours, theirs in (("bid_price", "bid_price"), ("ask_price", "ask_price")):
        assert r[ours].tolist() == [raw(x[theirs], ma.price_precision) for x in src]
    for ours, theirs in (("bid_size", "bid_amount"), ("ask_size", "ask_amount")):
        assert r[ours].tolist() == [raw(x[theirs], ma.size_precision) for x in src]


def test_tardis_small_samples(market: Path) -> None:
    t = load_tardis(market / "tardis" / "bitmex_trades_XBTUSD.csv", "trades")
    assert len(t) == 10 and len(t.to_objects()[0].trade_id.value) == 36
    q = load_tardis(market / "tardis" / "huobi-dm-swap_quotes_BTC-USD.csv", "quotes")
    assert len(q) == 10 and q.instrument_id == "BTC-USD.HUOBI-DM-SWAP"
    l2 = load_tardis(
        market / "tardis" / "deribit_incremental_book_L2_BTC-PERPETUAL.csv", "incremental_book_L2"
    )
    assert len(l2) == 16  # CLEAR + 15 snapshot rows
    assert l2.records["action"][0] == BookAction.CLEAR
    assert (l2.records["flags"] & F_SNAPSHOT).all()


@pytest.mark.parametrize("depth", [5, 25])
def test_tardis_book_snapshots(market: Path, depth: int) -> None:
    path = market / "tardis" / f"binance-futures_book_snapshot_{depth}_BTCUSDT.csv"
    src = rows(path)
    deltas = load_tardis(path, "book_snapshot")
    assert len(deltas) == len(src) * (1 + 2 * depth)
    assert int((deltas.records["flags"] & F_LAST != 0).sum()) == len(src)
    quotes = load_tardis(path, "book_snapshot", as_quotes=True)
    r = quotes.records
    assert r["bid_price"].tolist() == [raw(x["bids[0].price"], quotes.price_precision) for x in src]
    assert r["ask_size"].tolist() == [raw(x["asks[0].amount"], quotes.size_precision) for x in src]


def test_binance_klines_two_days_into_a_catalog(market: Path, tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path, durable=False)
    files = sorted((market / "binance" / "nautilus").glob("ADABTC-1m-*.csv"))
    assert len(files) == 2
    results = [import_binance(catalog, f, "klines", "ADABTC.BINANCE") for f in files]
    assert [r.rows for r in results] == [10, 11]
    bars = catalog.query_objects("bars", "ADABTC.BINANCE-1-MINUTE-LAST-EXTERNAL")
    assert len(bars) == 21
    first = next(line.split(",") for line in files[0].read_text().splitlines())
    assert str(bars[0].open) == first[1] and str(bars[0].volume) == first[5]
    assert bars[0].ts_event == (int(first[6]) + 1) * 10**6
    with pytest.raises(ValueError, match="overlaps"):
        import_binance(catalog, files[0], "klines", "ADABTC.BINANCE")


def test_binance_depth_snapshot_and_updates(market: Path) -> None:
    snap = load_binance(
        market / "binance" / "nautilus" / "btcusdt-depth-snap.csv", "depth", "BTCUSDT.BINANCE"
    )
    assert len(snap) == 101 and snap.records["action"][0] == BookAction.CLEAR
    upd = load_binance(
        market / "binance" / "nautilus" / "btcusdt-depth-update.csv", "depth", "BTCUSDT.BINANCE"
    )
    src = rows(market / "binance" / "nautilus" / "btcusdt-depth-update.csv")
    assert len(upd) == len(src) == 100
    assert upd.records["sequence"].tolist() == [int(x["last_update_id"]) for x in src]
    deletes = [float(x["qty"]) == 0 for x in src]
    assert (upd.records["action"] == BookAction.DELETE).tolist() == deletes


def test_generic_csv_on_fx_and_futures_bars(market: Path, tmp_path: Path) -> None:
    truefx = CsvSpec(
        data_type="quotes",
        columns={"ts_event": "timestamp", "bid_price": "bid", "ask_price": "ask"},
        constants={"bid_size": "0", "ask_size": "0"},
        timestamp_unit="iso",
    )
    q = load_csv(market / "truefx" / "usdjpy-ticks.csv", truefx, "USD/JPY.TRUEFX")
    assert len(q) == 1000 and q.price_precision == 3 and q.is_sorted()
    histdata = CsvSpec(
        data_type="quotes",
        columns={"ts_event": 0, "bid_price": 1, "ask_price": 2, "bid_size": 3, "ask_size": 3},
        timestamp_unit="%Y%m%d %H%M%S%f",
        has_header=False,
    )
    h = load_csv(
        market / "histdata_unverified" / "quote_tick_data.csv", histdata, "EUR/USD.HISTDATA"
    )
    assert len(h) == 9500 and h.ts_init[0] == 1577898000065000000
    bars_spec = CsvSpec(
        data_type="bars",
        columns={"ts_event": 0, "open": 1, "high": 2, "low": 3, "close": 4},
        timestamp_unit="iso",
    )
    catalog = ParquetDataCatalog(tmp_path, durable=False)
    bid = import_csv(
        catalog,
        market / "fxcm" / "gbpusd-m1-bid-2012.csv",
        bars_spec,
        "GBP/USD.FXCM",
        bar_type="GBP/USD.FXCM-1-MINUTE-BID-EXTERNAL",
    )
    assert bid.rows == 30117 and len(bid.days) > 20
    ftx_spec = CsvSpec(
        data_type="bars",
        columns={"ts_event": 0, "open": 1, "high": 2, "low": 3, "close": 4, "volume": 5},
        timestamp_unit="iso",
    )
    ftx_path = market / "ftx" / "btc-perp-20211231-20220201_1m.csv"
    ftx_bt = "BTC-PERP.FTX-1-MINUTE-LAST-EXTERNAL"
    # some volumes were printed by a float ("218102.59507500002"): exact parsing refuses them
    with pytest.raises(DataImportError, match=r"_1m\.csv:244: column 'volume'"):
        load_csv(
            ftx_path, attrs.evolve(ftx_spec, size_precision=4), "BTC-PERP.FTX", bar_type=ftx_bt
        )
    rounded = attrs.evolve(ftx_spec, size_precision=4, rounding=Rounding.HALF_EVEN)
    ftx = load_csv(ftx_path, rounded, "BTC-PERP.FTX", bar_type=ftx_bt)
    assert len(ftx) == 45031 and ftx.size_precision == 4
    assert ftx.records["volume"][247] == 2181025951  # 218102.59507500002 -> 218102.5951
    cme = load_csv(
        market / "cme" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz",
        ftx_spec,
        "6EH4.XCME",
        bar_type="6EH4.XCME-1-MINUTE-LAST-EXTERNAL",
    )
    src = rows(market / "cme" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz")
    assert len(cme) == len(src)
    assert cme.records["close"].tolist() == [raw(x["close"], cme.price_precision) for x in src]
    assert np.all(cme.records["volume"] == [int(x["volume"]) for x in src])


def test_real_imports_round_trip_through_the_catalog(market: Path, tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path, durable=False)
    for kind in ("trades", "quotes"):
        path = market / "tardis" / f"tardis_{kind}.csv"
        result = import_tardis(catalog, path, kind, "BTCUSDT.BINANCE")  # type: ignore[arg-type]
        assert catalog.query_array(kind, "BTCUSDT.BINANCE").equals(
            load_tardis(path, kind, "BTCUSDT.BINANCE")
        )  # type: ignore[arg-type]
        assert result.rows == 9999
