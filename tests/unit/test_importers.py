"""CSV importers on small files written here: formats, exact parsing, errors, atomicity."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from alphaforge.data.catalog import ParquetDataCatalog
from alphaforge.data.errors import DataImportError, OutOfOrderError
from alphaforge.data.importers import (
    CsvSpec,
    import_binance,
    import_csv,
    import_tardis,
    load_binance,
    load_csv,
    load_tardis,
    read_binance,
)
from alphaforge.data.synthetic import default_instrument
from alphaforge.errors import ConfigError, InvalidValue
from alphaforge.model import (
    F_LAST,
    F_SNAPSHOT,
    AggressorSide,
    BookAction,
    OrderSide,
    Price,
    Quantity,
)

MS = 10**6
US = 10**3


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- Binance ----------------------------------------------------------------------------------

SPOT_TRADES = """\
100,50000.10000000,0.00100000,50.00010000,1700000000000,True,True
101,50000.20000000,0.50000000,25000.10000000,1700000000001,False,True
102,49999.99000000,1.00000000,49999.99000000,1700000000001,true,True
"""
FUTURES_TRADES = """\
id,price,qty,quote_qty,time,is_buyer_maker
100,50000.1,0.001,50.0001,1700000000000,true
101,50000.2,0.500,25000.1,1700000000001,false
"""


def test_binance_spot_trades_without_header(tmp_path: Path) -> None:
    ma = load_binance(write(tmp_path / "t.csv", SPOT_TRADES), "trades", "BTCUSDT.BINANCE")
    assert (ma.price_precision, ma.size_precision) == (8, 8)
    trades = ma.to_objects()
    assert [t.price for t in trades] == [Price("50000.1"), Price("50000.2"), Price("49999.99")]
    assert [t.aggressor_side for t in trades] == [
        AggressorSide.SELLER,
        AggressorSide.BUYER,
        AggressorSide.SELLER,
    ]
    assert [t.trade_id.value for t in trades] == ["100", "101", "102"]
    assert trades[0].ts_event == 1_700_000_000_000 * MS


def test_binance_futures_trades_with_header_and_instrument_precision(tmp_path: Path) -> None:
    inst = default_instrument()
    ma = load_binance(
        write(tmp_path / "t.csv", FUTURES_TRADES), "trades", "BTCUSDT.SIM", instrument=inst
    )
    assert (ma.price_precision, ma.size_precision) == (2, 3)
    assert ma.records["price"].tolist() == [5000010, 5000020]
    assert ma.records["size"].tolist() == [1, 500]


def test_binance_microsecond_timestamps_are_detected(tmp_path: Path) -> None:
    text = SPOT_TRADES.replace("1700000000000", "1735689600000000").replace(
        "1700000000001", "1735689600000001"
    )
    ma = load_binance(write(tmp_path / "t.csv", text), "trades", "BTCUSDT.BINANCE")
    assert ma.ts_init.tolist() == [
        1735689600000000 * US,
        1735689600000001 * US,
        1735689600000001 * US,
    ]


def test_binance_agg_trades_spot_and_futures(tmp_path: Path) -> None:
    spot = "26129,0.01633102,4.70443515,27781,27781,1498793709153,true,true\n"
    futures = (
        "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
        "26129,0.01633102,4.70443515,27781,27781,1498793709153,false\n"
    )
    a = load_binance(write(tmp_path / "a.csv", spot), "aggTrades", "X.BINANCE").to_objects()[0]
    b = load_binance(write(tmp_path / "b.csv", futures), "aggTrades", "X.BINANCE").to_objects()[0]
    assert a.trade_id.value == "26129" and a.aggressor_side == AggressorSide.SELLER
    assert b.aggressor_side == AggressorSide.BUYER and b.size == Quantity("4.70443515")


KLINES = """\
1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,1637971259999,1.03,79,19523.0,0.55,0
1637971260000,0.00002854,0.00002860,0.00002854,0.00002859,89196.60000000,1637971319999,2.54,98,59004.2,1.68,0
"""


def test_binance_klines_bar_type_from_file_name_and_close_time(tmp_path: Path) -> None:
    ma = load_binance(
        write(tmp_path / "ADABTC-1m-2021-11-27.csv", KLINES), "klines", "ADABTC.BINANCE"
    )
    assert ma.bar_type == "ADABTC.BINANCE-1-MINUTE-LAST-EXTERNAL"
    bars = ma.to_objects()
    assert bars[0].ts_event == 1637971260000 * MS  # close_time + 1 ms: no look-ahead
    assert bars[1].high == Price("0.00002860")
    with pytest.raises(InvalidValue, match="interval"):
        load_binance(write(tmp_path / "klines.csv", KLINES), "klines", "ADABTC.BINANCE")
    named = load_binance(
        write(tmp_path / "k.csv", KLINES),
        "klines",
        "ADABTC.BINANCE",
        bar_type="ADABTC.BINANCE-1-MINUTE-LAST-EXTERNAL",
    )
    assert named.equals(ma)


def test_binance_klines_reject_inconsistent_high_low(tmp_path: Path) -> None:
    bad = KLINES.replace("0.00002860,0.00002854,0.00002859", "0.00002850,0.00002854,0.00002859")
    with pytest.raises(DataImportError, match=r"k-1m-x\.csv:2: column 'high'"):
        load_binance(write(tmp_path / "k-1m-x.csv", bad), "klines", "ADABTC.BINANCE")


def test_binance_book_ticker(tmp_path: Path) -> None:
    text = (
        "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,"
        "event_time\n"
        "1,50000.10,1.5,50000.2,0.25,1700000000000,1700000000003\n"
        "2,50000.00,2,50000.1,0.125,1700000000004,1700000000005\n"
    )
    ma = load_binance(write(tmp_path / "bt.csv", text), "bookTicker", "BTCUSDT.BINANCE")
    q = ma.to_objects()
    assert (q[0].bid_price, q[0].ask_price) == (Price("50000.10"), Price("50000.20"))
    assert (q[1].bid_size, q[1].ask_size) == (Quantity("2.000"), Quantity("0.125"))
    assert (q[0].ts_event, q[0].ts_init) == (1700000000000 * MS, 1700000000003 * MS)


DEPTH = """\
symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu
BTCUSDT,1667346579000,5,5,b,snap,100.0,1.0,-1
BTCUSDT,1667346579000,5,5,a,snap,101.0,2.0,-1
BTCUSDT,1667346579100,6,7,b,set,100.0,0.000,5
BTCUSDT,1667346579100,6,7,b,set,99.5,3.0,5
BTCUSDT,1667346579200,8,9,a,set,101.0,1.5,7
"""


def test_binance_depth_becomes_atomic_delta_batches(tmp_path: Path) -> None:
    ma = load_binance(write(tmp_path / "d.csv", DEPTH), "depth", "BTCUSDT.BINANCE")
    r = ma.records
    assert r["action"].tolist() == [
        BookAction.CLEAR,
        BookAction.ADD,
        BookAction.ADD,
        BookAction.DELETE,
        BookAction.UPDATE,
        BookAction.UPDATE,
    ]
    assert r["sequence"].tolist() == [5, 5, 5, 7, 7, 9]
    assert (r["flags"] & F_LAST).astype(bool).tolist() == [False, False, True, False, True, True]
    assert (r["flags"] & F_SNAPSHOT).astype(bool).tolist() == [True] * 3 + [False] * 3
    assert r["side"].tolist()[1:3] == [OrderSide.BUY, OrderSide.SELL]


def test_binance_batches_spanning_chunks_keep_their_flags(tmp_path: Path) -> None:
    rows = [f"BTCUSDT,1667346579000,1,1,b,snap,{100 + i}.0,1.0,-1" for i in range(20)]
    for g in range(60):
        rows += [f"BTCUSDT,{1667346580000 + g},{g},{g},a,set,{200 + k}.5,{k}.0,0" for k in range(3)]
    path = write(tmp_path / "d.csv", DEPTH.splitlines()[0] + "\n" + "\n".join(rows) + "\n")
    whole = load_binance(path, "depth", "BTCUSDT.BINANCE")
    chunks = list(read_binance(path, "depth", "BTCUSDT.BINANCE", block_size=512))
    assert len(chunks) > 3
    small = load_binance(path, "depth", "BTCUSDT.BINANCE", block_size=512)
    assert small.equals(whole)
    r = whole.records
    assert len(r) == 1 + 20 + 180
    assert np.flatnonzero(r["flags"] & F_LAST).tolist() == [20, *range(23, 201, 3)]


def test_binance_compressed_and_zipped_files(tmp_path: Path) -> None:
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(SPOT_TRADES.encode()))
    zp = tmp_path / "BTCUSDT-trades-2023-11-14.zip"
    with zipfile.ZipFile(zp, "w") as z:
        z.writestr("BTCUSDT-trades-2023-11-14.csv", SPOT_TRADES)
    plain = load_binance(write(tmp_path / "t.csv", SPOT_TRADES), "trades", "B.BINANCE")
    assert load_binance(gz, "trades", "B.BINANCE").equals(plain)
    assert load_binance(zp, "trades", "B.BINANCE").equals(plain)


def test_binance_wrong_layout_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataImportError, match="columns of a Binance trades file"):
        load_binance(write(tmp_path / "k.csv", KLINES), "trades", "B.BINANCE")
    with pytest.raises(InvalidValue, match="kind"):
        load_binance(write(tmp_path / "t.csv", SPOT_TRADES), "ticks", "B.BINANCE")  # type: ignore[arg-type]
    with pytest.raises(DataImportError, match="7 columns"):
        load_binance(
            write(tmp_path / "f.csv", FUTURES_TRADES), "trades", "B.BINANCE", market="spot"
        )


# -- errors: file, line, column, expectation; nothing lands ----------------------------------


@pytest.mark.parametrize(
    ("bad_row", "column", "expected"),
    [
        ("103,5000O.1,0.1,1,1700000000002,True,True", "price", "decimal"),
        ("103,50000.1,-0.1,1,1700000000002,True,True", "qty", "non-negative"),
        ("103,50000.1,0.1,1,17000000000x2,True,True", "time", "epoch timestamp"),
        ("103,50000.1,0.1,1,1700000000002,maybe,True", "is_buyer_maker", "true or false"),
        ("103,50000.1,,1,1700000000002,True,True", "qty", "decimal"),
        ("103,1e5,0.1,1,1700000000002,True,True", "price", "decimal"),
    ],
)
def test_malformed_row_names_file_line_and_column(
    tmp_path: Path, bad_row: str, column: str, expected: str
) -> None:
    path = write(tmp_path / "bad.csv", SPOT_TRADES + bad_row + "\n")
    with pytest.raises(DataImportError) as info:
        load_binance(path, "trades", "BTCUSDT.BINANCE")
    err = info.value
    assert (err.path, err.line, err.column) == (str(path), 4, column)
    assert expected in str(err)
    assert f"bad.csv:4: column {column!r}" in str(err)


def test_wrong_field_count_is_located(tmp_path: Path) -> None:
    text = SPOT_TRADES + "103,1,1\n" + SPOT_TRADES
    with pytest.raises(DataImportError, match=r"bad\.csv:4: expected 7 fields per row, found 3"):
        load_binance(write(tmp_path / "bad.csv", text), "trades", "BTCUSDT.BINANCE")


def test_bad_row_in_a_late_chunk_writes_nothing(tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path / "cat", durable=False)
    good = "".join(
        f"{i},50000.{i % 100:02d},0.1,1,{1700000000000 + i * 1000},True,True\n" for i in range(5000)
    )
    import_binance(catalog, write(tmp_path / "first.csv", good), "trades", "B.BINANCE")
    before = snapshot(catalog.root)
    later = "".join(
        f"{i},50000.{i % 100:02d},0.1,1,{1700000000000 + i * 1000},True,True\n"
        for i in range(5000, 10000)
    )
    bad = later + "10000,oops,0.1,1,1700010000000,True,True\n"
    with pytest.raises(DataImportError, match=r"second\.csv:5001: column 'price'"):
        import_binance(
            catalog, write(tmp_path / "second.csv", bad), "trades", "B.BINANCE", block_size=4096
        )
    assert snapshot(catalog.root) == before
    result = import_binance(
        catalog, write(tmp_path / "second.csv", later), "trades", "B.BINANCE", block_size=4096
    )
    assert result.rows == 5000 and result.path.endswith("second.csv")
    assert len(catalog.query("trades", "B.BINANCE")) == 10000


def test_out_of_order_rows_are_reported_or_sorted(tmp_path: Path) -> None:
    text = SPOT_TRADES + "103,1.0,1.0,1,1699999999999,True,True\n"
    path = write(tmp_path / "ooo.csv", text)
    with pytest.raises(OutOfOrderError, match=r"ooo\.csv:4: column 'time'.*sort=True"):
        load_binance(path, "trades", "B.BINANCE")
    ma = load_binance(path, "trades", "B.BINANCE", sort=True)
    assert ma.is_sorted()
    assert ma.to_objects()[0].trade_id.value == "103"


def test_out_of_order_across_chunks_names_the_line(tmp_path: Path) -> None:
    rows = [f"{i},1.0,1.0,1,{1700000000000 + i},True,True" for i in range(2000)]
    rows[1500] = "1500,1.0,1.0,1,1600000000000,True,True"
    path = write(tmp_path / "ooo.csv", "\n".join(rows) + "\n")
    with pytest.raises(OutOfOrderError) as info:
        load_binance(path, "trades", "B.BINANCE", block_size=1024)
    assert info.value.line == 1501


def test_blank_lines(tmp_path: Path) -> None:
    trailing = write(tmp_path / "t.csv", SPOT_TRADES + "\n\n")
    assert len(load_binance(trailing, "trades", "B.BINANCE")) == 3
    middle = write(tmp_path / "m.csv", SPOT_TRADES.replace("\n", "\n\n", 1))
    with pytest.raises(DataImportError, match=r"m\.csv:2: expected a data row"):
        load_binance(middle, "trades", "B.BINANCE")


def test_explicit_precision_rejects_extra_digits(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", FUTURES_TRADES)
    with pytest.raises(DataImportError, match="at most 0 fraction digits"):
        load_binance(path, "trades", "B.BINANCE", price_precision=0)
    ok = load_binance(path, "trades", "B.BINANCE", price_precision=4)
    assert ok.records["price"].tolist() == [500001000, 500002000]


# -- Tardis -----------------------------------------------------------------------------------

TARDIS_TRADES = """\
exchange,symbol,timestamp,local_timestamp,id,side,price,amount
binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132
binance-futures,BTCUSDT,1582329602116000,1582329602418420,,sell,9681.99,0.412
binance-futures,BTCUSDT,1582329602150000,1582329602421528,42377946,unknown,9682,0.296
"""


def test_tardis_trades(tmp_path: Path) -> None:
    ma = load_tardis(write(tmp_path / "t.csv", TARDIS_TRADES), "trades")
    assert ma.instrument_id == "BTCUSDT.BINANCE-FUTURES"
    t = ma.to_objects()
    assert [x.aggressor_side for x in t] == [
        AggressorSide.BUYER,
        AggressorSide.SELLER,
        AggressorSide.NO_AGGRESSOR,
    ]
    assert t[1].trade_id.value == "L3"  # no id in the file: the line number
    assert (t[0].ts_event, t[0].ts_init) == (1582329602111000 * US, 1582329602418379 * US)
    assert t[1].price == Price("9681.99")


def test_tardis_quotes_and_symbol_check(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
        "huobi-dm-swap,BTC-USD,1588291201099000,1588291201234268,5494,8629.3,8629.2,806\n"
        "huobi-dm-swap,BTC-USD,1588291201133000,1588291201454126,5493,8629.3,8629.25,806\n"
    )
    ma = load_tardis(write(tmp_path / "q.csv", text), "quotes", "BTC-USD.HUOBI")
    q = ma.to_objects()
    assert q[1].bid_price == Price("8629.25") and q[0].ask_size == Quantity("5494")
    mixed = text + "huobi-dm-swap,ETH-USD,1588291201216000,1588291201454401,1,1,1,1\n"
    with pytest.raises(DataImportError, match=r"q2\.csv:4: column 'symbol'"):
        load_tardis(write(tmp_path / "q2.csv", mixed), "quotes")


L2 = """\
exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
deribit,BTC-PERPETUAL,1000,1001,true,ask,6421.5,18640
deribit,BTC-PERPETUAL,1000,1001,true,bid,6421,100
deribit,BTC-PERPETUAL,2000,2001,false,ask,6421.5,0
deribit,BTC-PERPETUAL,2000,2001,false,ask,6422,50
deribit,BTC-PERPETUAL,3000,3001,true,ask,6423,10
"""


def test_tardis_incremental_l2(tmp_path: Path) -> None:
    ma = load_tardis(write(tmp_path / "l2.csv", L2), "incremental_book_L2")
    r = ma.records
    assert r["action"].tolist() == [
        BookAction.CLEAR,
        BookAction.ADD,
        BookAction.ADD,
        BookAction.DELETE,
        BookAction.UPDATE,
        BookAction.CLEAR,
        BookAction.ADD,
    ]
    assert (r["flags"] & F_LAST).astype(bool).tolist() == [0, 0, 1, 0, 1, 0, 1]
    assert r["ts_init"].tolist()[0] == 1001 * US
    assert load_tardis(tmp_path / "l2.csv", "incremental_book_L2", block_size=80).equals(ma)


def test_tardis_book_snapshot_as_deltas_and_quotes(tmp_path: Path) -> None:
    text = (
        "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,"
        "bids[0].amount,asks[1].price,asks[1].amount,bids[1].price,bids[1].amount\n"
        "binance-futures,BTCUSDT,1000,1001,11657.08,1.714,11657.07,10.896,11657.54,5.4,,\n"
        "binance-futures,BTCUSDT,2000,2001,11657.08,1.476,11657.07,10.896,11657.54,5.4,11656.9,1\n"
    )
    path = write(tmp_path / "s.csv", text)
    ma = load_tardis(path, "book_snapshot")
    r = ma.records
    assert len(r) == 4 + 5
    assert r["action"].tolist()[:4] == [BookAction.CLEAR, BookAction.ADD, BookAction.ADD, 1]
    assert (r["flags"] & F_SNAPSHOT).all()
    assert np.flatnonzero(r["flags"] & F_LAST).tolist() == [3, 8]
    q = load_tardis(path, "book_snapshot", as_quotes=True).to_objects()
    assert (q[0].bid_price, q[0].ask_size) == (Price("11657.07"), Quantity("1.714"))
    bad = text.replace(",11656.9,1\n", ",11656.9,\n")
    with pytest.raises(DataImportError, match=r"s2\.csv:3: column 'bids\[1\]\.amount'"):
        load_tardis(write(tmp_path / "s2.csv", bad), "book_snapshot")
    worse = text.replace("11657.54,5.4,,", "11657.54,5.4,x,1")
    with pytest.raises(DataImportError, match=r"s3\.csv:2: column 'bids\[1\]\.price'"):
        load_tardis(write(tmp_path / "s3.csv", worse), "book_snapshot")


def test_tardis_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(DataImportError, match="header"):
        load_tardis(write(tmp_path / "t.csv", "a,b\n1,2\n"), "trades", "X.Y")
    with pytest.raises(InvalidValue, match="kind"):
        load_tardis(write(tmp_path / "t2.csv", TARDIS_TRADES), "book")  # type: ignore[arg-type]


def test_tardis_import_into_catalog(tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path / "cat", durable=False)
    result = import_tardis(catalog, write(tmp_path / "t.csv", TARDIS_TRADES), "trades")
    assert result.key == "BTCUSDT.BINANCE-FUTURES" and result.rows == 3
    assert catalog.query("trades", result.key).num_rows == 3


# -- generic CSV ------------------------------------------------------------------------------


def test_csv_quotes_with_constants_and_iso_timestamps(tmp_path: Path) -> None:
    text = (
        "timestamp,bid,ask\n"
        "2013-01-01 22:00:00.295000+00:00,86.655,86.728\n"
        "2013-01-01 22:02:35.907000+00:00,86.657,86.73\n"
    )
    spec = CsvSpec(
        data_type="quotes",
        columns={"ts_event": "timestamp", "bid_price": "bid", "ask_price": "ask"},
        constants={"bid_size": "0", "ask_size": "0"},
        timestamp_unit="iso",
    )
    ma = load_csv(write(tmp_path / "q.csv", text), spec, "USD/JPY.TRUEFX")
    q = ma.to_objects()
    assert q[1].ask_price == Price("86.730")
    assert q[0].ts_event == 1357077600295000000 == q[0].ts_init


def test_csv_positional_columns_without_header_and_custom_format(tmp_path: Path) -> None:
    text = "20200101 170000065,1.121200,1.121720,0\n20200101 170010447,1.121200,1.121920,0\n"
    spec = CsvSpec(
        data_type="quotes",
        columns={"ts_event": 0, "bid_price": 1, "ask_price": 2, "bid_size": 3, "ask_size": 3},
        timestamp_unit="%Y%m%d %H%M%S%f",
        has_header=False,
    )
    ma = load_csv(write(tmp_path / "h.csv", text), spec, "EURUSD.HISTDATA")
    assert ma.ts_init.tolist() == [1577898000065000000, 1577898010447000000]
    assert ma.price_precision == 6


def test_csv_bars_trades_and_deltas(tmp_path: Path) -> None:
    bars = write(
        tmp_path / "b.csv",
        "t;o;h;l;c\n1700000000;1.5;2;1;1.75\n1700000060;1.75;1.8;1.7;1.8\n",
    )
    spec = CsvSpec(
        data_type="bars",
        columns={"ts_event": "t", "open": "o", "high": "h", "low": "l", "close": "c"},
        timestamp_unit="s",
        delimiter=";",
    )
    ma = load_csv(bars, spec, "X.Y", bar_type="X.Y-1-MINUTE-BID-EXTERNAL")
    assert ma.to_objects()[0].volume == Quantity("0")
    with pytest.raises(InvalidValue, match="bar_type"):
        load_csv(bars, spec, "X.Y")
    trades = write(tmp_path / "t.csv", "ts,px,qty,side\n5,1.5,2,B\n6,1.25,1,s\n")
    tspec = CsvSpec(
        data_type="trades",
        columns={"ts_event": "ts", "price": "px", "size": "qty", "aggressor_side": "side"},
    )
    t = load_csv(trades, tspec, "X.Y").to_objects()
    assert [x.aggressor_side for x in t] == [AggressorSide.BUYER, AggressorSide.SELLER]
    assert [x.trade_id.value for x in t] == ["L2", "L3"]
    deltas = write(tmp_path / "d.csv", "ts,side,px,qty\n5,bid,1.5,2\n5,ask,1.6,0\n7,bid,1.4,1\n")
    dspec = CsvSpec(
        data_type="book_deltas",
        columns={"ts_event": "ts", "side": "side", "price": "px", "size": "qty"},
    )
    d = load_csv(deltas, dspec, "X.Y").records
    assert d["action"].tolist() == [BookAction.UPDATE, BookAction.DELETE, BookAction.UPDATE]
    assert (d["flags"] & F_LAST).astype(bool).tolist() == [False, True, True]


def test_csv_spec_validation() -> None:
    with pytest.raises(ConfigError, match="required"):
        CsvSpec(data_type="quotes", columns={"ts_event": "t", "bid_price": "b"})
    with pytest.raises(ConfigError, match="not a quotes field"):
        CsvSpec(
            data_type="quotes",
            columns={"ts_event": 0, "bid_price": 1, "ask_price": 2, "bid_size": 3, "spread": 4},
            constants={"ask_size": "1"},
        )
    with pytest.raises(ConfigError, match="has_header"):
        CsvSpec(
            data_type="trades",
            columns={"ts_event": "t", "price": 1, "size": 2},
            has_header=False,
        )
    with pytest.raises(ConfigError, match="decimal"):
        CsvSpec(data_type="trades", columns={"ts_event": 0, "price": 1}, constants={"size": "x"})
    with pytest.raises(ConfigError, match="timestamps"):
        CsvSpec(
            data_type="trades",
            columns={"price": 1, "size": 2, "ts_event": 0},
            constants={"ts_init": "5"},
        )


def test_csv_missing_column_and_bad_cells(tmp_path: Path) -> None:
    spec = CsvSpec(data_type="trades", columns={"ts_event": "ts", "price": "price", "size": "size"})
    with pytest.raises(DataImportError, match="named 'price'"):
        load_csv(write(tmp_path / "a.csv", "ts,px,size\n1,2,3\n"), spec, "X.Y")
    path = write(tmp_path / "b.csv", "ts,price,size\n1,2,3\n2,2.5.1,3\n")
    with pytest.raises(DataImportError, match=r"b\.csv:3: column 'price'"):
        load_csv(path, spec, "X.Y")
    catalog = ParquetDataCatalog(tmp_path / "cat", durable=False)
    with pytest.raises(DataImportError):
        import_csv(catalog, path, spec, "X.Y")
    assert snapshot(catalog.root) == {}


def test_streaming_chunks_are_bounded(tmp_path: Path) -> None:
    rows = "".join(f"{i},1.{i % 10},1,1,{1700000000000 + i},True,True\n" for i in range(3000))
    chunks = list(
        read_binance(write(tmp_path / "t.csv", rows), "trades", "B.BINANCE", block_size=4096)
    )
    assert len(chunks) > 5
    assert sum(len(c) for c in chunks) == 3000


def test_empty_files_are_refused(tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path / "cat", durable=False)
    empty = write(tmp_path / "e.csv", "")
    with pytest.raises(DataImportError, match="at least one data row"):
        import_binance(catalog, empty, "trades", "B.BINANCE")
    with pytest.raises(DataImportError, match="at least one data row"):
        load_binance(empty, "trades", "B.BINANCE")
    header_only = write(tmp_path / "h.csv", FUTURES_TRADES.splitlines()[0] + "\n")
    with pytest.raises(DataImportError, match="at least one data row"):
        import_binance(catalog, header_only, "trades", "B.BINANCE")
    assert snapshot(catalog.root) == {}
