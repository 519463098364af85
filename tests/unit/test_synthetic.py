"""The seeded synthetic market: determinism, consistency of quotes/trades/book, stylized facts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from alphaforge.data.catalog import ParquetDataCatalog
from alphaforge.data.synthetic import (
    DEFAULT_START_NS,
    MarketData,
    SyntheticConfig,
    default_instrument,
    generate_market,
    write_to_catalog,
)
from alphaforge.errors import InvalidValue
from alphaforge.model import (
    F_LAST,
    F_SNAPSHOT,
    AggressorSide,
    BookAction,
    CurrencyPair,
    OrderSide,
    Price,
)

NS_MIN = 60 * 10**9


def digest(market: MarketData) -> str:
    h = hashlib.sha256()
    for ma in (market.quotes, market.trades, market.book_deltas):
        assert ma is not None
        h.update(ma.records.tobytes())
    return h.hexdigest()


def test_same_seed_gives_byte_identical_output() -> None:
    a = generate_market(11, n_quotes=20_000)
    b = generate_market(11, n_quotes=20_000)
    assert digest(a) == digest(b)
    assert a.equals(b)
    c = generate_market(12, n_quotes=20_000)
    assert digest(c) != digest(a)
    assert not a.equals(c)


def test_quotes_without_book_are_the_same_quotes() -> None:
    with_book = generate_market(5, n_quotes=5000)
    without = generate_market(5, n_quotes=5000, book=False)
    assert without.book_deltas is None
    assert without.quotes.equals(with_book.quotes)
    assert without.trades.equals(with_book.trades)


def test_default_instrument() -> None:
    inst = default_instrument()
    assert isinstance(inst, CurrencyPair)
    assert str(inst.id) == "BTCUSDT.SIM"
    assert inst.tick_size == Price("0.01") and str(inst.lot_size) == "0.001"
    assert inst.maker_fee > 0 and inst.taker_fee > inst.maker_fee
    assert default_instrument() == inst


def test_quotes_are_sane_and_on_the_grid() -> None:
    m = generate_market(1, n_quotes=50_000)
    q = m.quotes.records
    assert len(q) == 50_000
    assert (q["ts_init"] == q["ts_event"]).all()
    assert (np.diff(q["ts_init"].astype(np.int64)) >= 0).all()
    assert q["ts_init"][0] >= DEFAULT_START_NS
    assert (q["ask_price"] > q["bid_price"]).all()
    assert (q["bid_size"] > 0).all() and (q["ask_size"] > 0).all()
    assert (m.quotes.price_precision, m.quotes.size_precision) == (2, 3)
    mid = (q["bid_price"] + q["ask_price"]) / 2 / 100
    assert mid.min() > 49_000 and mid.max() < 51_000
    assert (np.diff(q["bid_price"]) != 0).mean() < 0.9  # many updates only change sizes


def test_duration_mode_fills_the_span() -> None:
    start = DEFAULT_START_NS + 3_600 * 10**9
    m = generate_market(2, start, duration_ns=600 * 10**9, book=False)
    ts = m.quotes.ts_init
    assert start <= int(ts[0]) and int(ts[-1]) < start + 600 * 10**9
    # midday rate is below the daily mean of 20/s, the edges above it
    assert 0.3 * 20 * 600 < len(ts) < 3 * 20 * 600


def test_trades_follow_the_quotes() -> None:
    m = generate_market(4, n_quotes=30_000)
    q, t = m.quotes.records, m.trades.records
    assert len(t) > 1000
    assert (np.diff(t["ts_init"].astype(np.int64)) >= 0).all()
    assert (t["size"] > 0).all()
    assert set(np.unique(t["aggressor_side"]).tolist()) == {
        int(AggressorSide.BUYER),
        int(AggressorSide.SELLER),
    }
    # every trade prints at the previous best price of its side
    idx = np.searchsorted(q["ts_init"], t["ts_init"]) - 1
    buyer = t["aggressor_side"] == int(AggressorSide.BUYER)
    assert (t["price"][buyer] == q["ask_price"][idx[buyer]]).all()
    assert (t["price"][~buyer] == q["bid_price"][idx[~buyer]]).all()
    ids = [x.decode() for x in t["trade_id"][:3].tolist()]
    assert ids == ["1", "2", "3"]


def replay_book(m: MarketData) -> int:
    """Apply the deltas to a dict book; check top == quote after every batch; return batches."""
    assert m.book_deltas is not None
    q = m.quotes.records
    levels = m.config.book_levels
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    batches = 0
    r = m.book_deltas.records
    fields = ("ts_init", "sequence", "price", "size", "action", "side", "flags")
    for ts_init, seq, price, size, action, side, flags in zip(
        *(r[f].tolist() for f in fields), strict=True
    ):
        book = bids if side == OrderSide.BUY else asks
        if action == BookAction.CLEAR:
            bids.clear()
            asks.clear()
        elif action == BookAction.ADD:
            assert price not in book
            book[price] = size
        elif action == BookAction.UPDATE:
            assert price in book
            book[price] = size
        else:
            assert action == BookAction.DELETE and price in book
            del book[price]
        if bids and asks:
            assert max(bids) < min(asks), "crossed mid-batch"
        if flags & F_LAST:
            batches += 1
            quote = q[seq]
            best_bid, best_ask = max(bids), min(asks)
            assert ts_init == quote["ts_init"]
            assert (best_bid, bids[best_bid]) == (quote["bid_price"], quote["bid_size"])
            assert (best_ask, asks[best_ask]) == (quote["ask_price"], quote["ask_size"])
            assert len(bids) == len(asks) == levels
            assert max(bids) - min(bids) == levels - 1  # dense: one level per tick
    return batches


def test_book_deltas_reproduce_the_quotes() -> None:
    m = generate_market(7, n_quotes=20_000)
    d = m.book_deltas
    assert d is not None
    first = d.records[: 1 + 2 * 20]
    assert first["action"][0] == BookAction.CLEAR
    assert (first["flags"] & F_SNAPSHOT).all()
    assert replay_book(m) > 0.99 * 20_000
    assert 1 < len(d) / len(m.quotes) < 15


def test_book_with_few_levels_and_wide_moves() -> None:
    cfg = SyntheticConfig(book_levels=3, daily_volatility=0.003)
    m = generate_market(8, n_quotes=5_000, config=cfg)
    replay_book(m)


def test_stylized_facts() -> None:
    cfg = SyntheticConfig(quote_rate=3.0)
    m = generate_market(2024, duration_ns=2 * 86_400 * 10**9, config=cfg, book=False)
    q = m.quotes.records
    ts = q["ts_init"].astype(np.int64)
    mid = (q["bid_price"] + q["ask_price"]) / 2.0
    minute = (ts - ts[0]) // NS_MIN
    last_in_minute = np.flatnonzero(np.diff(minute) != 0)
    r = np.diff(np.log(mid[last_in_minute]))
    # fat tails: 1-minute returns have excess kurtosis
    z = (r - r.mean()) / r.std()
    assert (z**4).mean() > 4.0
    # volatility clustering: |r| is autocorrelated
    a = np.abs(r) - np.abs(r).mean()
    acf = [float((a[k:] * a[:-k]).mean() / (a * a).mean()) for k in range(1, 11)]
    assert np.mean(acf) > 0.05
    # U-shaped intraday activity (quotes and trades)
    hour = (ts // (3_600 * 10**9)) % 24
    edges = np.isin(hour, [0, 1, 22, 23]).sum()
    middle = np.isin(hour, [10, 11, 12, 13]).sum()
    assert edges > 1.8 * middle
    th = (m.trades.ts_init.astype(np.int64) // (3_600 * 10**9)) % 24
    assert np.isin(th, [0, 1, 22, 23]).sum() > 1.5 * np.isin(th, [10, 11, 12, 13]).sum()
    # spreads widen with volatility
    spread = (q["ask_price"] - q["bid_price"]).astype(float)
    per_min_spread = np.bincount(minute, weights=spread) / np.maximum(np.bincount(minute), 1)
    vol = np.abs(np.diff(np.log(mid)))
    per_min_vol = np.bincount(minute[1:], weights=vol) / np.maximum(np.bincount(minute[1:]), 1)
    k = min(len(per_min_spread), len(per_min_vol))
    hi = per_min_vol[:k] > np.quantile(per_min_vol[:k], 0.9)
    lo = per_min_vol[:k] < np.quantile(per_min_vol[:k], 0.1)
    assert per_min_spread[:k][hi].mean() > 1.1 * per_min_spread[:k][lo].mean()


def test_config_and_argument_validation() -> None:
    with pytest.raises(InvalidValue, match="garch"):
        SyntheticConfig(garch_alpha=0.5, garch_beta=0.6)
    with pytest.raises(InvalidValue, match="tail_dof"):
        SyntheticConfig(tail_dof=2.0)
    with pytest.raises(InvalidValue, match="quote_rate"):
        SyntheticConfig(quote_rate=0)
    with pytest.raises(InvalidValue, match="book_levels"):
        SyntheticConfig(book_levels=0)
    with pytest.raises(InvalidValue, match="initial_price"):
        SyntheticConfig(initial_price="-1")
    with pytest.raises(InvalidValue, match="exactly one"):
        generate_market(1)
    with pytest.raises(InvalidValue, match="exactly one"):
        generate_market(1, n_quotes=5, duration_ns=5)
    with pytest.raises(InvalidValue, match="seed"):
        generate_market(-1, n_quotes=5)
    with pytest.raises(InvalidValue, match="n_quotes"):
        generate_market(1, n_quotes=0)


def test_write_to_catalog_round_trip(tmp_path: Path) -> None:
    catalog = ParquetDataCatalog(tmp_path, durable=False)
    m = generate_market(9, n_quotes=10_000)
    results = write_to_catalog(catalog, m)
    assert set(results) == {"quotes", "trades", "book_deltas"}
    assert catalog.instrument("BTCUSDT.SIM") == m.instrument
    assert catalog.query_array("quotes", "BTCUSDT.SIM").equals(m.quotes)
    assert catalog.query_array("trades", "BTCUSDT.SIM").equals(m.trades)
    assert m.book_deltas is not None
    assert catalog.query_array("book_deltas", "BTCUSDT.SIM").equals(m.book_deltas)


def test_native_book_accepts_the_generated_deltas() -> None:
    book_module = pytest.importorskip("alphaforge.book")
    from alphaforge.model import BookType

    m = generate_market(7, n_quotes=5_000)
    assert m.book_deltas is not None
    d = m.book_deltas.records
    q = m.quotes.records
    book = book_module.OrderBook("BTCUSDT.SIM", BookType.L2_MBP, 2, 3)
    ends = np.flatnonzero(d["flags"] & F_LAST)
    start = 0
    for end in ends[:500].tolist():
        book.apply_batch(d[start : end + 1])
        start = end + 1
        quote = q[d["sequence"][end]]
        assert book.top_raw()[:4] == (
            quote["bid_price"],
            quote["bid_size"],
            quote["ask_price"],
            quote["ask_size"],
        )
    assert book.apply_batch(d[start:]) == len(d) - start
    last = q[-1]
    assert book.top_raw()[:4] == (
        last["bid_price"],
        last["bid_size"],
        last["ask_price"],
        last["ask_size"],
    )
